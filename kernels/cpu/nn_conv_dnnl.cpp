// The CPU convolutions on oneDNN (kernels/cpu/nn_conv_impls.h): its forward, backward-data and
// backward-weights convolution primitives, direct algorithm in FP32, built once per geometry and
// thread count and cached. The caller's tensors stay plain NCHW / OIHW; each primitive works in the
// blocked layouts oneDNN prefers for the shape, and reorders (built with the primitive) move the
// operands in and the result out. oneDNN runs on the same OpenMP runtime as lvk's own loops, and
// with a fixed thread count its kernels repeat their results bit for bit.
#include <array>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/nn_conv_impls.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lvk::kernels::cpu {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// The engine, created once; LVK_CPU_ISA caps oneDNN's instruction set as it caps lvk's kernels.
const dnnl::engine& engine() {
  static const dnnl::engine eng = [] {
    if (cpu_isa() == CpuIsa::avx2) dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
    if (cpu_isa() == CpuIsa::base) dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41);
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return eng;
}

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// One operand of a primitive: the caller's plain layout, the primitive's own, and the reorder
// between them (into the primitive's for an input, out of it for the output; absent where the
// layouts agree).
struct Operand {
  int arg;
  memory::desc user, want;
  dnnl::reorder reorder;

  Operand(int arg, const memory::desc& user, const memory::desc& want, bool input) : arg(arg), user(user), want(want) {
    if (user == want) return;
    const memory plain(user, engine()), own(want, engine());
    reorder = input ? dnnl::reorder(plain, own) : dnnl::reorder(own, plain);
  }

  // The caller's buffer as the primitive reads it: wrapped, or reordered into a fresh buffer.
  memory read(const float* p, dnnl::stream& stream) const {
    memory plain(user, engine(), const_cast<float*>(p));
    if (user == want) return plain;
    memory own(want, engine());
    reorder.execute(stream, plain, own);
    return own;
  }
};

// One primitive with two inputs and one output.
struct Step {
  dnnl::primitive prim;
  Operand a, b, out;
  memory::desc scratch;

  void run(float* result, const float* pa, const float* pb) const {
    dnnl::stream stream(engine());
    memory plain_out(out.user, engine(), result);
    memory own_out = out.user == out.want ? plain_out : memory(out.want, engine());
    prim.execute(stream, {{a.arg, a.read(pa, stream)},
                          {b.arg, b.read(pb, stream)},
                          {out.arg, own_out},
                          {DNNL_ARG_SCRATCHPAD, memory(scratch, engine())}});
    if (out.user != out.want) out.reorder.execute(stream, own_out, plain_out);
    stream.wait();
  }
};

struct Plan {
  Step forward, backward_data, backward_filter;
};

memory::desc plain(memory::dims dims, Tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}
memory::desc any(memory::dims dims) {  // oneDNN's choice
  return memory::desc(dims, memory::data_type::f32, Tag::any);
}

std::unique_ptr<Plan> make_plan(const ConvShape& s) {
  const memory::dims src{s.n, s.c, s.h, s.w}, wei{s.o, s.c, s.kh, s.kw}, dst{s.n, s.o, s.oh, s.ow};
  const memory::dims strides{s.sh, s.sw}, pad_l{s.ph, s.pw};
  // The right padding that gives exactly oh x ow outputs (rows the stride skips are dropped).
  const memory::dims pad_r{(s.oh - 1) * s.sh + s.kh - s.h - s.ph, (s.ow - 1) * s.sw + s.kw - s.w - s.pw};
  const auto x = plain(src, Tag::nchw), w = plain(wei, Tag::oihw), y = plain(dst, Tag::nchw);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto alg = dnnl::algorithm::convolution_direct;

  const dnnl::convolution_forward::primitive_desc fwd(
      {dnnl::prop_kind::forward_training, alg, any(src), any(wei), any(dst), strides, pad_l, pad_r}, attr, engine());
  // Blocked layouts pad the channels to the vector width: a gradient into an image of few
  // channels (the last transposed convolution of a decoder) runs several times faster on the
  // plain layouts.
  const bool plain_dx = s.c < 16;
  const dnnl::convolution_backward_data::primitive_desc bwd_data(
      {alg, plain_dx ? x : any(src), plain_dx ? w : any(wei), plain_dx ? y : any(dst), strides, pad_l, pad_r}, attr,
      engine(), fwd);
  const dnnl::convolution_backward_weights::primitive_desc bwd_filter(
      {alg, any(src), any(wei), any(dst), strides, pad_l, pad_r}, attr, engine(), fwd);

  return std::make_unique<Plan>(Plan{{fwd,
                                      {DNNL_ARG_SRC, x, fwd.src_desc(), true},
                                      {DNNL_ARG_WEIGHTS, w, fwd.weights_desc(), true},
                                      {DNNL_ARG_DST, y, fwd.dst_desc(), false},
                                      fwd.scratchpad_desc()},
                                     {bwd_data,
                                      {DNNL_ARG_DIFF_DST, y, bwd_data.diff_dst_desc(), true},
                                      {DNNL_ARG_WEIGHTS, w, bwd_data.weights_desc(), true},
                                      {DNNL_ARG_DIFF_SRC, x, bwd_data.diff_src_desc(), false},
                                      bwd_data.scratchpad_desc()},
                                     {bwd_filter,
                                      {DNNL_ARG_SRC, x, bwd_filter.src_desc(), true},
                                      {DNNL_ARG_DIFF_DST, y, bwd_filter.diff_dst_desc(), true},
                                      {DNNL_ARG_DIFF_WEIGHTS, w, bwd_filter.diff_weights_desc(), false},
                                      bwd_filter.scratchpad_desc()}});
}

// The plan of a geometry under the current OpenMP thread count (oneDNN fixes a primitive's
// partition of the work when it is created), built on first use; nullptr for a geometry oneDNN
// cannot run (an empty image, or no implementation), which the fallback then takes.
const Plan* plan_for(const ConvShape& s) {
  if (s.n == 0 || s.h == 0 || s.w == 0) return nullptr;
  using Key = std::array<index_t, 14>;
  engine();  // created before the cache, so that it outlives the primitives at exit
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Plan>> plans;
  const Key key{s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow, max_threads()};
  std::lock_guard<std::mutex> lock(mutex);
  const auto found = plans.find(key);
  if (found != plans.end()) return found->second.get();
  std::unique_ptr<Plan> plan;
  try {
    plan = make_plan(s);
  } catch (const dnnl::error&) {
    // Left null: this geometry runs on im2col + sgemm.
  }
  return plans.emplace(key, std::move(plan)).first->second.get();
}

void dnnl_forward(float* y, const float* x, const float* w, const ConvShape& s) {
  const Plan* plan = plan_for(s);
  plan ? plan->forward.run(y, x, w) : kConvIm2col.forward(y, x, w, s);
}

void dnnl_backward_data(float* dx, const float* dy, const float* w, const ConvShape& s) {
  const Plan* plan = plan_for(s);
  plan ? plan->backward_data.run(dx, dy, w) : kConvIm2col.backward_data(dx, dy, w, s);
}

void dnnl_backward_filter(float* dw, const float* x, const float* dy, const ConvShape& s) {
  const Plan* plan = plan_for(s);
  plan ? plan->backward_filter.run(dw, x, dy) : kConvIm2col.backward_filter(dw, x, dy, s);
}

}  // namespace

extern const ConvImpl kConvDnnl;
const ConvImpl kConvDnnl{"oneDNN", dnnl_forward, dnnl_backward_data, dnnl_backward_filter};

}  // namespace lvk::kernels::cpu
