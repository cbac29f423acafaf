#pragma once
// CUDA's built-in vector types, with the alignment the hardware's vector loads require (a float4
// load from an address that is not 16-byte aligned is a misaligned access on the GPU).
#define LVK_EMU_VEC2(T, name, align)            \
  struct __attribute__((aligned(align))) name { \
    T x, y;                                     \
  };                                            \
  inline name make_##name(T x, T y) {           \
    return name{x, y};                          \
  }
#define LVK_EMU_VEC3(T, name)              \
  struct name {                            \
    T x, y, z;                             \
  };                                       \
  inline name make_##name(T x, T y, T z) { \
    return name{x, y, z};                  \
  }
#define LVK_EMU_VEC4(T, name, align)            \
  struct __attribute__((aligned(align))) name { \
    T x, y, z, w;                               \
  };                                            \
  inline name make_##name(T x, T y, T z, T w) { \
    return name{x, y, z, w};                    \
  }

LVK_EMU_VEC2(float, float2, 8)
LVK_EMU_VEC3(float, float3)
LVK_EMU_VEC4(float, float4, 16)
LVK_EMU_VEC2(int, int2, 8)
LVK_EMU_VEC3(int, int3)
LVK_EMU_VEC4(int, int4, 16)
LVK_EMU_VEC2(unsigned int, uint2, 8)
LVK_EMU_VEC4(unsigned int, uint4, 16)
LVK_EMU_VEC2(double, double2, 16)
LVK_EMU_VEC2(long long, longlong2, 16)
LVK_EMU_VEC2(short, short2, 4)
LVK_EMU_VEC2(unsigned short, ushort2, 4)

#undef LVK_EMU_VEC2
#undef LVK_EMU_VEC3
#undef LVK_EMU_VEC4
