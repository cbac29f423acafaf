#include "runtime/ops/categorical_nll.h"

#include "kernels/categorical_nll.h"
#include "runtime/op.h"

namespace lvk {

Tensor categorical_nll(const Tensor& logits, const Tensor& target) {
  OpScope op("categorical_nll");
  check_defined(op.name(), "logits", logits);
  check_defined(op.name(), "target", target);
  check_dtype(op.name(), "logits", logits, DType::f32);
  check_dtype(op.name(), "target", target, DType::i32);
  check_same_device(op.name(), logits, target);
  LVK_CHECK(logits.rank() == 2 && logits.dim(1) >= 1, op.name(), ": logits must be [N, K] with K >= 1, got ",
            logits.str());
  LVK_CHECK(target.rank() == 1 && target.dim(0) == logits.dim(0), op.name(), ": target must be [N] = [", logits.dim(0),
            "] for logits ", logits.str(), ", got ", target.str());
  const int64_t n = logits.dim(0), k = logits.dim(1);
  LVK_CHECK(k <= INT32_MAX, op.name(), ": K=", k, " does not fit the i32 target");
  if (target.device().is_cpu()) {
    const int32_t* t = target.data<int32_t>();
    for (int64_t i = 0; i < n; ++i)
      LVK_CHECK(t[i] >= 0 && t[i] < k, op.name(), ": target[", i, "]=", t[i], " is outside [0, ", k, ") for logits ",
                logits.str());
  }
  Tensor nll = Tensor::empty({n}, DType::f32, logits.device());
  Tensor lse = Tensor::empty({n}, DType::f32, logits.device());
  LVK_DISPATCH(logits.device(), categorical_nll_forward, nll.data<float>(), lse.data<float>(), logits.data<float>(),
               target.data<int32_t>(), n, k);
  if (Tape::wants({logits})) {
    Tape::recording()->record(op.name(), {logits}, {nll}, [logits, target, lse, nll, n, k](GradBook& book) {
      const Tensor dnll = book.grad(nll);
      if (!dnll.defined()) return;
      Tensor dlogits = Tensor::empty(logits.shape(), DType::f32, logits.device());
      LVK_DISPATCH(logits.device(), categorical_nll_backward, dlogits.data<float>(), dnll.data<float>(),
                   logits.data<float>(), lse.data<float>(), target.data<int32_t>(), n, k);
      book.accumulate(logits, dlogits);
    });
  }
  return nll;
}

}  // namespace lvk
