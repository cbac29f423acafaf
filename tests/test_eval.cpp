// Evaluation (models/eval.h): the ELBO-surgery identity and its known answers on synthetic
// posteriors, a Gaussian model with closed-form aggregated posterior, importance weighting on a
// tiny trained VAE, latent health, the per-row loss op, the report and bad inputs.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/eval.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "runtime/io/png.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/row_loss.h"
#include "tests/harness.h"
#include "tests/train_util.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

// Gaussian posteriors q(z|x_i) = N(mu_i, s2 I) with mu_i ~ N(0, m2 I) (Philox draws): for large n,
// q_agg -> N(0, (m2 + s2) I) and, with p = N(0, I),
//   I_q = D/2 log((m2 + s2) / s2),  KL(q_agg || N(0, v I)) = D/2 ((m2 + s2)/v - 1 - log((m2 + s2)/v)).
std::pair<Tensor, Tensor> linear_gaussian_posteriors(int64_t n, int64_t d, double m2, double s2, Device device) {
  const Tensor mu = scale(normal({n, d}, 7, 0, device), static_cast<float>(std::sqrt(m2)));
  return {mu, Tensor::full({n, d}, static_cast<float>(std::log(s2)), device)};
}

class EvalSurgery : public BackendTest {};

TEST_P(EvalSurgery, IdenticalPosteriorsHaveNoMutualInformation) {
  const int64_t n = 200, d = 3;
  const Tensor mu = Tensor::full({n, d}, 0.7f, device()), logvar = Tensor::full({n, d}, -0.5f, device());
  const SurgeryResult s = elbo_surgery(mu, logvar, {}, {4, 1, 0});
  EXPECT_NEAR(s.mutual_info.mean, 0.0, 1e-4);  // every component equals q_agg
  EXPECT_TRUE(s.closed_form_kl);
  const double kl = 0.5 * d * (0.49 + std::exp(-0.5) - 1.0 + 0.5);
  EXPECT_NEAR(s.avg_kl.mean, kl, 1e-4);
  EXPECT_LE(std::fabs(s.identity_gap), 4.0 * s.identity_se + 1e-4) << "gap " << s.identity_gap;
  EXPECT_NEAR(s.marginal_kl.mean, kl, 4.0 * s.marginal_kl.se + 1e-3);
}

TEST_P(EvalSurgery, WellSeparatedPosteriorsReachLogN) {
  const int64_t n = 64, d = 2;
  std::vector<float> centres(n * d);
  for (int64_t i = 0; i < n; ++i)
    centres[i * d] = 50.0f * static_cast<float>(i % 8), centres[i * d + 1] = 50.0f * (i / 8);
  const Tensor mu = Tensor::from_vector(centres, {n, d}, device());
  const Tensor logvar = Tensor::full({n, d}, -4.0f, device());
  const SurgeryResult s = elbo_surgery(mu, logvar, {}, {2, 3, 0});
  EXPECT_NEAR(s.mutual_info.mean, std::log(64.0), 1e-3);
  EXPECT_NEAR(s.log_n, std::log(64.0), 1e-12);
  EXPECT_LE(std::fabs(s.identity_gap), 4.0 * s.identity_se + 1e-3) << "gap " << s.identity_gap;
}

TEST_P(EvalSurgery, LinearGaussianModelMatchesClosedForms) {
  const int64_t n = 3000, d = 2;
  const double m2 = 0.5, s2 = 0.5;  // q_agg -> N(0, I): the standard prior is the aggregated posterior
  const auto [mu, logvar] = linear_gaussian_posteriors(n, d, m2, s2, device());
  const SurgeryResult s = elbo_surgery(mu, logvar, {}, {2, 11, 0});
  const double mi = 0.5 * d * std::log((m2 + s2) / s2);
  // Stated tolerances: 4 standard errors plus the finite-n bias of the plug-in q_agg (the n-point
  // mixture is narrower than its limit, O(1/n) and the sampled mu_i's spread, about 0.03 here).
  EXPECT_NEAR(s.mutual_info.mean, mi, 4.0 * s.mutual_info.se + 0.03);
  EXPECT_NEAR(s.marginal_kl.mean, 0.0, 4.0 * s.marginal_kl.se + 0.03);
  EXPECT_NEAR(s.avg_kl.mean, mi, 0.05);  // E KL(N(mu, s2) || N(0, 1)) = D/2 (m2 + s2 - 1 - log s2)
  EXPECT_LE(std::fabs(s.identity_gap), 4.0 * s.identity_se) << "gap " << s.identity_gap;

  // A non-standard prior N(0, 2 I) through the Monte Carlo path (how the RealNVP prior is handled).
  const double v = 2.0;
  auto wide = [&](const Tensor& z) {
    const Tensor zeros = Tensor::zeros(z.shape(), DType::f32, z.device());
    const Tensor lv = Tensor::full(z.shape(), static_cast<float>(std::log(v)), z.device());
    return gaussian_log_density(z, zeros, lv);
  };
  const SurgeryResult w = elbo_surgery(mu, logvar, wide, {2, 11, 0});
  EXPECT_FALSE(w.closed_form_kl);
  EXPECT_GT(w.avg_kl.se, 0.0);
  EXPECT_NEAR(w.marginal_kl.mean, 0.5 * d * (1.0 / v - 1.0 + std::log(v)), 4.0 * w.marginal_kl.se + 0.03);
  EXPECT_NEAR(w.mutual_info.mean, s.mutual_info.mean, 1e-9);  // MI does not depend on the prior
  EXPECT_LE(std::fabs(w.identity_gap), 4.0 * w.identity_se) << "gap " << w.identity_gap;
}

