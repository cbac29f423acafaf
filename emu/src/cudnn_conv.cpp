// Emulated cuDNN convolutions: the algorithm queries and the three convolution primitives on
// 4-D float tensors, validated as documented and run as stream-ordered reference loops.
#include <algorithm>
#include <cstdint>

#include "cudnn_descriptors.h"
#include "lvk_emu/enqueue.h"
#include "vendor_support.h"

namespace {

using lvk_emu::cudnn_ready;

enum class Dir { fwd, bwd_data, bwd_filter };

cudnnStatus_t reject(const char* api, cudnnStatus_t st, const char* reason) {
  lvk_emu::lib_log(api, reason);
  return st;
}

// One convolution's sizes and memory layout, copied out of the descriptors so the queued work
// does not depend on them.
struct Geometry {
  int n = 0, c = 0, h = 0, w = 0;  // x
  int k = 0, r = 0, s = 0;         // filter
  int oh = 0, ow = 0;              // y
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  bool flip = false;  // CUDNN_CONVOLUTION applies the filter mirrored
  bool tf32 = false;
  bool filter_nhwc = false;
  int64_t xs[4] = {}, ys[4] = {};  // strides of x and y: n, c, h, w

  int64_t x_at(int in, int ic, int ih, int iw) const { return in * xs[0] + ic * xs[1] + ih * xs[2] + iw * xs[3]; }
  int64_t y_at(int in, int ik, int p, int q) const { return in * ys[0] + ik * ys[1] + p * ys[2] + q * ys[3]; }
  // The filter element tap (tr, ts) of (ik, ic) multiplies.
  int64_t w_at(int ik, int ic, int tr, int ts) const {
    const int fr = flip ? r - 1 - tr : tr, fs = flip ? s - 1 - ts : ts;
    return filter_nhwc ? ((int64_t{ik} * r + fr) * s + fs) * c + ic : ((int64_t{ik} * c + ic) * r + fr) * s + fs;
  }
  size_t x_bytes() const { return span(n, c, h, w, xs); }
  size_t y_bytes() const { return span(n, k, oh, ow, ys); }
  size_t w_bytes() const { return static_cast<size_t>(k) * c * r * s * sizeof(float); }

