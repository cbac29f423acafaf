// Codebook learning ops (see vq_learn.h): argument checks, dispatch to kernels/vq_learn.h, and
// the host-side k-means++ seeding.
#include "runtime/ops/vq_learn.h"

#include <cmath>

#include "base/philox.h"
#include "kernels/reduce.h"
#include "kernels/vq_learn.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/vq_nonfinite.h"

namespace lvk {

namespace {

kernels::VqShape rows_shape(const char* op, const Tensor& z) {
  check_defined(op, "z", z);
  check_dtype(op, "z", z, DType::f32);
  LVK_CHECK(z.rank() == 2 || z.rank() == 4, op, ": z must be [N, C] or [B, C, H, W], got ", z.str());
  kernels::VqShape s;
  s.c = z.dim(1);
  s.hw = z.rank() == 4 ? z.dim(2) * z.dim(3) : 1;
  s.n = z.rank() == 4 ? z.dim(0) * s.hw : z.dim(0);
  if (s.hw == 0) s.hw = 1;
  LVK_CHECK(s.c >= 1, op, ": C must be >= 1, got ", z.str());
  return s;
}

void check_codebook_matches(const char* op, const Tensor& codebook, const Tensor& z, const kernels::VqShape& s) {
  check_dtype(op, "codebook", codebook, DType::f32);
  check_rank(op, "codebook", codebook, 2);
  check_same_device(op, codebook, z);
  LVK_CHECK(codebook.dim(1) == s.c, op, ": codebook has C=", codebook.dim(1), " but z has C=", s.c);
}

// z rows on the host, row-major, for the sequential k-means++ seeding.
std::vector<float> host_rows(const Tensor& z, const kernels::VqShape& s) {
  const std::vector<float> v = z.to_vector<float>();
  std::vector<float> rows(static_cast<size_t>(s.n * s.c));
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t ch = 0; ch < s.c; ++ch)
      rows[static_cast<size_t>(i * s.c + ch)] = v[static_cast<size_t>(kernels::vq_offset(i, ch, s))];
  return rows;
}

std::vector<float> kmeans_plus_plus(const std::vector<float>& rows, const kernels::VqShape& s, int64_t k, uint64_t seed,
                                    uint64_t offset) {
  const int64_t n = s.n, c = s.c;
  std::vector<float> centres(static_cast<size_t>(k * c));
  std::vector<double> d(static_cast<size_t>(n), 0.0);
  auto take = [&](int64_t j, int64_t row) {
    std::copy(rows.begin() + row * c, rows.begin() + (row + 1) * c, centres.begin() + j * c);
    // Distances to the nearest centre so far; rows are independent, so threads cannot change them.
#pragma omp parallel for schedule(static) if (n * c >= (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0.0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const double diff =
            static_cast<double>(rows[static_cast<size_t>(i * c + ch)]) - centres[static_cast<size_t>(j * c + ch)];
        acc += diff * diff;
      }
      d[static_cast<size_t>(i)] = j == 0 ? acc : std::min(d[static_cast<size_t>(i)], acc);
    }
  };
  take(0, kernels::vq_restart_row(philox_uniform(seed, offset, 0), n));
  for (int64_t j = 1; j < k; ++j) {
    const float u = philox_uniform(seed, offset, static_cast<uint64_t>(j));
    double total = 0.0;
    for (double x : d) total += x;
    int64_t row = kernels::vq_restart_row(u, n);  // all rows already centres: any row
    if (total > 0.0) {
      const double target = static_cast<double>(u) * total;
      double run = 0.0;
      row = n - 1;
      for (int64_t i = 0; i < n; ++i) {
        run += d[static_cast<size_t>(i)];
        if (run >= target && d[static_cast<size_t>(i)] > 0.0) {
          row = i;
          break;
        }
      }
    }
    take(j, row);
  }
  return centres;
}

}  // namespace

VqEmaState vq_ema_state(const Tensor& codebook) {
  OpScope op("vq_ema_state");
  check_defined(op.name(), "codebook", codebook);
  check_dtype(op.name(), "codebook", codebook, DType::f32);
  check_rank(op.name(), "codebook", codebook, 2);
  VqEmaState st;
  st.codebook = codebook.clone();
  st.ema_count = Tensor::zeros({codebook.dim(0)}, DType::f32, codebook.device());
  st.ema_sum = Tensor::zeros(codebook.shape(), DType::f32, codebook.device());
  return st;
}

