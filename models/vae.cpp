#include "models/vae.h"

#include <algorithm>
#include <cmath>

#include "models/json_options.h"
#include "models/maf.h"
#include "models/realnvp.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/mixture.h"
#include "runtime/ops/nn.h"
#include "runtime/storage.h"
#include "runtime/tape.h"

namespace lvk {

const OptionTable<VaeOptions>& VaeOptions::fields() {
  using O = VaeOptions;
  static const OptionTable<O> table = {
      option("arch", "mlp or conv (conv needs square images with sides divisible by 4)", &O::arch),
      option("latent", "latent dimensions", &O::latent),
      option("hidden", "mlp width", &O::hidden),
      option("channels", "conv: channels after the first convolution (then twice as many)", &O::channels),
      option("decoder", "bernoulli (logits) or gaussian (means, fixed variance)", &O::decoder),
      option("decoder_logvar", "log sigma^2 of the Gaussian decoder", &O::decoder_logvar),
      option("beta", "weight of the KL term (1 is the ELBO)", &O::beta),
      option("prior", "standard (vae), realnvp, maf or vamp (flowvae)", &O::prior),
      option("flow_layers", "flow prior: coupling or MAF layers", &O::flow_layers),
      option("flow_hidden", "flow prior: conditioner width", &O::flow_hidden),
      option("pseudo_inputs", "vamp: K learned pseudo-inputs", &O::pseudo_inputs),
  };
  return table;
}

VaeOptions VaeOptions::from_json(const nlohmann::json& j) {
  VaeOptions o;
  read_options("vae", j, fields(), o);
  LVK_CHECK(o.arch == "mlp" || o.arch == "conv", "vae: arch '", o.arch, "' is not mlp or conv");
  LVK_CHECK(o.decoder == "bernoulli" || o.decoder == "gaussian", "vae: decoder '", o.decoder,
            "' is not bernoulli or gaussian");
  LVK_CHECK(o.prior == "standard" || o.prior == "realnvp" || o.prior == "maf" || o.prior == "vamp", "vae: prior '",
            o.prior, "' is not standard, realnvp, maf or vamp");
  LVK_CHECK(o.pseudo_inputs >= 1, "vae: pseudo_inputs=", o.pseudo_inputs, ", expected >= 1");
  LVK_CHECK(o.latent >= 1 && o.hidden >= 1 && o.channels >= 1, "vae: latent=", o.latent, " hidden=", o.hidden,
            " channels=", o.channels, ", expected all >= 1");
  LVK_CHECK(o.beta >= 0.0f, "vae: beta=", o.beta, " must be >= 0");
  LVK_CHECK(o.prior != "realnvp" || o.latent >= 2, "vae: a realnvp prior needs latent >= 2, got ", o.latent);
  return o;
}

nlohmann::json VaeOptions::to_json() const {
  return write_options(fields(), *this);
}

Vae::Vae(const VaeOptions& o, const ImageShape& shape, InitStream& init, Device device)
    : options_(o), shape_(shape), device_(device) {
  const LinearOptions relu{true, Activation::relu}, plain{true, Activation::none};
  int64_t features = 0;
  if (o.arch == "mlp") {
    enc_.emplace_back(shape.pixels(), o.hidden, init, device, relu);
    enc_.emplace_back(o.hidden, o.hidden, init, device, relu);
    features = o.hidden;
  } else {
    LVK_CHECK(shape.height % 4 == 0 && shape.width % 4 == 0 && shape.height == shape.width, "vae: the conv arch needs",
              " square images with sides divisible by 4, got ", shape.str());
    const ConvOptions down{2, 1};
    enc_conv_.emplace_back(shape.channels, o.channels, 4, init, device, down);
    enc_conv_.emplace_back(o.channels, 2 * o.channels, 4, init, device, down);
    feature_side_ = shape.height / 4;
    features = 2 * o.channels * feature_side_ * feature_side_;
  }
  mu_head_ = std::make_unique<Linear>(features, o.latent, init, device, plain);
  logvar_head_ = std::make_unique<Linear>(features, o.latent, init, device, plain);
  if (o.arch == "mlp") {
    dec_.emplace_back(o.latent, o.hidden, init, device, relu);
    dec_.emplace_back(o.hidden, o.hidden, init, device, relu);
    dec_.emplace_back(o.hidden, shape.pixels(), init, device, plain);
  } else {
    dec_.emplace_back(o.latent, features, init, device, relu);
    const ConvOptions up{2, 1};
    dec_conv_.emplace_back(2 * o.channels, o.channels, 4, init, device, up);
    dec_conv_.emplace_back(o.channels, shape.channels, 4, init, device, up);
  }
  if (o.prior == "realnvp")
    flow_ = std::make_unique<RealNvp>(
        RealNvpOptions{o.latent, o.flow_layers, o.flow_hidden, 2, 2.0f, MaskKind::alternating, true}, init, device);
  if (o.prior == "maf")
    flow_ = std::make_unique<Maf>(MafOptions{o.latent, o.flow_layers, o.flow_hidden, 1, 2.0f, true}, init, device);
  if (o.prior == "vamp")  // uniform pixels until initialize() copies the first batch's images in
    pseudo_inputs_ = make_parameter(
        uniform({o.pseudo_inputs, shape.channels, shape.height, shape.width}, init.seed(), init.take(), device));
}

std::pair<Tensor, Tensor> Vae::encode(const Tensor& x) const {
  const int64_t b = x.dim(0);
  Tensor h;
  if (options_.arch == "mlp") {
    h = reshape(x, {b, shape_.pixels()});
    for (const Linear& layer : enc_) h = layer.forward(h);
  } else {
    h = x;
    for (const Conv2d& conv : enc_conv_) h = relu(conv.forward(h));
    h = reshape(h, {b, h.numel() / b});
  }
  return {mu_head_->forward(h), logvar_head_->forward(h)};
}

Tensor Vae::decode(const Tensor& z) const {
  const int64_t b = z.dim(0);
  Tensor h = z;
  for (const Linear& layer : dec_) h = layer.forward(h);
  if (options_.arch == "conv") {
    h = reshape(h, {b, 2 * options_.channels, feature_side_, feature_side_});
    h = relu(dec_conv_[0].forward(h));
    h = dec_conv_[1].forward(h);
  }
  return reshape(h, {b, shape_.channels, shape_.height, shape_.width});
}

ModelOutput Vae::forward(const Tensor& x, const StepInfo& info) {
  LVK_CHECK(x.rank() == 4 && x.dim(1) == shape_.channels && x.dim(2) == shape_.height && x.dim(3) == shape_.width,
            kind(), ": expected images [B, ", shape_.channels, ", ", shape_.height, ", ", shape_.width, "], got ",
            x.str());
  auto [mu, logvar] = encode(x);
  GaussianSampleResult q = gaussian_sample(mu, logvar, {0, info.example_seed(), info.noise_offset(0), info.clock});
  const Tensor out = decode(q.z);
  const Tensor recon = options_.decoder == "bernoulli"
                           ? bce_with_logits(out, x, Reduction::batch_mean)
                           : gaussian_nll(x, out, options_.decoder_logvar, Reduction::batch_mean);
  const Tensor kl = flow_                      ? mean(sub(q.log_q, flow_->log_prob_unchecked(q.z)))
                    : pseudo_inputs_.defined() ? mean(sub(q.log_q, log_prior(q.z)))
                                               : mean(q.kl);
  ModelOutput result;
  result.loss = add(recon, scale(kl, options_.beta));
  result.terms = {{"recon", recon}, {"kl", kl}, {"elbo", scale(add(recon, kl), -1.0f)}};
  return result;
}

Tensor Vae::reconstruct(const Tensor& x) {
  NoGrad no_grad;
  const Tensor out = decode(encode(x).first);
  return options_.decoder == "bernoulli" ? sigmoid(out) : out;
}

Tensor Vae::sample(int64_t n, uint64_t seed, uint64_t offset) {
  NoGrad no_grad;
  const Tensor out = decode(sample_prior(n, seed, offset));
  return options_.decoder == "bernoulli" ? sigmoid(out) : out;
}

Tensor Vae::log_prior(const Tensor& z) const {
  if (flow_) return flow_->log_prob(z);
  if (pseudo_inputs_.defined()) {
    auto [mu, logvar] = encode(pseudo_inputs_);
    return gaussian_mixture_log_density(z, mu, logvar);
  }
  const Tensor zeros = Tensor::zeros(z.shape(), DType::f32, z.device());
  return gaussian_log_density(z, zeros, zeros);
}

Tensor Vae::sample_prior(int64_t n, uint64_t seed, uint64_t offset) const {
  if (flow_) return flow_->sample(n, seed, offset);
  const Tensor eps = normal({n, options_.latent}, seed, offset, device_);
  if (!pseudo_inputs_.defined()) return eps;
  // Component k_r = floor(K u_r) from a second Philox stream, then z = mu_k + sigma_k eps (host side:
  // sampling is not a training step, and K x latent values are small).
  NoGrad no_grad;
  auto [mu, logvar] = encode(pseudo_inputs_);
  const std::vector<float> m = mu.to_vector<float>(), lv = logvar.to_vector<float>(), e = eps.to_vector<float>();
  const std::vector<float> pick = uniform({n}, seed, offset + 1, Device::cpu()).to_vector<float>();
  const int64_t k = mu.dim(0), d = options_.latent;
  std::vector<float> z(static_cast<size_t>(n * d));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t c = std::min<int64_t>(static_cast<int64_t>(pick[r] * k), k - 1);
    for (int64_t j = 0; j < d; ++j) z[r * d + j] = m[c * d + j] + std::exp(0.5f * lv[c * d + j]) * e[r * d + j];
  }
  return Tensor::from_vector(z, {n, d}, device_);
}

