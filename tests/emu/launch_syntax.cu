// tools/emu-run.sh's launch rewrite: the forms of kernel<<<grid, block[, shared[, stream]]>>>(args)
// a standalone file uses, including a templated kernel in a namespace and a launch over several
// lines, come out as lvk_emu::launch calls; __LINE__ and __FILE__ still name this file.
#include <cstdio>
#include <cstring>

namespace demo {
template <class T, int kScale>
__global__ void axpy(T* y, const T* x, T a, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += a * x[i] * kScale;
}
}  // namespace demo

__global__ void fill(float* y, float v, int n) {  // not a launch: "fill<<<1, 1>>>(y, v, n)" /* <<<x>>>() */
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = v;
}

int main() {
  const int n = 1000;
  float *x = nullptr, *y = nullptr;
  cudaMalloc(&x, n * sizeof(float));
  cudaMalloc(&y, n * sizeof(float));
  cudaStream_t s;
  cudaStreamCreate(&s);
  fill<<<(n + 255) / 256, 256>>>(x, 1.0f, n);
  fill<<<dim3((n + 127) / 128), dim3(128), 0>>>(y, 2.0f, n);
  demo::axpy<float, 2><<<(n + 63) / 64, 64, 0, s>>>(y, x, 3.0f, n);
  // The launch spans lines on purpose, and the line check below depends on it.
  // clang-format off
  demo::axpy<float, 1> <<<(n + 63) / 64,
                          64>>>(y,
                                x, 0.5f, n);
  const int line = __LINE__;  // @line after-multiline-launch
  // clang-format on
  float h[n];
  cudaStreamSynchronize(s);
  const cudaError_t err = cudaMemcpy(h, y, sizeof h, cudaMemcpyDeviceToHost);
  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += h[i] != 2.0f + 6.0f + 0.5f;
  const char* file = __FILE__;
  const bool file_ok = std::strlen(file) >= 16 && std::strcmp(file + std::strlen(file) - 16, "launch_syntax.cu") == 0;
  std::fprintf(stderr, "%s, %d wrong values, line %d, file %s\n", cudaGetErrorName(err), wrong, line, file);
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(s);
  const bool ok = err == cudaSuccess && wrong == 0 && line == 35 && file_ok;
  std::fprintf(stderr, "launch syntax check: %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}
