// vq_quantize: the fused lookup against a naive double-precision brute force, the lowest-index
// rule on duplicate codes, odd sizes and NCHW input, CUDA against the CPU twin, the backward
// (straight-through and both losses) and bad inputs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "runtime/ops/basic.h"
#include "runtime/ops/vq.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

// Rows as double vectors, whatever the layout of z ([N, C] or [B, C, H, W]).
std::vector<std::vector<double>> rows_of(const Tensor& z) {
  const std::vector<float> v = z.to_vector<float>();
  const int64_t c = z.dim(1), hw = z.rank() == 4 ? z.dim(2) * z.dim(3) : 1;
  const int64_t n = z.rank() == 4 ? z.dim(0) * hw : z.dim(0);
  std::vector<std::vector<double>> rows(static_cast<size_t>(n), std::vector<double>(static_cast<size_t>(c)));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) rows[i][ch] = v[static_cast<size_t>((i / hw) * c * hw + ch * hw + i % hw)];
  return rows;
}

struct Oracle {
  std::vector<int32_t> best;      // lowest index among the exact minima
  std::vector<double> best_dist;  // ||z_i - e_best||^2
  std::vector<bool> clear;        // the runner-up is farther by more than the margin
};

// The relative margin under which two candidate distances count as a near-tie: fp32 scores
// ||e||^2 - 2 z.e carry rounding of a few ulp of ||z||^2 + ||e||^2, far below 1e-4 of it.
constexpr double kTieMargin = 1e-4;

Oracle brute_force(const Tensor& z, const Tensor& codebook) {
  const auto rows = rows_of(z), codes = rows_of(codebook);
  Oracle o;
  for (const auto& zr : rows) {
    double d1 = std::numeric_limits<double>::infinity(), d2 = d1, zn = 0.0;
    int32_t k1 = 0;
    for (double x : zr) zn += x * x;
    double scale = zn;
    for (size_t k = 0; k < codes.size(); ++k) {
      double d = 0.0, en = 0.0;
      for (size_t ch = 0; ch < zr.size(); ++ch)
        d += (zr[ch] - codes[k][ch]) * (zr[ch] - codes[k][ch]), en += codes[k][ch] * codes[k][ch];
      scale = std::max(scale, zn + en);
      if (d < d1) {
        d2 = d1, d1 = d, k1 = static_cast<int32_t>(k);
      } else if (d < d2) {
        d2 = d;
      }
    }
    o.best.push_back(k1);
    o.best_dist.push_back(d1);
    o.clear.push_back(d2 - d1 > kTieMargin * (scale + 1e-12));
  }
  return o;
}

// Checks the fused outputs against the oracle on every row without a near-tie; returns the
// number of such rows.
size_t expect_matches_oracle(const VqResult& r, const Tensor& z, const Tensor& codebook) {
  const Oracle o = brute_force(z, codebook);
  const std::vector<int32_t> idx = r.indices.to_vector<int32_t>();
  const std::vector<float> dist = r.distances.to_vector<float>();
  const auto zq_rows = rows_of(r.z_q);
  const auto codes = rows_of(codebook), zrows = rows_of(z);
  size_t checked = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= codebook.dim(0)) {
      ADD_FAILURE() << "row " << i << " index " << idx[i] << " out of range";
      return 0;
    }
    if (o.clear[i]) {
      ++checked;
      EXPECT_EQ(idx[i], o.best[i]) << "row " << i;
    }
    // Whatever code was chosen, z_q is exactly that code and the distance is to that code.
    EXPECT_EQ(zq_rows[i], codes[idx[i]]) << "row " << i;
    double d = 0.0;
    const auto& zr = zrows[i];
    for (size_t ch = 0; ch < zr.size(); ++ch) d += (zr[ch] - codes[idx[i]][ch]) * (zr[ch] - codes[idx[i]][ch]);
    EXPECT_NEAR(dist[i], d, 1e-5 + 1e-5 * d) << "row " << i;
  }
  std::vector<int32_t> hist(static_cast<size_t>(codebook.dim(0)), 0);
  for (int32_t k : idx) ++hist[static_cast<size_t>(k)];
  EXPECT_EQ(r.counts.to_vector<int32_t>(), hist);
  return checked;
}

VqOptions all_outputs() {
  VqOptions o;
  o.distances = o.counts = true;
  return o;
}

class VqLookup : public BackendTest {};

