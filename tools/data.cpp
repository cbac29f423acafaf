// `lvk data`: summarise a dataset (size, shape, labels, pixel mean) and optionally write a PNG
// grid of its first batch as the loader delivers it (shuffled, optionally binarised).
#include <cstdio>
#include <map>

#include "runtime/io/dataset_split.h"
#include "runtime/io/png.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

struct DataArgs {
  std::string data = "shapes", split = "train";
  std::string out;
  int64_t grid = 64;
  uint64_t loader_seed = 0;
  bool binarize = false;
};

void run_data(const DataArgs& a) {
  const io::ImageDataset d =
      io::open_split(io::parse_dataset_spec(a.data, "data: --data"), io::parse_split(a.split, "data: --split"));
  std::map<int32_t, int64_t> hist;
  for (int32_t l : d.labels) ++hist[l];
  double mean = 0.0;
  for (uint8_t p : d.pixels) mean += p;
  mean /= 255.0 * static_cast<double>(std::max<size_t>(1, d.pixels.size()));
  std::printf("dataset: %s, %lld images of %lldx%lldx%lld, pixel mean %.4f\n", d.name.c_str(),
              static_cast<long long>(d.count), static_cast<long long>(d.channels), static_cast<long long>(d.height),
              static_cast<long long>(d.width), mean);
  std::printf("labels: ");
  for (const auto& [label, n] : hist) std::printf(" %d:%lld", label, static_cast<long long>(n));
  std::printf("\n");
  if (a.out.empty()) return;
  io::LoaderOptions o;
  o.batch_size = std::min<int64_t>(a.grid, d.count);
  o.seed = a.loader_seed;
  o.binarize = a.binarize;
  o.prefetch = false;
  io::DataLoader loader(d, o);
  const io::Batch b = loader.next();
  const std::vector<float> px = b.images.to_vector<float>();
  int cols = 1;
  while (int64_t(cols) * cols < b.images.dim(0)) ++cols;
  io::write_png(a.out, io::make_image_grid(px.data(), b.images.dim(0), static_cast<int>(d.channels),
                                           static_cast<int>(d.height), static_cast<int>(d.width), cols));
  std::printf("wrote %s (%lld images)\n", a.out.c_str(), static_cast<long long>(b.images.dim(0)));
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto args = std::make_shared<DataArgs>();
  CLI::App* cmd = app.add_subcommand("data", "Summarise a dataset and write a PNG grid of its first batch");
  cmd->add_option("--data", args->data,
                  "Dataset named as for train: shapes[:N] | procedural | mnist:DIR | fashion-mnist[:DIR] | cifar10:DIR")
      ->capture_default_str();
  cmd->add_option("--split", args->split, "train, or held-out: what eval and reconstruct use")->capture_default_str();
  cmd->add_option("--seed", args->loader_seed, "Loader shuffling seed")->capture_default_str();
  cmd->add_option("--grid", args->grid, "Images in the PNG grid")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_flag("--binarize", args->binarize, "Dynamic binarisation (Bernoulli per pixel)");
  cmd->add_option("--out", args->out, "PNG file for the grid (written atomically)");
  cmd->callback([args] { run_data(*args); });
}

}  // namespace lvk::cli
