// The Gaussian VAE and the flow-prior VAE: loss terms by hand, gradients, training on the
// procedural set, checkpoint corruption, CUDA against the CPU.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "models/vae.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/gaussian.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

const ImageShape kTiny{1, 4, 4};

Tensor tiny_images(int64_t b, uint32_t seed, Device device) {
  return random_tensor({b, 1, 4, 4}, seed, device, 0, 1);
}

VaeOptions tiny_options(const std::string& arch = "mlp", const std::string& prior = "standard") {
  VaeOptions o;
  o.arch = arch;
  o.latent = 3;
  o.hidden = 8;
  o.channels = 2;
  o.prior = prior;
  o.flow_layers = 2;
  o.flow_hidden = 4;
  o.pseudo_inputs = 3;
  o.beta = 0.5f;
  return o;
}

class VaeModel : public BackendTest {};

TEST_P(VaeModel, LossTermsMatchAHandComputation) {
  InitStream init(1);
  Vae vae(tiny_options(), kTiny, init, device());
  const Tensor x = tiny_images(5, 2, device());
  const StepInfo info{7, 3, true};
  const ModelOutput out = vae.forward(x, info);
  // The same sample by hand: encoder, the op's noise for this step, decoder.
  auto [mu, logvar] = vae.encode(x);
  const Tensor z = gaussian_sample(mu, logvar, {0, info.seed, info.noise_offset(0)}).z;
  const std::vector<float> logits = vae.decode(z).to_vector<float>(), xv = x.to_vector<float>();
  const std::vector<float> m = mu.to_vector<float>(), lv = logvar.to_vector<float>();
  double recon = 0, kl = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const double l = logits[i];
    recon += std::max(l, 0.0) - l * xv[i] + std::log1p(std::exp(-std::fabs(l)));  // -log Bernoulli(x; sigmoid(l))
  }
  for (size_t i = 0; i < m.size(); ++i) kl += 0.5 * (std::exp(double(lv[i])) + double(m[i]) * m[i] - 1 - lv[i]);
  recon /= 5, kl /= 5;
  auto term = [&](const char* name) {
    for (const auto& [n, t] : out.terms)
      if (n == name) return double(t.item());
    ADD_FAILURE() << "no term " << name;
    return 0.0;
  };
  EXPECT_NEAR(term("recon"), recon, 1e-4 * recon);
  EXPECT_NEAR(term("kl"), kl, 1e-4 * kl + 1e-6);
  EXPECT_NEAR(term("elbo"), -(recon + kl), 1e-4 * recon);
  EXPECT_NEAR(out.loss.item(), recon + 0.5 * kl, 1e-4 * recon);
}

TEST_P(VaeModel, ParameterGradientsMatchFiniteDifferences) {
  for (const char* arch : {"mlp", "conv"}) {
    for (const char* prior : {"standard", "realnvp", "maf", "vamp"}) {
      if (std::string(arch) == "conv" && std::string(prior) != "standard") continue;
      SCOPED_TRACE(std::string(arch) + " " + prior);
      InitStream init(4);
      Vae vae(tiny_options(arch, prior), kTiny, init, device());
      const Tensor x = tiny_images(3, 5, device());
      const StepInfo info{0, 6, true};
      for (auto& [name, p] : vae.parameters()) {
        const bool pick = name == "enc.0.bias" || name == "logvar.weight" || name == "dec.2.bias" ||
                          name == "enc_conv.1.bias" || name == "dec_conv.0.bias" || name == "prior.layers.1.s.bias" ||
                          name == "prior.layers.0.actnorm.log_scale" || name == "prior.layers.1.made.shift.bias" ||
                          name == "prior.layers.0.made.trunk.0.weight" || name == "prior.pseudo_inputs";
        if (!pick) continue;
        EXPECT_TRUE(check_parameter_gradient([&] { return vae.forward(x, info).loss; }, p,
                                             GradCheckOptions{1e-3, 5e-3, 5e-3, {}}))
            << name;
      }
    }
  }
}

TEST_P(VaeModel, SamplesAndReconstructionsHaveImageShape) {
  for (const char* prior : {"standard", "realnvp", "maf", "vamp"}) {
    InitStream init(8);
    Vae vae(tiny_options("mlp", prior), kTiny, init, device());
    const std::vector<float> s = vae.sample(6, 1, 2).to_vector<float>();
    EXPECT_EQ(s.size(), 6u * 16u) << prior;
    for (float v : s) EXPECT_TRUE(v >= 0 && v <= 1) << prior;
    EXPECT_EQ(vae.sample_prior(5, 1, 2).shape(), (Shape{5, 3})) << prior;
  }
  InitStream init(8);
  Vae vae(tiny_options("conv", "standard"), kTiny, init, device());
  EXPECT_EQ(vae.sample(6, 1, 2).shape(), (Shape{6, 1, 4, 4}));
  const Tensor r = vae.reconstruct(tiny_images(2, 9, device()));
  EXPECT_EQ(r.shape(), (Shape{2, 1, 4, 4}));
  for (float v : r.to_vector<float>()) EXPECT_TRUE(v >= 0 && v <= 1);
  EXPECT_LVK_ERROR(vae.forward(random_tensor({2, 1, 5, 4}, 1, device()), StepInfo{}), "expected images [B, 1, 4, 4]");
}

