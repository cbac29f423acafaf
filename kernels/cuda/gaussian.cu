// CUDA twins of kernels/gaussian.h.
//
// Sampling and log-density: one warp per (sample, row), two (sampling; float2 when D is even) or
// four (log-density; float4 when D % 4 == 0) columns per lane per step, the per-row KL / log q
// reduced by shuffles in a fixed order (deterministic).
// Two normals are the cosine and sine of one Box-Muller pair (layout: stochastic_math.h). Backward kernels are
// elementwise over [N, D] and loop over the S samples in order, so no reduction crosses threads; the sampler's backward
// reads z instead of redrawing the noise (kernels/gaussian.h).
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/gaussian.h"
#include "kernels/stochastic_math.h"

namespace lvk::kernels::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

struct Add {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};

__device__ __forceinline__ void load4(float (&out)[4], const float* p, int64_t col, int64_t d, bool vec4) {
  if (vec4) {
    const float4 t = __ldg(reinterpret_cast<const float4*>(p + col));
    out[0] = t.x, out[1] = t.y, out[2] = t.z, out[3] = t.w;
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) out[j] = col + j < d ? __ldg(p + col + j) : 0.0f;
  }
}

__device__ __forceinline__ void load2(float (&out)[2], const float* p, int64_t col, int64_t d, bool vec2) {
  if (vec2) {
    const float2 t = __ldg(reinterpret_cast<const float2*>(p + col));
    out[0] = t.x, out[1] = t.y;
  } else {
    out[0] = __ldg(p + col);
    out[1] = col + 1 < d ? __ldg(p + col + 1) : 0.0f;
  }
}

// Two columns per lane per step: exactly one Philox call and one Box-Muller pair when the draw index
// is even, which D % 2 == 0 guarantees.
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    sample_kernel(float* __restrict__ z, float* __restrict__ kl, float* __restrict__ log_q,
                  const float* __restrict__ mu, const float* __restrict__ logvar, int64_t s, int64_t n, int64_t d,
                  uint64_t seed, uint64_t offset_in, const uint64_t* offset_base, bool vec2) {
  const uint64_t offset = offset_in + (offset_base ? *offset_base : 0);  // the step clock's noise base
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;  // = sample*n + r
  if (row >= s * n) return;                                                                  // whole warps
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int64_t r = row % n;
  const bool want_kl = kl != nullptr && row < n;
  float lq = 0.0f, k = 0.0f;
  for (int64_t col = 2 * lane; col < d; col += 64) {
    float m[2], lv[2], eps[2], out[2];
    load2(m, mu + r * d, col, d, vec2);
    load2(lv, logvar + r * d, col, d, vec2);
    gaussian_eps_pair(seed, offset, static_cast<uint64_t>(row * d + col), eps[0], eps[1]);
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const float l = clamp_logvar(lv[j]);
      const float var = expf(l);
      out[j] = m[j] + expf(0.5f * l) * eps[j];
      if (col + j < d) {
        lq += -kHalfLog2Pi - 0.5f * l - 0.5f * eps[j] * eps[j];
        if (want_kl) k += 0.5f * (m[j] * m[j] + var - 1.0f - l);
      }
    }
    if (vec2)
      *reinterpret_cast<float2*>(z + row * d + col) = make_float2(out[0], out[1]);
    else {
      z[row * d + col] = out[0];
      if (col + 1 < d) z[row * d + col + 1] = out[1];
    }
  }
  lq = warp_allreduce<32>(lq, Add{});
  k = warp_allreduce<32>(k, Add{});
  if (lane == 0) {
    if (log_q) log_q[row] = lq;
    if (want_kl) kl[row] = k;
  }
}

// One thread per [N, D] element; dz's share of dlogvar from the stored sample, dz (z - mu) / 2.
__global__ void sample_backward_kernel(float* __restrict__ dmu, float* __restrict__ dlogvar,
                                       const float* __restrict__ dz, const float* __restrict__ dkl,
                                       const float* __restrict__ dlog_q, const float* __restrict__ z,
                                       const float* __restrict__ mu, const float* __restrict__ logvar, int64_t s,
                                       int64_t n, int64_t d) {
  const int64_t plane = n * d;
  LVK_GRID_STRIDE_LOOP(e, plane) {
    const int64_t r = e / d;
    const float m = mu[e];
    float gmu = 0.0f, glv = 0.0f;
    for (int64_t t = 0; t < s; ++t) {
      if (dz) {
        const float g = dz[t * plane + e];
        gmu += g;
        glv += g * 0.5f * (z[t * plane + e] - m);
      }
      if (dlog_q) glv -= 0.5f * dlog_q[t * n + r];
    }
    if (dkl) {
      const float g = dkl[r];
      gmu += g * m;
      glv += g * 0.5f * (expf(clamp_logvar(logvar[e])) - 1.0f);
    }
    dmu[e] = gmu;
    dlogvar[e] = glv * logvar_mask(logvar[e]);
  }
}

