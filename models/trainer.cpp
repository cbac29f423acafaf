#include "models/trainer.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/checkpoint.h"
#include "models/json_options.h"
#include "models/model_factory.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/png.h"
#include "runtime/memory_budget.h"
#include "runtime/nvtx.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace fs = std::filesystem;

namespace lvk {

namespace {

constexpr int64_t kPictureCount = 64;

std::string metrics_path(const TrainConfig& c) {
  return (fs::path(c.out) / "metrics.jsonl").string();
}

// Keeps the metrics lines of steps <= `step`: a resumed run rewrites what came after its checkpoint.
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  io::write_file_atomic(path, kept.data(), kept.size());
}

void append_metrics(const std::string& path, const nlohmann::json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";
  LVK_CHECK(out.good(), "train: cannot append to ", path, " (disk full or not writable?)");
}

void write_grid(const std::string& path, const Tensor& images, int cols) {
  const Tensor host = images.to(Device::cpu());
  io::write_png(path, io::make_image_grid(host.data<float>(), host.dim(0), static_cast<int>(host.dim(1)),
                                          static_cast<int>(host.dim(2)), static_cast<int>(host.dim(3)), cols));
}

}  // namespace

namespace {

// The dataset of a run as config.json records it (runtime/io/dataset_split.h names it on the CLI).
const OptionTable<io::DatasetSpec>& dataset_fields() {
  using D = io::DatasetSpec;
  static const OptionTable<D> table = {
      option("source", "shapes, mnist, fashion-mnist or cifar10", &D::source),
      option("dir", "folder of the dataset's files", &D::dir),
      option("count", "shapes: training images", &D::count),
      option("side", "shapes: image side", &D::side),
      option("seed", "shapes: seed of the training images", &D::seed),
  };
  return table;
}

}  // namespace

const OptionTable<TrainConfig>& TrainConfig::fields() {
  using C = TrainConfig;
  static const OptionTable<C> table = {
      option("model", "vae, vqvae, dvae, flowvae, vqvae2 or vqprior", &C::model),
      option("model_options", "the model's options (its table below)", &C::model_options),
      {"data", "the dataset: {source, dir, count, side, seed}",
       [](const char* what, const nlohmann::json& j, C& c) {
         if (j.contains("data"))
           read_options((std::string(what) + " data").c_str(), j.at("data"), dataset_fields(), c.data);
       },
       [](const C& c) { return write_options(dataset_fields(), c.data); }},
      option("steps", "optimiser steps", &C::steps),
      option("epochs", "> 0: train this many epochs instead of steps", &C::epochs),
      option("batch", "images per step", &C::batch),
      option("lr", "peak learning rate (warm-up, then cosine decay)", &C::lr),
      option("warmup", "steps of the linear learning-rate warm-up", &C::warmup),
      option("grad_clip", "global gradient-norm clip; 0 disables", &C::grad_clip),
      option("weight_decay", "AdamW decoupled weight decay", &C::weight_decay),
      option("binarize", "dynamic binarisation of the images (Bernoulli decoders)", &C::binarize),
      option("seed", "seed for weights, data order and noise", &C::seed),
      option("out", "run folder", &C::out),
      option("log_every", "steps between log lines when not on a terminal", &C::log_every),
      option("eval_every", "steps between held-out evaluations", &C::eval_every),
      option("eval_batches", "held-out batches per evaluation", &C::eval_batches),
      option("checkpoint_every", "steps between checkpoints", &C::checkpoint_every),
      option("keep_checkpoints", "newest checkpoints kept", &C::keep_checkpoints),
      option("max_nonfinite", "consecutive skipped (non-finite) steps that stop the run", &C::max_nonfinite),
      option("readback_every", "steps between reads of the figures; 0: every step on the CPU, log_every on CUDA",
             &C::readback_every),
      option("cuda_graph", "capture the train step as a CUDA Graph (CUDA only)", &C::cuda_graph),
      option("grad_bucket_mb",
             "MB of gradients per all-reduce between data-parallel ranks (each starts during the backward pass)",
             &C::grad_bucket_mb),
  };
  return table;
}

