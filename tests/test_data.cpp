// Datasets and the loader: reproducible order from (seed, epoch, position), resumption, batching,
// binarisation, the procedural set, and the real MNIST files when present.
#include <algorithm>
#include <fstream>
#include <set>

#include "runtime/io/dataset.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

using io::DataLoader;
using io::LoaderOptions;

TEST(Shapes, DeterministicFromSeedWithAllKinds) {
  const io::ImageDataset a = io::make_shapes_dataset(200, 28, 3), b = io::make_shapes_dataset(200, 28, 3);
  const io::ImageDataset c = io::make_shapes_dataset(200, 28, 4);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.pixels, c.pixels);
  std::set<int32_t> kinds(a.labels.begin(), a.labels.end());
  EXPECT_EQ(kinds, (std::set<int32_t>{0, 1, 2, 3}));
  for (int64_t i = 0; i < a.count; ++i) {  // every image draws something, and not everything
    const auto* img = a.pixels.data() + i * 28 * 28;
    const auto lit = std::count_if(img, img + 28 * 28, [](uint8_t v) { return v > 0; });
    ASSERT_GT(lit, 10) << i;
    ASSERT_LT(lit, 28 * 28 / 2) << i;
  }
  // Sample i does not depend on the dataset size.
  const io::ImageDataset small = io::make_shapes_dataset(10, 28, 3);
  EXPECT_TRUE(std::equal(small.pixels.begin(), small.pixels.end(), a.pixels.begin()));
  EXPECT_EQ(io::make_shapes_dataset(3, 32, 1).image_size(), 32 * 32);
  LVK_EXPECT_ERROR(io::make_shapes_dataset(3, 4), "side=4");
}

TEST(Loader, EpochIsAPermutationAndReshufflesPerEpoch) {
  const io::ImageDataset d = io::make_shapes_dataset(50, 28, 1);
  DataLoader loader(d, LoaderOptions{10, 7});
  EXPECT_EQ(loader.batches_per_epoch(), 5);
  std::vector<int32_t> e0, e1;
  for (int b = 0; b < 5; ++b) {
    const io::Batch batch = loader.next();
    EXPECT_EQ(batch.epoch, 0);
    EXPECT_EQ(batch.images.shape(), (Shape{10, 1, 28, 28}));
    for (int32_t i : batch.indices.to_vector<int32_t>()) e0.push_back(i);
    // Pixels and labels belong to the listed samples.
    const auto idx = batch.indices.to_vector<int32_t>();
    const auto px = batch.images.to_vector<float>();
    const auto lb = batch.labels.to_vector<int32_t>();
    for (int r = 0; r < 10; ++r) {
      ASSERT_EQ(lb[r], d.labels[idx[r]]);
      ASSERT_FLOAT_EQ(px[r * 784 + 400], d.pixels[idx[r] * 784 + 400] / 255.0f);
    }
  }
  for (int b = 0; b < 5; ++b) {
    const io::Batch batch = loader.next();
    EXPECT_EQ(batch.epoch, 1);
    for (int32_t i : batch.indices.to_vector<int32_t>()) e1.push_back(i);
  }
  EXPECT_NE(e0, e1);
  std::sort(e0.begin(), e0.end());
  std::sort(e1.begin(), e1.end());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(e0[i] == i && e1[i] == i);
}

TEST(Loader, SavedStateReproducesTheRestOfTheOrder) {
  const io::ImageDataset d = io::make_shapes_dataset(37, 28, 2);
  for (bool prefetch : {true, false}) {
    LoaderOptions o{8, 11};
    o.prefetch = prefetch;
    o.drop_last = false;
    DataLoader a(d, o);
    for (int i = 0; i < 7; ++i) a.next();  // crosses the epoch boundary (5 batches per epoch)
    const io::LoaderState st = a.state();
    EXPECT_EQ(st.epoch, 1);
    EXPECT_EQ(st.position, 16);
    std::vector<std::vector<float>> rest;
    for (int i = 0; i < 6; ++i) rest.push_back(a.next().images.to_vector<float>());
    DataLoader b(d, o);
    b.next();  // whatever it did before, restore decides
    b.restore(st);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(b.next().images.to_vector<float>(), rest[i]) << i;
  }
  DataLoader c(d, LoaderOptions{8, 11});
  LVK_EXPECT_ERROR(c.restore(io::LoaderState{11, 0, 38}), "restore", "position=38");
  // Restoring a state with another seed follows that seed's order, not a cached one.
  DataLoader e(d, LoaderOptions{8, 5});
  const auto first_of_seed5 = e.next().indices.to_vector<int32_t>();
  c.next();
  c.restore(io::LoaderState{5, 0, 0});
  EXPECT_EQ(c.next().indices.to_vector<int32_t>(), first_of_seed5);
}

