// Emulated cuBLASLt: descriptors, a one-algorithm heuristic, and cublasLtMatmul for FP32
// column-major GEMMs with the bias/ReLU/GELU epilogues, validated as documented for cuBLASLt and
// run as stream-ordered work on the reference GEMM.
#include "cublasLt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include "handle_registry.h"
#include "lvk_emu/enqueue.h"
#include "ref_gemm.h"
#include "vendor_support.h"

struct cublasLtContext {};

struct cublasLtMatrixLayoutOpaque_st {
  uint32_t type = CUDA_R_32F;
  int32_t order = CUBLASLT_ORDER_COL;
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0;
  int32_t batch_count = 1;
  int64_t batch_stride = 0;
  int64_t plane_offset = 0;
};

struct cublasLtMatmulDescOpaque_st {
  int32_t compute = CUBLAS_COMPUTE_32F;
  int32_t scale = CUDA_R_32F;
  int32_t pointer_mode = CUBLASLT_POINTER_MODE_HOST;
  int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N, transc = CUBLAS_OP_N;
  int32_t fill = CUBLAS_FILL_MODE_FULL;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  void* bias = nullptr;
  int64_t bias_batch_stride = 0;
  void* aux = nullptr;
  int64_t aux_ld = 0;
  int64_t aux_batch_stride = 0;
  int64_t alpha_batch_stride = 0;
  int32_t sm_count = 0;
  int32_t aux_type = -1;  // -1: the type of D
  int32_t bias_type = -1;
};

struct cublasLtMatmulPreferenceOpaque_st {
  uint32_t search_mode = 0;
  uint64_t max_workspace = 0;
  uint32_t math_mode_mask = 0;
  uint32_t reduction_mask = 0xffffffffu;
  uint32_t gaussian_mask = 0;
  uint32_t min_align[4] = {256, 256, 256, 256};  // A, B, C, D; the documented default
  float max_waves = 0.0f;
  uint32_t pointer_mode_mask = 0;
  uint32_t epilogue_mask = 0xffffffffu;
  uint64_t impl_mask = ~uint64_t{0};
};

namespace {

using lvk_emu::registry;
using Layout = cublasLtMatrixLayoutOpaque_st;
using Desc = cublasLtMatmulDescOpaque_st;
using Pref = cublasLtMatmulPreferenceOpaque_st;

cublasStatus_t reject(const char* api, cublasStatus_t st, const char* reason) {
  lvk_emu::lib_log(api, reason);
  return st;
}

// Where an attribute lives in its descriptor and how many bytes it has.
struct Field {
  void* at;
  size_t size;
};

template <class T>
Field field(T& v) {
  return {&v, sizeof v};
}

Field layout_field(Layout& l, cublasLtMatrixLayoutAttribute_t a) {
  switch (a) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE:
      return field(l.type);
    case CUBLASLT_MATRIX_LAYOUT_ORDER:
      return field(l.order);
    case CUBLASLT_MATRIX_LAYOUT_ROWS:
      return field(l.rows);
    case CUBLASLT_MATRIX_LAYOUT_COLS:
      return field(l.cols);
    case CUBLASLT_MATRIX_LAYOUT_LD:
      return field(l.ld);
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT:
      return field(l.batch_count);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET:
      return field(l.batch_stride);
    case CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET:
      return field(l.plane_offset);
  }
  return {nullptr, 0};
}

Field desc_field(Desc& d, cublasLtMatmulDescAttributes_t a) {
  switch (a) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE:
      return field(d.compute);
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE:
      return field(d.scale);
    case CUBLASLT_MATMUL_DESC_POINTER_MODE:
      return field(d.pointer_mode);
    case CUBLASLT_MATMUL_DESC_TRANSA:
      return field(d.transa);
    case CUBLASLT_MATMUL_DESC_TRANSB:
      return field(d.transb);
    case CUBLASLT_MATMUL_DESC_TRANSC:
      return field(d.transc);
    case CUBLASLT_MATMUL_DESC_FILL_MODE:
      return field(d.fill);
    case CUBLASLT_MATMUL_DESC_EPILOGUE:
      return field(d.epilogue);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
      return field(d.bias);
    case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE:
      return field(d.bias_batch_stride);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER:
      return field(d.aux);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD:
      return field(d.aux_ld);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE:
      return field(d.aux_batch_stride);
    case CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE:
      return field(d.alpha_batch_stride);
    case CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET:
      return field(d.sm_count);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE:
      return field(d.aux_type);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
      return field(d.bias_type);
  }
  return {nullptr, 0};
}

