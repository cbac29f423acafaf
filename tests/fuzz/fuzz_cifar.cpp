// libFuzzer target: CIFAR-10 batch parser.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "runtime/io/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lvk::io::CifarBatch b = lvk::io::parse_cifar10(data, size, "fuzz");
    if (b.labels.size() != static_cast<size_t>(b.count)) std::abort();
    for (uint8_t l : b.labels)
      if (l >= lvk::io::kCifarClasses) std::abort();
  } catch (const lvk::Error&) {
  }
  return 0;
}
