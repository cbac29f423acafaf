#pragma once
// CUB's reduction functors.
#include <cuda_runtime.h>

namespace cub {

struct Sum {
  template <typename T, typename U>
  __host__ __device__ __forceinline__ auto operator()(const T& a, const U& b) const -> decltype(a + b) {
    return a + b;
  }
};

struct Max {
  template <typename T, typename U>
  __host__ __device__ __forceinline__ auto operator()(const T& a, const U& b) const -> decltype(a < b ? b : a) {
    return a < b ? b : a;
  }
};

struct Min {
  template <typename T, typename U>
  __host__ __device__ __forceinline__ auto operator()(const T& a, const U& b) const -> decltype(b < a ? b : a) {
    return b < a ? b : a;
  }
};

}  // namespace cub
