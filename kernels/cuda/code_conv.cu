// CUDA twins of kernels/code_conv.h. The forward is one thread per output element summing its
// taps in order. The weight gradient is one thread per (output channel, tap): it alone writes
// dw[o, :, r, s], visiting the positions in raster order, so no atomics and a fixed order.
#include "kernels/code_conv.h"
#include "kernels/cuda/launch.cuh"

namespace lvk::kernels::cuda {

namespace {

// The code under tap t of position (i, j) of one code map, or -1 where the tap falls outside the
// image (zero padding) or the code is outside [0, K).
__device__ __forceinline__ int32_t tap_code(const int32_t* map, const CodeConvShape& s, int64_t i, int64_t j,
                                            int64_t t) {
  const int64_t c = s.kernel / 2;
  const int64_t ii = i + t / s.kernel - c, jj = j + t % s.kernel - c;
  if (ii < 0 || ii >= s.h || jj < 0 || jj >= s.w) return -1;
  const int32_t code = __ldg(map + ii * s.w + jj);
  return code >= 0 && code < s.codes ? code : -1;
}

__global__ void code_conv_forward_kernel(float* y, const int32_t* codes, const float* w, const float* b,
                                         CodeConvShape s) {
  const int64_t hw = s.h * s.w, total = s.n * s.o * hw, kk = s.kernel * s.kernel;
  LVK_GRID_STRIDE_LOOP(idx, total) {
    const int64_t p = idx % hw, oc = (idx / hw) % s.o, n = idx / (hw * s.o);
    const int32_t* map = codes + n * hw;
    const float* row = w + oc * s.codes * kk;
    float acc = b ? __ldg(b + oc) : 0.0f;
    for (int64_t t = 0; t < s.taps; ++t) {
      const int32_t code = tap_code(map, s, p / s.w, p % s.w, t);
      if (code >= 0) acc += __ldg(row + code * kk + t);
    }
    y[idx] = acc;
  }
}

__global__ void code_conv_backward_filter_kernel(float* dw, const int32_t* codes, const float* dy, CodeConvShape s) {
  const int64_t hw = s.h * s.w, kk = s.kernel * s.kernel;
  LVK_GRID_STRIDE_LOOP(idx, s.o * s.taps) {
    const int64_t t = idx % s.taps, oc = idx / s.taps;
    float* row = dw + oc * s.codes * kk + t;
    for (int64_t n = 0; n < s.n; ++n) {
      const int32_t* map = codes + n * hw;
      const float* g = dy + (n * s.o + oc) * hw;
      for (int64_t p = 0; p < hw; ++p) {
        const int32_t code = tap_code(map, s, p / s.w, p % s.w, t);
        if (code >= 0) row[code * kk] += __ldg(g + p);
      }
    }
  }
}

}  // namespace

void code_conv_forward(float* y, const int32_t* codes, const float* w, const float* b, const CodeConvShape& s,
                       cudaStream_t stream) {
  const int64_t total = s.n * s.o * s.h * s.w;
  if (total == 0) return;
  launch<code_conv_forward_kernel>(grid_for(total), kBlock, 0, stream, y, codes, w, b, s);
  LVK_LAUNCH_CHECK(code_conv_forward_kernel);
}

void code_conv_backward_filter(float* dw, const int32_t* codes, const float* dy, const CodeConvShape& s,
                               cudaStream_t stream) {
  const int64_t numel = s.o * s.codes * s.kernel * s.kernel;
  if (numel == 0) return;
  LVK_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(float) * numel, stream));
  if (s.n * s.h * s.w == 0) return;
  launch<code_conv_backward_filter_kernel>(grid_for(s.o * s.taps), kBlock, 0, stream, dw, codes, dy, s);
  LVK_LAUNCH_CHECK(code_conv_backward_filter_kernel);
}

}  // namespace lvk::kernels::cuda
