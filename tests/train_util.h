#pragma once
// Shared by the training tests: short runs on the procedural shapes, and the exact-resume check
// every model must pass.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/trainer.h"
#include "models/vqvae.h"

namespace lvk::test {

// An empty run folder under the test temp directory. The name carries the process id: ctest runs
// tests side by side, and several builds' suites may run at once on one machine.
std::string fresh_run_dir(const std::string& name);

// Shared training done in a suite's SetUpTestSuite. gtest skips every test of a suite whose
// SetUpTestSuite throws (and ctest counts them as skipped, hiding the failure), so the work runs
// here, the error is kept, and each test's SetUp fails with it: LVK_FAIL_IF_SUITE_SETUP_FAILED.
class SuiteSetup {
 public:
  void run(const std::function<void()>& work);
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};
#define LVK_FAIL_IF_SUITE_SETUP_FAILED(setup)                                                       \
  do {                                                                                              \
    if (!(setup).error().empty()) FAIL() << "the suite's shared setup failed: " << (setup).error(); \
  } while (0)

// A few small steps of `model` on 256 procedural 12 x 12 images: steps 6, batch 16, lr 3e-3,
// warm-up 2, checkpoints every 3 steps, evaluation only at the end. Tests adjust what they need.
TrainConfig small_run(const std::string& model, nlohmann::json options, const std::string& out);

// The value of loss term `name` of a model's output (a failure when it has none).
double output_term(const ModelOutput& out, const std::string& name);
// Small VQ-VAE options for the VQ model tests: 4 channels, K = 8 codes of C = 3, no k-means.
VqVaeOptions tiny_vq_options(const std::string& codebook = "loss");

// The "loss" of every line of <run>/metrics.jsonl.
std::vector<double> metric_losses(const std::string& run_dir);

// Trains `config` in <config.out>-straight without a break, and in <config.out>-resumed stops
// after step `stop_at` (as a crash would), resumes from the newest checkpoint (which must be at
// `resumes_from`) and finishes. Expects every step's loss, and the final parameters and buffers,
// to be bit-identical. Returns the resumed run's folder.
std::string expect_exact_resume(const TrainConfig& config, int64_t stop_at, int64_t resumes_from,
                                Device device = Device::cpu());

}  // namespace lvk::test
