// `lvk eval CKPT`: ELBO surgery, importance-weighted log-likelihood and latent health of a trained
// model (models/eval.h), printed as a report, optionally as JSON and PNG plots; --compare runs more
// checkpoints on the same data and prints them side by side. Flags and printing only.
#include "models/eval.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "runtime/device.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/dataset_split.h"
#include "tools/commands.h"

namespace fs = std::filesystem;

namespace lvk::cli {

namespace {

struct EvalFlags {
  std::string checkpoint, data, json, plots, device = "auto";
  std::vector<std::string> compare;
  EvalOptions options;
};

// A checkpoint file, or a run folder (its newest checkpoint).
std::string resolve_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const std::optional<std::string> last = latest_checkpoint(path);
    LVK_CHECK(last.has_value(), "eval: run folder ", path, " holds no checkpoint (ckpt-*.safetensors)");
    return *last;
  }
  LVK_CHECK(fs::exists(path, ec), "eval: checkpoint ", path, " does not exist");
  return path;
}

// --data: empty (the checkpoint's own held-out split) or a dataset named as for training.
std::optional<io::DatasetSpec> parse_eval_data(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return io::parse_dataset_spec(text, "eval: --data");
}

std::string pm(const Estimate& e) {
  char buf[64];
  if (e.se > 0)
    std::snprintf(buf, sizeof buf, "%.3f ± %.3f", e.mean, e.se);
  else
    std::snprintf(buf, sizeof buf, "%.3f", e.mean);
  return buf;
}

void print_report(const ModelEvaluation& r) {
  std::printf("eval %s (%s, step %lld) on %s, %lld images of %lld pixels, %s, %.1f s\n", r.checkpoint.c_str(),
              r.model.c_str(), static_cast<long long>(r.step), r.data.c_str(), static_cast<long long>(r.points),
              static_cast<long long>(r.pixels), r.device.c_str(), r.seconds);
  std::printf("  reconstruction: mse/pixel %.5f, Bernoulli NLL of the means %.3f nats/image\n", r.recon_mse,
              r.recon_bce);
  if (r.gaussian) {
    const SurgeryResult& s = r.surgery;
    std::printf("  prior %s, latent %lld\n", r.standard_prior ? "N(0, I)" : r.prior.c_str(),
                static_cast<long long>(s.dim));
    std::printf("  ELBO            %s nats  (%.4f bits/dim)\n", pm(r.elbo).c_str(), r.elbo_bits_per_dim);
    std::printf("    E_q log p(x|z) %s\n", pm(r.recon).c_str());
    std::printf("    avg KL         %s  (%s; MC on independent draws %s)\n", pm(s.avg_kl).c_str(),
                s.closed_form_kl ? "closed form" : "Monte Carlo", pm(s.avg_kl_mc).c_str());
    std::printf("  ELBO surgery (%lld points, %lld draws each):\n", static_cast<long long>(s.points),
                static_cast<long long>(s.samples_per_point));
    std::printf("    KL(q_agg || p)  %s\n", pm(s.marginal_kl).c_str());
    std::printf("    I_q[x; z]       %s  (bound log n = %.3f)\n", pm(s.mutual_info).c_str(), s.log_n);
    std::printf("    identity: avg KL %.4f = KL(q_agg||p) + MI %.4f, gap %.4f (%.1f standard errors)\n", s.avg_kl.mean,
                s.marginal_kl.mean + s.mutual_info.mean, s.identity_gap,
                s.identity_se > 0 ? std::fabs(s.identity_gap) / s.identity_se : 0.0);
    std::printf(
        "  IW log-likelihood (S=%lld, %lld images): log p(x) %s nats, NLL %.3f, %.4f bits/dim; "
        "S-sample ELBO %s\n",
        static_cast<long long>(r.iw_samples), static_cast<long long>(r.iw_points), pm(r.iw_log_px).c_str(),
        -r.iw_log_px.mean, r.iw_bits_per_dim, pm(r.iw_mean_log_w).c_str());
    std::printf("  latent health: %lld of %lld active units (Cov_x E_q[z] > %.2g); KL per dim:",
                static_cast<long long>(r.health.active_units), static_cast<long long>(s.dim), r.health.threshold);
    for (double v : r.health.kl_per_dim) std::printf(" %.2f", v);
    std::printf("\n");
  }
  if (r.discrete)
    std::printf(
        "  codes: K=%lld at %lld positions, perplexity %.1f, usage %.1f%%, %.4f bits/dim under the uniform "
        "prior\n",
        static_cast<long long>(r.codes), static_cast<long long>(r.positions), r.perplexity, 100.0 * r.usage,
        r.uniform_prior_bits_per_dim);
  if (r.learned_prior)
    std::printf("  learned prior: code NLL %s nats/image (uniform: %.3f), %.4f bits/dim\n",
                pm(r.prior_code_nll).c_str(), static_cast<double>(r.positions) * std::log(static_cast<double>(r.codes)),
                r.learned_prior_bits_per_dim);
  if (!r.gaussian && !r.discrete)
    std::printf("  (%s exposes no latent view: reconstruction figures only; see models/eval.h)\n", r.model.c_str());
}

