// The stochastic latent layers and the coupling flow: Gumbel-softmax, Gaussian sampling and
// density, affine coupling. Each is recordable. Python-facing docs: lvk/latent.py.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "recording.h"
#include "runtime/ops/coupling.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/gumbel.h"

namespace lvkpy {

using lvk::DType;
using lvk::Tensor;
using Stream = std::optional<uintptr_t>;

namespace {

nb::object gumbel_softmax(nb::handle logits_in, float tau, bool hard, uint64_t seed, uint64_t offset, bool record,
                          Stream stream) {
  const char* fn = "lvk.gumbel_softmax";
  Tensor logits = borrow(fn, "logits", logits_in, DType::f32);
  CallerStream on(logits.device(), stream);
  lvk::GumbelSoftmaxOptions o;
  o.tau = tau;
  o.hard = hard;
  o.seed = seed;
  o.offset = offset;
  return maybe_recorded(record, fn, {&logits}, [&] {
    lvk::GumbelSoftmaxResult r = lvk::gumbel_softmax(logits, o);
    nb::dict d;
    d["y"] = to_array(r.y);
    d["index"] = to_array(r.index);
    d["kl"] = to_array(r.kl);
    return std::make_pair(std::vector<Tensor>{r.y, r.kl}, nb::object(d));
  });
}

nb::object gaussian_sample(nb::handle mu_in, nb::handle logvar_in, int64_t samples, uint64_t seed, uint64_t offset,
                           bool record, Stream stream) {
  const char* fn = "lvk.gaussian_sample";
  Tensor mu = borrow(fn, "mu", mu_in, DType::f32), logvar = borrow(fn, "logvar", logvar_in, DType::f32);
  CallerStream on(common_device(fn, {mu, logvar}), stream);
  if (samples < 0)
    throw nb::value_error(("lvk.gaussian_sample: samples=" + std::to_string(samples) + " must be >= 0").c_str());
  lvk::GaussianSampleOptions o;
  o.samples = samples;
  o.seed = seed;
  o.offset = offset;
  return maybe_recorded(record, fn, {&mu, &logvar}, [&] {
    lvk::GaussianSampleResult r = lvk::gaussian_sample(mu, logvar, o);
    nb::dict d;
    d["z"] = to_array(r.z);
    d["kl"] = to_array(r.kl);
    d["log_q"] = to_array(r.log_q);
    return std::make_pair(std::vector<Tensor>{r.z, r.kl, r.log_q}, nb::object(d));
  });
}

nb::object gaussian_log_density(nb::handle z_in, nb::handle mu_in, nb::handle logvar_in, bool record, Stream stream) {
  const char* fn = "lvk.gaussian_log_density";
  Tensor z = borrow(fn, "z", z_in, DType::f32), mu = borrow(fn, "mu", mu_in, DType::f32);
  Tensor logvar = borrow(fn, "logvar", logvar_in, DType::f32);
  CallerStream on(common_device(fn, {z, mu, logvar}), stream);
  return maybe_recorded(record, fn, {&z, &mu, &logvar}, [&] {
    Tensor lp = lvk::gaussian_log_density(z, mu, logvar);
    return std::make_pair(std::vector<Tensor>{lp}, to_array(lp));
  });
}

nb::object coupling(nb::handle x_in, nb::handle mask_in, nb::handle s_raw_in, nb::handle t_in, float scale,
                    bool inverse, bool record, Stream stream) {
  const char* fn = inverse ? "lvk.coupling_inverse" : "lvk.coupling_forward";
  Tensor x = borrow(fn, inverse ? "y" : "x", x_in, DType::f32), mask = borrow(fn, "mask", mask_in, DType::f32);
  Tensor s_raw = borrow(fn, "s_raw", s_raw_in, DType::f32), t = borrow(fn, "t", t_in, DType::f32);
  CallerStream on(common_device(fn, {x, mask, s_raw, t}), stream);
  return maybe_recorded(record, fn, {&x, &s_raw, &t}, [&] {
    lvk::CouplingResult r =
        inverse ? lvk::coupling_inverse(x, mask, s_raw, t, scale) : lvk::coupling_forward(x, mask, s_raw, t, scale);
    nb::dict d;
    d["out"] = to_array(r.out);
    d["logdet"] = to_array(r.logdet);
    return std::make_pair(std::vector<Tensor>{r.out, r.logdet}, nb::object(d));
  });
}

nb::object coupling_mask(const std::string& kind, const std::vector<int64_t>& features, bool flip) {
  const char* fn = "lvk.coupling_mask";
  lvk::MaskKind k;
  if (kind == "alternating")
    k = lvk::MaskKind::alternating;
  else if (kind == "half")
    k = lvk::MaskKind::half;
  else if (kind == "checkerboard")
    k = lvk::MaskKind::checkerboard;
  else if (kind == "channel")
    k = lvk::MaskKind::channel;
  else
    throw nb::value_error(
        (std::string(fn) + ": kind must be 'alternating', 'half', 'checkerboard' or 'channel', got '" + kind + "'")
            .c_str());
  if (features.empty() || features.size() > size_t(lvk::Shape::kMaxRank))
    throw nb::value_error("lvk.coupling_mask: features must list 1 to 5 extents ([D] or [C, H, W])");
  return to_array(lvk::coupling_mask(k, lvk::Shape(features), flip));
}

}  // namespace

void bind_latent(nb::module_& m) {
  using nb::arg;
  const auto stream = arg("stream") = nb::none();
  m.def("gumbel_softmax", &gumbel_softmax, arg("logits"), arg("tau"), arg("hard"), arg("seed"), arg("offset"),
        arg("record"), stream);
  m.def("gaussian_sample", &gaussian_sample, arg("mu"), arg("logvar"), arg("samples"), arg("seed"), arg("offset"),
        arg("record"), stream);
  m.def("gaussian_log_density", &gaussian_log_density, arg("z"), arg("mu"), arg("logvar"), arg("record"), stream);
  m.def("coupling", &coupling, arg("x"), arg("mask"), arg("s_raw"), arg("t"), arg("scale"), arg("inverse"),
        arg("record"), stream);
  m.def("coupling_mask", &coupling_mask, arg("kind"), arg("features"), arg("flip"));
}

}  // namespace lvkpy
