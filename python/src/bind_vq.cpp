// Vector quantization: the fused lookup (recordable), codebook learning and statistics.
// Python-facing documentation (shapes, dtypes) lives in lvk/vq.py, which wraps these.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "options.h"
#include "recording.h"
#include "runtime/ops/vq.h"
#include "runtime/ops/vq_learn.h"

namespace lvkpy {

using lvk::DType;
using lvk::Tensor;
using Stream = std::optional<uintptr_t>;

namespace {

nb::object quantize(nb::handle z_in, nb::handle codebook_in, const std::string& mode, bool cosine, float beta,
                    const std::string& nonfinite, bool record, Stream stream) {
  const char* fn = "lvk.quantize";
  Tensor z = borrow(fn, "z", z_in, DType::f32), codebook = borrow(fn, "codebook", codebook_in, DType::f32);
  CallerStream on(common_device(fn, {z, codebook}), stream);
  lvk::VqOptions o;
  o.distances = o.counts = true;
  o.beta = beta;
  o.cosine = cosine;
  o.precision = parse_mode(fn, mode);
  o.nonfinite = parse_nonfinite(fn, nonfinite);
  return maybe_recorded(record, fn, {&z, &codebook}, [&] {
    lvk::VqResult r = lvk::vq_quantize(z, codebook, o);
    nb::dict d;
    d["indices"] = to_array(r.indices);
    d["quantized"] = to_array(r.z_q);
    d["distances"] = to_array(r.distances);
    d["counts"] = to_array(r.counts);
    d["codebook_loss"] = to_array(r.codebook_loss);
    d["commitment_loss"] = to_array(r.commitment_loss);
    return std::make_pair(std::vector<Tensor>{r.z_q, r.codebook_loss, r.commitment_loss}, nb::object(d));
  });
}

nb::object residual_quantize(nb::handle z_in, const std::vector<nb::object>& codebooks_in, const std::string& mode,
                             bool cosine, float beta, bool record, Stream stream) {
  const char* fn = "lvk.residual_quantize";
  Tensor z = borrow(fn, "z", z_in, DType::f32);
  std::vector<Tensor> codebooks;
  for (size_t l = 0; l < codebooks_in.size(); ++l)
    codebooks.push_back(borrow(fn, ("codebooks[" + std::to_string(l) + "]").c_str(), codebooks_in[l], DType::f32));
  if (codebooks.empty()) throw nb::value_error("lvk.residual_quantize: codebooks must hold at least one codebook");
  for (const Tensor& c : codebooks) common_device(fn, {z, c});
  CallerStream on(z.device(), stream);
  lvk::VqOptions o;
  o.beta = beta;
  o.cosine = cosine;
  o.precision = parse_mode(fn, mode);
  std::vector<Tensor*> inputs{&z};
  for (Tensor& c : codebooks) inputs.push_back(&c);
  return maybe_recorded(record, fn, inputs, [&] {
    lvk::ResidualVqResult r = lvk::vq_residual(z, codebooks, o);
    nb::list indices;
    for (const Tensor& i : r.indices) indices.append(to_array(i));
    nb::dict d;
    d["quantized"] = to_array(r.z_q);
    d["indices"] = indices;
    d["codebook_loss"] = to_array(r.codebook_loss);
    d["commitment_loss"] = to_array(r.commitment_loss);
    return std::make_pair(std::vector<Tensor>{r.z_q, r.codebook_loss, r.commitment_loss}, nb::object(d));
  });
}

nb::object l2_normalize(nb::handle x_in, bool record, Stream stream) {
  const char* fn = "lvk.l2_normalize";
  Tensor x = borrow(fn, "x", x_in, DType::f32);
  CallerStream on(x.device(), stream);
  return maybe_recorded(record, fn, {&x}, [&] {
    Tensor y = lvk::l2_normalize_rows(x);
    return std::make_pair(std::vector<Tensor>{y}, to_array(y));
  });
}

nb::tuple cluster_sums(nb::handle z_in, nb::handle indices_in, int64_t k, Stream stream) {
  const char* fn = "lvk.cluster_sums";
  Tensor z = borrow(fn, "z", z_in, DType::f32), indices = borrow(fn, "indices", indices_in, DType::i32);
  const lvk::Device device = common_device(fn, {z, indices});
  CallerStream on(device, stream);
  if (k < 1) throw nb::value_error(("lvk.cluster_sums: k=" + std::to_string(k) + " must be >= 1").c_str());
  const int64_t c = z.rank() >= 2 ? z.dim(1) : 0;
  Tensor sums = Tensor::empty({k, c}, DType::f32, device), counts = Tensor::empty({k}, DType::i32, device);
  lvk::vq_cluster_sums(sums, counts, z, indices, k);
  return nb::make_tuple(to_array(sums), to_array(counts));
}

// The caller's arrays are the state: updated in place, nothing copied.
lvk::VqEmaState ema_state(const char* fn, nb::handle codebook, nb::handle ema_count, nb::handle ema_sum,
                          int64_t steps) {
  lvk::VqEmaState s{borrow(fn, "codebook", codebook, DType::f32), borrow(fn, "ema_count", ema_count, DType::f32),
                    borrow(fn, "ema_sum", ema_sum, DType::f32), steps};
  common_device(fn, {s.codebook, s.ema_count, s.ema_sum});
  if (s.ema_count.shape() != lvk::Shape{s.codebook.dim(0)} || s.ema_sum.shape() != s.codebook.shape())
    throw nb::value_error((std::string(fn) + ": ema_count must be [K] and ema_sum [K, C] for codebook " +
                           s.codebook.shape().str() + ", got " + s.ema_count.shape().str() + " and " +
                           s.ema_sum.shape().str())
                              .c_str());
  return s;
}

int64_t ema_update(nb::handle codebook, nb::handle ema_count, nb::handle ema_sum, nb::handle z_in,
                   nb::handle indices_in, int64_t step, float decay, float eps, bool bias_correction, Stream stream) {
  const char* fn = "lvk.ema_update";
  if (step < 0) throw nb::value_error(("lvk.ema_update: step=" + std::to_string(step) + " must be >= 0").c_str());
  lvk::VqEmaState s = ema_state(fn, codebook, ema_count, ema_sum, step);
  Tensor z = borrow(fn, "z", z_in, DType::f32), indices = borrow(fn, "indices", indices_in, DType::i32);
  CallerStream on(common_device(fn, {s.codebook, z, indices}), stream);
  lvk::VqEmaOptions o;
  o.decay = decay;
  o.eps = eps;
  o.bias_correction = bias_correction;
  lvk::vq_ema_update(s, z, indices, o);
  return s.steps;
}

int64_t restart_dead_codes(nb::handle codebook_in, nb::handle usage_in, nb::handle z_in, float threshold, uint64_t seed,
                           uint64_t offset, Stream stream) {
  const char* fn = "lvk.restart_dead_codes";
  Tensor codebook = borrow(fn, "codebook", codebook_in, DType::f32);
  Tensor usage = borrow(fn, "usage", usage_in, DType::f32), z = borrow(fn, "z", z_in, DType::f32);
  CallerStream on(common_device(fn, {codebook, usage, z}), stream);
  return lvk::vq_restart_dead_codes(codebook, usage, z, threshold, seed, offset);
}

int64_t restart_dead_codes_ema(nb::handle codebook, nb::handle ema_count, nb::handle ema_sum, nb::handle z_in,
                               float threshold, uint64_t seed, uint64_t offset, Stream stream) {
  const char* fn = "lvk.restart_dead_codes_ema";
  lvk::VqEmaState s = ema_state(fn, codebook, ema_count, ema_sum, 0);
  Tensor z = borrow(fn, "z", z_in, DType::f32);
  CallerStream on(common_device(fn, {s.codebook, z}), stream);
  return lvk::vq_restart_dead_codes(s, z, threshold, seed, offset);
}

nb::object kmeans(nb::handle z_in, int64_t k, int iterations, bool plus_plus, uint64_t seed, uint64_t offset,
                  Stream stream) {
  const char* fn = "lvk.kmeans";
  Tensor z = borrow(fn, "z", z_in, DType::f32);
  CallerStream on(z.device(), stream);
  lvk::VqKmeansOptions o;
  o.iterations = iterations;
  o.plus_plus = plus_plus;
  o.seed = seed;
  o.offset = offset;
  return to_array(lvk::vq_kmeans(z, k, o));
}

nb::dict code_stats(nb::handle counts_in) {
  Tensor counts = borrow("lvk.code_stats", "counts", counts_in, DType::i32);
  lvk::VqStats st = lvk::vq_stats(counts);
  nb::dict d;
  d["perplexity"] = st.perplexity;
  d["used_fraction"] = st.used_fraction;
  return d;
}

}  // namespace

void bind_vq(nb::module_& m) {
  using nb::arg;
  const auto stream = arg("stream") = nb::none();
  m.def("quantize", &quantize, arg("z"), arg("codebook"), arg("mode"), arg("cosine"), arg("beta"), arg("nonfinite"),
        arg("record"), stream);
  m.def("residual_quantize", &residual_quantize, arg("z"), arg("codebooks"), arg("mode"), arg("cosine"), arg("beta"),
        arg("record"), stream);
  m.def("l2_normalize", &l2_normalize, arg("x"), arg("record"), stream);
  m.def("cluster_sums", &cluster_sums, arg("z"), arg("indices"), arg("k"), stream);
  m.def("ema_update", &ema_update, arg("codebook"), arg("ema_count"), arg("ema_sum"), arg("z"), arg("indices"),
        arg("step"), arg("decay"), arg("eps"), arg("bias_correction"), stream);
  m.def("restart_dead_codes", &restart_dead_codes, arg("codebook"), arg("usage"), arg("z"), arg("threshold"),
        arg("seed"), arg("offset"), stream);
  m.def("restart_dead_codes_ema", &restart_dead_codes_ema, arg("codebook"), arg("ema_count"), arg("ema_sum"), arg("z"),
        arg("threshold"), arg("seed"), arg("offset"), stream);
  m.def("kmeans", &kmeans, arg("z"), arg("k"), arg("iterations"), arg("plus_plus"), arg("seed"), arg("offset"), stream);
  m.def("code_stats", &code_stats, arg("counts"));
}

}  // namespace lvkpy
