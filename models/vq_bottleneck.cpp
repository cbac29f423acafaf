#include "models/vq_bottleneck.h"

#include <cmath>

#include "models/json_options.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/nn.h"
#include "runtime/storage.h"
#include "runtime/tape.h"

namespace lvk {

const OptionTable<VqBottleneckOptions>& VqBottleneckOptions::fields() {
  using O = VqBottleneckOptions;
  static const OptionTable<O> table = {
      option("codes", "K codes per level", &O::codes),
      option("code_dim", "C: code dimension", &O::code_dim),
      option("beta", "commitment weight", &O::beta),
      option("codebook", "ema: an EMA buffer; loss: a trained parameter (codebook loss in the objective)",
             &O::codebook),
      option("decay", "EMA decay (bias-corrected EMAs)", &O::decay),
      option("eps", "EMA Laplace smoothing", &O::eps),
      {"restart_threshold",
       "ema only: codes whose EMA count (rows per batch) falls below it are re-seeded from batch rows every "
       "restart_every steps; 0 disables",
       [](const char* what, const nlohmann::json& j, O& o) {
         read_option(what, j, "restart_threshold", o.restart_threshold);
       },
       // A loss codebook never restarts.
       [](const O& o) { return nlohmann::json(o.codebook == "ema" ? o.restart_threshold : 0.0f); }},
      option("restart_every", "steps between dead-code checks (each reads K floats back to the host)",
             &O::restart_every),
      option("kmeans_init", "k-means++ and Lloyd steps on the first batch's latents", &O::kmeans_init),
      option("residual_levels", "residual VQ levels, each its own codebook (1 to 4)", &O::levels),
      option("cosine", "l2-normalised codes and latents", &O::cosine),
      {"precision", "fp32 (exact), or fast: BF16 tensor-core shortlist and exact re-check",
       [](const char* what, const nlohmann::json& j, O& o) {
         std::string p = o.precision == VqPrecision::fast ? "fast" : "fp32";
         read_option(what, j, "precision", p);
         LVK_CHECK(p == "fp32" || p == "fast", what, ": precision '", p, "' is not fp32 or fast");
         o.precision = p == "fast" ? VqPrecision::fast : VqPrecision::fp32;
       },
       [](const O& o) { return nlohmann::json(o.precision == VqPrecision::fast ? "fast" : "fp32"); }},
      option("stats", "perplexity and usage of level 0, on the device from its K counts (no host read)", &O::stats),
  };
  return table;
}

void VqBottleneckOptions::resolve(const char* what, const nlohmann::json& j) {
  LVK_CHECK(codebook == "loss" || codebook == "ema", what, ": codebook '", codebook, "' is not loss or ema");
  // Restarts read the EMA counts; a loss-trained codebook has none to read, so its threshold is 0.
  if (codebook == "loss") {
    LVK_CHECK(restart_threshold == 0.0f || !j.contains("restart_threshold"), what,
              ": restart_threshold needs codebook 'ema' (restarts use the EMA counts), got codebook 'loss'");
    restart_threshold = 0.0f;
  }
  validate(what);
}

void VqBottleneckOptions::validate(const char* what) const {
  LVK_CHECK(codes >= 1 && code_dim >= 1, what, ": codes=", codes, " code_dim=", code_dim, ", expected both >= 1");
  LVK_CHECK(std::isfinite(beta) && beta >= 0.0f, what, ": beta=", beta, " must be finite and >= 0");
  LVK_CHECK(decay >= 0.0f && decay < 1.0f, what, ": decay=", decay, " must be in [0, 1)");
  LVK_CHECK(eps >= 0.0f, what, ": eps=", eps, " must be >= 0");
  LVK_CHECK(restart_threshold >= 0.0f, what, ": restart_threshold=", restart_threshold, " must be >= 0");
  LVK_CHECK(restart_every >= 1, what, ": restart_every=", restart_every, " must be >= 1");
  LVK_CHECK(levels >= 1 && levels <= 4, what, ": residual_levels=", levels, " must be in [1, 4]");
  LVK_CHECK(!(cosine && levels > 1), what, ": cosine codebooks do not combine with residual_levels=", levels,
            " (residuals of unit vectors are not unit vectors)");
}

VqBottleneck::VqBottleneck(const VqBottleneckOptions& o, InitStream& init, Device device, uint64_t draw)
    : options_(o), draw_(draw), device_(device) {
  for (int64_t l = 0; l < o.levels; ++l) {
    // U(-1/K, 1/K) like torch.nn.Embedding-based VQ-VAEs (torch_default with fan_in = K^2).
    Tensor cb = init_parameter({o.codes, o.code_dim}, Init::torch_default, o.codes * o.codes, o.code_dim, init.seed(),
                               init.take(), device);
    if (ema()) {
      ema_.push_back(vq_ema_state(cb));
    } else {
      codebooks_.push_back(make_parameter(cb));
    }
  }
  if (ema()) restarts_ = Tensor::zeros({1}, DType::f32, device);
}

std::vector<Tensor> VqBottleneck::codebooks() const {
  if (!ema()) return codebooks_;
  std::vector<Tensor> out;
  for (const VqEmaState& s : ema_) out.push_back(s.codebook);
  return out;
}

VqOptions VqBottleneck::lookup_options() const {
  VqOptions o;
  o.z_q = true;
  o.losses = true;
  o.beta = options_.beta;
  o.cosine = options_.cosine;
  o.precision = options_.precision;
  // A NaN latent already makes the loss non-finite, which the train step skips; checking here would
  // make every step wait for the device and could not run inside a captured CUDA Graph.
  o.nonfinite = VqNonfinite::propagate;
  return o;
}

VqBottleneck::Output VqBottleneck::forward(const Tensor& z, bool training, dist::Communicator* comm) {
  LVK_CHECK(z.rank() == 4 && z.dim(1) == options_.code_dim, "vq bottleneck: expected latents [B, ", options_.code_dim,
            ", H, W], got ", z.str());
  const std::vector<Tensor> books = codebooks();
  Output out;
  if (training) last_rows_.clear(), last_indices_.clear(), last_counts_ = Tensor();
  Tensor previous, rest;  // sum of the levels' z_q so far, and of levels >= 1: values only
  for (int64_t l = 0; l < options_.levels; ++l) {
    // r_l = z - sg(sum_{j<l} z_q_j): its gradient w.r.t. z is the identity, so each level's
    // commitment loss pulls z.
    const Tensor r = l == 0 ? z : sub(z, previous);
    VqOptions lo = lookup_options();
    lo.counts = l == 0 && options_.stats;
    VqResult q = vq_quantize(r, books[static_cast<size_t>(l)], lo);
    out.indices.push_back(q.indices);
    out.codebook_loss = l == 0 ? q.codebook_loss : add(out.codebook_loss, q.codebook_loss);
    out.commitment_loss = l == 0 ? q.commitment_loss : add(out.commitment_loss, q.commitment_loss);
    if (l == 0) out.z_q = q.z_q;
    {
      NoGrad no_grad;
      if (l > 0) rest = l == 1 ? scale(q.z_q, 1.0f) : add(rest, q.z_q);
      previous = l == 0 ? scale(q.z_q, 1.0f) : add(previous, q.z_q);
      if (training && ema()) {
        last_rows_.push_back(options_.cosine ? l2_normalize_rows(r) : r);
        last_indices_.push_back(q.indices);
      }
    }
    if (lo.counts) {
      out.counts = q.counts;
      if (training && comm) {
        comm->all_reduce_(out.counts, dist::ReduceOp::sum);
        if (ema()) last_counts_ = out.counts;  // the EMA update needs these same global counts
      }
    }
  }
  // Straight-through once: only level 0's z_q carries the gradient back to z; the deeper levels'
  // values ride along unrecorded (their codebook and commitment losses carry their gradients).
  if (rest.defined()) out.z_q = add(out.z_q, rest);
  return out;
}

void VqBottleneck::initialize(const Tensor& z, uint64_t seed, dist::Communicator* comm) {
  if (!options_.kmeans_init) return;
  NoGrad no_grad;
  const Tensor all = comm ? comm->all_gather(z) : z;
  Tensor r = options_.cosine ? l2_normalize_rows(all) : all;
  for (int64_t l = 0; l < options_.levels; ++l) {
    VqKmeansOptions ko;
    ko.iterations = 10;
    ko.seed = seed;
    ko.offset = 0xC0DE0000u + draw_ * 16 + static_cast<uint64_t>(l);
    const Tensor cb = vq_kmeans(r, options_.codes, ko);
    if (ema()) {
      ema_[static_cast<size_t>(l)] = vq_ema_state(cb);
    } else {
      // Into the parameter's own storage: the optimiser already holds this tensor.
      Tensor& p = codebooks_[static_cast<size_t>(l)];
      copy_bytes(p.raw(), p.device(), cb.raw(), cb.device(), p.bytes());
    }
    if (l + 1 < options_.levels) {
      VqOptions lo;
      lo.losses = false;
      r = sub(r, vq_quantize(r, cb, lo).z_q);
    }
  }
}

void VqBottleneck::after_step(const StepInfo& info) {
  if (!ema() || last_rows_.empty()) return;
  NoGrad no_grad;
  VqEmaOptions eo{options_.decay, options_.eps, true, info.clock, info.comm};
  const bool restart = restarts_at(info.step);
  // The EMA counts start at zero: compare the bias-corrected count ema_count / (1 - g^t) with the
  // threshold, i.e. the raw count with threshold * (1 - g^t), so restarts work from the first
  // period instead of waiting ~1/(1 - g) steps while unused codes pile up.
  const double t = static_cast<double>(info.step + 1);
  const float corrected =
      options_.restart_threshold * static_cast<float>(1.0 - std::pow(static_cast<double>(options_.decay), t));
  int64_t restarted = 0;
  for (size_t l = 0; l < ema_.size(); ++l) {
    ema_[l].steps = info.step;  // bias correction from the step count: exact across --resume
    eo.global_counts = l == 0 ? last_counts_ : Tensor();
    vq_ema_update(ema_[l], last_rows_[l], last_indices_[l], eo);
    if (!restart) continue;
    // Every rank restarts from the global batch's rows with the same draws: identical codebooks,
    // and the codes one process on the global batch would pick.
    const Tensor rows = info.comm ? info.comm->all_gather(last_rows_[l]) : last_rows_[l];
    if (info.clock)  // on the device: skipped steps restart nothing, the count lands in restarts_
      vq_restart_dead_codes_on_clock(ema_[l], rows, options_.restart_threshold, options_.decay, info.seed,
                                     info.noise_offset(draw_ + l), *info.clock, restarts_);
    else
      restarted += vq_restart_dead_codes(ema_[l], rows, corrected, info.seed, info.noise_offset(draw_ + l));
  }
  last_rows_.clear();
  last_indices_.clear();
  last_counts_ = Tensor();
  if (restarted > 0) accumulate_into(restarts_, Tensor::full({1}, static_cast<float>(restarted), device_));
}

bool VqBottleneck::restarts_at(int64_t step) const {
  return ema() && options_.restart_threshold > 0.0f && (step + 1) % options_.restart_every == 0;
}

Tensor VqBottleneck::restarts() const {
  return restarts_.defined() ? restarts_ : Tensor::zeros({1}, DType::f32, device_);
}

void VqBottleneck::collect_parameters(const std::string& prefix, ParameterList& out) const {
  for (size_t l = 0; l < codebooks_.size(); ++l)
    out.emplace_back(prefix + "codebook." + std::to_string(l), codebooks_[l]);
}

void VqBottleneck::collect_buffers(const std::string& prefix, ParameterList& out) const {
  for (size_t l = 0; l < ema_.size(); ++l) {
    const std::string i = std::to_string(l);
    out.emplace_back(prefix + "codebook." + i, ema_[l].codebook);
    out.emplace_back(prefix + "ema_count." + i, ema_[l].ema_count);
    out.emplace_back(prefix + "ema_sum." + i, ema_[l].ema_sum);
  }
  if (restarts_.defined()) out.emplace_back(prefix + "restarts", restarts_);
}

}  // namespace lvk
