// `lvk train <vae|flowvae|...>`: the image models, all through models/trainer.h. Flags override a
// --config JSON file; the run's full settings are written to <out>/config.json.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/checkpoint.h"
#include "models/json_options.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "runtime/device.h"
#include "runtime/dist/launch.h"
#include "tools/commands.h"
#include "tools/flag_checks.h"
#include "tools/progress.h"

namespace lvk::cli {

namespace {

struct TrainFlags {
  std::string config_file, data, device = "auto", out;
  std::vector<std::string> set;  // model options as KEY=VALUE, VALUE read as JSON (bare words: strings)
  int64_t steps = 0, epochs = 0, batch = 0, latent = 0, hidden = 0, channels = 0, codes = 0, code_dim = 0;
  int64_t log_every = 0, eval_every = 0, checkpoint_every = 0, readback_every = 0;
  std::string cuda_graph;  // on|off; empty: the config's (on)
  double lr = 0, grad_bucket_mb = 0;
  int64_t seed = -1;
  bool resume = false, binarize = false;
};

void run_training(const std::string& kind, const TrainFlags& f) {
  TrainConfig config;
  if (!f.config_file.empty()) {
    std::error_code ec;
    LVK_CHECK(!std::filesystem::is_directory(f.config_file, ec), "train: --config ", f.config_file,
              " is a directory; pass a JSON file");
    std::ifstream in(f.config_file);
    LVK_CHECK(in.good(), "train: cannot read --config ", f.config_file);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    LVK_CHECK(!j.is_discarded(), "train: --config ", f.config_file, " is not valid JSON");
    config = TrainConfig::from_json(j);
  }
  config.model = kind;
  if (config.out.empty() || config.out == "runs/run") config.out = "runs/" + kind;
  if (!f.data.empty()) config.data = io::parse_dataset_spec(f.data, "train: --data");
  if (f.steps) config.steps = f.steps, config.epochs = 0;
  if (f.epochs) config.epochs = f.epochs;
  if (f.batch) config.batch = f.batch;
  if (f.lr > 0) config.lr = static_cast<float>(f.lr);
  if (f.seed >= 0) config.seed = static_cast<uint64_t>(f.seed);
  if (!f.out.empty()) config.out = f.out;
  if (f.binarize) config.binarize = true;
  if (f.log_every) config.log_every = f.log_every;
  if (f.eval_every) config.eval_every = f.eval_every;
  if (f.checkpoint_every) config.checkpoint_every = f.checkpoint_every;
  if (f.readback_every) config.readback_every = f.readback_every;
  if (!f.cuda_graph.empty()) config.cuda_graph = f.cuda_graph == "on";
  if (f.grad_bucket_mb > 0) config.grad_bucket_mb = static_cast<float>(f.grad_bucket_mb);
  const std::pair<const char*, int64_t> sizes[] = {{"latent", f.latent},
                                                   {"hidden", f.hidden},
                                                   {"channels", f.channels},
                                                   {"codes", f.codes},
                                                   {"code_dim", f.code_dim}};
  for (const auto& [key, value] : sizes)
    if (value) config.model_options[key] = value;
  for (const std::string& item : f.set) {
    const size_t eq = item.find('=');
    LVK_CHECK(eq != std::string::npos && eq > 0, "train: --set '", item, "' is not KEY=VALUE");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
    config.model_options[key] = v.is_discarded() ? nlohmann::json(value) : v;  // bare words are strings
  }

  // Under mpirun (or srun) this process is one rank of several; otherwise a world of one.
  const dist::World world = dist::join_world(f.device);
  const Device device = world.device;
  Trainer trainer(config, device, f.resume, world.comm.get());
  if (!trainer.is_root()) {  // rank 0 reports for all ranks
    trainer.run([](const StepReport&) {}, [](const EvalReport&) {});
    return;
  }
  for (const std::string& note : trainer.notes()) print_note(note);
  const std::string ranks = world.comm->kind() != "single"
                                ? " × " + std::to_string(trainer.world_size()) + " ranks (" + world.comm->kind() + ")"
                                : "";
  std::printf("train %s on %s%s: %lld parameters, data %s, %lld steps of %lld%s; run folder %s\n", kind.c_str(),
              device.str().c_str(), ranks.c_str(), static_cast<long long>(trainer.model().parameter_count()),
              config.data.source.c_str(), static_cast<long long>(trainer.total_steps()),
              static_cast<long long>(config.batch), f.resume ? " (resumed)" : "", config.out.c_str());
  Progress progress(trainer.total_steps(), config.log_every, "img");
  trainer.run([&](const StepReport& r) { progress.update(r.step, r.figures, r.images); },
              [&](const EvalReport& e) {
                progress.finish();
                std::string line = "eval @" + std::to_string(e.step) + ":";
                char buf[64];
                for (const auto& [name, v] : e.figures) {
                  std::snprintf(buf, sizeof buf, " %s %.4g", name.c_str(), v);
                  line += buf;
                }
                for (const std::string& file : e.files) line += "\n  wrote " + file;
                std::printf("%s\n", line.c_str());
              });
  progress.finish();
  if (device.is_cuda())
    std::printf("steps: %lld replayed from a CUDA Graph, %lld eager%s%s\n",
                static_cast<long long>(trainer.graph_steps()), static_cast<long long>(trainer.eager_steps()),
                trainer.graph_note().empty() ? "" : "; ", trainer.graph_note().c_str());
  if (const GradientSync* sync = trainer.grad_sync(); sync != nullptr && sync->last_collectives() > 0)
    std::printf("gradients: %d all-reduce(s) of %.3g MB per step, %d started during the backward pass\n",
                sync->last_collectives(), static_cast<double>(sync->last_bytes()) / (1 << 20), sync->last_overlapped());
  const std::string dir = config.out, step = std::to_string(trainer.step());
  std::printf(
      "done: %s steps in %s\n  reconstructions: %s/recon-%s.png\n  metrics:         %s/metrics.jsonl\n"
      "  checkpoint:      %s\n  evaluate it:     lvk eval %s\n",
      step.c_str(), dir.c_str(), dir.c_str(), step.c_str(), dir.c_str(), checkpoint_path(dir, trainer.step()).c_str(),
      dir.c_str());
}

}  // namespace

void add_train_models(CLI::App& train) {
  for (const std::string& kind : model_kinds()) {
    auto f = std::make_shared<TrainFlags>();
    CLI::App* cmd = train.add_subcommand(kind, "Train a " + kind + " on images");
    cmd->footer("\nModel options (--set KEY=VALUE; VALUE as JSON, or a bare word for a string):\n" +
                model_options_help(kind));
    cmd->add_option("--config", f->config_file, "JSON file with any TrainConfig fields (flags override it)");
    cmd->add_option(
        "--data", f->data,
        "shapes[:N] | procedural | mnist:DIR | fashion-mnist[:DIR] | cifar10:DIR (runtime/io/dataset_split.h)");
    cmd->add_option("--device", f->device, "auto|cpu|cuda")->capture_default_str();
    cmd->add_option("--steps", f->steps, "optimiser steps")->check(positive_integer());
    cmd->add_option("--epochs", f->epochs, "epochs (instead of --steps)")->check(positive_integer());
    cmd->add_option("--batch", f->batch, "images per step (over all ranks under mpirun)")->check(positive_integer());
    cmd->add_option("--lr", f->lr, "peak learning rate")->check(finite_positive());
    cmd->add_option("--seed", f->seed, "seed for weights, data order and noise")->check(nonnegative_integer());
    cmd->add_option("--out", f->out, "run folder (default runs/<model>)");
    cmd->add_option("--log-every", f->log_every, "steps between log lines when not on a terminal")
        ->check(positive_integer());
    cmd->add_option("--eval-every", f->eval_every, "steps between held-out evaluations")->check(positive_integer());
    cmd->add_option("--checkpoint-every", f->checkpoint_every, "steps between checkpoints")->check(positive_integer());
    cmd->add_option(
           "--readback-every", f->readback_every,
           "steps between reads of the step figures from the device (default: log-every on CUDA, 1 on the CPU)")
        ->check(positive_integer());
    cmd->add_option("--cuda-graph", f->cuda_graph, "on|off: capture the train step as a CUDA Graph (default on)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--grad-bucket-mb", f->grad_bucket_mb,
                    "MB of gradients per all-reduce between ranks under mpirun (default 25)")
        ->check(finite_positive());
    cmd->add_flag("--resume", f->resume, "continue the run in --out from its newest checkpoint");
    cmd->add_flag("--binarize", f->binarize, "dynamically binarise the images (Bernoulli decoders)");
    cmd->add_option("--latent", f->latent, "latent dimensions")->check(positive_integer());
    cmd->add_option("--hidden", f->hidden, "hidden width")->check(positive_integer());
    cmd->add_option("--channels", f->channels, "conv channels")->check(positive_integer());
    cmd->add_option("--codes", f->codes, "codebook size K (VQ and dVAE)")->check(positive_integer());
    cmd->add_option("--code-dim", f->code_dim, "code dimension C (VQ and dVAE)")->check(positive_integer());
    cmd->add_option("--set", f->set, "model option KEY=VALUE (VALUE as JSON), repeatable");
    cmd->callback([kind, f] { run_training(kind, *f); });
  }
}

}  // namespace lvk::cli