  static size_t span(int a, int b, int cc, int d, const int64_t* st) {
    return static_cast<size_t>((a - 1) * st[0] + (b - 1) * st[1] + (cc - 1) * st[2] + (d - 1) * st[3] + 1) *
           sizeof(float);
  }
};

// The documented BAD_PARAM checks on the descriptors (NULL or unset ones, mismatched data types or
// input channels, a filter larger than the padded input); fills g from them.
cudnnStatus_t describe(const char* api, cudnnHandle_t handle, const cudnnTensorStruct* x, const cudnnFilterStruct* w,
                       const cudnnConvolutionStruct* conv, const cudnnTensorStruct* y, Geometry* g) {
  if (!lvk_emu::cudnn_handle_alive(handle)) return reject(api, CUDNN_STATUS_BAD_PARAM, "NULL or destroyed handle");
  if (!cudnn_ready(x) || !cudnn_ready(w) || !cudnn_ready(conv) || !cudnn_ready(y))
    return reject(api, CUDNN_STATUS_BAD_PARAM, "NULL, destroyed or unset descriptor");
  if (x->type != w->type || x->type != y->type)
    return reject(api, CUDNN_STATUS_BAD_PARAM, "tensor and filter data types differ");
  if (x->c != w->c) return reject(api, CUDNN_STATUS_BAD_PARAM, "input channels of x and the filter differ");
  if (lvk_emu::conv_output_dim(x->h, conv->pad_h, w->h, conv->dil_h, conv->u) < 1 ||
      lvk_emu::conv_output_dim(x->w, conv->pad_w, w->w, conv->dil_w, conv->v) < 1)
    return reject(api, CUDNN_STATUS_BAD_PARAM, "the dilated filter is larger than the padded input");
  g->n = x->n, g->c = x->c, g->h = x->h, g->w = x->w;
  g->k = w->k, g->r = w->h, g->s = w->w;
  g->oh = y->h, g->ow = y->w;
  g->pad_h = conv->pad_h, g->pad_w = conv->pad_w, g->u = conv->u, g->v = conv->v;
  g->dil_h = conv->dil_h, g->dil_w = conv->dil_w;
  g->flip = conv->mode == CUDNN_CONVOLUTION;
  g->tf32 = conv->math != CUDNN_FMA_MATH && lvk_emu::tf32_allowed();  // TF32 is permitted unless FMA math
  g->filter_nhwc = w->format == CUDNN_TENSOR_NHWC;
  const int64_t xs[4] = {x->ns, x->cs, x->hs, x->ws}, ys[4] = {y->ns, y->cs, y->hs, y->ws};
  std::copy(xs, xs + 4, g->xs);
  std::copy(ys, ys + 4, g->ys);
  return CUDNN_STATUS_SUCCESS;
}

// What the emulated algorithms can run (float data and compute, positive strides), then whether y
// has the size the convolution of x gives. The documentation files a wrong y size under
// NOT_SUPPORTED for the forward pass and under BAD_PARAM for the backward-data pass.
cudnnStatus_t runnable(const char* api, Dir dir, const cudnnTensorStruct* x, const cudnnFilterStruct* w,
                       const cudnnConvolutionStruct* conv, const cudnnTensorStruct* y) {
  if (x->type != CUDNN_DATA_FLOAT || conv->compute != CUDNN_DATA_FLOAT)
    return reject(api, CUDNN_STATUS_NOT_SUPPORTED, "only float data with float compute is emulated");
  for (const cudnnTensorStruct* t : {x, y})
    if (t->ns <= 0 || t->cs <= 0 || t->hs <= 0 || t->ws <= 0)
      return reject(api, CUDNN_STATUS_NOT_SUPPORTED, "tensor strides must be positive");
  if (y->n != x->n || y->c != w->k)
    return reject(api, CUDNN_STATUS_BAD_PARAM, "y's batch or channels do not match x and the filter");
  if (y->h != lvk_emu::conv_output_dim(x->h, conv->pad_h, w->h, conv->dil_h, conv->u) ||
      y->w != lvk_emu::conv_output_dim(x->w, conv->pad_w, w->w, conv->dil_w, conv->v))
    return reject(api, dir == Dir::fwd ? CUDNN_STATUS_NOT_SUPPORTED : CUDNN_STATUS_BAD_PARAM,
                  "y's height or width is not the convolution's output size");
  return CUDNN_STATUS_SUCCESS;
}

// --- The algorithms: which run, their determinism as cuDNN reports it, and their workspace. ---

struct AlgoSpec {
  int algo;
  bool runs;
  cudnnDeterminism_t determinism;
};

constexpr auto kDet = CUDNN_DETERMINISTIC, kNondet = CUDNN_NON_DETERMINISTIC;

// In the order the heuristic reports them.
constexpr AlgoSpec kFwd[] = {{1, true, kDet},  {0, true, kDet},  {2, true, kDet},  {3, false, kDet},
                             {4, false, kDet}, {5, false, kDet}, {6, false, kDet}, {7, false, kDet}};
constexpr AlgoSpec kBwdData[] = {{0, true, kNondet}, {1, true, kDet},  {2, false, kDet},
                                 {3, false, kDet},   {4, false, kDet}, {5, false, kDet}};
constexpr AlgoSpec kBwdFilter[] = {{0, true, kNondet}, {1, true, kDet},  {3, true, kNondet}, {2, false, kDet},
                                   {4, false, kDet},   {5, false, kDet}, {6, false, kDet}};

template <size_t N>
const AlgoSpec* find(const AlgoSpec (&list)[N], int algo) {
  for (const AlgoSpec& a : list)
    if (a.algo == algo) return &a;
  return nullptr;
}

const AlgoSpec* spec(Dir dir, int algo) {
  switch (dir) {
    case Dir::fwd:
      return find(kFwd, algo);
    case Dir::bwd_data:
      return find(kBwdData, algo);
    case Dir::bwd_filter:
      return find(kBwdFilter, algo);
  }
  return nullptr;
}

size_t align256(size_t b) {
  return (b + 255) / 256 * 256;
}

// Workspaces shaped like what such algorithms keep: an im2col copy of one image, a rearranged
// filter, or precomputed offsets.
size_t workspace_bytes(Dir dir, int algo, const Geometry& g) {
  const size_t patch = static_cast<size_t>(g.c) * g.r * g.s;
  const size_t im2col = align256(patch * g.oh * g.ow * sizeof(float));
  const size_t filter = align256(static_cast<size_t>(g.k) * patch * sizeof(float));
  const size_t offsets = align256(patch * 2 * sizeof(int32_t));
  switch (dir) {
    case Dir::fwd:
      return algo == 1 ? offsets : algo == 2 ? im2col : 0;
    case Dir::bwd_data:
      return algo == 1 ? filter : 0;
    case Dir::bwd_filter:
      return algo == 1 ? im2col : algo == 3 ? filter : 0;
  }
  return 0;
}

template <class Perf, size_t N>
void fill_perf(Dir dir, const AlgoSpec (&list)[N], cudnnStatus_t config, const Geometry& g, cudnnMathType_t math,
               int requested, int* returned, Perf* out) {
  const int count = std::min<int>(requested, static_cast<int>(N));
  for (int i = 0; i < count; ++i) {
    Perf p{};
    p.algo = static_cast<decltype(p.algo)>(list[i].algo);
    p.status = !list[i].runs ? CUDNN_STATUS_NOT_SUPPORTED : config;
    p.time = -1.0f;  // a heuristic query measures nothing
    p.memory = p.status == CUDNN_STATUS_SUCCESS ? workspace_bytes(dir, list[i].algo, g) : 0;
    p.determinism = list[i].determinism;
    p.mathType = math;
    out[i] = p;
  }
  *returned = count;
}

template <class Perf, size_t N>
cudnnStatus_t get_algorithms(const char* api, Dir dir, const AlgoSpec (&list)[N], cudnnHandle_t handle,
                             const cudnnTensorStruct* x, const cudnnFilterStruct* w, const cudnnConvolutionStruct* conv,
                             const cudnnTensorStruct* y, int requested, int* returned, Perf* perf) {
  if (!returned || !perf || requested <= 0) return CUDNN_STATUS_BAD_PARAM;
  Geometry g;
  if (cudnnStatus_t st = describe(api, handle, x, w, conv, y, &g); st != CUDNN_STATUS_SUCCESS) return st;
  fill_perf(dir, list, runnable(api, dir, x, w, conv, y), g, conv->math, requested, returned, perf);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t get_workspace(const char* api, Dir dir, int algo, int count, cudnnHandle_t handle,
                            const cudnnTensorStruct* x, const cudnnFilterStruct* w, const cudnnConvolutionStruct* conv,
                            const cudnnTensorStruct* y, size_t* bytes) {
  if (!bytes) return CUDNN_STATUS_BAD_PARAM;
  Geometry g;
  if (cudnnStatus_t st = describe(api, handle, x, w, conv, y, &g); st != CUDNN_STATUS_SUCCESS) return st;
  if (algo < 0 || algo >= count) return reject(api, CUDNN_STATUS_BAD_PARAM, "unknown algorithm");
  if (!spec(dir, algo)->runs) return reject(api, CUDNN_STATUS_NOT_SUPPORTED, "this algorithm is not emulated");
  if (cudnnStatus_t st = runnable(api, dir, x, w, conv, y); st != CUDNN_STATUS_SUCCESS) return st;
  *bytes = workspace_bytes(dir, algo, g);
  return CUDNN_STATUS_SUCCESS;
}

// --- The reference loops. Each output element sums its products in one fixed order. ---

float operand(float x, bool tf32) {
  return tf32 ? lvk_emu::round_tf32(x) : x;
}

float blend(float alpha, float acc, float beta, const float* old) {
  return beta == 0.0f ? alpha * acc : alpha * acc + beta * *old;  // beta == 0 never reads old
}

void forward(const Geometry& g, float alpha, float beta, const float* x, const float* w, float* y) {
  for (int in = 0; in < g.n; ++in)
    for (int ik = 0; ik < g.k; ++ik)
      for (int p = 0; p < g.oh; ++p)
        for (int q = 0; q < g.ow; ++q) {
          float acc = 0.0f;
          for (int ic = 0; ic < g.c; ++ic)
            for (int tr = 0; tr < g.r; ++tr) {
              const int ih = p * g.u - g.pad_h + tr * g.dil_h;
              if (ih < 0 || ih >= g.h) continue;
              for (int ts = 0; ts < g.s; ++ts) {
                const int iw = q * g.v - g.pad_w + ts * g.dil_w;
                if (iw < 0 || iw >= g.w) continue;
                acc += operand(x[g.x_at(in, ic, ih, iw)], g.tf32) * operand(w[g.w_at(ik, ic, tr, ts)], g.tf32);
              }
            }
          float* out = y + g.y_at(in, ik, p, q);
          *out = blend(alpha, acc, beta, out);
        }
}

// Output index o = (i + pad - t * dil) / stride when that divides exactly and lies in [0, size).
bool source(int i, int pad, int t, int dil, int stride, int size, int* o) {
  const int num = i + pad - t * dil;
  if (num < 0 || num % stride != 0) return false;
  *o = num / stride;
  return *o < size;
}

void backward_data(const Geometry& g, float alpha, float beta, const float* w, const float* dy, float* dx) {
  for (int in = 0; in < g.n; ++in)
    for (int ic = 0; ic < g.c; ++ic)
      for (int ih = 0; ih < g.h; ++ih)
        for (int iw = 0; iw < g.w; ++iw) {
          float acc = 0.0f;
          for (int ik = 0; ik < g.k; ++ik)
            for (int tr = 0; tr < g.r; ++tr) {
              int p;
              if (!source(ih, g.pad_h, tr, g.dil_h, g.u, g.oh, &p)) continue;
              for (int ts = 0; ts < g.s; ++ts) {
                int q;
                if (!source(iw, g.pad_w, ts, g.dil_w, g.v, g.ow, &q)) continue;
                acc += operand(dy[g.y_at(in, ik, p, q)], g.tf32) * operand(w[g.w_at(ik, ic, tr, ts)], g.tf32);
              }
            }
          float* out = dx + g.x_at(in, ic, ih, iw);
          *out = blend(alpha, acc, beta, out);
        }
}

void backward_filter(const Geometry& g, float alpha, float beta, const float* x, const float* dy, float* dw) {
  for (int ik = 0; ik < g.k; ++ik)
    for (int ic = 0; ic < g.c; ++ic)
      for (int tr = 0; tr < g.r; ++tr)
        for (int ts = 0; ts < g.s; ++ts) {
          float acc = 0.0f;
          for (int in = 0; in < g.n; ++in)
            for (int p = 0; p < g.oh; ++p) {
              const int ih = p * g.u - g.pad_h + tr * g.dil_h;
              if (ih < 0 || ih >= g.h) continue;
              for (int q = 0; q < g.ow; ++q) {
                const int iw = q * g.v - g.pad_w + ts * g.dil_w;
                if (iw < 0 || iw >= g.w) continue;
                acc += operand(x[g.x_at(in, ic, ih, iw)], g.tf32) * operand(dy[g.y_at(in, ik, p, q)], g.tf32);
              }
            }
          float* out = dw + g.w_at(ik, ic, tr, ts);
          *out = blend(alpha, acc, beta, out);
        }
}

// The checks every primitive makes before it queues its work.
cudnnStatus_t prepare(Dir dir, const char* api, int algo, int count, cudnnHandle_t handle, const cudnnTensorStruct* x,
                      const cudnnFilterStruct* w, const cudnnConvolutionStruct* conv, const cudnnTensorStruct* y,
                      const void* alpha, const void* beta, void* workspace, size_t workspace_bytes_given, Geometry* g) {
  if (cudnnStatus_t st = describe(api, handle, x, w, conv, y, g); st != CUDNN_STATUS_SUCCESS) return st;
  if (!alpha || !beta) return reject(api, CUDNN_STATUS_BAD_PARAM, "alpha or beta is NULL");
  if (algo < 0 || algo >= count) return reject(api, CUDNN_STATUS_BAD_PARAM, "unknown algorithm");
  if (!spec(dir, algo)->runs) return reject(api, CUDNN_STATUS_NOT_SUPPORTED, "this algorithm is not emulated");
  if (cudnnStatus_t st = runnable(api, dir, x, w, conv, y); st != CUDNN_STATUS_SUCCESS) return st;
  const size_t needed = workspace_bytes(dir, algo, *g);
  if (workspace_bytes_given < needed || (needed > 0 && !workspace)) {
    return reject(api, CUDNN_STATUS_BAD_PARAM, "workspace smaller than the algorithm needs");
  }
  if (!lvk_emu::device_operand(workspace, needed, api, "workSpace")) return CUDNN_STATUS_EXECUTION_FAILED;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t submit(cudnnHandle_t handle, const char* api, std::function<void()> work) {
  return lvk_emu::enqueue(handle->stream, api, std::move(work)) == cudaSuccess ? CUDNN_STATUS_SUCCESS
                                                                               : CUDNN_STATUS_EXECUTION_FAILED;
}

}  // namespace

extern "C" {

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  if (!lvk_emu::cudnn_handle_alive(handle) || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  if (!lvk_emu::cudnn_handle_alive(handle) || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  if (!lvk_emu::cudnn_handle_alive(handle) || !count) return CUDNN_STATUS_BAD_PARAM;
  *count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
  return get_algorithms("cudnnGetConvolutionForwardAlgorithm_v7", Dir::fwd, kFwd, handle, srcDesc, filterDesc, convDesc,
                        destDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
  return get_algorithms("cudnnGetConvolutionBackwardDataAlgorithm_v7", Dir::bwd_data, kBwdData, handle, gradDesc,
                        filterDesc, convDesc, diffDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
  return get_algorithms("cudnnGetConvolutionBackwardFilterAlgorithm_v7", Dir::bwd_filter, kBwdFilter, handle, srcDesc,
                        gradDesc, convDesc, diffDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  return get_workspace("cudnnGetConvolutionForwardWorkspaceSize", Dir::fwd, algo, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                       handle, xDesc, wDesc, convDesc, yDesc, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
  return get_workspace("cudnnGetConvolutionBackwardDataWorkspaceSize", Dir::bwd_data, algo,
                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, handle, dxDesc, wDesc, convDesc, dyDesc, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             size_t* sizeInBytes) {
  return get_workspace("cudnnGetConvolutionBackwardFilterWorkspaceSize", Dir::bwd_filter, algo,
                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, handle, xDesc, gradDesc, convDesc, dyDesc, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  static const char* api = "cudnnConvolutionForward";
  Geometry g;
  if (cudnnStatus_t st = prepare(Dir::fwd, api, algo, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, handle, xDesc, wDesc, convDesc,
                                 yDesc, alpha, beta, workSpace, workSpaceSizeInBytes, &g);
      st != CUDNN_STATUS_SUCCESS)
    return st;
  if (!x || !w || !y) return reject(api, CUDNN_STATUS_BAD_PARAM, "a data pointer is NULL");
  if (!lvk_emu::device_operand(x, g.x_bytes(), api, "x") || !lvk_emu::device_operand(w, g.w_bytes(), api, "w") ||
      !lvk_emu::device_operand(y, g.y_bytes(), api, "y"))
    return CUDNN_STATUS_EXECUTION_FAILED;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const auto* xp = static_cast<const float*>(x);
  const auto* wp = static_cast<const float*>(w);
  auto* yp = static_cast<float*>(y);
  return submit(handle, api, [g, a, b, xp, wp, yp] { forward(g, a, b, xp, wp, yp); });
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, const cudnnFilterDescriptor_t wDesc,
                                           const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
  static const char* api = "cudnnConvolutionBackwardData";
  Geometry g;
  if (cudnnStatus_t st = prepare(Dir::bwd_data, api, algo, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, handle, dxDesc, wDesc,
                                 convDesc, dyDesc, alpha, beta, workSpace, workSpaceSizeInBytes, &g);
      st != CUDNN_STATUS_SUCCESS)
    return st;
  if (!w || !dy || !dx) return reject(api, CUDNN_STATUS_BAD_PARAM, "a data pointer is NULL");
  if (!lvk_emu::device_operand(w, g.w_bytes(), api, "w") || !lvk_emu::device_operand(dy, g.y_bytes(), api, "dy") ||
      !lvk_emu::device_operand(dx, g.x_bytes(), api, "dx"))
    return CUDNN_STATUS_EXECUTION_FAILED;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const auto* wp = static_cast<const float*>(w);
  const auto* dyp = static_cast<const float*>(dy);
  auto* dxp = static_cast<float*>(dx);
  return submit(handle, api, [g, a, b, wp, dyp, dxp] { backward_data(g, a, b, wp, dyp, dxp); });
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
  static const char* api = "cudnnConvolutionBackwardFilter";
  Geometry g;
  if (cudnnStatus_t st = prepare(Dir::bwd_filter, api, algo, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, handle, xDesc,
                                 dwDesc, convDesc, dyDesc, alpha, beta, workSpace, workSpaceSizeInBytes, &g);
      st != CUDNN_STATUS_SUCCESS)
    return st;
  if (!x || !dy || !dw) return reject(api, CUDNN_STATUS_BAD_PARAM, "a data pointer is NULL");
  if (!lvk_emu::device_operand(x, g.x_bytes(), api, "x") || !lvk_emu::device_operand(dy, g.y_bytes(), api, "dy") ||
      !lvk_emu::device_operand(dw, g.w_bytes(), api, "dw"))
    return CUDNN_STATUS_EXECUTION_FAILED;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  const auto* xp = static_cast<const float*>(x);
  const auto* dyp = static_cast<const float*>(dy);
  auto* dwp = static_cast<float*>(dw);
  return submit(handle, api, [g, a, b, xp, dyp, dwp] { backward_filter(g, a, b, xp, dyp, dwp); });
}

}  // extern "C"
