#include "models/realnvp.h"

#include <cmath>

#include "runtime/ops/actnorm.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

Tensor accumulate_sum(const Tensor& total, const Tensor& term) {
  return total.defined() ? add(total, term) : term;
}

}  // namespace

RealNvp::RealNvp(RealNvpOptions options, InitStream& init, Device device) : options_(options), device_(device) {
  LVK_CHECK(options.dim >= 2, "RealNvp: dim=", options.dim, "; a coupling layer needs at least 2 features");
  LVK_CHECK(options.layers >= 1 && options.hidden >= 1 && options.hidden_layers >= 1,
            "RealNvp: layers=", options.layers, " hidden=", options.hidden, " hidden_layers=", options.hidden_layers,
            ", expected all >= 1");
  LVK_CHECK(std::isfinite(options.max_log_scale) && options.max_log_scale > 0,
            "RealNvp: max_log_scale must be > 0, got ", options.max_log_scale);
  const int64_t d = options.dim, h = options.hidden;
  for (int l = 0; l < options.layers; ++l) {
    Tensor mask = coupling_mask(options.mask, {d}, l % 2 == 1, device);
    const std::vector<float> row = mask.to_vector<float>();
    std::vector<float> repeated;
    for (int64_t r = 0; r < h; ++r) repeated.insert(repeated.end(), row.begin(), row.end());
    std::vector<Linear> trunk;
    trunk.emplace_back(d, h, init, device, LinearOptions{true, Activation::relu});
    for (int i = 1; i < options.hidden_layers; ++i)
      trunk.emplace_back(h, h, init, device, LinearOptions{true, Activation::relu});
    LinearOptions head{true, Activation::none};
    head.init = Init::zeros;  // s = t = 0: every coupling starts as the identity
    Linear s_head(h, d, init, device, head), t_head(h, d, init, device, head);
    layers_.push_back(Layer{mask, Tensor::from_vector(repeated, {h, d}, device), std::move(trunk), s_head, t_head,
                            make_parameter(Tensor::zeros({d}, DType::f32, device)),
                            make_parameter(Tensor::zeros({d}, DType::f32, device))});
  }
}

std::pair<Tensor, Tensor> RealNvp::conditioner(const Layer& layer, const Tensor& x) const {
  const Linear& first = layer.trunk.front();
  Tensor h = linear(x, mul(first.weight, layer.input_mask), first.bias, Activation::relu);
  for (size_t i = 1; i < layer.trunk.size(); ++i) h = layer.trunk[i].forward(h);
  return {layer.s_head.forward(h), layer.t_head.forward(h)};
}

FlowResult RealNvp::forward(const Tensor& z) const {
  check_rank("RealNvp", "z", z, 2);
  LVK_CHECK(z.dim(1) == options_.dim, "RealNvp: z has D=", z.dim(1), " but the flow was built for D=", options_.dim);
  Tensor x = z, log_det, actnorm_log_det;
  for (const Layer& layer : layers_) {
    if (options_.actnorm) {
      x = actnorm_forward(x, layer.log_scale, layer.bias);
      actnorm_log_det = accumulate_sum(actnorm_log_det, sum(layer.log_scale));
    }
    auto [s_raw, t] = conditioner(layer, x);
    CouplingResult r = coupling_forward(x, layer.mask, s_raw, t, options_.max_log_scale);
    x = r.out;
    log_det = accumulate_sum(log_det, r.logdet);
  }
  if (actnorm_log_det.defined()) log_det = add(log_det, expand_scalar(actnorm_log_det, {z.dim(0)}));
  return {x, log_det};
}

Tensor RealNvp::inverse(const Tensor& u) const {
  check_rank("RealNvp.inverse", "u", u, 2);
  LVK_CHECK(u.dim(1) == options_.dim, "RealNvp.inverse: u has D=", u.dim(1),
            " but the flow was built for D=", options_.dim);
  Tensor x = u;
  for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
    // The pass-through features of y equal those of x, so the conditioner sees the same input.
    auto [s_raw, t] = conditioner(*layer, x);
    x = coupling_inverse(x, layer->mask, s_raw, t, options_.max_log_scale).out;
    if (options_.actnorm) x = actnorm_inverse(x, layer->log_scale, layer->bias);
  }
  return x;
}

Tensor RealNvp::sample(int64_t n, uint64_t seed, uint64_t offset) const {
  return inverse(normal({n, options_.dim}, seed, offset, device_));
}

void RealNvp::initialize_actnorm(const Tensor& z) {
  LVK_CHECK(z.rank() == 2 && z.dim(0) >= 2, "RealNvp.initialize_actnorm: needs a batch of at least 2 rows, got ",
            z.str());
  check_finite("RealNvp.initialize_actnorm", "z", z);
  if (!options_.actnorm) return;
  NoGrad no_grad;
  Tensor x = z;
  for (Layer& layer : layers_) {
    standardize_actnorm("RealNvp.initialize_actnorm", x, layer.log_scale, layer.bias);
    x = actnorm_forward(x, layer.log_scale, layer.bias);
    auto [s_raw, t] = conditioner(layer, x);
    x = coupling_forward(x, layer.mask, s_raw, t, options_.max_log_scale).out;
  }
}

void RealNvp::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    const std::string p = prefix + "layers." + std::to_string(l) + ".";
    for (size_t i = 0; i < layer.trunk.size(); ++i)
      layer.trunk[i].collect_parameters(p + "trunk." + std::to_string(i) + ".", out);
    layer.s_head.collect_parameters(p + "s.", out);
    layer.t_head.collect_parameters(p + "t.", out);
    if (options_.actnorm) {
      out.emplace_back(p + "actnorm.log_scale", layer.log_scale);
      out.emplace_back(p + "actnorm.bias", layer.bias);
    }
  }
}

}  // namespace lvk
