#pragma once
// Device-tagged byte buffers, owned or borrowed. Copies are explicit (copy_bytes); a Storage is
// never copied.
#include <cstddef>
#include <memory>

#include "runtime/device.h"

namespace lvk {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  // Borrows memory someone else allocated (e.g. an array handed over through DLPack): never freed
  // here; `owner` is held until the Storage dies so the memory outlives every tensor viewing it.
  Storage(void* data, size_t bytes, Device device, std::shared_ptr<void> owner);
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
  std::shared_ptr<void> owner_;  // set for borrowed memory
};

// Copies `bytes` between any two devices, ordered on the compute stream. Copies that end on the
// host wait for the stream, so the host may read the result immediately.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace lvk
