// The evaluation report: JSON and PNG plots (models/eval.h).
#include <algorithm>
#include <cmath>

#include "models/eval.h"
#include "runtime/io/png.h"

namespace lvk {

namespace {

nlohmann::json est(const Estimate& e) {
  return {{"mean", e.mean}, {"se", e.se}};
}

struct Canvas {
  io::Image image;
  Canvas(int w, int h) {
    image.width = w, image.height = h, image.channels = 3;
    image.pixels.assign(static_cast<size_t>(w) * h * 3, 255);
  }
  void put(int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    uint8_t* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * 3];
    p[0] = r, p[1] = g, p[2] = b;
  }
  void rect(int x0, int y0, int x1, int y1, uint8_t r, uint8_t g, uint8_t b) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) put(x, y, r, g, b);
  }
};

// One bar per value, heights relative to the largest; a gray frame marks the plot area.
io::Image bar_chart(const std::vector<double>& values) {
  const int n = static_cast<int>(std::max<size_t>(values.size(), 1));
  const int bar = std::max(1, std::min(24, 600 / n)), gap = bar >= 4 ? 1 : 0, margin = 8, height = 160;
  Canvas c(n * bar + 2 * margin, height + 2 * margin);
  double top = 0.0;
  for (double v : values) top = std::max(top, v);
  c.rect(margin - 1, margin + height, margin + n * bar + 1, margin + height + 1, 128, 128, 128);
  for (size_t i = 0; i < values.size(); ++i) {
    const int h = top > 0 ? static_cast<int>(std::lround(height * std::max(0.0, values[i]) / top)) : 0;
    const int x0 = margin + static_cast<int>(i) * bar;
    c.rect(x0, margin + height - h, x0 + bar - gap, margin + height, 50, 90, 170);
  }
  return c.image;
}

// The top two principal axes of rows [n, d] (power iteration with deflation on the covariance).
std::vector<std::vector<double>> principal_axes(const std::vector<double>& rows, int64_t n, int64_t d,
                                                std::vector<double>& mean) {
  mean.assign(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) mean[k] += rows[i * d + k] / n;
  std::vector<double> cov(d * d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) cov[a * d + b] += (rows[i * d + a] - mean[a]) * (rows[i * d + b] - mean[b]) / n;
  std::vector<std::vector<double>> axes;
  for (int axis = 0; axis < std::min<int64_t>(2, d); ++axis) {
    std::vector<double> v(d);
    for (int64_t k = 0; k < d; ++k) v[k] = 1.0 + 0.1 * k;  // fixed start: deterministic plots
    double lambda = 0.0;
    for (int it = 0; it < 200; ++it) {
      std::vector<double> w(d, 0.0);
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) w[a] += cov[a * d + b] * v[b];
      double norm = 0.0;
      for (double x : w) norm += x * x;
      norm = std::sqrt(norm);
      if (norm == 0.0) break;
      for (int64_t k = 0; k < d; ++k) v[k] = w[k] / norm;
      lambda = norm;
    }
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) cov[a * d + b] -= lambda * v[a] * v[b];
    axes.push_back(v);
  }
  while (axes.size() < 2) axes.emplace_back(d, 0.0);
  return axes;
}

