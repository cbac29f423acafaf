#pragma once
// Deterministic categorical helpers over the last dimension ([..., K] rows), for models that read
// a categorical posterior without sampling it: the dVAE's posterior-mean mixture (softmax), its
// argmax codes (argmax + one_hot) and code statistics. They wrap the row kernels of
// kernels/gumbel.h (the unfused baseline's building blocks).
#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace lvk {

// y = softmax(x) per row, f32 [..., K] with K >= 1. Recorded: dx = y*(dy - sum(y*dy)).
Tensor softmax_last(const Tensor& x);
// i32 [...]: the argmax of each row of x f32 [..., K], ties to the lowest index. Not recorded.
Tensor argmax_last(const Tensor& x);
// f32 [..., k]: one-hot rows of index i32 [...]. On the CPU an index outside [0, k) is an error;
// the CUDA twin writes an all-zero row for it (no host round trip). Not recorded.
Tensor one_hot(const Tensor& index, int64_t k);

// Per-code counts of index i32 [...] over k codes, on the host (synchronises); an index outside
// [0, k) is an error. For code-usage statistics.
std::vector<int64_t> code_counts(const Tensor& index, int64_t k);
// exp(entropy of the counts' empirical distribution): k when every code is used equally, 1 when one
// code takes everything; 0 for no counts.
double counts_perplexity(const std::vector<int64_t>& counts);
// Fraction of codes with a nonzero count.
double counts_usage(const std::vector<int64_t>& counts);

// The same statistics without leaving the device (what a train step reports): counts i32 [k] of
// index i32 [...], indices outside [0, k) not counted (a row with no code).
Tensor count_codes(const Tensor& index, int64_t k);
struct CodeStatistics {
  Tensor perplexity, usage;  // f32 [1] each, on the counts' device
};
// From counts i32 [k]: as counts_perplexity and counts_usage.
CodeStatistics code_statistics(const Tensor& counts);

}  // namespace lvk
