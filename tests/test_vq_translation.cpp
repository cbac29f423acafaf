// Translation invariance of the nearest-code lookup: the same common offset added to z and to the
// codebook must not change the answer. Each case is checked against a float64 brute force on the
// fp32 inputs, in both precision modes, for row-major and NCHW z, on every backend; the
// lowest-index rule for duplicate codes and the k-means path that reuses the lookup are checked
// at a large offset too. Without centring, offsets of 1e3 and more (spread 1) turn most answers
// wrong: ||z||^2 ~ C 1e6 leaves no significant digit of distances ~ C / 6.
#include <cmath>
#include <limits>

#include "runtime/ops/vq.h"
#include "runtime/ops/vq_learn.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

constexpr double kOffsets[] = {0.0, 1e2, 1e3, 1e4};
constexpr int64_t kN = 1000, kK = 256, kC = 32;

// The common offset: channel ch moves by offset * w_ch, w_ch in [0.5, 1.5] (a vector, not just a
// scalar shift). Values are rounded to fp32 after the shift; the oracle sees the rounded values.
std::vector<float> shifted(std::vector<float> v, int64_t c, double offset) {
  const std::vector<float> w = random_values(static_cast<size_t>(c), 7, 0.5f, 1.5f);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<double>(v[i]) + offset * w[i % c]);
  return v;
}

struct RowTruth {
  int32_t best = 0;        // lowest index among the exact minima
  double d1 = 0, d2 = 0;   // best and runner-up direct distances
  bool fast_clear = true;  // every other code clears the fast mode's BF16 bound (kernels/vq.h)
};

// Float64 brute force in the direct form sum (z - e)^2 on the fp32 values (row-major z [N, C]).
std::vector<RowTruth> brute_force(const std::vector<float>& z, const std::vector<float>& e, int64_t c) {
  const int64_t n = static_cast<int64_t>(z.size()) / c, k = static_cast<int64_t>(e.size()) / c;
  std::vector<double> mu(static_cast<size_t>(c), 0.0), enorm(static_cast<size_t>(k), 0.0);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t ch = 0; ch < c; ++ch) mu[ch] += e[j * c + ch] / static_cast<double>(k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t ch = 0; ch < c; ++ch) enorm[j] += (e[j * c + ch] - mu[ch]) * (e[j * c + ch] - mu[ch]);
  std::vector<RowTruth> out(static_cast<size_t>(n));
  std::vector<double> d(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    RowTruth& t = out[i];
    t.d1 = t.d2 = std::numeric_limits<double>::infinity();
    double zn = 0.0;
    for (int64_t ch = 0; ch < c; ++ch) zn += (z[i * c + ch] - mu[ch]) * (z[i * c + ch] - mu[ch]);
    for (int64_t j = 0; j < k; ++j) {
      double acc = 0.0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const double diff = static_cast<double>(z[i * c + ch]) - e[j * c + ch];
        acc += diff * diff;
      }
      d[j] = acc;
      if (acc < t.d1) {
        t.d2 = t.d1, t.d1 = acc, t.best = static_cast<int32_t>(j);
      } else if (acc < t.d2) {
        t.d2 = acc;
      }
    }
    for (int64_t j = 0; j < k; ++j)
      if (j != t.best &&
          d[j] - t.d1 <= std::ldexp(std::sqrt(zn) * (std::sqrt(enorm[j]) + std::sqrt(enorm[t.best])), -7))
        t.fast_clear = false;
  }
  return out;
}

// Row i of a row-major [N, C] matrix stored as NCHW [N / hw, C, hw, 1].
std::vector<float> to_nchw(const std::vector<float>& rows, int64_t c, int64_t hw) {
  std::vector<float> out(rows.size());
  const int64_t n = static_cast<int64_t>(rows.size()) / c;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) out[(i / hw) * c * hw + ch * hw + i % hw] = rows[i * c + ch];
  return out;
}

class VqTranslation : public BackendTest {};

