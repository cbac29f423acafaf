#pragma once
// Vector quantization kernels: the fused nearest-codebook lookup, its epilogue outputs and the
// pieces of the backward and of codebook learning. CPU twins in cpu/vq*.cpp, CUDA twins in
// cuda/vq*.cu, same signatures minus the stream.
//
// Layout of z. Row i (of N) has C elements; element c of row i lives at
//   z[(i / hw) * C * hw + c * hw + i % hw]
// hw = 1 is a row-major [N, C] matrix; hw = H*W reads an NCHW tensor [B, C, H, W] in place with
// N = B*H*W and row i = (b, h, w). Every tensor "in z layout" (z_q, dz) uses the same formula.
// The codebook is always row-major [K, C].
//
// Nearest code: k*(i) = argmin_k ||z_i - e_k||^2 computed as argmin_k (||e_k - mu||^2 -
// 2 (z_i - mu).(e_k - mu)), mu the codebook mean (vq_codebook_mean); ties (equal scores, e.g.
// duplicate codes) go to the lowest k. When every score is NaN or +inf the row gets code 0, on
// both twins.
//
// Why the centre. Distances are translation invariant but the expanded form is not: ||e||^2 and
// 2 z.e carry rounding of a few ulp of ||z|| ||e||, so a common offset o of the data buries the
// distances (||z - e||^2 ~ spread^2) under errors ~ C 2^-24 ||o||^2. Centring costs one
// subtraction per loaded element; mu is rounded to fp32, so z - mu and e - mu are exact
// (Sterbenz) whenever each coordinate lies within a factor 2 of mu's, which a shared offset
// guarantees. What remains is the expanded form's rounding about the centre: the fp32 lookup
// returns the exact argmin whenever every other code k has
//   d_k - d_k* > (C + 2) 2^-23 (||e_k - mu||^2 + ||e_k* - mu||^2 + 2 ||z - mu|| (||e_k - mu|| + ||e_k* - mu||))
// (a dot-product error bound, doubled for the two scores), i.e. it scales with the spread of the
// data about the codebook mean, never with the offset. So no spread-to-offset ratio breaks the
// lookup itself; the limit is the fp32 inputs, which hold a spread s at offset o only to a
// resolution of ulp(o) ~ 2^-23 o (at o = 1e4, s = 1: steps of 2^-10), and the answer is exact for
// the values as stored. Rows far outside the codebook's cloud (||z - mu|| much larger than the
// distances between codes) are the ones that can still meet the bound.
#include <cmath>

#include "kernels/twins.h"

