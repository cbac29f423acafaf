#include "models/flow2d.h"

#include <algorithm>
#include <cmath>

#include "models/maf.h"
#include "models/realnvp.h"
#include "runtime/ops/basic.h"
#include "runtime/tape.h"

namespace lvk {

namespace {

constexpr float kExtent = 4.0f;  // panels show [-4, 4]^2
constexpr uint64_t kHeldOutSeedSalt = 0x9e3779b97f4a7c15ull;

// A dark-to-bright ramp (black, purple, orange, pale yellow) for densities and histograms.
void colour(float v, uint8_t* rgb) {
  static const float stops[4][3] = {{0, 0, 4}, {120, 28, 109}, {238, 105, 37}, {252, 255, 164}};
  v = std::clamp(v, 0.0f, 1.0f) * 3.0f;
  const int i = std::min(static_cast<int>(v), 2);
  const float f = v - i;
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]));
}

// Paints values [side, side] (row 0 at the top, i.e. y = +4) into panel `p` of the image.
void paint_panel(io::Image& img, int p, int side, const std::vector<float>& values) {
  const float top = *std::max_element(values.begin(), values.end());
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c) {
      uint8_t* px = &img.pixels[(static_cast<size_t>(r) * img.width + p * (side + 4) + c) * 3];
      colour(top > 0 ? values[r * side + c] / top : 0.0f, px);
    }
}

std::vector<float> histogram(const Tensor& points, int side) {
  std::vector<float> h(static_cast<size_t>(side) * side, 0.0f);
  const std::vector<float> v = points.to_vector<float>();
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    const int c = static_cast<int>((v[i] + kExtent) / (2 * kExtent) * side);
    const int r = static_cast<int>((kExtent - v[i + 1]) / (2 * kExtent) * side);
    if (c >= 0 && c < side && r >= 0 && r < side) h[r * side + c] += 1.0f;
  }
  return h;
}

std::unique_ptr<FlowPrior> make_flow(const Flow2dConfig& c, InitStream& init, Device device) {
  if (c.flow == "realnvp")
    return std::make_unique<RealNvp>(RealNvpOptions{2, c.layers, c.hidden, 2, 2.0f, MaskKind::alternating, true}, init,
                                     device);
  LVK_CHECK(c.flow == "maf", "flow2d: flow '", c.flow, "' is not realnvp or maf");
  return std::make_unique<Maf>(MafOptions{2, c.layers, c.hidden, 2, 2.0f, true}, init, device);
}

}  // namespace

Flow2dFit::Flow2dFit(const Flow2dConfig& config, Device device)
    : config_(config),
      device_(device),
      init_(config.seed),
      flow_(make_flow(config, init_, device)),
      adam_(flow_->parameters(), AdamOptions{config.lr}),
      schedule_(
          LrSchedule::cosine(config.lr, std::min<int64_t>(100, config.steps / 10), config.steps, config.lr * 0.05f)) {
  LVK_CHECK(config.batch >= 2 && config.steps >= 1, "flow2d: batch=", config.batch, " steps=", config.steps,
            ", expected batch >= 2 and steps >= 1");
  flow_->initialize_actnorm(sample_toy2d(config.data, config.batch, config.seed, 0, device));
}

double Flow2dFit::step() {
  Tensor batch = sample_toy2d(config_.data, config_.batch, config_.seed, 1 + static_cast<uint64_t>(step_), device_);
  Tape tape;
  Tensor loss;  // negative average log-likelihood
  {
    TapeRecording rec(tape);
    loss = scale(mean(flow_->log_prob(batch)), -1.0f);
  }
  tape.backward(loss);
  adam_.step(schedule_.lr_at(step_));
  adam_.zero_grad();
  ++step_;
  return -loss.item();
}

double Flow2dFit::evaluate(int64_t n) const {
  NoGrad no_grad;
  return mean(flow_->log_prob(sample_toy2d(config_.data, n, config_.seed ^ kHeldOutSeedSalt, 0, device_))).item();
}

io::Image Flow2dFit::render(int side) const {
  NoGrad no_grad;
  io::Image img;
  img.width = 3 * side + 8;
  img.height = side;
  img.channels = 3;
  img.pixels.assign(static_cast<size_t>(img.width) * img.height * 3, 255);
  std::vector<float> grid(static_cast<size_t>(side) * side * 2);
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c) {
      grid[(r * side + c) * 2] = -kExtent + (c + 0.5f) * 2 * kExtent / side;
      grid[(r * side + c) * 2 + 1] = kExtent - (r + 0.5f) * 2 * kExtent / side;
    }
  std::vector<float> density =
      flow_->log_prob(Tensor::from_vector(grid, {int64_t(side) * side, 2}, device_)).to_vector<float>();
  for (float& v : density) v = std::exp(v);
  paint_panel(img, 0, side, density);
  paint_panel(img, 1, side, histogram(flow_->sample(200000, config_.seed, 1u << 30), side));
  paint_panel(img, 2, side,
              histogram(sample_toy2d(config_.data, 200000, config_.seed ^ kHeldOutSeedSalt, 1, device_), side));
  return img;
}

}  // namespace lvk