// Beyond the op table (tests/backend_ops): the whole ELBO-surgery estimator, a composition of many
// ops and Monte Carlo sums, on both devices.
TEST(EvalSurgeryCuda, MatchesCpu) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  const auto [mu, logvar] = linear_gaussian_posteriors(500, 4, 1.0, 0.3, Device::cuda(0));
  const SurgeryResult g = elbo_surgery(mu, logvar, {}, {2, 5, 0});
  const SurgeryResult c = elbo_surgery(mu.to(Device::cpu()), logvar.to(Device::cpu()), {}, {2, 5, 0});
  EXPECT_NEAR(g.mutual_info.mean, c.mutual_info.mean, 1e-3);
  EXPECT_NEAR(g.marginal_kl.mean, c.marginal_kl.mean, 1e-3);
  EXPECT_NEAR(g.avg_kl.mean, c.avg_kl.mean, 1e-4);
}

TEST_P(EvalSurgery, RejectsBadPosteriors) {
  const Tensor mu = Tensor::zeros({4, 2}, DType::f32, device());
  EXPECT_LVK_ERROR(elbo_surgery(mu, Tensor::zeros({4, 3}, DType::f32, device()), {}, {}), "elbo_surgery");
  EXPECT_LVK_ERROR(elbo_surgery(mu, mu, {}, {0, 0, 0}), "samples_per_point=0");
  EXPECT_LVK_ERROR(
      elbo_surgery(Tensor::zeros({0, 2}, DType::f32, device()), Tensor::zeros({0, 2}, DType::f32, device()), {}, {}),
      "at least one posterior");
  auto bad_prior = [](const Tensor& z) { return Tensor::zeros({z.dim(0) + 1}, DType::f32, z.device()); };
  EXPECT_LVK_ERROR(elbo_surgery(mu, mu, bad_prior, {}), "one value per row");
}

LVK_INSTANTIATE_BACKENDS(EvalSurgery);

class EvalRowLoss : public BackendTest {};

TEST_P(EvalRowLoss, MatchesNaiveSums) {
  const Tensor a = random_tensor({5, 2, 3, 7}, 1, device(), -3.0f, 3.0f);
  const Tensor b = random_tensor({5, 2, 3, 7}, 2, device(), 0.0f, 1.0f);
  const std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>();
  std::vector<double> bce(5, 0.0), gauss(5, 0.0);
  for (size_t i = 0; i < av.size(); ++i) {
    const double x = av[i], t = bv[i];
    bce[i / 42] += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
    gauss[i / 42] += 0.5 * (std::log(2.0 * M_PI) - 1.0 + (x - t) * (x - t) * std::exp(1.0));
  }
  EXPECT_TRUE(all_close(row_loss(kernels::LossKind::bce_logits, a, b),
                        Tensor::from_vector(std::vector<float>(bce.begin(), bce.end()), {5}), 1e-4, 1e-5));
  EXPECT_TRUE(
      all_close(row_loss(kernels::LossKind::gaussian_nll_fixed, a, b, -1.0f).to_vector<float>(), gauss, 1e-3, 1e-5));
  EXPECT_EQ(row_loss(kernels::LossKind::mse, Tensor::zeros({0, 3}, DType::f32, device()),
                     Tensor::zeros({0, 3}, DType::f32, device()))
                .numel(),
            0);
  EXPECT_LVK_ERROR(row_loss(kernels::LossKind::mse, a, Tensor::zeros({5, 42}, DType::f32, device())), "row_loss");
}

LVK_INSTANTIATE_BACKENDS(EvalRowLoss);

