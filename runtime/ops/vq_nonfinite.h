#pragma once
// Rows of z that hold a NaN or an infinity have no nearest code; the VQ ops find them here, on the
// host, before any kernel sees them (kernels/vq.h leaves their result unspecified, and the CPU and
// CUDA twins need not agree on it).
#include <cstdint>
#include <vector>

#include "kernels/vq.h"
#include "runtime/tensor.h"

namespace lvk {

// Indices of the rows of z (layout `s`) with a non-finite element, ascending. On a device a
// count_nonfinite pass answers the common case (none) without copying z to the host.
std::vector<int64_t> nonfinite_rows(const Tensor& z, const kernels::VqShape& s);

// Throws "<op>: z has <n> rows with NaN or Inf (first: row <i>) ..." when `rows` is not empty.
void refuse_nonfinite_rows(const char* op, const std::vector<int64_t>& rows, const kernels::VqShape& s);

// z with the given rows set to zero (a copy on z's device), so a lookup can run on the rest.
Tensor zero_rows(const Tensor& z, const std::vector<int64_t>& rows, const kernels::VqShape& s);

}  // namespace lvk
