// to_channels_last / to_channels_first: one batched transpose each way (kernels/layout.h).
#include "runtime/ops/layout.h"

#include "kernels/layout.h"
#include "runtime/op.h"

namespace lvk {

namespace {

// out[b, j, i] = in[b, i, j] with in viewed as [batch, rows, cols]; the gradient takes the inverse
// move (rows and cols swapped), written through `inverse` so each direction records itself.
Tensor swap_axes_op(const char* name, const Tensor& x, const Shape& out_shape, int64_t batch, int64_t rows,
                    int64_t cols, Tensor (*inverse)(const Tensor&)) {
  OpScope op(name);
  Tensor out = Tensor::empty(out_shape, DType::f32, x.device());
  LVK_DISPATCH(x.device(), swap_last_axes, out.data<float>(), x.data<float>(), batch, rows, cols);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {out}, [x, out, inverse](GradBook& book) {
      const Tensor g = book.grad(out);
      if (g.defined()) book.accumulate(x, inverse(g));
    });
  }
  return out;
}

void check_feature_map(const char* op, const char* layout, const Tensor& x) {
  check_defined(op, "x", x);
  check_dtype(op, "x", x, DType::f32);
  LVK_CHECK(x.rank() == 4, op, ": x must be a ", layout, " feature map of rank 4, got ", x.str());
}

}  // namespace

Tensor to_channels_last(const Tensor& x) {
  check_feature_map("to_channels_last", "[B, C, H, W]", x);
  const int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  return swap_axes_op("to_channels_last", x, Shape({b, h, w, c}), b, c, h * w, &to_channels_first);
}

Tensor to_channels_first(const Tensor& x) {
  check_feature_map("to_channels_first", "[B, H, W, C]", x);
  const int64_t b = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  return swap_axes_op("to_channels_first", x, Shape({b, c, h, w}), b, h * w, c, &to_channels_last);
}

}  // namespace lvk
