// Checkpoint integrity: CRC-32 checksums in the safetensors metadata, values checked on load,
// resume that walks back past damaged checkpoints (keeping them), and stale temp files of killed
// writers removed at the start of a run.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "models/checkpoint.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/safetensors_checksum.h"
#include "runtime/io/tensor_io.h"
#include "tests/harness.h"
#include "tests/train_util.h"

namespace fs = std::filesystem;

namespace lvk::test {
namespace {

io::SafetensorsFile two_tensors() {
  io::SafetensorsFile f;
  f.metadata["step"] = "7";
  f.add(io::to_safetensors_entry("a", Tensor::from_vector(std::vector<float>{1, 2, 3}, {3})));
  f.add(io::to_safetensors_entry("b", Tensor::from_vector(std::vector<int32_t>{4, 5}, {2})));
  return f;
}

// What a reader sees after a write: the bytes through the parser.
io::SafetensorsFile round_trip(const io::SafetensorsFile& f) {
  const std::vector<uint8_t> bytes = io::serialize_safetensors(f);
  return io::parse_safetensors(bytes.data(), bytes.size(), "mem");
}

TEST(Checksum, IsZlibsCrc32) {
  const char* text = "123456789";  // the CRC-32 check value of every CRC catalogue
  EXPECT_EQ(io::crc32(reinterpret_cast<const uint8_t*>(text), 9), 0xcbf43926u);
}

TEST(Checksum, VerifiesAndNamesWhatIsDamaged) {
  io::SafetensorsFile f = two_tensors();
  EXPECT_EQ(io::verify_checksums(round_trip(f), "mem"), io::ChecksumResult::absent);
  io::add_checksums(f);
  EXPECT_EQ(io::verify_checksums(round_trip(f), "mem"), io::ChecksumResult::verified);

  io::SafetensorsFile bad = round_trip(f);
  bad.tensors[1].data[0] ^= 1;
  EXPECT_LVK_ERROR(io::verify_checksums(bad, "ckpt.safetensors"), "ckpt.safetensors: damaged: tensor \"b\"");
  bad = round_trip(f);
  bad.metadata["step"] = "8";
  EXPECT_LVK_ERROR(io::verify_checksums(bad, "mem"), "damaged: the header");
  bad = round_trip(f);
  bad.tensors[0].shape = {1, 3};
  EXPECT_LVK_ERROR(io::verify_checksums(bad, "mem"), "damaged: the header");
  bad = round_trip(f);
  bad.metadata.erase(io::kCrc32HeaderKey);
  EXPECT_LVK_ERROR(io::verify_checksums(bad, "mem"), "but not crc32_header");
}

TrainConfig tiny(const std::string& out) {
  TrainConfig c = small_run("vae", {{"latent", 4}, {"hidden", 16}}, out);
  c.checkpoint_every = 2;
  c.eval_every = 100;
  c.eval_batches = 1;
  return c;
}

void train(const TrainConfig& c, bool resume = false) {
  Trainer(c, Device::cpu(), resume).run([](const StepReport&) {}, [](const EvalReport&) {});
}

// Rewrites a checkpoint in place through `edit`, the way an older lvk or damage would leave it.
void rewrite(const std::string& path, const std::function<void(io::SafetensorsFile&)>& edit) {
  io::SafetensorsFile f = io::read_safetensors(path);
  edit(f);
  io::write_safetensors(path, f);
}

TEST(CheckpointIntegrity, DamagedBytesAreRefusedNamingFileAndTensor) {
  const std::string dir = fresh_run_dir("integrity_damaged");
  train(tiny(dir));
  const std::string ckpt = checkpoint_path(dir, 6);
  EXPECT_TRUE(load_checkpoint(ckpt, Device::cpu()).integrity_note.empty());
  std::vector<uint8_t> bytes = io::read_file(ckpt);
  std::memset(bytes.data() + bytes.size() / 2, 0xff, 64);  // NaN bytes in the middle, as the disk block
  io::write_file_atomic(ckpt, bytes.data(), bytes.size());
  EXPECT_LVK_ERROR(load_checkpoint(ckpt, Device::cpu()), ckpt + ": damaged: tensor \"");
}

TEST(CheckpointIntegrity, OldCheckpointsLoadWithANoteAndNonFiniteValuesAreRefused) {
  const std::string dir = fresh_run_dir("integrity_old");
  train(tiny(dir));
  const std::string ckpt = checkpoint_path(dir, 6);
  rewrite(ckpt, [](io::SafetensorsFile& f) {
    f.metadata.erase(io::kCrc32HeaderKey);
    f.metadata.erase(io::kCrc32TensorsKey);
  });
  const CheckpointState s = load_checkpoint(ckpt, Device::cpu());
  EXPECT_NE(s.integrity_note.find("carries no checksums"), std::string::npos) << s.integrity_note;
  std::string poisoned;
  rewrite(ckpt, [&](io::SafetensorsFile& f) {
    auto e_it = std::find_if(f.tensors.begin(), f.tensors.end(), [](const io::SafetensorsEntry& t) {
      return t.name.rfind("param/", 0) == 0 && t.dtype == "F32" && t.numel() >= 2;
    });
    ASSERT_NE(e_it, f.tensors.end());
    io::SafetensorsEntry& e = *e_it;
    poisoned = e.name;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(e.data.data() + 4, &nan, sizeof nan);
  });
  EXPECT_LVK_ERROR(load_checkpoint(ckpt, Device::cpu()),
                   "tensor '" + poisoned + "' holds 1 non-finite value (first at element 1");
  // With checksums recomputed over the NaN (a run that saved a poisoned state), the value check
  // still refuses it.
  rewrite(ckpt, [](io::SafetensorsFile& f) { io::add_checksums(f); });
  EXPECT_LVK_ERROR(load_checkpoint(ckpt, Device::cpu()), "non-finite value");
}

TEST(CheckpointIntegrity, ResumeWalksBackPastDamagedCheckpointsAndKeepsThem) {
  const std::string dir = fresh_run_dir("integrity_resume");
  TrainConfig c = tiny(dir);
  train(c);  // checkpoints 2, 4, 6
  for (int64_t step : {6, 4}) fs::resize_file(checkpoint_path(dir, step), 1000);
  c.steps = 8;
  Trainer t(c, Device::cpu(), true);
  EXPECT_EQ(t.step(), 2);
  ASSERT_EQ(t.notes().size(), 2u);
  EXPECT_NE(t.notes()[0].find(checkpoint_path(dir, 6)), std::string::npos) << t.notes()[0];
  EXPECT_NE(t.notes()[1].find(checkpoint_path(dir, 4)), std::string::npos) << t.notes()[1];
  for (int64_t step : {6, 4}) EXPECT_EQ(fs::file_size(checkpoint_path(dir, step) + ".damaged"), 1000u);
  t.run([](const StepReport&) {}, [](const EvalReport&) {});
  EXPECT_EQ(load_checkpoint(checkpoint_path(dir, 8), Device::cpu()).step, 8);

  for (const std::string& p : list_checkpoints(dir)) fs::resize_file(p, 10);
  EXPECT_LVK_ERROR(Trainer(c, Device::cpu(), true), "no intact checkpoint in " + dir);
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

TEST(CheckpointIntegrity, StaleTempFilesOfDeadWritersAreRemoved) {
  const std::string dir = fresh_run_dir("integrity_temps");
  fs::create_directories(dir);
  const std::string dead = dir + "/.ckpt-00000004.safetensors.tmp." + std::to_string(dead_pid()) + ".0";
  const std::string live = dir + "/.ckpt-00000004.safetensors.tmp." + std::to_string(getpid()) + ".3";
  const std::string other = dir + "/.notes.tmp.x.0";  // not our pattern
  for (const std::string& p : {dead, live, other}) io::write_file_atomic(p, "x", 1);
  EXPECT_EQ(io::remove_stale_temp_files(dir), std::vector<std::string>{dead});
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
}

}  // namespace
}  // namespace lvk::test
