#include "models/grad_sync.h"

#include <algorithm>

#include "runtime/storage.h"

namespace lvk {

GradientSync::GradientSync(dist::Communicator& comm, Device device, size_t bucket_bytes)
    : comm_(comm), bucket_bytes_(bucket_bytes), side_(device) {
  LVK_CHECK(bucket_bytes >= sizeof(float), "GradientSync: bucket of ", bucket_bytes, " bytes is too small");
}

void GradientSync::plan(const ParameterList& params) {
  Bucket packing;
  auto close = [&](Bucket& b) {
    if (b.grads.empty()) return;
    b.waiting = static_cast<int>(b.grads.size());
    for (const void* owner : b.owners) bucket_of_[owner] = buckets_.size();
    buckets_.push_back(std::move(b));
    b = Bucket{};
  };
  for (auto p = params.rbegin(); p != params.rend(); ++p) {
    const auto& [name, param] = *p;
    Tensor g = param.grad();
    const bool listed_again =
        std::find(packing.owners.begin(), packing.owners.end(), param.id()) != packing.owners.end();
    if (!g.defined() || bucket_of_.count(param.id()) || listed_again) continue;
    LVK_CHECK(g.dtype() == DType::f32, "GradientSync: the gradient of \"", name, "\" is ", g.str(), ", expected f32");
    if (g.bytes() >= bucket_bytes_) {  // big enough on its own: in place, no copies
      Bucket alone;
      alone.grads = {g};
      alone.owners = {param.id()};
      alone.elements = g.numel();
      close(alone);
      continue;
    }
    if (static_cast<size_t>(packing.elements + g.numel()) * sizeof(float) > bucket_bytes_) close(packing);
    packing.grads.push_back(g);
    packing.owners.push_back(param.id());
    packing.elements += g.numel();
  }
  close(packing);
}

void GradientSync::begin(const ParameterList& params) {
  buckets_.clear();
  bucket_of_.clear();
  launched_ = 0;
  last_collectives_ = 0;
  last_bytes_ = 0;
  last_overlapped_ = 0;
  plan(params);
}

void GradientSync::gradient_final(const Tensor& leaf) {
  auto it = bucket_of_.find(leaf.id());
  if (it == bucket_of_.end()) return;
  Bucket& b = buckets_[it->second];
  if (b.waiting > 0) --b.waiting;
  const size_t before = launched_;
  launch_ready();
  last_overlapped_ += static_cast<int>(launched_ - before);
  poll();
}

void GradientSync::launch_ready() {
  while (launched_ < buckets_.size() && buckets_[launched_].waiting == 0) launch(launched_++);
}

void GradientSync::launch(size_t index) {
  Bucket& b = buckets_[index];
  ++last_collectives_;
  last_bytes_ += static_cast<size_t>(b.elements) * sizeof(float);
  side_.fork();
  SideStream::Scope on_side(side_);
  if (b.grads.size() == 1) {
    b.collective = comm_.start_all_reduce_(b.grads.front(), dist::ReduceOp::avg);
    b.unpacked = true;  // reduced in place: nothing to copy back
    return;
  }
  const Device device = b.grads.front().device();
  if (staging_.size() <= index) staging_.resize(index + 1);
  Tensor& packed = staging_[index];
  if (!packed.defined() || packed.numel() != b.elements || packed.device() != device)
    packed = Tensor::empty({b.elements}, DType::f32, device);
  char* at = static_cast<char*>(packed.raw());
  for (const Tensor& g : b.grads) copy_bytes(at, device, g.raw(), device, g.bytes()), at += g.bytes();
  b.collective = comm_.start_all_reduce_(packed, dist::ReduceOp::avg);
  // Stream-ordered collectives are done for whatever follows on the side stream: unpack there now.
  if (b.collective->done()) unpack(index);
}

void GradientSync::unpack(size_t index) {
  Bucket& b = buckets_[index];
  if (b.unpacked) return;
  const Device device = b.grads.front().device();
  const char* at = static_cast<const char*>(staging_[index].raw());
  for (const Tensor& g : b.grads) copy_bytes(g.raw(), device, at, device, g.bytes()), at += g.bytes();
  b.unpacked = true;
}

void GradientSync::poll() {
  for (size_t i = 0; i < launched_; ++i)
    if (!buckets_[i].unpacked && buckets_[i].collective->done()) {
      SideStream::Scope on_side(side_);
      unpack(i);
    }
}

void GradientSync::drain() {
  while (launched_ < buckets_.size()) launch(launched_++);
  for (size_t i = 0; i < buckets_.size(); ++i) {
    buckets_[i].collective->wait();
    SideStream::Scope on_side(side_);
    unpack(i);
  }
  side_.join();
}

void GradientSync::finish(const ParameterList& params) {
  drain();
  const size_t planned = buckets_.size();
  plan(params);  // gradients that appeared during the pass
  if (buckets_.size() == planned) return;
  for (size_t i = planned; i < buckets_.size(); ++i) buckets_[i].waiting = 0;
  drain();
}

void GradientSync::average(const ParameterList& params) {
  begin(params);
  finish(params);
}

void GradientSync::average_scalars(const std::vector<Tensor>& scalars) {
  std::vector<Tensor> unique;
  for (const Tensor& t : scalars) {
    LVK_CHECK(t.numel() == 1 && t.dtype() == DType::f32, "GradientSync: figure ", t.str(), " is not one f32");
    bool seen = false;
    for (const Tensor& u : unique) seen = seen || u.raw() == t.raw();
    if (!seen) unique.push_back(t);
  }
  if (unique.empty()) return;
  const Device device = unique.front().device();
  const int64_t n = static_cast<int64_t>(unique.size());
  if (!scalars_.defined() || scalars_.numel() != n || scalars_.device() != device)
    scalars_ = Tensor::empty({n}, DType::f32, device);
  char* at = static_cast<char*>(scalars_.raw());
  for (const Tensor& t : unique) copy_bytes(at, device, t.raw(), device, sizeof(float)), at += sizeof(float);
  comm_.all_reduce_(scalars_, dist::ReduceOp::avg);
  at = static_cast<char*>(scalars_.raw());
  for (const Tensor& t : unique) copy_bytes(t.raw(), device, at, device, sizeof(float)), at += sizeof(float);
}

}  // namespace lvk
