// Whole-model evaluation of a checkpoint (models/eval.h): rebuilds the model, streams n held-out
// images through it and gathers every figure the model's latent kind supports.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "models/eval.h"
#include "models/saved_model.h"
#include "runtime/ops/gaussian.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

constexpr double kLn2 = 0.6931471805599453;
constexpr int64_t kPlotPoints = 2000;  // points of the projection plot (and of the prior samples)

void check_options(const EvalOptions& o) {
  LVK_CHECK(o.points >= 1 && o.samples >= 1 && o.batch >= 1 && o.chunk_rows >= 1 && o.surgery_samples >= 1 &&
                o.iw_points >= 0,
            "eval: points=", o.points, " samples=", o.samples, " batch=", o.batch, " chunk_rows=", o.chunk_rows,
            " surgery_samples=", o.surgery_samples, " iw_points=", o.iw_points, "; expected all >= 1 (iw_points >= 0)");
}

std::vector<double> cat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

ModelEvaluation evaluate_checkpoint(const std::string& path, const std::optional<io::DatasetSpec>& data,
                                    const EvalOptions& o, Device device) {
  const auto start = std::chrono::steady_clock::now();
  check_options(o);
  SavedModel saved = load_saved_model(path, device);
  const io::ImageDataset images = io::open_split(data ? *data : saved.config.data, io::Split::held_out);
  LVK_CHECK(images.channels == saved.image.channels && images.height == saved.image.height &&
                images.width == saved.image.width,
            "eval: ", images.name, " has images [", images.channels, ", ", images.height, ", ", images.width, "] but ",
            saved.path, " was trained on ", saved.image.str());
  ModelEvaluation r = evaluate_model(*saved.model, images, saved.config.binarize, o, device);
  r.checkpoint = saved.path, r.step = saved.step;
  r.integrity_note = saved.integrity_note;
  // Dataset names already carry their split ("fashion-mnist:test").
  r.data = images.name;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

ModelEvaluation evaluate_model(GenerativeModel& model_ref, const io::ImageDataset& images, bool binarize,
                               const EvalOptions& o, Device device) {
  const auto start = std::chrono::steady_clock::now();
  check_options(o);
  GenerativeModel* model = &model_ref;
  const ImageShape shape{images.channels, images.height, images.width};
  NoGrad no_grad;
  ModelEvaluation r;
  r.model = model->kind(), r.data = images.name, r.device = device.str(), r.pixels = shape.pixels();
  r.points = std::min<int64_t>(o.points, images.count);
  LVK_CHECK(r.points >= 1, "eval: dataset ", images.name, " is empty");
  io::DataLoader loader(images, io::LoaderOptions::in_order(o.batch, binarize, o.seed + 1), device);

  std::unique_ptr<GaussianLatentModel> gauss = gaussian_latent_view(*model);
  DiscreteLatentModel* discrete = discrete_latent_view(*model);
  r.gaussian = gauss != nullptr, r.discrete = discrete != nullptr;
  if (discrete) {
    r.codes = discrete->codebook_size(), r.positions = discrete->latent_positions();
    r.code_counts.assign(static_cast<size_t>(r.codes), 0);
  }
  std::vector<float> mu_all, logvar_all;
  std::vector<double> recon_terms, prior_terms;
  std::vector<Tensor> kept;  // batches for the importance-weighted pass
  const int64_t iw_points = std::min(r.points, o.iw_points > 0 ? o.iw_points : std::min<int64_t>(r.points, 500));
  double se_sum = 0.0, bce_sum = 0.0;
  for (int64_t seen = 0, k = 0; seen < r.points; ++k) {
    Tensor x = loader.next().images;
    const int64_t b = std::min(x.dim(0), r.points - seen);
    if (b < x.dim(0)) {  // the last batch, cut to n images
      std::vector<float> head = x.to_vector<float>();
      head.resize(static_cast<size_t>(b * r.pixels));
      x = Tensor::from_vector(head, {b, shape.channels, shape.height, shape.width}, device);
    }
    // Generic: the reconstruction means against x.
    const std::vector<float> xs = x.to_vector<float>(), rec = model->reconstruct(x).to_vector<float>();
    for (size_t i = 0; i < xs.size(); ++i) {
      const double p = std::clamp<double>(rec[i], 1e-6, 1.0 - 1e-6), t = xs[i];
      se_sum += (rec[i] - t) * (rec[i] - t);
      bce_sum -= t * std::log(p) + (1.0 - t) * std::log1p(-p);
    }
    if (gauss) {
      const auto [mu, logvar] = gauss->posterior(x);
      const std::vector<float> m = mu.to_vector<float>(), v = logvar.to_vector<float>();
      mu_all.insert(mu_all.end(), m.begin(), m.end());
      logvar_all.insert(logvar_all.end(), v.begin(), v.end());
      const GaussianSampleResult q = gaussian_sample(mu, logvar, {0, o.seed, 0x7ec0000ull + static_cast<uint64_t>(k)});
      const std::vector<float> ll = gauss->log_likelihood(x, q.z).to_vector<float>();
      recon_terms.insert(recon_terms.end(), ll.begin(), ll.end());
      if (seen < iw_points) kept.push_back(x);
    }
    if (discrete) {
      const Tensor code_maps = discrete->encode_codes(x);
      if (const Tensor nll = discrete->code_nll(code_maps); nll.defined()) {
        const std::vector<float> v = nll.to_vector<float>();
        prior_terms.insert(prior_terms.end(), v.begin(), v.end());
      }
      const std::vector<int32_t> codes = code_maps.to_vector<int32_t>();
      for (int32_t c : codes) {
        LVK_CHECK(c >= 0 && c < r.codes, "eval: ", r.model, " returned code ", c, " outside [0, ", r.codes, ")");
        ++r.code_counts[static_cast<size_t>(c)];
      }
    }
    seen += b;
  }
  r.recon_mse = se_sum / static_cast<double>(r.points * r.pixels);
  r.recon_bce = bce_sum / static_cast<double>(r.points);

  if (gauss) {
    const int64_t d = gauss->latent_dim();
    r.standard_prior = gauss->standard_prior();
    r.prior = gauss->prior_name();
    const Tensor mu = Tensor::from_vector(mu_all, {r.points, d}, device);
    const Tensor logvar = Tensor::from_vector(logvar_all, {r.points, d}, device);
    std::function<Tensor(const Tensor&)> log_prior;
    if (!r.standard_prior) log_prior = [&](const Tensor& z) { return gauss->log_prior(z); };
    r.surgery = elbo_surgery(mu, logvar, log_prior, {o.surgery_samples, o.seed, 0x5a6e0000ull});
    r.health = latent_health(mu, logvar);
    r.recon = estimate_of(recon_terms);
    r.elbo = {r.recon.mean - r.surgery.avg_kl.mean, std::hypot(r.recon.se, r.surgery.avg_kl.se)};
    const int64_t plot_points = std::min(r.points, kPlotPoints);
    r.surgery.qagg_samples.resize(static_cast<size_t>(plot_points * d));
    const std::vector<float> ps = gauss->sample_prior(plot_points, o.seed, 0x9e1000ull).to_vector<float>();
    r.prior_samples.assign(ps.begin(), ps.end());

    std::vector<double> log_px, mean_log_w;
    uint64_t offset = 0x1a0000000ull;
    for (const Tensor& x : kept) {
      Tensor xb = x;
      const int64_t b = std::min(x.dim(0), iw_points - static_cast<int64_t>(log_px.size()));
      if (b < x.dim(0)) {
        std::vector<float> head = x.to_vector<float>();
        head.resize(static_cast<size_t>(b * r.pixels));
        xb = Tensor::from_vector(head, {b, shape.channels, shape.height, shape.width}, device);
      }
      const IwBatch w = importance_weighted_batch(*gauss, xb, {o.samples, o.chunk_rows, o.seed, offset});
      offset += static_cast<uint64_t>(o.samples);  // blocks use at most S offsets
      log_px = cat(std::move(log_px), w.log_px);
      mean_log_w = cat(std::move(mean_log_w), w.mean_log_w);
    }
    r.iw_points = static_cast<int64_t>(log_px.size()), r.iw_samples = o.samples;
    r.iw_log_px = estimate_of(log_px);
    r.iw_mean_log_w = estimate_of(mean_log_w);
    r.iw_bits_per_dim = -r.iw_log_px.mean / (r.pixels * kLn2);
    r.elbo_bits_per_dim = -r.elbo.mean / (r.pixels * kLn2);
  }
  if (discrete) {
    int64_t total = 0, used = 0;
    for (int64_t c : r.code_counts) total += c, used += c > 0;
    double entropy = 0.0;
    for (int64_t c : r.code_counts)
      if (c > 0) entropy -= static_cast<double>(c) / total * std::log(static_cast<double>(c) / total);
    r.perplexity = std::exp(entropy);
    r.usage = static_cast<double>(used) / static_cast<double>(r.codes);
    r.uniform_prior_bits_per_dim =
        (r.recon_bce + r.positions * std::log(static_cast<double>(r.codes))) / (r.pixels * kLn2);
    r.learned_prior = !prior_terms.empty();
    if (r.learned_prior) {
      r.prior_code_nll = estimate_of(prior_terms);
      r.learned_prior_bits_per_dim = (r.recon_bce + r.prior_code_nll.mean) / (r.pixels * kLn2);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace lvk
