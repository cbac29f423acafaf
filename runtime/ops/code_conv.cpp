// code_conv2d: the forward gathers weight columns by code, the backward scatters dy into the
// weight gradient (kernels/code_conv.h) and sums it per channel for the bias.
#include "runtime/ops/code_conv.h"

#include "kernels/code_conv.h"
#include "kernels/nn_conv.h"
#include "runtime/op.h"

namespace lvk {

namespace {

void check_code_range(const char* op, const Tensor& codes, int64_t k) {
  if (!codes.device().is_cpu()) return;
  const int32_t* p = codes.data<int32_t>();
  const int64_t h = codes.dim(1), w = codes.dim(2);
  for (int64_t i = 0; i < codes.numel(); ++i)
    LVK_CHECK(p[i] >= 0 && p[i] < k, op, ": codes[", i / (h * w), ", ", i / w % h, ", ", i % w, "]=", p[i],
              " is outside [0, ", k, ") (K from w of shape [O, K, k, k])");
}

}  // namespace

Tensor code_conv2d(const Tensor& codes, const Tensor& w, const Tensor& b, int64_t taps) {
  OpScope op("code_conv2d");
  check_defined(op.name(), "codes", codes);
  check_defined(op.name(), "w", w);
  check_dtype(op.name(), "codes", codes, DType::i32);
  check_dtype(op.name(), "w", w, DType::f32);
  check_rank(op.name(), "codes", codes, 3);
  check_rank(op.name(), "w", w, 4);
  check_same_device(op.name(), codes, w);
  const int64_t kernel = w.dim(2);
  LVK_CHECK(w.dim(0) >= 1 && w.dim(1) >= 1 && kernel % 2 == 1 && w.dim(3) == kernel, op.name(), ": w ", w.shape().str(),
            " must be [O >= 1, K >= 1, k, k] with k odd");
  LVK_CHECK(taps >= 1 && taps <= kernel * kernel, op.name(), ": taps=", taps, " must be in [1, ", kernel * kernel,
            "] for a ", kernel, "x", kernel, " kernel");
  if (b.defined()) {
    check_dtype(op.name(), "b", b, DType::f32);
    check_same_device(op.name(), codes, b);
    LVK_CHECK(b.rank() == 1 && b.dim(0) == w.dim(0), op.name(), ": b is ", b.shape().str(), ", expected [", w.dim(0),
              "]");
  }
  check_code_range(op.name(), codes, w.dim(1));
  const kernels::CodeConvShape s{codes.dim(0), codes.dim(1), codes.dim(2), w.dim(1), w.dim(0), kernel, taps};
  Tensor y = Tensor::empty({s.n, s.o, s.h, s.w}, DType::f32, codes.device());
  LVK_DISPATCH(codes.device(), code_conv_forward, y.data<float>(), codes.data<int32_t>(), w.data<float>(),
               data_or_null(b), s);
  if (Tape::wants({w, b})) {
    Tape::recording()->record(op.name(), {w, b}, {y}, [codes, w, b, y, s](GradBook& book) {
      const Tensor dy = book.grad(y);
      if (!dy.defined()) return;
      if (book.wants(w)) {
        Tensor dw = Tensor::empty(w.shape(), DType::f32, w.device());
        LVK_DISPATCH(w.device(), code_conv_backward_filter, dw.data<float>(), codes.data<int32_t>(), dy.data<float>(),
                     s);
        book.accumulate(w, dw);
      }
      if (book.wants(b)) {
        Tensor db = Tensor::empty({s.o}, DType::f32, b.device());
        LVK_DISPATCH(b.device(), channel_sum, db.data<float>(), dy.data<float>(), s.n, s.o, s.h * s.w);
        book.accumulate(b, db);
      }
    });
  }
  return y;
}

}  // namespace lvk
