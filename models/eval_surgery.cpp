// ELBO surgery and latent health from posterior parameters (models/eval.h).
#include <cmath>
#include <limits>

#include "models/eval.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/mixture.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

void check_posteriors(const char* op, const Tensor& mu, const Tensor& logvar) {
  check_gaussian_params(op, mu, logvar);
  LVK_CHECK(mu.dim(0) >= 1 && mu.dim(1) >= 1, op, ": needs at least one posterior of dimension >= 1, got mu ",
            mu.str());
}

// log N(z; 0, I) per row of z [M, D].
Tensor standard_log_prior(const Tensor& z) {
  const Tensor zeros = Tensor::zeros(z.shape(), DType::f32, z.device());
  return gaussian_log_density(z, zeros, zeros);
}

std::vector<double> host_doubles(const Tensor& t) {
  const std::vector<float> v = t.to_vector<float>();
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

Estimate estimate_of(const std::vector<double>& values) {
  Estimate e;
  const size_t n = values.size();
  if (n == 0) return e;
  double sum = 0.0;
  for (double v : values) sum += v;
  e.mean = sum / static_cast<double>(n);
  if (n < 2) return e;
  double ss = 0.0;
  for (double v : values) ss += (v - e.mean) * (v - e.mean);
  e.se = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
  return e;
}

SurgeryResult elbo_surgery(const Tensor& mu, const Tensor& logvar,
                           const std::function<Tensor(const Tensor&)>& log_prior, const SurgeryOptions& options) {
  const char* op = "elbo_surgery";
  check_posteriors(op, mu, logvar);
  LVK_CHECK(options.samples_per_point >= 1, op, ": samples_per_point=", options.samples_per_point, ", expected >= 1");
  NoGrad no_grad;
  const int64_t n = mu.dim(0), d = mu.dim(1), m = options.samples_per_point;
  const std::function<Tensor(const Tensor&)> prior = log_prior ? log_prior : standard_log_prior;
  auto prior_of = [&](const Tensor& z) {
    const Tensor lp = prior(z);
    LVK_CHECK(lp.rank() == 1 && lp.dim(0) == z.dim(0), op, ": log_prior returned ", lp.str(), " for z ", z.str(),
              ", expected one value per row");
    return host_doubles(lp);
  };

  SurgeryResult r;
  r.points = n, r.dim = d, r.samples_per_point = m;
  r.closed_form_kl = !log_prior;
  r.log_n = std::log(static_cast<double>(n));

  // The split: z_j ~ q(z|x_j); log q_agg(z_j) over all n components by the fused streaming op.
  const GaussianSampleResult q = gaussian_sample(mu, logvar, {m, options.seed, options.offset});
  const Tensor z = q.z.view({m * n, d});
  const std::vector<double> lq = host_doubles(q.log_q);  // [m, n]
  const std::vector<double> lagg = host_doubles(gaussian_mixture_log_density(z, mu, logvar));
  const std::vector<double> lp = prior_of(z);
  std::vector<double> mi(n, 0.0), mkl(n, 0.0), total(n, 0.0);
  for (int64_t s = 0; s < m; ++s)
    for (int64_t j = 0; j < n; ++j) {
      const size_t k = static_cast<size_t>(s * n + j);
      mi[j] += (lq[k] - lagg[k]) / m;
      mkl[j] += (lagg[k] - lp[k]) / m;
    }
  for (int64_t j = 0; j < n; ++j) total[j] = mi[j] + mkl[j];
  r.mutual_info = estimate_of(mi);
  r.marginal_kl = estimate_of(mkl);
  const Estimate split_total = estimate_of(total);  // per point, mi + mkl = log q - log p

  // The average KL from draws independent of the split's, so the identity check compares two
  // estimates rather than one sum with itself.
  const GaussianSampleResult q2 = gaussian_sample(mu, logvar, {m, options.seed, options.offset + 1});
  const std::vector<double> lq2 = host_doubles(q2.log_q), lp2 = prior_of(q2.z.view({m * n, d}));
  std::vector<double> kl(n, 0.0);
  for (int64_t s = 0; s < m; ++s)
    for (int64_t j = 0; j < n; ++j) kl[j] += (lq2[s * n + j] - lp2[s * n + j]) / m;
  r.avg_kl_mc = estimate_of(kl);
  if (r.closed_form_kl) {
    const std::vector<double> exact = host_doubles(q.kl);
    r.avg_kl = estimate_of(exact);
    r.avg_kl.se = 0.0;  // exact given these n points
  } else {
    r.avg_kl = r.avg_kl_mc;
  }
  r.identity_gap = r.avg_kl.mean - (r.marginal_kl.mean + r.mutual_info.mean);
  r.identity_se = std::sqrt(split_total.se * split_total.se + r.avg_kl.se * r.avg_kl.se);

  const std::vector<float> zh = z.to_vector<float>();
  r.qagg_samples.assign(zh.begin(), zh.begin() + n * d);
  return r;
}

LatentHealth latent_health(const Tensor& mu, const Tensor& logvar, double threshold) {
  check_posteriors("latent_health", mu, logvar);
  const int64_t n = mu.dim(0), d = mu.dim(1);
  const std::vector<float> m = mu.to_vector<float>(), lv = logvar.to_vector<float>();
  LatentHealth h;
  h.threshold = threshold;
  h.mean_variance.assign(d, 0.0);
  h.kl_per_dim.assign(d, 0.0);
  std::vector<double> mean(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double u = m[i * d + k], v = lv[i * d + k];
      mean[k] += u / n;
      h.kl_per_dim[k] += 0.5 * (u * u + std::exp(v) - 1.0 - v) / n;
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) h.mean_variance[k] += (m[i * d + k] - mean[k]) * (m[i * d + k] - mean[k]) / n;
  for (double v : h.mean_variance) h.active_units += v > threshold;
  return h;
}

}  // namespace lvk
