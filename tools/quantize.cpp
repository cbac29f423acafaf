// `lvk quantize`: nearest-codebook indices for the vectors of a .npy file, and `lvk kmeans`: fit a
// codebook to them. Flags and printing only; the work is vq_quantize / vq_kmeans.
#include <cstdio>
#include <string>

#include "runtime/context.h"
#include "runtime/io/npy.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/tensor_io.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/vq.h"
#include "runtime/ops/vq_learn.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Vectors: f32 [N, C] (or [B, C, H, W], quantized per pixel).
Tensor load_vectors(const std::string& path, Device device) {
  Tensor z = io::read_npy_tensor(path, device);
  LVK_CHECK(z.dtype() == DType::f32, "quantize: ", path, ": vectors must be float32, got ", z.str());
  LVK_CHECK(z.rank() == 2 || z.rank() == 4, "quantize: ", path, ": vectors must be [N, C] or [B, C, H, W], got ",
            z.shape().str());
  return z;
}

// The names of a file's tensors, for an error message.
std::string tensor_names(const io::SafetensorsFile& file) {
  std::string names;
  for (const io::SafetensorsEntry& t : file.tensors) names += (names.empty() ? "" : ", ") + t.name;
  return names.empty() ? "no tensors" : names;
}

// A .npy codebook, or tensor `name` of a .safetensors file (a checkpoint, say).
Tensor load_codebook(const std::string& path, const std::string& name, Device device) {
  if (!ends_with(path, ".safetensors")) {
    LVK_CHECK(name.empty(), "quantize: --codebook-name picks a tensor of a .safetensors codebook, but ", path,
              " is not one");
    Tensor e = io::read_npy_tensor(path, device);
    LVK_CHECK(e.dtype() == DType::f32 && e.rank() == 2, "quantize: ", path, ": codebook must be float32 [K, C], got ",
              e.str());
    return e;
  }
  const io::SafetensorsFile file = io::read_safetensors(path);
  LVK_CHECK(!name.empty(), "quantize: ", path,
            " is a .safetensors file; name its codebook with --codebook-name (it holds ", tensor_names(file), ")");
  const io::SafetensorsEntry* entry = file.find(name);
  LVK_CHECK(entry != nullptr, "quantize: ", path, " has no tensor \"", name, "\" (it holds ", tensor_names(file), ")");
  LVK_CHECK(entry->dtype == "F32", "quantize: ", path, ": tensor \"", name, "\" is ", entry->dtype,
            "; a codebook must be F32");
  LVK_CHECK(entry->shape.size() == 2, "quantize: ", path, ": tensor \"", name, "\" has ", entry->shape.size(),
            " dimensions; a codebook must be [K, C]");
  return io::from_safetensors_entry(*entry, device);
}

struct QuantizeArgs {
  std::string input, codebook, codebook_name, output, z_q, distances, device = "auto", mode = "fp32",
                                                                      nonfinite = "error";
  bool cosine = false;
};

void run_quantize(const QuantizeArgs& a) {
  const Device device = parse_device(a.device);
  const Tensor z = load_vectors(a.input, device);
  const Tensor e = load_codebook(a.codebook, a.codebook_name, device);
  LVK_CHECK(z.dim(1) == e.dim(1), "quantize: ", a.input, " has C=", z.dim(1), " but codebook ", a.codebook,
            " has C=", e.dim(1));
  VqOptions o;
  o.z_q = !a.z_q.empty();
  o.distances = !a.distances.empty();
  o.counts = true;
  o.losses = false;
  o.cosine = a.cosine;
  o.precision = a.mode == "fast" ? VqPrecision::fast : VqPrecision::fp32;
  o.nonfinite = a.nonfinite == "skip" ? VqNonfinite::skip : VqNonfinite::error;
  check_finite("quantize", ("codebook " + a.codebook).c_str(), e);
  const VqResult r = vq_quantize(z, e, o);
  io::write_npy(a.output, r.indices);
  if (o.z_q) io::write_npy(a.z_q, r.z_q);
  if (o.distances) io::write_npy(a.distances, r.distances);
  const VqStats st = vq_stats(r.counts);
  int64_t skipped = 0;
  if (o.nonfinite == VqNonfinite::skip)
    for (int32_t k : r.indices.to_vector<int32_t>()) skipped += k < 0;
  std::printf("quantized %lld vectors (C=%lld) against K=%lld codes on %s: perplexity %.2f, %.1f%% of codes used",
              static_cast<long long>(r.indices.numel() - skipped), static_cast<long long>(z.dim(1)),
              static_cast<long long>(e.dim(0)), device.str().c_str(), st.perplexity, 100.0 * st.used_fraction);
  if (skipped > 0) std::printf("; %lld with NaN or Inf skipped (index -1)", static_cast<long long>(skipped));
  std::printf("\n");
}

