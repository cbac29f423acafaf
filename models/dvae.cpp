#include "models/dvae.h"

#include <algorithm>
#include <cmath>

#include "models/json_options.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/gumbel.h"
#include "runtime/ops/layout.h"
#include "runtime/ops/nn.h"
#include "runtime/tape.h"

namespace lvk {

const OptionTable<DvaeOptions>& DvaeOptions::fields() {
  using O = DvaeOptions;
  static const OptionTable<O> table = {
      option("codes", "K codes", &O::codes),
      option("code_dim", "C: code dimension", &O::code_dim),
      option("channels", "conv width of encoder and decoder", &O::channels),
      option("res_blocks", "residual blocks in each of encoder and decoder", &O::res_blocks),
      option("res_hidden", "their 3x3 conv width", &O::res_hidden),
      option("hard", "straight-through one-hot samples", &O::hard),
      option("temperature", "temperature schedule: constant, exponential or cosine", &O::temperature),
      option("tau_max", "temperature at step 0", &O::tau_max),
      option("tau_min", "temperature after the annealing", &O::tau_min),
      option("anneal_steps", "steps from tau_max to tau_min", &O::anneal_steps),
      option("kl_weight", "KL weight after the warm-up (1 is the ELBO)", &O::kl_weight),
      option("kl_weight_start", "KL weight at step 0", &O::kl_weight_start),
      option("kl_warmup", "steps of the linear KL warm-up (0: kl_weight throughout)", &O::kl_warmup),
      option("decoder", "bernoulli (logits) or gaussian (means, fixed variance)", &O::decoder),
      option("decoder_logvar", "log sigma^2 of the Gaussian decoder", &O::decoder_logvar),
  };
  return table;
}

DvaeOptions DvaeOptions::from_json(const nlohmann::json& j) {
  DvaeOptions o;
  read_options("dvae", j, fields(), o);
  LVK_CHECK(o.codes >= 2 && o.codes <= (int64_t{1} << 24), "dvae: codes=", o.codes,
            ", expected 2 <= K <= 2^24 (one code carries no information)");
  LVK_CHECK(o.code_dim >= 1 && o.channels >= 1 && o.res_hidden >= 1, "dvae: code_dim=", o.code_dim,
            " channels=", o.channels, " res_hidden=", o.res_hidden, ", expected all >= 1");
  LVK_CHECK(o.res_blocks >= 0, "dvae: res_blocks=", o.res_blocks, " must be >= 0");
  LVK_CHECK(o.decoder == "bernoulli" || o.decoder == "gaussian", "dvae: decoder '", o.decoder,
            "' is not bernoulli or gaussian");
  LVK_CHECK(std::isfinite(o.kl_weight) && o.kl_weight >= 0.0f && std::isfinite(o.kl_weight_start) &&
                o.kl_weight_start >= 0.0f,
            "dvae: kl_weight=", o.kl_weight, " and kl_weight_start=", o.kl_weight_start, " must be finite and >= 0");
  LVK_CHECK(o.kl_warmup >= 0, "dvae: kl_warmup=", o.kl_warmup, " must be >= 0");
  LVK_CHECK(std::isfinite(o.decoder_logvar), "dvae: decoder_logvar=", o.decoder_logvar, " must be finite");
  try {
    o.temperature_schedule().validate();
  } catch (const Error& e) {
    fail("dvae: ", e.what());
  }
  // The fused Gumbel-softmax promises finite outputs only for tau >= 1e-3.
  const double lowest = o.temperature == "constant" ? o.tau_max : std::min(o.tau_min, o.tau_max);
  LVK_CHECK(lowest >= 1e-3, "dvae: temperature ", lowest, " (tau_max=", o.tau_max, ", tau_min=", o.tau_min,
            ") is below the Gumbel-softmax minimum 1e-3");
  return o;
}

nlohmann::json DvaeOptions::to_json() const {
  return write_options(fields(), *this);
}

TemperatureSchedule DvaeOptions::temperature_schedule() const {
  TemperatureSchedule s;
  s.kind = parse_temperature_kind(temperature);
  s.tau_max = tau_max;
  s.tau_min = tau_min;
  s.steps = anneal_steps;
  return s;
}

float DvaeOptions::kl_weight_at(int64_t step) const {
  if (kl_warmup <= 0 || step >= kl_warmup) return kl_weight;
  const double f = static_cast<double>(std::max<int64_t>(step, 0)) / static_cast<double>(kl_warmup);
  return static_cast<float>(kl_weight_start + (static_cast<double>(kl_weight) - kl_weight_start) * f);
}

Dvae::Dvae(const DvaeOptions& o, const ImageShape& shape, InitStream& init, Device device)
    : options_(o), shape_(shape), device_(device), tau_(o.temperature_schedule()) {
  LVK_CHECK(shape.height % 4 == 0 && shape.width % 4 == 0 && shape.height >= 4 && shape.width >= 4,
            "dvae: the encoder halves the image twice, so height and width must be positive multiples of 4, got ",
            shape.str());
  latent_h_ = shape.height / 4;
  latent_w_ = shape.width / 4;
  const ConvOptions down{2, 1}, up{2, 1}, pointwise{1, 0};
  enc_down_.emplace_back(shape.channels, o.channels, 4, init, device, down);
  enc_down_.emplace_back(o.channels, o.channels, 4, init, device, down);
  for (int64_t i = 0; i < o.res_blocks; ++i) enc_res_.emplace_back(o.channels, o.res_hidden, init, device);
  enc_logits_ = std::make_unique<Conv2d>(o.channels, o.codes, 1, init, device, pointwise);
  // N(0, 1) entries like torch.nn.Embedding; kaiming_normal with fan_in 2 is exactly that, drawn on
  // the host so every device starts from the same bits.
  codebook_ = make_parameter(
      init_parameter({o.codes, o.code_dim}, Init::kaiming_normal, 2, o.code_dim, init.seed(), init.take(), device));
  dec_in_ = std::make_unique<Conv2d>(o.code_dim, o.channels, 1, init, device, pointwise);
  for (int64_t i = 0; i < o.res_blocks; ++i) dec_res_.emplace_back(o.channels, o.res_hidden, init, device);
  dec_up_.emplace_back(o.channels, o.channels, 4, init, device, up);
  dec_up_.emplace_back(o.channels, shape.channels, 4, init, device, up);
}

void Dvae::check_images(const Tensor& x) const {
  LVK_CHECK(x.defined() && x.rank() == 4 && x.dim(1) == shape_.channels && x.dim(2) == shape_.height &&
                x.dim(3) == shape_.width && x.dim(0) >= 1,
            "dvae: expected images [B >= 1, ", shape_.channels, ", ", shape_.height, ", ", shape_.width, "], got ",
            x.defined() ? x.str() : std::string("an undefined tensor"));
}

Tensor Dvae::encode_logits(const Tensor& x) const {
  check_images(x);
  Tensor h = relu(enc_down_[0].forward(x));
  h = enc_down_[1].forward(h);
  for (const ResidualBlock& block : enc_res_) h = block.forward(h);
  h = enc_logits_->forward(relu(h));  // [B, K, H', W']
  return reshape(to_channels_last(h), {h.dim(0) * latent_h_ * latent_w_, options_.codes});
}

Tensor Dvae::decode_codes(const Tensor& y, int64_t batch) const {
  LVK_CHECK(y.rank() == 2 && y.dim(0) == batch * latent_h_ * latent_w_ && y.dim(1) == options_.codes,
            "dvae: code weights ", y.str(), " do not match [", batch * latent_h_ * latent_w_, ", ", options_.codes,
            "] for a batch of ", batch);
  const Tensor z = soft_codebook_mixture(y, codebook_);  // [B*H'*W', C]
  Tensor h = to_channels_first(reshape(z, {batch, latent_h_, latent_w_, options_.code_dim}));
  h = dec_in_->forward(h);
  for (const ResidualBlock& block : dec_res_) h = block.forward(h);
  h = relu(dec_up_[0].forward(relu(h)));
  return dec_up_[1].forward(h);
}

Tensor Dvae::output_to_images(const Tensor& out) const {
  return options_.decoder == "bernoulli" ? sigmoid(out) : out;
}

ModelOutput Dvae::forward(const Tensor& x, const StepInfo& info) {
  const int64_t b = x.defined() && x.rank() == 4 ? x.dim(0) : 0;
  const Tensor logits = encode_logits(x);
  // In a train step the temperature and KL weight are the clock's columns 1 and 2 (on the device);
  // elsewhere (evaluation, tests) they come from the schedules here.
  const bool clocked = info.clock != nullptr;
  LVK_CHECK(!clocked || info.clock->scalar_count() == 3, "dvae: the step clock has ", info.clock->scalar_count(),
            " scalar columns; expected 3 (learning rate, tau, KL weight from step_scalars())");
  const float tau = tau_.at(info.step), w = options_.kl_weight_at(info.step);
  GumbelSoftmaxOptions go{tau, options_.hard, info.example_seed(), info.noise_offset(0), info.clock, clocked ? 1 : -1};
  const GumbelSoftmaxResult q = gumbel_softmax(logits, go);
  const Tensor out = decode_codes(q.y, b);
  const Tensor recon = options_.decoder == "bernoulli"
                           ? bce_with_logits(out, x, Reduction::batch_mean)
                           : gaussian_nll(x, out, options_.decoder_logvar, Reduction::batch_mean);
  const Tensor kl = scale(sum(q.kl), 1.0f / static_cast<float>(b));  // summed over positions, per image
  ModelOutput result;
  result.loss = add(recon, clocked ? mul(kl, info.clock->scalar(2).view(kl.shape())) : scale(kl, w));
  result.terms = {{"recon", recon}, {"kl", kl}, {"elbo", scale(add(recon, kl), -1.0f)}};
  Tensor counts = count_codes(q.index, options_.codes);
  if (info.comm && info.training) info.comm->all_reduce_(counts, dist::ReduceOp::sum);  // global usage
  const CodeStatistics codes = code_statistics(counts);
  result.stats = {{"tau", clocked ? info.clock->scalar(1) : Tensor::full({1}, tau, device_)},
                  {"kl_weight", clocked ? info.clock->scalar(2) : Tensor::full({1}, w, device_)},
                  {"perplexity", codes.perplexity},
                  {"usage", codes.usage}};
  return result;
}

Tensor Dvae::reconstruct(const Tensor& x) {
  NoGrad no_grad;
  const Tensor logits = encode_logits(x);
  const Tensor y = options_.hard ? one_hot(argmax_last(logits), options_.codes) : softmax_last(logits);
  return output_to_images(decode_codes(y, x.dim(0)));
}

Tensor Dvae::encode_codes(const Tensor& x) {
  check_images(x);
  NoGrad no_grad;
  const Tensor codes = argmax_last(encode_logits(x));
  return codes.view({x.dim(0), latent_positions()});
}

Tensor Dvae::sample(int64_t n, uint64_t seed, uint64_t offset) {
  LVK_CHECK(n >= 1, "dvae: sample count n=", n, " must be >= 1");
  NoGrad no_grad;
  // Gumbel-max over equal logits is a uniform draw per position: the prior, with the op's own
  // documented Philox layout (so CPU and CUDA draw the same codes).
  const Tensor flat = Tensor::zeros({n * latent_h_ * latent_w_, options_.codes}, DType::f32, device_);
  const GumbelSoftmaxResult prior = gumbel_softmax(flat, {1.0f, true, seed, offset});
  return output_to_images(decode_codes(prior.y, n));
}

void Dvae::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t i = 0; i < enc_down_.size(); ++i)
    enc_down_[i].collect_parameters(prefix + "enc.down." + std::to_string(i) + ".", out);
  for (size_t i = 0; i < enc_res_.size(); ++i)
    enc_res_[i].collect_parameters(prefix + "enc.res." + std::to_string(i) + ".", out);
  enc_logits_->collect_parameters(prefix + "enc.logits.", out);
  out.emplace_back(prefix + "codebook", codebook_);
  dec_in_->collect_parameters(prefix + "dec.in.", out);
  for (size_t i = 0; i < dec_res_.size(); ++i)
    dec_res_[i].collect_parameters(prefix + "dec.res." + std::to_string(i) + ".", out);
  for (size_t i = 0; i < dec_up_.size(); ++i)
    dec_up_[i].collect_parameters(prefix + "dec.up." + std::to_string(i) + ".", out);
}

}  // namespace lvk
