#include "ref_gemm.h"

#include <algorithm>
#include <vector>

#include "vendor_support.h"

namespace lvk_emu {

namespace {

// op(X) as a dense column-major rows x cols copy, so the inner loop below runs over contiguous
// memory whatever the transposes.
std::vector<float> pack(const float* x, int64_t ld, bool trans, int64_t rows, int64_t cols, bool tf32) {
  std::vector<float> p(static_cast<size_t>(rows * cols));
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i) {
      const float v = trans ? x[j + i * ld] : x[i + j * ld];
      p[static_cast<size_t>(i + j * rows)] = tf32 ? round_tf32(v) : v;
    }
  return p;
}

}  // namespace

void reference_gemm(const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0) return;
  const bool product = g.k > 0 && g.alpha != 0.0f;
  std::vector<float> a, b;
  if (product) {
    a = pack(g.a, g.lda, g.trans_a, g.m, g.k, g.tf32);
    b = pack(g.b, g.ldb, g.trans_b, g.k, g.n, g.tf32);
  }
  std::vector<float> acc(static_cast<size_t>(g.m));
  for (int64_t j = 0; j < g.n; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    if (product) {
      for (int64_t l = 0; l < g.k; ++l) {
        const float blj = b[static_cast<size_t>(l + j * g.k)];
        const float* al = a.data() + l * g.m;
        for (int64_t i = 0; i < g.m; ++i) acc[static_cast<size_t>(i)] += al[i] * blj;
      }
    }
    // Without a product term D is exactly beta C, even for a non-finite alpha.
    float* dj = g.d + j * g.ldd;
    const float* cj = g.beta == 0.0f ? nullptr : g.c + j * g.ldc;
    for (int64_t i = 0; i < g.m; ++i) {
      const float ab = product ? g.alpha * acc[static_cast<size_t>(i)] : 0.0f;
      dj[i] = g.beta == 0.0f ? ab : ab + g.beta * cj[i];
    }
  }
}

}  // namespace lvk_emu