TEST_P(VqLookup, MatchesBruteForceOnOddSizes) {
  // 0, 1, tile-1, tile, tile+1 (CUDA tiles are 128 rows x 128 codes x 8 channels; CPU panels 16
  // codes x 48-row blocks), primes, and C not a multiple of the vector width.
  const int64_t shapes[][3] = {{1, 1, 1},   {2, 3, 1},      {127, 127, 7},   {128, 128, 8},  {129, 129, 9}, {47, 17, 5},
                               {49, 15, 4}, {131, 257, 13}, {300, 1000, 64}, {257, 131, 67}, {61, 521, 256}};
  uint32_t seed = 10;
  for (const auto& sh : shapes) {
    SCOPED_TRACE("N=" + std::to_string(sh[0]) + " K=" + std::to_string(sh[1]) + " C=" + std::to_string(sh[2]));
    const Tensor z = random_tensor({sh[0], sh[2]}, seed++, device());
    const Tensor e = random_tensor({sh[1], sh[2]}, seed++, device());
    const VqResult r = vq_quantize(z, e, all_outputs());
    const size_t checked = expect_matches_oracle(r, z, e);
    EXPECT_GE(checked, static_cast<size_t>(0.9 * sh[0])) << "too many near-ties: the test would prove little";
  }
}

TEST_P(VqLookup, LargestKAndWidestC) {
  // K = 65536 codes (the maximum; 512 CUDA code tiles, 2048 CPU panels) and C = 1024.
  const Tensor z = random_tensor({9, 4}, 15, device()), e = random_tensor({65536, 4}, 16, device());
  EXPECT_GE(expect_matches_oracle(vq_quantize(z, e, all_outputs()), z, e), 5u);
  const Tensor zw = random_tensor({6, 1024}, 17, device()), ew = random_tensor({3, 1024}, 18, device());
  EXPECT_EQ(expect_matches_oracle(vq_quantize(zw, ew, all_outputs()), zw, ew), 6u);
}

TEST_P(VqLookup, ReadsNchwInPlace) {
  const Tensor z = random_tensor({3, 11, 5, 7}, 21, device());  // N = 105 rows, C = 11
  const Tensor e = random_tensor({37, 11}, 22, device());
  const VqResult r = vq_quantize(z, e, all_outputs());
  EXPECT_EQ(r.indices.shape(), (Shape{3, 5, 7}));
  EXPECT_EQ(r.z_q.shape(), z.shape());
  EXPECT_GE(expect_matches_oracle(r, z, e), 95u);
  // Same answer as the explicitly transposed [N, C] rows.
  const auto rows = rows_of(z);
  std::vector<float> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  const VqResult rr = vq_quantize(Tensor::from_vector(flat, {105, 11}, device()), e, all_outputs());
  EXPECT_EQ(r.indices.to_vector<int32_t>(), rr.indices.to_vector<int32_t>());
}

TEST_P(VqLookup, DuplicateCodesResolveToLowestIndex) {
  // Codes 0..39 random; code 40 + j copies code j * 7 % 40 bit for bit, and the rows are the
  // codes themselves plus small noise: each duplicated code ties exactly with its copy.
  const int64_t k0 = 40, k = 200, c = 19;
  std::vector<float> e = random_values(static_cast<size_t>(k0 * c), 31);
  for (int64_t j = k0; j < k; ++j) {
    const int64_t src = (j * 7) % k0;
    e.insert(e.end(), e.begin() + src * c, e.begin() + (src + 1) * c);
  }
  const std::vector<float> noise = random_values(static_cast<size_t>(k0 * 3 * c), 32, -0.01f, 0.01f);
  std::vector<float> z(noise.size());
  for (size_t i = 0; i < z.size(); ++i) z[i] = e[(i / c) % k0 * c + i % c] + noise[i];
  const Tensor zt = Tensor::from_vector(z, {k0 * 3, c}, device());
  const VqResult r = vq_quantize(zt, Tensor::from_vector(e, {k, c}, device()));
  const std::vector<int32_t> idx = r.indices.to_vector<int32_t>();
  for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(idx[i], static_cast<int32_t>(i % k0)) << "row " << i;
}

TEST_P(VqLookup, EmptyInputIsANoOp) {
  const VqResult r =
      vq_quantize(Tensor::zeros({0, 4}, DType::f32, device()), random_tensor({5, 4}, 1, device()), all_outputs());
  EXPECT_EQ(r.indices.numel(), 0);
  EXPECT_EQ(r.counts.to_vector<int32_t>(), std::vector<int32_t>(5, 0));
  EXPECT_EQ(r.codebook_loss.item(), 0.0f);
}