void Vae::initialize(const Tensor& x, const StepInfo& info) {
  (void)info;
  NoGrad no_grad;
  if (pseudo_inputs_.defined()) {  // start the pseudo-inputs at real images (as many as the batch has)
    const size_t bytes = std::min(pseudo_inputs_.bytes(), x.bytes());
    copy_bytes(pseudo_inputs_.raw(), pseudo_inputs_.device(), x.raw(), x.device(), bytes);
  }
  if (flow_) flow_->initialize_actnorm(encode(x).first);
}

void Vae::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t i = 0; i < enc_.size(); ++i) enc_[i].collect_parameters(prefix + "enc." + std::to_string(i) + ".", out);
  for (size_t i = 0; i < enc_conv_.size(); ++i)
    enc_conv_[i].collect_parameters(prefix + "enc_conv." + std::to_string(i) + ".", out);
  mu_head_->collect_parameters(prefix + "mu.", out);
  logvar_head_->collect_parameters(prefix + "logvar.", out);
  for (size_t i = 0; i < dec_.size(); ++i) dec_[i].collect_parameters(prefix + "dec." + std::to_string(i) + ".", out);
  for (size_t i = 0; i < dec_conv_.size(); ++i)
    dec_conv_[i].collect_parameters(prefix + "dec_conv." + std::to_string(i) + ".", out);
  if (flow_) flow_->collect_parameters(prefix + "prior.", out);
  if (pseudo_inputs_.defined()) out.emplace_back(prefix + "prior.pseudo_inputs", pseudo_inputs_);
}

}  // namespace lvk
