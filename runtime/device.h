#pragma once
// Where a tensor lives. Parsing "auto" resolves to CUDA when a usable device exists, else CPU;
// "cuda" without one throws the reason discovery gave.
#include <string>

namespace lvk {

enum class DeviceKind : uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;
};

// "cpu", "cuda", "cuda:N" or "auto". Throws lvk::Error for unknown names or an unusable CUDA device.
Device parse_device(const std::string& name);

}  // namespace lvk
