// The vqprior: the raster masks (the key property: no position sees itself (type A) or anything
// after it), decode_codes against reconstruct, training on the codes of a tiny VQ-VAE trained on
// the procedural shapes, samples (shape, range, determinism), a checkpoint that loads back
// without the VQ-VAE's run and samples identically, bad options.
#include <cmath>
#include <filesystem>

#include "models/code_prior.h"
#include "models/eval.h"
#include "models/model_factory.h"
#include "models/pixelcnn.h"
#include "models/saved_model.h"
#include "models/trainer.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"
#include "tests/harness.h"
#include "tests/train_util.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

// Positions of an H x W map in raster order.
constexpr int64_t kH = 4, kW = 5, kP = kH * kW;

std::vector<float> at_position(const Tensor& y, int64_t p) {  // y [1, C, H, W] -> its C values at p
  const std::vector<float> v = y.to_vector<float>();
  std::vector<float> out;
  for (int64_t c = 0; c < y.dim(1); ++c) out.push_back(v[static_cast<size_t>(c * kP + p)]);
  return out;
}

// A position that p must see: the one above it, or in the first row the one to its left
// (-1: none). The end of the row above may lie outside a 5 x 5 kernel's reach.
int64_t seen_before(int64_t p) {
  return p >= kW ? p - kW : p - 1;
}

// x [1, C, H, W] with every channel at positions >= from (or > from) replaced by other values.
Tensor perturb_from(const Tensor& x, int64_t from, uint32_t seed) {
  std::vector<float> v = x.to_vector<float>();
  const std::vector<float> r = random_values(v.size(), seed, 2.0f, 3.0f);
  for (int64_t c = 0; c < x.dim(1); ++c)
    for (int64_t q = from; q < kP; ++q) v[static_cast<size_t>(c * kP + q)] = r[static_cast<size_t>(c * kP + q)];
  return Tensor::from_vector(v, x.shape());
}

void expect_causal(char type) {
  InitStream init(1);
  const MaskedConv2d conv(3, 4, 5, type, init, Device::cpu());
  const Tensor x = random_tensor({1, 3, kH, kW}, 2, Device::cpu());
  const Tensor y = conv.forward(x);
  const int64_t blind = type == 'A' ? 0 : 1;  // type A must not see p itself, type B may
  for (int64_t p = 0; p < kP; ++p) {
    EXPECT_EQ(at_position(conv.forward(perturb_from(x, p + blind, 10 + static_cast<uint32_t>(p))), p),
              at_position(y, p))
        << "type " << type << ": the output at position " << p << " saw a later position";
    // Not vacuous: p itself (type B), or the position above it (left of it in row 0) is seen.
    const int64_t seen = type == 'B' ? p : seen_before(p);
    if (seen >= 0) {
      EXPECT_NE(at_position(conv.forward(perturb_from(x, seen, 50 + static_cast<uint32_t>(p))), p), at_position(y, p))
          << "type " << type << ": position " << p << " does not see position " << seen;
    }
  }
}

TEST(MaskedConv, TypeASeesOnlyEarlierPositions) {
  expect_causal('A');
}
TEST(MaskedConv, TypeBSeesEarlierPositionsAndItself) {
  expect_causal('B');
}

TEST(MaskedConv, MaskedTapsGetNoGradient) {
  InitStream init(1);
  const MaskedConv2d conv(2, 3, 3, 'A', init, Device::cpu());
  Tape tape;
  Tensor total;
  {
    TapeRecording rec(tape);
    total = sum(conv.forward(random_tensor({2, 2, kH, kW}, 3, Device::cpu())));
  }
  tape.backward(total);
  const std::vector<float> g = conv.parameters().front().second.grad().to_vector<float>();
  const std::vector<float> m = conv.mask().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    if (m[i] == 0.0f) {
      EXPECT_EQ(g[i], 0.0f) << "weight tap " << i;
    }
}

