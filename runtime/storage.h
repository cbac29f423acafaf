#pragma once
// Owning, device-tagged byte buffers. Copies are explicit (copy_bytes); a Storage is never copied.
#include <cstddef>

#include "runtime/device.h"

namespace lvk {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// Copies `bytes` between any two devices, ordered on the compute stream. Copies that end on the
// host wait for the stream, so the host may read the result immediately.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace lvk
