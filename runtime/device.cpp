#include "runtime/device.h"

#include <cstdlib>

#include "base/error.h"
#include "runtime/context.h"

namespace lvk {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "auto") return cuda_status().usable ? Device::cuda(0) : Device::cpu();
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (name.size() > 4) {
      const std::string digits = name.substr(5);
      char* end = nullptr;
      long parsed = std::strtol(digits.c_str(), &end, 10);
      LVK_CHECK(!digits.empty() && *end == '\0' && parsed >= 0 && parsed < 1024, "device: '", name,
                "' is not a device; expected cpu, cuda, cuda:N or auto");
      index = static_cast<int>(parsed);
    }
    require_cuda(index);
    return Device::cuda(index);
  }
  fail("device: '", name, "' is not a device; expected cpu, cuda, cuda:N or auto");
}

}  // namespace lvk
