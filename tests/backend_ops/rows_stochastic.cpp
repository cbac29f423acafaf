// Rows of the stochastic layers and categorical ops: Gaussian reparametrization and density,
// Gumbel-softmax and its unfused building blocks, the categorical NLL, the Gaussian mixture.
#include "kernels/gaussian.h"
#include "kernels/gaussian_unfused.h"
#include "kernels/gumbel.h"
#include "runtime/op.h"
#include "runtime/ops/categorical.h"
#include "runtime/ops/categorical_nll.h"
#include "runtime/ops/gaussian.h"
#include "runtime/ops/gumbel.h"
#include "runtime/ops/mixture.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kRowsPerBlock = 8;  // the row kernels' warps per block
constexpr int64_t kCategories = 7;

OpRow gumbel_row(bool hard) {
  OpRow r;
  r.name = hard ? "gumbel_softmax_hard" : "gumbel_softmax";  // size: rows of [N, 7] logits
  r.kernels = {"gumbel_softmax_forward", "gumbel_softmax_backward"};
  r.tile = kRowsPerBlock;
  r.inputs = [](int64_t n) { return Tensors{rand({n, kCategories}, 21, -2.0f, 2.0f)}; };
  r.forward = [hard](const Tensors& in) {
    GumbelSoftmaxOptions o;
    o.tau = 0.7f, o.hard = hard, o.seed = 3, o.offset = 9;
    const GumbelSoftmaxResult g = gumbel_softmax(in[0], o);
    return Tensors{g.y, g.index, g.kl};
  };
  r.outputs = {hard ? exact("y") : close("y", 1e-5, 1e-4), exact("index"), close("kl", 1e-5, 1e-4)};
  r.backward = true;
  r.grad_inputs = {true};
  r.grad_check.atol = r.grad_check.rtol = 5e-3;
  r.finite_differences = !hard;  // hard: the straight-through gradient of a piecewise-constant one-hot
  return r;
}

Tensors mixture_inputs(int64_t m, int64_t d) {
  return {rand({m, d}, 26, -2.0f, 2.0f), rand({m + 1, d}, 27, -1.0f, 1.0f), rand({m + 1, d}, 28, -1.0f, 0.5f)};
}

}  // namespace

