#pragma once
// Adam / AdamW with global gradient-norm clipping and learning-rate schedules. The update is one
// fused multi-tensor kernel; the clipping norm is computed on the device and read by that kernel,
// so a step never synchronises with the host. State is exposed by name for checkpoints.
#include <cstdint>
#include <string>
#include <vector>

#include "models/module.h"
#include "runtime/ops/optim.h"
#include "runtime/ops/step_clock.h"

namespace lvk {

struct AdamOptions {
  float lr = 1e-3f;  // used by step() without an explicit rate
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = true;  // AdamW (true) or Adam with L2 in the gradient (false)
  float max_grad_norm = 0.0f;          // > 0 enables global norm clipping
};

class Adam {
 public:
  Adam(ParameterList params, AdamOptions options = {});

  // One update with learning rate `lr`. Parameters without a gradient are skipped (their moments
  // stay as they are), as in PyTorch.
  void step(float lr);
  void step() { step(options_.lr); }
  // One update driven by a train step's clock (runtime/ops/step_clock.h): the learning rate is the
  // clock's scalar 0 and the bias corrections come from its update count, all on the device; the
  // update is skipped there when `loss` or the gradient norm is not finite. Never waits for the
  // device; the count lives in the clock (set_steps() brings it back for a checkpoint).
  void step(StepClock& clock, const Tensor& loss);
  void set_steps(int64_t steps) { steps_ = steps; }
  // Zeroes every gradient in place (keeps the buffers).
  void zero_grad();

  int64_t steps() const { return steps_; }
  // The global gradient norm (before clipping) of the last step, a device scalar; undefined until
  // the first step. Reading it with item() synchronises.
  const Tensor& last_grad_norm() const { return last_norm_; }
  const AdamOptions& options() const { return options_; }

  // "<param>.exp_avg", "<param>.exp_avg_sq" and "step" (i32 [1]): what a checkpoint stores.
  ParameterList state() const;
  // Restores state(); throws naming a missing or mis-shaped entry.
  void load_state(const ParameterList& state);

 private:
  AdamHyper hyper() const;  // the constant part of an update
  Device device() const;
  // Norm, optional clock guard, then the fused update of every parameter that has a gradient.
  void update(const AdamHyper& h, StepClock* clock, const Tensor& loss);

  ParameterList params_;
  std::vector<Tensor> m_, v_;
  AdamOptions options_;
  int64_t steps_ = 0;
  Tensor last_norm_;
};

// Learning rate as a function of the step (0-based): linear warm-up base_lr * (step + 1) / warmup
// for the first warmup_steps steps, then constant, or cosine decay from base_lr to min_lr over
// the steps up to total_steps (held at min_lr afterwards).
struct LrSchedule {
  enum class Kind { constant, cosine };
  Kind kind = Kind::constant;
  float base_lr = 1e-3f;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // cosine only
  float min_lr = 0.0f;      // cosine only

  static LrSchedule constant(float lr) { return {Kind::constant, lr, 0, 0, 0.0f}; }
  static LrSchedule linear_warmup(float lr, int64_t warmup) { return {Kind::constant, lr, warmup, 0, 0.0f}; }
  static LrSchedule cosine(float lr, int64_t warmup, int64_t total, float min_lr = 0.0f) {
    return {Kind::cosine, lr, warmup, total, min_lr};
  }
  float lr_at(int64_t step) const;
};

}  // namespace lvk
