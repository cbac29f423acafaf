#include "runtime/io/png.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "runtime/io/atomic_file.h"

namespace lvk::io {

namespace {

// libpng reports errors by longjmp; C++ exceptions must not cross its C frames. The callbacks
// record the message and longjmp back to the setjmp in the (POD-only) worker functions, which
// then throw from C++ code.
struct PngErr {
  char message[256] = {0};
};

void on_error(png_structp png, png_const_charp msg) {
  auto* err = static_cast<PngErr*>(png_get_error_ptr(png));
  std::snprintf(err->message, sizeof(err->message), "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

struct WriteSink {
  std::vector<uint8_t>* out;
};
void sink_write(png_structp png, png_bytep data, png_size_t n) {
  auto* s = static_cast<WriteSink*>(png_get_io_ptr(png));
  s->out->insert(s->out->end(), data, data + n);
}
void sink_flush(png_structp) {}

struct ReadSource {
  const uint8_t* data;
  size_t size, pos;
};
void source_read(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<ReadSource*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "truncated file (read past the end)");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

// Returns false with err->message set on failure. `rows` must outlive the call.
bool encode_impl(const Image& img, png_bytep* rows, std::vector<uint8_t>* out, PngErr* err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_error, on_warning);
  if (!png) return std::snprintf(err->message, sizeof(err->message), "out of memory"), false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  WriteSink sink{out};
  png_set_write_fn(png, &sink, sink_write, sink_flush);
  const int type = img.channels == 1   ? PNG_COLOR_TYPE_GRAY
                   : img.channels == 3 ? PNG_COLOR_TYPE_RGB
                                       : PNG_COLOR_TYPE_RGBA;
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.width), static_cast<png_uint_32>(img.height), 8, type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

struct DecodeState {
  png_structp png = nullptr;
  png_infop info = nullptr;
};

// Two phases so the pixel buffer is allocated by C++ between them.
bool decode_header(DecodeState* st, ReadSource* src, PngErr* err, png_uint_32* w, png_uint_32* h, int* channels) {
  if (setjmp(png_jmpbuf(st->png))) return false;
  png_set_read_fn(st->png, src, source_read);
  png_set_user_limits(st->png, kPngMaxSide, kPngMaxSide);
  png_read_info(st->png, st->info);
  png_set_expand(st->png);  // palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha
  png_set_strip_16(st->png);
  png_read_update_info(st->png, st->info);
  *w = png_get_image_width(st->png, st->info);
  *h = png_get_image_height(st->png, st->info);
  *channels = png_get_channels(st->png, st->info);
  (void)err;
  return true;
}

bool decode_rows(DecodeState* st, png_bytep* rows) {
  if (setjmp(png_jmpbuf(st->png))) return false;
  png_read_image(st->png, rows);
  png_read_end(st->png, nullptr);
  return true;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& img) {
  LVK_CHECK(img.channels == 1 || img.channels == 3 || img.channels == 4, "encode_png: channels=", img.channels,
            ", expected 1, 3 or 4");
  LVK_CHECK(img.width > 0 && img.height > 0, "encode_png: image is ", img.width, "x", img.height,
            ", expected a positive size");
  LVK_CHECK(img.pixels.size() == size_t(img.width) * img.height * img.channels, "encode_png: ", img.pixels.size(),
            " pixel bytes for ", img.width, "x", img.height, "x", img.channels);
  std::vector<png_bytep> rows(static_cast<size_t>(img.height));
  for (int y = 0; y < img.height; ++y)
    rows[y] = const_cast<png_bytep>(img.pixels.data() + size_t(y) * img.width * img.channels);
  std::vector<uint8_t> out;
  PngErr err;
  if (!encode_impl(img, rows.data(), &out, &err)) fail("encode_png: ", err.message);
  return out;
}

void write_png(const std::string& path, const Image& image) {
  const std::vector<uint8_t> bytes = encode_png(image);
  write_file_atomic(path, bytes.data(), bytes.size());
}

Image decode_png(const uint8_t* bytes, size_t size, const std::string& source) {
  LVK_CHECK(size >= 8 && png_sig_cmp(bytes, 0, 8) == 0, "png ", source, ": not a PNG file (bad signature)");
  PngErr err;
  DecodeState st;
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
  LVK_CHECK(st.png != nullptr, "png ", source, ": out of memory");
  st.info = png_create_info_struct(st.png);
  if (!st.info) {
    png_destroy_read_struct(&st.png, nullptr, nullptr);
    fail("png ", source, ": out of memory");
  }
  ReadSource src{bytes, size, 0};
  png_uint_32 w = 0, h = 0;
  int channels = 0;
  Image img;
  bool ok = decode_header(&st, &src, &err, &w, &h, &channels);
  if (ok) {
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.channels = channels;
    img.pixels.resize(size_t(w) * h * channels);
    std::vector<png_bytep> rows(h);
    for (png_uint_32 y = 0; y < h; ++y) rows[y] = img.pixels.data() + size_t(y) * w * channels;
    ok = decode_rows(&st, rows.data());
  }
  png_destroy_read_struct(&st.png, &st.info, nullptr);
  if (!ok) fail("png ", source, ": ", err.message);
  return img;
}

Image read_png(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, size_t{1} << 30);
  return decode_png(bytes.data(), bytes.size(), path);
}

Image make_image_grid(const float* images, int64_t n, int c, int h, int w, int cols, int pad, uint8_t pad_value) {
  LVK_CHECK(n > 0, "make_image_grid: n=", n, ", expected at least one image");
  LVK_CHECK(c == 1 || c == 3, "make_image_grid: c=", c, ", expected 1 or 3");
  LVK_CHECK(h > 0 && w > 0, "make_image_grid: image size ", h, "x", w, " must be positive");
  LVK_CHECK(cols > 0 && pad >= 0, "make_image_grid: cols=", cols, " pad=", pad, ", expected cols > 0, pad >= 0");
  cols = static_cast<int>(std::min<int64_t>(cols, n));
  const int rows = static_cast<int>((n + cols - 1) / cols);
  Image g;
  g.channels = c;
  g.width = cols * w + (cols + 1) * pad;
  g.height = rows * h + (rows + 1) * pad;
  g.pixels.assign(size_t(g.width) * g.height * c, pad_value);
  for (int64_t i = 0; i < n; ++i) {
    const int gx = static_cast<int>(i % cols) * (w + pad) + pad, gy = static_cast<int>(i / cols) * (h + pad) + pad;
    for (int ch = 0; ch < c; ++ch)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          float v = images[((i * c + ch) * h + y) * w + x];
          v = std::isnan(v) ? 0.0f : std::min(1.0f, std::max(0.0f, v));
          g.pixels[(size_t(gy + y) * g.width + gx + x) * c + ch] = static_cast<uint8_t>(std::lround(v * 255.0f));
        }
  }
  return g;
}

}  // namespace lvk::io
