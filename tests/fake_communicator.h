#pragma once
// A stand-in communicator for unit tests of code that talks to data-parallel ranks: it claims a
// world of two, counts the all-reduces it is asked for, and "reduces" by adding `plus` to every
// element on the current stream (0: the values stay as they are), so a test can see exactly
// which tensors were reduced and how often.
#include "runtime/dist/communicator.h"
#include "runtime/ops/elementwise.h"

namespace lvk::test {

class FakeCommunicator final : public dist::Communicator {
 public:
  explicit FakeCommunicator(float plus = 0.0f) : plus_(plus) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string kind() const override { return "fake"; }
  void all_reduce_(Tensor& t, dist::ReduceOp) override {
    ++all_reduces;
    if (plus_ != 0.0f) accumulate_into(t, Tensor::full(t.shape(), plus_, t.device()));
  }
  void broadcast_(Tensor&, int) override {}
  Tensor all_gather(const Tensor& t) override { return t; }
  void barrier() override {}
  int all_reduces = 0;

 private:
  float plus_;
};

}  // namespace lvk::test
