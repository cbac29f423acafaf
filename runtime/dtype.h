#pragma once
// Element types. f32 and i32 are implemented; bf16/f16 have names and sizes so that storage,
// file formats and dispatch can grow into them without changing the enum.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lvk {

enum class DType : uint8_t { f32, i32, bf16, f16 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::bf16:
    case DType::f16:
      return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::i32:
      return "i32";
    case DType::bf16:
      return "bf16";
    case DType::f16:
      return "f16";
  }
  return "?";
}

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::i32;
};

}  // namespace lvk