LVK_INSTANTIATE_BACKENDS(VaeModel);

TrainConfig shapes_run(const std::string& model, const std::string& out, int64_t steps) {
  TrainConfig c;
  c.model = model;
  c.model_options = {{"latent", 8}, {"hidden", 128}};
  c.data.source = "shapes";
  c.data.count = 2048;
  c.data.side = 16;
  c.steps = steps;
  c.batch = 32;
  c.lr = 2e-3f;
  c.warmup = 10;
  c.eval_every = steps;
  c.eval_batches = 2;
  c.checkpoint_every = steps;
  c.out = out;
  return c;
}

// Average loss of the first and last 20 steps of a run on procedural shapes.
std::pair<double, double> first_last_losses(const TrainConfig& c) {
  fs::remove_all(c.out);
  Trainer t(c, Device::cpu(), false);
  std::vector<double> losses;
  t.run([&](const StepReport& r) { losses.push_back(r.figures.front().second); }, [](const EvalReport&) {});
  double first = 0, last = 0;
  for (int i = 0; i < 20; ++i) first += losses[i], last += losses[losses.size() - 1 - i];
  return {first / 20, last / 20};
}

// Seen on the CPU (first vs last 20 steps of 250): the VAE falls from 141 to 70 nats per 16 x 16
// image (2.0x), the flow-VAE from 4650 (an untrained prior) to 71. The test demands a factor of 1.6.
TEST(VaeTraining, LossFallsOnProceduralShapes) {
  for (const char* model : {"vae", "flowvae"}) {
    TrainConfig c =
        shapes_run(model, (fs::path(::testing::TempDir()) / (std::string("lvk_vae_fall_") + model)).string(), 250);
    if (std::string(model) == "flowvae") c.model_options["flow_hidden"] = 16, c.model_options["flow_layers"] = 2;
    const auto [first, last] = first_last_losses(c);
    EXPECT_LT(last * 1.6, first) << model << ": first " << first << ", last " << last;
  }
}

TEST(VaeTraining, CorruptCheckpointsAreRejectedByName) {
  const std::string dir = (fs::path(::testing::TempDir()) / "lvk_vae_corrupt").string();
  fs::remove_all(dir);
  {
    Trainer t(shapes_run("vae", dir, 2), Device::cpu(), false);
    t.run([](const StepReport&) {}, [](const EvalReport&) {});
  }
  const std::string ckpt = *latest_checkpoint(dir);
  const auto size = fs::file_size(ckpt);
  fs::resize_file(ckpt, size / 2);
  EXPECT_LVK_ERROR(load_checkpoint(ckpt, Device::cpu()), ckpt);
  EXPECT_LVK_ERROR(Trainer(shapes_run("vae", dir, 4), Device::cpu(), true), ckpt);
  std::ofstream(ckpt, std::ios::trunc) << "not a checkpoint";
  EXPECT_LVK_ERROR(load_checkpoint(ckpt, Device::cpu()), ckpt);
}

TEST(VaeCuda, OneTrainStepMatchesTheCpu) {
  LVK_SKIP_IF_UNUSABLE(Device::cuda(0));
  InitStream a(11), b(11);
  Vae cpu(tiny_options("conv"), kTiny, a, Device::cpu());
  Vae gpu(tiny_options("conv"), kTiny, b, Device::cuda(0));
  const Tensor x = tiny_images(4, 12, Device::cpu());
  const StepInfo info{0, 13, true};
  Tape tc, tg;
  Tensor lc, lg;
  {
    TapeRecording rec(tc);
    lc = cpu.forward(x, info).loss;
  }
  {
    TapeRecording rec(tg);
    lg = gpu.forward(x.to(Device::cuda(0)), info).loss;
  }
  EXPECT_NEAR(lg.item(), lc.item(), 1e-3 * std::fabs(lc.item()));
  tc.backward(lc);
  tg.backward(lg);
  const ParameterList pc = cpu.parameters(), pg = gpu.parameters();
  for (size_t i = 0; i < pc.size(); ++i)
    EXPECT_TRUE(all_close(pg[i].second.grad(), pc[i].second.grad(), 1e-3, 1e-2)) << pc[i].first;
}

}  // namespace
}  // namespace lvk::test
