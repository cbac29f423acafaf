#include "runtime/io/safetensors_checksum.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace lvk::io {

namespace {

using json = nlohmann::json;

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// Canonical text of everything in the header except crc32_header itself: tensors in data order
// with the offsets they occupy, then the metadata (a std::map, so in key order).
std::string header_description(const SafetensorsFile& file) {
  json tensors = json::array();
  uint64_t offset = 0;
  for (const SafetensorsEntry& t : file.tensors) {
    tensors.push_back({t.name, t.dtype, t.shape, offset, offset + t.data.size()});
    offset += t.data.size();
  }
  json metadata = json::object();
  for (const auto& [key, value] : file.metadata)
    if (key != kCrc32HeaderKey) metadata[key] = value;
  return json{{"tensors", tensors}, {"metadata", metadata}}.dump();
}

uint32_t header_crc(const SafetensorsFile& file) {
  const std::string text = header_description(file);
  return crc32(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

uint32_t crc32(const uint8_t* bytes, size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  // zlib takes a 32-bit length: feed tensors above 4 GB in pieces.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t done = 0; done < size;) {
    const size_t n = std::min(kPiece, size - done);
    crc = ::crc32(crc, bytes + done, static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

void add_checksums(SafetensorsFile& file) {
  json tensors = json::object();
  for (const SafetensorsEntry& t : file.tensors) tensors[t.name] = hex8(crc32(t.data.data(), t.data.size()));
  file.metadata[kCrc32TensorsKey] = tensors.dump();
  file.metadata.erase(kCrc32HeaderKey);
  file.metadata[kCrc32HeaderKey] = hex8(header_crc(file));
}

ChecksumResult verify_checksums(const SafetensorsFile& file, const std::string& source) {
  const auto header_it = file.metadata.find(kCrc32HeaderKey);
  const auto tensors_it = file.metadata.find(kCrc32TensorsKey);
  if (header_it == file.metadata.end() && tensors_it == file.metadata.end()) return ChecksumResult::absent;
  LVK_CHECK(header_it != file.metadata.end() && tensors_it != file.metadata.end(), "safetensors ", source,
            ": damaged: it carries ", header_it == file.metadata.end() ? kCrc32TensorsKey : kCrc32HeaderKey,
            " but not ", header_it == file.metadata.end() ? kCrc32HeaderKey : kCrc32TensorsKey);
  const std::string header_actual = hex8(header_crc(file));
  LVK_CHECK(header_it->second == header_actual, "safetensors ", source,
            ": damaged: the header (names, shapes, offsets, metadata) has CRC-32 ", header_actual, " but ",
            header_it->second, " was recorded");
  // The header checksum covers crc32_tensors, so from here on the recorded values are the writer's.
  const json expected = json::parse(tensors_it->second, nullptr, false);
  LVK_CHECK(expected.is_object() && expected.size() == file.tensors.size(), "safetensors ", source,
            ": damaged: ", kCrc32TensorsKey, " does not list one checksum per tensor");
  for (const SafetensorsEntry& t : file.tensors) {
    const auto it = expected.find(t.name);
    LVK_CHECK(it != expected.end() && it->is_string(), "safetensors ", source, ": damaged: tensor \"", t.name,
              "\" has no recorded checksum");
    const std::string actual = hex8(crc32(t.data.data(), t.data.size()));
    LVK_CHECK(it->get<std::string>() == actual, "safetensors ", source, ": damaged: tensor \"", t.name,
              "\" has CRC-32 ", actual, " but ", it->get<std::string>(), " was recorded");
  }
  return ChecksumResult::verified;
}

}  // namespace lvk::io
