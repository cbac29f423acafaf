// cuDNN glue for kernels/nn_conv.h. Per geometry (batch included) the algorithms are picked once
// with cuDNN's heuristics, keeping only deterministic ones within the workspace limit, and cached
// with their workspace size. Math is pure FP32 (CUDNN_FMA_MATH: no TF32), like cuBLAS in lvk.
#include <cub/block/block_reduce.cuh>
#include <map>
#include <mutex>
#include <tuple>

#include "base/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/nn_conv.h"

namespace lvk::kernels::cuda {

namespace {

constexpr size_t kConvWorkspaceLimit = size_t{512} << 20;

int as_int(index_t v, const char* what) {
  LVK_CHECK(v >= 0 && v <= 0x7fffffff, "conv2d (cuDNN): ", what, "=", v, " exceeds the int range cuDNN accepts");
  return static_cast<int>(v);
}

// The four cuDNN descriptors of one geometry; RAII so a throwing check leaks nothing.
struct ConvDescs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  explicit ConvDescs(const ConvShape& s) {
    LVK_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    LVK_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    LVK_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    LVK_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    LVK_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(s.n, "n"),
                                               as_int(s.c, "c"), as_int(s.h, "h"), as_int(s.w, "w")));
    LVK_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(s.n, "n"),
                                               as_int(s.o, "o"), as_int(s.oh, "oh"), as_int(s.ow, "ow")));
    LVK_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(s.o, "o"),
                                               as_int(s.c, "c"), as_int(s.kh, "kh"), as_int(s.kw, "kw")));
    LVK_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, as_int(s.ph, "ph"), as_int(s.pw, "pw"), as_int(s.sh, "sh"),
                                                    as_int(s.sw, "sw"), 1, 1, CUDNN_CROSS_CORRELATION,
                                                    CUDNN_DATA_FLOAT));
    LVK_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
  }
  ~ConvDescs() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
  }
  ConvDescs(const ConvDescs&) = delete;
  ConvDescs& operator=(const ConvDescs&) = delete;
};

using Key =
    std::tuple<index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t, index_t>;
Key key_of(const ConvShape& s) {
  return {s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw};
}

std::mutex g_mutex;
std::map<Key, ConvPlan> g_plans;

// First result (cuDNN orders them by expected speed) that succeeded, is deterministic and fits.
template <class Perf>
const Perf* pick(const Perf* results, int count, const char* which) {
  for (int i = 0; i < count; ++i)
    if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].determinism == CUDNN_DETERMINISTIC &&
        results[i].memory <= kConvWorkspaceLimit)
      return &results[i];
  fail("conv2d (cuDNN): no deterministic ", which, " algorithm within ", kConvWorkspaceLimit >> 20,
       " MiB of workspace among ", count, " candidates");
}

}  // namespace

const ConvPlan& conv_plan(const ConvShape& s, cudnnHandle_t handle) {
  const Key key = key_of(s);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (auto it = g_plans.find(key); it != g_plans.end()) return it->second;
  }
  ConvDescs d(s);
  constexpr int kMax = 16;
  int count = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[kMax];
  LVK_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x, d.w, d.conv, d.y, kMax, &count, fwd));
  const auto* f = pick(fwd, count, "forward");
  cudnnConvolutionBwdDataAlgoPerf_t bd[kMax];
  LVK_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.w, d.y, d.conv, d.x, kMax, &count, bd));
  const auto* b = pick(bd, count, "backward-data");
  cudnnConvolutionBwdFilterAlgoPerf_t bf[kMax];
  LVK_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.x, d.y, d.conv, d.w, kMax, &count, bf));
  const auto* g = pick(bf, count, "backward-filter");
  ConvPlan plan{f->algo, b->algo, g->algo, std::max({f->memory, b->memory, g->memory})};
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_plans.emplace(key, plan).first->second;  // std::map references stay valid
}

void conv_forward(float* y, const float* x, const float* w, const ConvShape& s, const ConvPlan& plan, void* workspace,
                  cudnnHandle_t handle, cudaStream_t stream) {
  if (s.n == 0 || s.o == 0 || s.oh == 0 || s.ow == 0) return;
  LVK_CUDNN_CHECK(cudnnSetStream(handle, stream));
  ConvDescs d(s);
  const float one = 1.0f, zero = 0.0f;
  LVK_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, d.x, x, d.w, w, d.conv, plan.fwd, workspace,
                                          plan.workspace_bytes, &zero, d.y, y));
}

void conv_backward_data(float* dx, const float* dy, const float* w, const ConvShape& s, const ConvPlan& plan,
                        void* workspace, cudnnHandle_t handle, cudaStream_t stream) {
  if (s.n == 0 || s.c == 0 || s.h == 0 || s.w == 0) return;
  LVK_CUDNN_CHECK(cudnnSetStream(handle, stream));
  ConvDescs d(s);
  const float one = 1.0f, zero = 0.0f;
  LVK_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, &one, d.w, w, d.y, dy, d.conv, plan.bwd_data, workspace,
                                               plan.workspace_bytes, &zero, d.x, dx));
}

void conv_backward_filter(float* dw, const float* x, const float* dy, const ConvShape& s, const ConvPlan& plan,
                          void* workspace, cudnnHandle_t handle, cudaStream_t stream) {
  if (s.o == 0 || s.c == 0) return;
  if (s.n == 0) {  // no data: the (written) gradient is zero
    LVK_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(float) * s.o * s.c * s.kh * s.kw, stream));
    return;
  }
  LVK_CUDNN_CHECK(cudnnSetStream(handle, stream));
  ConvDescs d(s);
  const float one = 1.0f, zero = 0.0f;
  LVK_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, d.x, x, d.y, dy, d.conv, plan.bwd_filter, workspace,
                                                 plan.workspace_bytes, &zero, d.w, dw));
}

namespace {

__global__ void channel_bias_kernel(float* y, const float* b, int64_t total, int64_t ch, int64_t hw) {
  LVK_GRID_STRIDE_LOOP(i, total) y[i] += __ldg(b + (i / hw) % ch);
}

constexpr int kChannelBlock = 256;

// One block per channel walks (image, pixel) in a fixed pattern: deterministic, no atomics.
__global__ void __launch_bounds__(kChannelBlock)
    channel_sum_kernel(float* out, const float* x, int64_t n, int64_t ch, int64_t hw) {
  using BlockReduce = cub::BlockReduce<float, kChannelBlock>;
  __shared__ typename BlockReduce::TempStorage temp;
  const int64_t c = blockIdx.x;
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float* plane = x + (i * ch + c) * hw;
    for (int64_t k = threadIdx.x; k < hw; k += kChannelBlock) acc += plane[k];
  }
  const float s = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) out[c] = s;
}

}  // namespace

void channel_bias_add(float* y, const float* b, index_t n, index_t ch, index_t hw, cudaStream_t stream) {
  const int64_t total = n * ch * hw;
  if (total == 0) return;
  launch<channel_bias_kernel>(grid_for(total), kBlock, 0, stream, y, b, total, ch, hw);
  LVK_LAUNCH_CHECK(channel_bias_kernel);
}

void channel_sum(float* out, const float* x, index_t n, index_t ch, index_t hw, cudaStream_t stream) {
  if (ch == 0) return;
  launch<channel_sum_kernel>(grid_extent(ch, "channel_sum"), kChannelBlock, 0, stream, out, x, n, ch, hw);
  LVK_LAUNCH_CHECK(channel_sum_kernel);
}

}  // namespace lvk::kernels::cuda