namespace lvk::kernels {

struct VqShape {
  index_t n = 0;   // rows
  index_t k = 0;   // codes
  index_t c = 0;   // channels
  index_t hw = 1;  // rows per image for NCHW input, 1 for row-major [N, C]
};

// Offset of element (row i, channel ch) in z layout.
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline index_t
    vq_offset(index_t i, index_t ch, const VqShape& s) {
  return s.hw == 1 ? i * s.c + ch : (i / s.hw) * s.c * s.hw + ch * s.hw + i % s.hw;
}

// Channel ch of the codebook mean: a double sum over codes in ascending order, rounded to fp32, so
// both twins centre on the same bits.
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline float
    vq_codebook_mean(const float* codebook, index_t k, index_t c, index_t ch) {
  double acc = 0.0;
  for (index_t j = 0; j < k; ++j) acc += static_cast<double>(codebook[j * c + ch]);
  return static_cast<float>(acc / static_cast<double>(k));
}

// ||e - mu||^2 as an fp32 FMA chain over channels in order (the same bits on both twins, and the
// same for duplicate codes, so they tie exactly).
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline float
    vq_centred_norm(const float* e, const float* mu, index_t c) {
  float acc = 0.0f;
  for (index_t ch = 0; ch < c; ++ch) {
    const float d = e[ch] - mu[ch];
    acc = fmaf(d, d, acc);
  }
  return acc;
}

// ||z - e||^2 as an fp32 FMA chain over channels in order; z's channels are `stride` apart. The
// fast mode's re-check: the differences are exact when z and e are close (Sterbenz), so this form
// needs no centre.
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline float
    vq_direct_distance(const float* z, index_t stride, const float* e, index_t c) {
  float acc = 0.0f;
  for (index_t ch = 0; ch < c; ++ch) {
    const float d = z[ch * stride] - e[ch];
    acc = fmaf(d, d, acc);
  }
  return acc;
}

// Fast mode: the code subset a shortlist slot covers (8 slots per row), shared by both twins.
// It mirrors the CUDA tensor-core kernel's ownership of codes: within each 128-code tile, warp
// column (k % 128) / 64 and quad lane (k % 8) / 2.
constexpr int kVqFastSlots = 8;
#if defined(__CUDACC__)
__host__ __device__
#endif
    inline int
    vq_fast_slot(index_t k) {
  return static_cast<int>((k % 128) / 64 * 4 + (k % 8) / 2);
}

#define LVK_VQ_DECLS(...)                                                                                             \
  /* Fused lookup. indices is required; z_q (z layout), distances ([N], ||z_i - e_k*||^2 recomputed                   \
     from the chosen code) and counts ([K], codes chosen per row, overwritten) may be null.                           \
     workspace: vq_workspace_bytes(shape) bytes (unused on the CPU, may be null there). */                            \
  void vq_nearest(int32_t* indices /* [N] */, float* z_q, float* distances /* [N] */, int32_t* counts /* [K] */,      \
                  const float* z, const float* codebook /* [K, C] */, VqShape shape, void* workspace __VA_ARGS__);    \
  /* Fast lookup, same outputs: approximate scores ||e_k - mu||^2 - 2 bf16(z - mu).bf16(e_k - mu)                     \
     (centred as above; BF16 products, fp32 sums) keep the best code of each of the kVqFastSlots                      \
     subsets vq_fast_slot(k) per row; the shortlist is re-scored in the direct form sum (z - e)^2                     \
     (fp32 FMA chain over channels in order) and the best wins, ties to the lowest index. Equals                      \
     the exact argmin k* whenever every other code k satisfies d_k - d_k* > 2^-7 ||z - mu||                           \
     (||e_k - mu|| + ||e_k* - mu||) (the BF16 rounding bound); closer codes are genuine near-ties.                    \
     workspace: vq_fast_workspace_bytes(shape) (unused on the CPU). */                                                \
  void vq_nearest_fast(int32_t* indices /* [N] */, float* z_q, float* distances /* [N] */, int32_t* counts /* [K] */, \
                       const float* z, const float* codebook /* [K, C] */, VqShape shape,                             \
                       void* workspace __VA_ARGS__);                                                                  \
  /* dz = scale * g[0] * (z - e_{k*}) in z layout (written): the commitment-loss gradient. */                         \
  void vq_commitment_grad(float* dz, const float* z, const float* codebook /* [K, C] */,                              \
                          const int32_t* indices /* [N] */, const float* g /* [1] */, float scale,                    \
                          VqShape shape __VA_ARGS__);                                                                 \
  /* dcodebook[k] += scale * g[0] * (count_k e_k - sum_{i: k*(i)=k} z_i): the codebook-loss                           \
     gradient. Rows are summed per code in ascending row order, so results repeat bit for bit.                        \
     workspace: vq_grad_workspace_bytes(shape) bytes. */                                                              \
  void vq_codebook_grad(float* dcodebook /* [K, C] */, const float* z, const float* codebook,                         \
                        const int32_t* indices /* [N] */, const float* g /* [1] */, float scale, VqShape shape,       \
                        void* workspace __VA_ARGS__);                                                                 \
  /* sums[k] = sum of the rows assigned to k (ascending row order), counts[k] their number.                           \
     The statistic behind EMA updates and k-means steps. workspace as for vq_codebook_grad. */                        \
  void vq_cluster_sums(float* sums /* [K, C] */, int32_t* counts /* [K] */, const float* z,                           \
                       const int32_t* indices /* [N] */, VqShape shape, void* workspace __VA_ARGS__);

namespace cpu {
LVK_VQ_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_VQ_DECLS(, cudaStream_t stream)
// Workspace bytes the CUDA twins need (the CPU twins need none).
size_t vq_workspace_bytes(const VqShape& shape);
size_t vq_fast_workspace_bytes(const VqShape& shape);
size_t vq_grad_workspace_bytes(const VqShape& shape);
}  // namespace cuda
#endif
#undef LVK_VQ_DECLS

}  // namespace lvk::kernels