Field pref_field(Pref& p, cublasLtMatmulPreferenceAttributes_t a) {
  switch (a) {
    case CUBLASLT_MATMUL_PREF_SEARCH_MODE:
      return field(p.search_mode);
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
      return field(p.max_workspace);
    case CUBLASLT_MATMUL_PREF_MATH_MODE_MASK:
      return field(p.math_mode_mask);
    case CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK:
      return field(p.reduction_mask);
    case CUBLASLT_MATMUL_PREF_GAUSSIAN_MODE_MASK:
      return field(p.gaussian_mask);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
      return field(p.min_align[0]);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
      return field(p.min_align[1]);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
      return field(p.min_align[2]);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
      return field(p.min_align[3]);
    case CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT:
      return field(p.max_waves);
    case CUBLASLT_MATMUL_PREF_POINTER_MODE_MASK:
      return field(p.pointer_mode_mask);
    case CUBLASLT_MATMUL_PREF_EPILOGUE_MASK:
      return field(p.epilogue_mask);
    case CUBLASLT_MATMUL_PREF_IMPL_MASK:
      return field(p.impl_mask);
  }
  return {nullptr, 0};
}

cublasStatus_t set_field(Field f, const void* buf, size_t size) {
  if (!f.at || !buf || size != f.size) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(f.at, buf, size);
  return CUBLAS_STATUS_SUCCESS;
}

// As documented: sizeInBytes == 0 asks for the size; otherwise it must match the attribute.
cublasStatus_t get_field(Field f, void* buf, size_t size, size_t* written) {
  if (!f.at) return CUBLAS_STATUS_INVALID_VALUE;
  if (size == 0) {
    if (!written) return CUBLAS_STATUS_INVALID_VALUE;
    *written = f.size;
    return CUBLAS_STATUS_SUCCESS;
  }
  if (!buf || size != f.size) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(buf, f.at, size);
  if (written) *written = f.size;
  return CUBLAS_STATUS_SUCCESS;
}

template <class T>
cublasStatus_t create(T** out) {
  if (!out) return CUBLAS_STATUS_INVALID_VALUE;
  *out = registry<T>().create();
  return CUBLAS_STATUS_SUCCESS;
}

template <class T>
cublasStatus_t destroy(T* p) {
  if (!p) return CUBLAS_STATUS_SUCCESS;
  return registry<T>().destroy(p) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

template <class T>
bool alive(const T* p) {
  return registry<T>().alive(p);
}

// --- What one matmul computes, once the descriptors are checked. ---

struct Epilogue {
  bool bias = false, relu = false, gelu = false, aux = false;
};

struct Problem {
  bool ta = false, tb = false;
  int64_t m = 0, n = 0, k = 0;
  bool tf32 = false;
  bool device_scalars = false;
  Epilogue epi;
  const float* bias = nullptr;
  float* aux = nullptr;
  int64_t aux_ld = 0;
};

bool valid_op(int32_t op) {
  return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

// The epilogues the emulator runs; the other documented ones are NOT_SUPPORTED, unknown values
// INVALID_VALUE.
cublasStatus_t decode_epilogue(uint32_t e, Epilogue* out) {
  switch (e) {
    case CUBLASLT_EPILOGUE_DEFAULT:
      *out = {};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_RELU:
      *out = {false, true, false, false};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_BIAS:
      *out = {true, false, false, false};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_RELU_BIAS:
      *out = {true, true, false, false};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_GELU:
      *out = {false, false, true, false};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_GELU_BIAS:
      *out = {true, false, true, false};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_GELU_AUX:
      *out = {false, false, true, true};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_GELU_AUX_BIAS:
      *out = {true, false, true, true};
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_EPILOGUE_RELU_AUX:
    case CUBLASLT_EPILOGUE_RELU_AUX_BIAS:
    case CUBLASLT_EPILOGUE_DRELU:
    case CUBLASLT_EPILOGUE_DRELU_BGRAD:
    case CUBLASLT_EPILOGUE_DGELU:
    case CUBLASLT_EPILOGUE_DGELU_BGRAD:
    case CUBLASLT_EPILOGUE_BGRADA:
    case CUBLASLT_EPILOGUE_BGRADB:
      return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t check_layout(const char* api, const Layout& l) {
  if (l.type != CUDA_R_32F) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "only CUDA_R_32F matrices are emulated");
  if (l.order != CUBLASLT_ORDER_COL) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "only column-major order");
  if (l.batch_count < 1) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "batch count < 1");
  if (l.batch_count != 1) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "batched matmul is not emulated");
  if (l.ld < std::max<int64_t>(1, static_cast<int64_t>(l.rows)))
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "leading dimension < rows");
  return CUBLAS_STATUS_SUCCESS;
}