// q_agg samples (left, blue) beside prior samples (right, red), both projected on the principal
// axes of the q_agg samples and drawn on the same scale.
io::Image projection_plot(const std::vector<double>& qagg, const std::vector<double>& prior, int64_t d) {
  const int side = 256, margin = 8;
  Canvas c(2 * side + 3 * margin, side + 2 * margin);
  const int64_t nq = d > 0 ? static_cast<int64_t>(qagg.size()) / d : 0,
                np = d > 0 ? static_cast<int64_t>(prior.size()) / d : 0;
  if (nq == 0) return c.image;
  std::vector<double> mean;
  const auto axes = principal_axes(qagg, nq, d, mean);
  auto project = [&](const std::vector<double>& rows, int64_t n) {
    std::vector<std::pair<double, double>> p(n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < d; ++k) {
        p[i].first += (rows[i * d + k] - mean[k]) * axes[0][k];
        p[i].second += (rows[i * d + k] - mean[k]) * axes[1][k];
      }
    return p;
  };
  const auto pq = project(qagg, nq), pp = project(prior, np);
  std::vector<double> mags;
  for (const auto& s : {pq, pp})
    for (const auto& [a, b] : s) mags.push_back(std::max(std::fabs(a), std::fabs(b)));
  std::sort(mags.begin(), mags.end());
  const double range = std::max(1e-6, mags[static_cast<size_t>(0.99 * (mags.size() - 1))] * 1.1);
  auto draw = [&](const std::vector<std::pair<double, double>>& pts, int x0, uint8_t r, uint8_t g, uint8_t b) {
    c.rect(x0, margin + side / 2, x0 + side, margin + side / 2 + 1, 200, 200, 200);
    c.rect(x0 + side / 2, margin, x0 + side / 2 + 1, margin + side, 200, 200, 200);
    for (const auto& [u, v] : pts) {
      const int px = x0 + static_cast<int>((u / range * 0.5 + 0.5) * (side - 2));
      const int py = margin + static_cast<int>((0.5 - v / range * 0.5) * (side - 2));
      if (px < x0 || px >= x0 + side - 1 || py < margin || py >= margin + side - 1) continue;
      c.rect(px, py, px + 2, py + 2, r, g, b);
    }
  };
  draw(pq, margin, 40, 80, 200);
  draw(pp, 2 * margin + side, 200, 60, 40);
  return c.image;
}

}  // namespace

nlohmann::json ModelEvaluation::to_json() const {
  nlohmann::json j = {{"checkpoint", checkpoint}, {"model", model},         {"data", data},
                      {"device", device},         {"step", step},           {"pixels", pixels},
                      {"points", points},         {"recon_mse", recon_mse}, {"recon_bce", recon_bce},
                      {"seconds", seconds}};
  if (gaussian) {
    const SurgeryResult& s = surgery;
    j["prior"] = prior;
    j["recon"] = est(recon);
    j["elbo"] = est(elbo);
    j["elbo_bits_per_dim"] = elbo_bits_per_dim;
    j["surgery"] = {{"points", s.points},
                    {"samples_per_point", s.samples_per_point},
                    {"closed_form_kl", s.closed_form_kl},
                    {"avg_kl", est(s.avg_kl)},
                    {"avg_kl_mc", est(s.avg_kl_mc)},
                    {"marginal_kl", est(s.marginal_kl)},
                    {"mutual_info", est(s.mutual_info)},
                    {"log_n", s.log_n},
                    {"marginal_kl_plus_mi", s.marginal_kl.mean + s.mutual_info.mean},
                    {"identity_gap", s.identity_gap},
                    {"identity_se", s.identity_se}};
    j["latent"] = {{"active_units", health.active_units},
                   {"threshold", health.threshold},
                   {"mean_variance", health.mean_variance},
                   {"kl_per_dim", health.kl_per_dim},
                   {"kl_per_dim_reference", "N(0, 1)"}};
    j["iw"] = {{"points", iw_points},
               {"samples", iw_samples},
               {"log_px", est(iw_log_px)},
               {"nll", -iw_log_px.mean},
               {"mean_log_w", est(iw_mean_log_w)},
               {"bits_per_dim", iw_bits_per_dim}};
  }
  if (discrete) {
    j["codes"] = {{"codebook_size", codes}, {"positions", positions},
                  {"counts", code_counts},  {"perplexity", perplexity},
                  {"usage", usage},         {"uniform_prior_bits_per_dim", uniform_prior_bits_per_dim}};
    if (learned_prior)
      j["codes"]["learned_prior"] = {{"code_nll", est(prior_code_nll)}, {"bits_per_dim", learned_prior_bits_per_dim}};
  }
  return j;
}

std::vector<std::string> write_eval_plots(const ModelEvaluation& r, const std::string& prefix) {
  std::vector<std::string> files;
  if (r.gaussian) {
    files.push_back(prefix + "kl_per_dim.png");
    io::write_png(files.back(), bar_chart(r.health.kl_per_dim));
    files.push_back(prefix + "qagg_vs_prior.png");
    io::write_png(files.back(), projection_plot(r.surgery.qagg_samples, r.prior_samples, r.surgery.dim));
  }
  if (r.discrete) {
    std::vector<double> counts(r.code_counts.begin(), r.code_counts.end());
    files.push_back(prefix + "code_usage.png");
    io::write_png(files.back(), bar_chart(counts));
  }
  return files;
}

}  // namespace lvk
