#include "tests/backend_ops/op_table.h"

#include <algorithm>
#include <random>

#include "runtime/tape.h"

namespace lvk::backend_ops {

const std::vector<OpRow>& op_table() {
  static const std::vector<OpRow> table = [] {
    std::vector<OpRow> all;
    for (auto family : {elementwise_rows, stochastic_rows, vq_rows, flow_rows, nn_rows, optim_rows})
      for (OpRow& row : family()) all.push_back(std::move(row));
    return all;
  }();
  return table;
}

const OpRow* find_row(const std::string& name) {
  for (const OpRow& row : op_table())
    if (row.name == name) return &row;
  return nullptr;
}

namespace {
bool is_prime(int64_t n) {
  if (n < 2) return false;
  for (int64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}
}  // namespace

std::vector<int64_t> edge_sizes(const OpRow& row) {
  int64_t prime = row.tile + 2;
  while (!is_prime(prime)) ++prime;
  std::vector<int64_t> sizes = {1, row.tile - 1, row.tile, row.tile + 1, prime};
  if (row.empty_ok) sizes.push_back(0);
  sizes.insert(sizes.end(), row.extra_sizes.begin(), row.extra_sizes.end());
  sizes.erase(std::remove_if(sizes.begin(), sizes.end(), [&](int64_t s) { return s < (row.empty_ok ? 0 : 1); }),
              sizes.end());
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

Tensors run_row(const OpRow& row, const Tensors& in, bool with_grads) {
  if (!with_grads || !row.backward) return row.forward(in);
  Tensors x = in;
  for (size_t i = 0; i < x.size(); ++i) {
    if (i < row.grad_inputs.size() && row.grad_inputs[i]) {
      x[i] = in[i].clone();
      x[i].set_requires_grad(true);
    }
  }
  Tape tape;
  Tensors out;
  {
    TapeRecording recording(tape);
    out = row.forward(x);
  }
  const Tensor& y = out.at(static_cast<size_t>(row.grad_output));
  if (y.requires_grad()) {
    const std::vector<float> w = test::random_values(static_cast<size_t>(y.numel()), 99u, -1.0f, 1.0f);
    tape.backward(y, Tensor::from_vector(w, y.shape(), y.device()));
  }
  for (size_t i = 0; i < x.size(); ++i) {
    if (i < row.grad_inputs.size() && row.grad_inputs[i]) {
      const Tensor g = x[i].grad();
      out.push_back(g.defined() ? g : Tensor::zeros(x[i].shape(), DType::f32, x[i].device()));
    }
  }
  return out;
}

Tensor rand(const Shape& shape, uint32_t seed, float lo, float hi) {
  return test::random_tensor(shape, seed, Device::cpu(), lo, hi);
}

Tensor rand_index(const Shape& shape, uint32_t seed, int32_t k) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int32_t> dist(0, std::max(k, 1) - 1);
  std::vector<int32_t> v(static_cast<size_t>(shape.numel()));
  for (int32_t& x : v) x = dist(gen);
  return Tensor::from_vector(v, shape);
}

}  // namespace lvk::backend_ops
