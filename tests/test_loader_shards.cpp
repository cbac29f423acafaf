// Sharded data loading for data-parallel ranks: the shards of a global batch are its slices in
// rank order, and the loader's state counts global samples, so any world size sees one order.
#include <gtest/gtest.h>

#include "runtime/io/dataset.h"

namespace lvk::io {
namespace {

std::vector<int32_t> indices_of(const Batch& b) {
  return b.indices.to_vector<int32_t>();
}

TEST(LoaderShards, SlicesOfTheGlobalBatchInRankOrderAcrossEpochs) {
  const ImageDataset data = make_shapes_dataset(37, 8, 3);  // 4 global batches of 8 per epoch, 5 dropped
  DataLoader whole(data, LoaderOptions::shuffled(8, 11, false));
  LoaderOptions a = LoaderOptions::shuffled(8, 11, false), b = a;
  a.shard_count = b.shard_count = 2;
  b.shard_rank = 1;
  DataLoader first(data, a), second(data, b);
  for (int step = 0; step < 10; ++step) {  // crosses two epoch boundaries
    std::vector<int32_t> joined = indices_of(first.next());
    const std::vector<int32_t> rest = indices_of(second.next());
    ASSERT_EQ(joined.size(), 4u);
    joined.insert(joined.end(), rest.begin(), rest.end());
    EXPECT_EQ(joined, indices_of(whole.next())) << "step " << step;
    EXPECT_EQ(first.state().position, whole.state().position);
    EXPECT_EQ(first.state().epoch, whole.state().epoch);
  }
  // A shard restored from the unsharded state continues the same global order.
  DataLoader resumed(data, b);
  resumed.restore(whole.state());
  const std::vector<int32_t> next = indices_of(whole.next());
  EXPECT_EQ(indices_of(resumed.next()), std::vector<int32_t>(next.begin() + 4, next.end()));
}

TEST(LoaderShards, RejectsSplitsThatAreNotEven) {
  const ImageDataset data = make_shapes_dataset(40, 8, 3);
  LoaderOptions o = LoaderOptions::shuffled(9, 0, false);
  o.shard_count = 2;
  EXPECT_THROW(DataLoader(data, o), Error);  // 9 rows over 2 shards
  o.batch_size = 8;
  o.drop_last = false;
  EXPECT_THROW(DataLoader(data, o), Error);  // a short last batch could not be split
  o.drop_last = true;
  o.shard_rank = 2;
  EXPECT_THROW(DataLoader(data, o), Error);  // no such shard
}

}  // namespace
}  // namespace lvk::io
