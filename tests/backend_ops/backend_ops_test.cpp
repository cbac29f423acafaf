// The backend-ops test: every row of the op table, at every edge size, on every backend the build
// has. The CPU twin is the reference: on the CPU each row must repeat bit for bit; on CUDA (a GPU,
// or the emulated one of LVK_CUDA=EMU) every output and every tape gradient is compared with the
// CPU twin's. Rows with a backward are also checked against central finite differences on each
// backend. LVK_BACKEND_OPS_LARGE=1 adds a size above 2^31 elements for rows that claim 64-bit
// indexing, where the host has the memory for it.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "runtime/context.h"
#include "tests/backend_ops/op_table.h"
#include "tests/harness.h"

namespace lvk::backend_ops {
namespace {

std::vector<float> as_floats(const Tensor& t) {
  if (t.dtype() == DType::i32) {
    const std::vector<int32_t> v = t.to_vector<int32_t>();
    return std::vector<float>(v.begin(), v.end());
  }
  return t.to_vector<float>();
}

// got (any device) against the CPU twin's want, as the check says; the message names the worst
// element and both values.
::testing::AssertionResult matches(const Tensor& got, const Tensor& want, const OutputCheck& check) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    return ::testing::AssertionFailure() << "'" << check.name << "' is " << got.str() << ", the CPU twin's "
                                         << want.str();
  std::vector<float> g = as_floats(got), w = as_floats(want);
  for (size_t i = 0; i < g.size(); ++i)
    if (std::isnan(g[i]) && std::isnan(w[i])) g[i] = w[i] = 0.0f;  // NaN where the twin has NaN is a match
  ::testing::AssertionResult r = test::all_close_f32(g, w, check.atol, check.rtol);
  if (!r) return ::testing::AssertionFailure() << "'" << check.name << "': " << r.message();
  return r;
}

std::string where(const OpRow& row, int64_t size, Device device) {
  std::ostringstream s;
  s << "op " << row.name << ", size " << size << ", backend " << device.str();
  return s.str();
}

Tensors to_device(const Tensors& in, Device device) {
  Tensors out;
  for (const Tensor& t : in) out.push_back(t.to(device));
  return out;
}

int64_t available_host_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// The sizes of this run: the edge sizes, and the large one when asked for and affordable.
std::vector<int64_t> sizes_for(const OpRow& row) {
  std::vector<int64_t> sizes = edge_sizes(row);
  const char* large = std::getenv("LVK_BACKEND_OPS_LARGE");
  if (row.index64 && large && std::string(large) == "1") {
    const double need = row.large_bytes_per_element * static_cast<double>(kLargeSize);
    const CudaStatus& cuda = cuda_status();
    // A real GPU holds about half of it (inputs and outputs); the emulated one shares the host's.
    const bool device_ok = !cuda.usable || cuda.emulated || cuda.devices.empty() ||
                           static_cast<double>(cuda.devices[0].free_memory) > 0.5 * need;
    if (device_ok && need < 0.8 * static_cast<double>(available_host_bytes()))
      sizes.push_back(kLargeSize);
    else
      std::printf("[ skip ] %s at %lld elements: needs %.1f GiB\n", row.name.c_str(),
                  static_cast<long long>(kLargeSize), need / (1 << 30));
  }
  return sizes;
}

std::vector<OutputCheck> checks_with_grads(const OpRow& row) {
  std::vector<OutputCheck> checks = row.outputs;
  if (!row.backward) return checks;
  for (size_t i = 0; i < row.grad_inputs.size(); ++i) {
    if (!row.grad_inputs[i]) continue;
    OutputCheck c = row.grad_tolerance;
    c.name = "d(input " + std::to_string(i) + ")";
    checks.push_back(c);
  }
  return checks;
}

void expect_outputs(const OpRow& row, int64_t size, Device device, const Tensors& got, const Tensors& want,
                    bool bitwise) {
  const std::vector<OutputCheck> checks = checks_with_grads(row);
  ASSERT_EQ(got.size(), checks.size()) << where(row, size, device) << ": outputs vs the row's checks";
  ASSERT_EQ(want.size(), checks.size()) << where(row, size, device);
  for (size_t i = 0; i < checks.size(); ++i) {
    const OutputCheck check = bitwise ? exact(checks[i].name) : checks[i];
    EXPECT_TRUE(matches(got[i], want[i], check)) << where(row, size, device);
  }
}

std::vector<std::string> row_names(bool only_differentiable) {
  std::vector<std::string> names;
  for (const OpRow& row : op_table())
    if (!only_differentiable || (row.backward && row.finite_differences)) names.push_back(row.name);
  return names;
}
std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

class BackendOpsCpu : public ::testing::TestWithParam<std::string> {};
class BackendOpsCuda : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { LVK_SKIP_IF_UNUSABLE(Device::cuda(0)); }
};
class BackendOpsCpuGrad : public BackendOpsCpu {};
class BackendOpsCudaGrad : public BackendOpsCuda {};

