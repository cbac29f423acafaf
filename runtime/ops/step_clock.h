#pragma once
// The train step's device-resident clock (kernels/step.h): step number, noise base, scheduled
// scalars, the non-finite guard and Adam's update count live on the training device, so a step
// reads them there instead of taking them as host arguments. This makes an eager step free of
// host synchronisation and lets one captured step (a CUDA Graph) replay at every later step.
//
// The schedules are a host table with one row per step (learning rate first, then the model's own
// scalars), uploaded once. Host copies are only made by read(), which waits for the device.
#include <cstdint>
#include <vector>

#include "kernels/step.h"
#include "runtime/tensor.h"

namespace lvk {

// What the clock holds on the device (step, noise base, learning rate, non-finite guard).
using StepState = kernels::StepState;
// Philox offsets a step may use: draw k of step s uses offset (s + 1) * kDrawsPerStep + k.
inline constexpr uint64_t kDrawsPerStep = kernels::kDrawsPerStep;

class StepClock {
 public:
  // table: rows x (1 + model scalars) floats, row s = the values of step s (later steps use the
  // last row); column 0 is the learning rate.
  StepClock(Device device, const std::vector<float>& table, int64_t rows, int columns);

  Device device() const { return device_; }
  int scalar_count() const { return columns_; }

  // Enqueues the start of the current step: its scalars and noise base, skip cleared.
  void begin();
  // Enqueues the skip decision: the step is skipped when loss or grad_norm (one-element f32, either
  // may be undefined) is not finite; otherwise Adam's count and bias corrections advance.
  void guard(const Tensor& loss, const Tensor& grad_norm, float beta1, float beta2);
  // Enqueues step += 1.
  void end();

  // Device scalar views of this step's values (one-element f32, valid after begin()).
  const Tensor& scalar(int column) const;                       // 0: learning rate
  const Tensor& skipped_flag() const { return skipped_flag_; }  // 1.0 when this step is skipped
  // Device pointers for kernels that read the state directly.
  const StepState* state() const;
  const uint64_t* noise_base() const;

  // The state as the host sees it after every enqueued step finished (synchronises).
  StepState read() const;
  // Sets the counters (a fresh run or a resumed checkpoint); enqueued in stream order.
  void write(const StepState& s);

 private:
  Device device_;
  int columns_;
  int64_t rows_;
  Tensor state_;  // i32 [kStepStateWords]: a kernels::StepState
  Tensor table_;  // f32 [rows, columns]
  std::vector<Tensor> scalars_;
  Tensor skipped_flag_;
};

// A ring of per-step figures on the device: each step writes its row (row = step % rows) from
// one-element f32 tensors, and the host reads the rows of up to `rows` steps at once.
class ScalarRing {
 public:
  ScalarRing(Device device, int64_t rows, int columns);
  // Enqueues this step's row (the clock's step picks it); figures: `columns` one-element f32
  // tensors on the ring's device.
  void record(const StepClock& clock, const std::vector<Tensor>& figures);
  // Rows of steps first..last (inclusive, last - first < rows), copied to the host (synchronises).
  std::vector<std::vector<float>> read(int64_t first, int64_t last) const;
  int64_t rows() const { return rows_; }

 private:
  int64_t rows_;
  int columns_;
  Tensor ring_;  // f32 [rows, columns]
};

}  // namespace lvk
