#include "runtime/ops/row_loss.h"

#include "kernels/nn.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace lvk {

Tensor row_loss(kernels::LossKind kind, const Tensor& a, const Tensor& b, float param) {
  OpScope op("row_loss");
  check_dtype(op.name(), "input", a, DType::f32);
  check_dtype(op.name(), "target", b, DType::f32);
  check_same_shape(op.name(), a, b);
  check_same_device(op.name(), a, b);
  LVK_CHECK(kind != kernels::LossKind::gaussian_nll, op.name(),
            ": a learned elementwise log-variance is not supported; use gaussian_nll_fixed");
  LVK_CHECK(a.rank() >= 1, op.name(), ": needs a leading row dimension, got ", a.str());
  const int64_t rows = a.dim(0), n = a.numel();
  const Device dev = a.device();
  if (rows == 0) return Tensor::zeros({0}, DType::f32, dev);
  const int64_t cols = n / rows;
  Tensor terms = Tensor::empty({rows, cols}, DType::f32, dev);
  if (n > 0)
    LVK_DISPATCH(dev, loss_terms, terms.data<float>(), a.data<float>(), b.data<float>(), nullptr, n, kind, param);
  if (cols == 0) return Tensor::zeros({rows}, DType::f32, dev);
  // The row sums as a matrix-vector product: deterministic on both twins, no new kernel.
  NoGrad no_grad;
  return matmul(terms, Tensor::full({cols, 1}, 1.0f, dev)).view({rows});
}

}  // namespace lvk
