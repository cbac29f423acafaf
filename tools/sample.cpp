// `lvk sample CKPT` and `lvk reconstruct CKPT`: pictures from a trained model.
#include <cstdio>
#include <memory>

#include "models/saved_model.h"
#include "runtime/device.h"
#include "runtime/io/dataset_split.h"
#include "runtime/io/png.h"
#include "runtime/tape.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

struct PictureFlags {
  std::string checkpoint, out, device = "auto", data;
  int64_t n = 64, cols = 8;
  int64_t seed = 0;
};

void write_grid(const std::string& path, const Tensor& images, int64_t cols) {
  const Tensor host = images.to(Device::cpu());
  io::write_png(
      path, io::make_image_grid(host.data<float>(), host.dim(0), static_cast<int>(host.dim(1)),
                                static_cast<int>(host.dim(2)), static_cast<int>(host.dim(3)), static_cast<int>(cols)));
  std::printf("wrote %s (%lld images)\n", path.c_str(), static_cast<long long>(host.dim(0)));
}

void run_sample(const PictureFlags& f) {
  SavedModel saved = load_saved_model(f.checkpoint, parse_device(f.device));
  print_note(saved.integrity_note);
  std::printf("%s at step %lld from %s\n", saved.model->kind().c_str(), static_cast<long long>(saved.step),
              saved.path.c_str());
  NoGrad no_grad;
  write_grid(f.out.empty() ? "samples.png" : f.out, saved.model->sample(f.n, static_cast<uint64_t>(f.seed), 0), f.cols);
}

void run_reconstruct(const PictureFlags& f) {
  const Device device = parse_device(f.device);
  SavedModel saved = load_saved_model(f.checkpoint, device);
  print_note(saved.integrity_note);
  const io::DatasetSpec spec =
      f.data.empty() ? saved.config.data : io::parse_dataset_spec(f.data, "reconstruct: --data");
  const io::ImageDataset data = io::open_split(spec, io::Split::held_out);
  LVK_CHECK(
      data.channels == saved.image.channels && data.height == saved.image.height && data.width == saved.image.width,
      "reconstruct: ", data.name, " has images [", data.channels, ", ", data.height, ", ", data.width,
      "] but the model was trained on ", saved.image.str());
  io::DataLoader loader(data, io::LoaderOptions::in_order(std::min(f.n, data.count), saved.config.binarize, 1), device);
  const Tensor x = loader.next().images;
  std::printf("reconstructing %lld images of %s\n", static_cast<long long>(x.dim(0)), data.name.c_str());
  NoGrad no_grad;
  const Tensor r = saved.model->reconstruct(x);
  // Rows of `cols` originals, each followed by a row of their reconstructions.
  const int64_t n = x.dim(0), image = x.numel() / n, cols = std::min(f.cols, n);
  const std::vector<float> xv = x.to_vector<float>(), rv = r.to_vector<float>();
  std::vector<float> grid;
  for (int64_t row = 0; row * cols < n; ++row) {
    const int64_t first = row * cols, count = std::min(cols, n - first);
    for (const std::vector<float>* src : {&xv, &rv}) {
      grid.insert(grid.end(), src->begin() + first * image, src->begin() + (first + count) * image);
      grid.insert(grid.end(), (cols - count) * image, 1.0f);  // blank tiles pad a short last row
    }
  }
  write_grid(f.out.empty() ? "reconstructions.png" : f.out,
             Tensor::from_vector(grid, {static_cast<int64_t>(grid.size()) / image, x.dim(1), x.dim(2), x.dim(3)}),
             cols);
}

void add_common(CLI::App* cmd, PictureFlags& f) {
  cmd->add_option("checkpoint", f.checkpoint, "checkpoint file or run folder (newest checkpoint)")->required();
  cmd->add_option("--n", f.n, "images")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--cols", f.cols, "images per grid row")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--seed", f.seed, "seed")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", f.device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--out", f.out, "PNG to write");
}

}  // namespace

void add_picture_commands(CLI::App& app) {
  auto sample = std::make_shared<PictureFlags>();
  CLI::App* s = app.add_subcommand("sample", "Draw images from a trained model's prior into a PNG grid");
  add_common(s, *sample);
  s->callback([sample] { run_sample(*sample); });

  auto recon = std::make_shared<PictureFlags>();
  recon->n = 32;
  CLI::App* r = app.add_subcommand("reconstruct", "Reconstruct images of a dataset with a trained model");
  add_common(r, *recon);
  r->add_option(
      "--data", recon->data,
      "held-out split of a dataset named as for train: shapes[:N] | procedural | mnist:DIR | fashion-mnist[:DIR] | "
      "cifar10:DIR; default: the run's own");
  r->callback([recon] { run_reconstruct(*recon); });
}

}  // namespace lvk::cli
