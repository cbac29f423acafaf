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
#include "runtime/nvtx.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/optim.h"
#include "runtime/tape.h"

namespace fs = std::filesystem;

namespace lvk {

namespace {

constexpr int64_t kPictureCount = 64;

std::string metrics_path(const TrainConfig& c) { return (fs::path(c.out) / "metrics.jsonl").string(); }

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

// Datasets for training and held-out evaluation. A source with only a test split (e.g. the MNIST
// test set alone) trains on its first 90% and evaluates on the rest.
std::pair<io::ImageDataset, io::ImageDataset> open_train_eval(const io::DatasetSpec& spec) {
  if (spec.source == "shapes") return {io::open_dataset(spec), io::open_dataset(held_out_spec(spec))};
  io::ImageDataset held_out = io::open_dataset(held_out_spec(spec));
  try {
    return {io::open_dataset(spec), std::move(held_out)};
  } catch (const Error&) {
    const int64_t n_train = held_out.count * 9 / 10, image = held_out.image_size();
    io::ImageDataset train = held_out, eval = held_out;
    train.count = n_train;
    train.pixels.resize(static_cast<size_t>(n_train * image));
    train.labels.resize(static_cast<size_t>(n_train));
    eval.count = held_out.count - n_train;
    eval.pixels.erase(eval.pixels.begin(), eval.pixels.begin() + n_train * image);
    eval.labels.erase(eval.labels.begin(), eval.labels.begin() + n_train);
    train.name += " (test split, first 90%)";
    eval.name += " (test split, last 10%)";
    return {std::move(train), std::move(eval)};
  }
}

std::vector<Tensor> gradients_of(const ParameterList& params) {
  std::vector<Tensor> grads;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

void write_grid(const std::string& path, const Tensor& images, int cols) {
  const Tensor host = images.to(Device::cpu());
  io::write_png(path, io::make_image_grid(host.data<float>(), host.dim(0), static_cast<int>(host.dim(1)),
                                          static_cast<int>(host.dim(2)), static_cast<int>(host.dim(3)), cols));
}

}  // namespace

io::DatasetSpec held_out_spec(const io::DatasetSpec& trained_on) {
  io::DatasetSpec spec = trained_on;
  if (spec.source == "shapes") {
    spec.seed = trained_on.seed + 0x5eed;
    spec.count = std::max<int64_t>(512, trained_on.count / 10);
  } else {
    spec.split = "test";
  }
  return spec;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"model", model},
          {"model_options", model_options},
          {"data", {{"source", data.source}, {"dir", data.dir}, {"count", data.count}, {"side", data.side},
                    {"seed", data.seed}}},
          {"steps", steps},           {"epochs", epochs},           {"batch", batch},
          {"lr", lr},                 {"warmup", warmup},           {"grad_clip", grad_clip},
          {"weight_decay", weight_decay}, {"binarize", binarize},   {"seed", seed},
          {"out", out},               {"log_every", log_every},     {"eval_every", eval_every},
          {"eval_batches", eval_batches}, {"checkpoint_every", checkpoint_every},
          {"keep_checkpoints", keep_checkpoints}, {"max_nonfinite", max_nonfinite}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  const char* what = "train config";
  check_known_keys(what, j,
                   {"model", "model_options", "data", "steps", "epochs", "batch", "lr", "warmup", "grad_clip",
                    "weight_decay", "binarize", "seed", "out", "log_every", "eval_every", "eval_batches",
                    "checkpoint_every", "keep_checkpoints", "max_nonfinite"});
  TrainConfig c;
  read_option(what, j, "model", c.model);
  if (j.contains("model_options")) c.model_options = j.at("model_options");
  if (j.contains("data")) {
    const nlohmann::json& d = j.at("data");
    check_known_keys("train config data", d, {"source", "dir", "count", "side", "seed"});
    read_option(what, d, "source", c.data.source);
    read_option(what, d, "dir", c.data.dir);
    read_option(what, d, "count", c.data.count);
    read_option(what, d, "side", c.data.side);
    read_option(what, d, "seed", c.data.seed);
  }
  read_option(what, j, "steps", c.steps);
  read_option(what, j, "epochs", c.epochs);
  read_option(what, j, "batch", c.batch);
  read_option(what, j, "lr", c.lr);
  read_option(what, j, "warmup", c.warmup);
  read_option(what, j, "grad_clip", c.grad_clip);
  read_option(what, j, "weight_decay", c.weight_decay);
  read_option(what, j, "binarize", c.binarize);
  read_option(what, j, "seed", c.seed);
  read_option(what, j, "out", c.out);
  read_option(what, j, "log_every", c.log_every);
  read_option(what, j, "eval_every", c.eval_every);
  read_option(what, j, "eval_batches", c.eval_batches);
  read_option(what, j, "checkpoint_every", c.checkpoint_every);
  read_option(what, j, "keep_checkpoints", c.keep_checkpoints);
  read_option(what, j, "max_nonfinite", c.max_nonfinite);
  return c;
}

Trainer::Trainer(TrainConfig config, Device device, bool resume) : config_(std::move(config)), device_(device) {
  const TrainConfig& c = config_;
  LVK_CHECK(c.batch >= 1 && (c.steps >= 1 || c.epochs >= 1), "train: batch=", c.batch, " steps=", c.steps,
            " epochs=", c.epochs, "; need batch >= 1 and steps or epochs >= 1");
  LVK_CHECK(std::isfinite(c.lr) && c.lr > 0, "train: lr=", c.lr, " must be finite and > 0");
  LVK_CHECK(c.eval_every >= 1 && c.checkpoint_every >= 1 && c.log_every >= 1 && c.eval_batches >= 1,
            "train: eval_every, checkpoint_every, log_every and eval_batches must be >= 1");
  std::tie(train_data_, eval_data_) = open_train_eval(c.data);
  LVK_CHECK(train_data_.count >= c.batch, "train: ", train_data_.name, " has ", train_data_.count,
            " images, fewer than one batch of ", c.batch);
  loader_ = std::make_unique<io::DataLoader>(train_data_, io::LoaderOptions{c.batch, c.seed, true, true, c.binarize},
                                             device);
  total_steps_ = c.epochs > 0 ? c.epochs * loader_->batches_per_epoch() : c.steps;
  const ImageShape shape{train_data_.channels, train_data_.height, train_data_.width};
  InitStream init(c.seed);
  model_ = make_model(c.model, c.model_options, shape, init, device);
  adam_ = std::make_unique<Adam>(model_->parameters(), AdamOptions{c.lr, 0.9f, 0.999f, 1e-8f, c.weight_decay, true,
                                                                   c.grad_clip});
  schedule_ = LrSchedule::cosine(c.lr, c.warmup, total_steps_, c.lr * 0.05f);

  std::error_code dir_error;
  fs::create_directories(c.out, dir_error);
  LVK_CHECK(!dir_error && fs::is_directory(c.out), "train: cannot create the run folder ", c.out, ": ",
            dir_error ? dir_error.message() : "a file of that name exists");
  const std::optional<std::string> last = latest_checkpoint(c.out);
  if (resume) {
    LVK_CHECK(last.has_value(), "train: --resume, but ", c.out, " holds no checkpoint (ckpt-*.safetensors)");
    CheckpointState s = load_checkpoint(*last, device);
    const nlohmann::json saved = nlohmann::json::parse(s.config_json, nullptr, false);
    LVK_CHECK(!saved.is_discarded() && saved.value("model", "") == c.model &&
                  saved.value("model_options", nlohmann::json()) == c.model_options &&
                  saved.value("data", nlohmann::json()) == c.to_json()["data"] && saved.value("batch", 0) == c.batch &&
                  saved.value("seed", uint64_t{0}) == c.seed,
              "train: ", *last, " was written by a run with a different model, data, batch or seed; ",
              "resume with the same settings (see ", c.out, "/config.json)");
    assign_named(last->c_str(), model_->parameters(), s.params);
    assign_named(last->c_str(), model_->buffers(), s.buffers);
    adam_->load_state(s.optimizer);
    step_ = s.step;
    nonfinite_skipped_ = s.nonfinite_skipped;
    loader_->restore(s.loader);
    truncate_metrics(metrics_path(c), step_);
  } else {
    LVK_CHECK(!last.has_value(), "train: ", c.out, " already holds a run (", *last,
              "); pass --resume to continue it, or choose another --out");
    io::DataLoader first(train_data_, io::LoaderOptions{c.batch, c.seed, false, true, c.binarize, c.seed, false},
                         device);
    model_->initialize(first.next().images, StepInfo{0, c.seed, true});
  }
  const std::string config_text = c.to_json().dump(2) + "\n";
  io::write_file_atomic((fs::path(c.out) / "config.json").string(), config_text.data(), config_text.size());
}

Trainer::~Trainer() = default;

StepReport Trainer::train_step() {
  // NVTX ranges name the phases so an Nsight Systems timeline reads like the step.
  const StepInfo info{step_, config_.seed, true};
  io::Batch batch;
  {
    NvtxRange range("train.data");
    batch = loader_->next();
  }
  StepReport report;
  report.total = total_steps_;
  report.images = batch.images.dim(0);
  Tape tape;
  ModelOutput out;
  {
    NvtxRange range("train.forward");
    TapeRecording rec(tape);
    out = model_->forward(batch.images, info);
  }
  const double loss = out.loss.item();
  double grad_norm = NAN;
  if (std::isfinite(loss)) {
    NvtxRange range("train.backward");
    tape.backward(out.loss);
    grad_norm = global_norm(gradients_of(model_->parameters())).item();
  }
  if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
    adam_->zero_grad();
    ++nonfinite_skipped_;
    ++step_;
    LVK_CHECK(++consecutive_nonfinite_ < config_.max_nonfinite, "train: ", consecutive_nonfinite_,
              " consecutive steps had a non-finite ", std::isfinite(loss) ? "gradient" : "loss", " (last at step ",
              step_, "); stopping without writing a checkpoint. The last good one is still in ", config_.out,
              "; try a lower --lr");
    report.step = step_;
    report.skipped = true;
    report.figures = {{"loss", loss}, {"skipped", static_cast<double>(nonfinite_skipped_)}};
    return report;
  }
  consecutive_nonfinite_ = 0;
  const float lr = schedule_.lr_at(step_);
  {
    NvtxRange range("train.optimizer");
    adam_->step(lr);
    adam_->zero_grad();
    model_->after_step(batch.images, info);
  }
  ++step_;
  report.step = step_;
  report.figures.emplace_back("loss", loss);
  for (const auto& [name, t] : out.terms) report.figures.emplace_back(name, t.item());
  for (const auto& stat : out.stats) report.figures.push_back(stat);
  report.figures.emplace_back("grad_norm", grad_norm);
  report.figures.emplace_back("lr", lr);
  return report;
}

