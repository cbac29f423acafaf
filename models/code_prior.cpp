#include "models/code_prior.h"

#include <cmath>

#include "models/json_options.h"
#include "models/saved_model.h"  // the only user in models/: saved_model.h pulls in the trainer
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical_nll.h"
#include "runtime/ops/gumbel.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

bool same_shape(const ImageShape& a, const ImageShape& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width;
}

ImageShape image_from_json(const nlohmann::json& j) {
  LVK_CHECK(j.is_array() && j.size() == 3, "vqprior: vqvae_model.image must be [C, H, W], got ", j.dump());
  return ImageShape{j[0].get<int64_t>(), j[1].get<int64_t>(), j[2].get<int64_t>()};
}

// The VQ-VAE the prior is fitted to: rebuilt from the recorded options (its weights then come from
// the checkpoint's buffers), or read from options.vqvae, recording what was read.
std::unique_ptr<VqVae> vqvae_for(VqPriorOptions& options, const ImageShape& shape, Device device) {
  std::unique_ptr<VqVae> vqvae;
  ImageShape image;
  if (options.vqvae_model.is_null()) {
    SavedModel saved = load_saved_model(options.vqvae, device);
    LVK_CHECK(saved.model->kind() == "vqvae", "vqprior: ", saved.path, " is a ", saved.model->kind(),
              " run; the prior needs a vqvae run (train one with `lvk train vqvae`)");
    vqvae.reset(static_cast<VqVae*>(saved.model.release()));
    image = saved.image;
    options.vqvae_model = {{"options", saved.config.model_options},
                           {"image", {image.channels, image.height, image.width}},
                           {"checkpoint", saved.path}};
  } else {
    LVK_CHECK(options.vqvae_model.is_object() && options.vqvae_model.contains("options") &&
                  options.vqvae_model.contains("image"),
              "vqprior: vqvae_model must hold the VQ-VAE's options and image, got ", options.vqvae_model.dump());
    image = image_from_json(options.vqvae_model.at("image"));
    InitStream unused(0);  // the weights are overwritten from the checkpoint's buffers
    vqvae = std::make_unique<VqVae>(VqVaeOptions::from_json(options.vqvae_model.at("options")), image, unused, device);
  }
  LVK_CHECK(same_shape(image, shape), "vqprior: the data has images ", shape.str(), " but the VQ-VAE ", options.vqvae,
            " was trained on ", image.str(), "; train the prior on the VQ-VAE's data");
  LVK_CHECK(vqvae->options().vq.levels == 1, "vqprior: the VQ-VAE ", options.vqvae,
            " has residual_levels=", vqvae->options().vq.levels,
            "; the prior models a single code map (residual_levels 1)");
  return vqvae;
}

}  // namespace

const OptionTable<VqPriorOptions>& VqPriorOptions::fields() {
  using O = VqPriorOptions;
  static const OptionTable<O> table = {
      option("vqvae", "the VQ-VAE's run folder or checkpoint (required)", &O::vqvae),
      option("hidden", "PixelCNN channels", &O::hidden),
      option("layers", "residual blocks after the first masked convolution", &O::layers),
      option("kernel", "size of the first masked convolution (odd, >= 3)", &O::kernel),
  };
  return table;
}

VqPriorOptions VqPriorOptions::from_json(const nlohmann::json& j) {
  const char* what = "vqprior";
  LVK_CHECK(j.is_object(), what, ": options must be a JSON object, got ", j.dump());
  LVK_CHECK(j.contains("vqvae"), what,
            ": option 'vqvae' (the VQ-VAE's run folder or checkpoint) is required, e.g. `lvk train vqprior --set "
            "vqvae=runs/vqvae`");
  VqPriorOptions o;
  nlohmann::json rest = j;
  if (rest.contains("vqvae_model")) {
    o.vqvae_model = rest.at("vqvae_model");
    rest.erase("vqvae_model");
  }
  read_options(what, rest, fields(), o);
  LVK_CHECK(!o.vqvae.empty(), what, ": option 'vqvae' is empty; give the VQ-VAE's run folder or checkpoint");
  LVK_CHECK(o.hidden >= 1, what, ": hidden=", o.hidden, " must be >= 1");
  LVK_CHECK(o.layers >= 0, what, ": layers=", o.layers, " must be >= 0");
  LVK_CHECK(o.kernel >= 3 && o.kernel % 2 == 1, what, ": kernel=", o.kernel, " must be odd and >= 3 (e.g. 5 or 7)");
  return o;
}

