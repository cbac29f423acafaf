// Matrix product with transposes. Backward of C = op(A) op(B):
//   dA = dC op(B)^T (stored transposed when trans_a), dB = op(A)^T dC (likewise for trans_b).
#include "kernels/matmul.h"

#include "runtime/op.h"
#include "runtime/ops/matmul.h"

namespace lvk {

namespace {

// C = op(A) op(B) into a fresh [M, N] tensor on A's device.
void gemm_into(Tensor& c, const Tensor& a, const Tensor& b, kernels::GemmShape s) {
  if (c.device().is_cuda()) {
#if LVK_WITH_CUDA
    kernels::cuda::sgemm(c.data<float>(), a.data<float>(), b.data<float>(), s, 1.0f, 0.0f, cuda::cublas(),
                         cuda::stream());
#else
    detail::no_cuda_backend("sgemm");
#endif
  } else {
    kernels::cpu::sgemm(c.data<float>(), a.data<float>(), b.data<float>(), s, 1.0f, 0.0f);
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  OpScope op("matmul");
  check_dtype(op.name(), "a", a, DType::f32);
  check_dtype(op.name(), "b", b, DType::f32);
  check_rank(op.name(), "a", a, 2);
  check_rank(op.name(), "b", b, 2);
  check_same_device(op.name(), a, b);
  const int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = trans_b ? b.dim(1) : b.dim(0), n = trans_b ? b.dim(0) : b.dim(1);
  LVK_CHECK(k == kb, "matmul: inner dimensions differ, a", trans_a ? "^T" : "", " is ", a.shape().str(), " and b",
            trans_b ? "^T" : "", " is ", b.shape().str(), " (", k, " vs ", kb, ")");
  Tensor out = Tensor::empty({m, n}, DType::f32, a.device());
  gemm_into(out, a, b, {m, n, k, trans_a, trans_b});
  if (Tape::wants({a, b})) {
    Tape::recording()->record(op.name(), {a, b}, {out}, [a, b, out, trans_a, trans_b](GradBook& book) {
      const Tensor g = book.grad(out);
      // Each gradient is itself a matmul; choosing the operand order keeps the stored layout.
      if (book.wants(a)) book.accumulate(a, trans_a ? matmul(b, g, trans_b, true) : matmul(g, b, false, !trans_b));
      if (book.wants(b)) book.accumulate(b, trans_b ? matmul(g, a, true, trans_a) : matmul(a, g, !trans_a, false));
    });
  }
  return out;
}

}  // namespace lvk
