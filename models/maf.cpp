#include "models/maf.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/ops/actnorm.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/coupling.h"
#include "runtime/tape.h"

namespace lvk {

Maf::Maf(MafOptions options, InitStream& init, Device device) : options_(options), device_(device) {
  LVK_CHECK(options.dim >= 1 && options.layers >= 1 && options.hidden_layers >= 1, "Maf: dim=", options.dim,
            " layers=", options.layers, " hidden_layers=", options.hidden_layers, ", expected all >= 1");
  LVK_CHECK(options.hidden >= 1 && options.hidden <= kMadeMaxHidden, "Maf: hidden=", options.hidden,
            " but the fused inverse supports 1..", kMadeMaxHidden);
  LVK_CHECK(std::isfinite(options.max_log_scale) && options.max_log_scale > 0, "Maf: max_log_scale must be > 0, got ",
            options.max_log_scale);
  const int64_t d = options.dim;
  zero_mask_ = Tensor::zeros({d}, DType::f32, device);
  std::vector<int32_t> order(static_cast<size_t>(d));
  std::iota(order.begin(), order.end(), 0);
  for (int l = 0; l < options.layers; ++l) {
    std::vector<int32_t> o = order;
    if (l % 2 == 1) std::reverse(o.begin(), o.end());
    std::optional<uint64_t> degree_seed;
    if (options.random_degrees) degree_seed = init.seed() ^ (0x6d616465ull + init.take());
    layers_.push_back(Layer{Made(d, options.hidden, options.hidden_layers, o, init, device, degree_seed),
                            make_parameter(Tensor::zeros({d}, DType::f32, device)),
                            make_parameter(Tensor::zeros({d}, DType::f32, device))});
  }
}

void Maf::check_input(const char* who, const Tensor& x) const {
  check_rank(who, "input", x, 2);
  LVK_CHECK(x.dim(1) == options_.dim, who, ": input has D=", x.dim(1), " but the flow was built for D=", options_.dim);
}

FlowResult Maf::forward(const Tensor& z) const {
  check_input("Maf", z);
  Tensor x = z, log_det, actnorm_log_det;
  for (const Layer& layer : layers_) {
    if (options_.actnorm) {
      x = actnorm_forward(x, layer.log_scale, layer.bias);
      const Tensor s = sum(layer.log_scale);
      actnorm_log_det = actnorm_log_det.defined() ? add(actnorm_log_det, s) : s;
    }
    const Made::Output o = layer.made.forward(x);
    CouplingResult r = coupling_inverse(x, zero_mask_, o.alpha_raw, o.shift, options_.max_log_scale);
    x = r.out;
    log_det = log_det.defined() ? add(log_det, r.logdet) : r.logdet;
  }
  if (actnorm_log_det.defined()) log_det = add(log_det, expand_scalar(actnorm_log_det, {z.dim(0)}));
  return {x, log_det};
}

Tensor Maf::inverse(const Tensor& u) const {
  check_input("Maf.inverse", u);
  Tensor x = u;
  for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
    x = made_inverse(x, layer->made.masked(), options_.max_log_scale).x;
    if (options_.actnorm) x = actnorm_inverse(x, layer->log_scale, layer->bias);
  }
  return x;
}

Tensor Maf::inverse_by_reevaluation(const Tensor& u) const {
  check_input("Maf.inverse_by_reevaluation", u);
  Tensor x = u;
  for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
    // After pass t the first t + 1 dimensions in the layer's order are exact (each depends only on
    // earlier ones), so D passes give the whole inverse.
    const Tensor target = x;
    Tensor y = Tensor::zeros(x.shape(), DType::f32, x.device());
    for (int64_t t = 0; t < options_.dim; ++t) {
      const Made::Output o = layer->made.forward(y);
      y = coupling_forward(target, zero_mask_, o.alpha_raw, o.shift, options_.max_log_scale).out;
    }
    x = options_.actnorm ? actnorm_inverse(y, layer->log_scale, layer->bias) : y;
  }
  return x;
}

Tensor Maf::sample(int64_t n, uint64_t seed, uint64_t offset) const {
  NoGrad no_grad;
  return inverse(normal({n, options_.dim}, seed, offset, device_));
}

void Maf::initialize_actnorm(const Tensor& z) {
  check_input("Maf.initialize_actnorm", z);
  check_finite("Maf.initialize_actnorm", "z", z);
  if (!options_.actnorm) return;
  NoGrad no_grad;
  Tensor x = z;
  for (Layer& layer : layers_) {
    standardize_actnorm("Maf.initialize_actnorm", x, layer.log_scale, layer.bias);
    x = actnorm_forward(x, layer.log_scale, layer.bias);
    const Made::Output o = layer.made.forward(x);
    x = coupling_inverse(x, zero_mask_, o.alpha_raw, o.shift, options_.max_log_scale).out;
  }
}

void Maf::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t l = 0; l < layers_.size(); ++l) {
    const std::string p = prefix + "layers." + std::to_string(l) + ".";
    layers_[l].made.collect_parameters(p + "made.", out);
    if (options_.actnorm) {
      out.emplace_back(p + "actnorm.log_scale", layers_[l].log_scale);
      out.emplace_back(p + "actnorm.bias", layers_[l].bias);
    }
  }
}

}  // namespace lvk
