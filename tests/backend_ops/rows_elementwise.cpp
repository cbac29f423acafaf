// Rows of the foundation's ops: fills, random fills, elementwise arithmetic, reductions, matmul,
// layout moves and code counting.
#include <cmath>

#include "runtime/ops/basic.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/layout.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kBlock = 256;  // threads per block of the CUDA elementwise kernels
// Bytes per element a large run holds at once: the CPU inputs and outputs, their device copies,
// and both results as host vectors for the comparison.
constexpr double kBinaryBytes = 4.0 * 8;

Tensors one_vector(int64_t n) {
  return {rand({n}, 1)};
}
Tensors two_vectors(int64_t n) {
  return {rand({n}, 1), rand({n}, 2)};
}

OpRow binary(const std::string& name, Tensor (*op)(const Tensor&, const Tensor&)) {
  OpRow r;
  r.name = name;
  r.kernels = {name};
  r.tile = kBlock;
  r.index64 = name == "add";
  r.large_bytes_per_element = kBinaryBytes;
  r.inputs = two_vectors;
  r.forward = [op](const Tensors& in) { return Tensors{op(in[0], in[1])}; };
  r.outputs = {exact("out")};  // one rounding in both twins
  r.backward = true;
  r.grad_inputs = {true, true};
  r.grad_tolerance = exact("grad");
  return r;
}

}  // namespace

std::vector<OpRow> elementwise_rows() {
  std::vector<OpRow> rows;
  rows.push_back(binary("add", add));
  rows.push_back(binary("sub", sub));
  rows.push_back(binary("mul", mul));
  {
    OpRow r;
    r.name = "scale";
    r.kernels = {"scale"};
    r.tile = kBlock;
    r.index64 = true;
    r.large_bytes_per_element = 4.0 * 6;
    r.inputs = one_vector;
    r.forward = [](const Tensors& in) { return Tensors{scale(in[0], -1.7f)}; };
    r.outputs = {exact("out")};
    r.backward = true;
    r.grad_inputs = {true};
    r.grad_tolerance = exact("grad");
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "axpy";  // accumulate_into: how gradients accumulate
    r.kernels = {"axpy"};
    r.tile = kBlock;
    r.inputs = two_vectors;
    r.forward = [](const Tensors& in) {
      Tensor y = in[0].clone();
      accumulate_into(y, in[1], 0.3f);
      return Tensors{y};
    };
    r.outputs = {close("y", 1e-7, 1e-7)};  // a fused multiply-add on the device
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "fill";
    r.kernels = {"fill_f32", "fill_i32"};
    r.tile = kBlock;
    r.index64 = true;
    r.large_bytes_per_element = 4.0 * 12;
    r.inputs = [](int64_t n) { return Tensors{Tensor::zeros({n}), Tensor::zeros({n}, DType::i32)}; };
    r.forward = [](const Tensors& in) {
      Tensor f = in[0].clone(), i = in[1].clone();
      fill_(f, 2.5f);
      fill_(i, -7.0f);
      return Tensors{f, i};
    };
    r.outputs = {exact("f32"), exact("i32")};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "expand_scalar";  // the backward of a full reduction, without a host sync
    r.kernels = {"fill_from_scalar"};
    r.tile = kBlock;
    r.inputs = [](int64_t n) { return Tensors{rand({1}, 3), Tensor::zeros({n})}; };
    r.forward = [](const Tensors& in) { return Tensors{expand_scalar(in[0], in[1].shape())}; };
    r.outputs = {exact("out")};
    r.backward = true;  // the gradient is the sum of the output's: the sum kernel
    r.grad_inputs = {true, false};
    r.grad_tolerance = close("grad", 1e-5, 1e-5);
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "random";
    r.kernels = {"uniform", "normal"};
    r.tile = kBlock;
    r.index64 = true;
    r.large_bytes_per_element = 4.0 * 10;
    r.inputs = [](int64_t n) { return Tensors{Tensor::zeros({n})}; };
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      return Tensors{uniform(in[0].shape(), 11, 5, d), normal(in[0].shape(), 11, 5, d)};
    };
    // Uniforms are bit-identical; normals within a few ulp (device log/sincos intrinsics).
    r.outputs = {exact("uniform"), close("normal", 2e-6, 2e-6)};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "sum";
    r.kernels = {"sum"};
    r.tile = 512;  // kernels::kSumBlock
    r.index64 = true;
    r.large_bytes_per_element = 4.0 * 4;
    r.inputs = one_vector;
    r.forward = [](const Tensors& in) { return Tensors{sum(in[0])}; };
    r.outputs = {close("sum", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true};
    r.grad_tolerance = exact("grad");
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "count_nonfinite";
    r.kernels = {"count_nonfinite"};
    r.tile = 512;
    r.inputs = [](int64_t n) {
      std::vector<float> v = rand({n}, 4).to_vector<float>();
      for (int64_t i = 0; i < n; i += 7) v[i] = (i % 2) ? NAN : -INFINITY;
      return Tensors{Tensor::from_vector(v, {n})};
    };
    r.forward = [](const Tensors& in) {
      return Tensors{Tensor::full({1}, static_cast<float>(count_nonfinite(in[0])), in[0].device())};
    };
    r.outputs = {exact("count")};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "matmul";  // size: rows of a; a [n, 19] x b [19, 6], and transposed forms in the backward
    r.kernels = {"sgemm"};
    r.tile = 32;
    r.inputs = [](int64_t n) { return Tensors{rand({n, 19}, 5), rand({19, 6}, 6)}; };
    r.forward = [](const Tensors& in) { return Tensors{matmul(in[0], in[1]), matmul(in[1], in[0], true, true)}; };
    r.outputs = {close("ab", 1e-5, 1e-5), close("(ab)^T", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "channels_last";  // size: channels of x [2, C, 7, 7] (32 x 32 transpose tiles)
    r.kernels = {"swap_last_axes"};
    r.tile = 32;
    r.inputs = [](int64_t c) { return Tensors{rand({2, c, 7, 7}, 7)}; };
    r.forward = [](const Tensors& in) {
      const Tensor y = to_channels_last(in[0]);
      return Tensors{y, to_channels_first(y)};
    };
    r.outputs = {exact("nhwc"), exact("nchw")};
    r.backward = true;
    r.grad_inputs = {true};
    r.grad_tolerance = exact("grad");
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "code_statistics";  // size: rows of indices into 37 codes
    r.kernels = {"count_codes", "code_statistics"};
    r.tile = kBlock;
    r.inputs = [](int64_t n) { return Tensors{rand_index({n}, 8, 37)}; };
    r.forward = [](const Tensors& in) {
      const Tensor counts = count_codes(in[0], 37);
      const CodeStatistics s = code_statistics(counts);
      return Tensors{counts, s.perplexity, s.usage};
    };
    r.outputs = {exact("counts"), close("perplexity", 1e-5, 1e-5), exact("usage")};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
