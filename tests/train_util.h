#pragma once
// Shared by the training tests: short runs on the procedural shapes, and the exact-resume check
// every model must pass.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/trainer.h"

namespace lvk::test {

// An empty run folder under the test temp directory.
std::string fresh_run_dir(const std::string& name);

// A few small steps of `model` on 256 procedural 12 x 12 images: steps 6, batch 16, lr 3e-3,
// warm-up 2, checkpoints every 3 steps, evaluation only at the end. Tests adjust what they need.
TrainConfig small_run(const std::string& model, nlohmann::json options, const std::string& out);

// The "loss" of every line of <run>/metrics.jsonl.
std::vector<double> metric_losses(const std::string& run_dir);

// Trains `config` in <config.out>-straight without a break, and in <config.out>-resumed stops
// after step `stop_at` (as a crash would), resumes from the newest checkpoint (which must be at
// `resumes_from`) and finishes. Expects every step's loss, and the final parameters and buffers,
// to be bit-identical. Returns the resumed run's folder.
std::string expect_exact_resume(const TrainConfig& config, int64_t stop_at, int64_t resumes_from);

}  // namespace lvk::test
