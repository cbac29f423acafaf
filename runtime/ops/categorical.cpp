// softmax_last, argmax_last, one_hot and code-count statistics.
#include "runtime/ops/categorical.h"

#include <cmath>

#include "kernels/code_stats.h"
#include "kernels/gumbel.h"
#include "runtime/op.h"

namespace lvk {

namespace {

Shape leading_shape(const Shape& s) {
  std::vector<int64_t> dims = s.dims();
  dims.pop_back();
  return Shape(dims);
}

// Checks x f32 [..., K] with K >= 1 and returns K.
int64_t check_rows(const char* op, const Tensor& x) {
  check_defined(op, "x", x);
  check_dtype(op, "x", x, DType::f32);
  LVK_CHECK(x.rank() >= 1, op, ": x must have rank >= 1 ([..., K]), got ", x.str());
  const int64_t k = x.dim(x.rank() - 1);
  LVK_CHECK(k >= 1, op, ": K=", k, " categories; expected K >= 1 (x ", x.str(), ")");
  return k;
}

}  // namespace

Tensor softmax_last(const Tensor& x) {
  OpScope op("softmax_last");
  const int64_t k = check_rows(op.name(), x), n = x.numel() / k;
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  LVK_DISPATCH(x.device(), softmax_rows, y.data<float>(), x.data<float>(), n, k);
  if (Tape::wants({x})) {
    Tape::recording()->record(op.name(), {x}, {y}, [x, y, n, k](GradBook& book) {
      const Tensor dy = book.grad(y);
      if (!dy.defined()) return;
      Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
      LVK_DISPATCH(x.device(), softmax_rows_backward, dx.data<float>(), dy.data<float>(), y.data<float>(), n, k);
      book.accumulate(x, dx);
    });
  }
  return y;
}

Tensor argmax_last(const Tensor& x) {
  OpScope op("argmax_last");
  const int64_t k = check_rows(op.name(), x), n = x.numel() / k;
  LVK_CHECK(k <= INT32_MAX, op.name(), ": K=", k, " does not fit the i32 index");
  Tensor index = Tensor::empty(leading_shape(x.shape()), DType::i32, x.device());
  LVK_DISPATCH(x.device(), argmax_rows, index.data<int32_t>(), x.data<float>(), n, k);
  return index;
}

Tensor one_hot(const Tensor& index, int64_t k) {
  OpScope op("one_hot");
  check_defined(op.name(), "index", index);
  check_dtype(op.name(), "index", index, DType::i32);
  LVK_CHECK(k >= 1 && k <= INT32_MAX, op.name(), ": k=", k, " must be in [1, 2^31)");
  if (index.device().is_cpu()) {
    const int32_t* p = index.data<int32_t>();
    for (int64_t i = 0; i < index.numel(); ++i)
      LVK_CHECK(p[i] >= 0 && p[i] < k, op.name(), ": index[", i, "]=", p[i], " is outside [0, ", k, ")");
  }
  std::vector<int64_t> dims = index.shape().dims();
  dims.push_back(k);
  Tensor y = Tensor::empty(Shape(dims), DType::f32, index.device());
  LVK_DISPATCH(index.device(), one_hot, y.data<float>(), index.data<int32_t>(), index.numel(), k);
  return y;
}

std::vector<int64_t> code_counts(const Tensor& index, int64_t k) {
  check_defined("code_counts", "index", index);
  check_dtype("code_counts", "index", index, DType::i32);
  LVK_CHECK(k >= 1, "code_counts: k=", k, " must be >= 1");
  std::vector<int64_t> counts(static_cast<size_t>(k), 0);
  const std::vector<int32_t> host = index.to_vector<int32_t>();
  for (size_t i = 0; i < host.size(); ++i) {
    LVK_CHECK(host[i] >= 0 && host[i] < k, "code_counts: index[", i, "]=", host[i], " is outside [0, ", k, ")");
    ++counts[static_cast<size_t>(host[i])];
  }
  return counts;
}

double counts_perplexity(const std::vector<int64_t>& counts) {
  double total = 0.0;
  for (int64_t c : counts) total += static_cast<double>(c);
  if (total <= 0.0) return 0.0;
  double entropy = 0.0;
  for (int64_t c : counts)
    if (c > 0) {
      const double p = static_cast<double>(c) / total;
      entropy -= p * std::log(p);
    }
  return std::exp(entropy);
}

double counts_usage(const std::vector<int64_t>& counts) {
  if (counts.empty()) return 0.0;
  int64_t used = 0;
  for (int64_t c : counts) used += c > 0 ? 1 : 0;
  return static_cast<double>(used) / static_cast<double>(counts.size());
}

Tensor count_codes(const Tensor& index, int64_t k) {
  OpScope op("count_codes");
  check_defined(op.name(), "index", index);
  check_dtype(op.name(), "index", index, DType::i32);
  LVK_CHECK(k >= 1 && k <= INT32_MAX, op.name(), ": k=", k, " must be in [1, 2^31)");
  Tensor counts = Tensor::empty({k}, DType::i32, index.device());
  LVK_DISPATCH(index.device(), count_codes, counts.data<int32_t>(), index.data<int32_t>(), index.numel(), k);
  return counts;
}

CodeStatistics code_statistics(const Tensor& counts) {
  OpScope op("code_statistics");
  check_defined(op.name(), "counts", counts);
  check_dtype(op.name(), "counts", counts, DType::i32);
  LVK_CHECK(counts.rank() == 1 && counts.numel() >= 1, op.name(), ": counts must be [K >= 1], got ", counts.str());
  CodeStatistics st{Tensor::empty({1}, DType::f32, counts.device()), Tensor::empty({1}, DType::f32, counts.device())};
  LVK_DISPATCH(counts.device(), code_statistics, st.perplexity.data<float>(), st.usage.data<float>(),
               counts.data<int32_t>(), counts.numel());
  return st;
}

}  // namespace lvk
