// Conv2d, ConvTranspose2d and GroupNorm ops. Both convolutions run on the three primitives of
// kernels/nn_conv.h (forward, backward-data, backward-filter) of one forward geometry.
#include "runtime/ops/nn_conv.h"

#include "kernels/nn_conv.h"
#include "kernels/nn_norm.h"
#include "runtime/op.h"
#include "runtime/ops/workspace.h"

namespace lvk {

namespace {

// Runs one conv primitive on the tensors' device, planning cuDNN (and its workspace) on CUDA.
enum class Prim { forward, backward_data, backward_filter };

void run_conv(Prim prim, Device device, float* out, const float* a, const float* b, const kernels::ConvShape& s) {
  const int64_t numel_out = prim == Prim::forward         ? s.n * s.o * s.oh * s.ow
                            : prim == Prim::backward_data ? s.n * s.c * s.h * s.w
                                                          : s.o * s.c * s.kh * s.kw;
  if (numel_out == 0) return;
  if (device.is_cuda()) {
#if LVK_WITH_CUDA
    // An empty input (no images, or padding around an image of no rows or columns) gives an
    // all-zero output or filter gradient; cuDNN refuses descriptors with a dimension of 0.
    if (s.n == 0 || s.h == 0 || s.w == 0) {
      LVK_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float) * numel_out, cuda::stream()));
      return;
    }
    const auto& plan = kernels::cuda::conv_plan(s, cuda::cudnn());  // cached per geometry
    void* w = cuda_workspace(device, plan.workspace_bytes);
    if (prim == Prim::forward) kernels::cuda::conv_forward(out, a, b, s, plan, w, cuda::cudnn(), cuda::stream());
    if (prim == Prim::backward_data)
      kernels::cuda::conv_backward_data(out, a, b, s, plan, w, cuda::cudnn(), cuda::stream());
    if (prim == Prim::backward_filter)
      kernels::cuda::conv_backward_filter(out, a, b, s, plan, w, cuda::cudnn(), cuda::stream());
#else
    detail::no_cuda_backend("conv2d");
#endif
    return;
  }
  if (prim == Prim::forward) kernels::cpu::conv_forward(out, a, b, s);
  if (prim == Prim::backward_data) kernels::cpu::conv_backward_data(out, a, b, s);
  if (prim == Prim::backward_filter) kernels::cpu::conv_backward_filter(out, a, b, s);
}

Tensor channel_sum(const Tensor& t) {  // [N, C, H, W] -> [C]
  Tensor out = Tensor::empty({t.dim(1)}, DType::f32, t.device());
  LVK_DISPATCH(t.device(), channel_sum, out.data<float>(), t.data<float>(), t.dim(0), t.dim(1), t.dim(2) * t.dim(3));
  return out;
}

void check_conv_operands(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, int64_t bias_len,
                         const Conv2dParams& p) {
  LVK_CHECK(p.stride_h >= 1 && p.stride_w >= 1, op, ": stride (", p.stride_h, ", ", p.stride_w, ") must be >= 1");
  LVK_CHECK(p.pad_h >= 0 && p.pad_w >= 0, op, ": padding (", p.pad_h, ", ", p.pad_w, ") must be >= 0");
  LVK_CHECK(w.dim(2) >= 1 && w.dim(3) >= 1 && w.dim(0) >= 1 && w.dim(1) >= 1, op, ": weight ", w.shape().str(),
            " has an empty dimension");
  if (b.defined()) {
    check_dtype(op, "b", b, DType::f32);
    check_same_device(op, x, b);
    LVK_CHECK(b.rank() == 1 && b.dim(0) == bias_len, op, ": b is ", b.shape().str(), ", expected [", bias_len, "]");
  }
}

void check_4d(const char* op, const Tensor& x, const Tensor& w) {
  check_dtype(op, "x", x, DType::f32);
  check_dtype(op, "w", w, DType::f32);
  check_rank(op, "x", x, 4);
  check_rank(op, "w", w, 4);
  check_same_device(op, x, w);
}

}  // namespace

