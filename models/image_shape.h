#pragma once
// The shape of the images a model is built for.
#include <cstdint>
#include <string>

namespace lvk {

struct ImageShape {
  int64_t channels = 1, height = 28, width = 28;
  int64_t pixels() const { return channels * height * width; }
  std::string str() const {
    return "[" + std::to_string(channels) + ", " + std::to_string(height) + ", " + std::to_string(width) + "]";
  }
};

}  // namespace lvk
