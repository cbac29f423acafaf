#include "models/made.h"

#include <algorithm>

#include "base/philox.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace lvk {

std::vector<std::vector<float>> made_masks(int64_t d, int64_t h, int hidden_layers, const std::vector<int32_t>& order,
                                           std::optional<uint64_t> degree_seed) {
  LVK_CHECK(static_cast<int64_t>(order.size()) == d, "made_masks: order has ", order.size(), " entries for D=", d);
  std::vector<int64_t> in_degree(static_cast<size_t>(d), 0);
  for (int64_t t = 0; t < d; ++t) {
    const int32_t j = order[static_cast<size_t>(t)];
    LVK_CHECK(j >= 0 && j < d && in_degree[static_cast<size_t>(j)] == 0,
              "made_masks: order is not a permutation of 0..", d - 1, " (entry ", j, ")");
    in_degree[static_cast<size_t>(j)] = t + 1;
  }
  // Degrees of hidden layer l (Philox stream (seed, l) when random).
  auto degrees = [&](int l, int64_t lowest) {
    std::vector<int64_t> deg(static_cast<size_t>(h));
    for (int64_t k = 0; k < h; ++k) {
      if (d == 1)
        deg[k] = 0;
      else if (!degree_seed)
        deg[k] = k % (d - 1) + 1;
      else {
        const float u = philox_uniform(*degree_seed, static_cast<uint64_t>(l), static_cast<uint64_t>(k));
        deg[k] = std::min<int64_t>(lowest + static_cast<int64_t>(u * static_cast<float>(d - lowest)), d - 1);
      }
    }
    return deg;
  };
  auto mask = [](const std::vector<int64_t>& out_deg, const std::vector<int64_t>& in_deg, bool strict) {
    std::vector<float> m;
    for (int64_t o : out_deg)
      for (int64_t i : in_deg) m.push_back((strict ? o > i : o >= i) ? 1.0f : 0.0f);
    return m;
  };
  std::vector<int64_t> prev = degrees(0, 1);
  std::vector<std::vector<float>> masks{mask(prev, in_degree, false)};
  for (int l = 1; l < hidden_layers; ++l) {
    std::vector<int64_t> next = degrees(l, *std::min_element(prev.begin(), prev.end()));
    masks.push_back(mask(next, prev, false));
    prev = std::move(next);
  }
  masks.push_back(mask(in_degree, prev, true));
  return masks;
}

namespace {
LinearOptions zero_head() {
  LinearOptions head{true, Activation::none};
  head.init = Init::zeros;
  return head;
}
// H, once the sizes are known to be valid (the heads are built before the constructor's body runs).
int64_t checked_hidden(int64_t d, int64_t h, int hidden_layers) {
  LVK_CHECK(d >= 1 && h >= 1 && hidden_layers >= 1, "Made: dim=", d, " hidden=", h, " hidden_layers=", hidden_layers,
            ", expected all >= 1");
  return h;
}
}  // namespace

Made::Made(int64_t d, int64_t h, int hidden_layers, const std::vector<int32_t>& order, InitStream& init, Device device,
           std::optional<uint64_t> degree_seed)
    : shift_(checked_hidden(d, h, hidden_layers), d, init, device, zero_head()),
      log_scale_(h, d, init, device, zero_head()) {
  const std::vector<std::vector<float>> masks = made_masks(d, h, hidden_layers, order, degree_seed);
  for (int l = 0; l < hidden_layers; ++l) {
    trunk_.emplace_back(l == 0 ? d : h, h, init, device, LinearOptions{true, Activation::relu});
    trunk_masks_.push_back(Tensor::from_vector(masks[static_cast<size_t>(l)], {h, l == 0 ? d : h}, device));
  }
  head_mask_ = Tensor::from_vector(masks.back(), {d, h}, device);
  order_ = Tensor::from_vector(order, {d}, device);
}

Made::Output Made::forward(const Tensor& x) const {
  Tensor h = x;
  for (size_t l = 0; l < trunk_.size(); ++l)
    h = linear(h, mul(trunk_[l].weight, trunk_masks_[l]), trunk_[l].bias, Activation::relu);
  return {linear(h, mul(shift_.weight, head_mask_), shift_.bias),
          linear(h, mul(log_scale_.weight, head_mask_), log_scale_.bias)};
}

MadeTensors Made::masked() const {
  NoGrad no_grad;
  MadeTensors m;
  m.order = order_;
  m.w_in = mul(trunk_[0].weight, trunk_masks_[0]);
  m.b_in = trunk_[0].bias;
  for (size_t l = 1; l < trunk_.size(); ++l) {
    m.w_hidden.push_back(mul(trunk_[l].weight, trunk_masks_[l]));
    m.b_hidden.push_back(trunk_[l].bias);
  }
  m.w_shift = mul(shift_.weight, head_mask_);
  m.b_shift = shift_.bias;
  m.w_log_scale = mul(log_scale_.weight, head_mask_);
  m.b_log_scale = log_scale_.bias;
  return m;
}

void Made::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t l = 0; l < trunk_.size(); ++l)
    trunk_[l].collect_parameters(prefix + "trunk." + std::to_string(l) + ".", out);
  shift_.collect_parameters(prefix + "shift.", out);
  log_scale_.collect_parameters(prefix + "log_scale.", out);
}

}  // namespace lvk