__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    log_density_kernel(float* __restrict__ out, const float* __restrict__ z, const float* __restrict__ mu,
                       const float* __restrict__ logvar, int64_t s, int64_t n, int64_t d, bool vec4) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= s * n) return;
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int64_t r = row % n;
  float acc = 0.0f;
  for (int64_t col = 4 * lane; col < d; col += 128) {
    float zz[4], m[4], lv[4];
    load4(zz, z + row * d, col, d, vec4);
    load4(m, mu + r * d, col, d, vec4);
    load4(lv, logvar + r * d, col, d, vec4);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (col + j >= d) continue;
      const float l = clamp_logvar(lv[j]);
      const float diff = zz[j] - m[j];
      acc += -kHalfLog2Pi - 0.5f * l - 0.5f * diff * diff * expf(-l);
    }
  }
  acc = warp_allreduce<32>(acc, Add{});
  if (lane == 0) out[row] = acc;
}

__global__ void log_density_backward_kernel(float* __restrict__ dz, float* __restrict__ dmu,
                                            float* __restrict__ dlogvar, const float* __restrict__ dout,
                                            const float* __restrict__ z, const float* __restrict__ mu,
                                            const float* __restrict__ logvar, int64_t s, int64_t n, int64_t d) {
  const int64_t plane = n * d;
  LVK_GRID_STRIDE_LOOP(e, plane) {
    const int64_t r = e / d;
    const float lv = logvar[e];
    const float inv_var = expf(-clamp_logvar(lv));
    const float m = mu[e];
    float gmu = 0.0f, glv = 0.0f;
    for (int64_t t = 0; t < s; ++t) {
      const float g = dout[t * n + r];
      const float diff = z[t * plane + e] - m;
      const float w = g * diff * inv_var;
      if (dz) dz[t * plane + e] = -w;
      gmu += w;
      glv += 0.5f * g * (diff * diff * inv_var - 1.0f);
    }
    if (dmu) dmu[e] = gmu;
    if (dlogvar) dlogvar[e] = glv * logvar_mask(lv);
  }
}

bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}
bool aligned8(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 7u) == 0;
}

unsigned warp_rows_grid(int64_t rows) {
  return grid_extent((rows + kWarpsPerBlock - 1) / kWarpsPerBlock, "gaussian (one warp per row)");
}

}  // namespace

void gaussian_sample(float* z, float* kl, float* log_q, const float* mu, const float* logvar, index_t s, index_t n,
                     index_t d, uint64_t seed, uint64_t offset, const uint64_t* offset_base, cudaStream_t stream) {
  if (s * n == 0) return;
  const bool vec2 = d % 2 == 0 && aligned8(z) && aligned8(mu) && aligned8(logvar);
  launch<sample_kernel>(warp_rows_grid(s * n), kWarpsPerBlock * 32, 0, stream, z, kl, log_q, mu, logvar, s, n, d, seed,
                        offset, offset_base, vec2);
  LVK_LAUNCH_CHECK(sample_kernel);
}

void gaussian_sample_backward(float* dmu, float* dlogvar, const float* dz, const float* dkl, const float* dlog_q,
                              const float* z, const float* mu, const float* logvar, index_t s, index_t n, index_t d,
                              cudaStream_t stream) {
  if (n * d == 0) return;
  launch<sample_backward_kernel>(grid_for(n * d), kBlock, 0, stream, dmu, dlogvar, dz, dkl, dlog_q, z, mu, logvar, s, n,
                                 d);
  LVK_LAUNCH_CHECK(sample_backward_kernel);
}

void gaussian_log_density(float* out, const float* z, const float* mu, const float* logvar, index_t s, index_t n,
                          index_t d, cudaStream_t stream) {
  if (s * n == 0) return;
  const bool vec4 = d % 4 == 0 && aligned16(z) && aligned16(mu) && aligned16(logvar);
  launch<log_density_kernel>(warp_rows_grid(s * n), kWarpsPerBlock * 32, 0, stream, out, z, mu, logvar, s, n, d, vec4);
  LVK_LAUNCH_CHECK(log_density_kernel);
}

void gaussian_log_density_backward(float* dz, float* dmu, float* dlogvar, const float* dout, const float* z,
                                   const float* mu, const float* logvar, index_t s, index_t n, index_t d,
                                   cudaStream_t stream) {
  if (n * d == 0) return;
  launch<log_density_backward_kernel>(grid_for(n * d), kBlock, 0, stream, dz, dmu, dlogvar, dout, z, mu, logvar, s, n,
                                      d);
  LVK_LAUNCH_CHECK(log_density_backward_kernel);
}

}  // namespace lvk::kernels::cuda
