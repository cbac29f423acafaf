#pragma once
// The foundation's ops: fills, random fills, copies, elementwise arithmetic, reductions, matmul.
// Every op checks its operands, runs the CPU or CUDA twin by device and, while a Tape records,
// registers its backward. f32 unless stated.
#include <cstdint>

#include "runtime/tensor.h"

namespace lvk {

// --- creation and copies ---------------------------------------------------------------------
void fill_(Tensor& t, float value);  // f32 or i32 (value converted); in place, not recorded
Tensor uniform(const Shape& shape, uint64_t seed, uint64_t offset, Device device = Device::cpu());  // (0, 1)
Tensor normal(const Shape& shape, uint64_t seed, uint64_t offset, Device device = Device::cpu());   // N(0, 1)
Tensor to_device(const Tensor& x, Device device);  // recorded copy: the gradient flows back
Tensor reshape(const Tensor& x, const Shape& shape);  // recorded view
// A one-element tensor repeated to `shape` (recorded: its gradient is the sum of the output's).
Tensor expand_scalar(const Tensor& scalar, const Shape& shape);

// --- elementwise (same shape, same device) ---------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);
// dst += alpha * src, in place and not recorded: gradient accumulation and optimizer updates.
void accumulate_into(Tensor& dst, const Tensor& src, float alpha = 1.0f);

// --- reductions (deterministic) --------------------------------------------------------------
Tensor sum(const Tensor& x);   // rank 0 (one element); 0 for an empty tensor
Tensor mean(const Tensor& x);  // sum / numel; throws on an empty tensor
// NaN/Inf count of an f32 tensor (synchronises: the answer comes back to the host).
int64_t count_nonfinite(const Tensor& x);
// Throws lvk::Error "<op>: <what> has N non-finite values (NaN or Inf) of <shape>" unless all are finite.
void check_finite(const char* op, const char* what, const Tensor& x);

// --- matrix product --------------------------------------------------------------------------
// a [M, K] (or [K, M] when trans_a), b [K, N] (or [N, K] when trans_b) -> [M, N].
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace lvk
