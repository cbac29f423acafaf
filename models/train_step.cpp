#include "models/train_step.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "runtime/nvtx.h"
#include "runtime/storage.h"
#include "runtime/tape.h"

namespace lvk {

namespace {
// Row s: the learning rate of step s, then the model's scheduled scalars of step s.
std::vector<float> schedule_table(const GenerativeModel& model, const std::vector<float>& lr_table) {
  LVK_CHECK(!lr_table.empty(), "TrainStep: the learning-rate table is empty");
  std::vector<float> table;
  const size_t columns = 1 + model.step_scalars(0).size();
  for (size_t s = 0; s < lr_table.size(); ++s) {
    table.push_back(lr_table[s]);
    const std::vector<float> extra = model.step_scalars(static_cast<int64_t>(s));
    LVK_CHECK(extra.size() + 1 == columns, "TrainStep: ", model.kind(), " gave ", extra.size(),
              " scheduled scalars at step ", s, " but ", columns - 1, " at step 0");
    table.insert(table.end(), extra.begin(), extra.end());
  }
  return table;
}
}  // namespace

TrainStep::TrainStep(GenerativeModel& model, Adam& adam, const std::vector<float>& lr_table, Device device,
                     TrainStepOptions options)
    : model_(model),
      adam_(adam),
      device_(device),
      options_(options),
      clock_(device, schedule_table(model, lr_table), static_cast<int64_t>(lr_table.size()),
             1 + static_cast<int>(model.step_scalars(0).size())) {
  LVK_CHECK(options.ring_rows >= 1, "TrainStep: ring_rows=", options.ring_rows, " must be >= 1");
  if (options.comm) grad_sync_ = std::make_unique<GradientSync>(*options.comm, device, options.bucket_bytes);
}

void TrainStep::enqueue(const StepInfo& info) {
  // NVTX ranges name the phases so an Nsight Systems timeline reads like the step.
  clock_.begin();
  Tape tape;
  ModelOutput out;
  {
    NvtxRange range("train.forward");
    TapeRecording rec(tape);
    out = model_.forward(input_, info);
  }
  const ParameterList params = grad_sync_ ? model_.parameters() : ParameterList();
  if (grad_sync_ && options_.overlap) {
    grad_sync_->begin(params);
    tape.on_leaf_gradient_final(grad_sync_->hook());
  }
  {
    // Also for a non-finite loss: the guard then skips the update on the device.
    NvtxRange range("train.backward");
    tape.backward(out.loss);
  }
  if (grad_sync_) {
    NvtxRange range("train.allreduce");
    if (options_.overlap)
      grad_sync_->finish(params);
    else
      grad_sync_->average(params);
    // The figures of the global batch (each rank's are means over equal shards), and a loss that
    // is non-finite on every rank when it is on one, so all ranks skip the same steps.
    std::vector<Tensor> figures = {out.loss};
    for (const auto& [name, term] : out.terms) figures.push_back(term);
    grad_sync_->average_scalars(figures);
  }
  {
    NvtxRange range("train.optimizer");
    adam_.step(clock_, out.loss);
    adam_.zero_grad();
    model_.after_step(input_, info);
  }
  std::vector<std::string> names = {"loss"};
  std::vector<Tensor> figures = {out.loss};
  for (const auto& list : {out.terms, out.stats})
    for (const auto& [name, t] : list) names.push_back(name), figures.push_back(t);
  const Tensor norm = adam_.last_grad_norm();
  names.insert(names.end(), {"grad_norm", "lr", "skipped"});
  figures.insert(figures.end(),
                 {norm.defined() ? norm : Tensor::full({1}, NAN, device_), clock_.scalar(0), clock_.skipped_flag()});
  if (!ring_) {
    names_ = names;
    ring_ = std::make_unique<ScalarRing>(device_, options_.ring_rows, static_cast<int>(names.size()));
  }
  LVK_CHECK(names == names_, "train: ", model_.kind(), " changed the figures it reports between steps");
  ring_->record(clock_, figures);
  clock_.end();
}

void TrainStep::take(const Tensor& x, int64_t step) {
  {
    NvtxRange range("train.data");
    if (!input_.defined()) input_ = Tensor::empty(x.shape(), DType::f32, device_);
    LVK_CHECK(x.shape() == input_.shape() && x.dtype() == DType::f32, "train: batch ", x.str(),
              " differs from the first ", input_.str());
    copy_bytes(input_.raw(), device_, x.raw(), x.device(), input_.bytes());
  }
  const StepInfo info{step, options_.seed, true, &clock_, options_.comm};
  const int variant = device_.is_cuda() && options_.cuda_graph ? model_.replay_variant(info) : -1;
  if (variant >= 0 && !failed_.count(variant)) {
    std::unique_ptr<CapturedWork>& graph = graphs_[variant];
    if (!graph && warmed_up_[variant] >= options_.warmup_steps) {
      auto captured = std::make_unique<CapturedWork>();
      std::string why;
      if (captured->capture([&] { enqueue(info); }, why)) {
        graph = std::move(captured);
      } else {
        failed_.insert(variant);
        graph_note_ = "CUDA Graph capture of step variant " + std::to_string(variant) + " failed (" + why +
                      "); those steps run eagerly";
        std::fprintf(stderr, "lvk train: %s\n", graph_note_.c_str());
      }
    }
    if (graph) {
      graph->replay();
      ++graph_steps_;
      return;
    }
    ++warmed_up_[variant];
  }
  enqueue(info);
  ++eager_steps_;
}

std::vector<std::vector<float>> TrainStep::read(int64_t first, int64_t last) const {
  LVK_CHECK(ring_ != nullptr, "TrainStep::read: no step was taken");
  return ring_->read(first, last);
}

}  // namespace lvk
