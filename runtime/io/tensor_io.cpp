#include "runtime/io/tensor_io.h"

#include <cstring>

#include "base/error.h"

namespace lvk::io {

// The formats are little-endian; so is every platform lvk builds for (x86-64, aarch64).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "lvk file formats assume a little-endian host");

SafetensorsEntry to_safetensors_entry(const std::string& name, const Tensor& t) {
  check_defined("to_safetensors_entry", name.c_str(), t);
  SafetensorsEntry e;
  e.name = name;
  e.shape = t.shape().dims();
  if (t.dtype() == DType::f32) {
    e.dtype = "F32";
    const std::vector<float> v = t.to_vector<float>();
    e.data.resize(v.size() * 4);
    if (!v.empty()) std::memcpy(e.data.data(), v.data(), e.data.size());
  } else if (t.dtype() == DType::i32) {
    e.dtype = "I32";
    const std::vector<int32_t> v = t.to_vector<int32_t>();
    e.data.resize(v.size() * 4);
    if (!v.empty()) std::memcpy(e.data.data(), v.data(), e.data.size());
  } else {
    fail("to_safetensors_entry: tensor \"", name, "\" has dtype ", dtype_name(t.dtype()), ", expected f32 or i32");
  }
  return e;
}

Tensor from_safetensors_entry(const SafetensorsEntry& e, Device device) {
  LVK_CHECK(static_cast<int>(e.shape.size()) <= Shape::kMaxRank, "from_safetensors_entry: tensor \"", e.name,
            "\" has rank ", e.shape.size(), ", lvk supports up to ", Shape::kMaxRank);
  const Shape shape(e.shape);
  LVK_CHECK(e.data.size() == static_cast<size_t>(shape.numel()) * 4 || e.dtype == "U8",
            "from_safetensors_entry: tensor \"", e.name, "\" holds ", e.data.size(), " bytes for shape ", shape.str());
  if (e.dtype == "F32") {
    std::vector<float> v(static_cast<size_t>(shape.numel()));
    if (!v.empty()) std::memcpy(v.data(), e.data.data(), e.data.size());
    return Tensor::from_vector(v, shape, device);
  }
  if (e.dtype == "I32") {
    std::vector<int32_t> v(static_cast<size_t>(shape.numel()));
    if (!v.empty()) std::memcpy(v.data(), e.data.data(), e.data.size());
    return Tensor::from_vector(v, shape, device);
  }
  fail("from_safetensors_entry: tensor \"", e.name, "\" has dtype ", e.dtype, ", expected F32 or I32");
}

void save_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  SafetensorsFile f;
  f.metadata = metadata;
  for (const auto& [name, t] : tensors) f.add(to_safetensors_entry(name, t));
  write_safetensors(path, f);
}

std::vector<std::pair<std::string, Tensor>> load_tensors(const std::string& path, Device device) {
  const SafetensorsFile f = read_safetensors(path);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const SafetensorsEntry& e : f.tensors) out.emplace_back(e.name, from_safetensors_entry(e, device));
  return out;
}

}  // namespace lvk::io
