// `lvk train flow2d`: fit a RealNVP or MAF to a 2-D density and draw the result.
#include <cstdio>
#include <filesystem>

#include "models/flow2d.h"
#include "runtime/device.h"
#include "runtime/dist/launch.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace lvk::cli {

namespace {

struct Flow2dFlags {
  std::string data = "moons", device = "auto", out = "runs/flow2d";
  Flow2dConfig config;
  int64_t log_every = 100;
  int image_side = 256;
};

void run_flow2d(const Flow2dFlags& flags) {
  Flow2dConfig config = flags.config;
  config.data = parse_toy2d(flags.data);
  // Its loop has no data-parallel path: N copies would write one folder side by side.
  LVK_CHECK(lvk::dist::launched_world_size() == 1, "train flow2d: runs in one process; start it without mpirun (",
            lvk::dist::launched_world_size(), " ranks were launched)");
  const Device device = parse_device(flags.device);
  std::filesystem::create_directories(flags.out);
  std::printf("flow2d: %s, %d layers, hidden %lld, on %s, data %s, batch %lld, %lld steps\n",
              config.flow == "maf" ? "MAF" : "RealNVP", config.layers, static_cast<long long>(config.hidden),
              device.str().c_str(), toy2d_name(config.data), static_cast<long long>(config.batch),
              static_cast<long long>(config.steps));
  Flow2dFit fit(config, device);
  Progress progress(config.steps, flags.log_every, "points");
  for (int64_t s = 1; s <= config.steps; ++s) {
    const double ll = fit.step();
    progress.update(s, {{"avg_log_lik", ll}}, config.batch);
  }
  progress.finish();
  const double held_out = fit.evaluate(20000);
  const std::string png = (std::filesystem::path(flags.out) / "flow2d.png").string();
  io::write_png(png, fit.render(flags.image_side));
  std::printf("held-out average log-likelihood: %.4f nats\nwrote %s (learned density | model samples | data)\n",
              held_out, png.c_str());
}

}  // namespace

void add_train_flow2d(CLI::App& train) {
  auto flags = std::make_shared<Flow2dFlags>();
  CLI::App* cmd = train.add_subcommand("flow2d", "Fit a RealNVP or MAF flow to a 2-D density and write a PNG of it");
  cmd->add_option("--flow", flags->config.flow, "realnvp|maf")
      ->capture_default_str()
      ->check(CLI::IsMember({"realnvp", "maf"}));
  cmd->add_option("--data", flags->data, "moons|rings|checkerboard|gaussians")
      ->capture_default_str()
      ->check(CLI::IsMember({"moons", "rings", "checkerboard", "gaussians"}));
  cmd->add_option("--device", flags->device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--steps", flags->config.steps, "training steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", flags->config.batch, "points per step")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 24));
  cmd->add_option("--lr", flags->config.lr, "peak learning rate (cosine decay)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--layers", flags->config.layers, "flow layers (coupling or MAF)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--hidden", flags->config.hidden, "conditioner width")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--seed", flags->config.seed, "seed for weights and data")->capture_default_str();
  cmd->add_option("--out", flags->out, "output folder")->capture_default_str();
  cmd->add_option("--log-every", flags->log_every, "steps between log lines when not on a terminal")
      ->capture_default_str();
  cmd->callback([flags] { run_flow2d(*flags); });
}

}  // namespace lvk::cli
