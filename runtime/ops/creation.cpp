// Fills, random fills and recorded copies/reshapes.
#include "runtime/ops/creation.h"

#include "kernels/elementwise.h"
#include "runtime/op.h"

namespace lvk {

void fill_(Tensor& t, float value) {
  OpScope op("fill");
  check_defined(op.name(), "tensor", t);
  if (t.dtype() == DType::f32) {
    LVK_DISPATCH(t.device(), fill_f32, t.data<float>(), value, t.numel());
  } else {
    check_dtype(op.name(), "tensor", t, DType::i32);
    LVK_DISPATCH(t.device(), fill_i32, t.data<int32_t>(), static_cast<int32_t>(value), t.numel());
  }
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_(t, 0.0f);
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, DType::f32, device);
  fill_(t, value);
  return t;
}

Tensor uniform(const Shape& shape, uint64_t seed, uint64_t offset, Device device) {
  OpScope op("uniform");
  Tensor out = Tensor::empty(shape, DType::f32, device);
  LVK_DISPATCH(device, uniform, out.data<float>(), seed, offset, out.numel());
  return out;
}

Tensor normal(const Shape& shape, uint64_t seed, uint64_t offset, Device device) {
  OpScope op("normal");
  Tensor out = Tensor::empty(shape, DType::f32, device);
  LVK_DISPATCH(device, normal, out.data<float>(), seed, offset, out.numel());
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  OpScope op("to_device");
  check_defined(op.name(), "x", x);
  Tensor out = x.to(device);
  if (Tape::wants({x})) {
    const Device source = x.device();
    Tape::recording()->record(op.name(), {x}, {out}, [x, out, source](GradBook& book) {
      if (Tensor g = book.grad(out); g.defined()) book.accumulate(x, g.to(source));
    });
  }
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  OpScope op("reshape");
  check_defined(op.name(), "x", x);
  Tensor out = x.view(shape);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {out}, [x, out](GradBook& book) {
      if (Tensor g = book.grad(out); g.defined()) book.accumulate(x, g.view(x.shape()));
    });
  }
  return out;
}

}  // namespace lvk
