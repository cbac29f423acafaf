#pragma once
// safetensors (https://github.com/huggingface/safetensors) reader and writer: the checkpoint format.
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// then the data region. The parser enforces the format's own rules: N <= 100 MB, the header is a
// JSON object (starting with '{') with no duplicate keys, every tensor's byte size equals
// numel x dtype size, the offsets tile the data region from 0 with no holes or overlaps, and the
// file ends where the last tensor does.
//
// This layer is Tensor-free (the fuzz targets link it alone); runtime/io/tensor_io.h converts.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lvk::io {

constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Element size of a safetensors dtype name ("F32" -> 4); 0 when the name is unknown.
size_t safetensors_dtype_size(const std::string& dtype);

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "I32", "U8", ... as in the file
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian element bytes, numel x dtype size
  int64_t numel() const;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<SafetensorsEntry> tensors;        // in data-offset order when read

  const SafetensorsEntry* find(const std::string& name) const;  // nullptr when absent
  const SafetensorsEntry& at(const std::string& name) const;    // throws naming the name
  void add(SafetensorsEntry entry);                             // throws on a duplicate name
};

// Parses a complete file image; `source` names it in error messages.
SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source);
SafetensorsFile read_safetensors(const std::string& path);

// Tensors are laid out in the order given; the header is padded with spaces to a multiple of 8
// bytes so the data region is aligned.
std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file);
void write_safetensors(const std::string& path, const SafetensorsFile& file);  // atomic

}  // namespace lvk::io
