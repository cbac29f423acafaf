// Rows of vector quantization: the fused lookups (exact and fast), the losses' gradients, cluster
// statistics, EMA learning, dead-code restarts and the unfused baseline the benchmarks compare with.
#include "kernels/vq_learn.h"
#include "kernels/vq_unfused.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/layout.h"
#include "runtime/ops/step_clock.h"
#include "runtime/ops/vq.h"
#include "runtime/ops/vq_learn.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kRowTile = 128;  // rows per block of the CUDA lookup (kernels/cuda/vq.cu)
constexpr int64_t kCodes = 37, kChannels = 6;

// z [N, 6] near codes of a [37, 6] codebook: every row's nearest code wins by a clear margin, so
// indices compare exactly (no near-ties).
Tensors near_codes(int64_t n) {
  const Tensor codebook = rand({kCodes, kChannels}, 41, -1.0f, 1.0f);
  const std::vector<float> e = codebook.to_vector<float>();
  const std::vector<int32_t> pick = rand_index({n}, 42, kCodes).to_vector<int32_t>();
  std::vector<float> z = rand({n, kChannels}, 43, -0.02f, 0.02f).to_vector<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < kChannels; ++c) z[i * kChannels + c] += e[pick[i] * kChannels + c];
  return {Tensor::from_vector(z, {n, kChannels}), codebook};
}

// The same rows as an NCHW batch z [n, 6, 3, 5] (15 rows per image), read in place by the lookup.
Tensors near_codes_nchw(int64_t n) {
  Tensors t = near_codes(n * 15);
  t[0] = to_channels_first(t[0].view({n, 3, 5, kChannels}));
  return t;
}

OpRow lookup_row(const std::string& name, VqPrecision precision, bool cosine, bool nchw = false) {
  OpRow r;
  r.name = name;  // size: rows of z, or images of an NCHW z
  r.kernels = {precision == VqPrecision::fast ? "vq_nearest_fast" : "vq_nearest", "vq_commitment_grad",
               "vq_codebook_grad"};
  if (cosine) r.kernels.insert(r.kernels.end(), {"l2_normalize_rows", "l2_normalize_rows_backward"});
  r.tile = nchw ? 9 : kRowTile;  // 9 images: 135 rows, past one row tile
  r.inputs = nchw ? near_codes_nchw : near_codes;
  r.forward = [precision, cosine](const Tensors& in) {
    VqOptions o;
    o.distances = o.counts = true;
    o.precision = precision;
    o.cosine = cosine;
    const VqResult q = vq_quantize(in[0], in[1], o);
    return Tensors{q.indices, q.z_q, q.distances, q.counts, add(q.codebook_loss, q.commitment_loss)};
  };
  r.outputs = {exact("indices"), cosine ? close("z_q", 1e-6, 1e-6) : exact("z_q"), close("distances", 1e-5, 1e-5),
               exact("counts"), close("losses", 1e-6, 1e-5)};
  r.backward = true;  // of the losses: the commitment gradient into z, the codebook gradient
  r.grad_output = 4;
  r.grad_inputs = {true, true};
  r.grad_tolerance = close("grad", 1e-6, 1e-5);
  // Each loss stops the gradient into one operand, so the tape's gradient is not their derivative
  // (test_vq.cpp checks it against the closed form).
  r.finite_differences = false;
  return r;
}

}  // namespace

