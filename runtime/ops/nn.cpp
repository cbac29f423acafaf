// Linear, activations and losses: checks, dispatch to kernels/nn.h twins, hand-written backward.
#include "runtime/ops/nn.h"

#include <cmath>

#include "base/philox.h"
#include "kernels/elementwise.h"
#include "kernels/nn.h"
#include "kernels/reduce.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/workspace.h"

namespace lvk {

namespace {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::none:
      return "none";
    case Activation::relu:
      return "relu";
    case Activation::leaky_relu:
      return "leaky_relu";
    case Activation::silu:
      return "silu";
    case Activation::tanh:
      return "tanh";
    case Activation::sigmoid:
      return "sigmoid";
    case Activation::gelu:
      return "gelu";
  }
  return "?";
}

// dz from dy for activation `act` (y = output, z = pre-activation when needed). Returns dy itself
// for the identity.
Tensor activation_backward(const Tensor& dy, const Tensor& y, const Tensor& z, Activation act, float slope) {
  if (act == Activation::none) return dy;
  Tensor dz = Tensor::empty(dy.shape(), DType::f32, dy.device());
  LVK_DISPATCH(dy.device(), act_backward, dz.data<float>(), dy.data<float>(), y.data<float>(), data_or_null(z),
               dy.numel(), act, slope);
  return dz;
}

void check_activation(const char* op, Activation act, float slope) {
  LVK_CHECK(static_cast<int>(act) >= 0 && static_cast<int>(act) <= static_cast<int>(Activation::gelu), op,
            ": unknown activation ", static_cast<int>(act));
  LVK_CHECK(act != Activation::leaky_relu || (slope >= 0.0f && std::isfinite(slope)), op, ": leaky_relu slope ", slope,
            " must be finite and >= 0");
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, Activation act, float slope) {
  OpScope op("linear");
  check_dtype(op.name(), "x", x, DType::f32);
  check_dtype(op.name(), "w", w, DType::f32);
  check_rank(op.name(), "x", x, 2);
  check_rank(op.name(), "w", w, 2);
  check_same_device(op.name(), x, w);
  check_activation(op.name(), act, slope);
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  LVK_CHECK(w.dim(1) == in, "linear: x is ", x.shape().str(), " but w is ", w.shape().str(), ", expected w [out, ", in,
            "]");
  if (b.defined()) {
    check_dtype(op.name(), "b", b, DType::f32);
    check_same_device(op.name(), x, b);
    LVK_CHECK(b.rank() == 1 && b.dim(0) == out, "linear: b is ", b.shape().str(), ", expected [", out, "] for w ",
              w.shape().str());
  }
  Tensor y = Tensor::empty({n, out}, DType::f32, x.device());
  const bool record = Tape::wants({x, w, b});
  Tensor z;
  if (record && kernels::activation_needs_preact(act)) z = Tensor::empty({n, out}, DType::f32, x.device());
  if (x.device().is_cuda()) {
#if LVK_WITH_CUDA
    void* ws = cuda_workspace(x.device(), kernels::kLinearWorkspaceBytes);
    kernels::cuda::linear_forward(y.data<float>(), data_or_null(z), x.data<float>(), w.data<float>(), data_or_null(b),
                                  n, in, out, act, slope, cuda::cublaslt(), cuda::cublas(), ws, cuda::stream());
#else
    detail::no_cuda_backend("linear_forward");
#endif
  } else {
    kernels::cpu::linear_forward(y.data<float>(), data_or_null(z), x.data<float>(), w.data<float>(), data_or_null(b), n,
                                 in, out, act, slope);
  }
  if (record) {
    Tape::recording()->record(op.name(), {x, w, b}, {y}, [x, w, b, y, z, act, slope](GradBook& book) {
      const Tensor dy = book.grad(y);
      if (!dy.defined()) return;
      const Tensor dz = activation_backward(dy, y, z, act, slope);
      if (book.wants(x)) book.accumulate(x, matmul(dz, w));               // [N, out] [out, in]
      if (book.wants(w)) book.accumulate(w, matmul(dz, x, true, false));  // [out, N] [N, in]
      if (book.wants(b)) book.accumulate(b, column_sum(dz));
    });
  }
  return y;
}

Tensor activation(const Tensor& x, Activation act, float slope) {
  OpScope op(activation_name(act));
  check_dtype(op.name(), "x", x, DType::f32);
  check_activation(op.name(), act, slope);
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  LVK_DISPATCH(x.device(), bias_act_forward, y.data<float>(), nullptr, x.data<float>(), nullptr, 1, x.numel(), act,
               slope);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {y}, [x, y, act, slope](GradBook& book) {
      const Tensor dy = book.grad(y);
      if (!dy.defined()) return;
      // x doubles as the pre-activation: the op keeps its input alive anyway.
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      LVK_DISPATCH(x.device(), act_backward, dx.data<float>(), dy.data<float>(), y.data<float>(), x.data<float>(),
                   x.numel(), act, slope);
      book.accumulate(x, dx);
    });
  }
  return y;
}