TEST(Loader, LastBatchAndNoShuffle) {
  const io::ImageDataset d = io::make_shapes_dataset(7, 28, 2);
  LoaderOptions o{3, 0};
  o.shuffle = false;
  o.drop_last = false;
  DataLoader loader(d, o);
  EXPECT_EQ(loader.next().indices.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2}));
  loader.next();
  EXPECT_EQ(loader.next().indices.to_vector<int32_t>(), (std::vector<int32_t>{6}));
  EXPECT_EQ(loader.next().epoch, 1);
  o.drop_last = true;
  DataLoader dl(d, o);
  dl.next();
  dl.next();
  EXPECT_EQ(dl.next().epoch, 1);  // the short batch is skipped
  LVK_EXPECT_ERROR(DataLoader(d, LoaderOptions{8, 0}), "fewer than one batch");
  LVK_EXPECT_ERROR(DataLoader(d, LoaderOptions{0, 0}), "batch_size=0");
}

TEST(Loader, DynamicBinarisationIsBernoulliAndReproducible) {
  io::ImageDataset d;
  d.name = "flat";
  d.count = 4;
  d.channels = 1;
  d.height = d.width = 64;
  d.labels = {0, 1, 2, 3};
  d.pixels.resize(4 * 64 * 64);
  for (int i = 0; i < 4; ++i) std::fill_n(d.pixels.begin() + i * 4096, 4096, static_cast<uint8_t>(i * 85));
  LoaderOptions o{4, 0};
  o.shuffle = false;
  o.binarize = true;
  DataLoader a(d, o), b(d, o);
  const auto x = a.next().images.to_vector<float>();
  EXPECT_EQ(x, b.next().images.to_vector<float>());
  for (int i = 0; i < 4; ++i) {
    double mean = 0;
    for (int k = 0; k < 4096; ++k) {
      ASSERT_TRUE(x[i * 4096 + k] == 0.0f || x[i * 4096 + k] == 1.0f);
      mean += x[i * 4096 + k];
    }
    mean /= 4096;
    // p = i/3; the standard error is at most 0.0078: 5 sigma.
    EXPECT_NEAR(mean, i / 3.0, 0.04) << i;
  }
  EXPECT_NE(x, a.next().images.to_vector<float>());  // a new epoch draws new noise
}

TEST(Datasets, RejectsInconsistentIdxPairs) {
  TempDir dir;
  std::vector<uint8_t> images{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> labels{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
  write_raw(dir.file("img"), images);
  write_raw(dir.file("lab"), labels);
  LVK_EXPECT_ERROR(io::load_idx_dataset(dir.file("img"), dir.file("lab")), "3 labels for 2 images");
  LVK_EXPECT_ERROR(io::load_mnist_dir(dir.path(), "train"), "train-images-idx3-ubyte");
  LVK_EXPECT_ERROR(io::load_mnist_dir(dir.path(), "val"), "split \"val\"");
}

TEST(Datasets, OpenByNameDefaultsToShapesAndRejectsUnknownSources) {
  io::DatasetSpec spec;
  spec.count = 12;
  const io::ImageDataset d = io::open_dataset(spec);
  EXPECT_EQ(d.name, "shapes");
  EXPECT_EQ(d.count, 12);
  spec.source = "imagenet";
  LVK_EXPECT_ERROR(io::open_dataset(spec), "unknown source \"imagenet\"");
  spec.source = "cifar10";
  LVK_EXPECT_ERROR(io::open_dataset(spec), "cifar10", "directory");
  spec.dir = "/nonexistent/lvk";
  LVK_EXPECT_ERROR(io::open_dataset(spec), "/nonexistent/lvk/data_batch_1.bin");
}

TEST(Datasets, LoadsMnistTestSplitWhenPresent) {
  const std::string dir = std::string(LVK_SHARED_DATA_DIR) + "/mnist";
  if (!std::ifstream(dir + "/t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "no MNIST under " << dir;
  const io::ImageDataset d = io::load_mnist_dir(dir, "test");
  EXPECT_EQ(d.count, 10000);
  EXPECT_EQ(d.image_size(), 784);
  DataLoader loader(d, LoaderOptions{128, 0});
  EXPECT_EQ(loader.next().images.shape(), (Shape{128, 1, 28, 28}));
}

TEST(Datasets, LoadsFashionMnistWhenInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::ifstream(dir + "/t10k-images-idx3-ubyte.gz") && !std::ifstream(dir + "/t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed under " << dir;
  const io::ImageDataset d = io::load_mnist_dir(dir, "test", "fashion-mnist");
  EXPECT_EQ(d.count, 10000);
}

class LoaderDeviceTest : public BackendTest {};

TEST_P(LoaderDeviceTest, BatchesLandOnTheDeviceIdentically) {
  const io::ImageDataset d = io::make_shapes_dataset(40, 32, 5);
  DataLoader cpu(d, LoaderOptions{16, 3}, Device::cpu()), dev(d, LoaderOptions{16, 3}, device());
  for (int i = 0; i < 4; ++i) {
    const io::Batch a = cpu.next(), b = dev.next();
    EXPECT_EQ(b.images.device(), device());
    EXPECT_EQ(a.images.to_vector<float>(), b.images.to_vector<float>());
  }
}

LVK_INSTANTIATE_BACKENDS(LoaderDeviceTest);

}  // namespace
}  // namespace lvk::test
