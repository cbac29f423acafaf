#pragma once
// A forward call recorded on its own lvk Tape, kept by the caller (a torch.autograd.Function's
// ctx, or a numpy user) until it asks for the gradients of the inputs: the op's hand-written
// backward runs once, without recomputing the forward.
#include <nanobind/stl/unique_ptr.h>

#include <memory>
#include <optional>
#include <vector>

#include "arrays.h"
#include "runtime/tape.h"

namespace lvkpy {

class Recording {
 public:
  // Marks `inputs` as requiring grad; while the returned guard lives, lvk ops record here.
  Recording(const char* fn, std::vector<lvk::Tensor*> inputs);
  std::unique_ptr<lvk::TapeRecording> start() { return std::make_unique<lvk::TapeRecording>(*tape_); }
  void set_outputs(std::vector<lvk::Tensor> outputs) { outputs_ = std::move(outputs); }

  // One gradient (array or None) per output, in the order the forward documents; returns one
  // gradient per input (None where nothing flowed). Runs once: the tape is consumed.
  std::vector<nb::object> backward(const std::vector<nb::object>& grads, std::optional<uintptr_t> stream);

 private:
  const char* fn_;
  std::unique_ptr<lvk::Tape> tape_ = std::make_unique<lvk::Tape>();
  std::vector<lvk::Tensor> inputs_, outputs_;
  bool spent_ = false;
};

// Runs `forward` recorded when `record` is true (inputs then require grad); returns the Recording
// (or None) as a Python object next to what forward returned.
template <class Forward>
nb::object maybe_recorded(bool record, const char* fn, std::vector<lvk::Tensor*> inputs, Forward&& forward) {
  if (!record) {
    lvk::NoGrad no_grad;
    auto [outputs, arrays] = forward();
    return nb::make_tuple(arrays, nb::none());
  }
  auto rec = std::make_unique<Recording>(fn, inputs);
  std::vector<lvk::Tensor> outputs;
  nb::object arrays;
  {
    auto guard = rec->start();
    std::tie(outputs, arrays) = forward();
  }
  rec->set_outputs(std::move(outputs));
  return nb::make_tuple(arrays, nb::cast(std::move(rec)));
}

void bind_recording(nb::module_& m);

}  // namespace lvkpy
