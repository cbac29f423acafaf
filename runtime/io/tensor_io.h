#pragma once
// Tensor <-> safetensors entries (F32 and I32; the host copy happens here), the bridge that
// checkpoints use.
#include <string>

#include "runtime/io/safetensors.h"
#include "runtime/tensor.h"

namespace lvk::io {

SafetensorsEntry to_safetensors_entry(const std::string& name, const Tensor& t);
// F32 or I32 entry to a tensor on `device`; other dtypes throw naming the entry and dtype.
Tensor from_safetensors_entry(const SafetensorsEntry& e, Device device = Device::cpu());

}  // namespace lvk::io
