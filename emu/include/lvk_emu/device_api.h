#pragma once
// What CUDA device code sees, for code compiled by the host compiler against the emulator: the
// qualifiers, the built-in indices, barriers and warp collectives (each a cooperative switch
// between the fibers that run a block's threads), atomics and the intrinsic functions.
#include <math.h>  // CUDA device code sees isfinite, isnan, ... unqualified

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lvk_emu/types.h"
#include "lvk_emu/vector_types.h"

// ---- qualifiers -------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __align__(n) __attribute__((aligned(n)))
#define __constant__ static
// Shared memory is static storage (AddressSanitizer guards it like any global) behind a marker
// whose constructor runs the first time any thread passes the declaration: it tells the emulator
// which variables the running kernel uses, and they are filled with 0xFF bytes before each of its
// blocks (a block never sees the previous block's values; a read before any write gives NaN / -1).
#define LVK_EMU_CAT2(a, b) a##b
#define LVK_EMU_CAT(a, b) LVK_EMU_CAT2(a, b)
#define __shared__                                                                 \
  static ::lvk_emu::SharedMarker LVK_EMU_CAT(lvk_emu_shared_marker_, __COUNTER__); \
  static

namespace lvk_emu {

struct SharedMarker {
  SharedMarker();
};

// ---- the executing thread ------------------------------------------------------------------------
struct ThreadSlot;  // defined by the scheduler
extern uint3 g_thread_idx_of_current;
extern uint3 g_block_idx;
extern dim3 g_block_dim;
extern dim3 g_grid_dim;

[[noreturn]] void trap(const char* file, int line);
[[noreturn]] void device_assert_fail(const char* expr, const char* file, int line);

// Barriers and warp collectives; file/line name the call in diagnostics.
void syncthreads(const char* file, int line);
int syncthreads_count(int predicate, const char* file, int line);
void syncwarp(unsigned mask, const char* file, int line);
// One __syncwarp call site, called with the mask or with none (all lanes), as CUDA allows. A
// `, ##__VA_ARGS__` macro would keep its comma for an empty call under -std=c++17 (no GNU extensions).
struct SyncwarpSite {
  const char* file;
  int line;
  void operator()(unsigned mask = 0xffffffffu) const { syncwarp(mask, file, line); }
};
unsigned ballot(unsigned mask, int predicate, const char* file, int line);
unsigned activemask();

enum class ShuffleKind { index, up, down, bfly };
uint64_t shuffle(ShuffleKind kind, unsigned mask, uint64_t value, int lane_or_delta, int width, const char* file,
                 int line);

template <class T>
T shuffle_value(ShuffleKind kind, unsigned mask, T var, int lane_or_delta, int width, const char* file, int line) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "__shfl_*_sync takes a scalar of 8 bytes or less");
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = shuffle(kind, mask, bits, lane_or_delta, width, file, line);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace lvk_emu

#define threadIdx (::lvk_emu::g_thread_idx_of_current)
#define blockIdx (::lvk_emu::g_block_idx)
#define blockDim (::lvk_emu::g_block_dim)
#define gridDim (::lvk_emu::g_grid_dim)
constexpr int warpSize = 32;

#define __syncthreads() ::lvk_emu::syncthreads(__FILE__, __LINE__)
#define __syncthreads_count(p) ::lvk_emu::syncthreads_count((p), __FILE__, __LINE__)
#define __syncthreads_or(p) (::lvk_emu::syncthreads_count((p), __FILE__, __LINE__) != 0)
#define __syncthreads_and(p) (::lvk_emu::syncthreads_count(!(p), __FILE__, __LINE__) == 0)
#define __syncwarp(...) ::lvk_emu::SyncwarpSite{__FILE__, __LINE__}(__VA_ARGS__)
#define __ballot_sync(mask, p) ::lvk_emu::ballot((mask), (p), __FILE__, __LINE__)
#define __any_sync(mask, p) (::lvk_emu::ballot((mask), (p), __FILE__, __LINE__) != 0u)
#define __all_sync(mask, p) (::lvk_emu::ballot((mask), !(p), __FILE__, __LINE__) == 0u)
#define __activemask() ::lvk_emu::activemask()
#define __shfl_sync(mask, var, ...) LVK_EMU_SHFL(index, mask, var, __VA_ARGS__, 32)
#define __shfl_up_sync(mask, var, ...) LVK_EMU_SHFL(up, mask, var, __VA_ARGS__, 32)
#define __shfl_down_sync(mask, var, ...) LVK_EMU_SHFL(down, mask, var, __VA_ARGS__, 32)
#define __shfl_xor_sync(mask, var, ...) LVK_EMU_SHFL(bfly, mask, var, __VA_ARGS__, 32)
#define LVK_EMU_SHFL(kind, mask, var, arg, width, ...) \
  ::lvk_emu::shuffle_value(::lvk_emu::ShuffleKind::kind, (mask), (var), (arg), (width), __FILE__, __LINE__)
