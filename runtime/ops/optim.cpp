// Multi-tensor optimizer ops: the tensor table is built on the host and handed to the twin, which
// on CUDA passes it by value to the kernel (no copy, no synchronisation).
#include "runtime/ops/optim.h"

#include "runtime/op.h"

namespace lvk {

namespace {

struct Table {
  std::vector<kernels::OptimTensor> host;
  int64_t total = 0;
  const kernels::OptimTensor* ptr(Device) const { return host.data(); }
};

Table make_table(const char* op, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>* m, const std::vector<Tensor>* v, Device device) {
  Table t;
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    check_dtype(op, "grad", g, DType::f32);
    LVK_CHECK(g.device() == device, op, ": tensor ", i, " is on ", g.device().str(), ", expected ", device.str());
    kernels::OptimTensor e{nullptr, g.data<float>(), nullptr, nullptr, g.numel(), t.total};
    if (m) {
      for (const Tensor* x : {&params[i], &(*m)[i], &(*v)[i]}) {
        check_dtype(op, "param/state", *x, DType::f32);
        LVK_CHECK(x->shape() == g.shape() && x->device() == device, op, ": tensor ", i, " is ", x->str(),
                  " but its gradient is ", g.str());
      }
      e.param = params[i].data<float>();
      e.m = (*m)[i].data<float>();
      e.v = (*v)[i].data<float>();
    }
    if (e.n == 0) continue;
    t.host.push_back(e);
    t.total += e.n;
  }
  LVK_CHECK(t.host.size() < (1u << 30), op, ": too many tensors");
  return t;
}

}  // namespace

Tensor global_norm(const std::vector<Tensor>& tensors) {
  OpScope op("global_norm");
  const Device device = tensors.empty() ? Device::cpu() : tensors[0].device();
  const Table t = make_table(op.name(), {}, tensors, nullptr, nullptr, device);
  Tensor out = Tensor::empty(Shape{}, DType::f32, device);
  Tensor ws;
  if (device.is_cuda())
    ws = Tensor::empty({kernels::grad_norm_workspace_size(t.total, static_cast<int>(t.host.size()))}, DType::f32,
                       device);
  LVK_DISPATCH(device, grad_norm, out.data<float>(), t.ptr(device), static_cast<int>(t.host.size()), t.total,
               data_or_null(ws));
  return out;
}

void adam_update_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                  const std::vector<Tensor>& v, const kernels::AdamHyper& h, const Tensor& grad_norm) {
  OpScope op("adam_update");
  LVK_CHECK(params.size() == grads.size() && m.size() == grads.size() && v.size() == grads.size(),
            "adam_update: ", params.size(), " params, ", grads.size(), " grads, ", m.size(), " m, ", v.size(),
            " v; expected equal counts");
  if (params.empty()) return;
  const Device device = params[0].device();
  const Table t = make_table(op.name(), params, grads, &m, &v, device);
  const float* norm = nullptr;
  if (grad_norm.defined()) {
    check_dtype(op.name(), "grad_norm", grad_norm, DType::f32);
    LVK_CHECK(grad_norm.numel() == 1 && grad_norm.device() == device, "adam_update: grad_norm ", grad_norm.str(),
              " must be one element on ", device.str());
    norm = grad_norm.data<float>();
  }
  LVK_DISPATCH(device, adam_step, t.ptr(device), static_cast<int>(t.host.size()), t.total, h, norm);
}

}  // namespace lvk