nlohmann::json TrainConfig::to_json() const {
  return write_options(fields(), *this);
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  read_options("train config", j, fields(), c);
  return c;
}

Trainer::Trainer(TrainConfig config, Device device, bool resume, dist::Communicator* comm)
    : config_(std::move(config)), device_(device) {
  // A world of one needs no collectives at all, whichever communicator stands for it.
  if (comm != nullptr && (comm->size() > 1 || comm->kind() != "single")) comm_ = comm;
  rank_ = comm_ ? comm_->rank() : 0;
  world_ = comm_ ? comm_->size() : 1;
  const TrainConfig& c = config_;
  LVK_CHECK(c.batch % world_ == 0, "train: the global batch ", c.batch, " cannot be split evenly over ", world_,
            " ranks; choose a --batch that is a multiple of ", world_);
  LVK_CHECK(c.batch >= 1 && (c.steps >= 1 || c.epochs >= 1), "train: batch=", c.batch, " steps=", c.steps,
            " epochs=", c.epochs, "; need batch >= 1 and steps or epochs >= 1");
  LVK_CHECK(std::isfinite(c.lr) && c.lr > 0, "train: lr=", c.lr, " must be finite and > 0");
  LVK_CHECK(c.eval_every >= 1 && c.checkpoint_every >= 1 && c.log_every >= 1 && c.eval_batches >= 1,
            "train: eval_every, checkpoint_every, log_every and eval_batches must be >= 1");
  LVK_CHECK(c.readback_every >= 0, "train: readback_every=", c.readback_every, " must be >= 0 (0: automatic)");
  LVK_CHECK(c.grad_bucket_mb > 0 && c.grad_bucket_mb <= 1e6f, "train: grad_bucket_mb=", c.grad_bucket_mb,
            " must be in (0, 1e6]");
  train_data_ = io::open_split(c.data, io::Split::train);
  eval_data_ = io::open_split(c.data, io::Split::held_out);
  check_fits_in_memory("train: batch", c.batch, train_data_.image_size(), "float", sizeof(float));
  LVK_CHECK(train_data_.count >= c.batch, "train: ", train_data_.name, " has ", train_data_.count,
            " images, fewer than one batch of ", c.batch);
  io::LoaderOptions train_options = io::LoaderOptions::shuffled(c.batch, c.seed, c.binarize);
  train_options.shard_rank = rank_;
  train_options.shard_count = world_;
  loader_ = std::make_unique<io::DataLoader>(train_data_, train_options, device);
  total_steps_ = c.steps;
  const std::string epochs_text = c.epochs > 0 ? " (epochs " + std::to_string(c.epochs) + " × " +
                                                     std::to_string(loader_->batches_per_epoch()) + " batches)"
                                               : "";
  if (c.epochs > 0)
    LVK_CHECK(!__builtin_mul_overflow(c.epochs, loader_->batches_per_epoch(), &total_steps_), "train: the steps",
              epochs_text, " overflow a 64-bit counter");
  // The schedule is tabulated per step (the device step clock reads it), so the step count is a size.
  const double lr_table_bytes = static_cast<double>(total_steps_) * sizeof(float);
  LVK_CHECK(fits_in_memory(lr_table_bytes), "train: ", total_steps_, " steps", epochs_text,
            " need a learning-rate table of ", human_bytes(lr_table_bytes), ", this machine has ",
            human_bytes(static_cast<double>(physical_memory_bytes())));
  const ImageShape shape{train_data_.channels, train_data_.height, train_data_.width};
  InitStream init(c.seed);
  model_ = make_model(c.model, c.model_options, shape, init, device);
  if (nlohmann::json resolved = model_->resolved_options(); !resolved.is_null()) config_.model_options = resolved;
  adam_ = std::make_unique<Adam>(model_->parameters(),
                                 AdamOptions{c.lr, 0.9f, 0.999f, 1e-8f, c.weight_decay, true, c.grad_clip});
  schedule_ = LrSchedule::cosine(c.lr, c.warmup, total_steps_, c.lr * 0.05f);
  std::vector<float> lr_table(static_cast<size_t>(total_steps_));
  for (int64_t s = 0; s < total_steps_; ++s) lr_table[static_cast<size_t>(s)] = schedule_.lr_at(s);
  readback_every_ = c.readback_every > 0 ? c.readback_every : (device.is_cuda() ? c.log_every : 1);
  TrainStepOptions step_options{c.seed, readback_every_, c.cuda_graph, 2, comm_};
  step_options.bucket_bytes = static_cast<size_t>(static_cast<double>(c.grad_bucket_mb) * (1 << 20));
  step_runner_ = std::make_unique<TrainStep>(*model_, *adam_, lr_table, device, step_options);

  std::error_code dir_error;
  fs::create_directories(c.out, dir_error);
  LVK_CHECK(!dir_error && fs::is_directory(c.out), "train: cannot create the run folder ", c.out, ": ",
            dir_error ? dir_error.message() : "a file of that name exists");
  if (is_root())
    for (const std::string& path : io::remove_stale_temp_files(c.out))
      notes_.push_back("removed " + path + ", left by a run that was killed while writing it");
  const std::optional<std::string> last = latest_checkpoint(c.out);
  if (resume) {
    LVK_CHECK(last.has_value(), "train: --resume, but ", c.out, " holds no checkpoint (ckpt-*.safetensors)");
    ResumePoint point = load_newest_intact_checkpoint(c.out, device);
    for (const std::string& why : point.skipped) notes_.push_back("resume: skipped a damaged checkpoint: " + why);
    if (!point.state.integrity_note.empty()) notes_.push_back(point.state.integrity_note);
    CheckpointState& s = point.state;
    const std::string& resumed_from = point.path;
    const nlohmann::json saved = nlohmann::json::parse(s.config_json, nullptr, false);
    LVK_CHECK(!saved.is_discarded() && saved.value("model", "") == c.model &&
                  saved.value("model_options", nlohmann::json()) == c.model_options &&
                  saved.value("data", nlohmann::json()) == c.to_json()["data"] && saved.value("batch", 0) == c.batch &&
                  saved.value("seed", uint64_t{0}) == c.seed,
              "train: ", resumed_from, " was written by a run with a different model, data, batch or seed; ",
              "resume with the same settings (see ", c.out, "/config.json)");
    assign_named(resumed_from.c_str(), model_->parameters(), s.params);
    assign_named(resumed_from.c_str(), model_->buffers(), s.buffers);
    adam_->load_state(s.optimizer);
    step_ = s.step;
    nonfinite_skipped_ = s.nonfinite_skipped;
    loader_->restore(s.loader);
    if (is_root()) truncate_metrics(metrics_path(c), step_);
    StepState clock{};
    clock.step = step_;
    clock.adam_steps = static_cast<int32_t>(adam_->steps());
    step_runner_->clock().write(clock);
    unread_from_ = step_;
  } else {
    LVK_CHECK(!last.has_value(), "train: ", c.out, " already holds a run (", *last,
              "); pass --resume to continue it, or choose another --out");
    io::LoaderOptions first_options = io::LoaderOptions::in_order(c.batch, c.binarize, c.seed);
    first_options.drop_last = true;  // a full first batch, split over the ranks like every other
    first_options.shard_rank = rank_;
    first_options.shard_count = world_;
    io::DataLoader first(train_data_, first_options, device);
    StepInfo info{0, c.seed, true};
    info.comm = comm_;
    model_->initialize(first.next().images, info);
  }
  if (comm_) broadcast_state();
  if (is_root()) {
    const std::string config_text = c.to_json().dump(2) + "\n";
    io::write_file_atomic((fs::path(c.out) / "config.json").string(), config_text.data(), config_text.size());
  }
}

