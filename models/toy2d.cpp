#include "models/toy2d.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "base/philox.h"

namespace lvk {

namespace {
constexpr float kPi = 3.14159265358979f;
}

Toy2d parse_toy2d(const std::string& name) {
  if (name == "moons") return Toy2d::moons;
  if (name == "rings") return Toy2d::rings;
  if (name == "checkerboard") return Toy2d::checkerboard;
  if (name == "gaussians") return Toy2d::gaussians;
  fail("toy2d: unknown dataset '", name, "'; expected moons, rings, checkerboard or gaussians");
}

const char* toy2d_name(Toy2d kind) {
  switch (kind) {
    case Toy2d::moons:
      return "moons";
    case Toy2d::rings:
      return "rings";
    case Toy2d::checkerboard:
      return "checkerboard";
    case Toy2d::gaussians:
      return "gaussians";
  }
  return "?";
}

Tensor sample_toy2d(Toy2d kind, int64_t n, uint64_t seed, uint64_t offset, Device device) {
  LVK_CHECK(n >= 0, "toy2d: negative sample count ", n);
  std::vector<float> xy(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    // Point i draws one Philox block: two uniforms for its position, two for its noise.
    const PhiloxBlock b = philox_block(seed, offset, static_cast<uint64_t>(i));
    const float u0 = philox_to_uniform(b.v[0]), u1 = philox_to_uniform(b.v[1]);
    // Both halves of one Box-Muller pair: two independent standard normals.
    float g0, g1;
    box_muller_pair(philox_to_uniform(b.v[2]), philox_to_uniform(b.v[3]), g0, g1);
    float x = 0, y = 0;
    switch (kind) {
      case Toy2d::moons: {  // two interleaved half circles
        const float a = kPi * u0;
        const bool upper = u1 < 0.5f;
        x = upper ? std::cos(a) : 1.0f - std::cos(a);
        y = upper ? std::sin(a) : 0.5f - std::sin(a);
        x = 2.0f * (x - 0.5f) + 0.1f * g0;
        y = 2.0f * (y - 0.25f) + 0.1f * g1;
        break;
      }
      case Toy2d::rings: {  // two concentric circles
        const float a = 2.0f * kPi * u0, r = u1 < 0.5f ? 1.0f : 2.5f;
        x = r * std::cos(a) + 0.08f * g0;
        y = r * std::sin(a) + 0.08f * g1;
        break;
      }
      case Toy2d::checkerboard: {  // 4 x 4 board on [-2, 2]^2, the dark squares
        const float cx = std::floor(u0 * 4.0f), cy0 = std::floor(u1 * 2.0f) * 2.0f;
        const float cy = cy0 + std::fmod(cx, 2.0f);
        x = cx - 2.0f + philox_to_uniform(b.v[2]);
        y = cy - 2.0f + philox_to_uniform(b.v[3]);
        break;
      }
      case Toy2d::gaussians: {  // eight Gaussians on a circle of radius 2.5
        const float a = 2.0f * kPi * std::floor(u0 * 8.0f) / 8.0f;
        x = 2.5f * std::cos(a) + 0.2f * g0;
        y = 2.5f * std::sin(a) + 0.2f * g1;
        break;
      }
    }
    xy[static_cast<size_t>(2 * i)] = x;
    xy[static_cast<size_t>(2 * i + 1)] = y;
  }
  return Tensor::from_vector(xy, {n, 2}, device);
}

}  // namespace lvk
