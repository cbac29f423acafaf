#pragma once
// Tensor <-> safetensors entries (F32 and I32; the host copy happens here), the bridge that
// checkpoints use.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/io/safetensors.h"
#include "runtime/tensor.h"

namespace lvk::io {

SafetensorsEntry to_safetensors_entry(const std::string& name, const Tensor& t);
// F32 or I32 entry to a tensor on `device`; other dtypes throw naming the entry and dtype.
Tensor from_safetensors_entry(const SafetensorsEntry& e, Device device = Device::cpu());

// Named tensors (e.g. Module::parameters() plus optimizer state) to a safetensors file, atomically;
// and back, in file order, onto `device`.
void save_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {});
std::vector<std::pair<std::string, Tensor>> load_tensors(const std::string& path, Device device = Device::cpu());

}  // namespace lvk::io
