#include "tools/flag_checks.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace lvk::cli {

namespace {

CLI::Validator integer_at_least(long long minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (end != text.c_str() && *end == '\0' && errno == 0)
          return v >= minimum ? "" : text + " must be >= " + std::to_string(minimum);
        const double d = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return text + " is not a number";
        if (std::isfinite(d) && d == std::floor(d)) return text + " is out of range for a 64-bit integer";
        return text + " is not an integer";
      },
      minimum > 0 ? "INT>=1" : "INT>=0");
}

}  // namespace

CLI::Validator finite_positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return text + " is not a number";
        if (!std::isfinite(v)) return text + " is not a finite number";
        if (v <= 0) return text + " must be > 0";
        if (v > 3.4e38) return text + " is out of range for a 32-bit float";
        return "";
      },
      "FLOAT>0");
}

CLI::Validator positive_integer() {
  return integer_at_least(1);
}
CLI::Validator nonnegative_integer() {
  return integer_at_least(0);
}

}  // namespace lvk::cli
