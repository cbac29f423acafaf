// libFuzzer target: the safetensors parser and checksum verification must either return a
// consistent result or throw lvk::Error; crashes, sanitizer reports and other exceptions are bugs.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/safetensors_checksum.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::SafetensorsFile f = lvk::io::parse_safetensors(data, size, "fuzz");
    size_t total = 0;
    for (const auto& t : f.tensors) {
      if (t.data.size() != static_cast<size_t>(t.numel()) * lvk::io::safetensors_dtype_size(t.dtype)) std::abort();
      total += t.data.size();
    }
    if (total > size) std::abort();
    // What we parsed must serialize and parse back to the same tensors, and verify the same way.
    const auto again = lvk::io::serialize_safetensors(f);
    const auto g = lvk::io::parse_safetensors(again.data(), again.size(), "fuzz-again");
    if (g.tensors.size() != f.tensors.size() || g.metadata != f.metadata) std::abort();
    if (lvk::io::verify_checksums(f, "fuzz") == lvk::io::ChecksumResult::verified &&
        lvk::io::verify_checksums(g, "fuzz-again") != lvk::io::ChecksumResult::verified)
      std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