// Beyond the op table (tests/backend_ops): the double-precision tie oracle decides which index
// differences are legitimate, over the layouts and tilings of the CUDA lookup.
TEST(VqCuda, LookupMatchesCpuTwin) {
  const Device dev = Device::cuda(0);
  LVK_SKIP_IF_UNUSABLE(dev);
  // Row-major with float4 loads / scalar loads, NCHW with and without C % 4 == 0; the first four
  // have few row tiles (code tiles split over slices), the last enough rows for one slice.
  const Shape shapes[] = {{1000, 64}, {777, 37}, {4, 64, 9, 11}, {3, 13, 7, 5}, {40000, 8}};
  uint32_t seed = 40;
  for (const Shape& zs : shapes) {
    SCOPED_TRACE(zs.str());
    const int64_t k = zs.rank() == 4 ? 300 : zs[0] > 10000 ? 130 : 1025;
    const Tensor z = random_tensor(zs, seed++, Device::cpu());
    const Tensor e = random_tensor({k, zs[1]}, seed++, Device::cpu());
    const VqResult cpu = vq_quantize(z, e, all_outputs());
    const VqResult gpu = vq_quantize(z.to(dev), e.to(dev), all_outputs());
    const Oracle o = brute_force(z, e);
    const auto ci = cpu.indices.to_vector<int32_t>(), gi = gpu.indices.to_vector<int32_t>();
    for (size_t i = 0; i < ci.size(); ++i) {
      if (o.clear[i]) {
        EXPECT_EQ(gi[i], ci[i]) << "row " << i;
      }
    }
    if (ci == gi) {
      EXPECT_TRUE(all_close(gpu.z_q, cpu.z_q, 0.0, 0.0));
      EXPECT_TRUE(all_close(gpu.distances, cpu.distances, 1e-5, 1e-5));
      EXPECT_EQ(gpu.counts.to_vector<int32_t>(), cpu.counts.to_vector<int32_t>());
      EXPECT_TRUE(all_close(gpu.codebook_loss, cpu.codebook_loss, 1e-6, 1e-5));
    }
  }
}

TEST_P(VqLookup, RejectsBadInputs) {
  const Tensor z = random_tensor({4, 8}, 1, device()), e = random_tensor({5, 8}, 2, device());
  auto expect_error = [](auto&& fn, std::initializer_list<const char*> parts) {
    try {
      fn();
      ADD_FAILURE() << "no lvk::Error thrown";
    } catch (const Error& err) {
      for (const char* p : parts) EXPECT_NE(std::string(err.what()).find(p), std::string::npos) << err.what();
    }
  };
  expect_error([&] { vq_quantize(z, random_tensor({5, 7}, 3, device())); }, {"vq_quantize", "C=7", "C=8"});
  expect_error([&] { vq_quantize(random_tensor({2, 4, 8}, 4, device()), e); }, {"vq_quantize", "[2, 4, 8]"});
  expect_error([&] { vq_quantize(Tensor::zeros({4, 8}, DType::i32, device()), e); }, {"vq_quantize", "i32"});
  expect_error([&] { vq_quantize(z, Tensor::zeros({0, 8}, DType::f32, device())); }, {"vq_quantize", "K >= 1"});
  VqOptions bad;
  bad.beta = -1.0f;
  expect_error([&] { vq_quantize(z, e, bad); }, {"vq_quantize", "beta=-1"});
}

// --- fast (BF16 shortlist + fp32 re-check) --------------------------------------------------------

// Checks the documented tolerance of the fast mode on every row: the chosen code k is the exact
// nearest k* or within 2^-7 ||z|| (||e_k|| + ||e_k*||) of it (plus fp32 slack). Returns the
// fraction of rows where fast and the exact argmin differ.
double expect_fast_within_tolerance(const Tensor& z, const Tensor& e, const std::vector<int32_t>& fast) {
  const auto rows = rows_of(z), codes = rows_of(e);
  size_t differ = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto dist = [&](size_t k) {
      double d = 0.0;
      for (size_t ch = 0; ch < rows[i].size(); ++ch) d += (rows[i][ch] - codes[k][ch]) * (rows[i][ch] - codes[k][ch]);
      return d;
    };
    auto norm = [](const std::vector<double>& v) {
      double a = 0.0;
      for (double x : v) a += x * x;
      return std::sqrt(a);
    };
    size_t best = 0;
    for (size_t k = 1; k < codes.size(); ++k)
      if (dist(k) < dist(best)) best = k;
    const size_t got = static_cast<size_t>(fast[i]);
    if (got == best) continue;
    ++differ;
    const double zn = norm(rows[i]), allowed = std::ldexp(zn * (norm(codes[got]) + norm(codes[best])), -7);
    EXPECT_LE(dist(got) - dist(best), allowed + 1e-5 * (zn * zn + 1.0))
        << "row " << i << ": fast chose " << got << ", nearest is " << best;
  }
  return rows.empty() ? 0.0 : static_cast<double>(differ) / static_cast<double>(rows.size());
}