#define __trap() ::lvk_emu::trap(__FILE__, __LINE__)
#define __threadfence() ((void)0)
#define __threadfence_block() ((void)0)
#define __threadfence_system() ((void)0)

// ---- memory access -------------------------------------------------------------------------------
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// ---- atomics: the threads of the emulated device run one at a time, so a plain read-modify-write
// is atomic; the schedule decides the order, which is what exposes order-dependent results.
namespace lvk_emu {
template <class T>
struct identity {
  using type = T;
};
}  // namespace lvk_emu
// Atomics are invisible to the shared-memory race check (LVK_EMU_RACECHECK): they do not race.
#define LVK_EMU_ATOMIC_ACCESS __attribute__((no_sanitize_thread))
template <class T>
LVK_EMU_ATOMIC_ACCESS inline T lvk_emu_atomic_rmw(T* p, T v, T (*op)(T, T)) {
  const T old = *p;
  *p = op(old, v);
  return old;
}
#define LVK_EMU_ATOMIC(name, expr)                                          \
  template <class T>                                                        \
  inline T name(T* p, typename ::lvk_emu::identity<T>::type v) {            \
    return lvk_emu_atomic_rmw<T>(p, v, [](T a, T b) -> T { return expr; }); \
  }
LVK_EMU_ATOMIC(atomicAdd, a + b)
LVK_EMU_ATOMIC(atomicSub, a - b)
LVK_EMU_ATOMIC(atomicMin, b < a ? b : a)
LVK_EMU_ATOMIC(atomicMax, b > a ? b : a)
LVK_EMU_ATOMIC(atomicExch, b)
LVK_EMU_ATOMIC(atomicAnd, a& b)
LVK_EMU_ATOMIC(atomicOr, a | b)
LVK_EMU_ATOMIC(atomicXor, a ^ b)
#undef LVK_EMU_ATOMIC
template <class T>
LVK_EMU_ATOMIC_ACCESS inline T atomicCAS(T* p, typename ::lvk_emu::identity<T>::type compare,
                                         typename ::lvk_emu::identity<T>::type v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}
LVK_EMU_ATOMIC_ACCESS inline unsigned atomicInc(unsigned* p, unsigned limit) {
  const unsigned old = *p;
  *p = old >= limit ? 0u : old + 1u;
  return old;
}
LVK_EMU_ATOMIC_ACCESS inline unsigned atomicDec(unsigned* p, unsigned limit) {
  const unsigned old = *p;
  *p = (old == 0u || old > limit) ? limit : old - 1u;
  return old;
}

