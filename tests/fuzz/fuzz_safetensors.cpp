// libFuzzer target: the safetensors parser must either return a consistent file or throw
// lvk::Error; crashes, sanitizer reports and other exceptions are bugs.
#include <cstdint>
#include <cstdlib>

#include "runtime/error.h"
#include "runtime/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::SafetensorsFile f = lvk::io::parse_safetensors(data, size, "fuzz");
    size_t total = 0;
    for (const auto& t : f.tensors) {
      if (t.data.size() != static_cast<size_t>(t.numel()) * lvk::io::safetensors_dtype_size(t.dtype)) std::abort();
      total += t.data.size();
    }
    if (total > size) std::abort();
    // What we parsed must serialize and parse back to the same tensors.
    const auto again = lvk::io::serialize_safetensors(f);
    const auto g = lvk::io::parse_safetensors(again.data(), again.size(), "fuzz-again");
    if (g.tensors.size() != f.tensors.size() || g.metadata != f.metadata) std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
