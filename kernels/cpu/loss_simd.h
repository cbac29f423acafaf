#pragma once
// Vectorised binary cross-entropy with logits for the CPU twin of kernels/nn.h (the Bernoulli
// decoder's loss, one exp and one log per pixel): exp and log from kernels/cpu/simd_math.h and
// log1p(e) = log(1 + e) e / ((1 + e) - 1), so each term and gradient is within a few ulp of the
// scalar rules of kernels/nn_math.h (bounds in tests/test_loss_simd.cpp).
#include "kernels/cpu/cpu_isa.h"
#include "kernels/twins.h"

namespace lvk::kernels::cpu {

struct BceSimd {
  // terms[i] = max(a, 0) - a b + log1p(exp(-|a|)) for a = logits[i], b = target[i].
  void (*terms)(float* terms, const float* logits, const float* target, index_t n);
  // da[i] = g (sigmoid(a) - b), db[i] = -g a; either may be null.
  void (*backward)(float* da, float* db, const float* logits, const float* target, float g, index_t n);
};

// The variant for an ISA, or null for CpuIsa::base and for an ISA this CPU (or LVK_CPU_ISA) lacks.
const BceSimd* bce_simd(CpuIsa isa);

}  // namespace lvk::kernels::cpu
