#include "recording.h"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <string>

namespace lvkpy {

Recording::Recording(const char* fn, std::vector<lvk::Tensor*> inputs) : fn_(fn) {
  for (lvk::Tensor* t : inputs) {
    if (t->defined()) t->set_requires_grad(true);
    inputs_.push_back(*t);
  }
}

std::vector<nb::object> Recording::backward(const std::vector<nb::object>& grads, std::optional<uintptr_t> stream) {
  const std::string where = std::string(fn_) + ".backward";
  if (spent_) throw nb::value_error((where + ": backward already ran for this call (it runs once)").c_str());
  if (grads.size() != outputs_.size())
    throw nb::value_error((where + ": expected " + std::to_string(outputs_.size()) + " output gradients, got " +
                           std::to_string(grads.size()))
                              .c_str());
  std::vector<lvk::Tensor> seeds(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].is_none() || !outputs_[i].defined()) continue;
    const std::string arg = "grads[" + std::to_string(i) + "]";
    lvk::Tensor g = borrow(where.c_str(), arg.c_str(), grads[i], lvk::DType::f32);
    if (g.numel() != outputs_[i].numel())
      throw nb::value_error(
          (where + ": " + arg + " has shape " + g.shape().str() + " but the output has " + outputs_[i].shape().str())
              .c_str());
    if (g.device() != outputs_[i].device())
      throw nb::value_error(
          (where + ": " + arg + " is on " + g.device().str() + " but the output is on " + outputs_[i].device().str())
              .c_str());
    seeds[i] = g.view(outputs_[i].shape());
  }
  CallerStream on(inputs_.empty() ? lvk::Device::cpu() : inputs_[0].device(), stream);
  spent_ = true;
  tape_->backward(outputs_, seeds);
  std::vector<nb::object> out;
  for (const lvk::Tensor& t : inputs_) out.push_back(t.defined() ? to_array(t.grad()) : nb::none());
  return out;
}

void bind_recording(nb::module_& m) {
  nb::class_<Recording>(m, "Recording",
                        "A recorded forward call; backward(grads) returns the inputs' gradients (once).")
      .def("backward", &Recording::backward, nb::arg("grads"), nb::arg("stream") = nb::none(),
           "One float32 gradient (or None) per output, shaped like it; returns one gradient per input "
           "(None where nothing flowed). The forward's documentation lists both orders.");
}

}  // namespace lvkpy
