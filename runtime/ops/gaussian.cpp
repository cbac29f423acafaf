// Gaussian reparametrization and log-density ops.
#include "runtime/ops/gaussian.h"

#include "kernels/gaussian.h"
#include "runtime/op.h"

namespace lvk {

void check_gaussian_params(const char* op, const Tensor& mu, const Tensor& logvar) {
  check_defined(op, "mu", mu);
  check_defined(op, "logvar", logvar);
  check_dtype(op, "mu", mu, DType::f32);
  check_dtype(op, "logvar", logvar, DType::f32);
  check_rank(op, "mu", mu, 2);
  check_same_shape(op, mu, logvar);
  check_same_device(op, mu, logvar);
}

GaussianSampleResult gaussian_sample(const Tensor& mu, const Tensor& logvar, const GaussianSampleOptions& options) {
  OpScope op("gaussian_sample");
  check_gaussian_params(op.name(), mu, logvar);
  LVK_CHECK(options.samples >= 0, op.name(), ": samples=", options.samples,
            "; expected S >= 1, or 0 for one sample without a sample dimension");
  const int64_t n = mu.dim(0), d = mu.dim(1);
  const int64_t s = options.samples == 0 ? 1 : options.samples;
  const bool sample_dim = options.samples > 0;
  const Device dev = mu.device();
  GaussianSampleResult r;
  r.z = Tensor::empty(sample_dim ? Shape{s, n, d} : Shape{n, d}, DType::f32, dev);
  r.kl = Tensor::empty({n}, DType::f32, dev);
  r.log_q = Tensor::empty(sample_dim ? Shape{s, n} : Shape{n}, DType::f32, dev);
  const uint64_t seed = options.seed, offset = options.offset;
  if (options.clock)
    LVK_CHECK(options.clock->device() == dev, op.name(), ": the step clock is on ", options.clock->device().str(),
              ", mu on ", dev.str());
  const uint64_t* base = options.clock ? options.clock->noise_base() : nullptr;
  LVK_DISPATCH(dev, gaussian_sample, r.z.data<float>(), r.kl.data<float>(), r.log_q.data<float>(), mu.data<float>(),
               logvar.data<float>(), s, n, d, seed, offset, base);

  if (Tape::wants({mu, logvar})) {
    const Tensor z = r.z, kl = r.kl, log_q = r.log_q;
    Tape::recording()->record(
        op.name(), {mu, logvar}, {z, kl, log_q}, [mu, logvar, z, kl, log_q, s, n, d](GradBook& book) {
          const Tensor dz = book.grad(z), dkl = book.grad(kl), dlq = book.grad(log_q);
          if (!dz.defined() && !dkl.defined() && !dlq.defined()) return;
          const Device dev = mu.device();
          Tensor dmu = Tensor::empty(mu.shape(), DType::f32, dev);
          Tensor dlv = Tensor::empty(mu.shape(), DType::f32, dev);
          // z (an output, held here anyway) stands in for the noise: no redraw.
          LVK_DISPATCH(dev, gaussian_sample_backward, dmu.data<float>(), dlv.data<float>(), data_or_null(dz),
                       data_or_null(dkl), data_or_null(dlq), dz.defined() ? z.data<float>() : nullptr, mu.data<float>(),
                       logvar.data<float>(), s, n, d);
          book.accumulate(mu, dmu);
          book.accumulate(logvar, dlv);
        });
  }
  return r;
}

Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar) {
  OpScope op("gaussian_log_density");
  check_gaussian_params(op.name(), mu, logvar);
  check_defined(op.name(), "z", z);
  check_dtype(op.name(), "z", z, DType::f32);
  check_same_device(op.name(), z, mu);
  const int64_t n = mu.dim(0), d = mu.dim(1);
  LVK_CHECK((z.rank() == 2 || z.rank() == 3) && z.dim(z.rank() - 2) == n && z.dim(z.rank() - 1) == d, op.name(), ": z ",
            z.shape().str(), " must be [N, D] or [S, N, D] with [N, D] = ", mu.shape().str(),
            " (the shape of mu and logvar)");
  const int64_t s = z.rank() == 3 ? z.dim(0) : 1;
  const Device dev = z.device();
  Tensor out = Tensor::empty(z.rank() == 3 ? Shape{s, n} : Shape{n}, DType::f32, dev);
  LVK_DISPATCH(dev, gaussian_log_density, out.data<float>(), z.data<float>(), mu.data<float>(), logvar.data<float>(), s,
               n, d);
  if (Tape::wants({z, mu, logvar})) {
    Tape::recording()->record(op.name(), {z, mu, logvar}, {out}, [z, mu, logvar, out, s, n, d](GradBook& book) {
      const Tensor g = book.grad(out);
      if (!g.defined()) return;
      const Device dev = z.device();
      Tensor dz = book.wants(z) ? Tensor::empty(z.shape(), DType::f32, dev) : Tensor();
      Tensor dmu = book.wants(mu) ? Tensor::empty(mu.shape(), DType::f32, dev) : Tensor();
      Tensor dlv = book.wants(logvar) ? Tensor::empty(mu.shape(), DType::f32, dev) : Tensor();
      LVK_DISPATCH(dev, gaussian_log_density_backward, data_or_null(dz), data_or_null(dmu), data_or_null(dlv),
                   g.data<float>(), z.data<float>(), mu.data<float>(), logvar.data<float>(), s, n, d);
      if (dz.defined()) book.accumulate(z, dz);
      if (dmu.defined()) book.accumulate(mu, dmu);
      if (dlv.defined()) book.accumulate(logvar, dlv);
    });
  }
  return out;
}

}  // namespace lvk