// The checks shared by the heuristic query and the matmul itself: everything the descriptors say.
cublasStatus_t plan(const char* api, const Desc& d, const Layout& a, const Layout& b, const Layout& c, const Layout& dd,
                    Problem* p) {
  if (d.compute != CUBLAS_COMPUTE_32F && d.compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
      d.compute != CUBLAS_COMPUTE_32F_FAST_TF32)
    return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "only FP32 compute types are emulated");
  if (d.scale != CUDA_R_32F) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "scale type must be CUDA_R_32F");
  if (d.pointer_mode != CUBLASLT_POINTER_MODE_HOST && d.pointer_mode != CUBLASLT_POINTER_MODE_DEVICE)
    return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "pointer mode is not emulated");
  if (!valid_op(d.transa) || !valid_op(d.transb)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "invalid transa/b");
  if (d.transc != CUBLAS_OP_N) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "TRANSC must be CUBLAS_OP_N");
  if (d.fill != CUBLAS_FILL_MODE_FULL) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "fill mode must be FULL");
  for (const Layout* l : {&a, &b, &c, &dd})
    if (cublasStatus_t st = check_layout(api, *l); st != CUBLAS_STATUS_SUCCESS) return st;

  p->ta = d.transa != CUBLAS_OP_N, p->tb = d.transb != CUBLAS_OP_N;
  p->m = static_cast<int64_t>(dd.rows), p->n = static_cast<int64_t>(dd.cols);
  const int64_t a_rows = static_cast<int64_t>(p->ta ? a.cols : a.rows);
  p->k = static_cast<int64_t>(p->ta ? a.rows : a.cols);
  const int64_t b_rows = static_cast<int64_t>(p->tb ? b.cols : b.rows);
  const int64_t b_cols = static_cast<int64_t>(p->tb ? b.rows : b.cols);
  if (a_rows != p->m || b_rows != p->k || b_cols != p->n)
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "op(A), op(B) and D shapes do not match");
  if (c.rows != dd.rows || c.cols != dd.cols) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "C and D shapes differ");
  p->tf32 = d.compute == CUBLAS_COMPUTE_32F_FAST_TF32 && lvk_emu::tf32_allowed();
  p->device_scalars = d.pointer_mode == CUBLASLT_POINTER_MODE_DEVICE;

  if (cublasStatus_t st = decode_epilogue(d.epilogue, &p->epi); st != CUBLAS_STATUS_SUCCESS)
    return reject(api, st, "epilogue is unknown or not emulated");
  if (p->epi.bias) {
    if (!d.bias) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "bias epilogue without BIAS_POINTER");
    if (d.bias_type != -1 && d.bias_type != CUDA_R_32F)
      return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "bias data type must be that of D");
    p->bias = static_cast<const float*>(d.bias);
  }
  if (p->epi.aux) {
    if (!d.aux) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "aux epilogue without EPILOGUE_AUX_POINTER");
    if (d.aux_ld < std::max<int64_t>(1, p->m))
      return reject(api, CUBLAS_STATUS_INVALID_VALUE, "EPILOGUE_AUX_LD < rows of D");
    if (d.aux_ld % 8 != 0)  // documented for the GELU input matrix
      return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "EPILOGUE_AUX_LD must be divisible by 8");
    if (d.aux_type != -1 && d.aux_type != CUDA_R_32F)
      return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "aux data type must be that of D");
    p->aux = static_cast<float*>(d.aux);
    p->aux_ld = d.aux_ld;
  }
  return CUBLAS_STATUS_SUCCESS;
}

