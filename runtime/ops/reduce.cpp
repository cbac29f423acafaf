// Full reductions. The backward broadcasts the incoming scalar gradient on the device, so no
// host synchronisation happens inside backward.
#include "kernels/reduce.h"

#include "kernels/elementwise.h"
#include "runtime/op.h"
#include "runtime/ops/reduce.h"

namespace lvk {

namespace {

// Scratch for the two-pass CUDA reductions; none on the CPU.
Tensor reduce_workspace(const Tensor& x) {
  if (!x.device().is_cuda()) return Tensor();
  return Tensor::empty({kernels::sum_workspace_size(x.numel())}, DType::f32, x.device());
}

Tensor reduce_sum(const OpScope& op, const Tensor& x, float factor) {
  check_dtype(op.name(), "x", x, DType::f32);
  Tensor out = Tensor::empty(Shape{}, DType::f32, x.device());
  Tensor workspace = reduce_workspace(x);
  LVK_DISPATCH(x.device(), sum, out.data<float>(), x.data<float>(), x.numel(), data_or_null(workspace));
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

Tensor expand_scalar(const Tensor& scalar, const Shape& shape) {
  OpScope op("expand_scalar");
  check_dtype(op.name(), "scalar", scalar, DType::f32);
  LVK_CHECK(scalar.numel() == 1, op.name(), ": needs a one-element tensor, got ", scalar.str());
  Tensor out = Tensor::empty(shape, DType::f32, scalar.device());
  LVK_DISPATCH(scalar.device(), fill_from_scalar, out.data<float>(), scalar.data<float>(), 1.0f, out.numel());
  if (Tape::wants({scalar})) {
    Tape::recording()->record(op.name(), {scalar}, {out}, [scalar, out](GradBook& book) {
      book.accumulate(scalar, sum(book.grad(out)).view(scalar.shape()));
    });
  }
  return out;
}

int64_t count_nonfinite(const Tensor& x) {
  OpScope op("count_nonfinite");
  check_dtype(op.name(), "x", x, DType::f32);
  Tensor out = Tensor::empty(Shape{}, DType::f32, x.device());
  Tensor workspace = reduce_workspace(x);
  LVK_DISPATCH(x.device(), count_nonfinite, out.data<float>(), x.data<float>(), x.numel(), data_or_null(workspace));
  return static_cast<int64_t>(out.item());
}

void check_finite(const char* op, const char* what, const Tensor& x) {
  const int64_t bad = count_nonfinite(x);
  LVK_CHECK(bad == 0, op, ": ", what, " has ", bad, " non-finite value", bad == 1 ? "" : "s", " (NaN or Inf) in ",
            x.str());
}

}  // namespace lvk
