#pragma once
// Evaluation of trained latent-variable models (`lvk eval`): ELBO surgery (Hoffman & Johnson 2016),
//   (1/n) sum_i KL(q(z|x_i) || p(z)) = KL(q_agg || p) + I_q[x; z],   q_agg = (1/n) sum_i q(z|x_i),
// importance-weighted log-likelihood (Burda et al. 2016), latent health (active units, KL per
// dimension) and, for discrete-latent models, code usage. Math only: the CLI is tools/eval.cpp.
//
// Models plug in through two small views beside GenerativeModel, so the evaluation never depends
// on a concrete model class:
//  - GaussianLatentModel: a diagonal-Gaussian posterior, a prior density and a decoder likelihood
//    (the Gaussian VAE and the flow-prior VAE; gaussian_latent_view() adapts models/vae.h).
//  - DiscreteLatentModel: a codebook of K codes at P latent positions (VQ-VAE, dVAE). A model
//    class implements it directly (class VqVae : public GenerativeModel, public DiscreteLatentModel)
//    and discrete_latent_view() finds it with a dynamic_cast.
// Every model also gets the generic figures from GenerativeModel::reconstruct().
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/generative.h"
#include "runtime/io/dataset.h"

namespace lvk {

// A Monte Carlo estimate: the mean of per-point values and its standard error (std / sqrt(n));
// se = 0 for an exact (closed-form) figure.
struct Estimate {
  double mean = 0.0, se = 0.0;
};
// Mean and standard error of `values` (se 0 for fewer than two values).
Estimate estimate_of(const std::vector<double>& values);

class GaussianLatentModel {
 public:
  virtual ~GaussianLatentModel() = default;
  virtual int64_t latent_dim() const = 0;
  // mu and logvar [B, D] of q(z|x) for images x [B, C, H, W].
  virtual std::pair<Tensor, Tensor> posterior(const Tensor& x) = 0;
  // True when p(z) = N(0, I): the average KL is then exact (closed form).
  virtual bool standard_prior() const = 0;
  // The prior's name for reports: "standard", "realnvp", "maf", "vamp", ...
  virtual std::string prior_name() const = 0;
  // log p(z) per row, z [M, D] -> [M].
  virtual Tensor log_prior(const Tensor& z) = 0;
  // n prior samples [n, D] from Philox stream (seed, offset).
  virtual Tensor sample_prior(int64_t n, uint64_t seed, uint64_t offset) = 0;
  // log p(x_r | z_r) per row: x [R, C, H, W], z [R, D] -> [R].
  virtual Tensor log_likelihood(const Tensor& x, const Tensor& z) = 0;
};

// The model's Gaussian view (null when its latents are not diagonal Gaussians). The view refers
// to `model`, which must outlive it.
std::unique_ptr<GaussianLatentModel> gaussian_latent_view(GenerativeModel& model);
DiscreteLatentModel* discrete_latent_view(GenerativeModel& model);

// ---- ELBO surgery on posteriors given directly (synthetic tests use this) -----------------------
struct SurgeryOptions {
  int64_t samples_per_point = 1;  // z_j ~ q(z|x_j) drawn per point for the q_agg expectations
  uint64_t seed = 0, offset = 0;  // Philox stream of those draws (offset and offset + 1 are used)
};

struct SurgeryResult {
  int64_t points = 0, dim = 0, samples_per_point = 0;
  bool closed_form_kl = false;
  Estimate avg_kl;       // (1/n) sum_i KL(q(z|x_i) || p): closed form for N(0, I), else Monte Carlo
  Estimate avg_kl_mc;    // the Monte Carlo average KL on draws independent of the split's
  Estimate marginal_kl;  // KL(q_agg || p) = E_{q_agg}[log q_agg(z) - log p(z)]
  Estimate mutual_info;  // I_q[x; z] = E_{x, q(z|x)}[log q(z|x) - log q_agg(z)], at most log n
  double log_n = 0.0;
  // avg_kl - (marginal_kl + mutual_info) and its standard error (both MC errors, added in
  // quadrature): the identity holds when |gap| is within a few identity_se.
  double identity_gap = 0.0, identity_se = 0.0;
  std::vector<double> qagg_samples;  // [points, dim] host copy of the first draw, for plots
                                     // (evaluate_model keeps the first 2000 rows)
};

// mu, logvar [n, D] of q(z|x_i), n >= 1. `log_prior` maps z [M, D] to log p(z) [M]; an empty
// function means N(0, I) (closed-form average KL). The all-pairs log q_agg uses the fused
// streaming op (runtime/ops/mixture.h): O(n^2 D) time, O(n D) memory.
SurgeryResult elbo_surgery(const Tensor& mu, const Tensor& logvar,
                           const std::function<Tensor(const Tensor&)>& log_prior, const SurgeryOptions& options);

// ---- Latent health ---------------------------------------------------------------------------
struct LatentHealth {
  double threshold = 0.01;
  int64_t active_units = 0;           // dimensions with Cov_x(E_q[z])_dd > threshold
  std::vector<double> mean_variance;  // Cov_x(E_q[z_d]) per dimension (population variance)
  std::vector<double> kl_per_dim;     // (1/n) sum_i KL(q(z_d|x_i) || N(0, 1)) per dimension
};
LatentHealth latent_health(const Tensor& mu, const Tensor& logvar, double threshold = 0.01);

// ---- Importance-weighted log-likelihood --------------------------------------------------------
struct IwOptions {
  int64_t samples = 100;      // S
  int64_t chunk_rows = 4096;  // decoder rows per chunk (S is split into blocks of chunk_rows / B)
  uint64_t seed = 0, offset = 0;
};
struct IwBatch {
  std::vector<double> log_px;      // log (1/S) sum_s w_s per image
  std::vector<double> mean_log_w;  // (1/S) sum_s log w_s per image: an S-sample ELBO estimate
};
// log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x), z_s ~ q(z|x), for x [B, C, H, W]; the weights
// are reduced per image by a streaming log-sum-exp, so memory is O(chunk_rows), not O(S B).
IwBatch importance_weighted_batch(GaussianLatentModel& model, const Tensor& x, const IwOptions& options);

// ---- Whole-model evaluation -------------------------------------------------------------------
struct EvalOptions {
  int64_t points = 1000;  // n: images used for surgery, health and reconstruction
  int64_t iw_points = 0;  // images for the IW log-likelihood (0: min(points, 500)); costs S each
  int64_t samples = 100;  // S
  int64_t surgery_samples = 1;
  int64_t batch = 250;  // encoder batch
  int64_t chunk_rows = 4096;
  uint64_t seed = 0;
};

struct ModelEvaluation {
  std::string checkpoint, model, data, device;
  std::string integrity_note;  // SavedModel::integrity_note
  int64_t step = 0, pixels = 0, points = 0;
  // Every model (from reconstruct()): mean squared error per pixel and Bernoulli NLL per image of
  // the reconstruction means.
  double recon_mse = 0.0, recon_bce = 0.0;
  // Gaussian latents.
  bool gaussian = false, standard_prior = false;
  std::string prior;  // GaussianLatentModel::prior_name()
  Estimate recon;     // E_q[log p(x|z)] per image (one draw per image)
  Estimate elbo;      // recon - avg KL
  SurgeryResult surgery;
  LatentHealth health;
  int64_t iw_points = 0, iw_samples = 0;
  Estimate iw_log_px;      // nats per image
  Estimate iw_mean_log_w;  // the S-sample ELBO on the same images: iw_log_px >= it
  double iw_bits_per_dim = 0.0, elbo_bits_per_dim = 0.0;
  std::vector<double> prior_samples;  // [min(points, 2000), dim] for the projection plot
  // Discrete latents.
  bool discrete = false;
  int64_t codes = 0, positions = 0;
  std::vector<int64_t> code_counts;
  double perplexity = 0.0, usage = 0.0;  // exp(entropy of code frequencies); fraction of codes used
  // (recon NLL + P log K) / (pixels ln 2): the uniform prior's bits/dim with a Bernoulli decoder.
  double uniform_prior_bits_per_dim = 0.0;
  // With a learned prior over the codes (DiscreteLatentModel::code_nll): its NLL of the codes in
  // nats per image, and (recon NLL + that) / (pixels ln 2).
  bool learned_prior = false;
  Estimate prior_code_nll;
  double learned_prior_bits_per_dim = 0.0;
  double seconds = 0.0;

  nlohmann::json to_json() const;
};

// Evaluates `model` on the first options.points images of `images` (binarised with a fixed seed
// when `binarize`, as the run trained). Fills everything but checkpoint and step.
ModelEvaluation evaluate_model(GenerativeModel& model, const io::ImageDataset& images, bool binarize,
                               const EvalOptions& options, Device device);
// The model of a checkpoint written by `lvk train` on the held-out split of `data` (named as for
// training, runtime/io/dataset_split.h), or without it on the run's own held-out split. Throws naming the file for a
// missing or malformed checkpoint, and naming the tensor when the data's image shape does not fit the model.
ModelEvaluation evaluate_checkpoint(const std::string& path, const std::optional<io::DatasetSpec>& data,
                                    const EvalOptions& options, Device device);
// Writes <prefix>kl_per_dim.png, <prefix>qagg_vs_prior.png and, for discrete models,
// <prefix>code_usage.png; returns the paths.
std::vector<std::string> write_eval_plots(const ModelEvaluation& report, const std::string& prefix);

}  // namespace lvk
