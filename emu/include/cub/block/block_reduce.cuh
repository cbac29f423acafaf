#pragma once
// cub::BlockReduce for the emulator, written as CUDA device code: each thread stores its input in
// the shared temp storage, the block synchronizes once, and thread 0 folds the inputs in thread
// order. As with CUB, only thread 0's result is defined (other threads get NaN for floating-point
// T, to catch callers that use it), and the temp storage may be reused only after another
// __syncthreads().
#include <cuda_runtime.h>

#include <limits>

#include "cub/thread/thread_operators.cuh"

namespace cub {

enum BlockReduceAlgorithm {
  BLOCK_REDUCE_RAKING_COMMUTATIVE_ONLY,
  BLOCK_REDUCE_RAKING,
  BLOCK_REDUCE_WARP_REDUCTIONS,
};

template <typename T, int BLOCK_DIM_X, BlockReduceAlgorithm ALGORITHM = BLOCK_REDUCE_WARP_REDUCTIONS,
          int BLOCK_DIM_Y = 1, int BLOCK_DIM_Z = 1, int LEGACY_PTX_ARCH = 0>
class BlockReduce {
  static constexpr int BLOCK_THREADS = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;

 public:
  // Raw storage (trivially constructible, so it can be declared __shared__) for one T per thread.
  struct TempStorage {
    alignas(T) unsigned char bytes[sizeof(T) * BLOCK_THREADS];
  };

  __device__ __forceinline__ BlockReduce(TempStorage& temp_storage)
      : items_(reinterpret_cast<T*>(temp_storage.bytes)),
        tid_(static_cast<int>(threadIdx.x + (threadIdx.y + threadIdx.z * BLOCK_DIM_Y) * BLOCK_DIM_X)) {
    // The block must have the shape the class was instantiated for, or thread ids collide.
    if (blockDim.x != BLOCK_DIM_X || blockDim.y != BLOCK_DIM_Y || blockDim.z != BLOCK_DIM_Z) __trap();
  }

  __device__ __forceinline__ BlockReduce() : BlockReduce(private_storage()) {}

  template <typename ReductionOp>
  __device__ __forceinline__ T Reduce(T input, ReductionOp reduction_op) {
    return Reduce(input, reduction_op, BLOCK_THREADS);
  }

  // Only the first num_valid threads' inputs take part.
  template <typename ReductionOp>
  __device__ __forceinline__ T Reduce(T input, ReductionOp reduction_op, int num_valid) {
    if (tid_ < num_valid) items_[tid_] = input;
    __syncthreads();
    if (tid_ != 0) return undefined(input);
    const int n = num_valid < BLOCK_THREADS ? num_valid : BLOCK_THREADS;
    T result = input;
    for (int i = 1; i < n; ++i) result = reduction_op(result, items_[i]);
    return result;
  }

  // Each thread's items are folded in order first.
  template <int ITEMS_PER_THREAD, typename ReductionOp>
  __device__ __forceinline__ T Reduce(T (&inputs)[ITEMS_PER_THREAD], ReductionOp reduction_op) {
    T partial = inputs[0];
    for (int i = 1; i < ITEMS_PER_THREAD; ++i) partial = reduction_op(partial, inputs[i]);
    return Reduce(partial, reduction_op, BLOCK_THREADS);
  }

  __device__ __forceinline__ T Sum(T input) { return Reduce(input, cub::Sum(), BLOCK_THREADS); }

  __device__ __forceinline__ T Sum(T input, int num_valid) { return Reduce(input, cub::Sum(), num_valid); }

  template <int ITEMS_PER_THREAD>
  __device__ __forceinline__ T Sum(T (&inputs)[ITEMS_PER_THREAD]) {
    return Reduce(inputs, cub::Sum());
  }

 private:
  static __device__ __forceinline__ TempStorage& private_storage() {
    __shared__ TempStorage storage;
    return storage;
  }

  static __device__ __forceinline__ T undefined(T input) {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
      return std::numeric_limits<T>::quiet_NaN();
    } else {
      return input;
    }
  }

  T* items_;
  int tid_;
};

}  // namespace cub
