// .npy reading and writing (see npy.h). The header is a Python dict literal; we accept exactly
// the subset NumPy writes ({'descr': ..., 'fortran_order': ..., 'shape': (...), } in any key
// order, with spaces) and reject everything else rather than guess.
#include "runtime/io/npy.h"

#include <cctype>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "runtime/io/atomic_file.h"

namespace lvk::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeader = size_t{1} << 20;  // NumPy itself caps headers far below this

size_t item_size(NpyDType t) {
  return t == NpyDType::u8 ? 1 : 4;
}

const char* descr_of(NpyDType t) {
  switch (t) {
    case NpyDType::f32:
      return "<f4";
    case NpyDType::i32:
      return "<i4";
    case NpyDType::u8:
      return "|u1";
  }
  return "?";
}

// A tiny cursor over the header text; every failure names the file.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  [[noreturn]] void bad(const std::string& what) const {
    fail("read_npy: ", name_, ": malformed header (", what, ") in ", s_);
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) bad(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) bad("expected a quoted string");
    const char q = s_[pos_++];
    const size_t end = s_.find(q, pos_);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }
  std::string word() {
    skip_space();
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  int64_t integer() {
    skip_space();
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_])))
      bad("shape entries must be non-negative integers");
    int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) bad("shape entry overflows");
      v = v * 10 + (s_[pos_++] - '0');
    }
    return v;
  }
  bool at_end() {
    skip_space();
    while (pos_ < s_.size() && (s_[pos_] == '\n' || s_[pos_] == ' ')) ++pos_;
    return pos_ == s_.size();
  }

 private:
  const std::string& s_;
  const std::string& name_;
  size_t pos_ = 0;
};

}  // namespace

const char* npy_dtype_name(NpyDType t) {
  switch (t) {
    case NpyDType::f32:
      return "float32";
    case NpyDType::i32:
      return "int32";
    case NpyDType::u8:
      return "uint8";
  }
  return "?";
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& name) {
  LVK_CHECK(size >= kMagicLen + 4 && std::memcmp(bytes, kMagic, kMagicLen) == 0, "read_npy: ", name,
            ": not a .npy file (bad magic or shorter than a header, ", size, " bytes)");
  const int major = bytes[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (static_cast<size_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    LVK_CHECK(size >= 12, "read_npy: ", name, ": truncated header");
    header_len = bytes[8] | (static_cast<size_t>(bytes[9]) << 8) | (static_cast<size_t>(bytes[10]) << 16) |
                 (static_cast<size_t>(bytes[11]) << 24);
    header_start = 12;
  } else {
    fail("read_npy: ", name, ": unsupported .npy format version ", major, ".", int(bytes[7]), " (expected 1.0 or 2.0)");
  }
  LVK_CHECK(header_len <= kMaxHeader, "read_npy: ", name, ": header length ", header_len, " is implausibly large");
  LVK_CHECK(header_start + header_len <= size, "read_npy: ", name, ": truncated header (", header_len,
            " bytes announced, ", size - header_start, " present)");
  const std::string header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  HeaderParser p(header, name);
  NpyArray out;
  bool have_descr = false, have_order = false, have_shape = false;
  p.expect('{');
  while (!p.eat('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr") {
      const std::string d = p.quoted();
      if (d == "<f4")
        out.dtype = NpyDType::f32;
      else if (d == "<i4")
        out.dtype = NpyDType::i32;
      else if (d == "|u1" || d == "<u1")
        out.dtype = NpyDType::u8;
      else
        fail("read_npy: ", name, ": unsupported dtype '", d,
             "' (expected little-endian float32 '<f4', int32 '<i4' or uint8 '|u1')");
      have_descr = true;
    } else if (key == "fortran_order") {
      const std::string w = p.word();
      if (w == "True") fail("read_npy: ", name, ": Fortran-order arrays are not supported (save a C-order copy)");
      if (w != "False") p.bad("fortran_order must be True or False");
      have_order = true;
    } else if (key == "shape") {
      p.expect('(');
      while (!p.eat(')')) {
        out.shape.push_back(p.integer());
        if (!p.eat(',')) {
          p.expect(')');
          break;
        }
      }
      have_shape = true;
    } else {
      p.bad("unknown key '" + key + "'");
    }
    if (!p.eat(',')) {
      p.expect('}');
      break;
    }
  }
  if (!p.at_end()) p.bad("trailing characters after the dict");
  LVK_CHECK(have_descr && have_order && have_shape, "read_npy: ", name,
            ": header lacks one of 'descr', 'fortran_order', 'shape': ", header);

  // Bytes the shape needs, without overflow.
  const size_t data_start = header_start + header_len;
  const size_t available = size - data_start;
  uint64_t need = item_size(out.dtype);
  for (int64_t d : out.shape) {
    if (d != 0 && need > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      fail("read_npy: ", name, ": shape overflows the addressable size");
    need *= static_cast<uint64_t>(d);
  }
  LVK_CHECK(need <= available, "read_npy: ", name, ": truncated data: the shape needs ", need, " bytes, the file has ",
            available);
  LVK_CHECK(need == available, "read_npy: ", name, ": ", available - need,
            " unexpected trailing bytes after the data (file inconsistent with its header)");
  out.data.assign(bytes + data_start, bytes + size);
  return out;
}

NpyArray read_npy(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_npy(bytes.data(), bytes.size(), path);
}

void write_npy(const std::string& path, NpyDType dtype, const std::vector<int64_t>& shape, const void* data) {
  uint64_t numel = 1;
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    LVK_CHECK(shape[i] >= 0, "write_npy: ", path, ": negative dimension ", shape[i]);
    dims += (i ? ", " : "") + std::to_string(shape[i]);
    numel *= static_cast<uint64_t>(shape[i]);
  }
  if (shape.size() == 1) dims += ",";  // a one-element Python tuple
  std::string dict =
      std::string("{'descr': '") + descr_of(dtype) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + version + length + header is a multiple of 64, ending in \n.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  const size_t header_len = total - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';
  std::vector<uint8_t> head(kMagic, kMagic + kMagicLen);
  head.push_back(v2 ? 2 : 1);
  head.push_back(0);
  for (size_t b = 0; b < (v2 ? 4u : 2u); ++b) head.push_back(static_cast<uint8_t>(header_len >> (8 * b)));
  head.insert(head.end(), dict.begin(), dict.end());
  AtomicFile file(path);
  file.write(head.data(), head.size());
  file.write(data, static_cast<size_t>(numel) * item_size(dtype));
  file.commit();
}

}  // namespace lvk::io
