// CPU twin of the linear forward (kernels/nn.h): the GEMM, then bias and activation in one pass.
// The CUDA twin (cuda/nn_linear.cu) fuses them into cuBLASLt's epilogue.
#include "kernels/matmul.h"
#include "kernels/nn.h"

namespace lvk::kernels::cpu {

void linear_forward(float* y, float* z, const float* x, const float* w, const float* bias, index_t n, index_t in,
                    index_t out, Activation act, float slope) {
  sgemm(y, x, w, GemmShape{n, out, in, false, true}, 1.0f, 0.0f);
  if (act != Activation::none || bias || z) bias_act_forward(y, z, y, bias, n, out, act, slope);
}

}  // namespace lvk::kernels::cpu
