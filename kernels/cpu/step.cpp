// CPU twins of kernels/step.h: the shared helpers applied to host memory.
#include "kernels/step.h"

namespace lvk::kernels::cpu {

void step_begin(StepState* state, StepScalarSlots slots, const float* table, index_t rows) {
  step_begin_apply(*state, slots, table, rows);
}

void step_guard(StepState* state, float* skipped_flag, const float* loss, const float* grad_norm, float beta1,
                float beta2) {
  step_guard_apply(*state, skipped_flag, loss ? *loss : 0.0f, grad_norm ? *grad_norm : 0.0f, beta1, beta2);
}

void record_scalars(float* ring, index_t rows, const StepState* state, RecordedScalars sources) {
  float* row = ring + (state->step % rows) * sources.count;
  for (int j = 0; j < sources.count; ++j) row[j] = *sources.source[j];
}

void step_end(StepState* state) {
  state->step += 1;
}

}  // namespace lvk::kernels::cpu
