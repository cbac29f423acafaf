// The portable CPU convolution (kernels/cpu/nn_conv_impls.h): im2col + sgemm over a group of
// images at once (one GEMM with many columns runs far better than one per small image), the groups
// fixed by the shape alone. col2im gathers each input pixel's contributions in a fixed loop order,
// so results repeat bit for bit.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu/nn_conv_impls.h"
#include "kernels/matmul.h"

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
// `ld` is the distance between rows of col (>= oh * ow: images of a group side by side).
void im2col(float* col, const float* x, const ConvShape& s, index_t ld) {
#pragma omp parallel for schedule(static) if (s.c * s.kh * s.kw * s.oh * s.ow > (1 << 16))
  for (index_t r = 0; r < s.c * s.kh * s.kw; ++r) {
    const index_t ci = r / (s.kh * s.kw), ky = (r / s.kw) % s.kh, kx = r % s.kw;
    float* out = col + r * ld;
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
void col2im(float* x, const float* col, const ConvShape& s, index_t ld) {
#pragma omp parallel for schedule(static) if (s.c * s.h * s.w > (1 << 14))
  for (index_t ci = 0; ci < s.c; ++ci) {
    float* plane = x + ci * s.h * s.w;
    std::memset(plane, 0, sizeof(float) * s.h * s.w);
    for (index_t ky = 0; ky < s.kh; ++ky)
      for (index_t kx = 0; kx < s.kw; ++kx) {
        const float* in = col + ((ci * s.kh + ky) * s.kw + kx) * ld;
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

// Images per GEMM: at most ~4 MiB of im2col columns, so that the GEMM sees many columns.
index_t images_per_gemm(const ConvShape& s) {
  const index_t per_image = std::max<index_t>(1, s.c * s.kh * s.kw * s.oh * s.ow);
  return std::clamp<index_t>((index_t{1} << 20) / per_image, 1, std::max<index_t>(s.n, 1));
}

// Uninitialised floats (every element is written before it is read; zeroing them cost 8% of a
// VQ-VAE step).
struct Scratch {
  explicit Scratch(index_t n) : data_(new float[static_cast<size_t>(n)]) {}
  float* data() const { return data_.get(); }
  std::unique_ptr<float[]> data_;
};

// Between a batch's [g, rows, cols] layout and a group's [rows, g * cols] (images side by side).
void to_side_by_side(float* dst, const float* src, index_t g, index_t rows, index_t cols) {
  for (index_t j = 0; j < g; ++j)
    for (index_t r = 0; r < rows; ++r)
      std::memcpy(dst + (r * g + j) * cols, src + (j * rows + r) * cols, sizeof(float) * cols);
}
void from_side_by_side(float* dst, const float* src, index_t g, index_t rows, index_t cols) {
  for (index_t j = 0; j < g; ++j)
    for (index_t r = 0; r < rows; ++r)
      std::memcpy(dst + (j * rows + r) * cols, src + (r * g + j) * cols, sizeof(float) * cols);
}

void im2col_forward(float* y, const float* x, const float* w, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow, group = images_per_gemm(s);
  const Scratch col(ckk * ohw * group), out(s.o * ohw * group);
  for (index_t i = 0; i < s.n; i += group) {
    const index_t g = std::min(group, s.n - i);
    for (index_t j = 0; j < g; ++j) im2col(col.data() + j * ohw, x + (i + j) * s.c * s.h * s.w, s, g * ohw);
    sgemm(out.data(), w, col.data(), GemmShape{s.o, g * ohw, ckk, false, false}, 1.0f, 0.0f);
    from_side_by_side(y + i * s.o * ohw, out.data(), g, s.o, ohw);
  }
}

void im2col_backward_data(float* dx, const float* dy, const float* w, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow, group = images_per_gemm(s);
  const Scratch col(ckk * ohw * group), grad(s.o * ohw * group);
  for (index_t i = 0; i < s.n; i += group) {
    const index_t g = std::min(group, s.n - i);
    to_side_by_side(grad.data(), dy + i * s.o * ohw, g, s.o, ohw);
    sgemm(col.data(), w, grad.data(), GemmShape{ckk, g * ohw, s.o, true, false}, 1.0f, 0.0f);
    for (index_t j = 0; j < g; ++j) col2im(dx + (i + j) * s.c * s.h * s.w, col.data() + j * ohw, s, g * ohw);
  }
}

void im2col_backward_filter(float* dw, const float* x, const float* dy, const ConvShape& s) {
  const index_t ckk = s.c * s.kh * s.kw, ohw = s.oh * s.ow, group = images_per_gemm(s);
  std::memset(dw, 0, sizeof(float) * static_cast<size_t>(s.o * ckk));
  const Scratch col(ckk * ohw * group), grad(s.o * ohw * group);
  for (index_t i = 0; i < s.n; i += group) {
    const index_t g = std::min(group, s.n - i);
    for (index_t j = 0; j < g; ++j) im2col(col.data() + j * ohw, x + (i + j) * s.c * s.h * s.w, s, g * ohw);
    to_side_by_side(grad.data(), dy + i * s.o * ohw, g, s.o, ohw);
    sgemm(dw, grad.data(), col.data(), GemmShape{s.o, ckk, g * ohw, false, true}, 1.0f, 1.0f);
  }
}

}  // namespace

const ConvImpl kConvIm2col{"im2col + sgemm", im2col_forward, im2col_backward_data, im2col_backward_filter};

}  // namespace lvk::kernels::cpu
