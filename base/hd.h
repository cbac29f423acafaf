#pragma once
// LVK_HD marks a function that runs on host and device; LVK_ARCH_NAMESPACE keeps the host-side and
// device-side definitions of one inline function apart.
#if defined(__CUDACC__)
#define LVK_HD __host__ __device__ __forceinline__
#else
#define LVK_HD inline
#endif

// Inline functions whose bodies depend on __CUDA_ARCH__, and every inline function that calls one,
// are declared inside `inline namespace LVK_ARCH_NAMESPACE { ... }`. Call sites are unchanged, but
// the device-side and host-side definitions get different mangled names, so they cannot collide
// when one program links device-side code compiled by a host compiler (the emulated CUDA build
// compiles the .cu files with __CUDA_ARCH__ defined, the .cpp files without) - otherwise the
// linker would keep one of the two at random and a CPU twin could run the device formula. Types
// never go in there: they appear in kernel signatures, which must mangle the same on both sides.
#if defined(__CUDA_ARCH__)
#define LVK_ARCH_NAMESPACE device_code
#else
#define LVK_ARCH_NAMESPACE host_code
#endif