void Trainer::broadcast_state() {
  // Initialisation and resume are already deterministic on every rank; the broadcast makes
  // rank 0 the one source of truth also for data-dependent initialisations made on local data
  // (ActNorm), at the cost of one transfer of the model at start-up.
  for (const ParameterList& list : {model_->parameters(), model_->buffers()})
    for (auto [name, t] : list) {
      (void)name;
      comm_->broadcast_(t, 0);
    }
  check_ranks_identical();
}

void Trainer::check_ranks_identical() {
  if (!comm_) return;
  // FNV-1a over every byte of the state that must agree; one 64-bit digest per rank.
  uint64_t h = 1469598103934665603ull;
  for (const ParameterList& list : {model_->parameters(), model_->buffers(), adam_->state()})
    for (const auto& [name, t] : list) {
      for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
      const Tensor host = t.to(Device::cpu());
      const auto* bytes = static_cast<const uint8_t*>(host.raw());
      for (size_t i = 0; i < host.bytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    }
  const std::vector<int32_t> words = {static_cast<int32_t>(h & 0xffffffffu), static_cast<int32_t>(h >> 32)};
  const std::vector<int32_t> all =
      comm_->all_gather(Tensor::from_vector(words, {2}, device_)).to(Device::cpu()).to_vector<int32_t>();
  for (int r = 1; r < world_; ++r)
    LVK_CHECK(all[2 * r] == all[0] && all[2 * r + 1] == all[1], "train: rank ", r,
              "'s parameters, buffers or optimiser state differ from rank 0's at step ", step_,
              "; the data-parallel ranks diverged");
}

Trainer::~Trainer() = default;

void Trainer::take_step() {
  io::Batch batch;
  {
    NvtxRange range("train.data");
    batch = loader_->next();
  }
  step_runner_->take(batch.images, step_);
  images_per_step_ = batch.images.dim(0) * world_;
  ++step_;
}

std::vector<StepReport> Trainer::read_back() {
  std::vector<StepReport> reports;
  if (unread_from_ >= step_) return reports;
  const std::vector<std::vector<float>> rows = step_runner_->read(unread_from_, step_ - 1);
  const std::vector<std::string>& names = step_runner_->figure_names();
  for (size_t i = 0; i < rows.size(); ++i) {
    StepReport r;
    r.step = unread_from_ + static_cast<int64_t>(i) + 1;
    r.total = total_steps_;
    r.images = images_per_step_;
    for (size_t j = 0; j + 1 < names.size(); ++j) r.figures.emplace_back(names[j], rows[i][j]);
    r.skipped = rows[i].back() != 0.0f;
    nonfinite_skipped_ += r.skipped;
    reports.push_back(std::move(r));
  }
  unread_from_ = step_;
  return reports;
}

void Trainer::track_nonfinite(const std::vector<StepReport>& reports) {
  for (const StepReport& r : reports) {
    consecutive_nonfinite_ = r.skipped ? consecutive_nonfinite_ + 1 : 0;
    if (consecutive_nonfinite_ < config_.max_nonfinite) continue;
    const bool loss_finite = std::isfinite(r.figures.front().second);
    fail("train: ", consecutive_nonfinite_, " consecutive steps had a non-finite ", loss_finite ? "gradient" : "loss",
         " (last at step ", r.step, "); stopping without writing a checkpoint. The last good one is still in ",
         config_.out, "; try a lower --lr");
  }
}

EvalReport Trainer::evaluate() {
  NoGrad no_grad;
  EvalReport report;
  report.step = step_;
  io::DataLoader loader(eval_data_, io::LoaderOptions::in_order(config_.batch, config_.binarize, config_.seed + 1),
                        device_);
  const int64_t batches = std::min<int64_t>(config_.eval_batches, loader.batches_per_epoch());
  std::vector<std::pair<std::string, double>> sums;
  Tensor first;
  for (int64_t b = 0; b < batches; ++b) {
    const io::Batch batch = loader.next();
    if (b == 0) first = batch.images;
    const ModelOutput out = model_->forward(batch.images, StepInfo{step_, config_.seed, false});
    std::vector<std::pair<std::string, double>> row = {{"loss", out.loss.item()}};
    for (const auto& list : {out.terms, out.stats})
      for (const auto& [name, t] : list) row.emplace_back(name, t.item());
    if (sums.empty())
      sums = row;
    else
      for (size_t i = 0; i < row.size() && i < sums.size(); ++i) sums[i].second += row[i].second;
  }
  for (auto& [name, v] : sums) report.figures.emplace_back(name, v / static_cast<double>(batches));
  if (first.defined()) {
    const int64_t n = std::min<int64_t>(8, first.dim(0));
    const Tensor originals = first.to(Device::cpu());
    const Tensor recon = model_->reconstruct(first).to(Device::cpu());
    // Two rows: originals above their reconstructions.
    std::vector<float> pair(static_cast<size_t>(2 * n * originals.numel() / first.dim(0)));
    const size_t image = static_cast<size_t>(originals.numel() / first.dim(0));
    const std::vector<float> o = originals.to_vector<float>(), r = recon.to_vector<float>();
    std::copy(o.begin(), o.begin() + n * image, pair.begin());
    std::copy(r.begin(), r.begin() + n * image, pair.begin() + n * image);
    const std::string recon_path = (fs::path(config_.out) / ("recon-" + std::to_string(step_) + ".png")).string();
    write_grid(recon_path, Tensor::from_vector(pair, {2 * n, first.dim(1), first.dim(2), first.dim(3)}),
               static_cast<int>(n));
    report.files.push_back(recon_path);
    for (const auto& [name, image] : model_->pictures(first)) {
      const std::string path = (fs::path(config_.out) / (name + "-" + std::to_string(step_) + ".png")).string();
      io::write_png(path, image);
      report.files.push_back(path);
    }
  }
  try {
    const Tensor samples = model_->sample(kPictureCount, config_.seed, 0xfeed0000u + static_cast<uint64_t>(step_));
    const std::string path = (fs::path(config_.out) / ("samples-" + std::to_string(step_) + ".png")).string();
    write_grid(path, samples, 8);
    report.files.push_back(path);
  } catch (const Error&) {
    // A model without a prior over its latents (VQ-VAE before a prior is fitted) has no samples.
  }
  return report;
}

void Trainer::save() {
  const StepState clock = step_runner_->clock().read();
  adam_->set_steps(clock.adam_steps);
  check_ranks_identical();
  if (!is_root()) return;
  CheckpointState s;
  s.step = step_;
  s.loader = loader_->state();
  s.nonfinite_skipped = nonfinite_skipped_;
  s.config_json = config_.to_json().dump();
  s.image = {train_data_.channels, train_data_.height, train_data_.width};
  s.params = model_->parameters();
  s.buffers = model_->buffers();
  s.optimizer = adam_->state();
  save_checkpoint(config_.out, s, config_.keep_checkpoints);
}

void Trainer::run(const std::function<void(const StepReport&)>& on_step,
                  const std::function<void(const EvalReport&)>& on_eval, int64_t stop_at) {
  const std::string metrics = metrics_path(config_);
  while (step_ < total_steps_ && step_ != stop_at) {
    take_step();
    const bool last = step_ == total_steps_ || step_ == stop_at;
    const bool eval_now = step_ % config_.eval_every == 0 || step_ == total_steps_;
    const bool save_now = (step_ % config_.checkpoint_every == 0 || step_ == total_steps_) && step_ != stop_at;
    if (!last && !eval_now && !save_now && step_ - unread_from_ < readback_every_) continue;
    const std::vector<StepReport> reports = read_back();
    for (const StepReport& r : reports) {
      if (!is_root()) continue;  // rank 0 reports for all
      on_step(r);
      nlohmann::json line = {{"step", r.step}, {"images", r.images}, {"skipped", r.skipped}};
      for (const auto& [name, v] : r.figures)
        line[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
      if (r.step == step_ && eval_now) {
        const EvalReport e = evaluate();
        on_eval(e);
        for (const auto& [name, v] : e.figures) line["eval"][name] = v;
      }
      append_metrics(metrics, line);
    }
    track_nonfinite(reports);
    // A skipped step changed nothing worth saving; the next good step will be.
    if (save_now && !reports.empty() && !reports.back().skipped) save();
  }
}

}  // namespace lvk