TEST(PixelCnn, LogitsAtAPositionIgnoreTheCodesFromItOn) {
  const int64_t k = 6;
  InitStream init(4);
  const PixelCnn net(k, 32, 2, 5, init, Device::cpu());  // wide enough that no position is all dead ReLUs
  std::vector<int32_t> codes(kP);
  for (int64_t p = 0; p < kP; ++p) codes[static_cast<size_t>(p)] = static_cast<int32_t>((p * 7 + 3) % k);
  const Tensor base = net.logits(Tensor::from_vector(codes, {1, kH, kW}));
  for (int64_t p = 0; p < kP; ++p) {
    std::vector<int32_t> changed = codes;
    for (int64_t q = p; q < kP; ++q)
      changed[static_cast<size_t>(q)] = static_cast<int32_t>((changed[static_cast<size_t>(q)] + 1 + q) % k);
    EXPECT_EQ(at_position(net.logits(Tensor::from_vector(changed, {1, kH, kW})), p), at_position(base, p))
        << "the logits at position " << p << " depend on a code at or after it";
    if (const int64_t q = seen_before(p); q >= 0) {  // and they do depend on an earlier code
      std::vector<int32_t> before = codes;
      before[static_cast<size_t>(q)] = static_cast<int32_t>((before[static_cast<size_t>(q)] + 1) % k);
      EXPECT_NE(at_position(net.logits(Tensor::from_vector(before, {1, kH, kW})), p), at_position(base, p))
          << "position " << p;
    }
  }
}

// A tiny VQ-VAE (bernoulli decoder: images in [0, 1]) trained once for the suite, then the prior.
class VqPriorTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_->run(train_both); }
  void SetUp() override { LVK_FAIL_IF_SUITE_SETUP_FAILED(*setup_); }
  static void train_both() {
    vq_dir_ = new std::string(fresh_run_dir("vqprior_vqvae"));
    TrainConfig vq = small_run("vqvae",
                               {{"codes", 8},
                                {"code_dim", 4},
                                {"channels", 8},
                                {"decoder", "bernoulli"},
                                {"codebook", "loss"},
                                {"kmeans_init", true}},
                               *vq_dir_);
    vq.steps = 40;
    vq.checkpoint_every = 40;
    Trainer(vq, Device::cpu(), false).run([](const StepReport&) {}, [](const EvalReport&) {});

    prior_dir_ = new std::string(fresh_run_dir("vqprior_prior"));
    TrainConfig pc =
        small_run("vqprior", {{"vqvae", *vq_dir_}, {"hidden", 16}, {"layers", 2}, {"kernel", 5}}, *prior_dir_);
    pc.steps = kPriorSteps;
    pc.checkpoint_every = kPriorSteps;
    pc.warmup = 10;
    prior_ = new Trainer(pc, Device::cpu(), false);
    prior_->run([](const StepReport&) {}, [](const EvalReport&) {});
  }
  static void TearDownTestSuite() {
    delete prior_;
    for (const std::string* dir : {vq_dir_, prior_dir_})
      if (dir) fs::remove_all(*dir);
    delete vq_dir_;
    delete prior_dir_;
  }
  static constexpr int64_t kPriorSteps = 300;
  static std::string* vq_dir_;
  static std::string* prior_dir_;
  static Trainer* prior_;
  static SuiteSetup* setup_;
};
std::string* VqPriorTraining::vq_dir_ = nullptr;
std::string* VqPriorTraining::prior_dir_ = nullptr;
Trainer* VqPriorTraining::prior_ = nullptr;
SuiteSetup* VqPriorTraining::setup_ = new SuiteSetup;  // leaked: outlives every test

TEST_F(VqPriorTraining, LossFalls) {
  const std::vector<double> losses = metric_losses(*prior_dir_);
  ASSERT_EQ(losses.size(), static_cast<size_t>(kPriorSteps));
  double first = 0.0, last = 0.0;
  for (size_t i = 0; i < 10; ++i) first += losses[i] / 10, last += losses[losses.size() - 1 - i] / 10;
  // Untrained, the prior is close to uniform: 3 x 3 positions x log 8 = 18.7 nats per image.
  EXPECT_GT(first, 12.0);
  EXPECT_LT(last, 0.5 * first) << "first 10 steps " << first << " nats, last 10 " << last;
  std::printf("vqprior loss: first 10 steps %.3f nats/image, last 10 %.3f\n", first, last);
}

