#pragma once
// Builds a model of `lvk train` from its kind and JSON options.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/generative.h"
#include "models/image_shape.h"

namespace lvk {

// The kinds `lvk train` accepts, in the order `--help` lists them.
const std::vector<std::string>& model_kinds();
// The options of a kind (`--set KEY=VALUE`) with their defaults: lines for --help, or the markdown
// table models/README.md shows. Throws naming an unknown kind.
std::string model_options_help(const std::string& kind);
std::string model_options_markdown(const std::string& kind);
// Throws lvk::Error naming an unknown kind or option.
std::unique_ptr<GenerativeModel> make_model(const std::string& kind, const nlohmann::json& options,
                                            const ImageShape& shape, InitStream& init, Device device);

}  // namespace lvk