struct KmeansArgs {
  std::string input, output, device = "auto";
  int64_t k = 512;
  int iterations = 20;
  uint64_t seed = 0;
  bool random_init = false;
};

void run_kmeans(const KmeansArgs& a) {
  const Device device = parse_device(a.device);
  const Tensor z = load_vectors(a.input, device);
  VqKmeansOptions o;
  o.iterations = a.iterations;
  o.seed = a.seed;
  o.plus_plus = !a.random_init;
  const Tensor codebook = vq_kmeans(z, a.k, o);
  io::write_npy(a.output, codebook);
  VqOptions q;
  q.z_q = false;
  q.counts = q.distances = true;
  const VqResult r = vq_quantize(z, codebook, q);
  const VqStats st = vq_stats(r.counts);
  std::printf("k-means: K=%lld codes of C=%lld from %lld vectors on %s; mean squared distance %.6g, perplexity %.2f\n",
              static_cast<long long>(a.k), static_cast<long long>(z.dim(1)), static_cast<long long>(r.indices.numel()),
              device.str().c_str(), r.codebook_loss.item() * static_cast<float>(z.dim(1)), st.perplexity);
}

}  // namespace

void add_quantize_commands(CLI::App& app) {
  auto qa = std::make_shared<QuantizeArgs>();
  CLI::App* q = app.add_subcommand("quantize", "Nearest-codebook indices for the vectors of a .npy file");
  q->add_option("--input,-i", qa->input, "float32 .npy of vectors, [N, C] or [B, C, H, W]")->required();
  q->add_option("--codebook,-c", qa->codebook,
                "float32 codebook [K, C]: a .npy file, or a .safetensors file with --codebook-name")
      ->required();
  q->add_option("--codebook-name", qa->codebook_name,
                "the codebook's tensor in a .safetensors file (a checkpoint, say)");
  q->add_option("--output,-o", qa->output, "int32 .npy of indices to write")->required();
  q->add_option("--z-q", qa->z_q, "also write the quantized vectors (float32 .npy, shaped like the input)");
  q->add_option("--distances", qa->distances, "also write ||z - e_k*||^2 per vector (float32 .npy)");
  q->add_option("--device", qa->device, "auto, cpu or cuda[:N]");
  q->add_option("--mode", qa->mode, "fp32 (exact FFMA) or fast (BF16 tensor-core shortlist + fp32 re-check)")
      ->check(CLI::IsMember({"fp32", "fast"}));
  q->add_option("--nonfinite", qa->nonfinite,
                "rows with NaN or Inf: error (refuse the input) or skip (index -1, left out of the statistics)")
      ->check(CLI::IsMember({"error", "skip"}));
  q->add_flag("--cosine", qa->cosine, "l2-normalise vectors and codes first (cosine-similarity codebook)");
  q->callback([qa] { run_quantize(*qa); });

  auto ka = std::make_shared<KmeansArgs>();
  CLI::App* k = app.add_subcommand("kmeans", "Fit a codebook to the vectors of a .npy file (k-means++ and Lloyd)");
  k->add_option("--input,-i", ka->input, "float32 .npy of vectors, [N, C] or [B, C, H, W]")->required();
  k->add_option("--output,-o", ka->output, "float32 .npy codebook [K, C] to write")->required();
  k->add_option("--k,-k", ka->k, "number of codes")->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  k->add_option("--iterations", ka->iterations, "Lloyd iterations at most")->check(CLI::Range(0, 100000));
  k->add_option("--seed", ka->seed, "Philox seed of the initialisation");
  k->add_option("--device", ka->device, "auto, cpu or cuda[:N]");
  k->add_flag("--random-init", ka->random_init, "seed with random rows instead of k-means++");
  k->callback([ka] { run_kmeans(*ka); });
}

}  // namespace lvk::cli
