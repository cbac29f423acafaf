#include "models/temperature.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace lvk {

void TemperatureSchedule::validate() const {
  LVK_CHECK(std::isfinite(tau_max) && tau_max > 0.0, "temperature schedule: tau_max=", tau_max,
            " must be finite and > 0");
  if (kind == TemperatureKind::constant) return;  // tau_min and steps are unused
  LVK_CHECK(std::isfinite(tau_min) && tau_min > 0.0, "temperature schedule: tau_min=", tau_min,
            " must be finite and > 0");
  LVK_CHECK(tau_max >= tau_min, "temperature schedule: tau_max=", tau_max, " must be >= tau_min=", tau_min);
  LVK_CHECK(steps >= 1, "temperature schedule: steps=", steps, " must be >= 1");
}

float TemperatureSchedule::at(int64_t step) const {
  validate();
  LVK_CHECK(step >= 0, "temperature schedule: step=", step, " must be >= 0");
  if (kind == TemperatureKind::constant) return static_cast<float>(tau_max);
  const double f = static_cast<double>(std::min(step, steps)) / static_cast<double>(steps);
  double tau = tau_max;
  switch (kind) {
    case TemperatureKind::constant:  // handled above
      break;
    case TemperatureKind::exponential:
      tau = tau_max * std::pow(tau_min / tau_max, f);
      break;
    case TemperatureKind::cosine:
      tau = tau_min + (tau_max - tau_min) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * f));
      break;
  }
  return static_cast<float>(std::clamp(tau, tau_min, tau_max));
}

TemperatureKind parse_temperature_kind(const std::string& name) {
  if (name == "constant") return TemperatureKind::constant;
  if (name == "exponential") return TemperatureKind::exponential;
  if (name == "cosine") return TemperatureKind::cosine;
  fail("temperature schedule: unknown kind '", name, "'; expected constant, exponential or cosine");
}

}  // namespace lvk