// The reference itself: each size runs, and a second run repeats the first bit for bit.
TEST_P(BackendOpsCpu, RepeatsBitForBit) {
  const OpRow& row = *find_row(GetParam());
  for (int64_t size : sizes_for(row)) {
    const Tensors in = row.inputs(size);
    expect_outputs(row, size, Device::cpu(), run_row(row, in, true), run_row(row, in, true), true);
  }
}

TEST_P(BackendOpsCuda, MatchesTheCpuTwin) {
  const OpRow& row = *find_row(GetParam());
  const Device device = Device::cuda(0);
  for (int64_t size : sizes_for(row)) {
    const Tensors in = row.inputs(size);
    const Tensors want = run_row(row, in, true);
    Tensors got = run_row(row, to_device(in, device), true);
    for (const Tensor& t : got)
      ASSERT_TRUE(t.device() == device) << where(row, size, device) << ": output on " << t.device().str();
    expect_outputs(row, size, device, got, want, false);
  }
}

void expect_gradients(const OpRow& row, Device device) {
  for (int64_t size : row.grad_sizes) {
    const Tensors in = to_device((row.grad_check_inputs ? row.grad_check_inputs : row.inputs)(size), device);
    test::GradCheckOptions options = row.grad_check;
    options.check = row.grad_inputs;
    const int output = row.grad_output;
    EXPECT_TRUE(test::check_gradients([&](const Tensors& x) { return row.forward(x).at(output); }, in, options))
        << where(row, size, device) << " (tape vs finite differences)";
  }
}

TEST_P(BackendOpsCpuGrad, TapeMatchesFiniteDifferences) {
  expect_gradients(*find_row(GetParam()), Device::cpu());
}
TEST_P(BackendOpsCudaGrad, TapeMatchesFiniteDifferences) {
  expect_gradients(*find_row(GetParam()), Device::cuda(0));
}

INSTANTIATE_TEST_SUITE_P(Ops, BackendOpsCpu, ::testing::ValuesIn(row_names(false)), param_name);
INSTANTIATE_TEST_SUITE_P(Ops, BackendOpsCuda, ::testing::ValuesIn(row_names(false)), param_name);
INSTANTIATE_TEST_SUITE_P(Ops, BackendOpsCpuGrad, ::testing::ValuesIn(row_names(true)), param_name);
INSTANTIATE_TEST_SUITE_P(Ops, BackendOpsCudaGrad, ::testing::ValuesIn(row_names(true)), param_name);

TEST(BackendOpsTable, RowsAreWellFormed) {
  std::set<std::string> names;
  for (const OpRow& row : op_table()) {
    EXPECT_TRUE(names.insert(row.name).second) << "two rows named " << row.name;
    EXPECT_FALSE(row.kernels.empty()) << row.name << " names no kernel";
    EXPECT_TRUE(row.inputs && row.forward) << row.name;
    EXPECT_FALSE(row.outputs.empty()) << row.name;
    EXPECT_GE(row.tile, 1) << row.name;
    if (row.backward) {
      bool any = false;
      for (bool b : row.grad_inputs) any = any || b;
      EXPECT_TRUE(any) << row.name << " has a backward but checks no input's gradient";
    }
  }
}

}  // namespace
}  // namespace lvk::backend_ops
