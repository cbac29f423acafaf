#pragma once
// Tensor: a contiguous row-major array (up to 5 dims) of one dtype on one device. A Tensor is a
// cheap shared handle, so ops and backward closures can hold on to their inputs; deep copies are
// explicit (clone, to).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/shape.h"
#include "runtime/storage.h"

namespace lvk {

class Tensor {
 public:
  Tensor() = default;  // undefined; defined() is false

  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());
  // A tensor over memory it does not own (contiguous, row-major, `shape.numel()` elements of
  // `dtype` on `device`); `owner` keeps that memory alive for as long as any view of it exists.
  static Tensor borrow(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int rank() const { return shape().rank(); }
  int64_t dim(int axis) const { return shape()[axis]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string str() const;  // "f32[2, 3] on cpu"

  // Typed raw pointer (host or device, as device() says). Throws on a dtype mismatch.
  template <class T>
  T* data() const;
  void* raw() const { return impl().storage->data(); }

  // Copies to the host; works from any device.
  template <class T>
  std::vector<T> to_vector() const;
  float item() const;  // the single f32 value of a one-element tensor

  Tensor to(Device device) const;  // deep copy onto `device` (also when it is the same device)
  Tensor clone() const { return to(device()); }
  // Same storage, new shape of equal numel. Not recorded on the tape; use lvk::reshape for that.
  Tensor view(const Shape& shape) const;

  // Autograd bookkeeping used by the Tape. A leaf that requires grad accumulates into grad().
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on);
  Tensor grad() const;                   // undefined until a backward pass reached this leaf
  void set_grad(const Tensor& g) const;  // used by the tape and by optimizers (zero_grad)
  const void* id() const { return impl_.get(); }

 private:
  struct Impl {
    Shape shape;
    DType dtype = DType::f32;
    std::shared_ptr<Storage> storage;
    bool requires_grad = false;
    std::shared_ptr<Impl> grad;
  };
  explicit Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  const Impl& impl() const;
  std::shared_ptr<Impl> impl_;
};

// Shape/dtype/device checks shared by every op; each message names the op and both operands.
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected);
void check_rank(const char* op, const char* arg, const Tensor& t, int rank);
void check_defined(const char* op, const char* arg, const Tensor& t);

}  // namespace lvk
