#pragma once
// Test harness shared by every op test: backend parameterisation with stated skips, tolerant
// comparison that reports the worst element, and the central-difference gradient checker.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/context.h"
#include "runtime/tensor.h"

namespace lvk {
// Prints "cpu" / "cuda:0" in gtest messages instead of raw bytes.
inline void PrintTo(const Device& device, std::ostream* os) {
  *os << device.str();
}
}  // namespace lvk

namespace lvk::test {

// Backends every op test runs on: CPU always, CUDA skipping (or failing under LVK_REQUIRE_CUDA=1)
// when no usable device exists.
inline std::vector<Device> backends() {
  return {Device::cpu(), Device::cuda(0)};
}
std::string backend_name(const ::testing::TestParamInfo<Device>& info);

// GTEST_SKIP()s the current test with the reason when `device` is CUDA and none is usable.
#define LVK_SKIP_IF_UNUSABLE(device)                                                          \
  do {                                                                                        \
    if (const std::string lvk_why_ = ::lvk::test::unusable_reason(device); !lvk_why_.empty()) \
      GTEST_SKIP() << lvk_why_;                                                               \
  } while (0)
// Empty when usable; fails the test instead when LVK_REQUIRE_CUDA=1.
std::string unusable_reason(Device device);

class BackendTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override { LVK_SKIP_IF_UNUSABLE(GetParam()); }
  Device device() const { return GetParam(); }
};

#define LVK_INSTANTIATE_BACKENDS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::ValuesIn(::lvk::test::backends()), ::lvk::test::backend_name)

// EXPECTs that `statement` throws lvk::Error whose message contains `fragment`.
#define EXPECT_LVK_ERROR(statement, fragment)                                                        \
  do {                                                                                               \
    try {                                                                                            \
      statement;                                                                                     \
      ADD_FAILURE() << "expected lvk::Error containing '" << (fragment) << "'";                      \
    } catch (const ::lvk::Error& e) {                                                                \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what(); \
    }                                                                                                \
  } while (0)

// Deterministic test data (host-side, independent of the library's RNG).
std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
Tensor random_tensor(const Shape& shape, uint32_t seed, Device device, float lo = -1.0f, float hi = 1.0f);

// |actual - expected| <= atol + rtol * |expected| elementwise; on failure reports the worst element
// and the first few mismatches.
::testing::AssertionResult all_close(const std::vector<float>& actual, const std::vector<double>& expected, double atol,
                                     double rtol);
// The same against f32 values, without a double copy (tensors above 2^31 elements).
::testing::AssertionResult all_close_f32(const std::vector<float>& actual, const std::vector<float>& expected,
                                         double atol, double rtol);
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol);

// Central-difference gradient check. f maps the inputs to an output tensor of any shape (it must
// be deterministic: stochastic ops keep their seed fixed). The checker compares the tape's
// gradients of L = sum(f(x) * w), for a fixed random w, with (L(x + h) - L(x - h)) / 2h per
// input element, L evaluated in double on the host.
struct GradCheckOptions {
  double step = 1e-3;
  double atol = 2e-3;
  double rtol = 2e-3;
  std::vector<bool> check;  // which inputs to check (default: every f32 input)
};
::testing::AssertionResult check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                           std::vector<Tensor> inputs, GradCheckOptions options = {});
// The same check for a parameter a module holds (a leaf that requires grad): f reads it through the
// module; the checker perturbs it in place and restores it.
::testing::AssertionResult check_parameter_gradient(const std::function<Tensor()>& f, const Tensor& parameter,
                                                    GradCheckOptions options = {});

}  // namespace lvk::test
