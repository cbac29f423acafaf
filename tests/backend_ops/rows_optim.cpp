// Rows of the optimiser and the train step's device-resident clock: the global gradient norm,
// Adam/AdamW (host rates, and rates read from the clock with a skipped step), and the clock's
// begin / guard / record / end over several steps.
#include <cmath>

#include "runtime/ops/basic.h"
#include "runtime/ops/optim.h"
#include "runtime/ops/step_clock.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

constexpr int64_t kBlock = 256;

// Three parameter tensors of n, 2n + 1 and 3 elements, each with a gradient and both moments:
// inputs [4 i + 0..3] = param, grad, m, v of tensor i.
Tensors adam_inputs(int64_t n) {
  Tensors t;
  uint32_t seed = 90;
  for (int64_t size : {n, 2 * n + 1, int64_t{3}}) {
    t.push_back(rand({size}, seed++));
    t.push_back(rand({size}, seed++, -2.0f, 2.0f));
    t.push_back(rand({size}, seed++, -0.1f, 0.1f));
    t.push_back(rand({size}, seed++, 0.0f, 0.1f));
  }
  return t;
}

// Copies of the quadruples (the update is in place), the grads shared.
struct AdamState {
  std::vector<Tensor> params, grads, m, v;
  explicit AdamState(const Tensors& in) {
    for (size_t i = 0; i < in.size(); i += 4) {
      params.push_back(in[i].clone()), grads.push_back(in[i + 1]);
      m.push_back(in[i + 2].clone()), v.push_back(in[i + 3].clone());
    }
  }
  Tensors outputs() const {
    Tensors out = params;
    out.insert(out.end(), m.begin(), m.end());
    out.insert(out.end(), v.begin(), v.end());
    return out;
  }
};

kernels::AdamHyper hyper(bool decoupled) {
  kernels::AdamHyper h{};
  h.lr = 1e-2f, h.beta1 = 0.9f, h.beta2 = 0.99f, h.eps = 1e-8f;
  h.weight_decay = 0.05f, h.decoupled = decoupled;
  h.bias_correction1 = 0.1f, h.bias_correction2 = 0.01f;
  h.max_grad_norm = 0.5f;  // clipping on: the norm feeds the update
  return h;
}

std::vector<OutputCheck> adam_checks() {
  std::vector<OutputCheck> c;
  for (const char* what : {"param", "m", "v"})
    for (int i = 0; i < 3; ++i) c.push_back(close(std::string(what) + std::to_string(i), 1e-6, 1e-5));
  return c;
}

Tensor scalar(float v, Device d) {
  return Tensor::full({1}, v, d);
}

}  // namespace

std::vector<OpRow> optim_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "grad_norm";  // size: elements of the first of three tensors
    r.kernels = {"grad_norm"};
    r.tile = kBlock;
    r.inputs = adam_inputs;
    r.forward = [](const Tensors& in) { return Tensors{global_norm({in[1], in[5], in[9]})}; };
    r.outputs = {close("norm", 1e-6, 1e-5)};
    rows.push_back(r);
  }
  for (bool decoupled : {false, true}) {
    OpRow r;
    r.name = decoupled ? "adamw" : "adam";  // two steps with clipping by the global norm
    r.kernels = {"adam_step", "grad_norm"};
    r.tile = kBlock;
    r.inputs = adam_inputs;
    r.forward = [decoupled](const Tensors& in) {
      AdamState s(in);
      const kernels::AdamHyper h = hyper(decoupled);
      for (int step = 0; step < 2; ++step) adam_update_(s.params, s.grads, s.m, s.v, h, global_norm(s.grads));
      return s.outputs();
    };
    r.outputs = adam_checks();
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "adam_on_clock";  // rates from the step clock; the second step's loss is NaN: skipped
    r.kernels = {"adam_step", "step_begin", "step_guard", "step_end"};
    r.tile = kBlock;
    r.inputs = adam_inputs;
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      AdamState s(in);
      StepClock clock(d, {1e-2f, 5e-3f, 2e-3f}, 3, 1);
      kernels::AdamHyper h = hyper(true);
      h.step = clock.state();
      h.lr_at = clock.scalar(0).data<float>();
      for (float loss : {1.0f, NAN, 0.5f}) {
        clock.begin();
        const Tensor norm = global_norm(s.grads);
        clock.guard(scalar(loss, d), norm, h.beta1, h.beta2);
        adam_update_(s.params, s.grads, s.m, s.v, h, norm);
        clock.end();
      }
      return s.outputs();
    };
    r.outputs = adam_checks();
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "step_clock";  // size: steps taken over a 3-row schedule (later steps hold its last row)
    r.kernels = {"step_begin", "step_guard", "record_scalars", "step_end"};
    r.tile = 3;
    r.empty_ok = false;
    r.inputs = [](int64_t steps) { return Tensors{rand({3, 2}, 95, 0.0f, 1.0f), Tensor::zeros({steps})}; };
    r.forward = [](const Tensors& in) {
      const Device d = in[0].device();
      const int64_t steps = in[1].numel();
      StepClock clock(d, in[0].to_vector<float>(), 3, 2);
      ScalarRing ring(d, steps, 3);
      for (int64_t s = 0; s < steps; ++s) {
        clock.begin();
        const float loss = s % 3 == 1 ? INFINITY : 0.25f * static_cast<float>(s);
        clock.guard(scalar(loss, d), scalar(1.0f, d), 0.9f, 0.999f);
        ring.record(clock, {clock.scalar(0), clock.scalar(1), clock.skipped_flag()});
        clock.end();
      }
      const kernels::StepState st = clock.read();
      std::vector<float> flat;
      for (const std::vector<float>& row : ring.read(0, steps - 1)) flat.insert(flat.end(), row.begin(), row.end());
      const std::vector<float> state = {static_cast<float>(st.step), static_cast<float>(st.noise_base),
                                        static_cast<float>(st.skip), static_cast<float>(st.adam_steps),
                                        st.bias_correction1,         st.bias_correction2};
      return Tensors{Tensor::from_vector(state, {6}, d), Tensor::from_vector(flat, {steps, 3}, d)};
    };
    r.outputs = {exact("state"), exact("ring")};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace lvk::backend_ops
