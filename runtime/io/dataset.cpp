#include "runtime/io/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/philox.h"
#include "runtime/dist/watchdog.h"
#include "runtime/io/cifar.h"
#include "runtime/io/idx.h"
#include "runtime/memory_budget.h"

#if LVK_WITH_CUDA
#include "runtime/cuda_context.h"
#endif

namespace lvk::io {

void ImageDataset::validate() const {
  LVK_CHECK(count >= 0 && channels >= 1 && height >= 1 && width >= 1, "dataset ", name, ": bad geometry count=", count,
            " c=", channels, " h=", height, " w=", width);
  LVK_CHECK(pixels.size() == static_cast<size_t>(count * image_size()), "dataset ", name, ": ", pixels.size(),
            " pixel bytes for ", count, " images of ", image_size());
  LVK_CHECK(labels.size() == static_cast<size_t>(count), "dataset ", name, ": ", labels.size(), " labels for ", count,
            " images");
  LVK_CHECK(count < (int64_t{1} << 31), "dataset ", name, ": ", count, " images exceed the i32 index range");
}

ImageDataset load_idx_dataset(const std::string& images_path, const std::string& labels_path, const std::string& name) {
  IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  LVK_CHECK(images.dims.size() == 3, "dataset ", name, ": ", images_path, " has rank ", images.dims.size(),
            ", expected [N, H, W]");
  LVK_CHECK(labels.dims.size() == 1 && labels.dims[0] == images.dims[0], "dataset ", name, ": ", labels_path, " holds ",
            labels.dims.empty() ? 0 : labels.dims[0], " labels for ", images.dims[0], " images");
  ImageDataset d;
  d.name = name;
  d.count = images.dims[0];
  d.channels = 1;
  d.height = images.dims[1];
  d.width = images.dims[2];
  d.pixels = std::move(images.data);
  d.labels.assign(labels.data.begin(), labels.data.end());
  d.validate();
  return d;
}

ImageDataset load_mnist_dir(const std::string& dir, const std::string& split, const std::string& name) {
  LVK_CHECK(split == "train" || split == "test", "dataset ", name, ": split \"", split, "\", expected train or test");
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  auto pick = [&](const std::string& stem) {
    for (const std::string& p : {prefix + stem, prefix + stem + ".gz"})
      if (std::ifstream(p).good()) return p;
    fail("dataset ", name, ": neither ", prefix + stem, " nor its .gz exists");
  };
  const std::string images = pick("-images-idx3-ubyte");  // named first in errors
  const std::string labels = pick("-labels-idx1-ubyte");
  return load_idx_dataset(images, labels, name + ":" + split);
}

ImageDataset load_cifar10(const std::vector<std::string>& batch_paths) {
  LVK_CHECK(!batch_paths.empty(), "dataset cifar10: no batch files given");
  ImageDataset d;
  d.name = "cifar10";
  d.channels = kCifarChannels;
  d.height = d.width = kCifarSide;
  for (const std::string& p : batch_paths) {
    const CifarBatch b = read_cifar10(p);
    d.pixels.insert(d.pixels.end(), b.images.begin(), b.images.end());
    d.labels.insert(d.labels.end(), b.labels.begin(), b.labels.end());
    d.count += b.count;
  }
  d.validate();
  return d;
}

ImageDataset make_shapes_dataset(int64_t count, int64_t side, uint64_t seed) {
  LVK_CHECK(count >= 0 && side >= 8 && side <= 1024, "make_shapes_dataset: count=", count, " side=", side,
            ", expected count >= 0 and 8 <= side <= 1024");
  check_fits_in_memory("make_shapes_dataset: images", count, side * side, "byte", 1);
  ImageDataset d;
  d.name = "shapes";
  d.count = count;
  d.channels = 1;
  d.height = d.width = side;
  d.pixels.assign(static_cast<size_t>(count * side * side), 0);
  d.labels.resize(static_cast<size_t>(count));
  const double s = static_cast<double>(side);
#pragma omp parallel for schedule(static) if (count > 256)
  for (int64_t i = 0; i < count; ++i) {
    // Sample i draws its parameters from Philox stream (seed, offset = i).
    auto u = [&](uint64_t j) { return static_cast<double>(philox_uniform(seed, static_cast<uint64_t>(i), j)); };
    const int kind = std::min(3, static_cast<int>(u(0) * 4));
    const double r = s * (0.15 + 0.2 * u(1));  // half-size
    const double cx = r + (s - 2 * r) * u(2), cy = r + (s - 2 * r) * u(3);
    const double intensity = 0.4 + 0.6 * u(4);
    uint8_t* img = d.pixels.data() + i * side * side;
    for (int64_t y = 0; y < side; ++y)
      for (int64_t x = 0; x < side; ++x) {
        const double dx = x + 0.5 - cx, dy = y + 0.5 - cy, rho = std::sqrt(dx * dx + dy * dy);
        bool in = false;
        switch (kind) {
          case 0:
            in = rho <= r;
            break;  // disk
          case 1:
            in = std::fabs(dx) <= r * 0.8 && std::fabs(dy) <= r * 0.8;
            break;  // square
          case 2:   // triangle, apex up: half-width grows from 0 at the apex to r at the base
            in = dy >= -0.8 * r && dy <= 0.8 * r && std::fabs(dx) <= r * (dy + 0.8 * r) / (1.6 * r);
            break;
          case 3:
            in = rho <= r && rho >= 0.6 * r;
            break;  // ring
        }
        if (in) img[y * side + x] = static_cast<uint8_t>(std::lround(255.0 * intensity));
      }
    d.labels[static_cast<size_t>(i)] = kind;
  }
  return d;
}

ImageDataset open_dataset(const DatasetSpec& spec) {
  if (spec.source == "shapes") return make_shapes_dataset(spec.count, spec.side, spec.seed);
  if (spec.source == "mnist") {
    LVK_CHECK(!spec.dir.empty(), "dataset mnist: needs a directory with the IDX files");
    return load_mnist_dir(spec.dir, spec.split, "mnist");
  }
  if (spec.source == "fashion-mnist")
    return load_mnist_dir(spec.dir.empty() ? "/usr/share/datasets/fashion-mnist" : spec.dir, spec.split,
                          "fashion-mnist");
  if (spec.source == "cifar10") {
    LVK_CHECK(!spec.dir.empty(), "dataset cifar10: needs the directory of the binary batches");
    LVK_CHECK(spec.split == "train" || spec.split == "test", "dataset cifar10: split \"", spec.split,
              "\", expected train or test");
    std::vector<std::string> files;
    if (spec.split == "test") {
      files.push_back(spec.dir + "/test_batch.bin");
    } else {
      for (int i = 1; i <= 5; ++i) files.push_back(spec.dir + "/data_batch_" + std::to_string(i) + ".bin");
    }
    return load_cifar10(files);
  }
  fail("dataset: unknown source \"", spec.source, "\", expected shapes, mnist, fashion-mnist or cifar10");
}

LoaderOptions LoaderOptions::shuffled(int64_t batch_size, uint64_t seed, bool binarize) {
  LoaderOptions o;
  o.batch_size = batch_size, o.seed = seed, o.binarize = binarize;
  return o;
}

LoaderOptions LoaderOptions::in_order(int64_t batch_size, bool binarize, uint64_t binarize_seed) {
  LoaderOptions o;
  o.batch_size = batch_size, o.shuffle = false, o.drop_last = false, o.prefetch = false;
  o.binarize = binarize, o.binarize_seed = binarize_seed;
  return o;
}

std::vector<int32_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
  for (int64_t i = n - 1; i > 0; --i) {
    // Two words give a 64-bit draw; the modulo bias is below 2^-30 for any dataset size here.
    const PhiloxBlock b = philox_block(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
    const uint64_t r = (static_cast<uint64_t>(b.v[0]) << 32) | b.v[1];
    std::swap(order[i], order[r % static_cast<uint64_t>(i + 1)]);
  }
  return order;
}

// --- loader ----------------------------------------------------------------------------------

struct DataLoader::Prepared {
  float* images = nullptr;  // [batch, C, H, W], pinned on CUDA
  size_t capacity = 0;      // floats
  bool pinned = false;
  std::vector<int32_t> labels, indices;
  int64_t epoch = 0, rows = 0, global_rows = 0;  // rows of this shard, of the global batch
  std::vector<int32_t> order;                    // cached permutation
  int64_t order_epoch = -1;
#if LVK_WITH_CUDA
  cudaEvent_t copied = nullptr;  // recorded after the device copy that reads `images`
  bool copy_pending = false;
#endif
  ~Prepared() {
#if LVK_WITH_CUDA
    if (copied) {
      cudaEventSynchronize(copied);
      cudaEventDestroy(copied);
    }
    if (pinned) {
      cudaFreeHost(images);
      return;
    }
#endif
    delete[] images;
  }
};

DataLoader::DataLoader(const ImageDataset& data, LoaderOptions options, Device device)
    : data_(data), options_(options), device_(device) {
  data_.validate();
  LVK_CHECK(options_.batch_size >= 1, "DataLoader: batch_size=", options_.batch_size, " must be >= 1");
  LVK_CHECK(data_.count > 0, "DataLoader: dataset ", data_.name, " is empty");
  LVK_CHECK(!options_.drop_last || data_.count >= options_.batch_size, "DataLoader: dataset ", data_.name, " has ",
            data_.count, " samples, fewer than one batch of ", options_.batch_size, " with drop_last");
  LVK_CHECK(options_.shard_count >= 1 && options_.shard_rank >= 0 && options_.shard_rank < options_.shard_count,
            "DataLoader: shard ", options_.shard_rank, " of ", options_.shard_count, " does not exist");
  LVK_CHECK(options_.shard_count == 1 || (options_.drop_last && options_.batch_size % options_.shard_count == 0),
            "DataLoader: a batch of ", options_.batch_size, " cannot be split evenly into ", options_.shard_count,
            " shards", options_.drop_last ? "" : " (sharding also needs drop_last)");
  const size_t floats = static_cast<size_t>(options_.batch_size / options_.shard_count * data_.image_size());
  for (auto& slot : slots_) {
    slot = std::make_unique<Prepared>();
    slot->capacity = floats;
#if LVK_WITH_CUDA
    if (device_.is_cuda()) {
      LVK_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&slot->images), floats * sizeof(float)));
      slot->pinned = true;
      LVK_CUDA_CHECK(cudaEventCreateWithFlags(&slot->copied, cudaEventDisableTiming));
      continue;
    }
