#include "runtime/ops/actnorm.h"

#include "kernels/actnorm.h"
#include "runtime/op.h"
#include "runtime/ops/nn.h"

namespace lvk {

namespace {

void check_actnorm(const OpScope& op, const Tensor& x, const Tensor& log_scale, const Tensor& bias) {
  check_dtype(op.name(), "x", x, DType::f32);
  check_dtype(op.name(), "log_scale", log_scale, DType::f32);
  check_dtype(op.name(), "bias", bias, DType::f32);
  check_rank(op.name(), "x", x, 2);
  check_same_shape(op.name(), log_scale, bias);
  check_same_device(op.name(), x, log_scale);
  check_same_device(op.name(), x, bias);
  LVK_CHECK(log_scale.rank() == 1 && log_scale.dim(0) == x.dim(1), op.name(), ": log_scale and bias must be [",
            x.dim(1), "] for x ", x.str(), ", got ", log_scale.str());
}

}  // namespace

Tensor actnorm_forward(const Tensor& x, const Tensor& log_scale, const Tensor& bias) {
  OpScope op("actnorm_forward");
  check_actnorm(op, x, log_scale, bias);
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  LVK_DISPATCH(x.device(), actnorm_apply, y.data<float>(), x.data<float>(), log_scale.data<float>(),
               bias.data<float>(), x.dim(0), x.dim(1), false);
  if (Tape::wants({x, log_scale, bias})) {
    Tape::recording()->record(op.name(), {x, log_scale, bias}, {y}, [x, log_scale, bias, y](GradBook& book) {
      const Tensor dy = book.grad(y);
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      Tensor dscaled = Tensor::empty(x.shape(), DType::f32, x.device());
      LVK_DISPATCH(x.device(), actnorm_backward, dx.data<float>(), dscaled.data<float>(), dy.data<float>(),
                   x.data<float>(), log_scale.data<float>(), x.dim(0), x.dim(1));
      book.accumulate(x, dx);
      if (book.wants(log_scale)) book.accumulate(log_scale, column_sum(dscaled));
      if (book.wants(bias)) book.accumulate(bias, column_sum(dy));
    });
  }
  return y;
}

Tensor actnorm_inverse(const Tensor& y, const Tensor& log_scale, const Tensor& bias) {
  OpScope op("actnorm_inverse");
  check_actnorm(op, y, log_scale, bias);
  Tensor x = Tensor::empty(y.shape(), DType::f32, y.device());
  LVK_DISPATCH(y.device(), actnorm_apply, x.data<float>(), y.data<float>(), log_scale.data<float>(),
               bias.data<float>(), y.dim(0), y.dim(1), true);
  return x;
}

}  // namespace lvk
