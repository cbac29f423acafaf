#include "options.h"

#include <nanobind/nanobind.h>

namespace lvkpy {

lvk::VqPrecision parse_mode(const char* fn, const std::string& mode) {
  if (mode == "fp32") return lvk::VqPrecision::fp32;
  if (mode == "fast") return lvk::VqPrecision::fast;
  throw nanobind::value_error((std::string(fn) + ": mode must be 'fp32' or 'fast', got '" + mode + "'").c_str());
}

lvk::VqNonfinite parse_nonfinite(const char* fn, const std::string& nonfinite) {
  if (nonfinite == "error") return lvk::VqNonfinite::error;
  if (nonfinite == "skip") return lvk::VqNonfinite::skip;
  if (nonfinite == "propagate") return lvk::VqNonfinite::propagate;
  throw nanobind::value_error(
      (std::string(fn) + ": nonfinite must be 'error', 'skip' or 'propagate', got '" + nonfinite + "'").c_str());
}

}  // namespace lvkpy
