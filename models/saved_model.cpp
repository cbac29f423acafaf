#include "models/saved_model.h"

#include <filesystem>

#include "models/checkpoint.h"
#include "models/model_factory.h"

namespace lvk {

SavedModel load_saved_model(const std::string& path, Device device) {
  SavedModel saved;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    const std::optional<std::string> last = latest_checkpoint(path);
    LVK_CHECK(last.has_value(), "checkpoint: the run folder ", path, " holds no ckpt-*.safetensors");
    saved.path = *last;
  } else {
    LVK_CHECK(std::filesystem::is_regular_file(path, ec), "checkpoint: ", path, " does not exist or is not a file");
    saved.path = path;
  }
  CheckpointState ckpt = load_checkpoint(saved.path, device);
  const nlohmann::json config = nlohmann::json::parse(ckpt.config_json, nullptr, false);
  LVK_CHECK(!config.is_discarded() && config.is_object(), "checkpoint ", saved.path,
            ": no readable run config in its metadata; was it written by `lvk train`?");
  saved.config = TrainConfig::from_json(config);
  saved.step = ckpt.step;
  saved.integrity_note = ckpt.integrity_note;
  saved.image = ckpt.image;
  InitStream init(saved.config.seed);
  saved.model = make_model(saved.config.model, saved.config.model_options, saved.image, init, device);
  assign_named(saved.path.c_str(), saved.model->parameters(), ckpt.params);
  assign_named(saved.path.c_str(), saved.model->buffers(), ckpt.buffers);
  return saved;
}

}  // namespace lvk
