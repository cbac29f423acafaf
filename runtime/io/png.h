#pragma once
// PNG via libpng: 8-bit gray, RGB or RGBA. The writer is for image grids (samples,
// reconstructions); the reader exists for tests and round trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lvk::io {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 gray, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;              // [height, width, channels], interleaved
};

constexpr int kPngMaxSide = 1 << 14;  // larger images are rejected on read (memory guard)

std::vector<uint8_t> encode_png(const Image& image);
void write_png(const std::string& path, const Image& image);  // atomic
// Decodes to 8 bits per channel; palette images become RGB, 16-bit ones are stripped to 8.
Image decode_png(const uint8_t* bytes, size_t size, const std::string& source);
Image read_png(const std::string& path);

// Tiles n images [n, c, h, w] (planar f32, values in [0, 1], clamped) into one grid image with
// `cols` columns and `pad` pixels of border value `pad_value` between tiles. c is 1 or 3.
Image make_image_grid(const float* images, int64_t n, int c, int h, int w, int cols, int pad = 2,
                      uint8_t pad_value = 255);

}  // namespace lvk::io
