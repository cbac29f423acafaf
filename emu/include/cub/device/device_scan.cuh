#pragma once
// cub::DeviceScan (prefix sums) for the emulator, with CUB's two-phase temp-storage protocol: a
// call with d_temp_storage == nullptr only writes temp_storage_bytes; the second call checks the
// size it is given and queues the scan on the stream.
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#include "lvk_emu/cub_support.h"
#include "lvk_emu/enqueue.h"

namespace cub {

struct DeviceScan {
  // d_out[i] = d_in[0] + ... + d_in[i - 1] (d_out[0] = 0).
  template <typename InputIteratorT, typename OutputIteratorT, typename NumItemsT = int>
  static cudaError_t ExclusiveSum(void* d_temp_storage, size_t& temp_storage_bytes, InputIteratorT d_in,
                                  OutputIteratorT d_out, NumItemsT num_items, cudaStream_t stream = 0) {
    return scan<false>("cub::DeviceScan::ExclusiveSum", d_temp_storage, temp_storage_bytes, d_in, d_out,
                       static_cast<long long>(num_items), stream);
  }

  // d_out[i] = d_in[0] + ... + d_in[i].
  template <typename InputIteratorT, typename OutputIteratorT, typename NumItemsT = int>
  static cudaError_t InclusiveSum(void* d_temp_storage, size_t& temp_storage_bytes, InputIteratorT d_in,
                                  OutputIteratorT d_out, NumItemsT num_items, cudaStream_t stream = 0) {
    return scan<true>("cub::DeviceScan::InclusiveSum", d_temp_storage, temp_storage_bytes, d_in, d_out,
                      static_cast<long long>(num_items), stream);
  }

 private:
  template <bool Inclusive, typename InputIteratorT, typename OutputIteratorT>
  static cudaError_t scan(const char* api, void* d_temp_storage, size_t& temp_storage_bytes, InputIteratorT d_in,
                          OutputIteratorT d_out, long long n, cudaStream_t stream) {
    const size_t needed = lvk_emu::cub_scan_temp_bytes(n);
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = needed;
      return cudaSuccess;
    }
    if (n < 0) return cudaErrorInvalidValue;
    if (cudaError_t e = lvk_emu::cub_check_temp(api, d_temp_storage, temp_storage_bytes, needed); e != cudaSuccess)
      return e;
    if (!lvk_emu::cub_operand(d_in, n, api, "d_in") || !lvk_emu::cub_operand(d_out, n, api, "d_out"))
      return cudaErrorInvalidDevicePointer;
    if (n == 0) return cudaSuccess;
    // The sum runs in the input's type promoted as '+' promotes it, like CUB's accumulator.
    using InputT = typename std::iterator_traits<InputIteratorT>::value_type;
    using AccumT = std::decay_t<decltype(std::declval<InputT>() + std::declval<InputT>())>;
    return lvk_emu::enqueue(stream, api, [=]() mutable {
      lvk_emu::cub_scribble(d_temp_storage, needed);
      AccumT acc{};
      for (long long i = 0; i < n; ++i) {
        const AccumT v = static_cast<AccumT>(d_in[i]);  // read before the write: in place is allowed
        if (Inclusive) acc = lvk_emu::cub_add(acc, v);
        d_out[i] = acc;
        if (!Inclusive) acc = lvk_emu::cub_add(acc, v);
      }
    });
  }
};

}  // namespace cub
