#pragma once
// What a normalizing-flow prior offers a VAE (and flow2d): the density direction f: z -> u with
// its log-determinant, log p(z) = log N(f(z); 0, I) + log |det J_f(z)|, sampling, and the
// data-dependent ActNorm initialisation. RealNVP (realnvp.h) and MAF (maf.h) implement it.
#include <cstdint>
#include <string>

#include "models/module.h"

namespace lvk {

struct FlowResult {
  Tensor u;        // f(z), [N, D]
  Tensor log_det;  // log |det J_f(z)| per row, [N]
};

class FlowPrior : public Module {
 public:
  // z -> u with the log-determinant; recorded on the tape.
  virtual FlowResult forward(const Tensor& z) const = 0;
  // n samples z = f^{-1}(u), u ~ N(0, I) drawn from Philox (seed, offset).
  virtual Tensor sample(int64_t n, uint64_t seed, uint64_t offset) const = 0;
  // Sets each ActNorm so that its output on `z` has zero mean and unit variance per feature
  // (Kingma & Dhariwal 2018). Call once, on a first batch of at least 2 rows.
  virtual void initialize_actnorm(const Tensor& z) = 0;
  virtual int64_t dim() const = 0;
  virtual const char* name() const = 0;  // "RealNvp", "Maf": prefixes error messages

  // log p(z) per row [N]; throws naming the count when z holds NaN or Inf.
  Tensor log_prob(const Tensor& z) const;
  // Without the finiteness check, which reads z back on the host: for the train step, which must
  // not wait for a GPU (and is captured as a CUDA Graph); a non-finite z there gives a non-finite
  // loss, which the step's guard skips and counts.
  Tensor log_prob_unchecked(const Tensor& z) const;

 protected:
  // Overwrites an ActNorm's log_scale and bias (in place, so optimizer handles stay valid) with
  // the values that standardise each feature of x [N, D]. `who` names the caller in errors.
  static void standardize_actnorm(const char* who, const Tensor& x, const Tensor& log_scale, const Tensor& bias);
};

}  // namespace lvk