#endif
    LVK_CHECK(device_.is_cpu(), "DataLoader: device ", device_.str(), " is not available in this build");
    slot->images = new float[floats];
  }
}

DataLoader::~DataLoader() {
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? data_.count / b : (data_.count + b - 1) / b;
}

void DataLoader::normalise(int64_t& epoch, int64_t& position) const {
  const int64_t usable = options_.drop_last ? batches_per_epoch() * options_.batch_size : data_.count;
  if (position >= usable) ++epoch, position = 0;
}

LoaderState DataLoader::state() const {
  return {options_.seed, epoch_, position_};
}

void DataLoader::restore(const LoaderState& s) {
  LVK_CHECK(s.epoch >= 0 && s.position >= 0 && s.position <= data_.count, "DataLoader::restore: epoch=", s.epoch,
            " position=", s.position, " out of range for ", data_.count, " samples");
  join_worker();
  worker_active_ = false;
  options_.seed = s.seed;
  for (auto& slot : slots_) slot->order_epoch = -1;  // cached permutations belong to the old seed
  epoch_ = s.epoch;
  position_ = s.position;
}

void DataLoader::prepare(int slot, int64_t epoch, int64_t position) {
  Prepared& p = *slots_[slot];
#if LVK_WITH_CUDA
  if (p.copy_pending) {  // the previous device copy from this buffer must finish first
    dist::PeerWait wait("a batch copy (behind the stream's collectives)");
    LVK_CUDA_CHECK(cudaEventSynchronize(p.copied));
    p.copy_pending = false;
  }
#endif
  if (p.order_epoch != epoch) {
    if (options_.shuffle) {
      p.order = shuffled_order(data_.count, options_.seed, epoch);
    } else {
      p.order.resize(static_cast<size_t>(data_.count));
      for (int64_t i = 0; i < data_.count; ++i) p.order[i] = static_cast<int32_t>(i);
    }
    p.order_epoch = epoch;
  }
  // With shards, every rank reads a full global batch (drop_last) and keeps its slice of it.
  const int64_t global_rows = std::min(options_.batch_size, data_.count - position);
  const int64_t rows = global_rows / options_.shard_count;
  position += rows * options_.shard_rank;
  const int64_t size = data_.image_size();
  p.rows = rows;
  p.global_rows = global_rows;
  p.epoch = epoch;
  p.labels.resize(static_cast<size_t>(rows));
  p.indices.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t idx = p.order[static_cast<size_t>(position + r)];
    p.indices[r] = idx;
    p.labels[r] = data_.labels[idx];
    const uint8_t* src = data_.pixels.data() + static_cast<int64_t>(idx) * size;
    float* dst = p.images + r * size;
    if (options_.binarize) {
      for (int64_t k = 0; k < size; ++k) {
        const float u = philox_uniform(options_.binarize_seed, static_cast<uint64_t>(epoch),
                                       static_cast<uint64_t>(idx) * static_cast<uint64_t>(size) + k);
        dst[k] = u * 255.0f < static_cast<float>(src[k]) ? 1.0f : 0.0f;
      }
    } else {
      for (int64_t k = 0; k < size; ++k) dst[k] = static_cast<float>(src[k]) * (1.0f / 255.0f);
    }
  }
}

