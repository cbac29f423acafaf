#include "runtime/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "runtime/io/atomic_file.h"

namespace lvk::io {

using json = nlohmann::json;

namespace {

uint64_t load_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

// nlohmann::json silently keeps the last of duplicate keys; the format forbids them, so the
// parse callback tracks the keys of every open object.
json parse_header_strict(const char* begin, const char* end, const std::string& source) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(key).second && duplicate.empty()) duplicate = key;
        break;
      }
      default:
        break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    fail("safetensors ", source, ": header is not valid JSON: ", e.what());
  }
  LVK_CHECK(duplicate.empty(), "safetensors ", source, ": duplicate key \"", duplicate, "\" in the header");
  LVK_CHECK(header.is_object(), "safetensors ", source, ": header is not a JSON object");
  return header;
}

uint64_t json_u64(const json& v, const std::string& source, const std::string& name, const char* what) {
  LVK_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0), "safetensors ", source,
            ": tensor \"", name, "\": ", what, " must be a non-negative integer, got ", v.dump());
  return v.get<uint64_t>();
}

struct Pending {
  SafetensorsEntry entry;
  uint64_t begin = 0, end = 0;
};

Pending parse_entry(const std::string& name, const json& info, const std::string& source) {
  LVK_CHECK(info.is_object(), "safetensors ", source, ": tensor \"", name, "\" is not an object");
  for (const auto& [key, value] : info.items()) {
    (void)value;
    LVK_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", "safetensors ", source, ": tensor \"", name,
              "\" has an unknown field \"", key, "\"");
  }
  LVK_CHECK(info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"), "safetensors ", source,
            ": tensor \"", name, "\" needs dtype, shape and data_offsets");
  Pending p;
  p.entry.name = name;
  const json& dtype = info["dtype"];
  LVK_CHECK(dtype.is_string(), "safetensors ", source, ": tensor \"", name, "\": dtype is not a string");
  p.entry.dtype = dtype.get<std::string>();
  const uint64_t elem = safetensors_dtype_size(p.entry.dtype);
  LVK_CHECK(elem > 0, "safetensors ", source, ": tensor \"", name, "\" has unknown dtype \"", p.entry.dtype, "\"");
  const json& shape = info["shape"];
  LVK_CHECK(shape.is_array(), "safetensors ", source, ": tensor \"", name, "\": shape is not an array");
  uint64_t numel = 1;
  for (const json& d : shape) {
    const uint64_t dim = json_u64(d, source, name, "every shape entry");
    LVK_CHECK(!mul_overflows(numel, dim, &numel) && numel <= uint64_t(std::numeric_limits<int64_t>::max()),
              "safetensors ", source, ": tensor \"", name, "\": shape ", shape.dump(), " overflows");
    p.entry.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t nbytes = 0;
  LVK_CHECK(!mul_overflows(numel, elem, &nbytes), "safetensors ", source, ": tensor \"", name, "\": byte size of ",
            shape.dump(), " overflows");
  const json& offsets = info["data_offsets"];
  LVK_CHECK(offsets.is_array() && offsets.size() == 2, "safetensors ", source, ": tensor \"", name,
            "\": data_offsets must be [begin, end], got ", offsets.dump());
  p.begin = json_u64(offsets[0], source, name, "data_offsets");
  p.end = json_u64(offsets[1], source, name, "data_offsets");
  LVK_CHECK(p.end >= p.begin, "safetensors ", source, ": tensor \"", name, "\": data_offsets ", offsets.dump(),
            " end before begin");
  LVK_CHECK(p.end - p.begin == nbytes, "safetensors ", source, ": tensor \"", name, "\": data_offsets ", offsets.dump(),
            " span ", p.end - p.begin, " bytes but ", p.entry.dtype, " ", shape.dump(), " needs ", nbytes);
  return p;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "U8" || d == "I8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  LVK_CHECK(e != nullptr, "safetensors: no tensor named \"", name, "\"");
  return *e;
}

void SafetensorsFile::add(SafetensorsEntry entry) {
  LVK_CHECK(find(entry.name) == nullptr, "safetensors: duplicate tensor name \"", entry.name, "\"");
  tensors.push_back(std::move(entry));
}

SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source) {
  LVK_CHECK(size >= 8, "safetensors ", source, ": truncated: ", size, " bytes, need at least 8 for the header size");
  const uint64_t n = load_u64_le(bytes);
  LVK_CHECK(n <= kSafetensorsMaxHeader, "safetensors ", source, ": header size ", n, " exceeds the limit of ",
            kSafetensorsMaxHeader, " bytes");
  LVK_CHECK(n <= size - 8, "safetensors ", source, ": truncated: header size ", n, " but only ", size - 8,
            " bytes follow");
  LVK_CHECK(n >= 2 && bytes[8] == '{', "safetensors ", source, ": header does not start with '{'");
  const char* hbegin = reinterpret_cast<const char*>(bytes + 8);
  const json header = parse_header_strict(hbegin, hbegin + n, source);

  SafetensorsFile file;
  std::vector<Pending> pending;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      LVK_CHECK(value.is_object(), "safetensors ", source, ": __metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        LVK_CHECK(mv.is_string(), "safetensors ", source, ": __metadata__ value of \"", mk, "\" is not a string");
        file.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    pending.push_back(parse_entry(key, value, source));
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const uint64_t data_size = size - 8 - n;
  uint64_t cursor = 0;
  for (const Pending& p : pending) {
    LVK_CHECK(p.begin == cursor, "safetensors ", source, ": tensor \"", p.entry.name, "\" starts at ", p.begin,
              p.begin < cursor ? ", overlapping the previous tensor which ends at " : ", leaving a hole after ",
              cursor);
    LVK_CHECK(p.end <= data_size, "safetensors ", source, ": tensor \"", p.entry.name, "\" ends at ", p.end,
              " beyond the data region of ", data_size, " bytes (truncated file?)");
    cursor = p.end;
  }
  LVK_CHECK(cursor == data_size, "safetensors ", source, ": data region is ", data_size,
            " bytes but the tensors cover ", cursor, " (trailing bytes)");
  const uint8_t* data = bytes + 8 + n;
  for (Pending& p : pending) {
    p.entry.data.assign(data + p.begin, data + p.end);
    file.tensors.push_back(std::move(p.entry));
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const SafetensorsEntry& t : file.tensors) {
    LVK_CHECK(t.name != "__metadata__", "safetensors: a tensor may not be named __metadata__");
    LVK_CHECK(names.insert(t.name).second, "safetensors: duplicate tensor name \"", t.name, "\"");
    const size_t elem = safetensors_dtype_size(t.dtype);
    LVK_CHECK(elem > 0, "safetensors: tensor \"", t.name, "\" has unknown dtype \"", t.dtype, "\"");
    for (int64_t d : t.shape) LVK_CHECK(d >= 0, "safetensors: tensor \"", t.name, "\" has negative dim ", d);
    LVK_CHECK(t.data.size() == static_cast<uint64_t>(t.numel()) * elem, "safetensors: tensor \"", t.name, "\" holds ",
              t.data.size(), " bytes but its shape needs ", static_cast<uint64_t>(t.numel()) * elem);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* data = out.data() + 8 + text.size();
  for (const SafetensorsEntry& t : file.tensors) {
    if (!t.data.empty()) std::memcpy(data, t.data.data(), t.data.size());
    data += t.data.size();
  }
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  const std::vector<uint8_t> bytes = serialize_safetensors(file);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace lvk::io