nlohmann::json VqPriorOptions::to_json() const {
  nlohmann::json j = write_options(fields(), *this);
  if (!vqvae_model.is_null()) j["vqvae_model"] = vqvae_model;
  return j;
}

VqPrior::VqPrior(const VqPriorOptions& o, const ImageShape& shape, InitStream& init, Device device)
    : options_(o),
      shape_(shape),
      device_(device),
      vqvae_(vqvae_for(options_, shape, device)),
      rows_(shape.height / 4),
      cols_(shape.width / 4),
      net_(vqvae_->codebook_size(), o.hidden, o.layers, o.kernel, init, device) {
  LVK_CHECK(rows_ * cols_ == vqvae_->latent_positions(), "vqprior: code maps of ", rows_, " x ", cols_,
            " do not match the VQ-VAE's ", vqvae_->latent_positions(), " positions");
}

VqPrior::~VqPrior() = default;

Tensor VqPrior::codes(const Tensor& x) {
  NoGrad no_grad;
  return vqvae_->encode_codes(x).view({x.dim(0), rows_, cols_});
}

int64_t VqPrior::codebook_size() const {
  return vqvae_->codebook_size();
}

Tensor VqPrior::encode_codes(const Tensor& x) {
  return vqvae_->encode_codes(x);
}

Tensor VqPrior::code_nll(const Tensor& codes) {
  LVK_CHECK(codes.rank() == 2 && codes.dim(1) == rows_ * cols_, "vqprior: code_nll expects i32 [B, ", rows_ * cols_,
            "], got ", codes.str());
  NoGrad no_grad;
  const Tensor maps = codes.view({codes.dim(0), rows_, cols_});
  const Tensor nll = categorical_nll(net_.logit_rows(maps), codes.view({codes.numel()}));
  // Per image: the row sums of [B, P] (a ones-vector matmul, the same on both devices).
  return matmul(nll.view({codes.dim(0), rows_ * cols_}), Tensor::full({rows_ * cols_, 1}, 1.0f, device_))
      .view({codes.dim(0)});
}

ModelOutput VqPrior::forward(const Tensor& x, const StepInfo&) {
  const Tensor maps = codes(x);
  const Tensor nll = categorical_nll(net_.logit_rows(maps), maps.view({maps.numel()}));
  ModelOutput out;
  out.loss = scale(sum(nll), 1.0f / static_cast<float>(x.dim(0)));
  NoGrad no_grad;
  out.terms.emplace_back("nll", out.loss);
  out.terms.emplace_back("bpd", scale(out.loss, static_cast<float>(1.0 / (shape_.pixels() * std::log(2.0)))));
  return out;
}

Tensor VqPrior::reconstruct(const Tensor& x) {
  return vqvae_->reconstruct(x);
}

Tensor VqPrior::sample(int64_t n, uint64_t seed, uint64_t offset) {
  LVK_CHECK(n >= 1, "vqprior: sample n=", n, " must be >= 1");
  NoGrad no_grad;
  const int64_t positions = rows_ * cols_;
  std::vector<int32_t> maps(static_cast<size_t>(n * positions), 0);
  for (int64_t p = 0; p < positions; ++p) {
    // The whole map goes through the network; only position p's logits are used (the codes at and
    // after p cannot reach them, so their placeholder zeros do not matter).
    const Tensor rows = net_.logit_rows(Tensor::from_vector(maps, {n, rows_, cols_}, device_));
    GumbelSoftmaxOptions g;
    g.hard = true;
    g.seed = seed;
    g.offset = offset * static_cast<uint64_t>(positions) + static_cast<uint64_t>(p);
    const std::vector<int32_t> index = gumbel_softmax(rows, g).index.to_vector<int32_t>();
    for (int64_t b = 0; b < n; ++b)
      maps[static_cast<size_t>(b * positions + p)] = index[static_cast<size_t>(b * positions + p)];
  }
  return vqvae_->decode_codes(Tensor::from_vector(maps, {n, rows_, cols_}, device_));
}

ParameterList VqPrior::buffers() const {
  ParameterList out;
  vqvae_->collect_parameters("vqvae.params.", out);
  for (const auto& [name, t] : vqvae_->buffers()) out.emplace_back("vqvae.buffers." + name, t);
  return out;
}

void VqPrior::collect_parameters(const std::string& prefix, ParameterList& out) const {
  net_.collect_parameters(prefix + "pixelcnn.", out);
}

}  // namespace lvk
