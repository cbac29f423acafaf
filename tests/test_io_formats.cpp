// IDX (raw and gzip), CIFAR-10 batches and PNG: round trips and hostile inputs.
#include <zlib.h>

#include "runtime/io/atomic_file.h"
#include "runtime/io/cifar.h"
#include "runtime/io/idx.h"
#include "runtime/io/png.h"
#include "tests/harness.h"
#include "tests/io_test_util.h"

namespace lvk::test {
namespace {

std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, size_t payload, uint8_t type = 0x08) {
  std::vector<uint8_t> b{0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  for (size_t i = 0; i < payload; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

io::IdxArray parse_idx(const std::vector<uint8_t>& b) {
  return io::parse_idx(b.data(), b.size(), "mem.idx");
}

TEST(Idx, ReadsRawAndGzip) {
  TempDir dir;
  const auto raw = idx_bytes({3, 2, 5}, 30);
  write_raw(dir.file("a.idx"), raw);
  write_raw(dir.file("a.idx.gz"), gzip(raw));
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    const io::IdxArray a = io::read_idx(dir.file(name));
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 5})) << name;
    ASSERT_EQ(a.data.size(), 30u);
    for (size_t i = 0; i < 30; ++i) EXPECT_EQ(a.data[i], static_cast<uint8_t>(i * 7));
  }
  EXPECT_EQ(parse_idx(idx_bytes({0, 28}, 0)).data.size(), 0u);
}

TEST(Idx, RejectsHostileFiles) {
  LVK_EXPECT_ERROR(parse_idx({0, 0}), "mem.idx", "truncated");
  LVK_EXPECT_ERROR(parse_idx({1, 0, 8, 1, 0, 0, 0, 0}), "bad magic");
  LVK_EXPECT_ERROR(parse_idx(idx_bytes({2}, 8, 0x0D)), "0xd", "not supported");
  LVK_EXPECT_ERROR(parse_idx(idx_bytes({}, 0)), "rank 0");
  LVK_EXPECT_ERROR(parse_idx({0, 0, 8, 3, 0, 0, 0, 1}), "cannot hold 3 dimensions");
  LVK_EXPECT_ERROR(parse_idx(idx_bytes({10, 28, 28}, 100)), "truncated", "7840");
  LVK_EXPECT_ERROR(parse_idx(idx_bytes({2, 2}, 5)), "1 trailing bytes");
  LVK_EXPECT_ERROR(parse_idx(idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, 0)), "overflows");
  auto gz = gzip(idx_bytes({4, 4}, 16));
  gz.resize(gz.size() / 2);
  LVK_EXPECT_ERROR(parse_idx(gz), "mem.idx", "gzip");
  auto corrupt = gzip(idx_bytes({4, 4}, 16));
  for (size_t i = 10; i < corrupt.size(); ++i) corrupt[i] ^= 0x5A;
  LVK_EXPECT_ERROR(parse_idx(corrupt), "mem.idx", "gzip");
  // A gzip bomb beyond the cap is refused while inflating.
  const auto bomb = gzip(std::vector<uint8_t>(1 << 20, 0));
  LVK_EXPECT_ERROR(io::parse_idx(bomb.data(), bomb.size(), "bomb", 1 << 16), "bomb", "exceeds the limit");
  LVK_EXPECT_ERROR(io::read_idx("/nonexistent/lvk/t10k"), "/nonexistent/lvk/t10k");
}

