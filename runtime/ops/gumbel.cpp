// Gumbel-softmax op and the soft codebook mixture.
#include "runtime/ops/gumbel.h"

#include <cmath>

#include "kernels/gumbel.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"

namespace lvk {

namespace {

// Leading dimensions of a [..., K] tensor: the shape of the per-row outputs.
Shape row_shape(const Shape& s) {
  std::vector<int64_t> dims = s.dims();
  dims.pop_back();
  return Shape(dims);
}

void check_tau(const char* op, float tau) {
  LVK_CHECK(std::isfinite(tau) && tau > 0.0f, op, ": temperature tau=", tau, " must be finite and > 0");
}

}  // namespace

GumbelSoftmaxResult gumbel_softmax(const Tensor& logits, const GumbelSoftmaxOptions& options) {
  OpScope op("gumbel_softmax");
  check_defined(op.name(), "logits", logits);
  check_dtype(op.name(), "logits", logits, DType::f32);
  check_tau(op.name(), options.tau);
  LVK_CHECK(logits.rank() >= 1, op.name(), ": logits must have rank >= 1 ([..., K]), got ", logits.str());
  const int64_t k = logits.dim(logits.rank() - 1);
  LVK_CHECK(k >= 1, op.name(), ": K=", k, " categories; expected K >= 1 (logits ", logits.str(), ")");
  LVK_CHECK(k <= INT32_MAX, op.name(), ": K=", k, " does not fit the i32 index");
  const int64_t n = logits.numel() / k;

  const Device dev = logits.device();
  GumbelSoftmaxResult r;
  r.y = Tensor::empty(logits.shape(), DType::f32, dev);
  r.index = Tensor::empty(row_shape(logits.shape()), DType::i32, dev);
  r.kl = Tensor::empty(row_shape(logits.shape()), DType::f32, dev);
  kernels::GumbelDeviceArgs on_device;
  if (options.clock) {
    LVK_CHECK(options.clock->device() == dev, op.name(), ": the step clock is on ", options.clock->device().str(),
              ", the logits on ", dev.str());
    on_device.offset_base = options.clock->noise_base();
    if (options.tau_column >= 0) on_device.tau = options.clock->scalar(options.tau_column).data<float>();
  }
  const bool record = Tape::wants({logits});
  // The hard sample's straight-through backward needs the soft sample: kept only when recording.
  Tensor y_soft = options.hard && record ? Tensor::empty(logits.shape(), DType::f32, dev) : r.y;
  LVK_DISPATCH(dev, gumbel_softmax_forward, r.y.data<float>(), options.hard && record ? y_soft.data<float>() : nullptr,
               r.index.data<int32_t>(), r.kl.data<float>(), logits.data<float>(), n, k, options.tau, options.seed,
               options.offset, options.hard, on_device);

  if (record) {
    const float tau = options.tau;
    const Tensor y = r.y, kl = r.kl;
    Tape::recording()->record(
        op.name(), {logits}, {y, kl}, [logits, y, kl, y_soft, tau, on_device, n, k](GradBook& book) {
          const Tensor dy = book.grad(y), dkl = book.grad(kl);
          if (!dy.defined() && !dkl.defined()) return;
          Tensor dlogits = Tensor::empty(logits.shape(), DType::f32, logits.device());
          LVK_DISPATCH(logits.device(), gumbel_softmax_backward, dlogits.data<float>(), data_or_null(dy),
                       y_soft.data<float>(), data_or_null(dkl), logits.data<float>(), n, k, tau, on_device);
          book.accumulate(logits, dlogits);
        });
  }
  return r;
}

Tensor soft_codebook_mixture(const Tensor& y, const Tensor& codebook) {
  OpScope op("soft_codebook_mixture");
  check_defined(op.name(), "y", y);
  check_defined(op.name(), "codebook", codebook);
  check_rank(op.name(), "y", y, 2);
  check_rank(op.name(), "codebook", codebook, 2);
  LVK_CHECK(y.dim(1) == codebook.dim(0), op.name(), ": y ", y.shape().str(), " has K=", y.dim(1), " but the codebook ",
            codebook.shape().str(), " has ", codebook.dim(0), " entries");
  return matmul(y, codebook);  // records its own backward: dy = dz E^T, dE += y^T dz
}

}  // namespace lvk
