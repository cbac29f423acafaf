// CPU FMA probe: 16 independent vector FMA chains per thread (enough to cover the FMA latency on
// current x86 cores), in the ISA the CPU kernels use (cpu_isa(), so LVK_CPU_ISA=avx2 measures the
// AVX2 peak an AVX2-only CPU would have: on cores with full-width AVX-512 units that is half the
// AVX-512 peak), on every OpenMP thread.
#include <immintrin.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "kernels/cpu/cpu_isa.h"
#include "kernels/peak.h"

namespace lvk::kernels::cpu {

namespace {

__attribute__((target("avx512f"))) float spin_avx512(index_t iterations) {
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (index_t it = 0; it < iterations; ++it)
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  __m512 s = acc[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, acc[j]);
  float out[16], total = 0.0f;
  _mm512_storeu_ps(out, s);
  for (float v : out) total += v;
  return total;
}

__attribute__((target("avx2,fma"))) float spin_avx2(index_t iterations) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (index_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  float out[8], s = 0.0f;
  __m256 t = acc[0];
  for (int j = 1; j < 12; ++j) t = _mm256_add_ps(t, acc[j]);
  _mm256_storeu_ps(out, t);
  for (float v : out) s += v;
  return s;
}

}  // namespace

index_t fma_spin(float* out, index_t iterations) {
  const bool avx512 = cpu_isa() == CpuIsa::avx512, avx2 = cpu_isa() == CpuIsa::avx2;
  const index_t per_thread = avx512 ? iterations * 16 * 16 * 2 : avx2 ? iterations * 12 * 8 * 2 : 0;
  float total = 0.0f;
  int threads = 1;
#pragma omp parallel reduction(+ : total)
  {
#if defined(_OPENMP)
#pragma omp single
    threads = omp_get_num_threads();
#endif
    total += avx512 ? spin_avx512(iterations) : avx2 ? spin_avx2(iterations) : 0.0f;
  }
  out[0] = total;
  return per_thread * threads;
}

}  // namespace lvk::kernels::cpu