// ---- integer and bit intrinsics ------------------------------------------------------------------
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((uint64_t{a} * b) >> 32);
}
inline int __mulhi(int a, int b) {
  return static_cast<int>((int64_t{a} * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
  return __builtin_popcountll(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
inline int __ffsll(long long x) {
  return __builtin_ffsll(x);
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline int __float_as_int(float f) {
  int x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline float __uint_as_float(unsigned x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline double __longlong_as_double(long long x) {
  double d;
  std::memcpy(&d, &x, 8);
  return d;
}
inline long long __double_as_longlong(double d) {
  long long x;
  std::memcpy(&x, &d, 8);
  return x;
}

// CUDA's global min/max overloads for device code.
inline int min(int a, int b) {
  return a < b ? a : b;
}
inline int max(int a, int b) {
  return a > b ? a : b;
}
inline unsigned min(unsigned a, unsigned b) {
  return a < b ? a : b;
}
inline unsigned max(unsigned a, unsigned b) {
  return a > b ? a : b;
}
inline long long min(long long a, long long b) {
  return a < b ? a : b;
}
inline long long max(long long a, long long b) {
  return a > b ? a : b;
}
inline long min(long a, long b) {
  return a < b ? a : b;
}
inline long max(long a, long b) {
  return a > b ? a : b;
}
inline unsigned long long min(unsigned long long a, unsigned long long b) {
  return a < b ? a : b;
}
inline unsigned long long max(unsigned long long a, unsigned long long b) {
  return a > b ? a : b;
}
inline float min(float a, float b) {
  return fminf(a, b);
}
inline float max(float a, float b) {
  return fmaxf(a, b);
}
inline double min(double a, double b) {
  return fmin(a, b);
}
inline double max(double a, double b) {
  return fmax(a, b);
}

// ---- float intrinsics ----------------------------------------------------------------------------
// The fast-math intrinsics are computed as the hardware does (base-2 exponential and logarithm of
// a scaled argument in single precision), so they carry its few-ulp error instead of libm's
// correctly rounded result; code that compares them with a CPU twin must allow for it.
inline float __expf(float x) {
  return exp2f(x * 1.44269504088896341f);
}
inline float __exp10f(float x) {
  return exp2f(x * 3.32192809488736235f);
}
inline float __logf(float x) {
  return log2f(x) * 0.693147180559945309f;
}
inline float __log2f(float x) {
  return log2f(x);
}
inline float __log10f(float x) {
  return log2f(x) * 0.301029995663981195f;
}
inline float __powf(float x, float y) {
  return exp2f(y * log2f(x));
}
inline float __sinf(float x) {
  return sinf(x);
}
inline float __cosf(float x) {
  return cosf(x);
}
inline float __tanf(float x) {
  return tanf(x);
}
inline void __sincosf(float x, float* s, float* c) {
  *s = sinf(x);
  *c = cosf(x);
}
inline float __fdividef(float a, float b) {
  // The hardware's approximate division returns 0 for 2^126 < |b| < 2^128.
  return (std::fabs(b) > 8.507059e37f && std::isfinite(b)) ? 0.0f : a / b;
}
inline float __frcp_rn(float x) {
  return 1.0f / x;
}
inline float __fsqrt_rn(float x) {
  return sqrtf(x);
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fsub_rn(float a, float b) {
  return a - b;
}
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fdiv_rn(float a, float b) {
  return a / b;
}
inline float __fmaf_rn(float a, float b, float c) {
  return fmaf(a, b, c);
}
inline float __saturatef(float x) {
  return x != x ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x));
}
inline float rsqrtf(float x) {
  return 1.0f / sqrtf(x);
}
inline double rsqrt(double x) {
  return 1.0 / sqrt(x);
}
inline float rcbrtf(float x) {
  return 1.0f / cbrtf(x);
}
inline float cospif(float x) {
  return static_cast<float>(std::cos(3.14159265358979323846 * static_cast<double>(x)));
}
inline float sinpif(float x) {
  return static_cast<float>(std::sin(3.14159265358979323846 * static_cast<double>(x)));
}
inline void sincospif(float x, float* s, float* c) {
  *s = sinpif(x);
  *c = cospif(x);
}
inline double cospi(double x) {
  return std::cos(3.14159265358979323846 * x);
}
inline double sinpi(double x) {
  return std::sin(3.14159265358979323846 * x);
}
inline float normcdff(float x) {
  return 0.5f * erfcf(-x * 0.707106781186547524f);
}
inline int __float2int_rn(float x) {
  return static_cast<int>(nearbyintf(x));
}
inline int __float2int_rz(float x) {
  return static_cast<int>(x);
}
inline int __float2int_rd(float x) {
  return static_cast<int>(floorf(x));
}
inline int __float2int_ru(float x) {
  return static_cast<int>(ceilf(x));
}
inline unsigned __float2uint_rn(float x) {
  return static_cast<unsigned>(nearbyintf(x));
}
inline float __int2float_rn(int x) {
  return static_cast<float>(x);
}
