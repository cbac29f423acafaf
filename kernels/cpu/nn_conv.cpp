// CPU twins of kernels/nn_conv.h: im2col + sgemm per image. col2im gathers each input pixel's
// contributions in a fixed loop order, so results repeat bit for bit.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/nn_conv.h"

namespace lvk::kernels::cpu {

namespace {

// col[(ci, ky, kx), (oy, ox)] = x[ci, oy*sh - ph + ky, ox*sw - pw + kx] (0 outside the image).
// The output columns ox whose input column ox * stride - pad + k lies in [0, w): [lo, hi).
struct ValidRange {
  index_t lo, hi;
};
ValidRange valid_outputs(index_t k, index_t stride, index_t pad, index_t w, index_t ow) {
  // ox * stride >= pad - k  and  ox * stride <= w - 1 + pad - k
  const index_t first = pad - k, last = w - 1 + pad - k;
  index_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  index_t hi = last < 0 ? 0 : last / stride + 1;
  lo = std::min(lo, ow);
  hi = std::min(std::max(hi, lo), ow);
  return {lo, hi};
}

// Row r = (ci, ky, kx) of col holds x[ci, oy*sh - ph + ky, ox*sw - pw + kx] (0 outside x). The
// valid column range is found once per row, so the copy loops carry no bounds tests.
void im2col(float* col, const float* x, const ConvShape& s) {
  const index_t ohw = s.oh * s.ow;
#pragma omp parallel for schedule(static) if (s.c * s.kh * s.kw * ohw > (1 << 16))
  for (index_t r = 0; r < s.c * s.kh * s.kw; ++r) {
    const index_t ci = r / (s.kh * s.kw), ky = (r / s.kw) % s.kh, kx = r % s.kw;
    float* out = col + r * ohw;
    const float* plane = x + ci * s.h * s.w;
    const ValidRange cols = valid_outputs(kx, s.sw, s.pw, s.w, s.ow);
    for (index_t oy = 0; oy < s.oh; ++oy) {
      float* o = out + oy * s.ow;
      const index_t iy = oy * s.sh - s.ph + ky;
      if (iy < 0 || iy >= s.h) {
        for (index_t ox = 0; ox < s.ow; ++ox) o[ox] = 0.0f;
        continue;
      }
      const float* in = plane + iy * s.w - s.pw + kx;
      for (index_t ox = 0; ox < cols.lo; ++ox) o[ox] = 0.0f;
      if (s.sw == 1) {
        for (index_t ox = cols.lo; ox < cols.hi; ++ox) o[ox] = in[ox];
      } else {
        for (index_t ox = cols.lo; ox < cols.hi; ++ox) o[ox] = in[ox * s.sw];
      }
      for (index_t ox = cols.hi; ox < s.ow; ++ox) o[ox] = 0.0f;
    }
  }
}

// x[ci, iy, ix] = sum of col entries that im2col read from (ci, iy, ix): the adjoint of im2col.
void col2im(float* x, const float* col, const ConvShape& s) {
  const index_t ohw = s.oh * s.ow;
#pragma omp parallel for schedule(static) if (s.c * s.h * s.w > (1 << 14))
  for (index_t ci = 0; ci < s.c; ++ci) {
    float* plane = x + ci * s.h * s.w;
    std::memset(plane, 0, sizeof(float) * s.h * s.w);
    for (index_t ky = 0; ky < s.kh; ++ky)
      for (index_t kx = 0; kx < s.kw; ++kx) {
        const float* in = col + ((ci * s.kh + ky) * s.kw + kx) * ohw;
        const ValidRange cols = valid_outputs(kx, s.sw, s.pw, s.w, s.ow);
        for (index_t oy = 0; oy < s.oh; ++oy) {
          const index_t iy = oy * s.sh - s.ph + ky;
          if (iy < 0 || iy >= s.h) continue;
          float* row = plane + iy * s.w - s.pw + kx;
          const float* src = in + oy * s.ow;
          if (s.sw == 1) {
            for (index_t ox = cols.lo; ox < cols.hi; ++ox) row[ox] += src[ox];
          } else {
            for (index_t ox = cols.lo; ox < cols.hi; ++ox) row[ox * s.sw] += src[ox];
          }
        }
      }
  }
}

}  // namespace

namespace {
// A 1x1, stride-1, unpadded convolution: its im2col matrix is the image itself.
bool pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0;
}
}  // namespace

void conv_forward(float* y, const float* x, const float* w, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow;
  std::vector<float> col(pointwise(s) ? 0 : static_cast<size_t>(ckk * ohw));
  for (index_t i = 0; i < s.n; ++i) {
    const float* image = x + i * s.c * s.h * s.w;
    if (!pointwise(s)) im2col(col.data(), image, s);
    sgemm(y + i * s.o * ohw, w, pointwise(s) ? image : col.data(), GemmShape{s.o, ohw, ckk, false, false}, 1.0f,
          0.0f);
  }
}

void conv_backward_data(float* dx, const float* dy, const float* w, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow;
  std::vector<float> col(pointwise(s) ? 0 : static_cast<size_t>(ckk * ohw));
  for (index_t i = 0; i < s.n; ++i) {
    float* image = dx + i * s.c * s.h * s.w;
    sgemm(pointwise(s) ? image : col.data(), w, dy + i * s.o * ohw, GemmShape{ckk, ohw, s.o, true, false}, 1.0f,
          0.0f);
    if (!pointwise(s)) col2im(image, col.data(), s);
  }
}

void conv_backward_filter(float* dw, const float* x, const float* dy, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow;
  std::memset(dw, 0, sizeof(float) * static_cast<size_t>(s.o * ckk));
  std::vector<float> col(pointwise(s) ? 0 : static_cast<size_t>(ckk * ohw));
  for (index_t i = 0; i < s.n; ++i) {
    const float* image = x + i * s.c * s.h * s.w;
    if (!pointwise(s)) im2col(col.data(), image, s);
    sgemm(dw, dy + i * s.o * ohw, pointwise(s) ? image : col.data(), GemmShape{s.o, ckk, ohw, false, true}, 1.0f,
          1.0f);
  }
}

void channel_bias_add(float* y, const float* b, index_t n, index_t ch, index_t hw) {
#pragma omp parallel for schedule(static) if (n * ch * hw > (1 << 16))
  for (index_t r = 0; r < n * ch; ++r) {
    const float v = b[r % ch];
    for (index_t k = 0; k < hw; ++k) y[r * hw + k] += v;
  }
}

void channel_sum(float* out, const float* x, index_t n, index_t ch, index_t hw) {
#pragma omp parallel for schedule(static) if (n * ch * hw > (1 << 16))
  for (index_t c = 0; c < ch; ++c) {
    double acc = 0.0;
    for (index_t i = 0; i < n; ++i)
      for (index_t k = 0; k < hw; ++k) acc += x[(i * ch + c) * hw + k];
    out[c] = static_cast<float>(acc);
  }
}

}  // namespace lvk::kernels::cpu
