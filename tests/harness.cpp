#include "tests/harness.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>

#include "runtime/tape.h"

namespace lvk::test {

std::string backend_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cpu() ? "cpu" : "cuda";
}

std::string unusable_reason(Device device) {
  if (device.is_cpu()) return "";
  const CudaStatus& s = cuda_status();
  if (s.usable) return "";
  const char* require = std::getenv("LVK_REQUIRE_CUDA");
  if (require && std::strcmp(require, "1") == 0) {
    ADD_FAILURE() << "LVK_REQUIRE_CUDA=1 but there is no usable CUDA device: " << s.reason;
  }
  return "no usable CUDA device: " + s.reason;
}

std::vector<float> random_values(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

Tensor random_tensor(const Shape& shape, uint32_t seed, Device device, float lo, float hi) {
  return Tensor::from_vector(random_values(static_cast<size_t>(shape.numel()), seed, lo, hi), shape, device);
}

namespace {
template <class Expected>
::testing::AssertionResult all_close_impl(const std::vector<float>& actual, const std::vector<Expected>& expected,
                                          double atol, double rtol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size mismatch: " << actual.size() << " vs " << expected.size();
  size_t bad = 0, worst = 0;
  double worst_excess = -1.0;
  std::ostringstream first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(static_cast<double>(actual[i]) - expected[i]);
    const double allowed = atol + rtol * std::fabs(expected[i]);
    const bool ok = err <= allowed;  // NaN compares false: counted as a mismatch
    const double excess = std::isnan(err) ? INFINITY : err - allowed;
    if (excess > worst_excess) worst_excess = excess, worst = i;
    if (!ok && bad++ < 5) first << "\n  [" << i << "] got " << actual[i] << ", expected " << expected[i];
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " elements differ (atol " << atol
                                       << ", rtol " << rtol << "); worst [" << worst << "] got " << actual[worst]
                                       << ", expected " << expected[worst] << "; first:" << first.str();
}
}  // namespace

::testing::AssertionResult all_close(const std::vector<float>& actual, const std::vector<double>& expected, double atol,
                                     double rtol) {
  return all_close_impl(actual, expected, atol, rtol);
}
::testing::AssertionResult all_close_f32(const std::vector<float>& actual, const std::vector<float>& expected,
                                         double atol, double rtol) {
  return all_close_impl(actual, expected, atol, rtol);
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape mismatch: " << actual.str() << " vs " << expected.str();
  return all_close_f32(actual.to_vector<float>(), expected.to_vector<float>(), atol, rtol);
}

namespace {

double weighted_sum(const Tensor& y, const std::vector<float>& w) {
  const std::vector<float> v = y.to_vector<float>();
  double acc = 0.0;
  for (size_t i = 0; i < v.size(); ++i) acc += static_cast<double>(v[i]) * w[i];
  return acc;
}

}  // namespace

::testing::AssertionResult check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                           std::vector<Tensor> inputs, GradCheckOptions options) {
  std::vector<bool> check = options.check;
  check.resize(inputs.size(), options.check.empty());
  for (size_t i = 0; i < inputs.size(); ++i) {
    check[i] = check[i] && inputs[i].dtype() == DType::f32;
    inputs[i].set_requires_grad(check[i]);
    inputs[i].set_grad(Tensor());
  }

  // Analytic gradients from the tape, seeded with w.
  Tape tape;
  Tensor y;
  {
    TapeRecording rec(tape);
    y = f(inputs);
  }
  const std::vector<float> w = random_values(static_cast<size_t>(y.numel()), 1234u, -1.0f, 1.0f);
  if (!y.requires_grad()) return ::testing::AssertionFailure() << "the output does not depend on any checked input";
  tape.backward(y, Tensor::from_vector(w, y.shape(), y.device()));

  std::ostringstream failures;
  size_t bad = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!check[i]) continue;
    Tensor grad = inputs[i].grad();
    std::vector<float> analytic =
        grad.defined() ? grad.to_vector<float>() : std::vector<float>(static_cast<size_t>(inputs[i].numel()), 0.0f);
    std::vector<float> x = inputs[i].to_vector<float>();
    std::vector<Tensor> probe = inputs;
    for (auto& t : probe) t = t.clone();  // no requires_grad, no tape
    for (size_t j = 0; j < x.size(); ++j) {
      const float orig = x[j];
      const double h = options.step * std::max(1.0, std::fabs(static_cast<double>(orig)));
      x[j] = static_cast<float>(orig + h);
      const double hp = static_cast<double>(x[j]) - orig;  // the step actually taken in f32
      probe[i] = Tensor::from_vector(x, inputs[i].shape(), inputs[i].device());
      const double up = weighted_sum(f(probe), w);
      x[j] = static_cast<float>(orig - h);
      const double hm = orig - static_cast<double>(x[j]);
      probe[i] = Tensor::from_vector(x, inputs[i].shape(), inputs[i].device());
      const double down = weighted_sum(f(probe), w);
      x[j] = orig;
      const double numeric = (up - down) / (hp + hm);
      const double err = std::fabs(numeric - analytic[j]);
      if (!(err <= options.atol + options.rtol * std::fabs(numeric)) && bad++ < 8)
        failures << "\n  input " << i << " element " << j << ": tape " << analytic[j] << ", finite difference "
                 << numeric;
    }
    inputs[i].set_requires_grad(false);
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " gradient element(s) disagree:" << failures.str();
}

::testing::AssertionResult check_parameter_gradient(const std::function<Tensor()>& f, const Tensor& parameter,
                                                    GradCheckOptions options) {
  if (!parameter.requires_grad()) return ::testing::AssertionFailure() << "the parameter does not require grad";
  const Tensor saved_grad = parameter.grad();
  parameter.set_grad(Tensor());
  Tape tape;
  Tensor y;
  {
    TapeRecording rec(tape);
    y = f();
  }
  const std::vector<float> w = random_values(static_cast<size_t>(y.numel()), 4321u, -1.0f, 1.0f);
  if (!y.requires_grad()) return ::testing::AssertionFailure() << "the output does not depend on the parameter";
  tape.backward(y, Tensor::from_vector(w, y.shape(), y.device()));
  const Tensor g = parameter.grad();
  const std::vector<float> analytic =
      g.defined() ? g.to_vector<float>() : std::vector<float>(static_cast<size_t>(parameter.numel()), 0.0f);
  parameter.set_grad(saved_grad);

  std::vector<float> x = parameter.to_vector<float>();
  const std::vector<float> original = x;
  auto evaluate = [&]() {
    copy_bytes(parameter.raw(), parameter.device(), x.data(), Device::cpu(), parameter.bytes());
    return weighted_sum(f(), w);
  };
  std::ostringstream failures;
  size_t bad = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    const float orig = original[j];
    const double h = options.step * std::max(1.0, std::fabs(static_cast<double>(orig)));
    x[j] = static_cast<float>(orig + h);
    const double hp = static_cast<double>(x[j]) - orig, up = evaluate();
    x[j] = static_cast<float>(orig - h);
    const double hm = orig - static_cast<double>(x[j]), down = evaluate();
    x[j] = orig;
    const double numeric = (up - down) / (hp + hm);
    if (!(std::fabs(numeric - analytic[j]) <= options.atol + options.rtol * std::fabs(numeric)) && bad++ < 8)
      failures << "\n  element " << j << ": tape " << analytic[j] << ", finite difference " << numeric;
  }
  copy_bytes(parameter.raw(), parameter.device(), original.data(), Device::cpu(), parameter.bytes());
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " gradient element(s) disagree:" << failures.str();
}

}  // namespace lvk::test
