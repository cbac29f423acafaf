// Built only with the CUDA backend. Handles and the stream live for the whole process and are
// deliberately never destroyed: tearing them down from static destructors races the driver's
// own shutdown.
#include "runtime/cuda_context.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "runtime/context.h"

namespace lvk {

namespace cuda {
namespace {

struct State {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  cudnnHandle_t cudnn = nullptr;
  std::once_flag stream_once, cublas_once, cublaslt_once, cudnn_once, pool_once;
  cudaStream_t cublas_bound = nullptr, cudnn_bound = nullptr;  // the stream each handle was last set to
  std::mutex bind_mutex;
};

thread_local cudaStream_t t_stream = nullptr;
thread_local bool t_stream_set = false;

State& state() {
  static State* s = new State();  // leaked on purpose, see the file comment
  return *s;
}

}  // namespace

bool sync_alloc() {
  static const bool on = [] {
    const char* v = std::getenv("LVK_SYNC_ALLOC");
    return v && std::strcmp(v, "0") != 0 && *v != '\0';
  }();
  return on;
}

StreamScope::StreamScope(cudaStream_t s) : previous_(t_stream), previous_set_(t_stream_set) {
  t_stream = s;
  t_stream_set = true;
}
StreamScope::~StreamScope() {
  t_stream = previous_;
  t_stream_set = previous_set_;
}

cudaStream_t stream() {
  if (t_stream_set) return t_stream;
  State& s = state();
  std::call_once(s.stream_once, [&] {
    require_cuda(0);
    LVK_CUDA_CHECK(cudaSetDevice(0));
    LVK_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
  });
  return s.stream;
}

cublasHandle_t cublas() {
  State& s = state();
  std::call_once(s.cublas_once, [&] {
    LVK_CUBLAS_CHECK(cublasCreate(&s.cublas));
    LVK_CUBLAS_CHECK(cublasSetStream(s.cublas, stream()));
    // The default math mode keeps FP32 products in FP32 (TF32 needs CUBLAS_TF32_TENSOR_OP_MATH);
    // pedantic mode restricts cuBLAS further than exactness requires.
    LVK_CUBLAS_CHECK(cublasSetMathMode(s.cublas, CUBLAS_DEFAULT_MATH));
    s.cublas_bound = stream();
  });
  // A StreamScope may have changed the stream since the handle was last bound.
  std::lock_guard<std::mutex> lock(s.bind_mutex);
  if (s.cublas_bound != stream()) {
    LVK_CUBLAS_CHECK(cublasSetStream(s.cublas, stream()));
    s.cublas_bound = stream();
  }
  return s.cublas;
}

cublasLtHandle_t cublaslt() {
  State& s = state();
  std::call_once(s.cublaslt_once, [&] { LVK_CUBLAS_CHECK(cublasLtCreate(&s.cublaslt)); });
  return s.cublaslt;
}

cudnnHandle_t cudnn() {
  State& s = state();
  std::call_once(s.cudnn_once, [&] {
    LVK_CUDNN_CHECK(cudnnCreate(&s.cudnn));
    LVK_CUDNN_CHECK(cudnnSetStream(s.cudnn, stream()));
    s.cudnn_bound = stream();
  });
  std::lock_guard<std::mutex> lock(s.bind_mutex);
  if (s.cudnn_bound != stream()) {
    LVK_CUDNN_CHECK(cudnnSetStream(s.cudnn, stream()));
    s.cudnn_bound = stream();
  }
  return s.cudnn;
}

void* device_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  if (sync_alloc()) {
    LVK_CUDA_CHECK(cudaMalloc(&ptr, bytes));
    return ptr;
  }
  State& s = state();
  std::call_once(s.pool_once, [&] {
    // Keep freed memory in the pool instead of returning it to the driver at every sync.
    cudaMemPool_t pool;
    LVK_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
    uint64_t threshold = UINT64_MAX;
    LVK_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  });
  cudaError_t err = cudaMallocAsync(&ptr, bytes, stream());
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail("out of device memory allocating ", bytes, " bytes on cuda:0");
  }
  LVK_CUDA_CHECK(err);
  return ptr;
}

void device_free(void* ptr) noexcept {
  if (!ptr) return;
  cudaError_t err = sync_alloc() ? cudaFree(ptr) : cudaFreeAsync(ptr, stream());
  if (err != cudaSuccess && err != cudaErrorCudartUnloading)
    std::fprintf(stderr, "lvk: freeing device memory failed: %s\n", cudaGetErrorString(err));
}

}  // namespace cuda
}  // namespace lvk
