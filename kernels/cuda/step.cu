// CUDA twins of kernels/step.h: single-thread kernels (a few words each), so a captured step
// carries its bookkeeping as graph nodes instead of host arguments.
#include "kernels/cuda/launch.cuh"
#include "kernels/step.h"

namespace lvk::kernels::cuda {

namespace {

__global__ void step_begin_kernel(StepState* state, const __grid_constant__ StepScalarSlots slots, const float* table,
                                  int64_t rows) {
  step_begin_apply(*state, slots, table, rows);
}

__global__ void step_guard_kernel(StepState* state, float* skipped_flag, const float* loss, const float* grad_norm,
                                  float beta1, float beta2) {
  step_guard_apply(*state, skipped_flag, loss ? *loss : 0.0f, grad_norm ? *grad_norm : 0.0f, beta1, beta2);
}

__global__ void record_scalars_kernel(float* ring, int64_t rows, const StepState* state,
                                      const __grid_constant__ RecordedScalars sources) {
  const int j = static_cast<int>(threadIdx.x);
  if (j < sources.count) ring[(state->step % rows) * sources.count + j] = *sources.source[j];
}

__global__ void step_end_kernel(StepState* state) {
  state->step += 1;
}

}  // namespace

void step_begin(StepState* state, StepScalarSlots slots, const float* table, index_t rows, cudaStream_t stream) {
  launch<step_begin_kernel>(1, 1, 0, stream, state, slots, table, rows);
  LVK_LAUNCH_CHECK(step_begin_kernel);
}

void step_guard(StepState* state, float* skipped_flag, const float* loss, const float* grad_norm, float beta1,
                float beta2, cudaStream_t stream) {
  launch<step_guard_kernel>(1, 1, 0, stream, state, skipped_flag, loss, grad_norm, beta1, beta2);
  LVK_LAUNCH_CHECK(step_guard_kernel);
}

void record_scalars(float* ring, index_t rows, const StepState* state, RecordedScalars sources, cudaStream_t stream) {
  launch<record_scalars_kernel>(1, kMaxRecordedScalars, 0, stream, ring, rows, state, sources);
  LVK_LAUNCH_CHECK(record_scalars_kernel);
}

void step_end(StepState* state, cudaStream_t stream) {
  launch<step_end_kernel>(1, 1, 0, stream, state);
  LVK_LAUNCH_CHECK(step_end_kernel);
}

}  // namespace lvk::kernels::cuda