TEST(EvalHealth, CountsActiveUnitsAndKlPerDimension) {
  const int64_t n = 100;
  std::vector<float> mu(n * 3), lv(n * 3, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    mu[i * 3 + 0] = (i % 2) ? 1.0f : -1.0f;    // variance 1: active
    mu[i * 3 + 1] = (i % 2) ? 0.05f : -0.05f;  // variance 0.0025: inactive
    mu[i * 3 + 2] = 0.3f;                      // constant: inactive, KL 0.045
    lv[i * 3 + 1] = -1.0f;
  }
  const LatentHealth h = latent_health(Tensor::from_vector(mu, {n, 3}), Tensor::from_vector(lv, {n, 3}));
  EXPECT_EQ(h.active_units, 1);
  EXPECT_NEAR(h.mean_variance[0], 1.0, 1e-9);
  EXPECT_NEAR(h.mean_variance[1], 0.0025, 1e-7);
  EXPECT_NEAR(h.mean_variance[2], 0.0, 1e-12);
  EXPECT_NEAR(h.kl_per_dim[0], 0.5, 1e-6);
  EXPECT_NEAR(h.kl_per_dim[1], 0.5 * (0.0025 + std::exp(-1.0) - 1.0 + 1.0), 1e-6);
  EXPECT_NEAR(h.kl_per_dim[2], 0.5 * 0.09, 1e-6);
}

// A VAE trained for a few steps on small shapes, shared by the model-level tests.
class EvalTrained : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_.run(train); }
  void SetUp() override { LVK_FAIL_IF_SUITE_SETUP_FAILED(setup_); }
  static void train() {
    dir_ = fresh_run_dir("eval_vae");
    TrainConfig c;
    c.model = "vae";
    c.model_options = {{"latent", 4}, {"hidden", 48}};
    c.data.source = "shapes", c.data.count = 512, c.data.side = 12;
    c.steps = 60, c.batch = 32, c.lr = 3e-3f, c.warmup = 5;
    c.eval_every = 1000, c.checkpoint_every = 1000;
    c.out = dir_;
    Trainer t(c, Device::cpu(), false);
    t.run([](const StepReport&) {}, [](const EvalReport&) {});
    checkpoint_ = *latest_checkpoint(dir_);
  }
  static std::string dir_, checkpoint_;
  static SuiteSetup setup_;
};
std::string EvalTrained::dir_, EvalTrained::checkpoint_;
SuiteSetup EvalTrained::setup_;

TEST_F(EvalTrained, ImportanceWeightingBoundsTheElboAndImprovesWithS) {
  CheckpointState s = load_checkpoint(checkpoint_, Device::cpu());
  const TrainConfig config = TrainConfig::from_json(nlohmann::json::parse(s.config_json));
  InitStream init(config.seed);
  auto model = make_model(config.model, config.model_options, {1, 12, 12}, init, Device::cpu());
  assign_named("test", model->parameters(), s.params);
  const auto view = gaussian_latent_view(*model);
  ASSERT_NE(view, nullptr);
  io::ImageDataset data = io::make_shapes_dataset(32, 12, 99);
  std::vector<float> pixels(data.pixels.begin(), data.pixels.end());
  for (float& p : pixels) p /= 255.0f;
  const Tensor x = Tensor::from_vector(pixels, {32, 1, 12, 12});

  std::vector<double> means;
  for (int64_t samples : {1, 16, 256}) {
    const IwBatch w = importance_weighted_batch(*view, x, {samples, 512, 4, 0});
    double lp = 0.0, elbo = 0.0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_GE(w.log_px[j], w.mean_log_w[j] - 1e-9) << "image " << j << " S=" << samples;  // Jensen
      if (samples == 1) {
        EXPECT_NEAR(w.log_px[j], w.mean_log_w[j], 1e-9);  // S = 1: the ELBO itself
      }
      lp += w.log_px[j] / 32, elbo += w.mean_log_w[j] / 32;
    }
    means.push_back(lp);
  }
  // E log p_S(x) increases with S; over 32 images the steps are far above the noise.
  EXPECT_GT(means[1], means[0]);
  EXPECT_GT(means[2], means[1]);
  // Blocks of samples (chunk smaller than S * B) give the same figures as one block would.
  const IwBatch a = importance_weighted_batch(*view, x, {64, 32, 4, 0});
  EXPECT_EQ(a.log_px.size(), 32u);
  EXPECT_LVK_ERROR(importance_weighted_batch(*view, x.view({32, 144}), {}), "expected images");
  EXPECT_LVK_ERROR(importance_weighted_batch(*view, x, {0, 512, 0, 0}), "samples=0");
}

