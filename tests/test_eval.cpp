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
  for (int64_t i = 0; i < n; ++i) centres[i * d] = 50.0f * static_cast<float>(i % 8), centres[i * d + 1] = 50.0f * (i / 8);
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

TEST_P(EvalSurgery, CudaMatchesCpu) {
  if (!device().is_cuda()) GTEST_SKIP() << "compares the CUDA twin with the CPU reference";
  const auto [mu, logvar] = linear_gaussian_posteriors(500, 4, 1.0, 0.3, device());
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
  EXPECT_LVK_ERROR(elbo_surgery(Tensor::zeros({0, 2}, DType::f32, device()), Tensor::zeros({0, 2}, DType::f32, device()),
                                {}, {}),
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
  EXPECT_TRUE(all_close(row_loss(kernels::LossKind::bce_logits, a, b), Tensor::from_vector(
      std::vector<float>(bce.begin(), bce.end()), {5}), 1e-4, 1e-5));
  EXPECT_TRUE(all_close(row_loss(kernels::LossKind::gaussian_nll_fixed, a, b, -1.0f).to_vector<float>(), gauss, 1e-3,
                        1e-5));
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
    mu[i * 3 + 0] = (i % 2) ? 1.0f : -1.0f;      // variance 1: active
    mu[i * 3 + 1] = (i % 2) ? 0.05f : -0.05f;    // variance 0.0025: inactive
    mu[i * 3 + 2] = 0.3f;                         // constant: inactive, KL 0.045
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
  static void SetUpTestSuite() {
    dir_ = (fs::path(::testing::TempDir()) / "lvk_eval_vae").string();
    fs::remove_all(dir_);
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
};
std::string EvalTrained::dir_, EvalTrained::checkpoint_;

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

TEST_F(EvalTrained, BadCheckpointsGiveClearErrors) {
  EXPECT_LVK_ERROR(evaluate_checkpoint(dir_ + "/missing.safetensors", std::nullopt, {}, Device::cpu()), "does not exist");
  const std::string junk = (fs::path(dir_) / "junk.safetensors").string();
  std::ofstream(junk) << "not a checkpoint";
  EXPECT_LVK_ERROR(evaluate_checkpoint(junk, std::nullopt, {}, Device::cpu()), "junk.safetensors");
  EvalOptions bad;
  bad.samples = 0;
  EXPECT_LVK_ERROR(evaluate_checkpoint(checkpoint_, std::nullopt, bad, Device::cpu()), "samples=0");
  io::DatasetSpec other;
  other.source = "shapes", other.side = 16, other.count = 64;  // the model was built for 12x12
  EXPECT_LVK_ERROR(evaluate_checkpoint(checkpoint_, other, {}, Device::cpu()), "enc.0.weight");
}

}  // namespace
}  // namespace lvk::test
