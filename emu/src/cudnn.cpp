// Emulated cuDNN: handle, tensor/filter/convolution descriptors and status strings, validated as
// the cuDNN documentation specifies. The convolutions themselves are in cudnn_conv.cpp.
#include <cstdint>

#include "cudnn_descriptors.h"
#include "handle_registry.h"

namespace {

using lvk_emu::registry;

bool valid_type(cudnnDataType_t t) {
  return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_FAST_FLOAT_FOR_FP8;
}

template <class T>
cudnnStatus_t create(T** out) {
  if (!out) return CUDNN_STATUS_BAD_PARAM;
  *out = registry<T>().create();
  return CUDNN_STATUS_SUCCESS;
}

template <class T>
cudnnStatus_t destroy(T* p) {
  if (!p) return CUDNN_STATUS_SUCCESS;
  return registry<T>().destroy(p) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

constexpr int64_t kMaxElements = int64_t{1} << 31;  // the documented 2 Giga-element limit

}  // namespace

namespace lvk_emu {

bool cudnn_handle_alive(cudnnHandle_t h) {
  return registry<cudnnContext>().alive(h);
}
bool cudnn_ready(const cudnnTensorStruct* d) {
  return registry<cudnnTensorStruct>().alive(d) && d->set;
}
bool cudnn_ready(const cudnnFilterStruct* d) {
  return registry<cudnnFilterStruct>().alive(d) && d->set;
}
bool cudnn_ready(const cudnnConvolutionStruct* d) {
  return registry<cudnnConvolutionStruct>().alive(d) && d->set;
}

int conv_output_dim(int in, int pad, int filter, int dilation, int stride) {
  const int64_t span = int64_t{in} + 2 * int64_t{pad} - (int64_t{filter} - 1) * dilation - 1;
  return span < 0 ? -1 : static_cast<int>(1 + span / stride);
}

}  // namespace lvk_emu

extern "C" {

size_t cudnnGetVersion(void) {
  return CUDNN_VERSION;
}

const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
#define LVK_EMU_NAME(s) \
  case s:               \
    return #s;
    LVK_EMU_NAME(CUDNN_STATUS_SUCCESS)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_INITIALIZED)
    LVK_EMU_NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_DEPRECATED)
    LVK_EMU_NAME(CUDNN_STATUS_LICENSE_ERROR)
    LVK_EMU_NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
    LVK_EMU_NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
    LVK_EMU_NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM)
    LVK_EMU_NAME(CUDNN_STATUS_INVALID_VALUE)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    LVK_EMU_NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
    LVK_EMU_NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_EXECUTION_FAILED)
    LVK_EMU_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    LVK_EMU_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
    LVK_EMU_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    LVK_EMU_NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef LVK_EMU_NAME
  }
  return "CUDNN_STATUS_UNKNOWN";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  return create(handle);
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  return registry<cudnnContext>().destroy(handle) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  if (!lvk_emu::cudnn_handle_alive(handle)) return CUDNN_STATUS_BAD_PARAM;
  handle->stream = streamId;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t* streamId) {
  if (!lvk_emu::cudnn_handle_alive(handle) || !streamId) return CUDNN_STATUS_BAD_PARAM;
  *streamId = handle->stream;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* tensorDesc) {
  return create(tensorDesc);
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
  return destroy(tensorDesc);
}

cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int n, int c,
                                           int h, int w, int nStride, int cStride, int hStride, int wStride) {
  if (!registry<cudnnTensorStruct>().alive(tensorDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (!valid_type(dataType) || n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (int64_t{n} * c * h * w >= kMaxElements) return CUDNN_STATUS_NOT_SUPPORTED;
  *tensorDesc = cudnnTensorStruct{true, dataType, n, c, h, w, nStride, cStride, hStride, wStride};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
  if (!registry<cudnnTensorStruct>().alive(tensorDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC) return CUDNN_STATUS_BAD_PARAM;
  if (!valid_type(dataType) || n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (int64_t{n} * c * h * w >= kMaxElements) return CUDNN_STATUS_NOT_SUPPORTED;
  if (format == CUDNN_TENSOR_NCHW)
    return cudnnSetTensor4dDescriptorEx(tensorDesc, dataType, n, c, h, w, c * h * w, h * w, w, 1);
  return cudnnSetTensor4dDescriptorEx(tensorDesc, dataType, n, c, h, w, h * w * c, 1, w * c, c);
}

cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t* dataType, int* n,
                                         int* c, int* h, int* w, int* nStride, int* cStride, int* hStride,
                                         int* wStride) {
  if (!lvk_emu::cudnn_ready(tensorDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (!dataType || !n || !c || !h || !w || !nStride || !cStride || !hStride || !wStride) return CUDNN_STATUS_BAD_PARAM;
  const cudnnTensorStruct& t = *tensorDesc;
  *dataType = t.type, *n = t.n, *c = t.c, *h = t.h, *w = t.w;
  *nStride = t.ns, *cStride = t.cs, *hStride = t.hs, *wStride = t.ws;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* filterDesc) {
  return create(filterDesc);
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
  return destroy(filterDesc);
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
  if (!registry<cudnnFilterStruct>().alive(filterDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (!valid_type(dataType) || (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC))
    return CUDNN_STATUS_BAD_PARAM;
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (int64_t{k} * c * h * w >= kMaxElements) return CUDNN_STATUS_NOT_SUPPORTED;
  *filterDesc = cudnnFilterStruct{true, dataType, format, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetFilter4dDescriptor(const cudnnFilterDescriptor_t filterDesc, cudnnDataType_t* dataType,
                                         cudnnTensorFormat_t* format, int* k, int* c, int* h, int* w) {
  if (!lvk_emu::cudnn_ready(filterDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (!dataType || !format || !k || !c || !h || !w) return CUDNN_STATUS_BAD_PARAM;
  const cudnnFilterStruct& f = *filterDesc;
  *dataType = f.type, *format = f.format, *k = f.k, *c = f.c, *h = f.h, *w = f.w;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* convDesc) {
  return create(convDesc);
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  return destroy(convDesc);
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
  if (!registry<cudnnConvolutionStruct>().alive(convDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if ((mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) || !valid_type(computeType))
    return CUDNN_STATUS_BAD_PARAM;
  cudnnConvolutionStruct& d = *convDesc;
  d.set = true;  // the math type set before, if any, stays
  d.pad_h = pad_h, d.pad_w = pad_w, d.u = u, d.v = v, d.dil_h = dilation_h, d.dil_w = dilation_w;
  d.mode = mode, d.compute = computeType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t convDesc, int* pad_h, int* pad_w,
                                              int* u, int* v, int* dilation_h, int* dilation_w,
                                              cudnnConvolutionMode_t* mode, cudnnDataType_t* computeType) {
  if (!lvk_emu::cudnn_ready(convDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (!pad_h || !pad_w || !u || !v || !dilation_h || !dilation_w || !mode || !computeType)
    return CUDNN_STATUS_BAD_PARAM;
  const cudnnConvolutionStruct& d = *convDesc;
  *pad_h = d.pad_h, *pad_w = d.pad_w, *u = d.u, *v = d.v, *dilation_h = d.dil_h, *dilation_w = d.dil_w;
  *mode = d.mode, *computeType = d.compute;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  if (!registry<cudnnConvolutionStruct>().alive(convDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH) return CUDNN_STATUS_BAD_PARAM;
  convDesc->math = mathType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t* mathType) {
  if (!registry<cudnnConvolutionStruct>().alive(convDesc) || !mathType) return CUDNN_STATUS_BAD_PARAM;
  *mathType = convDesc->math;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h,
                                                    int* w) {
  using lvk_emu::cudnn_ready;
  if (!cudnn_ready(convDesc) || !cudnn_ready(inputTensorDesc) || !cudnn_ready(filterDesc))
    return CUDNN_STATUS_BAD_PARAM;
  if (!n || !c || !h || !w) return CUDNN_STATUS_BAD_PARAM;
  const cudnnTensorStruct& x = *inputTensorDesc;
  const cudnnFilterStruct& f = *filterDesc;
  const cudnnConvolutionStruct& d = *convDesc;
  if (x.c != f.c) return CUDNN_STATUS_BAD_PARAM;
  const int oh = lvk_emu::conv_output_dim(x.h, d.pad_h, f.h, d.dil_h, d.u);
  const int ow = lvk_emu::conv_output_dim(x.w, d.pad_w, f.w, d.dil_w, d.v);
  if (oh < 1 || ow < 1) return CUDNN_STATUS_BAD_PARAM;
  *n = x.n, *c = f.k, *h = oh, *w = ow;
  return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"