TEST_F(EvalTrained, ReportHasItsFieldsAndPlots) {
  EvalOptions o;
  o.points = 300, o.samples = 20, o.iw_points = 40, o.batch = 64;
  const ModelEvaluation r = evaluate_checkpoint(checkpoint_, std::nullopt, o, Device::cpu());
  EXPECT_EQ(r.points, 300);
  EXPECT_TRUE(r.gaussian);
  EXPECT_TRUE(r.standard_prior);
  EXPECT_EQ(r.iw_points, 40);
  EXPECT_GE(r.iw_log_px.mean, r.iw_mean_log_w.mean);
  EXPECT_LE(std::fabs(r.surgery.identity_gap), 4.0 * r.surgery.identity_se + 1e-6);
  EXPECT_LE(r.surgery.mutual_info.mean, r.surgery.log_n + 1e-6);
  const nlohmann::json j = r.to_json();
  for (const char* key : {"checkpoint", "model", "data", "points", "recon", "elbo", "surgery", "latent", "iw"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"avg_kl", "marginal_kl", "mutual_info", "identity_gap", "identity_se", "log_n"})
    EXPECT_TRUE(j["surgery"].contains(key)) << key;
  EXPECT_EQ(j["latent"]["kl_per_dim"].size(), 4u);
  EXPECT_TRUE(j["iw"].contains("bits_per_dim"));
  const std::string prefix = (fs::path(dir_) / "eval-").string();
  const std::vector<std::string> files = write_eval_plots(r, prefix);
  ASSERT_EQ(files.size(), 2u);
  for (const std::string& f : files) EXPECT_GT(io::read_png(f).width, 0) << f;
}

TEST_F(EvalTrained, CudaMatchesCpu) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  EvalOptions o;
  o.points = 200, o.samples = 30, o.iw_points = 20, o.batch = 50, o.chunk_rows = 256;
  const ModelEvaluation c = evaluate_checkpoint(checkpoint_, std::nullopt, o, Device::cpu());
  const ModelEvaluation g = evaluate_checkpoint(checkpoint_, std::nullopt, o, Device::cuda(0));
  // Same Philox noise on both twins: only float rounding differs.
  EXPECT_NEAR(g.elbo.mean, c.elbo.mean, 1e-2);
  EXPECT_NEAR(g.iw_log_px.mean, c.iw_log_px.mean, 1e-2);
  EXPECT_NEAR(g.surgery.mutual_info.mean, c.surgery.mutual_info.mean, 1e-3);
  EXPECT_NEAR(g.surgery.marginal_kl.mean, c.surgery.marginal_kl.mean, 1e-3);
  EXPECT_EQ(g.health.active_units, c.health.active_units);
}

TEST_F(EvalTrained, BadCheckpointsGiveClearErrors) {
  EXPECT_LVK_ERROR(evaluate_checkpoint(dir_ + "/missing.safetensors", std::nullopt, {}, Device::cpu()),
                   "does not exist");
  const std::string junk = (fs::path(dir_) / "junk.safetensors").string();
  std::ofstream(junk) << "not a checkpoint";
  EXPECT_LVK_ERROR(evaluate_checkpoint(junk, std::nullopt, {}, Device::cpu()), "junk.safetensors");
  EvalOptions bad;
  bad.samples = 0;
  EXPECT_LVK_ERROR(evaluate_checkpoint(checkpoint_, std::nullopt, bad, Device::cpu()), "samples=0");
  io::DatasetSpec other;
  other.source = "shapes", other.side = 16, other.count = 64;  // the model was built for 12x12
  EXPECT_LVK_ERROR(evaluate_checkpoint(checkpoint_, other, {}, Device::cpu()),
                   "has images [1, 16, 16] but " + checkpoint_ + " was trained on [1, 12, 12]");
}

