// CPU twins of kernels/nn_conv.h: the convolutions go to the implementation conv_impl() picks
// (kernels/cpu/nn_conv_impls.h); the per-channel bias and its gradient are plain loops.
#include "kernels/nn_conv.h"

#include <cstdlib>
#include <cstring>

#include "kernels/cpu/nn_conv_impls.h"

namespace lvk::kernels::cpu {

#if LVK_WITH_DNNL
extern const ConvImpl kConvDnnl;  // kernels/cpu/nn_conv_dnnl.cpp
const ConvImpl* conv_dnnl() {
  return &kConvDnnl;
}
#else
const ConvImpl* conv_dnnl() {
  return nullptr;
}
#endif

const ConvImpl& conv_impl() {
  static const ConvImpl& impl = []() -> const ConvImpl& {
    const char* want = std::getenv("LVK_CPU_CONV");
    const bool im2col = want != nullptr && std::strcmp(want, "im2col") == 0;
    return im2col || conv_dnnl() == nullptr ? kConvIm2col : *conv_dnnl();
  }();
  return impl;
}

void conv_forward(float* y, const float* x, const float* w, const ConvShape& s) {
  conv_impl().forward(y, x, w, s);
}

void conv_backward_data(float* dx, const float* dy, const float* w, const ConvShape& s) {
  conv_impl().backward_data(dx, dy, w, s);
}

void conv_backward_filter(float* dw, const float* x, const float* dy, const ConvShape& s) {
  conv_impl().backward_filter(dw, x, dy, s);
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
    // Vector lanes of double partial sums in an order fixed by the compiled code: the scalar
    // chain of dependent double additions cost 5% of a VQ-VAE train step.
    double acc = 0.0;
    for (index_t i = 0; i < n; ++i) {
      const float* plane = x + (i * ch + c) * hw;
#pragma omp simd reduction(+ : acc)
      for (index_t k = 0; k < hw; ++k) acc += plane[k];
    }
    out[c] = static_cast<float>(acc);
  }
}

}  // namespace lvk::kernels::cpu
