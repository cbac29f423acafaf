#pragma once
// Python keyword values (strings) to lvk option enums, with errors that list the accepted values.
#include <string>

#include "runtime/ops/vq.h"

namespace lvkpy {

lvk::VqPrecision parse_mode(const char* fn, const std::string& mode);
lvk::VqNonfinite parse_nonfinite(const char* fn, const std::string& nonfinite);

}  // namespace lvkpy
