#pragma once
// Training checkpoints: one safetensors file (readable by PyTorch) holding the model's parameters
// ("param/<name>"), its buffers ("buffer/<name>"), the optimiser's state ("optim/<name>"), and in
// its metadata the step, the data loader's position, the skipped-step count and the run's config.
// Files are written atomically (temp file, fsync, rename) and the newest `keep` are kept, so a
// crash or a full disk never loses the last good checkpoint.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/image_shape.h"
#include "models/module.h"
#include "runtime/io/dataset.h"

namespace lvk {

struct CheckpointState {
  int64_t step = 0;
  io::LoaderState loader;
  int64_t nonfinite_skipped = 0;
  std::string config_json;
  ImageShape image;  // the images the model was built for
  ParameterList params, buffers, optimizer;
};

// <dir>/ckpt-<step, 8 digits>.safetensors
std::string checkpoint_path(const std::string& dir, int64_t step);
// Writes the checkpoint, then deletes all but the newest `keep` checkpoints in `dir`.
void save_checkpoint(const std::string& dir, const CheckpointState& state, int keep);
// The newest checkpoint in `dir`, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// Everything in a checkpoint file, tensors on `device`. Throws naming the file when it is not an
// lvk checkpoint.
CheckpointState load_checkpoint(const std::string& path, Device device);

// Copies each named tensor of `from` into the same-named tensor of `into` (in place, so optimiser
// handles stay valid). Throws naming the first missing, extra or mis-shaped entry.
void assign_named(const char* what, const ParameterList& into, const ParameterList& from);

}  // namespace lvk
