#pragma once
// What the emulated CUB device algorithms share: their temp-storage sizes and the checks of the
// second (working) call. Implemented in emu/src/cub_device.cpp.
#include <cstddef>
#include <type_traits>

#include "lvk_emu/types.h"

namespace lvk_emu {

// Bytes of temp storage each algorithm asks for, shaped like CUB's (tile states for the scan;
// the alternate key and value buffers plus digit histograms for the sort).
size_t cub_scan_temp_bytes(long long num_items);
size_t cub_sort_temp_bytes(long long num_items, size_t key_bytes, size_t value_bytes);

// CUB's answer when temp_storage_bytes is below what the algorithm needs: cudaErrorInvalidValue.
// Temp storage outside device memory fails too (a GPU would fault in the kernel).
cudaError_t cub_check_temp(const char* api, const void* d_temp_storage, size_t temp_storage_bytes, size_t needed);

// False (with a diagnostic) when [p, p + bytes) is not device memory.
bool cub_device_range(const void* p, size_t bytes, const char* api, const char* operand);

// Overwrites the temp storage the way a real run leaves it changed, so callers that keep data
// there are caught.
void cub_scribble(void* d_temp_storage, size_t bytes);

// Only raw pointers can be checked; fancy iterators pass.
template <class It>
bool cub_operand(It it, long long n, const char* api, const char* operand) {
  if constexpr (std::is_pointer_v<It>) {
    return cub_device_range(static_cast<const void*>(it), static_cast<size_t>(n) * sizeof(*it), api, operand);
  } else {
    (void)it, (void)n, (void)api, (void)operand;
    return true;
  }
}

// a + b with the wrap-around of GPU integer arithmetic (no signed-overflow UB).
template <class T>
T cub_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

}  // namespace lvk_emu
