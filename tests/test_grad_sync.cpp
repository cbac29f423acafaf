// The bucketed gradient exchange against a stand-in communicator whose "all-reduce" adds 1 to
// every element on the current stream: each gradient must come back exactly once reduced, whether
// its bucket started during the backward pass (on the side stream, for CUDA) or after it, packed
// or in place.
#include "models/grad_sync.h"
#include "models/model_factory.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/creation.h"
#include "runtime/ops/nn.h"
#include "runtime/ops/reduce.h"
#include "runtime/tape.h"
#include "tests/fake_communicator.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

class GradientSyncTest : public BackendTest {};

// A chain of layers, so that backward finishes the last layer's weights first.
struct Chain {
  explicit Chain(Device device) {
    const int64_t widths[] = {48, 40, 32, 24, 16};
    for (int i = 0; i < 4; ++i) {
      params.emplace_back("w" + std::to_string(i),
                          random_tensor({widths[i + 1], widths[i]}, 30 + i, device).set_requires_grad(true));
      params.emplace_back("b" + std::to_string(i),
                          random_tensor({widths[i + 1]}, 40 + i, device).set_requires_grad(true));
    }
  }
  Tensor loss(const Tensor& x) const {
    Tensor h = x;
    for (size_t i = 0; i < params.size(); i += 2) h = linear(h, params[i].second, params[i + 1].second);
    return sum(mul(h, h));
  }
  // One backward pass with `sync` around it (nullptr: plain backward); returns every gradient.
  std::vector<std::vector<float>> pass(const Tensor& x, GradientSync* sync) {
    for (auto& [name, p] : params)
      if (Tensor g = p.grad(); g.defined()) fill_(g, 0.0f);
    Tape tape;
    Tensor l;
    {
      TapeRecording rec(tape);
      l = loss(x);
    }
    if (sync) {
      sync->begin(params);
      tape.on_leaf_gradient_final(sync->hook());
    }
    tape.backward(l);
    if (sync) sync->finish(params);
    std::vector<std::vector<float>> grads;
    for (const auto& [name, p] : params) grads.push_back(p.grad().to(Device::cpu()).to_vector<float>());
    return grads;
  }
  ParameterList params;
};

TEST_P(GradientSyncTest, EveryGradientIsReducedExactlyOnceDuringOrAfterBackward) {
  const Tensor x = random_tensor({8, 48}, 29, device());
  Chain plain(device());
  const std::vector<std::vector<float>> expected = plain.pass(x, nullptr);
  for (size_t bucket_bytes : {size_t{4}, size_t{2048}, size_t{6000}, size_t{1} << 20}) {
    SCOPED_TRACE(::testing::Message() << "bucket of " << bucket_bytes << " bytes");
    Chain chain(device());
    FakeCommunicator comm(1.0f);
    GradientSync sync(comm, device(), bucket_bytes);
    for (int step = 0; step < 2; ++step) {
      SCOPED_TRACE(::testing::Message() << "step " << step);
      const std::vector<std::vector<float>> got = chain.pass(x, &sync);
      ASSERT_EQ(got.size(), expected.size());
      for (size_t p = 0; p < got.size(); ++p)
        for (size_t i = 0; i < got[p].size(); ++i)
          ASSERT_FLOAT_EQ(got[p][i], expected[p][i] + 1.0f) << chain.params[p].first << "[" << i << "]";
      EXPECT_EQ(comm.all_reduces, (step + 1) * sync.last_collectives());
      // The first pass meets its gradients as they appear, so it exchanges them after backward;
      // from the second on the buckets are planned beforehand and start during backward.
      if (step == 0) {
        EXPECT_EQ(sync.last_overlapped(), 0);
      }
      if (step == 1) {
        EXPECT_GT(sync.last_overlapped(), 0);
      }
    }
    const size_t total = 4 * (48 * 40 + 40 * 32 + 32 * 24 + 24 * 16 + 40 + 32 + 24 + 16);
    EXPECT_EQ(sync.last_bytes(), total);
    if (bucket_bytes == 4) {
      EXPECT_EQ(sync.last_collectives(), 8);  // every gradient alone, in place
    }
    if (bucket_bytes == size_t{1} << 20) {
      EXPECT_EQ(sync.last_collectives(), 1);  // one packed bucket
    }
  }
}

LVK_INSTANTIATE_BACKENDS(GradientSyncTest);

// The all-reduces of one data-parallel step of each model, as docs/scaling.md counts them: one
// gradient bucket (every model here is under 25 MB), the packed figures, and a VQ bottleneck's
// level-0 counts (shared by its statistics and its EMA update) and EMA sums.
TEST(DataParallelStep, AllReducesPerStepOfEachModel) {
  const std::pair<const char*, int> expected[] = {{"vae", 2}, {"flowvae", 2}, {"dvae", 3}, {"vqvae", 4}, {"vqvae2", 6}};
  for (const auto& [kind, all_reduces] : expected) {
    SCOPED_TRACE(kind);
    FakeCommunicator comm;
    InitStream init(3);
    const std::unique_ptr<GenerativeModel> model =
        make_model(kind, nlohmann::json::object(), {1, 28, 28}, init, Device::cpu());
    Adam adam(model->parameters());
    TrainStepOptions options{0, 1, false, 2, &comm};
    TrainStep step(*model, adam, {1e-3f}, Device::cpu(), options);
    const Tensor x = uniform({4, 1, 28, 28}, 5, 0);
    model->initialize(x, StepInfo{0, 0, true, nullptr, &comm});
    step.take(x, 0);  // the first step also allocates the gradients
    const int before = comm.all_reduces;
    step.take(x, 1);
    EXPECT_EQ(comm.all_reduces - before, all_reduces);
    EXPECT_EQ(step.grad_sync()->last_collectives(), 1);
  }
}

}  // namespace
}  // namespace lvk::test
