#pragma once
// Datasets as every command names them, and what "training" and "held-out" mean for each, so that
// `lvk train`, `eval`, `sample`, `reconstruct` and `data` given one name use the same images.
//
//   shapes[:N]            the procedural set of N training images (default 10000); `procedural` is
//                         the same. Held out: max(512, N / 10) images drawn with another seed.
//   mnist:DIR             MNIST IDX files in DIR; held out: the test split (t10k-*).
//   fashion-mnist[:DIR]   the same layout (DIR defaults to the Debian package's folder).
//   cifar10:DIR           CIFAR-10 binary batches; held out: test_batch.bin.
// A file source whose training files are absent (only the test split downloaded) trains on the
// first 90% of its test split and holds out the last 10%.
#include <string>

#include "runtime/io/dataset.h"

namespace lvk::io {

enum class Split { train, held_out };

// NAME[:ARG] to the spec of its training part; `who` (e.g. "train: --data") starts every error.
DatasetSpec parse_dataset_spec(const std::string& text, const std::string& who);
// "train" or "held-out".
Split parse_split(const std::string& text, const std::string& who);
const char* split_name(Split split);

// The spec of the held-out part of the dataset whose training part is `train`.
DatasetSpec held_out_spec(const DatasetSpec& train);

// One split of the dataset whose training part is `train` (see the header comment).
ImageDataset open_split(const DatasetSpec& train, Split split);

}  // namespace lvk::io
