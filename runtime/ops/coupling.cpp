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

}  // namespace

namespace {

// Both directions: one fused pass forward, one fused pass for every gradient. `in` is x for the
// forward map and y for the inverse.
CouplingResult couple(const char* name, const Tensor& in, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                      float scale, bool inverse) {
  OpScope op(name);
  const RowView rv = check_coupling(op, in, mask, s_raw, t, scale);
  CouplingResult r{Tensor::empty(in.shape(), DType::f32, in.device()), Tensor::empty({rv.n}, DType::f32, in.device())};
  if (inverse)
    LVK_DISPATCH(in.device(), coupling_inverse, r.out.data<float>(), r.logdet.data<float>(), in.data<float>(),
                 mask.data<float>(), s_raw.data<float>(), t.data<float>(), scale, rv.n, rv.d);
  else
    LVK_DISPATCH(in.device(), coupling_forward, r.out.data<float>(), r.logdet.data<float>(), in.data<float>(),
                 mask.data<float>(), s_raw.data<float>(), t.data<float>(), scale, rv.n, rv.d);
  if (Tape::wants({in, s_raw, t})) {
    Tape::recording()->record(
        op.name(), {in, s_raw, t}, {r.out, r.logdet}, [in, mask, s_raw, t, r, scale, rv, inverse](GradBook& book) {
          const Tensor dout = grad_or_zeros(book, r.out), dld = book.grad(r.logdet);
          Tensor din = Tensor::empty(in.shape(), DType::f32, in.device());
          Tensor ds = Tensor::empty(in.shape(), DType::f32, in.device());
          Tensor dt = Tensor::empty(in.shape(), DType::f32, in.device());
          if (inverse)
            LVK_DISPATCH(in.device(), coupling_inverse_backward, din.data<float>(), ds.data<float>(), dt.data<float>(),
                         dout.data<float>(), data_or_null(dld), in.data<float>(), mask.data<float>(),
                         s_raw.data<float>(), t.data<float>(), scale, rv.n, rv.d);
          else
            LVK_DISPATCH(in.device(), coupling_forward_backward, din.data<float>(), ds.data<float>(), dt.data<float>(),
                         dout.data<float>(), data_or_null(dld), in.data<float>(), mask.data<float>(),
                         s_raw.data<float>(), scale, rv.n, rv.d);
          book.accumulate(in, din);
          book.accumulate(s_raw, ds);
          book.accumulate(t, dt);
        });
  }
  return r;
}

}  // namespace

CouplingResult coupling_forward(const Tensor& x, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                                float scale) {
  return couple("coupling_forward", x, mask, s_raw, t, scale, false);
}

CouplingResult coupling_inverse(const Tensor& y, const Tensor& mask, const Tensor& s_raw, const Tensor& t,
                                float scale) {
  return couple("coupling_inverse", y, mask, s_raw, t, scale, true);
}

Tensor coupling_mask(MaskKind kind, const Shape& features, bool flip, Device device) {
  const bool image = kind == MaskKind::checkerboard || kind == MaskKind::channel;
  LVK_CHECK(image ? features.rank() == 3 : features.rank() == 1, "coupling_mask: ",
            image ? "checkerboard and channel masks need [C, H, W]" : "alternating and half masks need [D]", ", got ",
            features.str());
  LVK_CHECK(features.numel() > 0, "coupling_mask: no features in ", features.str());
  std::vector<float> m(static_cast<size_t>(features.numel()));
  for (int64_t i = 0; i < features.numel(); ++i) {
    bool pass = false;
    switch (kind) {
      case MaskKind::alternating:
        pass = i % 2 == 0;
        break;
      case MaskKind::half:
        pass = i < features[0] / 2;
        break;
      case MaskKind::checkerboard: {
        const int64_t w = features[2], hw = features[1] * w, h = (i % hw) / w;
        pass = (h + i % w) % 2 == 0;
        break;
      }
      case MaskKind::channel:
        pass = i / (features[1] * features[2]) < features[0] / 2;
        break;
    }
    m[static_cast<size_t>(i)] = (pass != flip) ? 1.0f : 0.0f;
  }
  return Tensor::from_vector(m, features, device);
}

}  // namespace lvk