void DataLoader::start_worker(int64_t epoch, int64_t position) {
  const int slot = next_slot_;
  worker_epoch_ = epoch;
  worker_position_ = position;
  worker_slot_ = slot;
  worker_active_ = true;
  worker_error_ = nullptr;
  worker_ = std::thread([this, slot, epoch, position] {
    try {
      prepare(slot, epoch, position);
    } catch (...) {
      worker_error_ = std::current_exception();
    }
  });
}

void DataLoader::join_worker() {
  if (worker_.joinable()) worker_.join();
}

Batch DataLoader::next() {
  int64_t epoch = epoch_, position = position_;
  normalise(epoch, position);
  int slot;
  join_worker();
  if (worker_active_ && worker_epoch_ == epoch && worker_position_ == position) {
    worker_active_ = false;
    if (worker_error_) std::rethrow_exception(worker_error_);
    slot = worker_slot_;
  } else {
    worker_active_ = false;
    slot = next_slot_;
    prepare(slot, epoch, position);
  }
  next_slot_ = 1 - slot;
  Prepared& p = *slots_[slot];
  const Shape shape{p.rows, data_.channels, data_.height, data_.width};
  Batch b;
  b.epoch = epoch;
  b.labels = Tensor::from_vector(p.labels, {p.rows});
  b.indices = Tensor::from_vector(p.indices, {p.rows});
  const size_t floats = static_cast<size_t>(shape.numel());
  if (device_.is_cuda()) {
#if LVK_WITH_CUDA
    b.images = Tensor::empty(shape, DType::f32, device_);
    LVK_CUDA_CHECK(
        cudaMemcpyAsync(b.images.raw(), p.images, floats * sizeof(float), cudaMemcpyHostToDevice, cuda::stream()));
    LVK_CUDA_CHECK(cudaEventRecord(p.copied, cuda::stream()));
    p.copy_pending = true;
#endif
  } else {
    b.images = Tensor::from_vector(std::vector<float>(p.images, p.images + floats), shape);
  }
  epoch_ = epoch;
  position_ = position + p.global_rows;
  if (options_.prefetch) {
    int64_t ne = epoch_, np = position_;
    normalise(ne, np);
    start_worker(ne, np);
  }
  return b;
}

}  // namespace lvk::io
