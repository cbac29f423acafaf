#pragma once
// Fitting a flow (RealNVP or MAF) to a procedural 2-D density, and the pictures of the result: the learned
// density on a grid beside a histogram of the flow's samples and one of the data.
#include <cstdint>
#include <memory>
#include <string>

#include "models/flow_prior.h"
#include "models/optim.h"
#include "models/toy2d.h"
#include "runtime/io/png.h"

namespace lvk {

struct Flow2dConfig {
  Toy2d data = Toy2d::moons;
  std::string flow = "realnvp";  // "realnvp" or "maf"
  int layers = 8;
  int64_t hidden = 64;
  int64_t batch = 512;
  float lr = 2e-3f;
  int64_t steps = 2000;
  uint64_t seed = 0;
};

class Flow2dFit {
 public:
  Flow2dFit(const Flow2dConfig& config, Device device);
  // One Adam step on a fresh batch; returns the batch's average log-likelihood (nats).
  double step();
  // Average log-likelihood on `n` held-out points (a seed the training batches never use).
  double evaluate(int64_t n) const;
  // Three panels of side `side` pixels over [-4, 4]^2: density, model samples, data samples.
  io::Image render(int side) const;
  const FlowPrior& flow() const { return *flow_; }
  int64_t steps_done() const { return step_; }

 private:
  Flow2dConfig config_;
  Device device_;
  InitStream init_;
  std::unique_ptr<FlowPrior> flow_;
  Adam adam_;
  LrSchedule schedule_;
  int64_t step_ = 0;
};

}  // namespace lvk
