#include "runtime/ops/actnorm.h"

#include "kernels/actnorm.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
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

namespace {

Tensor actnorm(const char* name, const Tensor& in, const Tensor& log_scale, const Tensor& bias, bool inverse) {
  OpScope op(name);
  check_actnorm(op, in, log_scale, bias);
  Tensor out = Tensor::empty(in.shape(), DType::f32, in.device());
  LVK_DISPATCH(in.device(), actnorm_apply, out.data<float>(), in.data<float>(), log_scale.data<float>(),
               bias.data<float>(), in.dim(0), in.dim(1), inverse);
  if (Tape::wants({in, log_scale, bias})) {
    Tape::recording()->record(
        op.name(), {in, log_scale, bias}, {out}, [in, log_scale, bias, out, inverse](GradBook& book) {
          const Tensor dout = book.grad(out);
          Tensor din = Tensor::empty(in.shape(), DType::f32, in.device());
          Tensor dscaled = Tensor::empty(in.shape(), DType::f32, in.device());
          LVK_DISPATCH(in.device(), actnorm_backward, din.data<float>(), dscaled.data<float>(), dout.data<float>(),
                       (inverse ? out : in).data<float>(), log_scale.data<float>(), in.dim(0), in.dim(1), inverse);
          const float sign = inverse ? -1.0f : 1.0f;
          if (book.wants(log_scale)) book.accumulate(log_scale, scale(column_sum(dscaled), sign));
          if (book.wants(bias)) book.accumulate(bias, scale(column_sum(inverse ? din : dout), sign));
          book.accumulate(in, din);
        });
  }
  return out;
}

}  // namespace

Tensor actnorm_forward(const Tensor& x, const Tensor& log_scale, const Tensor& bias) {
  return actnorm("actnorm_forward", x, log_scale, bias, false);
}

Tensor actnorm_inverse(const Tensor& y, const Tensor& log_scale, const Tensor& bias) {
  return actnorm("actnorm_inverse", y, log_scale, bias, true);
}

}  // namespace lvk
