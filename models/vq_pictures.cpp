#include "models/vq_pictures.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace lvk {

namespace {
// A well-spread colour per code: the golden-ratio hue walk, full saturation, bright value.
void code_colour(int32_t code, uint8_t rgb[3]) {
  const double h = std::fmod(static_cast<double>(code) * 0.6180339887498949, 1.0) * 6.0;
  const int sector = static_cast<int>(h);
  const double f = h - sector;
  const double v = 0.95, s = 0.75 + 0.25 * ((code / 7) % 2);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (sector % 6) {
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    case 5:
      r = v, g = p, b = q;
      break;
    default:
      break;
  }
  rgb[0] = static_cast<uint8_t>(r * 255), rgb[1] = static_cast<uint8_t>(g * 255),
  rgb[2] = static_cast<uint8_t>(b * 255);
}
}  // namespace

io::Image code_usage_image(const std::vector<int32_t>& counts, int height, int bar_width) {
  LVK_CHECK(!counts.empty(), "code_usage_image: no counts");
  LVK_CHECK(height >= 8 && bar_width >= 1, "code_usage_image: height=", height, " bar_width=", bar_width,
            ", expected height >= 8 and bar_width >= 1");
  const int64_t width = static_cast<int64_t>(counts.size()) * bar_width;
  LVK_CHECK(width <= io::kPngMaxSide, "code_usage_image: ", counts.size(), " codes of ", bar_width,
            " pixels exceed the PNG side limit ", io::kPngMaxSide, "; use bar_width 1");
  io::Image img;
  img.width = static_cast<int>(width);
  img.height = height;
  img.channels = 3;
  img.pixels.assign(static_cast<size_t>(img.width) * height * 3, 255);
  const int32_t top = std::max(1, *std::max_element(counts.begin(), counts.end()));
  for (size_t k = 0; k < counts.size(); ++k) {
    const int bar =
        counts[k] > 0 ? std::max(1, static_cast<int>(static_cast<int64_t>(counts[k]) * (height - 2) / top)) : 0;
    for (int x = 0; x < bar_width; ++x) {
      const int col = static_cast<int>(k) * bar_width + x;
      auto put = [&](int y, uint8_t r, uint8_t g, uint8_t b) {
        uint8_t* px = &img.pixels[(static_cast<size_t>(y) * img.width + col) * 3];
        px[0] = r, px[1] = g, px[2] = b;
      };
      if (bar == 0) {
        put(height - 1, 220, 30, 30);
        put(height - 2, 220, 30, 30);
      }
      for (int y = 0; y < bar; ++y) put(height - 1 - y, 40, 90, 170);
    }
  }
  return img;
}

io::Image code_map_image(const Tensor& indices, int cell, int cols, int64_t max_images) {
  LVK_CHECK(indices.rank() == 3 && indices.dtype() == DType::i32,
            "code_map_image: expected i32 indices [B, h, w], got ", indices.str());
  LVK_CHECK(cell >= 1 && cols >= 1 && max_images >= 1, "code_map_image: cell=", cell, " cols=", cols,
            " max_images=", max_images, ", expected all >= 1");
  const Tensor host = indices.to(Device::cpu());
  const std::vector<int32_t> v = host.to_vector<int32_t>();
  const int64_t n = std::min(indices.dim(0), max_images), h = indices.dim(1), w = indices.dim(2);
  const int64_t c = std::min<int64_t>(cols, std::max<int64_t>(1, n)), rows = (n + c - 1) / c, pad = 2;
  const int64_t tw = w * cell, th = h * cell;
  const int64_t width = c * tw + (c + 1) * pad, height = std::max<int64_t>(1, rows) * th + (rows + 1) * pad;
  LVK_CHECK(width <= io::kPngMaxSide && height <= io::kPngMaxSide, "code_map_image: the grid would be ", width, "x",
            height, " pixels, over the PNG side limit; lower cell or max_images");
  io::Image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = 3;
  img.pixels.assign(static_cast<size_t>(width * height * 3), 255);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = pad + (i % c) * (tw + pad), y0 = pad + (i / c) * (th + pad);
    for (int64_t y = 0; y < th; ++y)
      for (int64_t x = 0; x < tw; ++x) {
        uint8_t rgb[3];
        code_colour(v[static_cast<size_t>((i * h + y / cell) * w + x / cell)], rgb);
        uint8_t* px = &img.pixels[static_cast<size_t>(((y0 + y) * width + x0 + x) * 3)];
        px[0] = rgb[0], px[1] = rgb[1], px[2] = rgb[2];
      }
  }
  return img;
}

}  // namespace lvk
