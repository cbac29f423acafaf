#include "models/optim.h"

#include <cmath>
#include <map>

#include "base/error.h"
#include "runtime/ops/basic.h"
#include "runtime/ops/optim.h"
#include "runtime/storage.h"
#include "runtime/tape.h"

namespace lvk {

Adam::Adam(ParameterList params, AdamOptions options) : params_(std::move(params)), options_(options) {
  LVK_CHECK(options_.beta1 >= 0.0f && options_.beta1 < 1.0f && options_.beta2 >= 0.0f && options_.beta2 < 1.0f,
            "Adam: betas (", options_.beta1, ", ", options_.beta2, ") must lie in [0, 1)");
  LVK_CHECK(options_.eps > 0.0f, "Adam: eps=", options_.eps, " must be > 0");
  LVK_CHECK(options_.weight_decay >= 0.0f && options_.max_grad_norm >= 0.0f,
            "Adam: weight_decay=", options_.weight_decay, " and max_grad_norm=", options_.max_grad_norm,
            " must be >= 0");
  std::map<std::string, int> seen;
  for (const auto& [name, p] : params_) {
    LVK_CHECK(seen[name]++ == 0, "Adam: duplicate parameter name \"", name, "\"");
    check_dtype("Adam", name.c_str(), p, DType::f32);
    LVK_CHECK(p.device() == params_[0].second.device(), "Adam: parameter \"", name, "\" is on ", p.device().str(),
              ", the others on ", params_[0].second.device().str());
    m_.push_back(Tensor::zeros(p.shape(), DType::f32, p.device()));
    v_.push_back(Tensor::zeros(p.shape(), DType::f32, p.device()));
  }
}

void Adam::step(float lr) {
  LVK_CHECK(std::isfinite(lr) && lr >= 0.0f, "Adam::step: learning rate ", lr, " must be finite and >= 0");
  ++steps_;
  const double t = static_cast<double>(steps_);
  AdamHyper h = hyper();
  h.lr = lr;
  h.bias_correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(options_.beta1), t));
  h.bias_correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(options_.beta2), t));
  update(h, nullptr, Tensor());
}

void Adam::step(StepClock& clock, const Tensor& loss) {
  LVK_CHECK(clock.device() == device(), "Adam::step: the clock is on ", clock.device().str(), ", the parameters on ",
            device().str());
  AdamHyper h = hyper();
  h.step = clock.state();
  h.lr_at = clock.scalar(0).data<float>();
  update(h, &clock, loss);
}

AdamHyper Adam::hyper() const {
  AdamHyper h{};
  h.beta1 = options_.beta1;
  h.beta2 = options_.beta2;
  h.eps = options_.eps;
  h.weight_decay = options_.weight_decay;
  h.decoupled = options_.decoupled_weight_decay;
  h.max_grad_norm = options_.max_grad_norm;
  return h;
}

Device Adam::device() const {
  return params_.empty() ? Device::cpu() : params_[0].second.device();
}

void Adam::update(const AdamHyper& h, StepClock* clock, const Tensor& loss) {
  NoGrad no_grad;
  std::vector<Tensor> p, g, m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor grad = params_[i].second.grad();
    if (!grad.defined()) continue;
    p.push_back(params_[i].second);
    g.push_back(grad);
    m.push_back(m_[i]);
    v.push_back(v_[i]);
  }
  if (!g.empty()) {
    // Into one persistent scalar: its address stays valid for a captured step's later readers.
    const Tensor norm = global_norm(g);
    if (!last_norm_.defined()) last_norm_ = Tensor::empty({1}, DType::f32, norm.device());
    copy_bytes(last_norm_.raw(), last_norm_.device(), norm.raw(), norm.device(), sizeof(float));
  }
  if (clock) clock->guard(loss, g.empty() ? Tensor() : last_norm_, options_.beta1, options_.beta2);
  if (!g.empty()) adam_update_(p, g, m, v, h, last_norm_);
}

void Adam::zero_grad() {
  for (auto& [name, p] : params_) {
    (void)name;
    if (Tensor g = p.grad(); g.defined()) fill_(g, 0.0f);
  }
}

ParameterList Adam::state() const {
  ParameterList s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s.emplace_back(params_[i].first + ".exp_avg", m_[i]);
    s.emplace_back(params_[i].first + ".exp_avg_sq", v_[i]);
  }
  LVK_CHECK(steps_ < (int64_t{1} << 31), "Adam::state: step count ", steps_, " does not fit the i32 checkpoint field");
  s.emplace_back("step", Tensor::from_vector<int32_t>({static_cast<int32_t>(steps_)}, {1}));
  return s;
}

void Adam::load_state(const ParameterList& state) {
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  auto fetch = [&](const std::string& name, const Tensor& like) {
    auto it = by_name.find(name);
    LVK_CHECK(it != by_name.end(), "Adam::load_state: missing \"", name, "\"");
    LVK_CHECK(it->second.shape() == like.shape() && it->second.dtype() == like.dtype(), "Adam::load_state: \"", name,
              "\" is ", it->second.str(), ", expected ", like.str());
    return it->second;
  };
  const Tensor step = fetch("step", Tensor::zeros({1}, DType::i32));
  const int32_t s = step.to_vector<int32_t>()[0];
  LVK_CHECK(s >= 0, "Adam::load_state: negative step ", s);
  std::vector<Tensor> m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    m.push_back(fetch(params_[i].first + ".exp_avg", m_[i]).to(m_[i].device()));
    v.push_back(fetch(params_[i].first + ".exp_avg_sq", v_[i]).to(v_[i].device()));
  }
  m_ = std::move(m);
  v_ = std::move(v);
  steps_ = s;
}

float LrSchedule::lr_at(int64_t step) const {
  LVK_CHECK(step >= 0, "LrSchedule: step ", step, " must be >= 0");
  if (warmup_steps > 0 && step < warmup_steps)
    return static_cast<float>(base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps));
  if (kind == Kind::constant) return base_lr;
  LVK_CHECK(total_steps > warmup_steps, "LrSchedule: cosine needs total_steps (", total_steps, ") > warmup_steps (",
            warmup_steps, ")");
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps));
  return static_cast<float>(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace lvk
