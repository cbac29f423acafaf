#pragma once
// The implementations behind cpu::conv_forward, conv_backward_data and conv_backward_filter
// (kernels/nn_conv.h), and the one place that picks between them (kernels/cpu/nn_conv.cpp):
// oneDNN's convolution primitives when lvk is built with oneDNN, else im2col + sgemm, which stays
// the portable fallback and the reference the oneDNN path is tested against. LVK_CPU_CONV=im2col
// selects the fallback at run time (for comparison and benchmarks).
#include "kernels/nn_conv.h"

namespace lvk::kernels::cpu {

struct ConvImpl {
  const char* name;
  void (*forward)(float* y, const float* x, const float* w, const ConvShape& s);
  void (*backward_data)(float* dx, const float* dy, const float* w, const ConvShape& s);
  void (*backward_filter)(float* dw, const float* x, const float* dy, const ConvShape& s);
};

extern const ConvImpl kConvIm2col;  // kernels/cpu/nn_conv_im2col.cpp

// oneDNN's primitives (kernels/cpu/nn_conv_dnnl.cpp); nullptr in a build without oneDNN.
const ConvImpl* conv_dnnl();

// The implementation the cpu:: conv primitives use, chosen once per process.
const ConvImpl& conv_impl();

}  // namespace lvk::kernels::cpu
