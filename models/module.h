#pragma once
// The layer convention of models/: a Module owns named parameters (Tensors with requires_grad)
// and lists them, children prefixed "child.name", for optimizers and checkpoints. Modules hold
// tensor handles only, so they are cheap to move; a module is built on its device.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace lvk {

using NamedTensor = std::pair<std::string, Tensor>;
using ParameterList = std::vector<NamedTensor>;

// Hands out Philox offsets for parameter initialisation in construction order, so one seed
// fixes every weight of a model on every device.
class InitStream {
 public:
  explicit InitStream(uint64_t seed, uint64_t first_offset = 0) : seed_(seed), next_(first_offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t take() { return next_++; }

 private:
  uint64_t seed_, next_;
};

class Module {
 public:
  virtual ~Module() = default;
  // Appends this module's parameters, each name prefixed by `prefix` (e.g. "enc.0.").
  virtual void collect_parameters(const std::string& prefix, ParameterList& out) const = 0;
  ParameterList parameters() const {
    ParameterList out;
    collect_parameters("", out);
    return out;
  }
  int64_t parameter_count() const {
    int64_t n = 0;
    for (const auto& p : parameters()) n += p.second.numel();
    return n;
  }
};

// Marks a freshly initialised tensor as a trainable leaf.
inline Tensor make_parameter(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

}  // namespace lvk
