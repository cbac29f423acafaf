#pragma once
// The train step's device-resident state. Everything that changes from one optimiser step to the
// next (the step number, the Philox offset of its noise, the learning rate and other scheduled
// scalars, whether the step is skipped as non-finite, Adam's update count) lives in device memory
// and is read there by the kernels, never passed as a host argument. A train step captured once
// as a CUDA Graph therefore replays correctly at every later step, and an eager step never has to
// ask the host whether its loss was finite.
//
// One step: step_begin (copies this step's row of the schedule table into the scalar slots and
// derives the noise base), forward, backward, the gradient norm, step_guard (decides skip; Adam's
// count and bias corrections), the optimiser and EMA updates (no-ops when skipped), record_scalars
// (this step's figures into the readback ring), step_end (step += 1). The same helpers below run
// in both twins, so the CPU and CUDA decisions are identical.
#include <cmath>

#include "base/philox.h"
#include "kernels/twins.h"

namespace lvk::kernels {

// Philox offsets a step may use: draw k of step s uses offset (s + 1) * kDrawsPerStep + k.
constexpr uint64_t kDrawsPerStep = 16;
// Scheduled scalars per step (slot 0: learning rate; the model's own after it) and figures
// recorded per step.
constexpr int kMaxStepScalars = 8;
constexpr int kMaxRecordedScalars = 48;

struct StepState {
  int64_t step;            // 0-based optimiser step being taken
  uint64_t noise_base;     // (step + 1) * kDrawsPerStep: offset of the step's draw 0
  int32_t skip;            // 1: the loss or the gradient norm is not finite; nothing is updated
  int32_t adam_steps;      // updates applied so far (Adam's t)
  float bias_correction1;  // 1 - beta1^t and 1 - beta2^t for this step's update
  float bias_correction2;
};
static_assert(sizeof(StepState) == 32, "StepState is stored as i32[8]");
constexpr int kStepStateWords = sizeof(StepState) / 4;

// Destinations of the scheduled scalars (one-element f32 tensors), passed by value.
struct StepScalarSlots {
  float* slot[kMaxStepScalars];
  int count;
};
// Sources of one step's recorded figures (one-element f32 tensors), passed by value.
struct RecordedScalars {
  const float* source[kMaxRecordedScalars];
  int count;
};

LVK_HD void step_begin_apply(StepState& s, const StepScalarSlots& slots, const float* table, index_t rows) {
  const index_t row = s.step < rows ? s.step : rows - 1;  // past the table: hold its last row
  for (int j = 0; j < slots.count; ++j) *slots.slot[j] = table[row * slots.count + j];
  s.noise_base = (static_cast<uint64_t>(s.step) + 1) * kDrawsPerStep;
  s.skip = 0;
}

LVK_HD void step_guard_apply(StepState& s, float* skipped_flag, float loss, float grad_norm, float beta1, float beta2) {
  const bool finite = std::isfinite(loss) && std::isfinite(grad_norm);
  s.skip = finite ? 0 : 1;
  *skipped_flag = finite ? 0.0f : 1.0f;
  if (!finite) return;
  s.adam_steps += 1;
  const double t = static_cast<double>(s.adam_steps);
  s.bias_correction1 = static_cast<float>(1.0 - pow(static_cast<double>(beta1), t));
  s.bias_correction2 = static_cast<float>(1.0 - pow(static_cast<double>(beta2), t));
}

#define LVK_STEP_DECLS(...)                                                                                      \
  /* Slots <- row min(step, rows - 1) of table [rows, slots.count]; noise base; skip = 0. */                     \
  void step_begin(StepState* state, StepScalarSlots slots, const float* table, index_t rows __VA_ARGS__);        \
  /* Skip decision from loss [1] and grad_norm [1] (either nullable: taken as finite); skipped_flag [1]. */      \
  void step_guard(StepState* state, float* skipped_flag, const float* loss, const float* grad_norm, float beta1, \
                  float beta2 __VA_ARGS__);                                                                      \
  /* ring[(step % rows) * count + j] = *source[j]. */                                                            \
  void record_scalars(float* ring, index_t rows, const StepState* state, RecordedScalars sources __VA_ARGS__);   \
  void step_end(StepState* state __VA_ARGS__);

namespace cpu {
LVK_STEP_DECLS()
}
#if LVK_WITH_CUDA
namespace cuda {
LVK_STEP_DECLS(, cudaStream_t stream)
}
#endif
#undef LVK_STEP_DECLS

}  // namespace lvk::kernels
