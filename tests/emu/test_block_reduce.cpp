// cub::BlockReduce run as device code on the emulator (needs the emulator runtime, not the test
// stub): sums, other operators, partial blocks, per-thread arrays, multi-dimensional blocks, and
// temp storage reused after a barrier.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

// The emulator's headers come last: its cuda_runtime.h defines macros (__noinline__, ...) that
// standard headers included after it would see.
#include "cub/block/block_reduce.cuh"
#include "cuda_runtime.h"
#include "lvk_emu/launch.h"

namespace {

constexpr int kThreads = 96;  // not a multiple of the warp size on purpose
constexpr int kOutputs = 5;

__global__ void reduce_kernel(float* out, const float* in, int num_valid) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  const float v = in[blockIdx.x * kThreads + threadIdx.x];
  float* o = out + blockIdx.x * kOutputs;
  const float sum = Reduce(temp).Sum(v);
  if (threadIdx.x == 0) o[0] = sum;
  __syncthreads();
  const float max = Reduce(temp).Reduce(v, cub::Max());
  if (threadIdx.x == 0) o[1] = max;
  __syncthreads();
  const float partial = Reduce(temp).Sum(v, num_valid);
  if (threadIdx.x == 0) o[2] = partial;
  __syncthreads();
  float items[3] = {v, 2 * v, 3 * v};
  const float items_sum = Reduce(temp).Sum(items);
  if (threadIdx.x == 0) o[3] = items_sum;
  if (threadIdx.x == 1) o[4] = items_sum;  // undefined outside thread 0
}

__global__ void reduce_2d_kernel(double* out, const double* in) {
  using Reduce = cub::BlockReduce<double, 8, cub::BLOCK_REDUCE_WARP_REDUCTIONS, 4>;
  __shared__ typename Reduce::TempStorage temp;
  const double s = Reduce(temp).Sum(in[threadIdx.y * 8 + threadIdx.x]);
  if (threadIdx.x == 0 && threadIdx.y == 0) *out = s;
}

__global__ void reduce_int_kernel(int* out, const int* in) {
  using Reduce = cub::BlockReduce<int, 64>;
  __shared__ typename Reduce::TempStorage temp;
  const int s = Reduce(temp).Reduce(in[threadIdx.x], cub::Min());
  if (threadIdx.x == 0) *out = s;
}

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return p;
}

template <class T>
std::vector<T> host_copy(const T* p, size_t n) {
  std::vector<T> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

TEST(BlockReduce, SumMaxPartialAndArraysPerBlock) {
  const int blocks = 3, num_valid = 37;
  std::vector<float> in(blocks * kThreads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 7919) % 101) - 50.0f;
  float* din = device_copy(in);
  float* dout = device_copy(std::vector<float>(blocks * kOutputs, 0.0f));
  lvk_emu::launch<reduce_kernel>(dim3(blocks), dim3(kThreads), 0, nullptr, dout, din, num_valid);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto out = host_copy(dout, blocks * kOutputs);
  for (int b = 0; b < blocks; ++b) {
    float sum = 0, max = -1e30f, partial = 0;
    for (int t = 0; t < kThreads; ++t) {
      const float v = in[b * kThreads + t];
      sum += v, max = std::max(max, v);
      if (t < num_valid) partial += v;
    }
    EXPECT_EQ(out[b * kOutputs + 0], sum);  // integers: exact in any order
    EXPECT_EQ(out[b * kOutputs + 1], max);
    EXPECT_EQ(out[b * kOutputs + 2], partial);
    EXPECT_EQ(out[b * kOutputs + 3], 6 * sum);
    EXPECT_TRUE(std::isnan(out[b * kOutputs + 4]));
  }
  cudaFree(din);
  cudaFree(dout);
}

TEST(BlockReduce, TwoDimensionalBlockAndIntegerMin) {
  std::vector<double> in(32);
  for (int i = 0; i < 32; ++i) in[i] = 0.5 * i;
  double* din = device_copy(in);
  double* dout = device_copy(std::vector<double>(1, 0.0));
  lvk_emu::launch<reduce_2d_kernel>(dim3(1), dim3(8, 4), 0, nullptr, dout, din);
  std::vector<int> ints(64);
  for (int i = 0; i < 64; ++i) ints[i] = (i * 37) % 64 - 20;
  int* dints = device_copy(ints);
  int* dmin = device_copy(std::vector<int>(1, 0));
  lvk_emu::launch<reduce_int_kernel>(dim3(1), dim3(64), 0, nullptr, dmin, dints);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(host_copy(dout, 1)[0], 0.5 * 31 * 32 / 2);
  EXPECT_EQ(host_copy(dmin, 1)[0], -20);
  cudaFree(din);
  cudaFree(dout);
  cudaFree(dints);
  cudaFree(dmin);
}

}  // namespace
