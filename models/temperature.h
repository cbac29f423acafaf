#pragma once
// Gumbel-softmax temperature schedules, called by the training loop once per step:
//   constant:     tau(t) = tau_max (tau_min and steps unused)
//   exponential:  tau(t) = tau_max * (tau_min / tau_max)^(min(t, T) / T)   (geometric decay)
//   cosine:       tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi * min(t, T) / T)) / 2
// Both annealing schedules start at tau_max, reach tau_min at step T = steps and stay there.
#include <cstdint>
#include <string>

namespace lvk {

enum class TemperatureKind { constant, exponential, cosine };

struct TemperatureSchedule {
  TemperatureKind kind = TemperatureKind::constant;
  double tau_max = 1.0;
  double tau_min = 1.0;
  int64_t steps = 1;  // T: annealing length

  // Throws lvk::Error naming the bad field unless 0 < tau_min <= tau_max (finite) and steps >= 1.
  void validate() const;
  // The temperature at `step` (>= 0).
  float at(int64_t step) const;
};

// "constant", "exponential" or "cosine"; throws lvk::Error listing the valid names otherwise.
TemperatureKind parse_temperature_kind(const std::string& name);

}  // namespace lvk
