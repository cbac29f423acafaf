// safetensors: round trips, the format's validation rules on hostile files, atomic writes, and
// interop with Python's safetensors/numpy when installed.
#include <cstring>
#include <filesystem>

#include "runtime/io/atomic_file.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/tensor_io.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

using io::SafetensorsEntry;
using io::SafetensorsFile;

// A file image from a literal header and a data region, for hand-made hostile inputs.
std::vector<uint8_t> raw_file(const std::string& header, size_t data_bytes, uint64_t claimed_n = ~0ull) {
  const uint64_t n = claimed_n == ~0ull ? header.size() : claimed_n;
  std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

SafetensorsFile parse(const std::vector<uint8_t>& b) {
  return io::parse_safetensors(b.data(), b.size(), "mem.st");
}

TEST(Safetensors, RoundTripsF32I32U8AndMetadata) {
  TempDir dir;
  SafetensorsFile f;
  f.metadata["format"] = "pt";
  f.metadata["step"] = "17";
  Tensor w = random_tensor({3, 5}, 1, Device::cpu());
  f.add(io::to_safetensors_entry("layer.weight", w));
  f.add(io::to_safetensors_entry("ids", Tensor::from_vector<int32_t>({-1, 0, 7, 2147483647}, {4})));
  SafetensorsEntry u8{"pixels", "U8", {2, 3}, {0, 1, 2, 253, 254, 255}};
  f.add(u8);
  f.add(SafetensorsEntry{"empty", "F32", {0, 4}, {}});
  f.add(SafetensorsEntry{"scalar", "F32", {}, {0, 0, 128, 63}});  // 1.0f
  io::write_safetensors(dir.file("a.safetensors"), f);
  const SafetensorsFile g = io::read_safetensors(dir.file("a.safetensors"));
  EXPECT_EQ(g.metadata, f.metadata);
  ASSERT_EQ(g.tensors.size(), 5u);
  EXPECT_EQ(io::from_safetensors_entry(g.at("layer.weight")).to_vector<float>(), w.to_vector<float>());
  EXPECT_EQ(io::from_safetensors_entry(g.at("ids")).to_vector<int32_t>(), (std::vector<int32_t>{-1, 0, 7, 2147483647}));
  EXPECT_EQ(g.at("pixels").data, u8.data);
  EXPECT_EQ(g.at("pixels").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(g.at("empty").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(io::from_safetensors_entry(g.at("scalar")).item(), 1.0f);
  // Header padded so the data region starts 8-aligned.
  const auto bytes = io::read_file(dir.file("a.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, SavesAndLoadsNamedTensorLists) {
  TempDir dir;
  const std::vector<std::pair<std::string, Tensor>> in{{"enc.weight", random_tensor({4, 3}, 1, Device::cpu())},
                                                       {"step", Tensor::from_vector<int32_t>({12}, {1})}};
  io::save_tensors(dir.file("ckpt.safetensors"), in, {{"format", "pt"}});
  const auto out = io::load_tensors(dir.file("ckpt.safetensors"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "enc.weight");
  EXPECT_EQ(out[0].second.to_vector<float>(), in[0].second.to_vector<float>());
  EXPECT_EQ(out[1].second.to_vector<int32_t>(), (std::vector<int32_t>{12}));
  LVK_EXPECT_ERROR(io::save_tensors(dir.file("x"), {in[0], in[0]}), "duplicate tensor name \"enc.weight\"");
}

TEST(Safetensors, AcceptsMinimalHandWrittenFile) {
  const auto f = parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2));
  EXPECT_EQ(f.at("a").data.size(), 2u);
  const auto e = parse(raw_file("{}", 0));
  EXPECT_TRUE(e.tensors.empty());
}

TEST(Safetensors, RejectsTruncatedAndOversizedHeaders) {
  std::vector<uint8_t> tiny{1, 2, 3};
  LVK_EXPECT_ERROR(parse(tiny), "mem.st", "truncated");
  LVK_EXPECT_ERROR(parse(raw_file("{}", 0, 100'000'001)), "header size 100000001", "limit");
  LVK_EXPECT_ERROR(parse(raw_file("{}", 0, 50)), "truncated", "header size 50");
  LVK_EXPECT_ERROR(parse(raw_file("[]", 0)), "does not start with '{'");
  LVK_EXPECT_ERROR(parse(raw_file("{\"a\":", 0)), "not valid JSON");
  // Data region shorter than the offsets claim.
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12)), "\"a\"",
                   "beyond the data region");
  // Trailing bytes after the last tensor.
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8)), "trailing bytes");
}

