// The CPU convolution implementations (kernels/cpu/nn_conv_impls.h), each primitive on its own:
// oneDNN and im2col + sgemm against a direct convolution in double on awkward geometries (odd
// sizes, stride 2, padding wider than half the kernel, 1x1, the 4x4 stride-2 kernel of the
// decoders' transposed convolutions with and without an output padding, non-square kernels, batch
// 1, one and three channels), and oneDNN against im2col. Results must repeat bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/nn_conv_impls.h"
#include "tests/harness.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lvk::test {
namespace {

using kernels::ConvShape;
using kernels::index_t;
using kernels::cpu::ConvImpl;

struct Geometry {
  index_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
};

ConvShape shape_of(const Geometry& g) {
  ConvShape s{g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, 0, 0};
  s.oh = (s.h + 2 * s.ph - s.kh) / s.sh + 1;
  s.ow = (s.w + 2 * s.pw - s.kw) / s.sw + 1;
  return s;
}

std::string describe(const ConvShape& s) {
  std::ostringstream os;
  os << "x [" << s.n << ", " << s.c << ", " << s.h << ", " << s.w << "], w [" << s.o << ", " << s.c << ", " << s.kh
     << ", " << s.kw << "], stride (" << s.sh << ", " << s.sw << "), pad (" << s.ph << ", " << s.pw << ") -> [" << s.oh
     << ", " << s.ow << "]";
  return os.str();
}

// A reference result and, per element, the sum of the absolute values of its terms: the scale
// that float rounding errors are relative to.
struct Reference {
  std::vector<double> value, magnitude;
};

// Calls f(out index into y, x index, w index) for every term of the forward convolution.
template <class F>
void for_each_term(const ConvShape& s, F f) {
  for (index_t i = 0; i < s.n; ++i)
    for (index_t o = 0; o < s.o; ++o)
      for (index_t oy = 0; oy < s.oh; ++oy)
        for (index_t ox = 0; ox < s.ow; ++ox)
          for (index_t c = 0; c < s.c; ++c)
            for (index_t ky = 0; ky < s.kh; ++ky)
              for (index_t kx = 0; kx < s.kw; ++kx) {
                const index_t iy = oy * s.sh - s.ph + ky, ix = ox * s.sw - s.pw + kx;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                f(((i * s.o + o) * s.oh + oy) * s.ow + ox, ((i * s.c + c) * s.h + iy) * s.w + ix,
                  ((o * s.c + c) * s.kh + ky) * s.kw + kx);
              }
}

// out[pick(y, x, w)] += a[..] * b[..] over every term; `a_of` and `b_of` choose the operands.
template <class Pick, class A, class B>
Reference reference(size_t size, const ConvShape& s, Pick pick, A a_of, B b_of) {
  Reference r{std::vector<double>(size, 0.0), std::vector<double>(size, 0.0)};
  for_each_term(s, [&](index_t yi, index_t xi, index_t wi) {
    const double term = double(a_of(yi, xi, wi)) * double(b_of(yi, xi, wi));
    r.value[pick(yi, xi, wi)] += term;
    r.magnitude[pick(yi, xi, wi)] += std::fabs(term);
  });
  return r;
}

::testing::AssertionResult matches(const std::vector<float>& actual, const Reference& ref, const char* what) {
  double worst = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double excess = std::fabs(actual[i] - ref.value[i]) - (1e-5 * ref.magnitude[i] + 1e-7);
    if (excess > worst) worst = excess, worst_at = i;
  }
  if (worst == 0.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << "[" << worst_at << "] = " << actual[worst_at] << ", expected "
                                       << ref.value[worst_at] << " (term magnitude " << ref.magnitude[worst_at] << ")";
}

struct Operands {
  std::vector<float> x, w, dy;
};

Operands operands(const ConvShape& s, uint32_t seed) {
  return {random_values(size_t(s.n * s.c * s.h * s.w), seed), random_values(size_t(s.o * s.c * s.kh * s.kw), seed + 1),
          random_values(size_t(s.n * s.o * s.oh * s.ow), seed + 2)};
}

// Output buffers start as NaN: every primitive must write (not accumulate into) its whole output.
std::vector<float> poisoned(index_t n) {
  return std::vector<float>(size_t(n), std::nanf(""));
}

struct Results {
  std::vector<float> y, dx, dw;
};

Results run_all(const ConvImpl& impl, const ConvShape& s, const Operands& in) {
  Results r{poisoned(s.n * s.o * s.oh * s.ow), poisoned(s.n * s.c * s.h * s.w), poisoned(s.o * s.c * s.kh * s.kw)};
  impl.forward(r.y.data(), in.x.data(), in.w.data(), s);
  impl.backward_data(r.dx.data(), in.dy.data(), in.w.data(), s);
  impl.backward_filter(r.dw.data(), in.x.data(), in.dy.data(), s);
  return r;
}

const std::vector<Geometry> kGeometries = {
    // n  c   h   w   o  kh kw sh sw ph pw
    {1, 1, 7, 9, 3, 3, 3, 2, 2, 1, 1},      // batch 1, one channel, stride 2, odd sizes
    {2, 3, 8, 8, 5, 1, 1, 1, 1, 0, 0},      // 1x1, three channels
    {3, 16, 14, 14, 1, 4, 4, 2, 2, 1, 1},   // a decoder's last transposed convolution, seen from its adjoint
    {2, 1, 15, 13, 16, 4, 4, 2, 2, 1, 1},   // ... with an output padding (rows the stride skips)
    {2, 20, 5, 6, 17, 3, 3, 1, 1, 2, 2},    // padding wider than half the kernel, channels not a multiple of 16
    {4, 64, 7, 7, 32, 3, 3, 1, 1, 1, 1},    // a residual block's 3x3
    {2, 32, 14, 14, 64, 4, 4, 2, 2, 1, 1},  // an encoder's downsampling
    {1, 3, 5, 5, 2, 5, 5, 3, 3, 0, 0},      // the kernel covers the image
    {2, 4, 9, 6, 3, 3, 1, 2, 1, 1, 0},      // non-square kernel, stride and padding
};

std::vector<const ConvImpl*> implementations() {
  std::vector<const ConvImpl*> impls{&kernels::cpu::kConvIm2col};
  if (kernels::cpu::conv_dnnl() != nullptr) impls.push_back(kernels::cpu::conv_dnnl());
  return impls;
}

TEST(ConvCpuImpls, EachPrimitiveMatchesDirectConvolutionInDouble) {
  uint32_t seed = 900;
  for (const Geometry& g : kGeometries) {
    const ConvShape s = shape_of(g);
    const Operands in = operands(s, seed += 3);
    const auto x_of = [&](index_t, index_t xi, index_t) { return in.x[xi]; };
    const auto w_of = [&](index_t, index_t, index_t wi) { return in.w[wi]; };
    const auto dy_of = [&](index_t yi, index_t, index_t) { return in.dy[yi]; };
    const Reference y = reference(
        in.dy.size(), s, [](index_t yi, index_t, index_t) { return yi; }, x_of, w_of);
    const Reference dx = reference(
        in.x.size(), s, [](index_t, index_t xi, index_t) { return xi; }, dy_of, w_of);
    const Reference dw = reference(
        in.w.size(), s, [](index_t, index_t, index_t wi) { return wi; }, dy_of, x_of);
    for (const ConvImpl* impl : implementations()) {
      SCOPED_TRACE(std::string(impl->name) + ": " + describe(s));
      const Results r = run_all(*impl, s, in);
      EXPECT_TRUE(matches(r.y, y, "y"));
      EXPECT_TRUE(matches(r.dx, dx, "dx"));
      EXPECT_TRUE(matches(r.dw, dw, "dw"));
    }
  }
}

TEST(ConvCpuImpls, OneDnnAgreesWithIm2colAndRepeatsBitForBit) {
  const ConvImpl* dnnl = kernels::cpu::conv_dnnl();
  if (dnnl == nullptr) GTEST_SKIP() << "built without oneDNN (libdnnl-dev): the im2col path is the only one";
  uint32_t seed = 1900;
  for (const Geometry& g : kGeometries) {
    const ConvShape s = shape_of(g);
    SCOPED_TRACE(describe(s));
    const Operands in = operands(s, seed += 3);
    const Results ours = run_all(*dnnl, s, in), again = run_all(*dnnl, s, in);
    const Results im2col = run_all(kernels::cpu::kConvIm2col, s, in);
    EXPECT_EQ(ours.y, again.y);
    EXPECT_EQ(ours.dx, again.dx);
    EXPECT_EQ(ours.dw, again.dw);
    EXPECT_TRUE(all_close_f32(ours.y, im2col.y, 1e-5, 1e-4));
    EXPECT_TRUE(all_close_f32(ours.dx, im2col.dx, 1e-5, 1e-4));
    EXPECT_TRUE(all_close_f32(ours.dw, im2col.dw, 1e-5, 1e-4));
  }
}

#ifdef _OPENMP
// A geometry first planned under one thread count is planned again under another (oneDNN fixes a
// primitive's split of the work when it builds it); each count repeats its own results.
TEST(ConvCpuImpls, OneDnnFollowsTheOpenMpThreadCount) {
  const ConvImpl* dnnl = kernels::cpu::conv_dnnl();
  if (dnnl == nullptr) GTEST_SKIP() << "built without oneDNN (libdnnl-dev)";
  const ConvShape s = shape_of({8, 32, 14, 14, 64, 4, 4, 2, 2, 1, 1});
  const Operands in = operands(s, 2900);
  const int threads = omp_get_max_threads();
  std::vector<Results> runs;
  for (int t : {2, 1, 2, 1}) {
    omp_set_num_threads(t);
    runs.push_back(run_all(*dnnl, s, in));
  }
  omp_set_num_threads(threads);
  for (int k : {0, 1}) {
    EXPECT_EQ(runs[k].y, runs[k + 2].y);
    EXPECT_EQ(runs[k].dx, runs[k + 2].dx);
    EXPECT_EQ(runs[k].dw, runs[k + 2].dw);
  }
  EXPECT_TRUE(all_close_f32(runs[0].dw, runs[1].dw, 1e-5, 1e-4));
}
#endif

TEST(ConvCpuImpls, TheCpuPrimitivesUseTheSelectedImplementation) {
  const char* want = std::getenv("LVK_CPU_CONV");
  const bool im2col = want != nullptr && std::string(want) == "im2col";
  const ConvImpl* expected =
      im2col || kernels::cpu::conv_dnnl() == nullptr ? &kernels::cpu::kConvIm2col : kernels::cpu::conv_dnnl();
  EXPECT_EQ(&kernels::cpu::conv_impl(), expected) << "uses " << kernels::cpu::conv_impl().name;
  // And cpu::conv_forward goes there: bit for bit the selected implementation's result.
  const ConvShape s = shape_of({2, 3, 9, 9, 16, 4, 4, 2, 2, 1, 1});
  const Operands in = operands(s, 3900);
  std::vector<float> direct = poisoned(s.n * s.o * s.oh * s.ow), through = direct;
  expected->forward(direct.data(), in.x.data(), in.w.data(), s);
  kernels::cpu::conv_forward(through.data(), in.x.data(), in.w.data(), s);
  EXPECT_EQ(direct, through);
}

}  // namespace
}  // namespace lvk::test