void vq_ema_update(VqEmaState& state, const Tensor& z, const Tensor& indices, const VqEmaOptions& options) {
  OpScope op("vq_ema_update");
  const kernels::VqShape s = rows_shape(op.name(), z);
  check_codebook_matches(op.name(), state.codebook, z, s);
  LVK_CHECK(options.decay >= 0.0f && options.decay < 1.0f, op.name(), ": decay=", options.decay, " must be in [0, 1)");
  LVK_CHECK(options.eps >= 0.0f, op.name(), ": eps=", options.eps, " must be >= 0");
  const int64_t k = state.codebook.dim(0);
  Tensor sums, counts;
  vq_cluster_sums(sums, counts, z, indices, k);
  if (options.comm) {
    options.comm->all_reduce_(sums, dist::ReduceOp::sum);
    if (options.global_counts.defined()) {
      const Tensor& g = options.global_counts;
      LVK_CHECK(g.dtype() == DType::i32 && g.shape() == Shape({k}) && g.device() == z.device(), op.name(),
                ": global_counts ", g.str(), " must be i32 [", k, "] on ", z.device().str());
      counts = g;
    } else {
      options.comm->all_reduce_(counts, dist::ReduceOp::sum);
    }
  }
  state.steps += 1;
  kernels::VqEmaParams p;
  p.decay = options.decay;
  p.eps = options.eps;
  p.correction =
      options.bias_correction
          ? static_cast<float>(1.0 - std::pow(static_cast<double>(options.decay), static_cast<double>(state.steps)))
          : 1.0f;
  p.bias_correction = options.bias_correction;
  if (options.clock) {
    LVK_CHECK(options.clock->device() == z.device(), op.name(), ": the step clock is on ",
              options.clock->device().str(), ", z on ", z.device().str());
    p.step = options.clock->state();
  }
  const Device device = z.device();
  Tensor ws;
#if LVK_WITH_CUDA
  if (device.is_cuda()) ws = Tensor::empty({kernels::sum_workspace_size(k) + 1}, DType::f32, device);
#endif
  LVK_DISPATCH(device, vq_ema_update, state.codebook.data<float>(), state.ema_count.data<float>(),
               state.ema_sum.data<float>(), sums.data<float>(), counts.data<int32_t>(), p, k, s.c,
               ws.defined() ? ws.data<float>() : nullptr);
}

namespace {
kernels::VqShape restart_shape(const char* op, const Tensor& codebook, const Tensor& usage, const Tensor& z) {
  kernels::VqShape s = rows_shape(op, z);
  check_codebook_matches(op, codebook, z, s);
  check_dtype(op, "usage", usage, DType::f32);
  check_same_device(op, usage, z);
  s.k = codebook.dim(0);
  LVK_CHECK(usage.numel() == s.k, op, ": usage ", usage.str(), " must have K=", s.k, " entries");
  LVK_CHECK(s.n > 0, op, ": cannot restart codes from an empty batch ", z.str());
  return s;
}

int64_t restart(const char* op, Tensor& codebook, Tensor* ema_sum, const Tensor& usage, const Tensor& z,
                float threshold, uint64_t seed, uint64_t offset) {
  const kernels::VqShape s = restart_shape(op, codebook, usage, z);
  int64_t dead = 0;
  for (float u : usage.to_vector<float>()) dead += u < threshold;
  if (dead == 0) return 0;
  kernels::VqRestartParams p;
  p.threshold = threshold;
  p.seed = seed;
  p.offset = offset;
  LVK_DISPATCH(z.device(), vq_restart, codebook.data<float>(), ema_sum ? ema_sum->data<float>() : nullptr,
               usage.data<float>(), z.data<float>(), p, s);
  return dead;
}
}  // namespace

void vq_restart_dead_codes_on_clock(VqEmaState& state, const Tensor& z, float threshold, float decay, uint64_t seed,
                                    uint64_t offset, const StepClock& clock, Tensor& restarted) {
  OpScope op("vq_restart_dead_codes");
  const kernels::VqShape s = restart_shape(op.name(), state.codebook, state.ema_count, z);
  check_dtype(op.name(), "restarted", restarted, DType::f32);
  LVK_CHECK(restarted.numel() == 1 && restarted.device() == z.device() && clock.device() == z.device(), op.name(),
            ": restarted ", restarted.str(), " and the clock must be one element and the clock on ", z.device().str());
  kernels::VqRestartParams p;
  p.threshold = threshold;
  p.seed = seed;
  p.offset = offset;
  p.step = clock.state();
  p.decay = decay;
  p.restarted = restarted.data<float>();
  LVK_DISPATCH(z.device(), vq_restart, state.codebook.data<float>(), state.ema_sum.data<float>(),
               state.ema_count.data<float>(), z.data<float>(), p, s);
}

int64_t vq_restart_dead_codes(Tensor& codebook, const Tensor& usage, const Tensor& z, float threshold, uint64_t seed,
                              uint64_t offset) {
  OpScope op("vq_restart_dead_codes");
  return restart(op.name(), codebook, nullptr, usage, z, threshold, seed, offset);
}

int64_t vq_restart_dead_codes(VqEmaState& state, const Tensor& z, float threshold, uint64_t seed, uint64_t offset) {
  OpScope op("vq_restart_dead_codes");
  return restart(op.name(), state.codebook, &state.ema_sum, state.ema_count, z, threshold, seed, offset);
}

