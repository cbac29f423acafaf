// The world of one process: nothing to exchange.
#include "runtime/dist/communicator.h"

namespace lvk::dist {

namespace {
class Single final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string kind() const override { return "single"; }
  void all_reduce_(Tensor&, ReduceOp) override {}
  void broadcast_(Tensor&, int root) override {
    LVK_CHECK(root == 0, "broadcast: root rank ", root, " does not exist in a world of 1");
  }
  Tensor all_gather(const Tensor& t) override { return t; }
  void barrier() override {}
};
}  // namespace

std::unique_ptr<Communicator> make_single() {
  return std::make_unique<Single>();
}

}  // namespace lvk::dist
