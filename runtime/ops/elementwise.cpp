// add, sub, mul, scale and in-place accumulation, with their backward rules.
#include "kernels/elementwise.h"

#include "runtime/op.h"
#include "runtime/ops/elementwise.h"

namespace lvk {

namespace {

// Checks a same-shape f32 binary op and allocates its output.
Tensor binary_output(const OpScope& op, const Tensor& a, const Tensor& b) {
  check_dtype(op.name(), "a", a, DType::f32);
  check_dtype(op.name(), "b", b, DType::f32);
  check_same_shape(op.name(), a, b);
  check_same_device(op.name(), a, b);
  return Tensor::empty(a.shape(), DType::f32, a.device());
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  OpScope op("add");
  Tensor out = binary_output(op, a, b);
  LVK_DISPATCH(a.device(), add, out.data<float>(), a.data<float>(), b.data<float>(), out.numel());
  if (Tape::wants({a, b})) {
    Tape::recording()->record(op.name(), {a, b}, {out}, [a, b, out](GradBook& book) {
      const Tensor g = book.grad(out);
      book.accumulate(a, g);
      book.accumulate(b, g);
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  OpScope op("sub");
  Tensor out = binary_output(op, a, b);
  LVK_DISPATCH(a.device(), sub, out.data<float>(), a.data<float>(), b.data<float>(), out.numel());
  if (Tape::wants({a, b})) {
    Tape::recording()->record(op.name(), {a, b}, {out}, [a, b, out](GradBook& book) {
      const Tensor g = book.grad(out);
      book.accumulate(a, g);
      if (book.wants(b)) book.accumulate(b, scale(g, -1.0f));
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  OpScope op("mul");
  Tensor out = binary_output(op, a, b);
  LVK_DISPATCH(a.device(), mul, out.data<float>(), a.data<float>(), b.data<float>(), out.numel());
  if (Tape::wants({a, b})) {
    Tape::recording()->record(op.name(), {a, b}, {out}, [a, b, out](GradBook& book) {
      const Tensor g = book.grad(out);
      if (book.wants(a)) book.accumulate(a, mul(g, b));
      if (book.wants(b)) book.accumulate(b, mul(g, a));
    });
  }
  return out;
}

Tensor scale(const Tensor& x, float alpha) {
  OpScope op("scale");
  check_dtype(op.name(), "x", x, DType::f32);
  Tensor out = Tensor::empty(x.shape(), DType::f32, x.device());
  LVK_DISPATCH(x.device(), scale, out.data<float>(), x.data<float>(), alpha, out.numel());
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {out},
                              [x, out, alpha](GradBook& book) { book.accumulate(x, scale(book.grad(out), alpha)); });
  }
  return out;
}

void accumulate_into(Tensor& dst, const Tensor& src, float alpha) {
  OpScope op("accumulate");
  check_dtype(op.name(), "dst", dst, DType::f32);
  check_dtype(op.name(), "src", src, DType::f32);
  check_same_shape(op.name(), dst, src);
  check_same_device(op.name(), dst, src);
  LVK_DISPATCH(dst.device(), axpy, dst.data<float>(), src.data<float>(), alpha, dst.numel());
}

}  // namespace lvk
