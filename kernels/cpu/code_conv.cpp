// CPU twins of kernels/code_conv.h. The allowed taps of the weight are repacked code-major,
// [K, taps, o], so each gathered or scattered column is a contiguous run over the output channels;
// positions are visited in raster order per image and taps in order, so every sum has a fixed order.
#include "kernels/code_conv.h"

#include <algorithm>
#include <vector>

namespace lvk::kernels::cpu {

namespace {

constexpr index_t kChannelBlock = 16;  // output channels per thread of the weight gradient

// The code under tap t of position (i, j) of one code map, or -1 where the tap falls outside the
// image (zero padding) or the code is outside [0, K).
inline int32_t tap_code(const int32_t* map, const CodeConvShape& s, index_t i, index_t j, index_t t) {
  const index_t c = s.kernel / 2;
  const index_t ii = i + t / s.kernel - c, jj = j + t % s.kernel - c;
  if (ii < 0 || ii >= s.h || jj < 0 || jj >= s.w) return -1;
  const int32_t code = map[ii * s.w + jj];
  return code >= 0 && code < s.codes ? code : -1;
}

// Row (code, t) of the code-major layout [K, taps, o] and element (oc, code, t) of w [o, K, k, k].
inline index_t packed_row(const CodeConvShape& s, index_t code, index_t t) {
  return (code * s.taps + t) * s.o;
}
inline index_t weight_index(const CodeConvShape& s, index_t oc, index_t code, index_t t) {
  return (oc * s.codes + code) * s.kernel * s.kernel + t;  // tap t is r * kernel + s of the raster order
}

}  // namespace

void code_conv_forward(float* y, const int32_t* codes, const float* w, const float* b, const CodeConvShape& s) {
  const index_t hw = s.h * s.w;
  if (s.n * s.o * hw == 0) return;
  std::vector<float> packed(static_cast<size_t>(s.codes * s.taps * s.o));
  for (index_t oc = 0; oc < s.o; ++oc)
    for (index_t code = 0; code < s.codes; ++code)
      for (index_t t = 0; t < s.taps; ++t) packed[packed_row(s, code, t) + oc] = w[weight_index(s, oc, code, t)];
#pragma omp parallel if (s.n * hw * s.taps * s.o > (1 << 18))
  {
    std::vector<float> acc(static_cast<size_t>(hw * s.o));  // one image, positions-major [hw, o]
#pragma omp for schedule(static)
    for (index_t n = 0; n < s.n; ++n) {
      const int32_t* map = codes + n * hw;
      for (index_t i = 0; i < s.h; ++i)
        for (index_t j = 0; j < s.w; ++j) {
          float* out = acc.data() + (i * s.w + j) * s.o;
          for (index_t oc = 0; oc < s.o; ++oc) out[oc] = b ? b[oc] : 0.0f;
          for (index_t t = 0; t < s.taps; ++t) {
            const int32_t code = tap_code(map, s, i, j, t);
            if (code < 0) continue;
            const float* col = packed.data() + packed_row(s, code, t);
            for (index_t oc = 0; oc < s.o; ++oc) out[oc] += col[oc];
          }
        }
      float* image = y + n * s.o * hw;
      for (index_t p = 0; p < hw; ++p)
        for (index_t oc = 0; oc < s.o; ++oc) image[oc * hw + p] = acc[p * s.o + oc];
    }
  }
}

void code_conv_backward_filter(float* dw, const int32_t* codes, const float* dy, const CodeConvShape& s) {
  const index_t hw = s.h * s.w;
  std::fill(dw, dw + s.o * s.codes * s.kernel * s.kernel, 0.0f);
  if (s.n * s.o * hw == 0) return;
  std::vector<float> packed(static_cast<size_t>(s.codes * s.taps * s.o), 0.0f);
  // Threads split the output channels; each element still sums the positions in raster order, so
  // the result does not depend on the number of threads.
  const index_t blocks = (s.o + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (s.n * hw * s.taps * s.o > (1 << 18))
  for (index_t block = 0; block < blocks; ++block) {
    const index_t o0 = block * kChannelBlock, width = std::min(kChannelBlock, s.o - o0);
    std::vector<float> grad(static_cast<size_t>(hw * width));  // dy of one image, positions-major
    for (index_t n = 0; n < s.n; ++n) {
      const float* image = dy + (n * s.o + o0) * hw;
      for (index_t oc = 0; oc < width; ++oc)
        for (index_t p = 0; p < hw; ++p) grad[p * width + oc] = image[oc * hw + p];
      const int32_t* map = codes + n * hw;
      for (index_t i = 0; i < s.h; ++i)
        for (index_t j = 0; j < s.w; ++j) {
          const float* g = grad.data() + (i * s.w + j) * width;
          for (index_t t = 0; t < s.taps; ++t) {
            const int32_t code = tap_code(map, s, i, j, t);
            if (code < 0) continue;
            float* col = packed.data() + packed_row(s, code, t) + o0;
            for (index_t oc = 0; oc < width; ++oc) col[oc] += g[oc];
          }
        }
    }
    for (index_t oc = o0; oc < o0 + width; ++oc)
      for (index_t code = 0; code < s.codes; ++code)
        for (index_t t = 0; t < s.taps; ++t) dw[weight_index(s, oc, code, t)] = packed[packed_row(s, code, t) + oc];
  }
}

}  // namespace lvk::kernels::cpu
