#include "runtime/ops/coupling.h"

#include <cmath>

#include "kernels/coupling.h"
#include "runtime/op.h"

namespace lvk {

namespace {

struct RowView {
  int64_t n, d;
};

RowView check_coupling(const OpScope& op, const Tensor& in, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                       float scale) {
  check_dtype(op.name(), "input", in, DType::f32);
  check_dtype(op.name(), "mask", mask, DType::f32);
  check_dtype(op.name(), "s_raw", s_raw, DType::f32);
  check_dtype(op.name(), "t", t, DType::f32);
  LVK_CHECK(in.rank() >= 2, op.name(), ": input must be [N, D] or [B, C, H, W], got ", in.str());
  check_same_shape(op.name(), in, s_raw);
  check_same_shape(op.name(), in, t);
  check_same_device(op.name(), in, mask);
  check_same_device(op.name(), in, s_raw);
  check_same_device(op.name(), in, t);
  int64_t features = 1;
  for (int a = 1; a < in.rank(); ++a) features *= in.dim(a);
  LVK_CHECK(mask.numel() == features, op.name(), ": mask has ", mask.numel(), " elements but the input ", in.str(),
            " has ", features, " features per row");
  LVK_CHECK(std::isfinite(scale) && scale > 0.0f, op.name(), ": scale must be finite and > 0, got ", scale);
  return {in.dim(0), features};
}

// Gradient of an output, or zeros when nothing flowed into it.
Tensor grad_or_zeros(GradBook& book, const Tensor& out) {
  Tensor g = book.grad(out);
  return g.defined() ? g : Tensor::zeros(out.shape(), DType::f32, out.device());
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

CouplingResult coupling_forward(const Tensor& x, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                                float scale) {
  OpScope op("coupling_forward");
  const RowView rv = check_coupling(op, x, mask, s_raw, t, scale);
  CouplingResult r{Tensor::empty(x.shape(), DType::f32, x.device()), Tensor::empty({rv.n}, DType::f32, x.device())};
  LVK_DISPATCH(x.device(), coupling_forward, r.out.data<float>(), r.logdet.data<float>(), x.data<float>(),
               mask.data<float>(), s_raw.data<float>(), t.data<float>(), scale, rv.n, rv.d);
  if (Tape::wants({x, s_raw, t})) {
    Tape::recording()->record(op.name(), {x, s_raw, t}, {r.out, r.logdet},
                              [x, mask, s_raw, t, r, scale, rv](GradBook& book) {
                                const Tensor dy = grad_or_zeros(book, r.out), dld = book.grad(r.logdet);
                                Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
                                Tensor ds = Tensor::empty(x.shape(), DType::f32, x.device());
                                Tensor dt = Tensor::empty(x.shape(), DType::f32, x.device());
                                LVK_DISPATCH(x.device(), coupling_forward_backward, dx.data<float>(),
                                             ds.data<float>(), dt.data<float>(), dy.data<float>(), data_or_null(dld),
                                             x.data<float>(), mask.data<float>(), s_raw.data<float>(), scale, rv.n,
                                             rv.d);
                                book.accumulate(x, dx);
                                book.accumulate(s_raw, ds);
                                book.accumulate(t, dt);
                              });
  }
  return r;
}

CouplingResult coupling_inverse(const Tensor& y, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                                float scale) {
  OpScope op("coupling_inverse");
  const RowView rv = check_coupling(op, y, mask, s_raw, t, scale);
  CouplingResult r{Tensor::empty(y.shape(), DType::f32, y.device()), Tensor::empty({rv.n}, DType::f32, y.device())};
  LVK_DISPATCH(y.device(), coupling_inverse, r.out.data<float>(), r.logdet.data<float>(), y.data<float>(),
               mask.data<float>(), s_raw.data<float>(), t.data<float>(), scale, rv.n, rv.d);
  if (Tape::wants({y, s_raw, t})) {
    Tape::recording()->record(op.name(), {y, s_raw, t}, {r.out, r.logdet},
                              [y, mask, s_raw, t, r, scale, rv](GradBook& book) {
                                const Tensor dx = grad_or_zeros(book, r.out), dld = book.grad(r.logdet);
                                Tensor dy = Tensor::empty(y.shape(), DType::f32, y.device());
                                Tensor ds = Tensor::empty(y.shape(), DType::f32, y.device());
                                Tensor dt = Tensor::empty(y.shape(), DType::f32, y.device());
                                LVK_DISPATCH(y.device(), coupling_inverse_backward, dy.data<float>(),
                                             ds.data<float>(), dt.data<float>(), dx.data<float>(), data_or_null(dld),
                                             y.data<float>(), mask.data<float>(), s_raw.data<float>(),
                                             t.data<float>(), scale, rv.n, rv.d);
                                book.accumulate(y, dy);
                                book.accumulate(s_raw, ds);
                                book.accumulate(t, dt);
                              });
  }
  return r;
}

Tensor coupling_mask(MaskKind kind, const Shape& features, bool flip, Device device) {
  const bool image = kind == MaskKind::checkerboard || kind == MaskKind::channel;
  LVK_CHECK(image ? features.rank() == 3 : features.rank() == 1, "coupling_mask: ",
            image ? "checkerboard and channel masks need [C, H, W]" : "alternating and half masks need [D]",
            ", got ", features.str());
  LVK_CHECK(features.numel() > 0, "coupling_mask: no features in ", features.str());
  std::vector<float> m(static_cast<size_t>(features.numel()));
  for (int64_t i = 0; i < features.numel(); ++i) {
    bool pass = false;
    switch (kind) {
      case MaskKind::alternating: pass = i % 2 == 0; break;
      case MaskKind::half: pass = i < features[0] / 2; break;
      case MaskKind::checkerboard: {
        const int64_t w = features[2], hw = features[1] * w, h = (i % hw) / w;
        pass = (h + i % w) % 2 == 0;
        break;
      }
      case MaskKind::channel: pass = i / (features[1] * features[2]) < features[0] / 2; break;
    }
    m[static_cast<size_t>(i)] = (pass != flip) ? 1.0f : 0.0f;
  }
  return Tensor::from_vector(m, features, device);
}

}  // namespace lvk
