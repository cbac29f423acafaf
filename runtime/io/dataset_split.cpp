#include "runtime/io/dataset_split.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/error.h"

namespace lvk::io {

namespace {

constexpr uint64_t kHeldOutSeedOffset = 0x5eed;

// Whether the training files of a file source are present (then the test split is held out whole).
bool has_train_files(const DatasetSpec& spec) {
  const std::string dir =
      spec.dir.empty() && spec.source == "fashion-mnist" ? "/usr/share/datasets/fashion-mnist" : spec.dir;
  if (spec.source == "cifar10") return std::ifstream(dir + "/data_batch_1.bin").good();
  const std::string stem = dir + "/train-images-idx3-ubyte";
  return std::ifstream(stem).good() || std::ifstream(stem + ".gz").good();
}

// The first 90% (train) or the last 10% (held out) of a dataset.
ImageDataset split_test_set(ImageDataset test, Split split) {
  const int64_t n_train = test.count * 9 / 10, image = test.image_size();
  if (split == Split::train) {
    test.count = n_train;
    test.pixels.resize(static_cast<size_t>(n_train * image));
    test.labels.resize(static_cast<size_t>(n_train));
    test.name += " (test split, first 90%)";
  } else {
    test.count -= n_train;
    test.pixels.erase(test.pixels.begin(), test.pixels.begin() + n_train * image);
    test.labels.erase(test.labels.begin(), test.labels.begin() + n_train);
    test.name += " (test split, last 10%)";
  }
  return test;
}

}  // namespace

DatasetSpec parse_dataset_spec(const std::string& text, const std::string& who) {
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon), arg = colon == std::string::npos ? "" : text.substr(colon + 1);
  DatasetSpec spec;
  if (name == "shapes" || name == "procedural") {
    spec.source = "shapes";
    if (!arg.empty()) {
      const bool digits =
          arg.size() <= 12 && std::all_of(arg.begin(), arg.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
      LVK_CHECK(digits, who, " '", text, "': the image count '", arg, "' is not a whole number");
      spec.count = std::strtoll(arg.c_str(), nullptr, 10);
      LVK_CHECK(spec.count >= 1, who, " '", text, "': the image count must be >= 1");
    }
  } else if (name == "mnist" || name == "cifar10") {
    LVK_CHECK(!arg.empty(), who, " '", text, "': ", name, " needs its directory, e.g. ", name, ":DIR");
    spec.source = name, spec.dir = arg;
  } else if (name == "fashion-mnist") {
    spec.source = name, spec.dir = arg;
  } else {
    fail(who, " '", text, "' is not shapes[:N], procedural, mnist:DIR, fashion-mnist[:DIR] or cifar10:DIR");
  }
  return spec;
}

Split parse_split(const std::string& text, const std::string& who) {
  if (text == "train") return Split::train;
  if (text == "held-out") return Split::held_out;
  fail(who, " '", text, "' is not train or held-out");
}

const char* split_name(Split split) {
  return split == Split::train ? "train" : "held-out";
}

DatasetSpec held_out_spec(const DatasetSpec& train) {
  DatasetSpec spec = train;
  if (spec.source == "shapes") {
    spec.seed = train.seed + kHeldOutSeedOffset;
    spec.count = std::max<int64_t>(512, train.count / 10);
  } else {
    spec.split = "test";
  }
  return spec;
}

ImageDataset open_split(const DatasetSpec& train, Split split) {
  if (train.source == "shapes") {
    ImageDataset d = open_dataset(split == Split::train ? train : held_out_spec(train));
    d.name = "shapes:" + std::to_string(train.count) + " " + split_name(split);
    return d;
  }
  if (has_train_files(train)) return open_dataset(split == Split::train ? train : held_out_spec(train));
  return split_test_set(open_dataset(held_out_spec(train)), split);
}

}  // namespace lvk::io
