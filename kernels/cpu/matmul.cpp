#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#if LVK_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace lvk::kernels::cpu {

#if !LVK_WITH_OPENBLAS
namespace {
// Fallback when OpenBLAS is absent: C = alpha*op(A)op(B) + beta*C with op(B) packed row-major,
// so the inner loop is a contiguous dot-free axpy over N.
void sgemm_loops(float* c, const float* a, const float* b, GemmShape s, float alpha, float beta) {
  const index_t m = s.m, n = s.n, k = s.k;
  std::vector<float> bp(static_cast<size_t>(k * n));
  for (index_t p = 0; p < k; ++p)
    for (index_t j = 0; j < n; ++j) bp[p * n + j] = s.trans_b ? b[j * k + p] : b[p * n + j];
#pragma omp parallel for schedule(static) if (m * n * k > (1 << 18))
  for (index_t i = 0; i < m; ++i) {
    float* crow = c + i * n;
    for (index_t j = 0; j < n; ++j) crow[j] = beta == 0.0f ? 0.0f : beta * crow[j];
    for (index_t p = 0; p < k; ++p) {
      const float av = alpha * (s.trans_a ? a[p * m + i] : a[i * k + p]);
      const float* brow = bp.data() + p * n;
      for (index_t j = 0; j < n; ++j) crow[j] += av * brow[j];
    }
  }
}
}  // namespace
#endif

void sgemm(float* c, const float* a, const float* b, GemmShape s, float alpha, float beta) {
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {  // BLAS leaves C untouched for k = 0 only when beta = 1; make it explicit
    for (index_t i = 0; i < s.m * s.n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
#if LVK_WITH_OPENBLAS
  // OpenBLAS threads cost more than they save on small products (and spin badly when the cores
  // are shared): run those on the calling thread.
  static const int default_threads = openblas_get_num_threads();
  const bool small = static_cast<double>(s.m) * s.n * s.k < double(1 << 21);
  openblas_set_num_threads(small ? 1 : default_threads);
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(s.m), static_cast<blasint>(s.n), static_cast<blasint>(s.k), alpha, a,
              static_cast<blasint>(s.trans_a ? s.m : s.k), b, static_cast<blasint>(s.trans_b ? s.k : s.n), beta, c,
              static_cast<blasint>(s.n));
#else
  sgemm_loops(c, a, b, s, alpha, beta);
#endif
}

}  // namespace lvk::kernels::cpu