namespace {

// Shared by every loss: terms on the device, deterministic sum, scale by the reduction factor.
Tensor elementwise_loss(const OpScope& op, kernels::LossKind kind, const Tensor& a, const Tensor& b, const Tensor& c,
                        float param, Reduction reduction) {
  check_dtype(op.name(), "input", a, DType::f32);
  check_dtype(op.name(), "target", b, DType::f32);
  check_same_shape(op.name(), a, b);
  check_same_device(op.name(), a, b);
  if (c.defined()) {
    check_dtype(op.name(), "logvar", c, DType::f32);
    check_same_shape(op.name(), a, c);
    check_same_device(op.name(), a, c);
  }
  const int64_t n = a.numel();
  double factor = 1.0;
  if (reduction == Reduction::mean) {
    LVK_CHECK(n > 0, op.name(), ": mean reduction of an empty input ", a.str(), " is undefined");
    factor = 1.0 / static_cast<double>(n);
  } else if (reduction == Reduction::batch_mean) {
    LVK_CHECK(a.rank() >= 1 && a.dim(0) > 0, op.name(), ": batch_mean needs a leading batch dimension > 0, got ",
              a.str());
    factor = 1.0 / static_cast<double>(a.dim(0));
  }
  const Device dev = a.device();
  Tensor terms = Tensor::empty({n}, DType::f32, dev);
  LVK_DISPATCH(dev, loss_terms, terms.data<float>(), a.data<float>(), b.data<float>(), data_or_null(c), n, kind, param);
  Tensor out = Tensor::empty(Shape{}, DType::f32, dev);
  Tensor ws;
  if (dev.is_cuda()) ws = Tensor::empty({kernels::sum_workspace_size(n)}, DType::f32, dev);
  LVK_DISPATCH(dev, sum, out.data<float>(), terms.data<float>(), n, data_or_null(ws));
  const float f = static_cast<float>(factor);
  if (f != 1.0f) LVK_DISPATCH(dev, scale, out.data<float>(), out.data<float>(), f, 1);
  if (Tape::wants({a, b, c})) {
    Tape::recording()->record(op.name(), {a, b, c}, {out}, [a, b, c, out, kind, param, f](GradBook& book) {
      const Tensor g = book.grad(out);
      if (!g.defined()) return;
      const Device d = a.device();
      auto grad_for = [&](const Tensor& t) {
        return book.wants(t) ? Tensor::empty(t.shape(), DType::f32, d) : Tensor();
      };
      Tensor da = grad_for(a), db = grad_for(b), dc = grad_for(c);
      LVK_DISPATCH(d, loss_backward, data_or_null(da), data_or_null(db), data_or_null(dc), a.data<float>(),
                   b.data<float>(), data_or_null(c), g.data<float>(), f, a.numel(), kind, param);
      if (da.defined()) book.accumulate(a, da);
      if (db.defined()) book.accumulate(b, db);
      if (dc.defined()) book.accumulate(c, dc);
    });
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
  OpScope op("mse_loss");
  return elementwise_loss(op, kernels::LossKind::mse, pred, target, Tensor(), 0.0f, reduction);
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  OpScope op("bce_with_logits");
  return elementwise_loss(op, kernels::LossKind::bce_logits, logits, target, Tensor(), 0.0f, reduction);
}

Tensor gaussian_nll(const Tensor& x, const Tensor& mean, float logvar, Reduction reduction) {
  OpScope op("gaussian_nll");
  LVK_CHECK(std::isfinite(logvar), "gaussian_nll: fixed logvar ", logvar, " must be finite");
  return elementwise_loss(op, kernels::LossKind::gaussian_nll_fixed, x, mean, Tensor(), logvar, reduction);
}

Tensor gaussian_nll(const Tensor& x, const Tensor& mean, const Tensor& logvar, Reduction reduction) {
  OpScope op("gaussian_nll");
  check_defined(op.name(), "logvar", logvar);
  return elementwise_loss(op, kernels::LossKind::gaussian_nll, x, mean, logvar, 0.0f, reduction);
}

Tensor init_parameter(const Shape& shape, Init init, int64_t fan_in, int64_t fan_out, uint64_t seed, uint64_t offset,
                      Device device) {
  OpScope op("init_parameter");
  LVK_CHECK(init == Init::zeros || fan_in > 0, "init_parameter: fan_in=", fan_in, " must be > 0 for shape ",
            shape.str());
  LVK_CHECK(init != Init::xavier_uniform || fan_in + fan_out > 0, "init_parameter: fan_in + fan_out must be > 0");
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  const double fi = static_cast<double>(fan_in), fo = static_cast<double>(fan_out);
  double bound = 0.0;
  switch (init) {
    case Init::torch_default:
      bound = 1.0 / std::sqrt(fi);
      break;
    case Init::kaiming_uniform:
      bound = std::sqrt(6.0 / fi);
      break;
    case Init::xavier_uniform:
      bound = std::sqrt(6.0 / (fi + fo));
      break;
    case Init::kaiming_normal:
      bound = std::sqrt(2.0 / fi);
      break;
    case Init::zeros:
      break;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (init == Init::zeros) {
      v[i] = 0.0f;
    } else if (init == Init::kaiming_normal) {
      v[i] = static_cast<float>(bound * philox_normal(seed, offset, i));
    } else {
      const double u = philox_uniform(seed, offset, i);  // (0, 1)
      v[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
  }
  return Tensor::from_vector(v, shape, device);
}

Tensor column_sum(const Tensor& x2d) {
  check_rank("column_sum", "x", x2d, 2);
  const int64_t rows = x2d.dim(0), cols = x2d.dim(1);
  Tensor out = Tensor::empty({cols}, DType::f32, x2d.device());
  Tensor ws;
  if (x2d.device().is_cuda())
    ws = Tensor::empty({kernels::column_sum_workspace_size(rows, cols)}, DType::f32, x2d.device());
  LVK_DISPATCH(x2d.device(), column_sum, out.data<float>(), x2d.data<float>(), rows, cols, data_or_null(ws));
  return out;
}

}  // namespace lvk
