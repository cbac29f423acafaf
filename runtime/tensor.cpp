#include "runtime/tensor.h"

#include <cstring>

#include "runtime/context.h"

namespace lvk {

const Tensor::Impl& Tensor::impl() const {
  LVK_CHECK(impl_ != nullptr, "tensor: use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  LVK_CHECK(dtype == DType::f32 || dtype == DType::i32, "tensor: dtype ", dtype_name(dtype),
            " is not implemented yet (f32 and i32 are)");
  auto impl = std::make_shared<Impl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::borrow(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner) {
  LVK_CHECK(dtype == DType::f32 || dtype == DType::i32, "tensor: dtype ", dtype_name(dtype),
            " is not implemented yet (f32 and i32 are)");
  if (device.is_cuda()) require_cuda(device.index);
  auto impl = std::make_shared<Impl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage =
      std::make_shared<Storage>(data, static_cast<size_t>(shape.numel()) * dtype_size(dtype), device, std::move(owner));
  return Tensor(std::move(impl));
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape().str() + " on " + device().str();
}

template <class T>
T* Tensor::data() const {
  LVK_CHECK(dtype() == dtype_of<T>::value, "tensor: data<", dtype_name(dtype_of<T>::value), ">() on a ", str());
  return static_cast<T*>(raw());
}
template float* Tensor::data<float>() const;
template int32_t* Tensor::data<int32_t>() const;

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  LVK_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "tensor: from_vector got ", values.size(),
            " values for shape ", shape.str(), " (", shape.numel(), " elements)");
  Tensor t = empty(shape, dtype_of<T>::value, device);
  copy_bytes(t.raw(), device, values.data(), Device::cpu(), t.bytes());
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, Device);

template <class T>
std::vector<T> Tensor::to_vector() const {
  LVK_CHECK(dtype() == dtype_of<T>::value, "tensor: to_vector<", dtype_name(dtype_of<T>::value), "> on a ", str());
  std::vector<T> out(static_cast<size_t>(numel()));
  copy_bytes(out.data(), Device::cpu(), raw(), device(), bytes());
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;

float Tensor::item() const {
  LVK_CHECK(numel() == 1, "tensor: item() needs one element, got ", str());
  return to_vector<float>()[0];
}

Tensor Tensor::to(Device target) const {
  Tensor out = empty(shape(), dtype(), target);
  copy_bytes(out.raw(), target, raw(), device(), bytes());
  return out;
}

Tensor Tensor::view(const Shape& new_shape) const {
  LVK_CHECK(new_shape.numel() == numel(), "view: cannot view ", str(), " as ", new_shape.str(),
            " (element counts differ)");
  auto impl = std::make_shared<Impl>(*impl_);
  impl->shape = new_shape;
  impl->grad = nullptr;
  impl->requires_grad = false;
  return Tensor(std::move(impl));
}

Tensor& Tensor::set_requires_grad(bool on) {
  LVK_CHECK(!on || dtype() == DType::f32, "tensor: only f32 tensors can require grad, got ", str());
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  return Tensor(impl().grad);
}

void Tensor::set_grad(const Tensor& g) const {
  if (g.defined()) {
    check_same_shape("set_grad", *this, g);
    check_same_device("set_grad", *this, g);
  }
  impl_->grad = g.impl_;
}

void check_defined(const char* op, const char* arg, const Tensor& t) {
  LVK_CHECK(t.defined(), op, ": ", arg, " is an undefined tensor");
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, "first operand", a);
  check_defined(op, "second operand", b);
  LVK_CHECK(a.shape() == b.shape(), op, ": shape mismatch, ", a.shape().str(), " vs ", b.shape().str());
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  LVK_CHECK(a.device() == b.device(), op, ": device mismatch, ", a.str(), " vs ", b.str(),
            " (copy explicitly with .to(device))");
}

void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected) {
  check_defined(op, arg, t);
  LVK_CHECK(t.dtype() == expected, op, ": ", arg, " must be ", dtype_name(expected), ", got ", t.str());
}

void check_rank(const char* op, const char* arg, const Tensor& t, int rank) {
  check_defined(op, arg, t);
  LVK_CHECK(t.rank() == rank, op, ": ", arg, " must have rank ", rank, ", got ", t.str());
}

}  // namespace lvk
