#pragma once
// Integrity of a safetensors file: a CRC-32 of every tensor's bytes and one of the header, kept in
// `__metadata__` as plain strings so PyTorch and the safetensors library still read the file.
//   "crc32_tensors": JSON object {tensor name: 8 hex digits}
//   "crc32_header":  8 hex digits over every tensor's name, dtype, shape and data offsets and every
//                    other metadata entry (crc32_tensors included), so a damaged step number or a
//                    swapped shape is caught as surely as a damaged weight.
// The CRC is zlib's (the same as Python's zlib.crc32), so anyone can check a file without lvk.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/io/safetensors.h"

namespace lvk::io {

constexpr const char* kCrc32TensorsKey = "crc32_tensors";
constexpr const char* kCrc32HeaderKey = "crc32_header";

uint32_t crc32(const uint8_t* bytes, size_t size);

// Sets both metadata entries for the file's tensors in their current order (the write order).
void add_checksums(SafetensorsFile& file);

enum class ChecksumResult { verified, absent };

// `absent` when the file carries no checksum (written before they existed). Throws lvk::Error
// naming `source` and the first tensor (or the header) whose checksum does not match, or a
// checksum entry that is malformed or names no tensor of the file.
ChecksumResult verify_checksums(const SafetensorsFile& file, const std::string& source);

}  // namespace lvk::io
