#pragma once
// cub::DeviceRadixSort for the emulator: a stable sort on bits [begin_bit, end_bit) of each key's
// radix form (signed integers and floats transformed so their order is the unsigned order, as
// CUB does), with CUB's two-phase temp-storage protocol.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "lvk_emu/cub_support.h"
#include "lvk_emu/enqueue.h"

namespace cub {

namespace detail_emu {

// The key as the unsigned number radix passes sort by.
template <typename KeyT>
uint64_t radix_bits(KeyT key) {
  static_assert(std::is_arithmetic_v<KeyT> && sizeof(KeyT) <= 8, "radix sort keys are integers or floats");
  if constexpr (std::is_same_v<KeyT, bool>) {
    return key ? 1u : 0u;
  } else if constexpr (std::is_integral_v<KeyT>) {
    using U = std::make_unsigned_t<KeyT>;
    U u = static_cast<U>(key);
    if constexpr (std::is_signed_v<KeyT>) u ^= U(U(1) << (sizeof(KeyT) * 8 - 1));
    return u;
  } else {
    using U = std::conditional_t<sizeof(KeyT) == 4, uint32_t, uint64_t>;
    U u;
    std::memcpy(&u, &key, sizeof u);
    const U sign = U(1) << (sizeof(KeyT) * 8 - 1);
    return (u & sign) ? U(~u) : U(u | sign);
  }
}

template <typename ValueT>
constexpr size_t value_bytes() {
  if constexpr (std::is_void_v<ValueT>) {
    return 0;
  } else {
    return sizeof(ValueT);
  }
}

template <bool Descending, typename KeyT, typename ValueT>
cudaError_t sort(const char* api, void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                 KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out, long long n, int begin_bit,
                 int end_bit, cudaStream_t stream) {
  constexpr bool kPairs = !std::is_void_v<ValueT>;
  const size_t needed = lvk_emu::cub_sort_temp_bytes(n, sizeof(KeyT), value_bytes<ValueT>());
  if (d_temp_storage == nullptr) {
    temp_storage_bytes = needed;
    return cudaSuccess;
  }
  if (n < 0 || begin_bit < 0 || end_bit > static_cast<int>(sizeof(KeyT) * 8) || begin_bit > end_bit)
    return cudaErrorInvalidValue;
  if (cudaError_t e = lvk_emu::cub_check_temp(api, d_temp_storage, temp_storage_bytes, needed); e != cudaSuccess)
    return e;
  if (!lvk_emu::cub_operand(d_keys_in, n, api, "d_keys_in") || !lvk_emu::cub_operand(d_keys_out, n, api, "d_keys_out"))
    return cudaErrorInvalidDevicePointer;
  const auto overlap = [n](const void* a, const void* b, size_t elem) {
    const auto* pa = static_cast<const char*>(a);
    const auto* pb = static_cast<const char*>(b);
    const size_t bytes = static_cast<size_t>(n) * elem;
    return pa < pb + bytes && pb < pa + bytes;
  };
  if (n > 0 && overlap(d_keys_in, d_keys_out, sizeof(KeyT))) return cudaErrorInvalidValue;  // CUB's precondition
  if constexpr (kPairs) {
    if (!lvk_emu::cub_operand(d_values_in, n, api, "d_values_in") ||
        !lvk_emu::cub_operand(d_values_out, n, api, "d_values_out"))
      return cudaErrorInvalidDevicePointer;
    if (n > 0 && overlap(d_values_in, d_values_out, sizeof(ValueT))) return cudaErrorInvalidValue;
  }
  if (n == 0) return cudaSuccess;
  const int bits = end_bit - begin_bit;
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  return lvk_emu::enqueue(stream, api, [=] {
    lvk_emu::cub_scribble(d_temp_storage, needed);
    std::vector<uint64_t> digit(static_cast<size_t>(n));
    if (bits > 0)  // else every key compares equal and the stable sort is a copy
      for (long long i = 0; i < n; ++i) digit[i] = (radix_bits(d_keys_in[i]) >> begin_bit) & mask;
    std::vector<long long> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0LL);
    std::stable_sort(order.begin(), order.end(),
                     [&](long long a, long long b) { return Descending ? digit[a] > digit[b] : digit[a] < digit[b]; });
    for (long long i = 0; i < n; ++i) d_keys_out[i] = d_keys_in[order[i]];
    if constexpr (kPairs)
      for (long long i = 0; i < n; ++i) d_values_out[i] = d_values_in[order[i]];
  });
}

}  // namespace detail_emu

struct DeviceRadixSort {
  template <typename KeyT, typename ValueT, typename NumItemsT>
  static cudaError_t SortPairs(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                               KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out, NumItemsT num_items,
                               int begin_bit = 0, int end_bit = sizeof(KeyT) * 8, cudaStream_t stream = 0) {
    return detail_emu::sort<false>("cub::DeviceRadixSort::SortPairs", d_temp_storage, temp_storage_bytes, d_keys_in,
                                   d_keys_out, d_values_in, d_values_out, static_cast<long long>(num_items), begin_bit,
                                   end_bit, stream);
  }

  template <typename KeyT, typename ValueT, typename NumItemsT>
  static cudaError_t SortPairsDescending(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                                         KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out,
                                         NumItemsT num_items, int begin_bit = 0, int end_bit = sizeof(KeyT) * 8,
                                         cudaStream_t stream = 0) {
    return detail_emu::sort<true>("cub::DeviceRadixSort::SortPairsDescending", d_temp_storage, temp_storage_bytes,
                                  d_keys_in, d_keys_out, d_values_in, d_values_out, static_cast<long long>(num_items),
                                  begin_bit, end_bit, stream);
  }

  template <typename KeyT, typename NumItemsT>
  static cudaError_t SortKeys(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in, KeyT* d_keys_out,
                              NumItemsT num_items, int begin_bit = 0, int end_bit = sizeof(KeyT) * 8,
                              cudaStream_t stream = 0) {
    return detail_emu::sort<false, KeyT, void>("cub::DeviceRadixSort::SortKeys", d_temp_storage, temp_storage_bytes,
                                               d_keys_in, d_keys_out, nullptr, nullptr,
                                               static_cast<long long>(num_items), begin_bit, end_bit, stream);
  }

  template <typename KeyT, typename NumItemsT>
  static cudaError_t SortKeysDescending(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                                        KeyT* d_keys_out, NumItemsT num_items, int begin_bit = 0,
                                        int end_bit = sizeof(KeyT) * 8, cudaStream_t stream = 0) {
    return detail_emu::sort<true, KeyT, void>("cub::DeviceRadixSort::SortKeysDescending", d_temp_storage,
                                              temp_storage_bytes, d_keys_in, d_keys_out, nullptr, nullptr,
                                              static_cast<long long>(num_items), begin_bit, end_bit, stream);
  }
};

}  // namespace cub