// A stand-in for the VQ-VAE / dVAE: 4 positions per image whose code is the quadrant's mean pixel
// quantised to K = 8 levels; reconstructions are the quadrant means. Exercises the discrete hook.
class QuadrantCodes : public GenerativeModel, public DiscreteLatentModel {
 public:
  std::string kind() const override { return "quadrants"; }
  ModelOutput forward(const Tensor&, const StepInfo&) override { fail("quadrants: not trainable"); }
  Tensor sample(int64_t, uint64_t, uint64_t) override { fail("quadrants: no prior"); }
  void collect_parameters(const std::string&, ParameterList&) const override {}
  Tensor reconstruct(const Tensor& x) override {
    std::vector<float> v = x.to_vector<float>();
    const int64_t b = x.dim(0), s = x.dim(2);
    for (int64_t i = 0; i < b; ++i)
      for (int q = 0; q < 4; ++q) {
        double m = quadrant_mean(v, i, q, s);
        for_quadrant(i, q, s, [&](int64_t k) { v[k] = static_cast<float>(m); });
      }
    return Tensor::from_vector(v, x.shape());
  }
  int64_t codebook_size() const override { return 8; }
  int64_t latent_positions() const override { return 4; }
  Tensor encode_codes(const Tensor& x) override {
    const std::vector<float> v = x.to_vector<float>();
    const int64_t b = x.dim(0), s = x.dim(2);
    std::vector<int32_t> codes(b * 4);
    for (int64_t i = 0; i < b; ++i)
      for (int q = 0; q < 4; ++q) codes[i * 4 + q] = std::min(7, static_cast<int>(quadrant_mean(v, i, q, s) * 8));
    return Tensor::from_vector(codes, {b, 4});
  }

 private:
  template <class F>
  static void for_quadrant(int64_t i, int q, int64_t s, F f) {
    const int64_t h = s / 2;
    for (int64_t y = (q / 2) * h; y < (q / 2 + 1) * h; ++y)
      for (int64_t x = (q % 2) * h; x < (q % 2 + 1) * h; ++x) f(i * s * s + y * s + x);
  }
  static double quadrant_mean(const std::vector<float>& v, int64_t i, int q, int64_t s) {
    double sum = 0.0;
    for_quadrant(i, q, s, [&](int64_t k) { sum += v[k]; });
    return sum / ((s / 2) * (s / 2));
  }
};

TEST(EvalDiscrete, CodeUsagePerplexityAndUniformPriorBits) {
  QuadrantCodes model;
  ASSERT_EQ(discrete_latent_view(model), &model);
  EXPECT_EQ(gaussian_latent_view(model), nullptr);
  const io::ImageDataset data = io::make_shapes_dataset(100, 12, 3);
  EvalOptions o;
  o.points = 100, o.batch = 32;
  const ModelEvaluation r = evaluate_model(model, data, false, o, Device::cpu());
  EXPECT_TRUE(r.discrete);
  EXPECT_FALSE(r.gaussian);
  EXPECT_EQ(r.points, 100);
  int64_t total = 0, used = 0;
  for (int64_t c : r.code_counts) total += c, used += c > 0;
  EXPECT_EQ(total, 400);
  EXPECT_DOUBLE_EQ(r.usage, used / 8.0);
  EXPECT_GE(r.perplexity, 1.0);
  EXPECT_LE(r.perplexity, used + 1e-9);
  EXPECT_NEAR(r.uniform_prior_bits_per_dim, (r.recon_bce + 4 * std::log(8.0)) / (144 * std::log(2.0)), 1e-9);
  EXPECT_GT(r.recon_mse, 0.0);
  const nlohmann::json j = r.to_json();
  ASSERT_TRUE(j.contains("codes"));
  EXPECT_EQ(j["codes"]["counts"].size(), 8u);
  EXPECT_FALSE(j.contains("surgery"));
  const std::string prefix = (fs::path(::testing::TempDir()) / "lvk_eval_codes-").string();
  const std::vector<std::string> files = write_eval_plots(r, prefix);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_GT(io::read_png(files[0]).width, 0);
}

// The real discrete models expose their codes to the evaluation.
TEST(EvalDiscrete, VqVaeAndDvaeExposeTheirCodes) {
  const ImageShape shape{1, 8, 8};
  const Tensor x = random_tensor({3, 1, 8, 8}, 40, Device::cpu(), 0, 1);
  for (const char* kind : {"vqvae", "dvae"}) {
    InitStream init(41);
    const nlohmann::json options = {{"codes", 16}, {"code_dim", 4}, {"channels", 8}};
    std::unique_ptr<GenerativeModel> model = make_model(kind, options, shape, init, Device::cpu());
    DiscreteLatentModel* codes = discrete_latent_view(*model);
    ASSERT_NE(codes, nullptr) << kind;
    EXPECT_EQ(codes->codebook_size(), 16) << kind;
    EXPECT_EQ(codes->latent_positions(), 4) << kind;  // (8 / 4) x (8 / 4)
    const Tensor c = codes->encode_codes(x);
    EXPECT_EQ(c.shape(), (Shape{3, 4})) << kind;
    for (int32_t k : c.to_vector<int32_t>()) EXPECT_TRUE(k >= 0 && k < 16) << kind << " code " << k;
  }
}

}  // namespace
}  // namespace lvk::test
