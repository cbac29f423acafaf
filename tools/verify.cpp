// `lvk verify PATH...`: loads each checkpoint (a file, or every checkpoint of a run folder) the way
// training and evaluation do, verifying its checksums and values, and says which are intact.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "runtime/device.h"
#include "tools/commands.h"

namespace lvk::cli {

namespace {

std::vector<std::string> checkpoint_files(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return {path};
  std::vector<std::string> files = list_checkpoints(path);
  LVK_CHECK(!files.empty(), "verify: the run folder ", path, " holds no checkpoint (ckpt-*.safetensors)");
  return files;
}

void run_verify(const std::vector<std::string>& paths) {
  int damaged = 0, checked = 0;
  for (const std::string& path : paths)
    for (const std::string& file : checkpoint_files(path)) {
      ++checked;
      try {
        const CheckpointState s = load_checkpoint(file, Device::cpu());
        std::printf("ok       %s (step %lld, %s)\n", file.c_str(), static_cast<long long>(s.step),
                    s.integrity_note.empty() ? "checksums verified" : "no checksums; values finite");
      } catch (const Error& e) {
        ++damaged;
        std::printf("DAMAGED  %s\n", e.what());
      }
    }
  LVK_CHECK(damaged == 0, "verify: ", damaged, " of ", checked, " checkpoints are damaged");
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("verify", "Check checkpoints (files or run folders): checksums and finite values");
  cmd->add_option("paths", *paths, "checkpoint files or run folders")->required();
  cmd->callback([paths] { run_verify(*paths); });
}

}  // namespace lvk::cli
