// The non-template half of the emulated CUB device algorithms (see lvk_emu/cub_support.h).
#include <cstdio>
#include <cstring>

#include "lvk_emu/cub_support.h"
#include "vendor_support.h"

namespace lvk_emu {

namespace {

size_t align256(size_t b) {
  return (b + 255) / 256 * 256;
}

constexpr long long kScanTile = 2048;     // items per tile of the scan
constexpr size_t kTileStateBytes = 16;    // one status/aggregate/prefix record per tile
constexpr size_t kHistogramBytes = 4096;  // digit counters of the sort passes

}  // namespace

size_t cub_scan_temp_bytes(long long num_items) {
  const long long tiles = num_items > 0 ? (num_items + kScanTile - 1) / kScanTile : 0;
  return align256(static_cast<size_t>(tiles + 32) * kTileStateBytes);  // + the look-back warp's padding
}

size_t cub_sort_temp_bytes(long long num_items, size_t key_bytes, size_t value_bytes) {
  const size_t n = num_items > 0 ? static_cast<size_t>(num_items) : 0;
  return align256(n * key_bytes) + align256(n * value_bytes) + kHistogramBytes;
}

cudaError_t cub_check_temp(const char* api, const void* d_temp_storage, size_t temp_storage_bytes, size_t needed) {
  if (temp_storage_bytes < needed) {
    lib_log(api, "temp_storage_bytes is smaller than the size query returned");
    return cudaErrorInvalidValue;
  }
  return device_operand(d_temp_storage, needed, api, "d_temp_storage") ? cudaSuccess : cudaErrorInvalidDevicePointer;
}

bool cub_device_range(const void* p, size_t bytes, const char* api, const char* operand) {
  return device_operand(p, bytes, api, operand);
}

void cub_scribble(void* d_temp_storage, size_t bytes) {
  std::memset(d_temp_storage, 0xA5, bytes);
}

}  // namespace lvk_emu