TEST(Idx, ReadsSharedMnistTestSet) {
  const std::string dir = std::string(LVK_SHARED_DATA_DIR) + "/mnist/";
  if (!std::ifstream(dir + "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "no MNIST under " << dir;
  const io::IdxArray images = io::read_idx(dir + "t10k-images-idx3-ubyte.gz");
  const io::IdxArray labels = io::read_idx(dir + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(images.dims, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(labels.dims, (std::vector<int64_t>{10000}));
  EXPECT_EQ(labels.data[0], 7);  // the first MNIST test digit is a 7
  for (uint8_t l : labels.data) ASSERT_LT(l, 10);
}

TEST(Cifar10, ParsesRecordsAndRejectsBadOnes) {
  TempDir dir;
  std::vector<uint8_t> b(2 * io::kCifarRecordBytes);
  b[0] = 3;
  b[io::kCifarRecordBytes] = 9;
  for (size_t i = 0; i < io::kCifarImageBytes; ++i) {
    b[1 + i] = static_cast<uint8_t>(i);
    b[io::kCifarRecordBytes + 1 + i] = static_cast<uint8_t>(255 - i % 256);
  }
  write_raw(dir.file("batch.bin"), b);
  const io::CifarBatch c = io::read_cifar10(dir.file("batch.bin"));
  EXPECT_EQ(c.count, 2);
  EXPECT_EQ(c.labels, (std::vector<uint8_t>{3, 9}));
  EXPECT_EQ(c.images[1025], 1);  // green plane, pixel (0, 1) of image 0
  EXPECT_EQ(c.images[io::kCifarImageBytes], 255);
  auto truncated = b;
  truncated.pop_back();
  LVK_EXPECT_ERROR(io::parse_cifar10(truncated.data(), truncated.size(), "t.bin"), "t.bin", "multiple");
  auto bad_label = b;
  bad_label[io::kCifarRecordBytes] = 10;
  LVK_EXPECT_ERROR(io::parse_cifar10(bad_label.data(), bad_label.size(), "t.bin"), "record 1", "label 10");
  LVK_EXPECT_ERROR(io::parse_cifar10(b.data(), 0, "t.bin"), "empty");
}

TEST(Png, RoundTripsGrayRgbRgba) {
  TempDir dir;
  for (int channels : {1, 3, 4}) {
    io::Image img{5, 3, channels, {}};
    for (int i = 0; i < 5 * 3 * channels; ++i) img.pixels.push_back(static_cast<uint8_t>(i * 17));
    const std::string path = dir.file("img" + std::to_string(channels) + ".png");
    io::write_png(path, img);
    const io::Image back = io::read_png(path);
    EXPECT_EQ(back.width, 5);
    EXPECT_EQ(back.height, 3);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, img.pixels);
  }
}

TEST(Png, RejectsHostileFiles) {
  io::Image img{4, 4, 1, std::vector<uint8_t>(16, 128)};
  auto bytes = io::encode_png(img);
  std::vector<uint8_t> magic = bytes;
  magic[1] = 'Q';
  LVK_EXPECT_ERROR(io::decode_png(magic.data(), magic.size(), "m.png"), "m.png", "signature");
  for (size_t keep : {size_t(12), size_t(40), bytes.size() - 13}) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_THROW(io::decode_png(cut.data(), cut.size(), "cut.png"), Error) << keep;
  }
  auto huge = bytes;  // IHDR width 2^30: refused before any pixel allocation
  huge[16] = 0x40;
  EXPECT_THROW(io::decode_png(huge.data(), huge.size(), "huge.png"), Error);
  LVK_EXPECT_ERROR(io::encode_png(io::Image{2, 2, 2, std::vector<uint8_t>(8)}), "channels=2");
  LVK_EXPECT_ERROR(io::encode_png(io::Image{2, 2, 1, std::vector<uint8_t>(3)}), "3 pixel bytes");
}

TEST(Png, ImageGridTilesAndClamps) {
  const std::vector<float> images{0.0f, 1.0f, 2.0f, -1.0f,  // image 0, 2x2
                                  0.5f, 0.5f, 0.5f, 0.5f};  // image 1
  const io::Image g = io::make_image_grid(images.data(), 2, 1, 2, 2, 2, 1, 7);
  EXPECT_EQ(g.width, 2 * 2 + 3);
  EXPECT_EQ(g.height, 2 + 2);
  EXPECT_EQ(g.pixels[0], 7);            // border
  EXPECT_EQ(g.pixels[1 * 7 + 1], 0);    // image 0 (0, 0)
  EXPECT_EQ(g.pixels[1 * 7 + 2], 255);  // image 0 (0, 1)
  EXPECT_EQ(g.pixels[2 * 7 + 1], 255);  // 2.0 clamped
  EXPECT_EQ(g.pixels[2 * 7 + 2], 0);    // -1 clamped
  EXPECT_EQ(g.pixels[1 * 7 + 4], 128);  // image 1
  LVK_EXPECT_ERROR(io::make_image_grid(images.data(), 2, 2, 2, 2, 2), "c=2");
}

}  // namespace
}  // namespace lvk::test
