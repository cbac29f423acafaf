// The Gaussian view of the VAE models and the importance-weighted log-likelihood (models/eval.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "models/eval.h"
#include "models/vae.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/row_loss.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

class VaeView : public GaussianLatentModel {
 public:
  explicit VaeView(Vae& vae) : vae_(vae), device_(vae.parameters().front().second.device()) {}
  int64_t latent_dim() const override { return vae_.options().latent; }
  std::pair<Tensor, Tensor> posterior(const Tensor& x) override { return vae_.encode(x); }
  bool standard_prior() const override { return vae_.standard_prior(); }
  std::string prior_name() const override { return vae_.options().prior; }
  Tensor log_prior(const Tensor& z) override { return vae_.log_prior(z); }
  Tensor sample_prior(int64_t n, uint64_t seed, uint64_t offset) override { return vae_.sample_prior(n, seed, offset); }
  Tensor log_likelihood(const Tensor& x, const Tensor& z) override {
    const Tensor out = vae_.decode(z);
    const Tensor nll = vae_.options().decoder == "bernoulli"
                           ? row_loss(LossKind::bce_logits, out, x)
                           : row_loss(LossKind::gaussian_nll_fixed, x, out, vae_.options().decoder_logvar);
    return scale(nll, -1.0f);
  }

 private:
  Vae& vae_;
  Device device_;
};

}  // namespace

std::unique_ptr<GaussianLatentModel> gaussian_latent_view(GenerativeModel& model) {
  if (Vae* vae = dynamic_cast<Vae*>(&model)) return std::make_unique<VaeView>(*vae);
  return nullptr;
}

DiscreteLatentModel* discrete_latent_view(GenerativeModel& model) {
  return dynamic_cast<DiscreteLatentModel*>(&model);
}

IwBatch importance_weighted_batch(GaussianLatentModel& model, const Tensor& x, const IwOptions& options) {
  const char* op = "importance_weighted_batch";
  check_defined(op, "x", x);
  LVK_CHECK(x.rank() == 4 && x.dim(0) >= 1, op, ": expected images [B >= 1, C, H, W], got ", x.str());
  LVK_CHECK(options.samples >= 1 && options.chunk_rows >= 1, op, ": samples=", options.samples,
            " chunk_rows=", options.chunk_rows, ", expected both >= 1");
  NoGrad no_grad;
  const auto [mu, logvar] = model.posterior(x);
  const int64_t b = x.dim(0), d = mu.dim(1), image = x.numel() / b, total = options.samples;
  const int64_t block = std::clamp<int64_t>(options.chunk_rows / b, 1, total);
  const std::vector<float> host_x = x.to_vector<float>();

  // Streaming log-sum-exp per image: running max and the sum of exp(log w - max).
  std::vector<double> top(b, -std::numeric_limits<double>::infinity()), acc(b, 0.0), sum_log_w(b, 0.0);
  Tensor x_rep;  // x repeated `rep` times, sample-major like z
  int64_t rep = 0;
  for (int64_t s0 = 0, k = 0; s0 < total; s0 += block, ++k) {
    const int64_t s = std::min(block, total - s0);
    const GaussianSampleResult q = gaussian_sample(mu, logvar, {s, options.seed, options.offset + k});
    const Tensor z = q.z.view({s * b, d});
    if (rep != s) {
      std::vector<float> tiled(static_cast<size_t>(s * b * image));
      for (int64_t r = 0; r < s; ++r) std::copy(host_x.begin(), host_x.end(), tiled.begin() + r * b * image);
      x_rep = Tensor::from_vector(tiled, {s * b, x.dim(1), x.dim(2), x.dim(3)}, x.device());
      rep = s;
    }
    const std::vector<float> ll = model.log_likelihood(x_rep, z).to_vector<float>();
    const std::vector<float> lp = model.log_prior(z).to_vector<float>();
    const std::vector<float> lq = q.log_q.to_vector<float>();
    for (int64_t r = 0; r < s * b; ++r) {
      const int64_t j = r % b;
      const double lw = static_cast<double>(ll[r]) + lp[r] - lq[r];
      LVK_CHECK(std::isfinite(lw), op, ": non-finite log weight ", lw, " for image ", j, " (log p(x|z)=", ll[r],
                " log p(z)=", lp[r], " log q=", lq[r], ")");
      sum_log_w[j] += lw;
      if (lw > top[j]) {
        acc[j] = acc[j] * std::exp(top[j] - lw) + 1.0;
        top[j] = lw;
      } else {
        acc[j] += std::exp(lw - top[j]);
      }
    }
  }
  IwBatch out;
  out.log_px.resize(b);
  out.mean_log_w.resize(b);
  for (int64_t j = 0; j < b; ++j) {
    out.log_px[j] = top[j] + std::log(acc[j]) - std::log(static_cast<double>(total));
    out.mean_log_w[j] = sum_log_w[j] / static_cast<double>(total);
  }
  return out;
}

}  // namespace lvk