// --- The algorithm: what the heuristic promises and the matmul holds it to. ---

constexpr uint64_t kAlgoMagic = 0x4c564b5f454d552dull;  // "LVK_EMU-"

struct Algo {
  uint32_t alignment;  // bytes every operand pointer must be aligned to
  uint64_t workspace;  // bytes of workspace the algorithm needs
};

cublasLtMatmulAlgo_t encode(const Algo& a) {
  cublasLtMatmulAlgo_t out{};
  out.data[0] = kAlgoMagic;
  out.data[1] = a.alignment;
  out.data[2] = a.workspace;
  out.data[3] = kAlgoMagic ^ a.alignment ^ (a.workspace * 0x9e3779b97f4a7c15ull);
  return out;
}

bool decode(const cublasLtMatmulAlgo_t& in, Algo* a) {
  if (in.data[0] != kAlgoMagic || in.data[3] != (kAlgoMagic ^ in.data[1] ^ (in.data[2] * 0x9e3779b97f4a7c15ull)))
    return false;
  a->alignment = static_cast<uint32_t>(in.data[1]);
  a->workspace = in.data[2];
  return true;
}

// Largest power of two dividing the address, capped at 256 (null does not constrain).
uint32_t pointer_alignment(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && v % a != 0) a /= 2;
  return a;
}

uint32_t floor_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p <= v / 2) p *= 2;
  return v == 0 ? 0 : p;
}

// Kernels vectorize up to 16 bytes; FP32 operands need at least their element size.
constexpr uint32_t kMaxVector = 16, kElem = sizeof(float);

