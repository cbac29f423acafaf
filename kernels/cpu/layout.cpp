// CPU twins of kernels/layout.h. Blocked so both the reads and the writes stay within a few cache
// lines per tile; the result is a pure permutation, so blocking cannot change a value.
#include "kernels/layout.h"

#include <algorithm>

namespace lvk::kernels::cpu {

void swap_last_axes(float* out, const float* in, index_t batch, index_t rows, index_t cols) {
  constexpr index_t kTile = 32;
  const index_t plane = rows * cols;
#pragma omp parallel for collapse(2) schedule(static) if (batch * plane > (1 << 16))
  for (index_t b = 0; b < batch; ++b) {
    for (index_t i0 = 0; i0 < rows; i0 += kTile) {
      const float* src = in + b * plane;
      float* dst = out + b * plane;
      const index_t i1 = std::min(rows, i0 + kTile);
      for (index_t j0 = 0; j0 < cols; j0 += kTile) {
        const index_t j1 = std::min(cols, j0 + kTile);
        for (index_t i = i0; i < i1; ++i)
          for (index_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
      }
    }
  }
}

}  // namespace lvk::kernels::cpu
