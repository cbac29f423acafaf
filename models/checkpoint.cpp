#include "models/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/io/safetensors_checksum.h"
#include "runtime/io/tensor_io.h"

namespace fs = std::filesystem;

namespace lvk {

namespace {

constexpr const char* kFormat = "lvk-checkpoint-1";

// Checkpoint files of `dir`, oldest first (the zero-padded step sorts lexicographically).
std::vector<fs::path> checkpoints_in(const std::string& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0 && entry.path().extension() == ".safetensors") found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

void append_prefixed(io::SafetensorsFile& out, const std::string& prefix, const ParameterList& list) {
  for (const auto& [name, t] : list) out.add(io::to_safetensors_entry(prefix + name, t));
}

// A NaN or infinite weight or optimiser moment cannot come from a healthy run (the trainer never
// saves after a non-finite step), so it means damage, and training from it only wastes steps.
void check_finite(const io::SafetensorsEntry& e, const std::string& path) {
  if (e.dtype != "F32") return;
  const size_t n = e.data.size() / sizeof(float);
  int64_t bad = 0, first = -1;
  float first_value = 0;
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, e.data.data() + i * sizeof(float), sizeof v);
    if (std::isfinite(v)) continue;
    if (bad++ == 0) first = static_cast<int64_t>(i), first_value = v;
  }
  LVK_CHECK(bad == 0, "checkpoint ", path, ": tensor '", e.name, "' holds ", bad, " non-finite value",
            bad == 1 ? "" : "s", " (first at element ", first, ": ", first_value, ")");
}

}  // namespace

std::string checkpoint_path(const std::string& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%08lld.safetensors", static_cast<long long>(step));
  return (fs::path(dir) / name).string();
}

void save_checkpoint(const std::string& dir, const CheckpointState& s, int keep) {
  io::SafetensorsFile file;
  append_prefixed(file, "param/", s.params);
  append_prefixed(file, "buffer/", s.buffers);
  append_prefixed(file, "optim/", s.optimizer);
  file.metadata = {
      {"format", kFormat},
      {"step", std::to_string(s.step)},
      {"loader",
       nlohmann::json{{"seed", s.loader.seed}, {"epoch", s.loader.epoch}, {"position", s.loader.position}}.dump()},
      {"nonfinite_skipped", std::to_string(s.nonfinite_skipped)},
      {"image", nlohmann::json{s.image.channels, s.image.height, s.image.width}.dump()},
      {"config", s.config_json}};
  io::add_checksums(file);
  io::write_safetensors(checkpoint_path(dir, s.step), file);  // atomic: throws before replacing anything
  std::vector<fs::path> all = checkpoints_in(dir);
  for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 1)) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i], ec);  // a checkpoint we fail to prune is only disk space
  }
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> paths;
  for (const fs::path& p : checkpoints_in(dir)) paths.push_back(p.string());
  return paths;
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  std::vector<fs::path> all = checkpoints_in(dir);
  if (all.empty()) return std::nullopt;
  return all.back().string();
}

CheckpointState load_checkpoint(const std::string& path, Device device) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  const io::ChecksumResult integrity = io::verify_checksums(file, path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = file.metadata.find(key);
    LVK_CHECK(it != file.metadata.end(), "checkpoint ", path, ": metadata has no '", key, "' (not an lvk checkpoint?)");
    return it->second;
  };
  LVK_CHECK(meta("format") == kFormat, "checkpoint ", path, ": format '", meta("format"), "', expected ", kFormat);
  CheckpointState s;
  if (integrity == io::ChecksumResult::absent)
    s.integrity_note =
        "checkpoint " + path + " carries no checksums (written by an older lvk); only its values were checked";
  try {
    s.step = std::stoll(meta("step"));
    s.nonfinite_skipped = std::stoll(meta("nonfinite_skipped"));
    const nlohmann::json loader = nlohmann::json::parse(meta("loader"));
    s.loader = {loader.at("seed").get<uint64_t>(), loader.at("epoch").get<int64_t>(),
                loader.at("position").get<int64_t>()};
    const nlohmann::json image = nlohmann::json::parse(meta("image"));
    s.image = {image.at(0).get<int64_t>(), image.at(1).get<int64_t>(), image.at(2).get<int64_t>()};
  } catch (const std::exception& e) {
    fail("checkpoint ", path, ": unreadable step, loader or image metadata (", e.what(), ")");
  }
  s.config_json = meta("config");
  for (const io::SafetensorsEntry& e : file.tensors) {
    const size_t slash = e.name.find('/');
    const std::string group = slash == std::string::npos ? "" : e.name.substr(0, slash),
                      name = e.name.substr(slash + 1);
    ParameterList* into = group == "param"    ? &s.params
                          : group == "buffer" ? &s.buffers
                          : group == "optim"  ? &s.optimizer
                                              : nullptr;
    LVK_CHECK(into != nullptr, "checkpoint ", path, ": tensor '", e.name, "' is not under param/, buffer/ or optim/");
    check_finite(e, path);
    into->emplace_back(name, io::from_safetensors_entry(e, device));
  }
  return s;
}

ResumePoint load_newest_intact_checkpoint(const std::string& dir, Device device) {
  std::vector<fs::path> all = checkpoints_in(dir);
  LVK_CHECK(!all.empty(), "checkpoint: ", dir, " holds no checkpoint (ckpt-*.safetensors)");
  ResumePoint point;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const std::string path = it->string();
    try {
      point.state = load_checkpoint(path, device);
      point.path = path;
      return point;
    } catch (const Error& e) {
      const std::string aside = path + ".damaged";
      std::error_code ec;
      fs::rename(path, aside, ec);
      point.skipped.push_back(e.what() +
                              (ec ? " (could not rename it aside: " + ec.message() + ")" : "; kept as " + aside));
    }
  }
  std::string tried;
  for (const std::string& s : point.skipped) tried += "\n  " + s;
  fail("checkpoint: no intact checkpoint in ", dir, "; tried, newest first:", tried);
}

void assign_named(const char* what, const ParameterList& into, const ParameterList& from) {
  std::map<std::string, const Tensor*> source;
  for (const auto& [name, t] : from) source[name] = &t;
  LVK_CHECK(into.size() == from.size(), what, ": the checkpoint has ", from.size(), " tensors, the model expects ",
            into.size());
  for (const auto& [name, t] : into) {
    auto it = source.find(name);
    LVK_CHECK(it != source.end(), what, ": the checkpoint has no '", name, "'");
    const Tensor& src = *it->second;
    LVK_CHECK(src.shape() == t.shape() && src.dtype() == t.dtype(), what, ": '", name, "' is ", src.str(),
              " in the checkpoint but ", t.str(), " in the model");
    copy_bytes(t.raw(), t.device(), src.raw(), src.device(), t.bytes());
  }
}

}  // namespace lvk
