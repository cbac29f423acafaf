#include "runtime/cuda_graph.h"

#include "base/error.h"

#if LVK_WITH_CUDA
#include <cuda_runtime.h>

#include "base/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace lvk {

#if LVK_WITH_CUDA

CapturedWork::~CapturedWork() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
}

bool CapturedWork::capture(const std::function<void()>& enqueue, std::string& why) {
  LVK_CHECK(!ready(), "CapturedWork: already captured");
  if (cuda::sync_alloc()) {
    why = "LVK_SYNC_ALLOC=1 allocates with cudaMalloc, which a stream capture forbids";
    return false;
  }
  cudaStream_t stream = cuda::stream();
  // Thread-local: the data loader's worker thread may make CUDA calls while we capture.
  LVK_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  std::string failure;
  try {
    enqueue();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (failure.empty() && ended != cudaSuccess)
    failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(ended);
  cudaGraphExec_t exec = nullptr;
  if (failure.empty()) {
    // Allocations the step leaves alive (none are expected) are freed at the next launch.
    const cudaError_t made = cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    if (made != cudaSuccess) failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(made);
  }
  if (!failure.empty()) {
    if (graph) cudaGraphDestroy(graph);
    (void)cudaGetLastError();  // clear the capture's sticky-free error so later checks see their own
    why = failure;
    return false;
  }
  graph_ = graph;
  exec_ = exec;
  return true;
}

void CapturedWork::replay() {
  LVK_CHECK(ready(), "CapturedWork: nothing captured");
  LVK_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), cuda::stream()));
}

#else

CapturedWork::~CapturedWork() = default;

bool CapturedWork::capture(const std::function<void()>&, std::string& why) {
  why = "lvk was built without CUDA";
  return false;
}

void CapturedWork::replay() {
  fail("CapturedWork: built without CUDA");
}

#endif

}  // namespace lvk