// fp32: the index equals the oracle's wherever the runner-up is farther by more than 1e-4 of its
// distance. The lookup's rounding about the codebook mean is below 1e-5 of the distances here
// (kernels/vq.h gives the bound), so the margin holds at every offset; without centring it would
// have to grow with offset^2. fast: wherever every other code clears the documented BF16 bound.
TEST_P(VqTranslation, IndicesMatchFloat64BruteForceAtEveryOffset) {
  const std::vector<float> z0 = random_values(kN * kC, 101, 0.0f, 1.0f), e0 = random_values(kK * kC, 102, 0.0f, 1.0f);
  constexpr double kMargin = 1e-4;
  for (const VqPrecision precision : {VqPrecision::fp32, VqPrecision::fast}) {
    const bool fast = precision == VqPrecision::fast;
    for (const double offset : kOffsets) {
      for (const bool nchw : {false, true}) {
        SCOPED_TRACE(std::string(fast ? "fast" : "fp32") + " offset " + std::to_string(offset) +
                     (nchw ? " nchw" : " rows"));
        const std::vector<float> z = shifted(z0, kC, offset), e = shifted(e0, kC, offset);
        const std::vector<RowTruth> truth = brute_force(z, e, kC);
        const Tensor zt = nchw ? Tensor::from_vector(to_nchw(z, kC, 10), {kN / 10, kC, 10, 1}, device())
                               : Tensor::from_vector(z, {kN, kC}, device());
        VqOptions o;
        o.precision = precision;
        o.distances = true;
        const VqResult r = vq_quantize(zt, Tensor::from_vector(e, {kK, kC}, device()), o);
        const std::vector<int32_t> idx = r.indices.to_vector<int32_t>();
        const std::vector<float> dist = r.distances.to_vector<float>();
        size_t checked = 0, wrong = 0;
        for (size_t i = 0; i < idx.size(); ++i) {
          const RowTruth& t = truth[i];
          const bool clear = fast ? t.fast_clear : t.d2 - t.d1 > kMargin * t.d2;
          if (!clear) continue;
          ++checked;
          if (idx[i] == t.best) {
            EXPECT_NEAR(dist[i], t.d1, 1e-5 * (1.0 + t.d1)) << "row " << i;
          } else if (++wrong <= 5) {
            ADD_FAILURE() << "row " << i << ": got code " << idx[i] << ", nearest is " << t.best << " (d1 " << t.d1
                          << ", d2 " << t.d2 << ")";
          }
        }
        EXPECT_EQ(wrong, 0u) << "of " << checked << " rows clear of near-ties";
        RecordProperty(std::string(fast ? "fast" : "fp32") + "_checked_" + std::to_string(static_cast<int>(offset)) +
                           (nchw ? "_nchw" : ""),
                       static_cast<int>(checked));
        // The margins must leave most rows checked, or the test would prove little.
        EXPECT_GE(checked, static_cast<size_t>((fast ? 0.8 : 0.95) * kN));
      }
    }
  }
}

TEST_P(VqTranslation, DuplicateCodesResolveToLowestIndexAtLargeOffset) {
  // Codes 0..39 random; code 40 + j copies code (7 j) % 40 bit for bit, after the shift.
  const int64_t k0 = 40, k = 120, c = 19;
  std::vector<float> e = shifted(random_values(static_cast<size_t>(k0 * c), 31, 0.0f, 1.0f), c, 1e3);
  for (int64_t j = k0; j < k; ++j) {
    const int64_t src = (j * 7) % k0;
    e.insert(e.end(), e.begin() + src * c, e.begin() + (src + 1) * c);
  }
  const std::vector<float> noise = random_values(static_cast<size_t>(k0 * 3 * c), 32, -0.01f, 0.01f);
  std::vector<float> z(noise.size());
  for (size_t i = 0; i < z.size(); ++i) z[i] = e[(i / c) % k0 * c + i % c] + noise[i];
  for (const VqPrecision precision : {VqPrecision::fp32, VqPrecision::fast}) {
    VqOptions o;
    o.precision = precision;
    const VqResult r =
        vq_quantize(Tensor::from_vector(z, {k0 * 3, c}, device()), Tensor::from_vector(e, {k, c}, device()), o);
    const std::vector<int32_t> idx = r.indices.to_vector<int32_t>();
    for (size_t i = 0; i < idx.size(); ++i)
      EXPECT_EQ(idx[i], static_cast<int32_t>(i % k0))
          << (precision == VqPrecision::fast ? "fast" : "fp32") << " row " << i;
  }
}

TEST_P(VqTranslation, KmeansSeparatesCloseClustersAtLargeOffset) {
  // Four clusters 0.5 apart with noise 0.05, shifted by 1e4: Lloyd's assignments go through the
  // lookup, so every centre must still land on its cluster.
  const double centres[4][3] = {{0.5, 0, 0}, {0, 0.5, 0}, {0, 0, 0.5}, {0, 0, 0}};
  const int64_t per = 100, c = 3;
  const std::vector<float> noise = random_values(4 * per * c, 90, -0.05f, 0.05f);
  std::vector<float> rows;
  for (int64_t i = 0; i < 4 * per; ++i)
    for (int64_t ch = 0; ch < c; ++ch) rows.push_back(static_cast<float>(centres[i % 4][ch]) + noise[i * c + ch]);
  const double offset = 1e4;
  VqKmeansOptions o;
  o.seed = 3;
  const std::vector<float> cb =
      vq_kmeans(Tensor::from_vector(shifted(rows, c, offset), {4 * per, c}, device()), 4, o).to_vector<float>();
  const std::vector<float> w = random_values(static_cast<size_t>(c), 7, 0.5f, 1.5f);  // as in shifted()
  for (const auto& want : centres) {
    double best = 1e9;
    for (int j = 0; j < 4; ++j) {
      double d = 0.0;
      for (int ch = 0; ch < 3; ++ch) {
        const double diff = cb[j * 3 + ch] - (want[ch] + offset * w[ch]);
        d += diff * diff;
      }
      best = std::min(best, d);
    }
    EXPECT_LT(best, 0.1 * 0.1) << "no centre near (" << want[0] << ", " << want[1] << ", " << want[2] << ") + offset";
  }
}

LVK_INSTANTIATE_BACKENDS(VqTranslation);

}  // namespace
}  // namespace lvk::test
