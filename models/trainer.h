#pragma once
// The training loop of `lvk train`: data, AdamW with warm-up and cosine decay, gradient clipping,
// non-finite step skipping, held-out evaluation, metrics (JSONL), pictures and checkpoints.
//
// A step never waits for the device. What changes per step (step number, noise, learning rate,
// the non-finite guard) lives in a device StepClock; each step's figures go to a device ring that
// the host reads every `readback_every` steps (and before evaluations and checkpoints). On CUDA,
// a model's replayable steps are captured once as a CUDA Graph and replayed; when capture is not
// possible the step runs eagerly, with the reason printed once.
// A run lives in one folder: config.json (every setting), metrics.jsonl, ckpt-*.safetensors,
// samples-*.png and recon-*.png. Resuming continues from the newest checkpoint, and on the CPU it
// is bit-identical to a run that was never interrupted.
//
// Data-parallel ranks (a Communicator of N > 1): `batch` is the global batch; each rank trains on
// its slice of every global batch (the global order does not depend on N), gradients and figures
// are averaged, codebook statistics reduced (see StepInfo::comm), and rank 0 alone writes the run
// folder, evaluates and reports. Every checkpoint first checks that all ranks hold bit-identical
// parameters, buffers and optimiser state. A checkpoint resumes on any N that divides the batch.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/generative.h"
#include "models/optim.h"
#include "models/option_table.h"
#include "models/train_step.h"
#include "runtime/io/dataset_split.h"

namespace lvk {

struct TrainConfig {
  std::string model = "vae";
  nlohmann::json model_options = nlohmann::json::object();
  io::DatasetSpec data;
  int64_t steps = 2000;
  int64_t epochs = 0;  // > 0: train this many epochs instead of `steps`
  int64_t batch = 64;
  float lr = 1e-3f;
  int64_t warmup = 100;
  float grad_clip = 1.0f;  // global norm; 0 disables
  float weight_decay = 0.0f;
  bool binarize = false;  // dynamic binarisation of the data (Bernoulli decoders)
  uint64_t seed = 0;
  std::string out = "runs/run";
  int64_t log_every = 50;
  int64_t eval_every = 500;
  int64_t eval_batches = 8;
  int64_t checkpoint_every = 500;
  int keep_checkpoints = 3;
  int max_nonfinite = 5;         // consecutive skipped steps that stop the run
  int64_t readback_every = 0;    // steps between reads of the figures; 0: every step on the CPU, log_every on CUDA
  bool cuda_graph = true;        // capture the train step as a CUDA Graph (CUDA only)
  float grad_bucket_mb = 25.0f;  // gradients per all-reduce between data-parallel ranks

  static const OptionTable<TrainConfig>& fields();  // every key: config.json, --config, models/README.md
  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);  // unknown keys are an error
};

struct StepReport {
  int64_t step = 0, total = 0;                          // 1-based step just taken
  std::vector<std::pair<std::string, double>> figures;  // loss terms, stats, lr, grad_norm
  int64_t images = 0;                                   // in this step
  bool skipped = false;                                 // non-finite loss or gradient
};

struct EvalReport {
  int64_t step = 0;
  std::vector<std::pair<std::string, double>> figures;  // held-out averages
  std::vector<std::string> files;                       // pictures written
};

class Trainer {
 public:
  // Builds everything; with `resume`, continues from the newest checkpoint in config.out (its
  // config must describe the same model and data).
  // `comm`: the data-parallel ranks this process is one of (null: a world of one); it must
  // outlive the trainer.
  Trainer(TrainConfig config, Device device, bool resume, dist::Communicator* comm = nullptr);
  ~Trainer();

  // Trains up to the total step count. `stop_at` >= 0 stops right after that step without saving,
  // as a crash would (tests use it to check that resuming is exact).
  void run(const std::function<void(const StepReport&)>& on_step, const std::function<void(const EvalReport&)>& on_eval,
           int64_t stop_at = -1);
  int64_t step() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  const TrainConfig& config() const { return config_; }
  GenerativeModel& model() { return *model_; }
  // Writes a checkpoint now (also done every checkpoint_every steps and at the end). With several
  // ranks every rank must call it: it compares their states (throws naming a rank that differs),
  // then rank 0 writes.
  void save();
  // Whether this process writes and reports (rank 0, or the only process).
  bool is_root() const { return rank_ == 0; }
  int world_size() const { return world_; }
  // How steps ran so far: "graph" replays, "eager" steps, and why capture was not used (empty
  // when it was, or was never tried).
  int64_t graph_steps() const { return step_runner_->graph_steps(); }
  int64_t eager_steps() const { return step_runner_->eager_steps(); }
  const std::string& graph_note() const { return step_runner_->graph_note(); }
  // The gradient exchange between data-parallel ranks (null for one process).
  const GradientSync* grad_sync() const { return step_runner_->grad_sync(); }
  // What the constructor found and dealt with, for the user: stale temp files removed, damaged
  // checkpoints skipped on resume, a checkpoint trusted without checksums.
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  void take_step();                     // the next batch, then one enqueued step
  std::vector<StepReport> read_back();  // reports of the steps not read yet (synchronises)
  // Counts skipped steps in a row; max_nonfinite of them stop the run with an error.
  void track_nonfinite(const std::vector<StepReport>& reports);
  // Rank 0's parameters and buffers on every rank, then a check that all states agree.
  void broadcast_state();
  void check_ranks_identical();
  EvalReport evaluate();

  TrainConfig config_;
  Device device_;
  dist::Communicator* comm_ = nullptr;  // null in a world of one
  int rank_ = 0, world_ = 1;
  io::ImageDataset train_data_, eval_data_;
  std::unique_ptr<io::DataLoader> loader_;
  std::unique_ptr<GenerativeModel> model_;
  std::unique_ptr<Adam> adam_;
  LrSchedule schedule_;
  int64_t step_ = 0, total_steps_ = 0, nonfinite_skipped_ = 0;

  std::unique_ptr<TrainStep> step_runner_;
  int64_t images_per_step_ = 0;
  int64_t unread_from_ = 0;  // first step whose figures the host has not read
  int64_t readback_every_ = 1;
  int consecutive_nonfinite_ = 0;  // as of the last read
  std::vector<std::string> notes_;
};

}  // namespace lvk
