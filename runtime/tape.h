#pragma once
// The manual backward graph. While a Tape is recording (TapeRecording guard), each op whose inputs
// require grad pushes a Node: its inputs, outputs and a hand-written backward closure.
// tape.backward(loss) runs the closures in reverse order. Gradients of intermediates live in the
// tape only until the op that produced them has run its backward; leaves that require grad
// (parameters) accumulate into Tensor::grad(). There is no generic autodiff of arbitrary code.
// A leaf's gradient is final once the earliest node that takes it as an input has run its
// backward; a hook hears of it then (data-parallel training starts the leaf's all-reduce there).
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/tensor.h"

namespace lvk {

class Tape;

// What a backward closure sees: the gradient of each output, and a sink for input gradients.
class GradBook {
 public:
  // Gradient flowing into `output`; undefined when nothing downstream used it.
  Tensor grad(const Tensor& output) const;
  // Whether `input` wants a gradient (skip the work otherwise).
  bool wants(const Tensor& input) const { return input.defined() && input.requires_grad(); }
  // Adds g into the gradient of `input` (a no-op when !wants(input)). The book may keep g itself,
  // so pass a tensor the closure no longer writes to.
  void accumulate(const Tensor& input, const Tensor& g);

 private:
  friend class Tape;
  explicit GradBook(Tape& tape) : tape_(tape) {}
  Tape& tape_;
};

class Tape {
 public:
  using BackwardFn = std::function<void(GradBook&)>;

  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // The tape recording on this thread, or nullptr.
  static Tape* recording();
  // True when an op with these inputs must record itself: a tape is recording and an input
  // requires grad.
  static bool wants(std::initializer_list<Tensor> inputs);

  // Pushes an op. Marks each output as requiring grad.
  void record(const char* op, std::vector<Tensor> inputs, std::vector<Tensor> outputs, BackwardFn backward);

  // Seeds d(loss)/d(loss) = 1 (loss must have one element) and runs every node in reverse.
  // Consumes the tape: nodes and intermediate gradients are released.
  void backward(const Tensor& loss);
  // Same with an explicit seed gradient of root's shape.
  void backward(const Tensor& root, const Tensor& seed);
  // Several roots at once (e.g. an op's outputs handed gradients by another framework's autograd);
  // roots that do not require grad are skipped, so their seeds may be anything.
  void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds);

  // Called during the next backward, once per leaf input of the tape's nodes, as soon as that
  // leaf's gradient is final (no later closure adds to it); before backward returns, for every
  // such leaf. The hook must not run ops that record. Cleared with the tape.
  using LeafFinalHook = std::function<void(const Tensor& leaf)>;
  void on_leaf_gradient_final(LeafFinalHook hook) { leaf_final_ = std::move(hook); }

  size_t size() const { return nodes_.size(); }
  void clear();

 private:
  friend class GradBook;
  struct Node {
    const char* op;
    std::vector<Tensor> inputs, outputs;
    BackwardFn backward;
  };
  struct PendingGrad {
    Tensor value;
    bool owned;  // false while the tensor may be shared with another gradient
  };
  std::vector<Node> nodes_;
  std::unordered_set<const void*> produced_;            // ids of tensors some node output
  std::unordered_map<const void*, PendingGrad> grads_;  // gradients of intermediates in flight
  LeafFinalHook leaf_final_;
  std::unordered_set<const void*> final_leaves_;  // leaves whose hook ran in this backward
};

// RAII: makes `tape` the recording tape of this thread for the guard's lifetime.
class TapeRecording {
 public:
  explicit TapeRecording(Tape& tape);
  ~TapeRecording();
  TapeRecording(const TapeRecording&) = delete;
  TapeRecording& operator=(const TapeRecording&) = delete;

 private:
  Tape* previous_;
};

// Suspends recording (e.g. for optimizer updates or evaluation) for the guard's lifetime.
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  Tape* previous_;
};

}  // namespace lvk
