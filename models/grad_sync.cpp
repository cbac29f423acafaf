#include "models/grad_sync.h"

#include "runtime/storage.h"

namespace lvk {

GradientSync::GradientSync(dist::Communicator& comm, size_t bucket_bytes) : comm_(comm), bucket_bytes_(bucket_bytes) {
  LVK_CHECK(bucket_bytes >= sizeof(float), "GradientSync: bucket of ", bucket_bytes, " bytes is too small");
}

void GradientSync::flush(std::vector<Tensor>& bucket, int64_t elements) {
  if (bucket.empty()) return;
  ++last_collectives_;
  last_bytes_ += static_cast<size_t>(elements) * sizeof(float);
  if (bucket.size() == 1) {
    comm_.all_reduce_(bucket.front(), dist::ReduceOp::avg);
    bucket.clear();
    return;
  }
  const Device device = bucket.front().device();
  if (staging_.size() <= packed_) staging_.resize(packed_ + 1);
  Tensor& packed = staging_[packed_++];
  if (!packed.defined() || packed.numel() != elements || packed.device() != device)
    packed = Tensor::empty({elements}, DType::f32, device);
  char* at = static_cast<char*>(packed.raw());
  for (const Tensor& g : bucket) copy_bytes(at, device, g.raw(), device, g.bytes()), at += g.bytes();
  comm_.all_reduce_(packed, dist::ReduceOp::avg);
  at = static_cast<char*>(packed.raw());
  for (const Tensor& g : bucket) copy_bytes(g.raw(), device, at, device, g.bytes()), at += g.bytes();
  bucket.clear();
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

void GradientSync::average(const ParameterList& params) {
  last_collectives_ = 0;
  last_bytes_ = 0;
  packed_ = 0;
  std::vector<Tensor> bucket;
  int64_t elements = 0;
  for (const auto& [name, p] : params) {
    (void)name;
    Tensor g = p.grad();
    if (!g.defined()) continue;
    LVK_CHECK(g.dtype() == DType::f32, "GradientSync: the gradient of \"", name, "\" is ", g.str(), ", expected f32");
    if (g.bytes() >= bucket_bytes_) {  // big enough on its own: in place, no copies
      std::vector<Tensor> alone = {g};
      flush(alone, g.numel());
      continue;
    }
    if (static_cast<size_t>(elements + g.numel()) * sizeof(float) > bucket_bytes_)
      flush(bucket, elements), elements = 0;
    bucket.push_back(g);
    elements += g.numel();
  }
  flush(bucket, elements);
}

}  // namespace lvk