TEST_P(VqLookup, FastModeIsExactUpToNearTies) {
  VqOptions fast = all_outputs();
  fast.precision = VqPrecision::fast;
  // Clustered data (rows near codes): every answer must be exact.
  {
    const int64_t k = 300, c = 48;
    const std::vector<float> e = random_values(static_cast<size_t>(k * c), 80);
    const std::vector<float> noise = random_values(static_cast<size_t>(700 * c), 81, -0.05f, 0.05f);
    std::vector<float> z(noise.size());
    for (size_t i = 0; i < z.size(); ++i) z[i] = e[(i / c * 37 % k) * c + i % c] + noise[i];
    const Tensor zt = Tensor::from_vector(z, {700, c}, device()), et = Tensor::from_vector(e, {k, c}, device());
    const VqResult r = vq_quantize(zt, et, fast);
    const auto idx = r.indices.to_vector<int32_t>();
    for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(idx[i], static_cast<int32_t>(i * 37 % k)) << "row " << i;
    EXPECT_EQ(expect_matches_oracle(r, zt, et), 700u);
  }
  // Uniform random data (many near-ties at C = 64): disagreements only within the tolerance.
  for (const Shape& zs : {Shape{500, 64}, Shape{2, 16, 9, 13}, Shape{129, 7}}) {
    const Tensor z = random_tensor(zs, 82, device());
    const Tensor e = random_tensor({257, zs[1]}, 83, device());
    const VqResult r = vq_quantize(z, e, fast);
    const double rate = expect_fast_within_tolerance(z, e, r.indices.to_vector<int32_t>());
    RecordProperty("disagreement_" + std::to_string(zs[1]), std::to_string(rate));
    EXPECT_LT(rate, 0.05) << "fast disagrees with fp32 on " << rate * 100 << "% of rows of " << zs.str();
  }
}

// Beyond the op table (tests/backend_ops): a disagreement rate, which an element-wise comparison
// cannot express, for the BF16 modes whose sums run in different orders.
TEST(VqCuda, FastModeMatchesCpuTwin) {
  const Device dev = Device::cuda(0);
  LVK_SKIP_IF_UNUSABLE(dev);
  VqOptions fast = all_outputs();
  fast.precision = VqPrecision::fast;
  for (const Shape& zs : {Shape{1000, 64}, Shape{333, 37}, Shape{3, 24, 11, 7}}) {
    SCOPED_TRACE(zs.str());
    const Tensor z = random_tensor(zs, 90, Device::cpu()), e = random_tensor({600, zs[1]}, 91, Device::cpu());
    const VqResult cpu = vq_quantize(z, e, fast), gpu = vq_quantize(z.to(dev), e.to(dev), fast);
    const Oracle o = brute_force(z, e);
    const auto ci = cpu.indices.to_vector<int32_t>(), gi = gpu.indices.to_vector<int32_t>();
    size_t same = 0;
    for (size_t i = 0; i < ci.size(); ++i) same += ci[i] == gi[i];
    // The twins sum the BF16 products in different orders, so only near-ties may differ.
    EXPECT_GE(same, static_cast<size_t>(0.97 * ci.size()));
    expect_fast_within_tolerance(z, e, gi);
  }
}

// --- backward ----------------------------------------------------------------------------------

// Rows near well-separated codes, so finite-difference steps never change an assignment.
struct GradData {
  Tensor z, e;
};
GradData grad_data(Device device, bool nchw) {
  const int64_t k = 6, c = 3;
  std::vector<float> e = random_values(static_cast<size_t>(k * c), 50, -3.0f, 3.0f);
  for (int64_t j = 0; j < k; ++j) e[j * c + j % c] += 6.0f * static_cast<float>(j % 2 ? 1 : -1);  // spread apart
  const int64_t n = 10;
  const std::vector<float> noise = random_values(static_cast<size_t>(n * c), 51, -0.5f, 0.5f);
  std::vector<float> rows(noise.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = e[(i / c) * 5 % k * c + i % c] + noise[i];
  GradData d;
  d.e = Tensor::from_vector(e, {k, c}, device);
  if (!nchw) {
    d.z = Tensor::from_vector(rows, {n, c}, device);
  } else {  // [2, 3, 5, 1]: row i = (b, h) with b = i / 5
    std::vector<float> img(rows.size());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) img[static_cast<size_t>((i / 5) * c * 5 + ch * 5 + i % 5)] = rows[i * c + ch];
    d.z = Tensor::from_vector(img, {2, c, 5, 1}, device);
  }
  return d;
}

