#pragma once
// In-memory image datasets (u8 pixels, converted to f32 in [0, 1] per batch) and a seeded,
// resumable, prefetching loader.
//
// Data order: epoch e visits the samples in the permutation Fisher-Yates draws from Philox stream
// (seed, offset = e), so (seed, epoch, position) fully determines what comes next: LoaderState
// saves exactly that, and a restored loader continues bit for bit.
// Dynamic binarisation replaces each pixel p by Bernoulli(p) drawn from Philox stream
// (binarize_seed, offset = epoch) at draw index sample * pixels + pixel: a function of the sample
// and epoch only, never of batch composition or the device.
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/tensor.h"

namespace lvk::io {

struct ImageDataset {
  std::string name;
  int64_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // [count, channels, height, width]
  std::vector<int32_t> labels;  // [count]; -1 when the source has none
  int64_t image_size() const { return channels * height * width; }
  void validate() const;  // sizes consistent; throws naming the dataset
};

// MNIST / Fashion-MNIST from an IDX image file [N, H, W] and label file [N] (raw or .gz).
ImageDataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                              const std::string& name = "idx");
// "train" or "test" split of a directory holding the standard MNIST-style file names
// (train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], ...).
ImageDataset load_mnist_dir(const std::string& dir, const std::string& split, const std::string& name = "mnist");
// One or more CIFAR-10 binary batches, concatenated.
ImageDataset load_cifar10(const std::vector<std::string>& batch_paths);
// Procedural shapes (no files): disks, squares, triangles and rings of random position, size and
// intensity on a side x side canvas (1 channel), label = shape kind (0..3). Sample i depends only
// on (seed, i).
ImageDataset make_shapes_dataset(int64_t count, int64_t side = 28, uint64_t seed = 0);

// A dataset by name, what the CLI and model configs refer to:
//   shapes         the procedural set (count, side, seed), needs no files: the default
//   mnist          IDX files in `dir` (train-/t10k- names, raw or .gz)
//   fashion-mnist  same layout; dir defaults to /usr/share/datasets/fashion-mnist (Debian package)
//   cifar10        `dir` holding data_batch_1..5.bin (train) or test_batch.bin (test)
struct DatasetSpec {
  std::string source = "shapes";
  std::string dir;
  std::string split = "train";
  int64_t count = 10000;  // shapes only
  int64_t side = 28;      // shapes only
  uint64_t seed = 0;      // shapes only
};
ImageDataset open_dataset(const DatasetSpec& spec);

struct LoaderOptions {
  int64_t batch_size = 128;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = true;       // a short final batch is skipped (fixed shapes for the step)
  bool binarize = false;       // dynamic binarisation, see above
  uint64_t binarize_seed = 1;  // separate from the order seed
  bool prefetch = true;        // prepare the next batch on a background thread
  // Data-parallel ranks: batch_size is the global batch and this loader returns only rows
  // [shard_rank * b, (shard_rank + 1) * b) of each, b = batch_size / shard_count, while its state
  // (epoch, position) counts global samples, so the order does not depend on the world size.
  // shard_count > 1 needs drop_last and a batch_size it divides.
  int shard_rank = 0, shard_count = 1;

  // Shuffled epochs drawn from `seed`, a short last batch skipped, prefetched: training.
  static LoaderOptions shuffled(int64_t batch_size, uint64_t seed, bool binarize);
  // Samples in dataset order, a short last batch kept, no background thread: evaluation and pictures.
  static LoaderOptions in_order(int64_t batch_size, bool binarize, uint64_t binarize_seed);
};

struct LoaderState {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t position = 0;  // samples of this epoch's permutation already returned
};

struct Batch {
  Tensor images;   // f32 [B, C, H, W] in [0, 1] (or {0, 1} when binarised), on the loader's device
  Tensor labels;   // i32 [B], on the host
  Tensor indices;  // i32 [B]: dataset indices of the samples, on the host
  int64_t epoch = 0;
};

class DataLoader {
 public:
  // The dataset must outlive the loader.
  DataLoader(const ImageDataset& data, LoaderOptions options, Device device = Device::cpu());
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch; crosses into the next epoch (reshuffling) when this one is exhausted.
  Batch next();
  int64_t batches_per_epoch() const;
  LoaderState state() const;  // what next() would continue from
  void restore(const LoaderState& s);

 private:
  struct Prepared;
  // Host side of one batch starting at (epoch, position) into slot `slot`.
  void prepare(int slot, int64_t epoch, int64_t position);
  void start_worker(int64_t epoch, int64_t position);
  void join_worker();
  // (epoch, position) normalised: an exhausted epoch rolls over to the next one.
  void normalise(int64_t& epoch, int64_t& position) const;

  const ImageDataset& data_;
  LoaderOptions options_;
  Device device_;
  int64_t epoch_ = 0, position_ = 0;

  // Two host staging buffers (pinned on CUDA): the worker fills one while the other's copy to
  // the device may still be in flight.
  std::unique_ptr<Prepared> slots_[2];
  int next_slot_ = 0;
  std::thread worker_;
  bool worker_active_ = false;
  int64_t worker_epoch_ = -1, worker_position_ = -1;
  int worker_slot_ = -1;
  std::exception_ptr worker_error_;
};

// Philox Fisher-Yates permutation of [0, n) for (seed, epoch).
std::vector<int32_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace lvk::io
