#pragma once
// The op table: one row per op. A row says how to build the op's inputs at a given size, how to
// call it, which outputs must match the CPU twin exactly and which within a tolerance, and
// whether a backward exists. The backend-ops test (backend_ops_test.cpp) runs every row on every
// backend at the edge sizes around its tile and checks gradients through the tape; the perf mode
// (perf.cpp) times every row; the coverage test (coverage_test.cpp) fails when a kernel entry
// point of kernels/*.h is named by no row.
//
// Adding an op: its kernel twins, its runtime wrapper, and one row in the family's rows_*.cpp.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/tensor.h"
#include "tests/harness.h"

namespace lvk::backend_ops {

using Tensors = std::vector<Tensor>;

// How one output of a backend is compared with the CPU twin's.
struct OutputCheck {
  std::string name;
  bool exact = false;  // indices, counts, copies, bit-identical noise: no tolerance at all
  // |cuda - cpu| <= atol + rtol |cpu|. The CUDA twin (a GPU, or the emulated one) fuses
  // multiply-adds and reduces in another order than the CPU reference.
  double atol = 0.0, rtol = 0.0;
};
inline OutputCheck exact(std::string name) {
  return {std::move(name), true, 0.0, 0.0};
}
inline OutputCheck close(std::string name, double atol = 1e-5, double rtol = 1e-5) {
  return {std::move(name), false, atol, rtol};
}

struct OpRow {
  std::string name;  // what `lvk_backend_ops perf --op NAME` selects
  // The kernel entry points (kernels/*.h) this row runs on every backend; the coverage test
  // requires every declared kernel to appear in some row.
  std::vector<std::string> kernels;
  // The kernel's tile along `size` (rows, elements, ...): the sizes tested are 0 (when empty_ok),
  // 1, tile - 1, tile, tile + 1 and a prime above the tile.
  int64_t tile = 1;
  bool empty_ok = true;
  std::vector<int64_t> extra_sizes;  // sizes that select other kernel configurations (group widths)
  // The op claims 64-bit indexing: with LVK_BACKEND_OPS_LARGE=1 it also runs at 2^31 + 3 elements
  // when the machine has large_bytes_per_element times that much memory free.
  bool index64 = false;
  double large_bytes_per_element = 0.0;
  // CPU tensors for one size; deterministic (the same size gives the same inputs).
  std::function<Tensors(int64_t size)> inputs;
  // The op on the inputs' device; the outputs are compared in `outputs` order.
  std::function<Tensors(const Tensors& in)> forward;
  std::vector<OutputCheck> outputs;
  // The backward: the tape's gradients of sum(w * forward(in)[grad_output]) with respect to the
  // inputs flagged in grad_inputs are compared with the CPU twin's (grad_tolerance) and with
  // central finite differences on every backend (grad_check) at grad_sizes.
  bool backward = false;
  int grad_output = 0;
  std::vector<bool> grad_inputs;
  OutputCheck grad_tolerance = close("grad", 1e-4, 1e-4);
  test::GradCheckOptions grad_check;
  // False where the tape's gradient is by design not the forward's derivative (straight-through
  // estimators, stop-gradients); the CPU-vs-CUDA gradient comparison still runs.
  bool finite_differences = true;
  std::vector<int64_t> grad_sizes = {1, 3};
  // Inputs for the finite-difference check (two calls per element) when `inputs` is too large
  // for it; empty: `inputs`.
  std::function<Tensors(int64_t size)> grad_check_inputs;
  int64_t perf_size = 0;  // the size `perf` times by default (0: 64 tiles)
};

// Every row, family by family (rows_*.cpp).
const std::vector<OpRow>& op_table();
const OpRow* find_row(const std::string& name);

// The sizes a row is tested at (ascending, distinct).
std::vector<int64_t> edge_sizes(const OpRow& row);
constexpr int64_t kLargeSize = (int64_t{1} << 31) + 3;

// Runs a row on the device of `in` (already there): the forward's outputs, then, when the row has
// a backward, the tape's gradients of the flagged inputs (zeros where none reached an input).
Tensors run_row(const OpRow& row, const Tensors& in, bool with_grads);

// Input builders shared by the families: uniform values in [lo, hi) from a seed.
Tensor rand(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
Tensor rand_index(const Shape& shape, uint32_t seed, int32_t k);  // i32 in [0, k)

// The families.
std::vector<OpRow> elementwise_rows();
std::vector<OpRow> stochastic_rows();
std::vector<OpRow> vq_rows();
std::vector<OpRow> flow_rows();
std::vector<OpRow> nn_rows();
std::vector<OpRow> optim_rows();

}  // namespace lvk::backend_ops