TEST(Safetensors, RejectsInconsistentOffsets) {
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4)), "\"a\"",
                   "span 4 bytes", "needs 8");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                  R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                                  3)),
                   "\"b\"", "overlapping");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4)), "\"a\"", "hole");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}})", 4)), "end before begin");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,-2]}})", 4)), "non-negative");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551615]}})", 1)),
                   "\"a\"");
}

TEST(Safetensors, RejectsOverflowingShapesUnknownDtypesAndDuplicates) {
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4)),
                   "\"a\"", "overflows");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4)),
                   "overflows");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}})", 1)),
                   "unknown dtype \"Q7\"");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                  R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                  2)),
                   "duplicate key \"a\"");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1)),
                   "duplicate key \"dtype\"");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1)), "shape");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"a":{"dtype":"U8","shape":[1]}})", 1)), "data_offsets");
  LVK_EXPECT_ERROR(parse(raw_file(R"({"__metadata__":{"k":1}})", 0)), "__metadata__", "\"k\"");
  SafetensorsFile f;
  f.add(SafetensorsEntry{"x", "U8", {1}, {1}});
  LVK_EXPECT_ERROR(f.add(SafetensorsEntry{"x", "U8", {1}, {1}}), "duplicate tensor name \"x\"");
  f.tensors.push_back(SafetensorsEntry{"y", "F32", {2}, {1, 2, 3}});
  LVK_EXPECT_ERROR(io::serialize_safetensors(f), "\"y\"", "holds 3 bytes");
  LVK_EXPECT_ERROR(io::from_safetensors_entry(f.at("x")), "\"x\"", "U8");
}

TEST(Safetensors, ReaderNamesTheMissingFile) {
  LVK_EXPECT_ERROR(io::read_safetensors("/nonexistent/lvk/x.safetensors"), "/nonexistent/lvk/x.safetensors");
}

TEST(AtomicFile, UncommittedWriteLeavesTheOldFileAndNoTemporaries) {
  TempDir dir;
  const std::string path = dir.file("ckpt.bin");
  io::write_file_atomic(path, "old", 3);
  {
    io::AtomicFile f(path);
    f.write("new!", 4);
    // destroyed without commit: a crash mid-save
  }
  const auto bytes = io::read_file(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "old");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
  io::write_file_atomic(path, "new!", 4);
  const auto after = io::read_file(path);
  EXPECT_EQ(std::string(after.begin(), after.end()), "new!");
  LVK_EXPECT_ERROR(io::write_file_atomic("/nonexistent/lvk/dir/f", "x", 1), "/nonexistent/lvk/dir/f");
}

// Interop: Python's safetensors + numpy read our file when installed; otherwise a plain-Python
// parse of the header and data (struct) does, so the layout is checked by an independent reader.
TEST(Safetensors, PythonReadsLvkFile) {
  if (std::system("python3 -c 'import json, struct' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not found";
  TempDir dir;
  SafetensorsFile f;
  f.metadata["who"] = "lvk";
  f.add(io::to_safetensors_entry("w", Tensor::from_vector<float>({1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f}, {2, 3})));
  f.add(io::to_safetensors_entry("i", Tensor::from_vector<int32_t>({4, -5}, {2})));
  io::write_safetensors(dir.file("x.safetensors"), f);
  const std::string script = dir.file("check.py");
  std::ofstream(script) << R"(import sys, json, struct
p = sys.argv[1]
try:
    import numpy as np
    from safetensors.numpy import load_file
    t = load_file(p)
    assert t['w'].shape == (2, 3) and t['w'].dtype == np.float32
    t = {k: v.flatten().tolist() for k, v in t.items()}
except ImportError:
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); d = b[8+n:]
    assert h['__metadata__'] == {'who': 'lvk'} and h['w']['shape'] == [2, 3]
    fmt = {'F32': 'f', 'I32': 'i'}
    t = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        lo, hi = v['data_offsets']
        t[k] = list(struct.unpack('<%d%s' % ((hi - lo) // 4, fmt[v['dtype']]), d[lo:hi]))
assert t['w'] == [1.5, -2, 3.25, 0, 7, -0.5], t['w']
assert t['i'] == [4, -5], t['i']
)";
  EXPECT_EQ(std::system(("python3 " + script + " " + dir.file("x.safetensors")).c_str()), 0);
}

}  // namespace
}  // namespace lvk::test
