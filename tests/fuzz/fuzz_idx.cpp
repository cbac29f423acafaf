// libFuzzer target: IDX parser (raw and gzip). A small decompression cap keeps runs fast.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "runtime/io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::IdxArray a = lvk::io::parse_idx(data, size, "fuzz", size_t{1} << 24);
    uint64_t n = 1;
    for (int64_t d : a.dims) n *= static_cast<uint64_t>(d);
    if (n != a.data.size()) std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