uint64_t wanted_workspace(const Problem& p) {
  if (p.k == 0) return 0;
  const uint64_t bytes = static_cast<uint64_t>(p.m) * static_cast<uint64_t>(p.n) * sizeof(float);  // split-k
  return (bytes + 255) / 256 * 256;
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  return create(handle);
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  return registry<cublasLtContext>().destroy(handle) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

size_t cublasLtGetVersion(void) {
  return CUBLAS_VERSION;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* matLayout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  if (cublasStatus_t st = create(matLayout); st != CUBLAS_STATUS_SUCCESS) return st;
  (*matLayout)->type = static_cast<uint32_t>(type);
  (*matLayout)->rows = rows, (*matLayout)->cols = cols, (*matLayout)->ld = ld;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout) {
  return destroy(matLayout);
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout, cublasLtMatrixLayoutAttribute_t attr,
                                                const void* buf, size_t sizeInBytes) {
  if (!alive(matLayout)) return CUBLAS_STATUS_INVALID_VALUE;
  return set_field(layout_field(*matLayout, attr), buf, sizeInBytes);
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t matLayout, cublasLtMatrixLayoutAttribute_t attr,
                                                void* buf, size_t sizeInBytes, size_t* sizeWritten) {
  if (!alive(matLayout)) return CUBLAS_STATUS_INVALID_VALUE;
  return get_field(layout_field(*matLayout, attr), buf, sizeInBytes, sizeWritten);
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* matmulDesc, cublasComputeType_t computeType,
                                        cudaDataType_t scaleType) {
  if (cublasStatus_t st = create(matmulDesc); st != CUBLAS_STATUS_SUCCESS) return st;
  (*matmulDesc)->compute = computeType;
  (*matmulDesc)->scale = scaleType;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc) {
  return destroy(matmulDesc);
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t sizeInBytes) {
  if (!alive(matmulDesc)) return CUBLAS_STATUS_INVALID_VALUE;
  return set_field(desc_field(*matmulDesc, attr), buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr,
                                              void* buf, size_t sizeInBytes, size_t* sizeWritten) {
  if (!alive(matmulDesc)) return CUBLAS_STATUS_INVALID_VALUE;
  return get_field(desc_field(*matmulDesc, attr), buf, sizeInBytes, sizeWritten);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  return create(pref);
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  return destroy(pref);
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                    size_t sizeInBytes) {
  if (!alive(pref)) return CUBLAS_STATUS_INVALID_VALUE;
  return set_field(pref_field(*pref, attr), buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, void* buf,
                                                    size_t sizeInBytes, size_t* sizeWritten) {
  if (!alive(pref)) return CUBLAS_STATUS_INVALID_VALUE;
  return get_field(pref_field(*pref, attr), buf, sizeInBytes, sizeWritten);
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc,
                                              cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                                              cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
                                              cublasLtMatmulPreference_t preference, int requestedAlgoCount,
                                              cublasLtMatmulHeuristicResult_t heuristicResultsArray[],
                                              int* returnAlgoCount) {
  static const char* api = "cublasLtMatmulAlgoGetHeuristic";
  if (!alive(lightHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!alive(operationDesc) || !alive(Adesc) || !alive(Bdesc) || !alive(Cdesc) || !alive(Ddesc) || !alive(preference) ||
      !heuristicResultsArray || !returnAlgoCount)
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "NULL or destroyed argument");
  if (requestedAlgoCount <= 0) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "requestedAlgoCount <= 0");
  *returnAlgoCount = 0;
  Problem p;
  if (cublasStatus_t st = plan(api, *operationDesc, *Adesc, *Bdesc, *Cdesc, *Ddesc, &p); st != CUBLAS_STATUS_SUCCESS)
    return st;
  if ((preference->epilogue_mask & operationDesc->epilogue) == 0)
    return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "the epilogue is masked out by the preference");

  // The promised alignments, with those of the bias and aux pointers (which the documentation says
  // the heuristic reads for this purpose).
  uint32_t align = *std::min_element(std::begin(preference->min_align), std::end(preference->min_align));
  if (p.bias) align = std::min(align, pointer_alignment(p.bias));
  if (p.aux) align = std::min(align, pointer_alignment(p.aux));
  if (align < kElem) return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "no algorithm for alignment below 4 bytes");

  Algo algo;
  algo.alignment = std::min(kMaxVector, floor_pow2(align));
  const uint64_t wanted = wanted_workspace(p);
  algo.workspace = wanted <= preference->max_workspace ? wanted : 0;  // else the no-workspace variant
  cublasLtMatmulHeuristicResult_t& r = heuristicResultsArray[0];
  r = cublasLtMatmulHeuristicResult_t{};
  r.algo = encode(algo);
  r.workspaceSize = algo.workspace;
  r.state = CUBLAS_STATUS_SUCCESS;
  r.wavesCount = 1.0f;
  *returnAlgoCount = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void* alpha,
                              const void* A, cublasLtMatrixLayout_t Adesc, const void* B, cublasLtMatrixLayout_t Bdesc,
                              const void* beta, const void* C, cublasLtMatrixLayout_t Cdesc, void* D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t workspaceSizeInBytes, cudaStream_t stream) {
  static const char* api = "cublasLtMatmul";
  if (!alive(lightHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!alive(computeDesc) || !alive(Adesc) || !alive(Bdesc) || !alive(Cdesc) || !alive(Ddesc))
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "NULL or destroyed descriptor");
  if (!alpha || !beta) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "alpha or beta is NULL");
  Problem p;
  if (cublasStatus_t st = plan(api, *computeDesc, *Adesc, *Bdesc, *Cdesc, *Ddesc, &p); st != CUBLAS_STATUS_SUCCESS)
    return st;
  // In place needs the same layout for C and D; out of place only the same shape (checked above).
  if (C == D && (Cdesc->ld != Ddesc->ld))
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "C == D with different layouts");

  Algo a{kElem, 0};  // NULL algo: implicit heuristic with default preferences (no workspace)
  if (algo && !decode(*algo, &a)) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "algo was not made by a heuristic");
  if (workspaceSizeInBytes < a.workspace)
    return reject(api, CUBLAS_STATUS_INVALID_VALUE, "workspaceSizeInBytes < workspace the algo requires");
  if (a.workspace > 0 && !workspace) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "workspace is NULL");
  for (const void* ptr :
       {A, B, C, static_cast<const void*>(D), static_cast<const void*>(p.bias), static_cast<const void*>(p.aux)})
    if (ptr && pointer_alignment(ptr) < a.alignment)
      return reject(api, CUBLAS_STATUS_NOT_SUPPORTED, "a pointer is less aligned than the algo requires");

  const float host_beta = p.device_scalars ? 1.0f : *static_cast<const float*>(beta);
  if (host_beta != 0.0f && !C) return reject(api, CUBLAS_STATUS_INVALID_VALUE, "C is NULL with beta != 0");
  if (p.m == 0 || p.n == 0) return CUBLAS_STATUS_SUCCESS;

  const size_t f = sizeof(float);
  if (p.device_scalars &&
      (!lvk_emu::device_operand(alpha, f, api, "alpha") || !lvk_emu::device_operand(beta, f, api, "beta")))
    return CUBLAS_STATUS_EXECUTION_FAILED;
  const int64_t a_rows = p.ta ? p.k : p.m, a_cols = p.ta ? p.m : p.k;
  const int64_t b_rows = p.tb ? p.n : p.k, b_cols = p.tb ? p.k : p.n;
  if (!lvk_emu::device_operand(A, lvk_emu::matrix_span_bytes(a_rows, a_cols, Adesc->ld, f), api, "A") ||
      !lvk_emu::device_operand(B, lvk_emu::matrix_span_bytes(b_rows, b_cols, Bdesc->ld, f), api, "B") ||
      (C && !lvk_emu::device_operand(C, lvk_emu::matrix_span_bytes(p.m, p.n, Cdesc->ld, f), api, "C")) ||
      !lvk_emu::device_operand(D, lvk_emu::matrix_span_bytes(p.m, p.n, Ddesc->ld, f), api, "D") ||
      (p.bias && !lvk_emu::device_operand(p.bias, static_cast<size_t>(p.m) * f, api, "bias")) ||
      (p.aux && !lvk_emu::device_operand(p.aux, lvk_emu::matrix_span_bytes(p.m, p.n, p.aux_ld, f), api, "aux")) ||
      !lvk_emu::device_operand(workspace, a.workspace, api, "workspace"))
    return CUBLAS_STATUS_EXECUTION_FAILED;

  lvk_emu::GemmArgs g;
  g.trans_a = p.ta, g.trans_b = p.tb, g.m = p.m, g.n = p.n, g.k = p.k, g.tf32 = p.tf32;
  g.a = static_cast<const float*>(A), g.lda = Adesc->ld;
  g.b = static_cast<const float*>(B), g.ldb = Bdesc->ld;
  g.c = static_cast<const float*>(C), g.ldc = Cdesc->ld;
  g.d = static_cast<float*>(D), g.ldd = Ddesc->ld;
  if (!p.device_scalars) g.alpha = *static_cast<const float*>(alpha), g.beta = host_beta;
  const auto* alpha_dev = static_cast<const float*>(alpha);
  const auto* beta_dev = static_cast<const float*>(beta);
  // Everything is captured by value: the descriptors may be destroyed before the work runs.
  const cudaError_t err = lvk_emu::enqueue(stream, api, [g, p, alpha_dev, beta_dev]() mutable {
    if (p.device_scalars) g.alpha = *alpha_dev, g.beta = *beta_dev;
    lvk_emu::reference_gemm(g);
    if (!p.epi.bias && !p.epi.relu && !p.epi.gelu) return;
    for (int64_t j = 0; j < p.n; ++j) {
      float* dj = g.d + j * g.ldd;
      for (int64_t i = 0; i < p.m; ++i) {
        float v = dj[i];
        if (p.epi.bias) v += p.bias[i];
        if (p.epi.aux) p.aux[i + j * p.aux_ld] = v;  // the GELU input, for the backward pass
        if (p.epi.relu) v = v > 0.0f ? v : 0.0f;
        if (p.epi.gelu) v = 0.5f * v * (1.0f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
        dj[i] = v;
      }
    }
  });
  return err == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // extern "C"
