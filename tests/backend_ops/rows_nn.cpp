// Rows of the network layers: linear with fused bias and activation, each activation, column sums,
// the elementwise losses, convolutions (plain, transposed and over one-hot codes) and group
// normalisation.
#include "runtime/ops/basic.h"
#include "runtime/ops/code_conv.h"
#include "runtime/ops/nn.h"
#include "runtime/ops/nn_conv.h"
#include "runtime/ops/row_loss.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kBlock = 256;

OpRow activation_row(const std::string& name, Activation act) {
  OpRow r;
  r.name = name;  // size: elements
  r.kernels = {"bias_act_forward", "act_backward"};
  r.tile = kBlock;
  r.inputs = [](int64_t n) { return Tensors{rand({n}, 71, -3.0f, 3.0f)}; };
  r.forward = [act](const Tensors& in) { return Tensors{activation(in[0], act, 0.1f)}; };
  r.outputs = {close("y", 1e-6, 1e-5)};  // device exp/tanh/erf intrinsics
  r.backward = true;
  r.grad_inputs = {true};
  r.grad_tolerance = close("grad", 1e-6, 1e-5);
  return r;
}

OpRow linear_row(const std::string& name, Activation act) {
  OpRow r;
  r.name = name;  // size: rows of x [N, 7] through w [5, 7], b [5]
  r.kernels = {"linear_forward", "sgemm", "bias_act_forward", "act_backward", "column_sum"};
  r.tile = 32;
  r.inputs = [](int64_t n) { return Tensors{rand({n, 7}, 72), rand({5, 7}, 73), rand({5}, 74)}; };
  r.forward = [act](const Tensors& in) { return Tensors{linear(in[0], in[1], in[2], act)}; };
  r.outputs = {close("y", 1e-5, 1e-5)};
  r.backward = true;  // the bias gradient is the column sum
  r.grad_inputs = {true, true, true};
  return r;
}

}  // namespace

std::vector<OpRow> nn_rows() {
  std::vector<OpRow> rows;
  rows.push_back(activation_row("relu", Activation::relu));
  rows.push_back(activation_row("leaky_relu", Activation::leaky_relu));
  rows.push_back(activation_row("silu", Activation::silu));
  rows.push_back(activation_row("tanh", Activation::tanh));
  rows.push_back(activation_row("sigmoid", Activation::sigmoid));
  rows.push_back(activation_row("gelu", Activation::gelu));
  rows.push_back(linear_row("linear_silu", Activation::silu));  // an activation pass after the GEMM
  rows.push_back(linear_row("linear_gelu", Activation::gelu));  // fused into the GEMM epilogue on CUDA
  {
    OpRow r;
    r.name = "column_sum";  // size: rows of [N, 9]
    r.kernels = {"column_sum"};
    r.tile = kBlock;
    r.inputs = [](int64_t n) { return Tensors{rand({n, 9}, 75)}; };
    r.forward = [](const Tensors& in) { return Tensors{column_sum(in[0])}; };
    r.outputs = {close("sums", 1e-5, 1e-5)};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "losses";  // size: rows of [N, 3]; every loss kind, summed
    r.kernels = {"loss_terms", "loss_backward"};
    r.tile = kBlock;
    r.inputs = [](int64_t n) {
      return Tensors{rand({n, 3}, 76, -2.0f, 2.0f), rand({n, 3}, 77, 0.0f, 1.0f), rand({n, 3}, 78, -1.0f, 1.0f)};
    };
    r.forward = [](const Tensors& in) {
      const Tensor total =
          add(add(mse_loss(in[0], in[1], Reduction::sum), bce_with_logits(in[0], in[1], Reduction::sum)),
              add(gaussian_nll(in[0], in[1], 0.3f, Reduction::sum), gaussian_nll(in[0], in[1], in[2], Reduction::sum)));
      return Tensors{total, row_loss(kernels::LossKind::bce_logits, in[0], in[1])};
    };
    r.outputs = {close("total", 1e-4, 1e-5), close("row_bce", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    r.grad_sizes = {1, 3};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "conv2d";  // size: batch of x [N, 3, 6, 5], 4 filters 3x3, stride 1, pad 1
    r.kernels = {"conv_forward", "conv_backward_data", "conv_backward_filter", "channel_bias_add", "channel_sum"};
    r.tile = 4;
    r.inputs = [](int64_t n) { return Tensors{rand({n, 3, 6, 5}, 81), rand({4, 3, 3, 3}, 82), rand({4}, 83)}; };
    r.forward = [](const Tensors& in) { return Tensors{conv2d(in[0], in[1], in[2], Conv2dParams::make(1, 1))}; };
    r.outputs = {close("y", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    r.grad_sizes = {1, 2};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "conv_transpose2d";  // size: batch of x [N, 4, 3, 3] -> [N, 2, 6, 6], stride 2
    r.kernels = {"conv_forward", "conv_backward_data", "conv_backward_filter", "channel_bias_add", "channel_sum"};
    r.tile = 4;
    r.inputs = [](int64_t n) { return Tensors{rand({n, 4, 3, 3}, 84), rand({4, 2, 4, 4}, 85), rand({2}, 86)}; };
    r.forward = [](const Tensors& in) {
      return Tensors{conv_transpose2d(in[0], in[1], in[2], Conv2dParams::make(2, 1))};
    };
    r.outputs = {close("y", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    r.grad_sizes = {1, 2};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "code_conv2d";  // size: batch of code maps [N, 4, 5] of 7 codes, 3 filters 5x5 masked to 12 taps
    r.kernels = {"code_conv_forward", "code_conv_backward_filter", "channel_sum"};
    r.tile = 4;
    r.inputs = [](int64_t n) { return Tensors{rand_index({n, 4, 5}, 90, 7), rand({3, 7, 5, 5}, 91), rand({3}, 92)}; };
    r.forward = [](const Tensors& in) { return Tensors{code_conv2d(in[0], in[1], in[2], 12)}; };
    r.outputs = {close("y", 1e-6, 1e-6)};
    r.backward = true;  // the codes have no gradient
    r.grad_inputs = {false, true, true};
    r.grad_sizes = {1, 2};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "group_norm";  // size: batch of x [N, 4, 3, 3], 2 groups
    r.kernels = {"group_norm_forward", "group_norm_backward"};
    r.tile = 8;
    r.inputs = [](int64_t n) { return Tensors{rand({n, 4, 3, 3}, 87, -2.0f, 2.0f), rand({4}, 88), rand({4}, 89)}; };
    r.forward = [](const Tensors& in) { return Tensors{group_norm(in[0], in[1], in[2], 2)}; };
    r.outputs = {close("y", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    r.grad_check.atol = r.grad_check.rtol = 5e-3;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
