// CPU twins of kernels/code_stats.h.
#include "kernels/code_stats.h"

#include <cmath>

namespace lvk::kernels::cpu {

void count_codes(int32_t* counts, const int32_t* index, index_t n, index_t k) {
  for (index_t j = 0; j < k; ++j) counts[j] = 0;
  for (index_t i = 0; i < n; ++i)
    if (index[i] >= 0 && index[i] < k) ++counts[index[i]];
}

void code_statistics(float* perplexity, float* usage, const int32_t* counts, index_t k) {
  double total = 0.0;
  index_t used = 0;
  for (index_t j = 0; j < k; ++j) total += counts[j], used += counts[j] > 0;
  double entropy = 0.0;
  if (total > 0.0)
    for (index_t j = 0; j < k; ++j)
      if (counts[j] > 0) {
        const double p = counts[j] / total;
        entropy -= p * std::log(p);
      }
  *perplexity = total > 0.0 ? static_cast<float>(std::exp(entropy)) : 0.0f;
  *usage = k > 0 ? static_cast<float>(static_cast<double>(used) / static_cast<double>(k)) : 0.0f;
}

}  // namespace lvk::kernels::cpu
