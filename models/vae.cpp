#include "models/vae.h"

#include "models/json_options.h"
#include "models/maf.h"
#include "models/realnvp.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/nn.h"
#include "runtime/tape.h"

namespace lvk {

VaeOptions VaeOptions::from_json(const nlohmann::json& j) {
  const char* what = "vae";
  check_known_keys(what, j,
                   {"arch", "latent", "hidden", "channels", "decoder", "decoder_logvar", "beta", "prior", "flow_layers",
                    "flow_hidden"});
  VaeOptions o;
  read_option(what, j, "arch", o.arch);
  read_option(what, j, "latent", o.latent);
  read_option(what, j, "hidden", o.hidden);
  read_option(what, j, "channels", o.channels);
  read_option(what, j, "decoder", o.decoder);
  read_option(what, j, "decoder_logvar", o.decoder_logvar);
  read_option(what, j, "beta", o.beta);
  read_option(what, j, "prior", o.prior);
  read_option(what, j, "flow_layers", o.flow_layers);
  read_option(what, j, "flow_hidden", o.flow_hidden);
  LVK_CHECK(o.arch == "mlp" || o.arch == "conv", "vae: arch '", o.arch, "' is not mlp or conv");
  LVK_CHECK(o.decoder == "bernoulli" || o.decoder == "gaussian", "vae: decoder '", o.decoder,
            "' is not bernoulli or gaussian");
  LVK_CHECK(o.prior == "standard" || o.prior == "realnvp" || o.prior == "maf", "vae: prior '", o.prior,
            "' is not standard, realnvp or maf");
  LVK_CHECK(o.latent >= 1 && o.hidden >= 1 && o.channels >= 1, "vae: latent=", o.latent, " hidden=", o.hidden,
            " channels=", o.channels, ", expected all >= 1");
  LVK_CHECK(o.beta >= 0.0f, "vae: beta=", o.beta, " must be >= 0");
  LVK_CHECK(o.prior != "realnvp" || o.latent >= 2, "vae: a realnvp prior needs latent >= 2, got ", o.latent);
  return o;
}

nlohmann::json VaeOptions::to_json() const {
  return {{"arch", arch},   {"latent", latent},     {"hidden", hidden},           {"channels", channels},
          {"decoder", decoder}, {"decoder_logvar", decoder_logvar}, {"beta", beta}, {"prior", prior},
          {"flow_layers", flow_layers}, {"flow_hidden", flow_hidden}};
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
  GaussianSampleResult q = gaussian_sample(mu, logvar, {0, info.seed, info.noise_offset(0), info.clock});
  const Tensor out = decode(q.z);
  const Tensor recon = options_.decoder == "bernoulli"
                           ? bce_with_logits(out, x, Reduction::batch_mean)
                           : gaussian_nll(x, out, options_.decoder_logvar, Reduction::batch_mean);
  const Tensor kl = flow_ ? mean(sub(q.log_q, flow_->log_prob_unchecked(q.z))) : mean(q.kl);
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
  const Tensor z = flow_ ? flow_->sample(n, seed, offset) : normal({n, options_.latent}, seed, offset, device_);
  const Tensor out = decode(z);
  return options_.decoder == "bernoulli" ? sigmoid(out) : out;
}

void Vae::initialize(const Tensor& x, const StepInfo& info) {
  (void)info;
  if (!flow_) return;
  NoGrad no_grad;
  flow_->initialize_actnorm(encode(x).first);
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
}

}  // namespace lvk
