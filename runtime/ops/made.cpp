#include "runtime/ops/made.h"

#include <cmath>

#include "kernels/made.h"
#include "runtime/op.h"

namespace lvk {

namespace {

void check_param(const char* op, const char* what, const Tensor& t, const Shape& expected, const Tensor& u) {
  LVK_CHECK(t.defined(), op, ": ", what, " is undefined");
  check_dtype(op, what, t, DType::f32);
  check_same_device(op, u, t);
  LVK_CHECK(t.shape() == expected, op, ": ", what, " is ", t.str(), " but expected ", expected.str());
}

// The order must be a permutation: a repeated dimension would leave another one unwritten.
void check_order(const char* op, const Tensor& order, int64_t d) {
  LVK_CHECK(order.defined() && order.dtype() == DType::i32 && order.shape() == Shape{d}, op, ": order must be i32 [", d,
            "], got ", order.defined() ? order.str() : std::string("undefined"));
  std::vector<bool> seen(static_cast<size_t>(d), false);
  for (int32_t i : order.to_vector<int32_t>()) {
    LVK_CHECK(i >= 0 && i < d && !seen[static_cast<size_t>(i)], op, ": order is not a permutation of 0..", d - 1,
              " (entry ", i, ")");
    seen[static_cast<size_t>(i)] = true;
  }
}

// The hidden layers as one [L - 1, H, H] and one [L - 1, H] buffer, as the kernel reads them.
Tensor stack(const std::vector<Tensor>& parts, const Shape& each, Device device) {
  if (parts.empty()) return {};
  std::vector<int64_t> dims{static_cast<int64_t>(parts.size())};
  for (int a = 0; a < each.rank(); ++a) dims.push_back(each[a]);
  Tensor out = Tensor::empty(Shape(dims), DType::f32, device);
  size_t offset = 0;
  for (const Tensor& p : parts) {
    copy_bytes(static_cast<char*>(out.raw()) + offset, device, p.raw(), p.device(), p.bytes());
    offset += p.bytes();
  }
  return out;
}

}  // namespace

MadeInverseResult made_inverse(const Tensor& u, const MadeTensors& m, float scale) {
  OpScope op("made_inverse");
  const char* name = op.name();
  check_dtype(name, "u", u, DType::f32);
  check_rank(name, "u", u, 2);
  LVK_CHECK(std::isfinite(scale) && scale > 0.0f, name, ": scale must be finite and > 0, got ", scale);
  LVK_CHECK(m.w_in.defined() && m.w_in.rank() == 2, name, ": w_in must be [H, D]");
  const int64_t n = u.dim(0), d = u.dim(1), h = m.w_in.dim(0);
  LVK_CHECK(d >= 1, name, ": u has no dimensions, ", u.str());
  LVK_CHECK(h >= 1 && h <= kernels::kMadeMaxHidden, name, ": H=", h, " but the fused inverse supports 1..",
            kernels::kMadeMaxHidden, " hidden units");
  check_order(name, m.order, d);
  check_same_device(name, u, m.order);
  check_param(name, "w_in", m.w_in, {h, d}, u);
  check_param(name, "b_in", m.b_in, {h}, u);
  LVK_CHECK(m.w_hidden.size() == m.b_hidden.size(), name, ": ", m.w_hidden.size(), " hidden weights but ",
            m.b_hidden.size(), " hidden biases");
  for (size_t l = 0; l < m.w_hidden.size(); ++l) {
    check_param(name, "w_hidden", m.w_hidden[l], {h, h}, u);
    check_param(name, "b_hidden", m.b_hidden[l], {h}, u);
  }
  check_param(name, "w_shift", m.w_shift, {d, h}, u);
  check_param(name, "b_shift", m.b_shift, {d}, u);
  check_param(name, "w_log_scale", m.w_log_scale, {d, h}, u);
  check_param(name, "b_log_scale", m.b_log_scale, {d}, u);
  LVK_CHECK(!Tape::wants({u, m.w_in, m.b_in, m.w_shift, m.b_shift, m.w_log_scale, m.b_log_scale}), name,
            ": the fused inverse has no backward; sample under NoGrad (train in the density direction)");
  const Tensor w_hidden = stack(m.w_hidden, {h, h}, u.device()), b_hidden = stack(m.b_hidden, {h}, u.device());
  const kernels::MadeWeights weights{m.order.data<int32_t>(),
                                     m.w_in.data<float>(),
                                     m.b_in.data<float>(),
                                     data_or_null(w_hidden),
                                     data_or_null(b_hidden),
                                     m.w_shift.data<float>(),
                                     m.b_shift.data<float>(),
                                     m.w_log_scale.data<float>(),
                                     m.b_log_scale.data<float>(),
                                     d,
                                     h,
                                     static_cast<int>(m.w_hidden.size()) + 1};
  MadeInverseResult r{Tensor::empty({n, d}, DType::f32, u.device()), Tensor::empty({n}, DType::f32, u.device())};
  LVK_DISPATCH(u.device(), made_inverse, r.x.data<float>(), r.logdet.data<float>(), u.data<float>(), weights, scale, n);
  return r;
}

}  // namespace lvk
