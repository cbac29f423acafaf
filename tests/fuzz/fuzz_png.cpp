// libFuzzer target: PNG decoder (libpng behind our setjmp/longjmp error bridge).
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "runtime/io/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::Image img = lvk::io::decode_png(data, size, "fuzz");
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * img.channels) std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
