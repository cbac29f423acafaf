#include "vendor_support.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lvk_emu/enqueue.h"

namespace lvk_emu {

size_t matrix_span_bytes(int64_t rows, int64_t cols, int64_t ld, size_t elem_bytes) {
  if (rows <= 0 || cols <= 0) return 0;
  return static_cast<size_t>((cols - 1) * ld + rows) * elem_bytes;
}

bool device_operand(const void* p, size_t bytes, const char* api, const char* operand) {
  if (bytes == 0 || (p != nullptr && is_device_range(p, bytes))) return true;
  std::fprintf(stderr, "lvk-emu: %s: operand %s (%p, %zu bytes) is not device memory\n", api, operand, p, bytes);
  return false;
}

void lib_log(const char* api, const char* reason) {
  static const bool on = [] {
    const char* v = std::getenv("LVK_EMU_LIB_LOG");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  if (on) std::fprintf(stderr, "lvk-emu: %s rejected: %s\n", api, reason);
}

bool tf32_allowed() {
  static const bool allowed = [] {
    const char* v = std::getenv("NVIDIA_TF32_OVERRIDE");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return allowed;
}

float round_tf32(float x) {
  if (!std::isfinite(x)) return x;
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u += 0xfffu + ((u >> 13) & 1u);  // round to nearest even on the 13 dropped bits
  u &= 0xffffe000u;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

}  // namespace lvk_emu
