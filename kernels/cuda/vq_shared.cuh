#pragma once
// Pieces the fp32 lookup (vq.cu) shares with the fast lookup (vq_fast.cu).
#include "kernels/vq.h"

namespace lvk::kernels::cuda {

// Workspace bytes of vq_centre's outputs: norms [K] then mu [C], each 256-byte aligned.
size_t vq_centre_workspace_bytes(const VqShape& s);
// mu = the codebook mean (vq_codebook_mean), norms[k] = ||e_k - mu||^2 (vq_centred_norm).
void vq_centre(float* mu /* [C] */, float* norms /* [K] */, const float* codebook /* [K, C] */, const VqShape& s,
               cudaStream_t stream);
// z_q, distances and counts from final indices.
void vq_gather_outputs(int32_t* indices /* [N] */, float* z_q, float* distances /* [N] */, int32_t* counts /* [K] */,
                       const float* z, const float* codebook /* [K, C] */, VqShape s, cudaStream_t stream);

}  // namespace lvk::kernels::cuda
