#include "runtime/ops/vq_nonfinite.h"

#include <cmath>

#include "base/error.h"
#include "runtime/ops/basic.h"

namespace lvk {

std::vector<int64_t> nonfinite_rows(const Tensor& z, const kernels::VqShape& s) {
  std::vector<int64_t> rows;
  if (s.n == 0 || (!z.device().is_cpu() && count_nonfinite(z) == 0)) return rows;
  const Tensor host = z.device().is_cpu() ? z : z.to(Device::cpu());
  const float* v = host.data<float>();
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t ch = 0; ch < s.c; ++ch)
      if (!std::isfinite(v[kernels::vq_offset(i, ch, s)])) {
        rows.push_back(i);
        break;
      }
  return rows;
}

void refuse_nonfinite_rows(const char* op, const std::vector<int64_t>& rows, const kernels::VqShape& s) {
  if (rows.empty()) return;
  fail(op, ": z has ", rows.size(), " of ", s.n, " rows with NaN or Inf (first: row ", rows.front(),
       "); they have no nearest code. Clean the input, or skip them (VqNonfinite::skip, lvk quantize --nonfinite "
       "skip: index -1)");
}

Tensor zero_rows(const Tensor& z, const std::vector<int64_t>& rows, const kernels::VqShape& s) {
  Tensor host = z.to(Device::cpu());
  float* v = host.data<float>();
  for (int64_t i : rows)
    for (int64_t ch = 0; ch < s.c; ++ch) v[kernels::vq_offset(i, ch, s)] = 0.0f;
  return z.device().is_cpu() ? host : host.to(z.device());
}

}  // namespace lvk
