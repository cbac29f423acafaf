#pragma once
// Training checkpoints: one safetensors file (readable by PyTorch) holding the model's parameters
// ("param/<name>"), its buffers ("buffer/<name>"), the optimiser's state ("optim/<name>"), and in
// its metadata the step, the data loader's position, the skipped-step count and the run's config.
// Files are written atomically (temp file, fsync, rename) and the newest `keep` are kept, so a
// crash or a full disk never loses the last good checkpoint. Each file carries a CRC-32 of every
// tensor and of its header (runtime/io/safetensors_checksum.h), so a file damaged after it was
// written (a bad disk block, a partial copy) is refused by name instead of being trained from.
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
  // Empty when the checksums were verified; otherwise why the file was trusted anyway (it was
  // written before checkpoints carried checksums, so only its values were checked).
  std::string integrity_note;
};

// <dir>/ckpt-<step, 8 digits>.safetensors
std::string checkpoint_path(const std::string& dir, int64_t step);
// Writes the checkpoint, then deletes all but the newest `keep` checkpoints in `dir`.
void save_checkpoint(const std::string& dir, const CheckpointState& state, int keep);
// The checkpoints in `dir` (ckpt-*.safetensors), oldest first.
std::vector<std::string> list_checkpoints(const std::string& dir);
// The newest checkpoint in `dir`, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// Everything in a checkpoint file, tensors on `device`. Throws naming the file when it is not an
// lvk checkpoint, when a checksum does not match (naming the tensor), or when a parameter, buffer
// or optimiser value is NaN or infinite (naming the tensor and the first such element).
CheckpointState load_checkpoint(const std::string& path, Device device);

struct ResumePoint {
  std::string path;  // the checkpoint loaded
  CheckpointState state;
  std::vector<std::string> skipped;  // why each newer checkpoint was refused (the error names the file)
};

// The newest intact checkpoint of `dir`, walking back past damaged ones. A damaged file is never
// deleted: it is renamed to "<file>.damaged" (out of the checkpoint pattern, so pruning and later
// saves leave it alone) and listed in `skipped`. Throws listing every file tried when none is
// intact, or when `dir` holds no checkpoint.
ResumePoint load_newest_intact_checkpoint(const std::string& dir, Device device);

// Copies each named tensor of `from` into the same-named tensor of `into` (in place, so optimiser
// handles stay valid). Throws naming the first missing, extra or mis-shaped entry.
void assign_named(const char* what, const ParameterList& into, const ParameterList& from);

}  // namespace lvk
