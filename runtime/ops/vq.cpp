// vq_quantize: shape checks, the fused lookup twin, and the backward of the straight-through
// estimator and of the VQ-VAE losses. The losses come from the fused per-row distances, so the
// forward never materialises z - z_q.
#include "runtime/ops/vq.h"

#include <limits>
#include <vector>

#include "kernels/vq.h"
#include "runtime/op.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/vq_learn.h"
#include "runtime/ops/vq_nonfinite.h"

namespace lvk {

namespace {

// Validates z / codebook and returns the kernel shape; names the op and both shapes on error.
kernels::VqShape vq_shape(const char* op, const Tensor& z, const Tensor& codebook) {
  check_defined(op, "z", z);
  check_defined(op, "codebook", codebook);
  check_dtype(op, "z", z, DType::f32);
  check_dtype(op, "codebook", codebook, DType::f32);
  check_rank(op, "codebook", codebook, 2);
  check_same_device(op, z, codebook);
  LVK_CHECK(z.rank() == 2 || z.rank() == 4, op, ": z must be [N, C] or [B, C, H, W], got ", z.str());
  kernels::VqShape s;
  s.c = z.dim(1);
  s.k = codebook.dim(0);
  s.hw = z.rank() == 4 ? z.dim(2) * z.dim(3) : 1;
  s.n = z.rank() == 4 ? z.dim(0) * s.hw : z.dim(0);
  LVK_CHECK(codebook.dim(1) == s.c, op, ": codebook has C=", codebook.dim(1), " but z has C=", s.c, " (z ", z.str(),
            ", codebook ", codebook.str(), ")");
  LVK_CHECK(s.k >= 1, op, ": codebook must have K >= 1 codes, got ", codebook.str());
  LVK_CHECK(s.k <= (int64_t{1} << 31) - 1, op, ": K=", s.k, " does not fit the i32 indices");
  LVK_CHECK(s.c >= 1, op, ": C must be >= 1, got ", z.str());
  if (z.rank() == 4 && s.hw == 0) s.hw = 1, s.n = 0;  // empty image: no rows
  return s;
}

Shape index_shape(const Tensor& z) {
  return z.rank() == 4 ? Shape{z.dim(0), z.dim(2), z.dim(3)} : Shape{z.dim(0)};
}

// Scratch bytes as an f32 tensor on `device` (undefined when none is needed).
Tensor scratch(size_t bytes, Device device) {
  if (bytes == 0) return Tensor();
  return Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::f32, device);
}

#if LVK_WITH_CUDA
size_t lookup_workspace(const kernels::VqShape& s, Device d, bool fast) {
  if (!d.is_cuda()) return 0;
  return fast ? kernels::cuda::vq_fast_workspace_bytes(s) : kernels::cuda::vq_workspace_bytes(s);
}
size_t grad_workspace(const kernels::VqShape& s, Device d) {
  return d.is_cuda() ? kernels::cuda::vq_grad_workspace_bytes(s) : 0;
}
#else
size_t lookup_workspace(const kernels::VqShape&, Device, bool) {
  return 0;
}
size_t grad_workspace(const kernels::VqShape&, Device) {
  return 0;
}
#endif

void* raw_or_null(const Tensor& t) {
  return t.defined() ? t.raw() : nullptr;
}

// VqNonfinite::skip once non-finite rows were found: the lookup runs on z with those rows zeroed,
// and their results are then replaced (on the host: this is an inference path, not a train step).
VqResult quantize_skipping(const char* op, const Tensor& z, const Tensor& codebook, const VqOptions& options,
                           const std::vector<int64_t>& bad, const kernels::VqShape& s) {
  LVK_CHECK(!Tape::wants({z, codebook}), op, ": nonfinite=skip is for lookups without gradients, but z or the ",
            "codebook is being recorded (a skipped row has no code to differentiate through)");
  VqOptions plain = options;
  plain.nonfinite = VqNonfinite::propagate;
  plain.distances = true;
  plain.counts = plain.losses = false;
  VqResult r = vq_quantize(zero_rows(z, bad, s), codebook, plain);
  const Device device = z.device();
  std::vector<int32_t> indices = r.indices.to_vector<int32_t>();
  std::vector<float> distances = r.distances.to_vector<float>();
  for (int64_t i : bad) {
    indices[static_cast<size_t>(i)] = -1;
    distances[static_cast<size_t>(i)] = std::numeric_limits<float>::quiet_NaN();
  }
  r.indices = Tensor::from_vector(indices, index_shape(z), device);
  if (r.z_q.defined()) r.z_q = zero_rows(r.z_q, bad, s);
  if (options.counts) {
    std::vector<int32_t> counts(static_cast<size_t>(s.k), 0);
    for (int32_t k : indices)
      if (k >= 0) ++counts[static_cast<size_t>(k)];
    r.counts = Tensor::from_vector(counts, {s.k}, device);
  }
  if (options.losses) {
    double total = 0;
    for (size_t i = 0; i < distances.size(); ++i)
      if (indices[i] >= 0) total += distances[i];
    const double elements = static_cast<double>(s.n - static_cast<int64_t>(bad.size())) * static_cast<double>(s.c);
    const float mean = elements > 0 ? static_cast<float>(total / elements) : 0.0f;
    r.codebook_loss = Tensor::full(Shape{}, mean, device);
    r.commitment_loss = Tensor::full(Shape{}, options.beta * mean, device);
  }
  r.distances = options.distances ? Tensor::from_vector(distances, index_shape(z), device) : Tensor();
  return r;
}

}  // namespace

