#include "arrays.h"

#include <string>

#include "runtime/context.h"

namespace lvkpy {

namespace {

constexpr int kDlCpu = 1, kDlCuda = 2;  // DLPack device types

std::string kind_of(nb::handle h) {
  return nb::type_name(h.type()).c_str();
}

nb::dlpack::dtype dl_dtype(lvk::DType t) {
  return t == lvk::DType::i32 ? nb::dtype<int32_t>() : nb::dtype<float>();
}

std::string dl_dtype_name(const nb::dlpack::dtype& d) {
  const char* kind = d.code == uint8_t(nb::dlpack::dtype_code::Float)    ? "float"
                     : d.code == uint8_t(nb::dlpack::dtype_code::Int)    ? "int"
                     : d.code == uint8_t(nb::dlpack::dtype_code::UInt)   ? "uint"
                     : d.code == uint8_t(nb::dlpack::dtype_code::Bfloat) ? "bfloat"
                     : d.code == uint8_t(nb::dlpack::dtype_code::Bool)   ? "bool"
                                                                         : "other";
  return std::string(kind) + std::to_string(d.bits);
}

}  // namespace

lvk::Tensor borrow(const char* fn, const char* arg, nb::handle array, lvk::DType dtype) {
  nb::ndarray<> a;
  if (array.is_none() || !nb::try_cast(array, a, false))
    throw nb::type_error((std::string(fn) + ": " + arg +
                          " must be an array (numpy, torch, anything with __dlpack__), got " + kind_of(array))
                             .c_str());
  const char* want = dtype == lvk::DType::i32 ? "int32" : "float32";
  if (a.dtype() != dl_dtype(dtype))
    throw nb::type_error((std::string(fn) + ": " + arg + " must be " + want + ", got " + dl_dtype_name(a.dtype()) +
                          (dtype == lvk::DType::f32 ? " (cast it with .astype(float32) / .float())" : ""))
                             .c_str());
  if (a.ndim() > size_t(lvk::Shape::kMaxRank))
    throw nb::value_error((std::string(fn) + ": " + arg + " has " + std::to_string(a.ndim()) + " dimensions, at most " +
                           std::to_string(lvk::Shape::kMaxRank) + " are supported")
                              .c_str());
  std::vector<int64_t> dims(a.ndim());
  int64_t expected = 1;
  for (size_t i = a.ndim(); i-- > 0;) {
    dims[i] = int64_t(a.shape(i));
    // DLPack allows null strides (compact row-major); size-1 axes may carry any stride.
    if (a.stride_ptr() && dims[i] != 1 && a.stride(i) != expected)
      throw nb::value_error((std::string(fn) + ": " + arg +
                             " must be C-contiguous (row-major, no views with strides); call .contiguous() / "
                             "numpy.ascontiguousarray first")
                                .c_str());
    expected *= dims[i];
  }
  lvk::Device device;
  if (a.device_type() == kDlCpu) {
    device = lvk::Device::cpu();
  } else if (a.device_type() == kDlCuda) {
    const lvk::CudaStatus& st = lvk::cuda_status();
    if (!st.usable)
      throw nb::value_error(
          (std::string(fn) + ": " + arg + " is on a CUDA device but lvk cannot use CUDA: " + st.reason).c_str());
    if (a.device_id() != 0)
      throw nb::value_error(
          (std::string(fn) + ": " + arg + " is on cuda:" + std::to_string(a.device_id()) + "; lvk runs on cuda:0 only")
              .c_str());
    device = lvk::Device::cuda(0);
  } else {
    throw nb::value_error((std::string(fn) + ": " + arg + " lives on DLPack device type " +
                           std::to_string(a.device_type()) + "; lvk takes CPU or CUDA arrays")
                              .c_str());
  }
  // The deleter may run wherever the last Tensor view dies; the array's owner is a Python object.
  auto owner = std::shared_ptr<void>(new nb::ndarray<>(a), [](void* p) {
    nb::gil_scoped_acquire gil;
    delete static_cast<nb::ndarray<>*>(p);
  });
  char* data = static_cast<char*>(a.data_handle()) + a.byte_offset();
  return lvk::Tensor::borrow(data, lvk::Shape(dims), dtype, device, std::move(owner));
}

lvk::Tensor borrow_optional(const char* fn, const char* arg, nb::handle array, lvk::DType dtype) {
  return array.is_none() ? lvk::Tensor() : borrow(fn, arg, array, dtype);
}

nb::object to_array(const lvk::Tensor& t) {
  if (!t.defined()) return nb::none();
  auto* keep = new lvk::Tensor(t);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<lvk::Tensor*>(p); });
  std::vector<size_t> shape;
  for (int64_t d : t.shape().dims()) shape.push_back(size_t(d));
  const bool cuda = t.device().is_cuda();
  nb::ndarray<nb::array_api> out(t.raw(), shape.size(), shape.data(), owner, nullptr, dl_dtype(t.dtype()),
                                 cuda ? kDlCuda : kDlCpu, cuda ? t.device().index : 0);
  return nb::cast(out, nb::rv_policy::reference);
}

lvk::Device common_device(const char* fn, std::initializer_list<lvk::Tensor> tensors) {
  std::optional<lvk::Device> device;
  for (const lvk::Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (!device) device = t.device();
    if (*device != t.device())
      throw nb::value_error((std::string(fn) + ": arrays on two devices (" + device->str() + " and " +
                             t.device().str() + "); move them to one")
                                .c_str());
  }
  return device.value_or(lvk::Device::cpu());
}

CallerStream::CallerStream(const lvk::Device& device, std::optional<uintptr_t> stream) {
#if LVK_WITH_CUDA
  if (device.is_cuda() && stream) scope_.emplace(reinterpret_cast<cudaStream_t>(*stream));
#else
  (void)device;
  (void)stream;
#endif
}

}  // namespace lvkpy
