#pragma once
// CLI11 validators for numeric flags that say what is wrong with the value as given. CLI11's own
// checks let NaN through (NaN <= 0 is false), accept inf, and for integers report a fraction or an
// overflow as "Could not convert".
#include <CLI/CLI.hpp>

namespace lvk::cli {

CLI::Validator finite_positive();   // a float > 0, finite, within 32-bit float range
CLI::Validator positive_integer();  // an integer >= 1 that fits 64 bits
CLI::Validator nonnegative_integer();

}  // namespace lvk::cli