class VqBackward : public BackendTest {};

TEST_P(VqBackward, CodebookLossGradient) {
  for (bool nchw : {false, true}) {
    const GradData d = grad_data(device(), nchw);
    GradCheckOptions opt;
    opt.check = {false, true};
    EXPECT_TRUE(check_gradients(
        [](const std::vector<Tensor>& in) { return scale(vq_quantize(in[0], in[1]).codebook_loss, 30.0f); }, {d.z, d.e},
        opt))
        << (nchw ? "nchw" : "rows");
  }
}

TEST_P(VqBackward, CommitmentLossGradient) {
  for (bool nchw : {false, true}) {
    const GradData d = grad_data(device(), nchw);
    GradCheckOptions opt;
    opt.check = {true, false};
    VqOptions vo;
    vo.beta = 0.7f;
    EXPECT_TRUE(check_gradients(
        [vo](const std::vector<Tensor>& in) { return scale(vq_quantize(in[0], in[1], vo).commitment_loss, 30.0f); },
        {d.z, d.e}, opt))
        << (nchw ? "nchw" : "rows");
  }
}

TEST_P(VqBackward, StraightThroughPassesGradientUnchanged) {
  // z_q is piecewise constant in z, so finite differences see 0; the estimator's contract is
  // dz = dz_q exactly. Check it through a recorded consumer: L = sum(w * z_q) + sum(z * z).
  const GradData d = grad_data(device(), true);
  Tensor z = d.z.clone();
  z.set_requires_grad(true);
  const Tensor w = random_tensor(z.shape(), 60, device());
  Tape tape;
  Tensor loss;
  {
    TapeRecording rec(tape);
    VqOptions vo;
    vo.losses = false;
    loss = add(sum(mul(vq_quantize(z, d.e, vo).z_q, w)), sum(mul(z, z)));
  }
  tape.backward(loss);
  const std::vector<float> g = z.grad().to_vector<float>(), wv = w.to_vector<float>(), zv = z.to_vector<float>();
  std::vector<double> expected(g.size());
  for (size_t i = 0; i < g.size(); ++i) expected[i] = wv[i] + 2.0 * zv[i];
  EXPECT_TRUE(all_close(g, expected, 1e-6, 1e-6));
}

// Beyond the op table (tests/backend_ops): a collapsed codebook (many rows per code) through the
// segmented sums, and a repeat run's codebook gradient bit for bit.
TEST(VqCuda, GradientsMatchCpuAndRepeat) {
  const Device dev = Device::cuda(0);
  LVK_SKIP_IF_UNUSABLE(dev);
  // Many rows per code (collapsed codebook) exercises the segmented sums.
  const Tensor z = random_tensor({5000, 33}, 70, Device::cpu());
  const Tensor e = random_tensor({17, 33}, 71, Device::cpu(), -0.2f, 0.2f);
  auto grads = [&](Device dev) {
    Tensor zd = z.to(dev), ed = e.to(dev);
    zd.set_requires_grad(true);
    ed.set_requires_grad(true);
    Tape tape;
    Tensor loss;
    {
      TapeRecording rec(tape);
      const VqResult r = vq_quantize(zd, ed);
      loss = add(r.codebook_loss, r.commitment_loss);
    }
    tape.backward(loss);
    return std::make_pair(zd.grad().to(Device::cpu()), ed.grad().to(Device::cpu()));
  };
  const auto cpu = grads(Device::cpu());
  const auto gpu = grads(dev), again = grads(dev);
  EXPECT_TRUE(all_close(gpu.first, cpu.first, 1e-7, 1e-5));
  EXPECT_TRUE(all_close(gpu.second, cpu.second, 1e-6, 1e-4));
  EXPECT_TRUE(all_close(again.second, gpu.second, 0.0, 0.0)) << "codebook gradient not run-to-run deterministic";
}

LVK_INSTANTIATE_BACKENDS(VqLookup);
LVK_INSTANTIATE_BACKENDS(VqBackward);

}  // namespace
}  // namespace lvk::test
