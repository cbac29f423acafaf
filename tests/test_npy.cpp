// .npy reader/writer: round trips and hostile files, each expected to fail with a message naming
// the file and the problem.
#include <cstdio>
#include <fstream>

#include "runtime/io/npy.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "lvk_npy_" + name;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A v1 file with the given header dict and payload, padded like NumPy does.
std::string npy_v1(std::string dict, const std::string& payload) {
  size_t total = 10 + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + payload;
}

void expect_read_error(const std::string& name, const std::string& bytes, const std::string& part) {
  const std::string path = temp_path(name);
  write_bytes(path, bytes);
  try {
    io::read_npy(path);
    ADD_FAILURE() << name << ": no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << name << ": " << msg;
  }
  std::remove(path.c_str());
}

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  const std::string path = temp_path("f32.npy");
  const Tensor t = random_tensor({3, 4, 5}, 7, Device::cpu());
  io::write_npy(path, t);
  const Tensor back = io::read_npy_tensor(path);
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(back.to_vector<float>(), t.to_vector<float>());

  const Tensor i = Tensor::from_vector<int32_t>({1, -2, 3}, {3}, Device::cpu());
  io::write_npy(path, i);  // overwrites atomically
  const io::NpyArray a = io::read_npy(path);
  EXPECT_EQ(a.dtype, io::NpyDType::i32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(io::read_npy_tensor(path).to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 3}));

  const uint8_t u8[] = {0, 7, 255, 1};
  io::write_npy(path, io::NpyDType::u8, {2, 2}, u8);
  EXPECT_EQ(io::read_npy_tensor(path).to_vector<float>(), (std::vector<float>{0, 7, 255, 1}));

  io::write_npy(path, io::NpyDType::f32, {0, 64}, nullptr);  // empty arrays are fine
  EXPECT_EQ(io::read_npy(path).shape, (std::vector<int64_t>{0, 64}));
  std::remove(path.c_str());
}

TEST(Npy, HeaderIsAlignedAndReadableByNumpyConventions) {
  const std::string path = temp_path("align.npy");
  const float v[2] = {1.5f, -2.0f};
  io::write_npy(path, io::NpyDType::f32, {2}, v);
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // 10-byte prefix + dict + newline, padded with spaces to the next multiple of 64 (128), then data.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  ASSERT_EQ(bytes.size(), 128u + 8u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8), 118);
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes[127], '\n');
  std::remove(path.c_str());
}

TEST(Npy, AcceptsVersion2AndOtherKeyOrders) {
  std::string dict = "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}";
  std::string v2("\x93NUMPY\x02\x00", 8);
  size_t total = (12 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 12 - dict.size() - 1, ' ');
  dict += '\n';
  for (int b = 0; b < 4; ++b) v2 += static_cast<char>((dict.size() >> (8 * b)) & 0xff);
  const int32_t payload[2] = {5, 6};
  const std::string path = temp_path("v2.npy");
  write_bytes(path, v2 + dict + std::string(reinterpret_cast<const char*>(payload), 8));
  EXPECT_EQ(io::read_npy_tensor(path).to_vector<int32_t>(), (std::vector<int32_t>{5, 6}));
  std::remove(path.c_str());
}

TEST(Npy, RejectsHostileFiles) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string data16(16, '\0');
  expect_read_error("magic", "GIF89a-not-numpy-at-all", "bad magic");
  expect_read_error("short", std::string("\x93NUMPY", 6), "bad magic");
  expect_read_error("version", std::string("\x93NUMPY\x07\x00\x10\x00", 10) + std::string(16, ' '), "version 7");
  expect_read_error("header_past_end", std::string("\x93NUMPY\x01\x00\xff\x7f", 10) + "{'descr'", "truncated header");
  expect_read_error("truncated_data", npy_v1(ok_dict, data16.substr(0, 15)), "truncated data");
  expect_read_error("trailing", npy_v1(ok_dict, data16 + "x"), "trailing bytes");
  expect_read_error("big_endian", npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", data16), "'>f4'");
  expect_read_error("f64", npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data16), "'<f8'");
  expect_read_error("fortran", npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data16), "Fortran");
  expect_read_error("negative", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", data16),
                    "non-negative");
  expect_read_error("overflow",
                    npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data16),
                    "overflows");
  expect_read_error("huge_entry",
                    npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", data16),
                    "overflows");
  expect_read_error("missing_key", npy_v1("{'descr': '<f4', 'shape': (4,), }", data16), "lacks");
  expect_read_error("unknown_key", npy_v1("{'descr': '<f4', 'evil': 1, 'shape': (4,), }", data16), "unknown key");
  expect_read_error("garbage", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } junk", data16),
                    "trailing characters");
  expect_read_error("unterminated", npy_v1("{'descr: <f4", data16), "malformed header");
  try {
    io::read_npy(temp_path("does_not_exist.npy"));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does_not_exist.npy"), std::string::npos) << e.what();
  }
}

TEST(Npy, TensorReaderRejectsUnsupportedRank) {
  const std::string path = temp_path("rank0.npy");
  const float v = 1.0f;
  io::write_npy(path, io::NpyDType::f32, {}, &v);
  EXPECT_EQ(io::read_npy(path).numel(), 1);
  try {
    io::read_npy_tensor(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

// Interop with NumPy itself, when it is installed (skipped otherwise): numpy writes, lvk reads;
// lvk writes, numpy reads and checks every value.
TEST(Npy, InteroperatesWithNumpy) {
  if (std::system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "numpy is not installed";
  const std::string from_numpy = temp_path("from_numpy.npy"), from_lvk = temp_path("from_lvk.npy");
  const std::string write = "python3 -c \"import numpy as np; np.save('" + from_numpy +
                            "', (np.arange(24, dtype=np.float32) / 7 - 1).reshape(2, 3, 4))\"";
  ASSERT_EQ(std::system(write.c_str()), 0);
  const Tensor t = io::read_npy_tensor(from_numpy);
  ASSERT_EQ(t.shape(), (Shape{2, 3, 4}));
  const std::vector<float> v = t.to_vector<float>();
  for (int i = 0; i < 24; ++i) EXPECT_EQ(v[i], static_cast<float>(i) / 7 - 1) << i;

  io::write_npy(from_lvk, Tensor::from_vector<int32_t>({5, -6, 7, 2147483647, -2147483647 - 1, 0}, {3, 2}));
  const std::string check = "python3 -c \"import numpy as np; a = np.load('" + from_lvk +
                            "'); assert a.dtype == np.int32 and a.shape == (3, 2), (a.dtype, a.shape); "
                            "assert a.ravel().tolist() == [5, -6, 7, 2147483647, -2147483648, 0], a\"";
  EXPECT_EQ(std::system(check.c_str()), 0);
  std::remove(from_numpy.c_str());
  std::remove(from_lvk.c_str());
}

}  // namespace
}  // namespace lvk::test
