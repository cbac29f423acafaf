#include "runtime/ops/mixture.h"

#include "kernels/mixture.h"
#include "runtime/op.h"

namespace lvk {

Tensor gaussian_mixture_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar) {
  OpScope op("gaussian_mixture_log_density");
  check_dtype(op.name(), "z", z, DType::f32);
  check_dtype(op.name(), "mu", mu, DType::f32);
  check_dtype(op.name(), "logvar", logvar, DType::f32);
  check_rank(op.name(), "z", z, 2);
  check_rank(op.name(), "mu", mu, 2);
  check_same_shape(op.name(), mu, logvar);
  check_same_device(op.name(), z, mu);
  check_same_device(op.name(), mu, logvar);
  LVK_CHECK(z.dim(1) == mu.dim(1), op.name(), ": z has D=", z.dim(1), " but the components have D=", mu.dim(1));
  LVK_CHECK(mu.dim(0) >= 1, op.name(), ": the mixture needs at least one component, got mu ", mu.str());
  const int64_t m = z.dim(0), n = mu.dim(0), d = z.dim(1);
  Tensor out = Tensor::empty({m}, DType::f32, z.device());
  Tensor workspace;
  if (z.device().is_cuda()) workspace = Tensor::empty({kernels::mixture_workspace_size(n, d)}, DType::f32, z.device());
  LVK_DISPATCH(z.device(), gaussian_mixture_log_density, out.data<float>(), z.data<float>(), mu.data<float>(),
               logvar.data<float>(), m, n, d, data_or_null(workspace));
  if (Tape::wants({z, mu, logvar})) {
    Tape::recording()->record(
        op.name(), {z, mu, logvar}, {out}, [z, mu, logvar, out, workspace, m, n, d](GradBook& book) {
          const Tensor dout = book.grad(out);
          if (!dout.defined()) return;
          Tensor dz = Tensor::empty(z.shape(), DType::f32, z.device());
          Tensor dmu = Tensor::empty(mu.shape(), DType::f32, z.device()),
                 dlv = Tensor::empty(mu.shape(), DType::f32, z.device());
          LVK_DISPATCH(z.device(), gaussian_mixture_log_density_backward, dz.data<float>(), dmu.data<float>(),
                       dlv.data<float>(), dout.data<float>(), out.data<float>(), z.data<float>(), mu.data<float>(),
                       logvar.data<float>(), m, n, d, data_or_null(workspace));
          book.accumulate(z, dz);
          book.accumulate(mu, dmu);
          book.accumulate(logvar, dlv);
        });
  }
  return out;
}

}  // namespace lvk
