#include "models/model_factory.h"

#include "models/code_prior.h"
#include "models/dvae.h"
#include "models/vae.h"
#include "models/vqvae.h"
#include "models/vqvae2.h"

namespace lvk {

const std::vector<std::string>& model_kinds() {
  static const std::vector<std::string> kinds = {"vae", "vqvae", "dvae", "flowvae", "vqvae2", "vqprior"};
  return kinds;
}

namespace {

[[noreturn]] void unknown_kind(const std::string& kind) {
  std::string known;
  for (const std::string& k : model_kinds()) known += (known.empty() ? "" : ", ") + k;
  fail("train: unknown model '", kind, "'; known models: ", known);
}

// Calls fn(table, defaults) with the option table of `kind`.
template <class Fn>
std::string with_option_table(const std::string& kind, Fn fn) {
  if (kind == "vae" || kind == "flowvae") {
    VaeOptions defaults;
    if (kind == "flowvae") defaults.prior = "realnvp";
    return fn(VaeOptions::fields(), defaults);
  }
  if (kind == "dvae") return fn(DvaeOptions::fields(), DvaeOptions{});
  if (kind == "vqvae" || kind == "vqvae2") return fn(VqVaeOptions::fields(), VqVaeOptions{});
  if (kind == "vqprior") return fn(VqPriorOptions::fields(), VqPriorOptions{});
  unknown_kind(kind);
}

}  // namespace

std::string model_options_help(const std::string& kind) {
  return with_option_table(kind, [](const auto& table, const auto& defaults) { return options_help(table, defaults); });
}

std::string model_options_markdown(const std::string& kind) {
  return with_option_table(kind,
                           [](const auto& table, const auto& defaults) { return options_markdown(table, defaults); });
}

std::unique_ptr<GenerativeModel> make_model(const std::string& kind, const nlohmann::json& options,
                                            const ImageShape& shape, InitStream& init, Device device) {
  if (kind == "vae" || kind == "flowvae") {
    nlohmann::json o = options.is_null() ? nlohmann::json::object() : options;
    if (!o.contains("prior")) o["prior"] = kind == "flowvae" ? "realnvp" : "standard";
    VaeOptions vo = VaeOptions::from_json(o);
    LVK_CHECK((kind == "flowvae") == (vo.prior != "standard"), kind, ": prior '", vo.prior,
              "' contradicts the model kind (vae: standard; flowvae: realnvp or maf)");
    return std::make_unique<Vae>(vo, shape, init, device);
  }
  if (kind == "dvae")
    return std::make_unique<Dvae>(DvaeOptions::from_json(options.is_null() ? nlohmann::json::object() : options), shape,
                                  init, device);
  if (kind == "vqvae" || kind == "vqvae2") {
    const VqVaeOptions vo =
        VqVaeOptions::from_json(options.is_null() ? nlohmann::json::object() : options, kind.c_str());
    if (kind == "vqvae") return std::make_unique<VqVae>(vo, shape, init, device);
    return std::make_unique<VqVae2>(vo, shape, init, device);
  }
  if (kind == "vqprior")
    return std::make_unique<VqPrior>(VqPriorOptions::from_json(options.is_null() ? nlohmann::json::object() : options),
                                     shape, init, device);
  unknown_kind(kind);
}

}  // namespace lvk
