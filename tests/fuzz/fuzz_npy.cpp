// libFuzzer target: .npy parser. Whatever the bytes, parse_npy either throws lvk::Error or
// returns an array whose data size matches its shape and dtype exactly.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "runtime/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::NpyArray a = lvk::io::parse_npy(data, size, "fuzz");
    uint64_t n = a.dtype == lvk::io::NpyDType::u8 ? 1 : 4;
    for (int64_t d : a.shape) {
      if (d < 0) std::abort();
      n *= static_cast<uint64_t>(d);
    }
    if (n != a.data.size()) std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