EvalReport Trainer::evaluate() {
  NoGrad no_grad;
  EvalReport report;
  report.step = step_;
  io::DataLoader loader(eval_data_, io::LoaderOptions{config_.batch, config_.seed, false, false, config_.binarize,
                                                      config_.seed + 1, false},
                        device_);
  const int64_t batches = std::min<int64_t>(config_.eval_batches, loader.batches_per_epoch());
  std::vector<std::pair<std::string, double>> sums;
  Tensor first;
  for (int64_t b = 0; b < batches; ++b) {
    const io::Batch batch = loader.next();
    if (b == 0) first = batch.images;
    const ModelOutput out = model_->forward(batch.images, StepInfo{step_, config_.seed, false});
    std::vector<std::pair<std::string, double>> row = {{"loss", out.loss.item()}};
    for (const auto& [name, t] : out.terms) row.emplace_back(name, t.item());
    for (const auto& stat : out.stats) row.push_back(stat);
    if (sums.empty()) sums = row;
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
    const StepReport r = train_step();
    on_step(r);
    nlohmann::json line = {{"step", r.step}, {"images", r.images}, {"skipped", r.skipped}};
    for (const auto& [name, v] : r.figures) line[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    if (step_ % config_.eval_every == 0 || step_ == total_steps_) {
      const EvalReport e = evaluate();
      on_eval(e);
      for (const auto& [name, v] : e.figures) line["eval"][name] = v;
    }
    append_metrics(metrics, line);
    // A skipped step changed nothing worth saving; the next good step will be.
    if (!r.skipped && (step_ % config_.checkpoint_every == 0 || step_ == total_steps_) && step_ != stop_at) save();
  }
}

}  // namespace lvk