VqResult vq_quantize(const Tensor& z, const Tensor& codebook, const VqOptions& options) {
  OpScope op("vq_quantize");
  const kernels::VqShape s = vq_shape(op.name(), z, codebook);
  if (options.cosine) {
    VqOptions plain = options;
    plain.cosine = false;
    return vq_quantize(l2_normalize_rows(z), l2_normalize_rows(codebook), plain);
  }
  LVK_CHECK(options.beta >= 0.0f, op.name(), ": beta=", options.beta, " must be >= 0");
  if (options.nonfinite != VqNonfinite::propagate) {
    const std::vector<int64_t> bad = nonfinite_rows(z, s);
    if (options.nonfinite == VqNonfinite::error) refuse_nonfinite_rows(op.name(), bad, s);
    if (!bad.empty()) return quantize_skipping(op.name(), z, codebook, options, bad, s);
  }
  const Device device = z.device();

  VqResult r;
  r.indices = Tensor::empty(index_shape(z), DType::i32, device);
  if (options.z_q) r.z_q = Tensor::empty(z.shape(), DType::f32, device);
  if (options.distances || options.losses) r.distances = Tensor::empty(index_shape(z), DType::f32, device);
  if (options.counts) r.counts = Tensor::empty({s.k}, DType::i32, device);
  const bool fast = options.precision == VqPrecision::fast;
  Tensor ws = scratch(lookup_workspace(s, device, fast), device);
  float* zq_ptr = r.z_q.defined() ? r.z_q.data<float>() : nullptr;
  float* dist_ptr = r.distances.defined() ? r.distances.data<float>() : nullptr;
  int32_t* count_ptr = r.counts.defined() ? r.counts.data<int32_t>() : nullptr;
  if (fast)
    LVK_DISPATCH(device, vq_nearest_fast, r.indices.data<int32_t>(), zq_ptr, dist_ptr, count_ptr, z.data<float>(),
                 codebook.data<float>(), s, raw_or_null(ws));
  else
    LVK_DISPATCH(device, vq_nearest, r.indices.data<int32_t>(), zq_ptr, dist_ptr, count_ptr, z.data<float>(),
                 codebook.data<float>(), s, raw_or_null(ws));

  const double elements = static_cast<double>(s.n) * static_cast<double>(s.c);
  const float inv = elements > 0 ? static_cast<float>(1.0 / elements) : 0.0f;
  if (options.losses) {
    NoGrad no_grad;  // the loss values are plain reductions; their backward is recorded below
    r.codebook_loss = scale(sum(r.distances), inv);
    r.commitment_loss = scale(r.codebook_loss, options.beta);
  }
  const Tensor indices = r.indices;
  if (r.z_q.defined() && Tape::wants({z})) {
    const Tensor zq = r.z_q;
    Tape::recording()->record("vq_quantize.straight_through", {z}, {zq},
                              [z, zq](GradBook& book) { book.accumulate(z, book.grad(zq)); });
  }
  if (options.losses && Tape::wants({codebook})) {
    const Tensor loss = r.codebook_loss;
    Tape::recording()->record(
        "vq_quantize.codebook_loss", {codebook}, {loss}, [z, codebook, indices, loss, s, inv](GradBook& book) {
          const Tensor g = book.grad(loss);
          if (!g.defined()) return;
          Tensor dcb = Tensor::zeros(codebook.shape(), DType::f32, codebook.device());
          Tensor gws = scratch(grad_workspace(s, codebook.device()), codebook.device());
          LVK_DISPATCH(codebook.device(), vq_codebook_grad, dcb.data<float>(), z.data<float>(), codebook.data<float>(),
                       indices.data<int32_t>(), g.data<float>(), 2.0f * inv, s, raw_or_null(gws));
          book.accumulate(codebook, dcb);
        });
  }
  if (options.losses && Tape::wants({z})) {
    const Tensor loss = r.commitment_loss;
    const float factor = 2.0f * options.beta * inv;
    Tape::recording()->record(
        "vq_quantize.commitment_loss", {z}, {loss}, [z, codebook, indices, loss, s, factor](GradBook& book) {
          const Tensor g = book.grad(loss);
          if (!g.defined()) return;
          Tensor dz = Tensor::empty(z.shape(), DType::f32, z.device());
          LVK_DISPATCH(z.device(), vq_commitment_grad, dz.data<float>(), z.data<float>(), codebook.data<float>(),
                       indices.data<int32_t>(), g.data<float>(), factor, s);
          book.accumulate(z, dz);
        });
  }
  if (!options.distances) r.distances = Tensor();
  return r;
}

