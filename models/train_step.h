#pragma once
// One optimiser step of a GenerativeModel exactly as `lvk train` takes it, for the trainer and the
// benchmarks alike: forward on the tape, backward, Adam(W) driven by the device StepClock (its
// learning-rate table, non-finite guard and update count), the model's after_step, the step's
// figures into a device ScalarRing. Nothing waits for the device.
//
// On CUDA, each replay variant of the model's steps (GenerativeModel::replay_variant) is captured
// as a CUDA Graph after a few eager warm-up steps of that variant (which fill the cuDNN/cuBLAS
// caches and allocate the gradients outside the graph) and replayed from then on; when a capture
// fails the reason is kept and that variant's steps run eagerly.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "models/generative.h"
#include "models/grad_sync.h"
#include "models/optim.h"
#include "runtime/cuda_graph.h"
#include "runtime/ops/step_clock.h"

namespace lvk {

struct TrainStepOptions {
  uint64_t seed = 0;       // the run's seed (noise streams)
  int64_t ring_rows = 1;   // steps whose figures the ring holds between reads
  bool cuda_graph = true;  // capture replayable steps (CUDA only)
  int warmup_steps = 2;    // eager steps of a variant before its capture
  // Data-parallel ranks (null: one process). Gradients, the loss and the loss terms are averaged
  // over them, so the guard, clipping and update are global. The gradients' all-reduce runs in
  // buckets of `bucket_bytes`, each started during the backward pass as soon as its gradients are
  // final (`overlap`), or all after the backward pass.
  dist::Communicator* comm = nullptr;
  size_t bucket_bytes = GradientSync::kDefaultBucketBytes;
  bool overlap = true;
};

class TrainStep {
 public:
  // lr_table: the learning rate of each step (later steps keep the last). The model and the
  // optimiser must outlive this object.
  TrainStep(GenerativeModel& model, Adam& adam, const std::vector<float>& lr_table, Device device,
            TrainStepOptions options);

  // Enqueues step `step` (0-based) on the images x [B, C, H, W], which are copied into the step's
  // input buffer; every step must have the first one's shape.
  void take(const Tensor& x, int64_t step);

  // Figures of steps first..last (0-based, at most ring_rows of them), in figure_names() order
  // (the last, "skipped", is 1 for a skipped step). Synchronises.
  std::vector<std::vector<float>> read(int64_t first, int64_t last) const;
  // "loss", the model's terms and stats, "grad_norm", "lr", "skipped"; empty before the first step.
  const std::vector<std::string>& figure_names() const { return names_; }

  StepClock& clock() { return clock_; }
  int64_t graph_steps() const { return graph_steps_; }
  int64_t eager_steps() const { return eager_steps_; }
  const std::string& graph_note() const { return graph_note_; }  // why capture failed, if it did
  // The gradient exchange of data-parallel steps (null in a world of one).
  const GradientSync* grad_sync() const { return grad_sync_.get(); }

 private:
  void enqueue(const StepInfo& info);

  GenerativeModel& model_;
  Adam& adam_;
  Device device_;
  TrainStepOptions options_;
  StepClock clock_;
  std::unique_ptr<ScalarRing> ring_;  // made by the first step, which names the figures
  std::vector<std::string> names_;
  Tensor input_;                                         // at a fixed address, as replays need
  std::map<int, std::unique_ptr<CapturedWork>> graphs_;  // by replay variant
  std::map<int, int> warmed_up_;
  std::set<int> failed_;  // variants whose capture failed: they stay eager
  int64_t graph_steps_ = 0, eager_steps_ = 0;
  std::string graph_note_;
  std::unique_ptr<GradientSync> grad_sync_;
};

}  // namespace lvk
