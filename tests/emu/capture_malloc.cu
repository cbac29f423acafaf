// Stream capture: cudaMalloc inside a capture is refused (cudaErrorStreamCaptureUnsupported) and
// invalidates it, so cudaStreamEndCapture returns cudaErrorStreamCaptureInvalidated and no graph.
// For contrast, stream-ordered allocation (cudaMallocAsync/cudaFreeAsync) and kernels captured on
// the same stream make a graph that instantiates and replays correctly, twice.
#include <cstdio>

#include "lvk_emu/launch.h"

__global__ void scale(const float* in, float* out, float s, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = s * in[i];
}

__global__ void add_one(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] + 1.0f;
}

static int failures = 0;
static void expect(const char* what, cudaError_t got, cudaError_t want) {
  std::fprintf(stderr, "%s: %s%s\n", what, cudaGetErrorName(got), got == want ? "" : " (UNEXPECTED)");
  failures += got != want;
}

int main() {
  constexpr int n = 300;
  cudaStream_t stream;
  expect("cudaStreamCreate", cudaStreamCreate(&stream), cudaSuccess);

  // 1. The illegal call.
  expect("cudaStreamBeginCapture", cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  void* p = nullptr;
  expect("cudaMalloc during capture", cudaMalloc(&p, 1024), cudaErrorStreamCaptureUnsupported);
  cudaGraph_t bad = reinterpret_cast<cudaGraph_t>(&p);  // anything but null
  expect("cudaStreamEndCapture", cudaStreamEndCapture(stream, &bad), cudaErrorStreamCaptureInvalidated);
  std::fprintf(stderr, "graph after the invalidated capture: %s\n", bad ? "NOT null (UNEXPECTED)" : "null");
  failures += bad != nullptr;
  cudaGetLastError();  // clear the error the refused calls recorded

  // 2. The legal way: stream-ordered allocation inside the graph.
  float *in = nullptr, *out = nullptr;
  expect("cudaMalloc before capture", cudaMalloc(&in, n * sizeof(float)), cudaSuccess);
  expect("cudaMalloc before capture", cudaMalloc(&out, n * sizeof(float)), cudaSuccess);
  expect("cudaStreamBeginCapture", cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  float* tmp = nullptr;
  expect("cudaMallocAsync during capture", cudaMallocAsync(&tmp, n * sizeof(float), stream), cudaSuccess);
  lvk_emu::launch<scale>((n + 127) / 128, 128, 0, stream, in, tmp, 3.0f, n);
  lvk_emu::launch<add_one>((n + 127) / 128, 128, 0, stream, tmp, out, n);
  expect("cudaFreeAsync during capture", cudaFreeAsync(tmp, stream), cudaSuccess);
  cudaGraph_t graph = nullptr;
  expect("cudaStreamEndCapture", cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  expect("cudaGraphInstantiate", cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int replay = 1; replay <= 2; ++replay) {
    float h_in[n], h_out[n];
    for (int i = 0; i < n; ++i) h_in[i] = static_cast<float>(i * replay);
    cudaMemcpy(in, h_in, sizeof h_in, cudaMemcpyHostToDevice);
    expect("cudaGraphLaunch", cudaGraphLaunch(exec, stream), cudaSuccess);
    expect("cudaStreamSynchronize", cudaStreamSynchronize(stream), cudaSuccess);
    cudaMemcpy(h_out, out, sizeof h_out, cudaMemcpyDeviceToHost);
    int wrong = 0;
    for (int i = 0; i < n; ++i) wrong += h_out[i] != 3.0f * h_in[i] + 1.0f;
    std::fprintf(stderr, "replay %d: %s\n", replay, wrong ? "WRONG results" : "results correct");
    failures += wrong != 0;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaFree(in);
  cudaFree(out);
  cudaStreamDestroy(stream);
  std::fprintf(stderr, "capture check: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
