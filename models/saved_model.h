#pragma once
// A trained model back from a `lvk train` checkpoint: the run's config, the step, and the model
// rebuilt from the config with the checkpoint's weights. What `lvk eval`, `lvk sample` and
// `lvk reconstruct` start from.
#include <memory>
#include <string>

#include "models/generative.h"
#include "models/image_shape.h"
#include "models/trainer.h"

namespace lvk {

struct SavedModel {
  std::string path;  // the checkpoint file read
  TrainConfig config;
  int64_t step = 0;
  ImageShape image;
  std::unique_ptr<GenerativeModel> model;
  std::string integrity_note;  // why the file was trusted without checksums; empty when verified
};

// `path` is a checkpoint file or a run folder (its newest checkpoint is used). Throws lvk::Error
// naming the path when it is missing, not an lvk checkpoint, damaged (naming the tensor), or does
// not fit its own config. A damaged file is refused, never replaced by an older one: the caller
// asked for this model.
SavedModel load_saved_model(const std::string& path, Device device);

}  // namespace lvk
