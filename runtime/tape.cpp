#include "runtime/tape.h"

#include <string>

#include "runtime/nvtx.h"
#include "runtime/ops/basic.h"

namespace lvk {

namespace {
thread_local Tape* t_recording = nullptr;
}

Tape* Tape::recording() {
  return t_recording;
}

bool Tape::wants(std::initializer_list<Tensor> inputs) {
  if (!t_recording) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void Tape::record(const char* op, std::vector<Tensor> inputs, std::vector<Tensor> outputs, BackwardFn backward) {
  for (Tensor& out : outputs) {
    out.set_requires_grad(true);
    produced_.insert(out.id());
  }
  nodes_.push_back(Node{op, std::move(inputs), std::move(outputs), std::move(backward)});
}

void Tape::clear() {
  nodes_.clear();
  produced_.clear();
  grads_.clear();
  leaf_final_ = nullptr;
  final_leaves_.clear();
}

void Tape::backward(const Tensor& loss) {
  check_defined("backward", "loss", loss);
  LVK_CHECK(loss.numel() == 1, "backward: the loss must have one element, got ", loss.str(),
            "; pass a seed gradient for other shapes");
  backward(loss, Tensor::full(loss.shape(), 1.0f, loss.device()));
}

void Tape::backward(const Tensor& root, const Tensor& seed) {
  check_defined("backward", "root", root);
  LVK_CHECK(root.requires_grad(), "backward: ", root.str(), " does not depend on anything that requires grad");
  backward(std::vector<Tensor>{root}, std::vector<Tensor>{seed});
}

void Tape::backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds) {
  LVK_CHECK(roots.size() == seeds.size(), "backward: ", roots.size(), " roots but ", seeds.size(), " seeds");
  LVK_CHECK(t_recording != this, "backward: stop recording (end the TapeRecording scope) before backward");
  {
    NoGrad no_grad;  // closures run ops; they must not record onto any tape
    GradBook book(*this);
    for (size_t r = 0; r < roots.size(); ++r) {
      if (!roots[r].defined() || !roots[r].requires_grad() || !seeds[r].defined()) continue;
      check_same_shape("backward", roots[r], seeds[r]);
      check_same_device("backward", roots[r], seeds[r]);
      book.accumulate(roots[r], seeds[r]);
    }
    // The earliest node reading each leaf: once it has run (or been skipped), nothing adds to
    // that leaf's gradient any more.
    std::vector<std::vector<Tensor>> finalises(leaf_final_ ? nodes_.size() : 0);
    if (leaf_final_) {
      std::unordered_set<const void*> seen;
      for (size_t i = 0; i < nodes_.size(); ++i)
        for (const Tensor& in : nodes_[i].inputs)
          if (in.defined() && in.requires_grad() && !produced_.count(in.id()) && seen.insert(in.id()).second)
            finalises[i].push_back(in);
    }
    for (size_t i = nodes_.size(); i-- > 0;) {
      Node& node = nodes_[i];
      bool any = false;
      for (const Tensor& out : node.outputs) any = any || grads_.count(out.id());
      if (any) {
        const std::string range = std::string(node.op) + ".backward";
        NvtxRange nvtx(range.c_str());
        node.backward(book);
        // Every consumer of these outputs ran before this node: their gradients are final and spent.
        for (const Tensor& out : node.outputs) grads_.erase(out.id());
      }
      node.backward = nullptr;  // release captured tensors early
      if (leaf_final_)
        for (const Tensor& leaf : finalises[i]) {
          final_leaves_.insert(leaf.id());
          leaf_final_(leaf);
        }
    }
  }
  clear();
}

Tensor GradBook::grad(const Tensor& output) const {
  auto it = tape_.grads_.find(output.id());
  return it == tape_.grads_.end() ? Tensor() : it->second.value;
}

void GradBook::accumulate(const Tensor& input, const Tensor& g) {
  if (!wants(input) || !g.defined()) return;
  check_same_shape("backward (gradient vs input)", input, g);
  check_same_device("backward (gradient vs input)", input, g);
  if (!tape_.produced_.count(input.id())) {  // a leaf: parameter gradients accumulate (+=)
    LVK_CHECK(!tape_.final_leaves_.count(input.id()), "backward: a gradient for leaf ", input.str(),
              " arrived after its gradient was declared final; the op that sent it must list it among its inputs");
    Tensor existing = input.grad();
    if (existing.defined())
      accumulate_into(existing, g);
    else
      input.set_grad(g.clone());
    return;
  }
  auto it = tape_.grads_.find(input.id());
  if (it == tape_.grads_.end()) {
    tape_.grads_.emplace(input.id(), Tape::PendingGrad{g, false});
    return;
  }
  Tape::PendingGrad& pending = it->second;
  if (!pending.owned) {  // copy before writing in place: the first gradient may be shared
    pending.value = pending.value.clone();
    pending.owned = true;
  }
  accumulate_into(pending.value, g);
}

TapeRecording::TapeRecording(Tape& tape) : previous_(t_recording) {
  t_recording = &tape;
}
TapeRecording::~TapeRecording() {
  t_recording = previous_;
}

NoGrad::NoGrad() : previous_(t_recording) {
  t_recording = nullptr;
}
NoGrad::~NoGrad() {
  t_recording = previous_;
}

}  // namespace lvk