// The runs side by side, one column each, labelled A, B, C, ...
void print_comparison(const std::vector<ModelEvaluation>& runs) {
  auto label = [](size_t i) { return std::string(1, static_cast<char>('A' + i)) + ": "; };
  std::printf("\n%-28s", "");
  for (size_t i = 0; i < runs.size(); ++i)
    std::printf(" %22s", (label(i) + runs[i].model + (runs[i].gaussian ? " " + runs[i].prior : "")).c_str());
  std::printf("\n");
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return std::string(buf);
  };
  auto row = [&](const char* name, auto get, bool gaussian_only) {
    std::printf("%-28s", name);
    for (const ModelEvaluation& r : runs) std::printf(" %22s", (!gaussian_only || r.gaussian ? get(r) : "-").c_str());
    std::printf("\n");
  };
  row(
      "ELBO (nats)", [&](const ModelEvaluation& r) { return pm(r.elbo); }, true);
  row(
      "IW-NLL (nats)",
      [&](const ModelEvaluation& r) {
        return pm({-r.iw_log_px.mean, r.iw_log_px.se});
      },
      true);
  row(
      "IW bits/dim", [&](const ModelEvaluation& r) { return num(r.iw_bits_per_dim); }, true);
  row(
      "avg KL", [&](const ModelEvaluation& r) { return pm(r.surgery.avg_kl); }, true);
  row(
      "KL(q_agg || p)", [&](const ModelEvaluation& r) { return pm(r.surgery.marginal_kl); }, true);
  row(
      "I_q[x; z]", [&](const ModelEvaluation& r) { return pm(r.surgery.mutual_info); }, true);
  row(
      "active units",
      [&](const ModelEvaluation& r) {
        return std::to_string(r.health.active_units) + "/" + std::to_string(r.surgery.dim);
      },
      true);
  row(
      "recon mse/pixel", [&](const ModelEvaluation& r) { return num(r.recon_mse); }, false);
}

void run_eval(const EvalFlags& f) {
  const Device device = parse_device(f.device);
  const std::optional<io::DatasetSpec> data = parse_eval_data(f.data);
  const ModelEvaluation a = evaluate_checkpoint(resolve_checkpoint(f.checkpoint), data, f.options, device);
  print_note(a.integrity_note);
  print_report(a);
  nlohmann::json out = a.to_json();
  std::vector<std::string> files;
  const std::string prefix = !f.plots.empty() ? f.plots
                             : !f.json.empty()
                                 ? (fs::path(f.json).parent_path() / fs::path(f.json).stem()).string() + "-"
                                 : "";
  // The folders named by --json / --plots are made as needed.
  for (const std::string& target : {f.json, prefix}) {
    const fs::path dir = fs::path(target).parent_path();
    std::error_code error;
    if (!target.empty() && !dir.empty()) fs::create_directories(dir, error);
    LVK_CHECK(!error, "eval: cannot create the folder ", dir.string(), " for ", target, ": ", error.message());
  }
  if (!prefix.empty()) files = write_eval_plots(a, prefix + (f.compare.empty() ? "" : "a-"));
  if (!f.compare.empty()) {
    // With --compare the JSON holds one object per run under "a", "b", "c", ...
    std::vector<ModelEvaluation> runs{a};
    out = {{"a", out}};
    for (const std::string& other : f.compare) {
      std::printf("\n");
      runs.push_back(evaluate_checkpoint(resolve_checkpoint(other), data, f.options, device));
      const ModelEvaluation& r = runs.back();
      print_note(r.integrity_note);
      print_report(r);
      const std::string key(1, static_cast<char>('a' + runs.size() - 1));
      out[key] = r.to_json();
      if (!prefix.empty())
        for (const std::string& file : write_eval_plots(r, prefix + key + "-")) files.push_back(file);
    }
    print_comparison(runs);
  }
  if (!f.json.empty()) {
    const std::string text = out.dump(2) + "\n";
    io::write_file_atomic(f.json, text.data(), text.size());
    files.push_back(f.json);
  }
  for (const std::string& file : files) std::printf("wrote %s\n", file.c_str());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "ELBO surgery, IW log-likelihood and latent health of a checkpoint");
  cmd->add_option("checkpoint", f->checkpoint, "checkpoint file or run folder (its newest checkpoint)")->required();
  cmd->add_option("--data", f->data,
                  "held-out split of a dataset named as for train: shapes[:N] | procedural | mnist:DIR | "
                  "fashion-mnist[:DIR] | cifar10:DIR; default: the run's own");
  cmd->add_option("--points", f->options.points, "n: images for surgery, health and reconstruction")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--samples", f->options.samples, "S: importance samples per image")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--iw-points", f->options.iw_points, "images for the IW log-likelihood (0: min(n, 500))")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--surgery-samples", f->options.surgery_samples, "draws of z per image for q_agg expectations")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", f->options.batch, "encoder batch")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--chunk", f->options.chunk_rows, "decoder rows per chunk")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", f->options.seed, "seed of every Monte Carlo draw")->capture_default_str();
  cmd->add_option("--json", f->json, "write the report as JSON (plots go beside it unless --plots)");
  cmd->add_option("--plots", f->plots, "path prefix of the PNG plots");
  cmd->add_option("--compare", f->compare,
                  "more checkpoints or run folders (up to 25), evaluated on the same data and "
                  "shown side by side")
      ->expected(1, 25);
  cmd->add_option("--device", f->device, "auto|cpu|cuda")->capture_default_str();
  cmd->callback([f] { run_eval(*f); });
}

}  // namespace lvk::cli
