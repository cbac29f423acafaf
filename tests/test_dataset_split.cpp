// Dataset names and their train / held-out splits (runtime/io/dataset_split.h): one parser, and
// held-out images that never include a training image, whichever command asks.
#include <set>
#include <string>
#include <vector>

#include "runtime/io/dataset_split.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

using io::Split;

std::set<std::vector<uint8_t>> images_of(const io::ImageDataset& d) {
  std::set<std::vector<uint8_t>> out;
  const size_t size = static_cast<size_t>(d.image_size());
  for (int64_t i = 0; i < d.count; ++i)
    out.insert(std::vector<uint8_t>(d.pixels.begin() + i * size, d.pixels.begin() + (i + 1) * size));
  return out;
}

// IDX files of `count` 2x2 images whose first pixel is the image's index.
void write_mnist_split(const TempDir& dir, const std::string& prefix, uint8_t count) {
  std::vector<uint8_t> images{0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, 2, 0, 0, 0, 2};
  std::vector<uint8_t> labels{0, 0, 8, 1, 0, 0, 0, count};
  for (uint8_t i = 0; i < count; ++i) {
    images.insert(images.end(), {i, 1, 2, 3});
    labels.push_back(i % 10);
  }
  write_raw(dir.file(prefix + "-images-idx3-ubyte"), images);
  write_raw(dir.file(prefix + "-labels-idx1-ubyte"), labels);
}

TEST(DatasetSpec, ParsesEveryNameTheSameWay) {
  const io::DatasetSpec shapes = io::parse_dataset_spec("shapes:600", "x");
  EXPECT_EQ(shapes.source, "shapes");
  EXPECT_EQ(shapes.count, 600);
  EXPECT_EQ(io::parse_dataset_spec("procedural", "x").source, "shapes");
  EXPECT_EQ(io::parse_dataset_spec("procedural", "x").count, io::DatasetSpec{}.count);
  const io::DatasetSpec mnist = io::parse_dataset_spec("mnist:/data/m", "x");
  EXPECT_EQ(mnist.source, "mnist");
  EXPECT_EQ(mnist.dir, "/data/m");
  EXPECT_EQ(mnist.split, "train");
  EXPECT_EQ(io::parse_dataset_spec("fashion-mnist", "x").dir, "");
  EXPECT_EQ(io::parse_split("held-out", "x"), Split::held_out);
}

TEST(DatasetSpec, RejectsMalformedNamesNamingThem) {
  LVK_EXPECT_ERROR(io::parse_dataset_spec("shapes:12x", "eval: --data"), "eval: --data", "'12x'", "whole number");
  LVK_EXPECT_ERROR(io::parse_dataset_spec("shapes:0", "train: --data"), ">= 1");
  LVK_EXPECT_ERROR(io::parse_dataset_spec("mnist", "train: --data"), "mnist needs its directory");
  LVK_EXPECT_ERROR(io::parse_dataset_spec("imagenet:/x", "data: --data"), "'imagenet:/x'", "cifar10:DIR");
  LVK_EXPECT_ERROR(io::parse_split("test", "data: --split"), "'test'", "train or held-out");
}

TEST(DatasetSplit, HeldOutShapesAreDisjointFromTheTrainingImages) {
  const io::DatasetSpec spec = io::parse_dataset_spec("shapes:600", "x");
  const io::ImageDataset train = io::open_split(spec, Split::train), held = io::open_split(spec, Split::held_out);
  EXPECT_EQ(train.count, 600);
  EXPECT_EQ(held.count, 512);
  EXPECT_EQ(held.name, "shapes:600 held-out");
  const std::set<std::vector<uint8_t>> seen = images_of(train);
  int64_t shared = 0;
  for (const std::vector<uint8_t>& image : images_of(held)) shared += seen.count(image);
  EXPECT_EQ(shared, 0);
  // `procedural` names the same set: its held-out images are the same.
  EXPECT_EQ(io::open_split(io::parse_dataset_spec("procedural:600", "x"), Split::held_out).pixels, held.pixels);
}

TEST(DatasetSplit, FilesHoldOutTheTestSplitOrItsLastTenthWithoutTrainFiles) {
  TempDir dir;
  write_mnist_split(dir, "t10k", 20);
  const io::DatasetSpec spec = io::parse_dataset_spec("mnist:" + dir.path(), "x");
  const io::ImageDataset train = io::open_split(spec, Split::train), held = io::open_split(spec, Split::held_out);
  EXPECT_EQ(train.count, 18);
  EXPECT_EQ(held.count, 2);
  EXPECT_EQ(held.pixels[0], 18);  // the last tenth: images 18 and 19
  write_mnist_split(dir, "train", 30);
  EXPECT_EQ(io::open_split(spec, Split::train).count, 30);
  EXPECT_EQ(io::open_split(spec, Split::held_out).count, 20);
}

}  // namespace
}  // namespace lvk::test