void vq_cluster_sums(Tensor& sums, Tensor& counts, const Tensor& z, const Tensor& indices, int64_t k) {
  OpScope op("vq_cluster_sums");
  check_defined(op.name(), "z", z);
  check_dtype(op.name(), "z", z, DType::f32);
  check_dtype(op.name(), "indices", indices, DType::i32);
  check_same_device(op.name(), z, indices);
  LVK_CHECK(z.rank() == 2 || z.rank() == 4, op.name(), ": z must be [N, C] or [B, C, H, W], got ", z.str());
  kernels::VqShape s;
  s.c = z.dim(1);
  s.k = k;
  s.hw = z.rank() == 4 ? z.dim(2) * z.dim(3) : 1;
  s.n = z.rank() == 4 ? z.dim(0) * s.hw : z.dim(0);
  LVK_CHECK(indices.numel() == s.n, op.name(), ": indices ", indices.str(), " must have one entry per row of z ",
            z.str(), " (", s.n, ")");
  LVK_CHECK(k >= 1, op.name(), ": K=", k, " must be >= 1");
  LVK_CHECK(s.c >= 1, op.name(), ": C must be >= 1, got ", z.str());
  if (indices.device().is_cpu()) {  // on the GPU this would cost a copy; indices from vq_quantize are valid
    const int32_t* idx = indices.data<int32_t>();
    for (int64_t i = 0; i < s.n; ++i)
      LVK_CHECK(idx[i] >= 0 && idx[i] < k, op.name(), ": index ", idx[i], " at row ", i, " is outside [0, K=", k, ")");
  }
  sums = Tensor::empty({k, s.c}, DType::f32, z.device());
  counts = Tensor::empty({k}, DType::i32, z.device());
  Tensor ws = scratch(grad_workspace(s, z.device()), z.device());
  LVK_DISPATCH(z.device(), vq_cluster_sums, sums.data<float>(), counts.data<int32_t>(), z.data<float>(),
               indices.data<int32_t>(), s, raw_or_null(ws));
}

}  // namespace lvk