std::vector<OpRow> vq_rows() {
  std::vector<OpRow> rows;
  rows.push_back(lookup_row("vq_quantize", VqPrecision::fp32, false));
  rows.push_back(lookup_row("vq_quantize_fast", VqPrecision::fast, false));
  rows.push_back(lookup_row("vq_quantize_cosine", VqPrecision::fp32, true));
  rows.push_back(lookup_row("vq_quantize_nchw", VqPrecision::fp32, false, true));
  {
    OpRow r;
    r.name = "vq_unfused";  // scores from a GEMM, then a separate argmin: the benchmark baseline
    r.kernels = {"vq_codebook_norms", "vq_argmin_scores"};
    r.tile = 32;  // a warp per row
    r.inputs = near_codes;
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      const int64_t n = in[0].dim(0);
      Tensor norms = Tensor::empty({kCodes}, DType::f32, d), indices = Tensor::empty({n}, DType::i32, d);
      const Tensor dots = matmul(in[0], in[1], false, true);
      LVK_DISPATCH(d, vq_codebook_norms, norms.data<float>(), in[1].data<float>(), kCodes, kChannels);
      LVK_DISPATCH(d, vq_argmin_scores, indices.data<int32_t>(), dots.data<float>(), norms.data<float>(), n, kCodes);
      return Tensors{norms, indices};
    };
    r.outputs = {close("norms", 1e-6, 1e-6), exact("indices")};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "vq_cluster_sums";  // per-code sums and counts, then the k-means centroid step
    r.kernels = {"vq_cluster_sums", "vq_centroid_update"};
    r.tile = kRowTile;
    r.inputs = [](int64_t n) {
      return Tensors{rand({n, kChannels}, 44), rand_index({n}, 45, kCodes), rand({kCodes, kChannels}, 46)};
    };
    r.forward = [](const Tensors& in) {
      Tensor sums, counts, codebook = in[2].clone();
      vq_cluster_sums(sums, counts, in[0], in[1], kCodes);
      const Device d = in[0].device();
      LVK_DISPATCH(d, vq_centroid_update, codebook.data<float>(), sums.data<float>(), counts.data<int32_t>(), kCodes,
                   kChannels);
      return Tensors{sums, counts, codebook};
    };
    r.outputs = {close("sums", 1e-6, 1e-6), exact("counts"), close("centroids", 1e-6, 1e-6)};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "vq_ema";  // two EMA steps, then the restart of codes whose usage stayed low
    r.kernels = {"vq_ema_update", "vq_restart"};
    r.tile = kRowTile;
    r.empty_ok = false;  // a restart needs rows to draw from
    r.inputs = [](int64_t n) {
      Tensors t = near_codes(n);
      t.push_back(rand_index({n}, 47, kCodes));
      return t;
    };
    r.forward = [](const Tensors& in) {
      VqEmaState s = vq_ema_state(in[1]);
      vq_ema_update(s, in[0], in[2]);
      vq_ema_update(s, in[0], in[2]);
      const int64_t restarted = vq_restart_dead_codes(s, in[0], 0.05f, 7, 3);
      return Tensors{s.codebook, s.ema_count, s.ema_sum,
                     Tensor::full({1}, static_cast<float>(restarted), in[0].device())};
    };
    r.outputs = {close("codebook", 1e-6, 1e-5), close("ema_count", 1e-6, 1e-6), close("ema_sum", 1e-6, 1e-5),
                 exact("restarted")};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "vq_restart_on_clock";  // the restart inside a train step: threshold and offset from the clock
    r.kernels = {"vq_restart"};
    r.tile = kRowTile;
    r.empty_ok = false;
    r.inputs = [](int64_t n) {
      Tensors t = near_codes(n);
      t.push_back(rand({kCodes}, 48, 0.0f, 0.2f));
      return t;
    };
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      VqEmaState s = vq_ema_state(in[1]);
      s.ema_count = in[2].clone();
      StepClock clock(d, {1e-3f}, 1, 1);
      clock.begin();
      Tensor restarted = Tensor::zeros({1}, DType::f32, d);
      vq_restart_dead_codes_on_clock(s, in[0], 0.1f, 0.9f, 7, 3, clock, restarted);
      return Tensors{s.codebook, s.ema_count, s.ema_sum, restarted};
    };
    r.outputs = {exact("codebook"), exact("ema_count"), exact("ema_sum"), exact("restarted")};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
