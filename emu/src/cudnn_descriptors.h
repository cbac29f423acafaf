#pragma once
// The emulated cuDNN's handle and descriptor contents, shared by its descriptor and convolution
// files.
#include "cudnn.h"

struct cudnnContext {
  cudaStream_t stream = nullptr;
};

struct cudnnTensorStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int n = 0, c = 0, h = 0, w = 0;
  int ns = 0, cs = 0, hs = 0, ws = 0;  // strides in elements
};

struct cudnnFilterStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  int k = 0, c = 0, h = 0, w = 0;
};

struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CONVOLUTION;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace lvk_emu {

bool cudnn_handle_alive(cudnnHandle_t h);
// Live and set (by a cudnnSet*Descriptor call that succeeded).
bool cudnn_ready(const cudnnTensorStruct* d);
bool cudnn_ready(const cudnnFilterStruct* d);
bool cudnn_ready(const cudnnConvolutionStruct* d);

// Output size of one spatial dimension as cudnnGetConvolution2dForwardOutputDim computes it;
// -1 when the dilated filter is larger than the padded input.
int conv_output_dim(int in, int pad, int filter, int dilation, int stride);

}  // namespace lvk_emu