std::vector<OpRow> stochastic_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "gaussian_sample";  // size: D of mu, logvar [3, D] (a warp per row), two samples each
    r.kernels = {"gaussian_sample", "gaussian_sample_backward"};
    r.tile = 32;
    r.inputs = [](int64_t d) { return Tensors{rand({3, d}, 31, -2.0f, 2.0f), rand({3, d}, 32, -3.0f, 2.0f)}; };
    r.forward = [](const Tensors& in) {
      GaussianSampleOptions o;
      o.samples = 2, o.seed = 12, o.offset = 5;
      const GaussianSampleResult g = gaussian_sample(in[0], in[1], o);
      return Tensors{g.z, g.kl, g.log_q};
    };
    r.outputs = {close("z", 1e-5, 1e-5), close("kl", 1e-4, 1e-5), close("log_q", 1e-4, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "gaussian_log_density";  // size: D of z [2, 3, D] with mu, logvar [3, D]
    r.kernels = {"gaussian_log_density", "gaussian_log_density_backward"};
    r.tile = 32;
    r.inputs = [](int64_t d) {
      return Tensors{rand({2, 3, d}, 33, -2.0f, 2.0f), rand({3, d}, 34), rand({3, d}, 35, -2.0f, 1.0f)};
    };
    r.forward = [](const Tensors& in) { return Tensors{gaussian_log_density(in[0], in[1], in[2])}; };
    r.outputs = {close("log_density", 1e-4, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "gaussian_unfused";  // the benchmark baseline's passes: eps, then sigma; size: elements
    r.kernels = {"gaussian_noise", "gaussian_std"};
    r.tile = 256;
    r.inputs = [](int64_t n) { return Tensors{rand({n}, 36, -30.0f, 30.0f)}; };  // beyond the clamp
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      Tensor eps = Tensor::empty(in[0].shape(), DType::f32, d), sigma = Tensor::empty(in[0].shape(), DType::f32, d);
      LVK_DISPATCH(d, gaussian_noise, eps.data<float>(), eps.numel(), 12, 5);
      LVK_DISPATCH(d, gaussian_std, sigma.data<float>(), in[0].data<float>(), sigma.numel());
      return Tensors{eps, sigma};
    };
    r.outputs = {close("eps", 2e-6, 2e-6), close("sigma", 1e-6, 1e-6)};
    rows.push_back(r);
  }
  rows.push_back(gumbel_row(false));
  rows.push_back(gumbel_row(true));
  {
    OpRow r;
    r.name = "gumbel_noise";  // size: rows of [N, 7]
    r.kernels = {"gumbel_noise"};
    r.tile = kRowsPerBlock;
    r.inputs = [](int64_t n) { return Tensors{Tensor::zeros({n, kCategories})}; };
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      Tensor g = Tensor::empty(in[0].shape(), DType::f32, d);
      LVK_DISPATCH(d, gumbel_noise, g.data<float>(), in[0].dim(0), kCategories, 3, 9);
      return Tensors{g};
    };
    r.outputs = {close("g", 1e-5, 1e-5)};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "softmax_last";  // size: rows of [N, 7]
    r.kernels = {"softmax_rows", "softmax_rows_backward"};
    r.tile = kRowsPerBlock;
    r.inputs = [](int64_t n) { return Tensors{rand({n, kCategories}, 22, -3.0f, 3.0f)}; };
    r.forward = [](const Tensors& in) { return Tensors{softmax_last(in[0])}; };
    r.outputs = {close("y", 1e-6, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "argmax_one_hot";  // size: rows of [N, 7]
    r.kernels = {"argmax_rows", "one_hot"};
    r.tile = kRowsPerBlock;
    r.inputs = [](int64_t n) {
      std::vector<float> v = rand({n, kCategories}, 23).to_vector<float>();
      for (int64_t i = 0; i < n; i += 3) v[i * kCategories + 2] = v[i * kCategories + 5] = 2.0f;  // ties: lowest wins
      return Tensors{Tensor::from_vector(v, {n, kCategories})};
    };
    r.forward = [](const Tensors& in) {
      const Tensor index = argmax_last(in[0]);
      return Tensors{index, one_hot(index, kCategories)};
    };
    r.outputs = {exact("index"), exact("one_hot")};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "categorical_nll";  // size: rows of [N, 7] logits
    r.kernels = {"categorical_nll_forward", "categorical_nll_backward"};
    r.tile = kRowsPerBlock;
    r.inputs = [](int64_t n) {
      return Tensors{rand({n, kCategories}, 24, -3.0f, 3.0f), rand_index({n}, 25, kCategories)};
    };
    r.forward = [](const Tensors& in) { return Tensors{categorical_nll(in[0], in[1])}; };
    r.outputs = {close("nll", 1e-5, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, false};
    rows.push_back(r);
  }
  {
    OpRow r;
    // size: points z [M, 20], against M + 1 components mu, logvar [M + 1, 20] (a mixture needs one)
    // in 64 x 64 pair tiles and 16-wide D tiles
    r.name = "gaussian_mixture_log_density";
    r.kernels = {"gaussian_mixture_log_density", "gaussian_mixture_log_density_backward"};
    r.tile = 64;
    r.inputs = [](int64_t m) { return mixture_inputs(m, 20); };
    r.grad_check_inputs = [](int64_t m) { return mixture_inputs(m, 3); };
    r.forward = [](const Tensors& in) { return Tensors{gaussian_mixture_log_density(in[0], in[1], in[2])}; };
    r.outputs = {close("log_density", 1e-4, 1e-5)};
    r.backward = true;
    r.grad_inputs = {true, true, true};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