// lvk eval reports the codes' NLL under the learned prior beside the uniform prior's.
TEST_F(VqPriorTraining, EvaluationReportsTheLearnedPriorsCodeNll) {
  const io::ImageDataset data = io::open_split(prior_->config().data, io::Split::held_out);
  EvalOptions o;
  o.points = 64;
  const ModelEvaluation r = evaluate_model(prior_->model(), data, false, o, Device::cpu());
  ASSERT_TRUE(r.discrete);
  ASSERT_TRUE(r.learned_prior);
  const double uniform = 9 * std::log(8.0);  // 3 x 3 positions of K = 8 codes
  EXPECT_GT(r.prior_code_nll.mean, 0.0);
  EXPECT_LT(r.prior_code_nll.mean, 0.8 * uniform) << "the trained prior must beat uniform codes";
  EXPECT_NEAR(r.learned_prior_bits_per_dim, (r.recon_bce + r.prior_code_nll.mean) / (144 * std::log(2.0)), 1e-9);
  EXPECT_LT(r.learned_prior_bits_per_dim, r.uniform_prior_bits_per_dim);
  // The same codes under the VQ-VAE alone: no learned prior.
  auto& prior = static_cast<VqPrior&>(prior_->model());
  const ModelEvaluation plain = evaluate_model(prior.vqvae(), data, false, o, Device::cpu());
  EXPECT_FALSE(plain.learned_prior);
  EXPECT_EQ(plain.code_counts, r.code_counts);
}

TEST_F(VqPriorTraining, DecodeCodesIsTheReconstruction) {
  auto& prior = static_cast<VqPrior&>(prior_->model());
  const Tensor x = random_tensor({3, 1, 12, 12}, 5, Device::cpu(), 0.0f, 1.0f);
  EXPECT_TRUE(all_close(prior.vqvae().decode_codes(prior.codes(x)), prior.reconstruct(x), 1e-6, 1e-6));
  EXPECT_LVK_ERROR(prior.vqvae().decode_codes(Tensor::zeros({1, 4, 3}, DType::i32)), "decode_codes expects");
}

TEST_F(VqPriorTraining, SamplesHaveTheImageShapeAndAreDeterministic) {
  GenerativeModel& model = prior_->model();
  NoGrad no_grad;
  const Tensor a = model.sample(5, 7, 0), b = model.sample(5, 7, 0), c = model.sample(5, 8, 0);
  ASSERT_EQ(a.shape(), Shape({5, 1, 12, 12}));
  for (float v : a.to_vector<float>()) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
}

TEST_F(VqPriorTraining, CheckpointLoadsBackWithoutTheVqVaeRun) {
  NoGrad no_grad;
  const Tensor expected = prior_->model().sample(4, 3, 1);
  const std::string moved = *vq_dir_ + "-moved";
  fs::remove_all(moved);
  fs::rename(*vq_dir_, moved);  // the prior's checkpoint must not need it
  SavedModel saved;
  try {
    saved = load_saved_model(*prior_dir_, Device::cpu());
  } catch (...) {
    fs::rename(moved, *vq_dir_);
    throw;
  }
  fs::rename(moved, *vq_dir_);
  EXPECT_EQ(saved.model->kind(), "vqprior");
  EXPECT_EQ(saved.model->sample(4, 3, 1).to_vector<float>(), expected.to_vector<float>());
}

TEST_F(VqPriorTraining, BadOptionsAreClearErrors) {
  const ImageShape shape{1, 12, 12};
  InitStream init(0);
  EXPECT_LVK_ERROR(make_model("vqprior", nlohmann::json::object(), shape, init, Device::cpu()),
                   "option 'vqvae' (the VQ-VAE's run folder or checkpoint) is required");
  EXPECT_LVK_ERROR(make_model("vqprior", {{"vqvae", *vq_dir_}, {"depth", 3}}, shape, init, Device::cpu()),
                   "unknown option 'depth'");
  EXPECT_LVK_ERROR(make_model("vqprior", {{"vqvae", *vq_dir_}, {"kernel", 4}}, shape, init, Device::cpu()),
                   "kernel=4 must be odd");
  EXPECT_LVK_ERROR(make_model("vqprior", {{"vqvae", *vq_dir_ + "-nothing"}}, shape, init, Device::cpu()),
                   "does not exist");
  EXPECT_LVK_ERROR(make_model("vqprior", {{"vqvae", *vq_dir_}}, ImageShape{1, 16, 16}, init, Device::cpu()),
                   "the data has images [1, 16, 16] but the VQ-VAE");
  // A run that is not a VQ-VAE.
  TrainConfig vae = small_run("vae", {{"latent", 2}, {"hidden", 8}}, fresh_run_dir("vqprior_vae"));
  vae.steps = 1;
  vae.checkpoint_every = 1;
  Trainer(vae, Device::cpu(), false).run([](const StepReport&) {}, [](const EvalReport&) {});
  EXPECT_LVK_ERROR(make_model("vqprior", {{"vqvae", vae.out}}, shape, init, Device::cpu()),
                   "is a vae run; the prior needs a vqvae run");
}

}  // namespace
}  // namespace lvk::test