namespace {

// A convolution and its adjoint (the transposed convolution) share one backward: dx applies the
// other primitive to dy, dw is the filter gradient with the image operand of the forward
// convolution (x for conv2d, dy for conv_transpose2d), db sums dy per channel.
void record_conv_backward(const OpScope& op, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                          const kernels::ConvShape& s, bool transposed) {
  if (!Tape::wants({x, w, b})) return;
  Tape::recording()->record(op.name(), {x, w, b}, {y}, [x, w, b, y, s, transposed](GradBook& book) {
    const Tensor dy = book.grad(y);
    if (!dy.defined()) return;
    if (book.wants(x)) {
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      run_conv(transposed ? Prim::forward : Prim::backward_data, x.device(), dx.data<float>(), dy.data<float>(),
               w.data<float>(), s);
      book.accumulate(x, dx);
    }
    if (book.wants(w)) {
      Tensor dw = Tensor::empty(w.shape(), DType::f32, w.device());
      const Tensor& image = transposed ? dy : x;
      const Tensor& grad = transposed ? x : dy;
      run_conv(Prim::backward_filter, w.device(), dw.data<float>(), image.data<float>(), grad.data<float>(), s);
      book.accumulate(w, dw);
    }
    if (book.wants(b)) book.accumulate(b, channel_sum(dy));
  });
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dParams p) {
  OpScope op("conv2d");
  check_4d(op.name(), x, w);
  check_conv_operands(op.name(), x, w, b, w.dim(0), p);
  LVK_CHECK(x.dim(1) == w.dim(1), "conv2d: x ", x.shape().str(), " has ", x.dim(1), " channels but w ", w.shape().str(),
            " expects ", w.dim(1));
  kernels::ConvShape s{x.dim(0),   x.dim(1),   x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3),
                       p.stride_h, p.stride_w, p.pad_h,  p.pad_w,  0,        0};
  const int64_t eh = s.h + 2 * s.ph - s.kh, ew = s.w + 2 * s.pw - s.kw;
  LVK_CHECK(eh >= 0 && ew >= 0, "conv2d: kernel ", s.kh, "x", s.kw, " is larger than the padded input ", s.h + 2 * s.ph,
            "x", s.w + 2 * s.pw);
  s.oh = eh / s.sh + 1;
  s.ow = ew / s.sw + 1;
  Tensor y = Tensor::empty({s.n, s.o, s.oh, s.ow}, DType::f32, x.device());
  run_conv(Prim::forward, x.device(), y.data<float>(), x.data<float>(), w.data<float>(), s);
  if (b.defined()) LVK_DISPATCH(x.device(), channel_bias_add, y.data<float>(), b.data<float>(), s.n, s.o, s.oh * s.ow);
  record_conv_backward(op, x, w, b, y, s, false);
  return y;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dParams p, int64_t oph, int64_t opw) {
  OpScope op("conv_transpose2d");
  check_4d(op.name(), x, w);
  check_conv_operands(op.name(), x, w, b, w.dim(1), p);
  LVK_CHECK(x.dim(1) == w.dim(0), "conv_transpose2d: x ", x.shape().str(), " has ", x.dim(1), " channels but w ",
            w.shape().str(), " expects ", w.dim(0), " (w is [C_in, C_out, KH, KW])");
  LVK_CHECK(oph >= 0 && opw >= 0 && oph < p.stride_h && opw < p.stride_w, "conv_transpose2d: output_padding (", oph,
            ", ", opw, ") must be >= 0 and < stride (", p.stride_h, ", ", p.stride_w, ")");
  LVK_CHECK(x.dim(2) >= 1 && x.dim(3) >= 1, "conv_transpose2d: input ", x.shape().str(), " has no pixels");
  // The forward geometry whose adjoint this is: its input is our output, its output our input.
  kernels::ConvShape s{x.dim(0),   w.dim(1),   0,       0,       w.dim(0), w.dim(2), w.dim(3),
                       p.stride_h, p.stride_w, p.pad_h, p.pad_w, x.dim(2), x.dim(3)};
  s.h = (s.oh - 1) * s.sh - 2 * s.ph + s.kh + oph;
  s.w = (s.ow - 1) * s.sw - 2 * s.pw + s.kw + opw;
  LVK_CHECK(s.h >= 1 && s.w >= 1, "conv_transpose2d: output size ", s.h, "x", s.w, " for input ", x.shape().str(),
            " is empty (padding too large)");
  Tensor y = Tensor::empty({s.n, s.c, s.h, s.w}, DType::f32, x.device());
  run_conv(Prim::backward_data, x.device(), y.data<float>(), x.data<float>(), w.data<float>(), s);
  if (b.defined()) LVK_DISPATCH(x.device(), channel_bias_add, y.data<float>(), b.data<float>(), s.n, s.c, s.h * s.w);
  record_conv_backward(op, x, w, b, y, s, true);
  return y;
}

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t groups, float eps) {
  OpScope op("group_norm");
  check_dtype(op.name(), "x", x, DType::f32);
  check_dtype(op.name(), "gamma", gamma, DType::f32);
  check_dtype(op.name(), "beta", beta, DType::f32);
  check_same_device(op.name(), x, gamma);
  check_same_device(op.name(), x, beta);
  LVK_CHECK(x.rank() >= 2, "group_norm: x ", x.str(), " needs [N, C, ...]");
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.numel() / std::max<int64_t>(1, n * c);
  LVK_CHECK(groups >= 1 && c % groups == 0, "group_norm: C=", c, " is not divisible by groups=", groups);
  LVK_CHECK(gamma.rank() == 1 && gamma.dim(0) == c && beta.rank() == 1 && beta.dim(0) == c, "group_norm: gamma ",
            gamma.shape().str(), " and beta ", beta.shape().str(), " must be [", c, "]");
  LVK_CHECK(eps > 0.0f, "group_norm: eps=", eps, " must be > 0");
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  Tensor mean = Tensor::empty({n, groups}, DType::f32, x.device());
  Tensor rstd = Tensor::empty({n, groups}, DType::f32, x.device());
  LVK_DISPATCH(x.device(), group_norm_forward, y.data<float>(), mean.data<float>(), rstd.data<float>(), x.data<float>(),
               gamma.data<float>(), beta.data<float>(), n, c, hw, groups, eps);
  if (Tape::wants({x, gamma, beta})) {
    Tape::recording()->record(
        op.name(), {x, gamma, beta}, {y}, [x, gamma, beta, y, mean, rstd, n, c, hw, groups](GradBook& book) {
          const Tensor dy = book.grad(y);
          if (!dy.defined()) return;
          const Device d = x.device();
          Tensor dx = book.wants(x) ? Tensor::empty(x.shape(), DType::f32, d) : Tensor();
          Tensor dg = book.wants(gamma) ? Tensor::empty(gamma.shape(), DType::f32, d) : Tensor();
          Tensor db = book.wants(beta) ? Tensor::empty(beta.shape(), DType::f32, d) : Tensor();
          // dgamma and dbeta are computed together; ask for both when either is wanted.
          if (dg.defined() != db.defined()) (dg.defined() ? db : dg) = Tensor::empty({c}, DType::f32, d);
          Tensor ws;
          if (d.is_cuda() && dg.defined()) ws = Tensor::empty({std::max<int64_t>(1, 2 * n * c)}, DType::f32, d);
          LVK_DISPATCH(d, group_norm_backward, data_or_null(dx), data_or_null(dg), data_or_null(db), dy.data<float>(),
                       x.data<float>(), mean.data<float>(), rstd.data<float>(), gamma.data<float>(), n, c, hw, groups,
                       data_or_null(ws));
          if (dx.defined()) book.accumulate(x, dx);
          if (book.wants(gamma)) book.accumulate(gamma, dg);
          if (book.wants(beta)) book.accumulate(beta, db);
        });
  }
  return y;
}

}  // namespace lvk