Tensor vq_kmeans(const Tensor& z, int64_t k, const VqKmeansOptions& options) {
  OpScope op("vq_kmeans");
  const kernels::VqShape s = rows_shape(op.name(), z);
  LVK_CHECK(k >= 1, op.name(), ": K=", k, " must be >= 1");
  LVK_CHECK(s.n >= 1, op.name(), ": cannot fit a codebook to an empty batch ", z.str());
  LVK_CHECK(options.iterations >= 0, op.name(), ": iterations=", options.iterations, " must be >= 0");
  refuse_nonfinite_rows(op.name(), nonfinite_rows(z, s), s);  // a NaN row would poison its centroid
  NoGrad no_grad;
  std::vector<float> centres;
  if (options.plus_plus) {
    centres = kmeans_plus_plus(host_rows(z, s), s, k, options.seed, options.offset);
  } else {
    const std::vector<float> rows = host_rows(z, s);
    centres.resize(static_cast<size_t>(k * s.c));
    for (int64_t j = 0; j < k; ++j) {
      const int64_t r =
          kernels::vq_restart_row(philox_uniform(options.seed, options.offset, static_cast<uint64_t>(j)), s.n);
      std::copy(rows.begin() + r * s.c, rows.begin() + (r + 1) * s.c, centres.begin() + j * s.c);
    }
  }
  Tensor codebook = Tensor::from_vector(centres, {k, s.c}, z.device());
  VqOptions lookup;
  lookup.z_q = lookup.losses = false;
  std::vector<int32_t> previous;
  for (int it = 0; it < options.iterations; ++it) {
    const VqResult r = vq_quantize(z, codebook, lookup);
    std::vector<int32_t> now = r.indices.to_vector<int32_t>();
    if (now == previous) break;  // converged: the centroids would not move
    previous = std::move(now);
    Tensor sums, counts;
    vq_cluster_sums(sums, counts, z, r.indices, k);
    LVK_DISPATCH(z.device(), vq_centroid_update, codebook.data<float>(), sums.data<float>(), counts.data<int32_t>(), k,
                 s.c);
  }
  return codebook;
}

Tensor l2_normalize_rows(const Tensor& x) {
  OpScope op("l2_normalize_rows");
  const kernels::VqShape s = rows_shape(op.name(), x);
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  Tensor norms = Tensor::empty({s.n}, DType::f32, x.device());
  LVK_DISPATCH(x.device(), l2_normalize_rows, y.data<float>(), norms.data<float>(), x.data<float>(), s);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {y}, [x, y, norms, s](GradBook& book) {
      const Tensor g = book.grad(y);
      if (!g.defined()) return;
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      LVK_DISPATCH(x.device(), l2_normalize_rows_backward, dx.data<float>(), g.data<float>(), y.data<float>(),
                   norms.data<float>(), s);
      book.accumulate(x, dx);
    });
  }
  return y;
}

ResidualVqResult vq_residual(const Tensor& z, const std::vector<Tensor>& codebooks, const VqOptions& options) {
  OpScope op("vq_residual");
  check_defined(op.name(), "z", z);
  LVK_CHECK(!codebooks.empty(), op.name(), ": needs at least one codebook");
  ResidualVqResult out;
  Tensor total = Tensor::zeros(z.shape(), DType::f32, z.device());  // sum of z_q so far, not recorded
  VqOptions level = options;
  level.z_q = true;
  for (size_t l = 0; l < codebooks.size(); ++l) {
    const Tensor residual = l == 0 ? z : sub(z, total);  // gradient of r_l w.r.t. z is the identity
    VqResult r = vq_quantize(residual, codebooks[l], level);
    out.indices.push_back(r.indices);
    {
      NoGrad no_grad;
      total = add(total, r.z_q);
    }
    if (options.losses) {
      out.codebook_loss = l == 0 ? r.codebook_loss : add(out.codebook_loss, r.codebook_loss);
      out.commitment_loss = l == 0 ? r.commitment_loss : add(out.commitment_loss, r.commitment_loss);
    }
  }
  out.z_q = total;
  if (Tape::wants({z})) {
    Tape::recording()->record("vq_residual.straight_through", {z}, {out.z_q},
                              [z, zq = out.z_q](GradBook& book) { book.accumulate(z, book.grad(zq)); });
  }
  return out;
}

VqStats vq_stats(const Tensor& counts) {
  OpScope op("vq_stats");
  check_defined(op.name(), "counts", counts);
  check_dtype(op.name(), "counts", counts, DType::i32);
  VqStats st;
  st.counts = counts.to_vector<int32_t>();
  if (st.counts.empty()) return st;
  double total = 0.0;
  int64_t used = 0;
  for (int32_t c : st.counts) total += c, used += c > 0;
  double h = 0.0;
  if (total > 0)
    for (int32_t c : st.counts)
      if (c > 0) h -= (c / total) * std::log(c / total);
  st.perplexity = total > 0 ? std::exp(h) : 0.0;
  st.used_fraction = static_cast<double>(used) / static_cast<double>(st.counts.size());
  return st;
}

}  // namespace lvk
