// Linear forward on cuBLASLt: y = act(x w^T + bias) with the bias, and ReLU or GELU when asked,
// applied in the GEMM epilogue, so the common Linear+ReLU layer is one kernel. Row-major y [n, out] is
// column-major y^T [out, n] = w x^T: A = w (stored [in, out] column-major, transposed), B = x^T
// ([in, n] column-major), and the epilogue bias runs along the m = out dimension as required.
// Pure FP32 compute (no TF32), like the rest of lvk's default path.
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/launch.cuh"
#include "kernels/matmul.h"
#include "kernels/nn.h"

namespace lvk::kernels::cuda {

namespace {

struct LtKey {
  int64_t n, in, out;
  int epilogue;
  int align;  // min alignment of the pointers in bytes (algorithms depend on it)
  bool operator<(const LtKey& o) const {
    return std::tie(n, in, out, epilogue, align) < std::tie(o.n, o.in, o.out, o.epilogue, o.align);
  }
};

struct LtPlan {
  bool ok = false;
  cublasLtMatmulAlgo_t algo{};
};

int pointer_alignment(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  for (int a = 16; a > 4; a /= 2)
    if (v % a == 0) return a;
  return 4;
}

// RAII for the Lt descriptors of one call.
struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescs() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// Heuristic results are cached per shape, epilogue and alignment: the query costs more than a
// small GEMM.
std::mutex g_plan_mutex;
std::map<LtKey, LtPlan> g_plans;

bool lt_matmul(float* y, float* aux, const float* x, const float* w, const float* bias, int64_t n, int64_t in,
               int64_t out, cublasLtEpilogue_t epilogue, cublasLtHandle_t lt, void* workspace, cudaStream_t stream) {
  LtDescs d;
  LVK_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  LVK_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  LVK_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  LVK_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
  if (bias)
    LVK_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  if (aux) {  // GELU_AUX: the GELU input (GEMM + bias), column-major [out, n] like y
    const int64_t ld = out;
    LVK_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof(aux)));
    LVK_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld, sizeof(ld)));
  }
  LVK_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, CUDA_R_32F, in, out, in));  // w as [in, out] col-major
  LVK_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, CUDA_R_32F, in, n, in));    // x^T
  LVK_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, CUDA_R_32F, out, n, out));  // y^T

  const int align = std::min({pointer_alignment(y), pointer_alignment(x), pointer_alignment(w),
                              bias ? pointer_alignment(bias) : 16, aux ? pointer_alignment(aux) : 16});
  const LtKey key{n, in, out, static_cast<int>(epilogue), align};
  LtPlan plan;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    if (auto it = g_plans.find(key); it != g_plans.end()) plan = it->second, cached = true;
  }
  if (!cached) {
    LVK_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.pref));
    const size_t ws = kLinearWorkspaceBytes;
    LVK_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    const uint32_t a32 = static_cast<uint32_t>(align);
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      LVK_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.pref, attr, &a32, sizeof(a32)));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &result, &found);
    plan.ok = st == CUBLAS_STATUS_SUCCESS && found > 0;
    if (plan.ok) plan.algo = result.algo;
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    g_plans[key] = plan;
  }
  if (!plan.ok) return false;
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t st = cublasLtMatmul(lt, d.op, &alpha, w, d.a, x, d.b, &beta, y, d.c, y, d.c, &plan.algo,
                                           workspace, kLinearWorkspaceBytes, stream);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) {  // remember, and let the caller take the cuBLAS path
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    g_plans[key].ok = false;
    return false;
  }
  LVK_CUBLAS_CHECK(st);
  return true;
}

}  // namespace

void linear_forward(float* y, float* z, const float* x, const float* w, const float* bias, index_t n, index_t in,
                    index_t out, Activation act, float slope, cublasLtHandle_t lt, cublasHandle_t blas, void* workspace,
                    cudaStream_t stream) {
  if (n == 0 || out == 0) return;
  if (in > 0) {
    // ReLU and GELU fuse into the epilogue. ReLU's backward needs only y; GELU's needs the
    // pre-activation, which the GELU_AUX epilogue stores into z in the same pass (cuBLASLt wants
    // its leading dimension to be a multiple of 8; otherwise the next path runs).
    if (act == Activation::relu && z == nullptr) {
      if (lt_matmul(y, nullptr, x, w, bias, n, in, out, bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU, lt,
                    workspace, stream))
        return;
    } else if (act == Activation::gelu && (z == nullptr || out % 8 == 0)) {
      const cublasLtEpilogue_t epi = z ? (bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX)
                                       : (bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU);
      if (lt_matmul(y, z, x, w, bias, n, in, out, epi, lt, workspace, stream)) return;
    }
    // Otherwise the GEMM + bias epilogue writes the pre-activation (into z when the backward
    // needs it), then one elementwise pass applies the activation.
    float* gemm_out = z ? z : y;
    if (lt_matmul(gemm_out, nullptr, x, w, bias, n, in, out, bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT,
                  lt, workspace, stream)) {
      if (gemm_out == y && act == Activation::none) return;
      bias_act_forward(y, nullptr, gemm_out, nullptr, n, out, act, slope, stream);
      return;
    }
  }
  // Fallback (k = 0, or no Lt algorithm): cuBLAS GEMM, then bias + activation in one pass.
  sgemm(y, x, w, GemmShape{n, out, in, false, true}, 1.0f, 0.0f, blas, stream);
  bias_act_forward(y, z, y, bias, n, out, act, slope, stream);
}

}  // namespace lvk::kernels::cuda
