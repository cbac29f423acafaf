// Values a user can get wrong: option JSON that is fractional, out of range or non-finite, sizes
// that cannot fit in memory, and rows of z with NaN or Inf given to the VQ ops.
#include <cmath>
#include <limits>

#include "models/json_options.h"
#include "runtime/memory_budget.h"
#include "runtime/ops/vq.h"
#include "runtime/ops/vq_learn.h"
#include "runtime/tape.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

using json = nlohmann::json;

TEST(StrictOptions, IntegersMustBeIntegralAndFit) {
  int64_t i64 = 7;
  int32_t i32 = 7;
  uint64_t u64 = 7;
  EXPECT_LVK_ERROR(read_option("vqvae", json{{"codes", 3.5}}, "codes", i64), "vqvae: codes=3.5 is not an integer");
  EXPECT_LVK_ERROR(read_option("vqvae", json{{"codes", 1e30}}, "codes", i64), "codes=1e+30 is out of range");
  EXPECT_LVK_ERROR(read_option("o", json{{"k", 3000000000LL}}, "k", i32), "k=3000000000 is out of range");
  EXPECT_LVK_ERROR(read_option("o", json{{"seed", -1}}, "seed", u64), "seed=-1 is out of range");
  EXPECT_LVK_ERROR(read_option("o", json{{"k", true}}, "k", i64), "wrong type");
  EXPECT_LVK_ERROR(read_option("o", json{{"k", "3"}}, "k", i64), "wrong type");
  EXPECT_EQ(i64, 7);  // a refused value leaves the field alone
  read_option("o", json{{"k", 1e3}}, "k", i64);
  EXPECT_EQ(i64, 1000);
  read_option("o", json{{"k", 18446744073709551615ULL}}, "k", u64);
  EXPECT_EQ(u64, 18446744073709551615ULL);
  read_option("o", json{{"k", -2147483648LL}}, "k", i32);
  EXPECT_EQ(i32, std::numeric_limits<int32_t>::min());
}

TEST(StrictOptions, FloatsMustBeFiniteAndFit) {
  float f = 1;
  double d = 1;
  EXPECT_LVK_ERROR(read_option("train config", json{{"lr", 1e39}}, "lr", f),
                   "lr=1e+39 is out of range for a 32-bit float");
  EXPECT_LVK_ERROR(read_option("o", json{{"x", std::numeric_limits<double>::infinity()}}, "x", d),
                   "is not a finite number");
  EXPECT_LVK_ERROR(read_option("o", json{{"x", "nan"}}, "x", f), "wrong type");
  read_option("o", json{{"x", 2}}, "x", f);
  EXPECT_EQ(f, 2.0f);
}

TEST(MemoryBudget, ImpossibleSizesFailWithTheNumbers) {
  ASSERT_GT(physical_memory_bytes(), 0u);
  EXPECT_LVK_ERROR(check_fits_in_memory("train: batch", 1000000000, 784, "float", 4),
                   "train: batch 1000000000 × 784 floats = 3.1 TB, this machine has ");
  EXPECT_LVK_ERROR(check_fits_in_memory("n", std::numeric_limits<int64_t>::max(), 1 << 20, "float", 4), "YB");
  check_fits_in_memory("small", 1000, 784, "float", 4);
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(3.136e12), "3.1 TB");
}

class VqNonfiniteRows : public BackendTest {};

// Rows 1 (NaN) and 3 (Inf) of five; the finite rows sit next to codes 0, 1, 1.
Tensor rows_with_nonfinite(Device device) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  return Tensor::from_vector(std::vector<float>{0.1f, 0.0f, nan, 1.0f, 0.9f, 1.0f, 1.0f, -inf, 1.2f, 1.0f}, {5, 2},
                             device);
}

Tensor two_codes(Device device) {
  return Tensor::from_vector(std::vector<float>{0, 0, 1, 1}, {2, 2}, device);
}

TEST_P(VqNonfiniteRows, AreRefusedByDefaultWithTheCountAndFirstRow) {
  EXPECT_LVK_ERROR(vq_quantize(rows_with_nonfinite(device()), two_codes(device())),
                   "vq_quantize: z has 2 of 5 rows with NaN or Inf (first: row 1)");
  EXPECT_LVK_ERROR(vq_kmeans(rows_with_nonfinite(device()), 2), "vq_kmeans: z has 2 of 5 rows");
}

TEST_P(VqNonfiniteRows, SkipGivesMinusOneAndLeavesThemOutOfTheStatistics) {
  VqOptions o;
  o.distances = o.counts = true;
  o.nonfinite = VqNonfinite::skip;
  const VqResult r = vq_quantize(rows_with_nonfinite(device()), two_codes(device()), o);
  EXPECT_EQ(r.indices.to_vector<int32_t>(), (std::vector<int32_t>{0, -1, 1, -1, 1}));
  EXPECT_EQ(r.counts.to_vector<int32_t>(), (std::vector<int32_t>{1, 2}));
  const std::vector<float> dist = r.distances.to_vector<float>();
  EXPECT_TRUE(std::isnan(dist[1]) && std::isnan(dist[3]));
  const std::vector<float> zq = r.z_q.to_vector<float>();
  EXPECT_EQ(zq[2], 0.0f);
  EXPECT_EQ(zq[4], 1.0f);
  // Means over the 3 finite rows x 2 channels: (0.01 + 0.01 + 0.04) / 6.
  EXPECT_NEAR(r.codebook_loss.item(), 0.06 / 6, 1e-6);
  EXPECT_NEAR(r.commitment_loss.item(), 0.25 * 0.06 / 6, 1e-6);
}

TEST_P(VqNonfiniteRows, SkipFindsRowsOfNchwInput) {
  // [B=1, C=2, H=1, W=3]: pixel 2 holds a NaN in channel 1.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor z = Tensor::from_vector(std::vector<float>{0, 1, 1, 0, 1, nan}, {1, 2, 1, 3}, device());
  VqOptions o;
  o.nonfinite = VqNonfinite::skip;
  EXPECT_EQ(vq_quantize(z, two_codes(device()), o).indices.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, -1}));
  EXPECT_LVK_ERROR(vq_quantize(z, two_codes(device())), "1 of 3 rows with NaN or Inf (first: row 2)");
}

TEST_P(VqNonfiniteRows, SkipRefusesARecordedLookup) {
  const Tensor z = rows_with_nonfinite(device()).set_requires_grad(true);
  VqOptions o;
  o.nonfinite = VqNonfinite::skip;
  Tape tape;
  TapeRecording rec(tape);
  EXPECT_LVK_ERROR(vq_quantize(z, two_codes(device()), o), "nonfinite=skip is for lookups without gradients");
}

LVK_INSTANTIATE_BACKENDS(VqNonfiniteRows);

}  // namespace
}  // namespace lvk::test
