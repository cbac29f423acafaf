#pragma once
// The sampling direction of one MAF layer (Papamakarios et al. 2017) whose conditioner is a MADE
// (Germain et al. 2015), fused into one pass per sample. With the MADE's outputs shift mu_i and
// bounded log-scale alpha_i = scale * tanh(alpha_raw_i), both functions of x_<i (in the layer's
// order), the inverse of the density map u = (x - mu) exp(-alpha) is
//   x_i = u_i exp(alpha_i) + mu_i,   i taken in order[0], order[1], ...,   logdet[n] = sum_i alpha_i.
// Each step needs the MADE at the x produced so far. The first layer's pre-activations are kept
// and updated incrementally (a += W_in[:, i] x_i when x_i becomes known, O(H) work), so a MADE with
// one hidden layer costs O(D H) per sample instead of the O(D^2 H) of re-running it D times;
// deeper layers (H x H each) are re-evaluated at every step. The density direction needs no kernel
// of its own: it is the masked matmuls (`linear`) followed by the coupling kernel with an all-zero
// mask (kernels/coupling.h), one fused pass.
#include "kernels/twins.h"

namespace lvk::kernels {

// The MADE's weights with the autoregressive masks already applied (masked entries are zero).
// Hidden activations are ReLU; `hidden_layers` >= 1 counts the H-wide layers.
struct MadeWeights {
  const int32_t* order;      // [D]: the dimension produced at step t (a permutation of 0..D-1)
  const float* w_in;         // [H, D]
  const float* b_in;         // [H]
  const float* w_hidden;     // [hidden_layers - 1, H, H] (null when hidden_layers == 1)
  const float* b_hidden;     // [hidden_layers - 1, H]
  const float* w_shift;      // [D, H]
  const float* b_shift;      // [D]
  const float* w_log_scale;  // [D, H]: alpha_raw
  const float* b_log_scale;  // [D]
  index_t d, h;
  int hidden_layers;
};

// The largest H the fused inverse supports (each CUDA lane keeps H / 32 pre-activations in
// registers); ops check it for both twins.
constexpr index_t kMadeMaxHidden = 512;

#define LVK_MADE_DECLS(...)                                                                              \
  /* x = g(u) for one MAF layer; logdet (of g) may be null. Not differentiable (sampling only). */       \
  void made_inverse(float* x /* [N, D] */, float* logdet /* [N] or null */, const float* u /* [N, D] */, \
                    const MadeWeights& made, float scale, index_t n __VA_ARGS__);

namespace cpu {
LVK_MADE_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_MADE_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_MADE_DECLS

}  // namespace lvk::kernels
