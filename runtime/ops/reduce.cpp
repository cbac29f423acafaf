// Full reductions. The backward broadcasts the incoming scalar gradient on the device, so no
// host synchronisation happens inside backward.
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"

namespace lvk {

namespace {

Tensor reduce_sum(const OpScope& op, const Tensor& x, float factor) {
  check_dtype(op.name(), "x", x, DType::f32);
  Tensor out = Tensor::empty(Shape{}, DType::f32, x.device());
  Tensor workspace;
  if (x.device().is_cuda()) workspace = Tensor::empty({kernels::sum_workspace_size(x.numel())}, DType::f32, x.device());
  float* ws = workspace.defined() ? workspace.data<float>() : nullptr;
  LVK_DISPATCH(x.device(), sum, out.data<float>(), x.data<float>(), x.numel(), ws);
  if (factor != 1.0f) LVK_DISPATCH(x.device(), scale, out.data<float>(), out.data<float>(), factor, 1);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {out}, [x, out, factor](GradBook& book) {
      const Tensor g = book.grad(out);
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      LVK_DISPATCH(x.device(), fill_from_scalar, dx.data<float>(), g.data<float>(), factor, dx.numel());
      book.accumulate(x, dx);
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) {
  OpScope op("sum");
  return reduce_sum(op, x, 1.0f);
}

Tensor mean(const Tensor& x) {
  OpScope op("mean");
  check_defined(op.name(), "x", x);
  LVK_CHECK(x.numel() > 0, "mean: the mean of an empty tensor ", x.str(), " is undefined");
  return reduce_sum(op, x, static_cast<float>(1.0 / static_cast<double>(x.numel())));
}

}  // namespace lvk
