#pragma once
// bfloat16 for emulated device code: conversions round to nearest even as the hardware does, NaN
// stays NaN (quiet), and the storage is the upper half of an IEEE binary32.
#include <cstdint>
#include <cstring>

#include "cuda_runtime.h"

struct __nv_bfloat16 {
  unsigned short __x;
};
struct __nv_bfloat162 {
  __nv_bfloat16 x, y;  // x in the low 16 bits of the 32-bit register, as on the device
};
typedef __nv_bfloat16 nv_bfloat16;
typedef __nv_bfloat162 nv_bfloat162;

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  __nv_bfloat16 out;
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep the sign, make it quiet
    out.__x = static_cast<unsigned short>((bits >> 16) | 0x0040u);
    return out;
  }
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  out.__x = static_cast<unsigned short>((bits + rounding) >> 16);
  return out;
}
inline __nv_bfloat16 __float2bfloat16(float f) {
  return __float2bfloat16_rn(f);
}
inline float __bfloat162float(__nv_bfloat16 h) {
  const uint32_t bits = static_cast<uint32_t>(h.__x) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi) {
  return __nv_bfloat162{__float2bfloat16_rn(lo), __float2bfloat16_rn(hi)};
}
inline __nv_bfloat162 __float2bfloat162_rn(float f) {
  return __floats2bfloat162_rn(f, f);
}
inline float __low2float(__nv_bfloat162 v) {
  return __bfloat162float(v.x);
}
inline float __high2float(__nv_bfloat162 v) {
  return __bfloat162float(v.y);
}
