// The emulated vendor libraries (cuBLAS, cuBLASLt, cuDNN, CUB, NVTX) against naive computations
// written here, and their argument validation against the documented status codes.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cudnn.h>
#include <gtest/gtest.h>
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <limits>
#include <random>
#include <vector>

#if __has_include(<cuda_runtime.h>)
#include <cuda_runtime.h>
#else
// Until the emulator runtime exists, emu/tests/stub_runtime_for_vendor_tests.cpp provides these.
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaDeviceSynchronize();
#endif

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const auto kBadStream = reinterpret_cast<cudaStream_t>(uintptr_t{0xdead0});

// Device memory holding a copy of a host vector; read() waits for all queued work first.
template <class T>
class Dev {
 public:
  explicit Dev(const std::vector<T>& host) : n_(host.size()) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p_), bytes()), cudaSuccess);
    if (n_) {
      EXPECT_EQ(cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice), cudaSuccess);
    }
  }
  explicit Dev(size_t n, T fill = T()) : Dev(std::vector<T>(n, fill)) {}
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return p_; }
  size_t bytes() const { return n_ * sizeof(T); }
  std::vector<T> read() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<T> out(n_);
    if (n_) {
      EXPECT_EQ(cudaMemcpy(out.data(), p_, bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    }
    return out;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

std::vector<float> random_floats(size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-4) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "at " << i;
}

// Column-major op(X)(i, j).
double at(const std::vector<float>& x, int64_t ld, bool trans, int64_t i, int64_t j) {
  return trans ? x[j + i * ld] : x[i + j * ld];
}

// C = alpha op(A) op(B) + beta C, column-major, in double; beta == 0 ignores C.
std::vector<double> naive_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                               const std::vector<float>& a, int64_t lda, const std::vector<float>& b, int64_t ldb,
                               double beta, const std::vector<float>& c, int64_t ldc) {
  std::vector<double> out(c.begin(), c.end());
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l) s += at(a, lda, ta, i, l) * at(b, ldb, tb, l, j);
      out[i + j * ldc] = alpha * s + (beta == 0 ? 0.0 : beta * c[i + j * ldc]);
    }
  return out;
}

float tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0xfffu + ((u >> 13) & 1u)) & 0xffffe000u;
  std::memcpy(&x, &u, 4);
  return x;
}

// ---------------------------------------------------------------------------------------------
// cuBLAS

class Cublas : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS); }
  void TearDown() override { EXPECT_EQ(cublasDestroy(h), CUBLAS_STATUS_SUCCESS); }
  cublasHandle_t h = nullptr;
};

TEST_F(Cublas, SgemmMatchesNaiveForEveryTransposeWithPaddedLeadingDims) {
  const int64_t m = 5, n = 7, k = 3;
  for (cublasOperation_t opa : {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C})
    for (cublasOperation_t opb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      const bool ta = opa != CUBLAS_OP_N, tb = opb != CUBLAS_OP_N;
      const int64_t lda = (ta ? k : m) + 2, ldb = (tb ? n : k) + 1, ldc = m + 3;
      const auto a = random_floats(lda * (ta ? m : k), 1), b = random_floats(ldb * (tb ? k : n), 2);
      for (float beta : {0.0f, 0.5f}) {
        auto c = random_floats(ldc * n, 3);
        if (beta == 0.0f) std::fill(c.begin(), c.end(), kNaN);  // must not be read
        Dev<float> da(a), db(b), dc(c);
        const float alpha = 1.5f;
        ASSERT_EQ(cublasSgemm(h, opa, opb, m, n, k, &alpha, da.get(), lda, db.get(), ldb, &beta, dc.get(), ldc),
                  CUBLAS_STATUS_SUCCESS);
        auto want = naive_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        auto got = dc.read();
        for (int64_t j = 0; j < n; ++j)
          for (int64_t i = 0; i < ldc; ++i) {
            const size_t e = i + j * ldc;
            if (i < m) {
              EXPECT_NEAR(got[e], want[e], 1e-5 * (1 + std::fabs(want[e])));
            } else if (beta != 0.0f) {
              EXPECT_EQ(got[e], c[e]) << "padding rows must stay untouched";
            }
          }
      }
    }
}

TEST_F(Cublas, Sgemm64AndEmptyProducts) {
  const int64_t m = 3, n = 2;
  std::vector<float> c{1, 2, 3, 4, 5, 6};
  Dev<float> dc(c);
  const float alpha = 2.0f, beta = 3.0f;
  // k == 0: C = beta C, A and B may be NULL.
  ASSERT_EQ(cublasSgemm_64(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &alpha, nullptr, m, nullptr, 1, &beta, dc.get(), m),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> want{3, 6, 9, 12, 15, 18};
  EXPECT_EQ(dc.read(), want);
  // m == 0: nothing happens.
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, n, 4, &alpha, nullptr, 1, nullptr, 4, &beta, nullptr, 1),
            CUBLAS_STATUS_SUCCESS);
}

TEST_F(Cublas, Tf32MathRoundsOperandsDefaultMathDoesNot) {
  const float x = 1.0f + std::ldexp(1.0f, -20);  // lost by TF32's 10-bit mantissa
  std::vector<float> a{x}, b{x};
  Dev<float> da(a), db(b), dc(1);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, da.get(), 1, db.get(), 1, &zero, dc.get(), 1),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(dc.read()[0], x * x);
  ASSERT_EQ(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, da.get(), 1, db.get(), 1, &zero, dc.get(), 1),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(dc.read()[0], tf32(x) * tf32(x));
  EXPECT_EQ(dc.read()[0], 1.0f);
}

TEST_F(Cublas, HandleAndModeCalls) {
  cudaStream_t s = kBadStream;
  ASSERT_EQ(cublasGetStream(h, &s), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(s, nullptr);
  ASSERT_EQ(cublasSetStream(h, cudaStreamPerThread), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasGetStream(h, &s), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(s, cudaStreamPerThread);
  EXPECT_EQ(cublasSetMathMode(h, static_cast<cublasMath_t>(5)), CUBLAS_STATUS_INVALID_VALUE);
  cublasMath_t mode;
  EXPECT_EQ(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasGetMathMode(h, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, CUBLAS_DEFAULT_MATH);
  EXPECT_EQ(cublasCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSetStream(nullptr, nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");
  EXPECT_STRNE(cublasGetStatusString(CUBLAS_STATUS_NOT_SUPPORTED), "");
}

TEST_F(Cublas, SgemmArgumentErrors) {
  Dev<float> a(64), b(64), c(64);
  const float one = 1.0f;
  auto gemm = [&](cublasHandle_t hh, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda, int ldb,
                  int ldc, const float* alpha = nullptr, const float* beta = nullptr) {
    return cublasSgemm(hh, ta, tb, m, n, k, alpha ? alpha : &one, a.get(), lda, b.get(), ldb, beta ? beta : &one,
                       c.get(), ldc);
  };
  const auto N = CUBLAS_OP_N, T = CUBLAS_OP_T;
  EXPECT_EQ(gemm(h, N, N, 2, 3, 4, 2, 4, 2), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(nullptr, N, N, 2, 3, 4, 2, 4, 2), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(gemm(h, CUBLAS_OP_CONJG, N, 2, 3, 4, 4, 4, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, static_cast<cublasOperation_t>(9), 2, 3, 4, 2, 4, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, N, -1, 3, 4, 2, 4, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, N, 2, -3, 4, 2, 4, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, N, 2, 3, -4, 2, 4, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, N, 2, 3, 4, 1, 4, 2), CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  EXPECT_EQ(gemm(h, T, N, 2, 3, 4, 3, 4, 2), CUBLAS_STATUS_INVALID_VALUE);  // lda < k
  EXPECT_EQ(gemm(h, T, N, 2, 3, 4, 4, 4, 2), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(h, N, N, 2, 3, 4, 2, 3, 2), CUBLAS_STATUS_INVALID_VALUE);  // ldb < k
  EXPECT_EQ(gemm(h, N, T, 2, 3, 4, 2, 2, 2), CUBLAS_STATUS_INVALID_VALUE);  // ldb < n
  EXPECT_EQ(gemm(h, N, N, 2, 3, 4, 2, 4, 1), CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  // The leading dimensions are checked even when the product is empty.
  EXPECT_EQ(gemm(h, N, N, 0, 3, 4, 0, 4, 1), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(gemm(h, N, N, 0, 3, 4, 1, 4, 1), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(h, N, N, 2, 0, 0, 2, 0, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSgemm(h, N, N, 2, 3, 4, nullptr, a.get(), 2, b.get(), 4, &one, c.get(), 2),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasSgemm(h, N, N, 2, 3, 4, &one, a.get(), 2, b.get(), 4, nullptr, c.get(), 2),
            CUBLAS_STATUS_INVALID_VALUE);
  // Host memory where device memory belongs, and a bad stream, fail as the launch would.
  std::vector<float> host(64);
  EXPECT_EQ(cublasSgemm(h, N, N, 2, 3, 4, &one, host.data(), 2, b.get(), 4, &one, c.get(), 2),
            CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(cublasSgemm(h, N, N, 8, 8, 8, &one, a.get(), 8, b.get(), 8, &one, c.get(), 9),
            CUBLAS_STATUS_EXECUTION_FAILED);  // C's span runs past its allocation
  ASSERT_EQ(cublasSetStream(h, kBadStream), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(h, N, N, 2, 3, 4, 2, 4, 2), CUBLAS_STATUS_EXECUTION_FAILED);
  cublasHandle_t gone;
  ASSERT_EQ(cublasCreate(&gone), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasDestroy(gone), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(gemm(gone, N, N, 2, 3, 4, 2, 4, 2), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cublasDestroy(gone), CUBLAS_STATUS_NOT_INITIALIZED);
}

// ---------------------------------------------------------------------------------------------
// cuBLASLt, set up as kernels/cuda/nn_linear.cu does: D^T [out, n] = W x^T with W stored as
// [in, out] column-major and transposed, x^T as [in, n].

struct LtCase {
  int64_t n = 7, in = 5, out = 8;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  int64_t aux_ld = 0;  // 0: out
};

class CublasLt : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cublasLtCreate(&lt), CUBLAS_STATUS_SUCCESS); }
  void TearDown() override {
    for (auto* l : {a, b, c, d})
      if (l) {
        EXPECT_EQ(cublasLtMatrixLayoutDestroy(l), CUBLAS_STATUS_SUCCESS);
      }
    if (op) {
      EXPECT_EQ(cublasLtMatmulDescDestroy(op), CUBLAS_STATUS_SUCCESS);
    }
    if (pref) {
      EXPECT_EQ(cublasLtMatmulPreferenceDestroy(pref), CUBLAS_STATUS_SUCCESS);
    }
    EXPECT_EQ(cublasLtDestroy(lt), CUBLAS_STATUS_SUCCESS);
  }

  void describe(const LtCase& k, const void* bias, const void* aux) {
    ASSERT_EQ(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    set(CUBLASLT_MATMUL_DESC_TRANSA, ta);
    set(CUBLASLT_MATMUL_DESC_TRANSB, tb);
    set(CUBLASLT_MATMUL_DESC_EPILOGUE, k.epilogue);
    if (bias) set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
    if (aux) {
      set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux);
      set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, k.aux_ld ? k.aux_ld : k.out);
    }
    ASSERT_EQ(cublasLtMatrixLayoutCreate(&a, CUDA_R_32F, k.in, k.out, k.in), CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(cublasLtMatrixLayoutCreate(&b, CUDA_R_32F, k.in, k.n, k.in), CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(cublasLtMatrixLayoutCreate(&c, CUDA_R_32F, k.out, k.n, k.out), CUBLAS_STATUS_SUCCESS);
  }

  template <class T>
  void set(cublasLtMatmulDescAttributes_t attr, const T& v) {
    ASSERT_EQ(cublasLtMatmulDescSetAttribute(op, attr, &v, sizeof v), CUBLAS_STATUS_SUCCESS);
  }

  cublasStatus_t heuristic(uint64_t max_ws, uint32_t align, cublasLtMatmulHeuristicResult_t* r, int* found) {
    if (!pref) {
      EXPECT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
    }
    EXPECT_EQ(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof max_ws),
        CUBLAS_STATUS_SUCCESS);
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      EXPECT_EQ(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align), CUBLAS_STATUS_SUCCESS);
    return cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, c, c, pref, 1, r, found);
  }

  cublasLtHandle_t lt = nullptr;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
};

double gelu(double v) {
  return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

TEST_F(CublasLt, EveryEpilogueMatchesNaive) {
  const cublasLtEpilogue_t all[] = {CUBLASLT_EPILOGUE_DEFAULT,  CUBLASLT_EPILOGUE_RELU,
                                    CUBLASLT_EPILOGUE_BIAS,     CUBLASLT_EPILOGUE_RELU_BIAS,
                                    CUBLASLT_EPILOGUE_GELU,     CUBLASLT_EPILOGUE_GELU_BIAS,
                                    CUBLASLT_EPILOGUE_GELU_AUX, CUBLASLT_EPILOGUE_GELU_AUX_BIAS};
  for (cublasLtEpilogue_t epi : all) {
    SCOPED_TRACE(static_cast<int>(epi));
    TearDown();
    op = nullptr, a = b = c = d = nullptr, pref = nullptr;
    SetUp();
    LtCase k;
    k.epilogue = epi;
    k.aux_ld = 16;  // padded: rows out..15 of each aux column stay untouched
    const bool has_bias = epi == CUBLASLT_EPILOGUE_BIAS || epi == CUBLASLT_EPILOGUE_RELU_BIAS ||
                          epi == CUBLASLT_EPILOGUE_GELU_BIAS || epi == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    const bool has_aux = epi == CUBLASLT_EPILOGUE_GELU_AUX || epi == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    const bool relu = epi == CUBLASLT_EPILOGUE_RELU || epi == CUBLASLT_EPILOGUE_RELU_BIAS;
    const bool gel = epi == CUBLASLT_EPILOGUE_GELU || epi == CUBLASLT_EPILOGUE_GELU_BIAS || has_aux;
    const auto w = random_floats(k.in * k.out, 11, -2, 2), x = random_floats(k.in * k.n, 12, -2, 2);
    const auto bias = random_floats(k.out, 13);
    Dev<float> dw(w), dx(x), dbias(bias), dy(k.out * k.n, kNaN), daux(k.aux_ld * k.n, -7.0f);
    describe(k, has_bias ? dbias.get() : nullptr, has_aux ? daux.get() : nullptr);
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    ASSERT_EQ(heuristic(1 << 20, 16, &r, &found), CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(found, 1);
    EXPECT_EQ(r.state, CUBLAS_STATUS_SUCCESS);
    Dev<char> ws(1 << 20);
    const float one = 1.0f, zero = 0.0f;
    ASSERT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo, ws.get(),
                             1 << 20, nullptr),
              CUBLAS_STATUS_SUCCESS);
    const auto y = dy.read(), aux = daux.read();
    for (int64_t j = 0; j < k.n; ++j)
      for (int64_t i = 0; i < k.out; ++i) {
        double pre = has_bias ? bias[i] : 0.0;
        for (int64_t l = 0; l < k.in; ++l) pre += double(w[l + i * k.in]) * x[l + j * k.in];
        const double want = relu ? std::max(pre, 0.0) : gel ? gelu(pre) : pre;
        EXPECT_NEAR(y[i + j * k.out], want, 1e-5 * (1 + std::fabs(want)));
        if (has_aux) {
          EXPECT_NEAR(aux[i + j * k.aux_ld], pre, 1e-5 * (1 + std::fabs(pre)));
        }
      }
    for (int64_t j = 0; j < k.n; ++j)
      for (int64_t i = k.out; i < k.aux_ld; ++i) EXPECT_EQ(aux[i + j * k.aux_ld], -7.0f);
  }
}

TEST_F(CublasLt, AlphaBetaOutOfPlaceAndNullAlgo) {
  LtCase k;
  const auto w = random_floats(k.in * k.out, 21), x = random_floats(k.in * k.n, 22);
  const auto cin = random_floats(k.out * k.n, 23);
  Dev<float> dw(w), dx(x), dc(cin), dd(10 * k.n, kNaN);
  describe(k, nullptr, nullptr);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&d, CUDA_R_32F, k.out, k.n, 10), CUBLAS_STATUS_SUCCESS);
  const float alpha = 0.5f, beta = -2.0f;
  ASSERT_EQ(cublasLtMatmul(lt, op, &alpha, dw.get(), a, dx.get(), b, &beta, dc.get(), c, dd.get(), d, nullptr, nullptr,
                           0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  const auto want = naive_gemm(true, false, k.out, k.n, k.in, alpha, w, k.in, x, k.in, beta, cin, k.out);
  const auto got = dd.read();
  for (int64_t j = 0; j < k.n; ++j)
    for (int64_t i = 0; i < k.out; ++i)
      EXPECT_NEAR(got[i + j * 10], want[i + j * k.out], 1e-5 * (1 + std::fabs(want[i + j * k.out])));
  EXPECT_EQ(dc.read(), cin);
}

TEST_F(CublasLt, HeuristicHonoursWorkspaceAndAlignment) {
  LtCase k;
  describe(k, nullptr, nullptr);
  cublasLtMatmulHeuristicResult_t r{};
  int found = 0;
  ASSERT_EQ(heuristic(0, 256, &r, &found), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(found, 1);
  EXPECT_EQ(r.workspaceSize, 0u);
  ASSERT_EQ(heuristic(1 << 20, 256, &r, &found), CUBLAS_STATUS_SUCCESS);
  EXPECT_GT(r.workspaceSize, 0u);
  EXPECT_LE(r.workspaceSize, size_t{1} << 20);
  ASSERT_EQ(heuristic(100, 256, &r, &found), CUBLAS_STATUS_SUCCESS);
  EXPECT_LE(r.workspaceSize, 100u);
  // Below the element size no algorithm exists.
  EXPECT_EQ(heuristic(0, 2, &r, &found), CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(found, 0);

  // An algorithm chosen for 16-byte alignment refuses 4-byte aligned pointers; one chosen for
  // 4 bytes runs on them.
  Dev<float> dw(k.in * k.out + 1), dx(k.in * k.n + 1), dy(k.out * k.n + 1);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(heuristic(0, 16, &r, &found), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get() + 1, a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_NOT_SUPPORTED);
  ASSERT_EQ(heuristic(0, 4, &r, &found), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get() + 1, a, dx.get() + 1, b, &zero, dy.get() + 1, c, dy.get() + 1, c,
                           &r.algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);

  // The workspace given must cover what the algorithm asked for.
  ASSERT_EQ(heuristic(1 << 20, 16, &r, &found), CUBLAS_STATUS_SUCCESS);
  ASSERT_GT(r.workspaceSize, 0u);
  Dev<char> ws(r.workspaceSize);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo, ws.get(),
                           r.workspaceSize - 1, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo, nullptr,
                           r.workspaceSize, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo, ws.get(),
                           r.workspaceSize, nullptr),
            CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulAlgo_t junk{};
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &junk, ws.get(),
                           r.workspaceSize, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, &r.algo, ws.get(),
                           r.workspaceSize, kBadStream),
            CUBLAS_STATUS_EXECUTION_FAILED);
  std::vector<float> host(k.in * k.out);
  EXPECT_EQ(cublasLtMatmul(lt, op, &one, host.data(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, nullptr, nullptr,
                           0, nullptr),
            CUBLAS_STATUS_EXECUTION_FAILED);
}

TEST_F(CublasLt, DescriptorAndShapeErrors) {
  LtCase k;
  Dev<float> dw(k.in * k.out), dx(k.in * k.n), dy(k.out * k.n), aux(16 * k.n), bias(k.out);
  describe(k, nullptr, nullptr);
  const float one = 1.0f, zero = 0.0f;
  auto run = [&](cublasLtMatrixLayout_t la, cublasLtMatrixLayout_t lc, cublasLtMatrixLayout_t ld, const void* cptr) {
    return cublasLtMatmul(lt, op, &one, dw.get(), la, dx.get(), b, &zero, cptr, lc, dy.get(), ld, nullptr, nullptr, 0,
                          nullptr);
  };
  EXPECT_EQ(run(a, c, c, dy.get()), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmul(nullptr, op, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, nullptr,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_EQ(cublasLtMatmul(lt, op, nullptr, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, nullptr, nullptr,
                           0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);

  cublasLtMatrixLayout_t small_ld = nullptr, wrong = nullptr, other_ld = nullptr;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&small_ld, CUDA_R_32F, k.in, k.out, k.in - 1), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&wrong, CUDA_R_32F, k.in + 1, k.out, k.in + 1), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&other_ld, CUDA_R_32F, k.out, k.n, k.out + 1), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(run(small_ld, c, c, dy.get()), CUBLAS_STATUS_INVALID_VALUE);  // ld < rows
  EXPECT_EQ(run(wrong, c, c, dy.get()), CUBLAS_STATUS_INVALID_VALUE);     // k of A != k of B
  EXPECT_EQ(run(a, other_ld, c, dy.get()), CUBLAS_STATUS_INVALID_VALUE);  // C == D, different layouts
  cublasLtMatmulHeuristicResult_t r{};
  int found = 0;
  EXPECT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, op, small_ld, b, c, c, pref, 1, &r, &found),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, c, c, pref, 0, &r, &found), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(nullptr, op, a, b, c, c, pref, 1, &r, &found),
            CUBLAS_STATUS_NOT_INITIALIZED);
  for (auto* l : {small_ld, wrong, other_ld}) EXPECT_EQ(cublasLtMatrixLayoutDestroy(l), CUBLAS_STATUS_SUCCESS);

  // Epilogue configuration.
  auto with_epilogue = [&](cublasLtEpilogue_t e) {
    set(CUBLASLT_MATMUL_DESC_EPILOGUE, e);
    return run(a, c, c, dy.get());
  };
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_BIAS), CUBLAS_STATUS_INVALID_VALUE);  // no bias pointer
  set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<const void*>(bias.get()));
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_BIAS), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_GELU_AUX), CUBLAS_STATUS_INVALID_VALUE);  // no aux pointer
  set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, static_cast<void*>(aux.get()));
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_GELU_AUX), CUBLAS_STATUS_INVALID_VALUE);  // aux ld 0 < rows
  set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t{12});
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_GELU_AUX), CUBLAS_STATUS_NOT_SUPPORTED);  // not a multiple of 8
  set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t{16});
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_GELU_AUX_BIAS), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(with_epilogue(CUBLASLT_EPILOGUE_DRELU), CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(with_epilogue(static_cast<cublasLtEpilogue_t>(3)), CUBLAS_STATUS_INVALID_VALUE);
  set(CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_DEFAULT);

  const cublasOperation_t bad_op = CUBLAS_OP_CONJG;
  set(CUBLASLT_MATMUL_DESC_TRANSA, bad_op);
  EXPECT_EQ(run(a, c, c, dy.get()), CUBLAS_STATUS_INVALID_VALUE);

  cublasLtMatmulDesc_t half = nullptr;
  ASSERT_EQ(cublasLtMatmulDescCreate(&half, CUBLAS_COMPUTE_16F, CUDA_R_16F), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmul(lt, half, &one, dw.get(), a, dx.get(), b, &zero, dy.get(), c, dy.get(), c, nullptr, nullptr,
                           0, nullptr),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cublasLtMatmulDescDestroy(half), CUBLAS_STATUS_SUCCESS);
}

TEST_F(CublasLt, AttributeCalls) {
  LtCase k;
  describe(k, nullptr, nullptr);
  int32_t t = -1;
  size_t written = 0;
  EXPECT_EQ(cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t, &written),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(t, CUBLAS_OP_T);
  EXPECT_EQ(written, sizeof t);
  EXPECT_EQ(cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, nullptr, 0, &written),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(written, sizeof(int64_t));
  EXPECT_EQ(cublasLtMatmulDescGetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, nullptr, 0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  const int64_t wide = 0;
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &wide, sizeof wide),
            CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, nullptr, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(op, static_cast<cublasLtMatmulDescAttributes_t>(999), &t, sizeof t),
            CUBLAS_STATUS_INVALID_VALUE);
  uint64_t rows = 0;
  EXPECT_EQ(cublasLtMatrixLayoutGetAttribute(c, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows, &written),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(rows, uint64_t(k.out));
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  uint32_t align = 0;
  EXPECT_EQ(cublasLtMatmulPreferenceGetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align, sizeof align,
                                                 &written),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(align, 256u);
  EXPECT_STREQ(cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
}

// ---------------------------------------------------------------------------------------------
// cuDNN

struct ConvCase {
  int n = 2, c = 3, h = 7, w = 6, k = 4, r = 3, s = 2;
  int ph = 1, pw = 2, u = 2, v = 1, dh = 2, dw = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  int oh() const { return (h + 2 * ph - ((r - 1) * dh + 1)) / u + 1; }
  int ow() const { return (w + 2 * pw - ((s - 1) * dw + 1)) / v + 1; }
  // Input row of output row p through tap t (may be in the padding).
  int ih(int p, int t) const { return p * u - ph + t * dh; }
  int iw(int q, int t) const { return q * v - pw + t * dw; }
  int tap(int t, int size) const { return mode == CUDNN_CONVOLUTION ? size - 1 - t : t; }
  size_t xi(int in, int ic, int y, int x) const { return ((size_t(in) * c + ic) * h + y) * w + x; }
  size_t yi(int in, int ik, int p, int q) const { return ((size_t(in) * k + ik) * oh() + p) * ow() + q; }
  size_t wi(int ik, int ic, int tr, int ts) const { return ((size_t(ik) * c + ic) * r + tap(tr, r)) * s + tap(ts, s); }
  bool inside(int y, int x) const { return y >= 0 && y < h && x >= 0 && x < w; }
};

class Cudnn : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cudnnCreate(&h), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnCreateTensorDescriptor(&x), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnCreateTensorDescriptor(&y), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnCreateFilterDescriptor(&w), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnCreateConvolutionDescriptor(&conv), CUDNN_STATUS_SUCCESS);
  }
  void TearDown() override {
    EXPECT_EQ(cudnnDestroyConvolutionDescriptor(conv), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnDestroyFilterDescriptor(w), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnDestroyTensorDescriptor(y), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnDestroyTensorDescriptor(x), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnDestroy(h), CUDNN_STATUS_SUCCESS);
  }
  void describe(const ConvCase& k) {
    ASSERT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.c, k.h, k.w),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.k, k.oh(), k.ow()),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k.k, k.c, k.r, k.s),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetConvolution2dDescriptor(conv, k.ph, k.pw, k.u, k.v, k.dh, k.dw, k.mode, CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), CUDNN_STATUS_SUCCESS);
  }
  cudnnHandle_t h = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

TEST_F(Cudnn, ThreePrimitivesMatchNaiveWithPaddingStrideDilationBothModes) {
  for (cudnnConvolutionMode_t mode : {CUDNN_CROSS_CORRELATION, CUDNN_CONVOLUTION}) {
    ConvCase k;
    k.mode = mode;
    describe(k);
    int oh = 0, ow = 0, on = 0, oc = 0;
    ASSERT_EQ(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &oc, &oh, &ow), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(on, k.n);
    EXPECT_EQ(oc, k.k);
    EXPECT_EQ(oh, k.oh());
    EXPECT_EQ(ow, k.ow());
    const size_t nx = size_t(k.n) * k.c * k.h * k.w, ny = size_t(k.n) * k.k * oh * ow,
                 nw = size_t(k.k) * k.c * k.r * k.s;
    const auto hx = random_floats(nx, 31), hw = random_floats(nw, 32), hdy = random_floats(ny, 33);
    const auto old_x = random_floats(nx, 34), old_w = random_floats(nw, 35), old_y = random_floats(ny, 36);
    Dev<float> dx(hx), dwt(hw), ddy(hdy), ws(1 << 16);
    const float alpha = 1.25f;
    for (float beta : {0.0f, 0.75f}) {
      SCOPED_TRACE(beta);
      // Naive sums in double.
      std::vector<double> fy(ny), bx(nx), bw(nw);
      for (int in = 0; in < k.n; ++in)
        for (int ik = 0; ik < k.k; ++ik)
          for (int p = 0; p < oh; ++p)
            for (int q = 0; q < ow; ++q)
              for (int ic = 0; ic < k.c; ++ic)
                for (int tr = 0; tr < k.r; ++tr)
                  for (int ts = 0; ts < k.s; ++ts) {
                    const int iy = k.ih(p, tr), ix = k.iw(q, ts);
                    if (!k.inside(iy, ix)) continue;
                    const size_t xe = k.xi(in, ic, iy, ix), ye = k.yi(in, ik, p, q), we = k.wi(ik, ic, tr, ts);
                    fy[ye] += double(hx[xe]) * hw[we];
                    bx[xe] += double(hdy[ye]) * hw[we];
                    bw[we] += double(hx[xe]) * hdy[ye];
                  }
      auto finish = [&](std::vector<double>& acc, const std::vector<float>& old) {
        for (size_t i = 0; i < acc.size(); ++i) acc[i] = alpha * acc[i] + (beta == 0 ? 0.0 : beta * old[i]);
      };
      finish(fy, old_y), finish(bx, old_x), finish(bw, old_w);
      const float poison = beta == 0 ? kNaN : 0.0f;
      Dev<float> out_y(beta == 0 ? std::vector<float>(ny, poison) : old_y);
      Dev<float> out_x(beta == 0 ? std::vector<float>(nx, poison) : old_x);
      Dev<float> out_w(beta == 0 ? std::vector<float>(nw, poison) : old_w);
      ASSERT_EQ(
          cudnnConvolutionForward(h, &alpha, x, dx.get(), w, dwt.get(), conv, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                  ws.get(), ws.bytes(), &beta, y, out_y.get()),
          CUDNN_STATUS_SUCCESS);
      ASSERT_EQ(
          cudnnConvolutionBackwardData(h, &alpha, w, dwt.get(), y, ddy.get(), conv, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                       ws.get(), ws.bytes(), &beta, x, out_x.get()),
          CUDNN_STATUS_SUCCESS);
      ASSERT_EQ(cudnnConvolutionBackwardFilter(h, &alpha, x, dx.get(), y, ddy.get(), conv,
                                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, ws.get(), ws.bytes(), &beta, w,
                                               out_w.get()),
                CUDNN_STATUS_SUCCESS);
      expect_close(out_y.read(), fy, 1e-5);
      expect_close(out_x.read(), bx, 1e-5);
      expect_close(out_w.read(), bw, 1e-5);
    }
  }
}

TEST_F(Cudnn, NhwcTensorsGiveTheNchwResult) {
  ConvCase k;
  describe(k);
  const size_t nx = size_t(k.n) * k.c * k.h * k.w, ny = size_t(k.n) * k.k * k.oh() * k.ow();
  const size_t nw = size_t(k.k) * k.c * k.r * k.s;
  const auto hx = random_floats(nx, 41), hw = random_floats(nw, 42);
  Dev<float> dx(hx), dwt(hw), ref(ny), ws(1 << 16);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(cudnnConvolutionForward(h, &one, x, dx.get(), w, dwt.get(), conv, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                    nullptr, 0, &zero, y, ref.get()),
            CUDNN_STATUS_SUCCESS);
  std::vector<float> x_nhwc(nx);
  for (int in = 0; in < k.n; ++in)
    for (int ic = 0; ic < k.c; ++ic)
      for (int iy = 0; iy < k.h; ++iy)
        for (int ix = 0; ix < k.w; ++ix)
          x_nhwc[((size_t(in) * k.h + iy) * k.w + ix) * k.c + ic] = hx[k.xi(in, ic, iy, ix)];
  Dev<float> dxn(x_nhwc), out(ny);
  ASSERT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, k.n, k.c, k.h, k.w),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnConvolutionForward(h, &one, x, dxn.get(), w, dwt.get(), conv, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                    nullptr, 0, &zero, y, out.get()),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(out.read(), ref.read());
}

TEST_F(Cudnn, AlgorithmQueriesAsNnConvUsesThem) {
  ConvCase k;
  describe(k);
  int count = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[16];
  ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, 16, &count, fwd), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(count, CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  EXPECT_EQ(fwd[0].status, CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd[0].mathType, CUDNN_FMA_MATH);
  int ok = 0;
  for (int i = 0; i < count; ++i)
    if (fwd[i].status == CUDNN_STATUS_SUCCESS) {
      ++ok;
      EXPECT_EQ(fwd[i].determinism, CUDNN_DETERMINISTIC);
      size_t bytes = 1;
      ASSERT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h, x, w, conv, y, fwd[i].algo, &bytes), CUDNN_STATUS_SUCCESS);
      EXPECT_EQ(bytes, fwd[i].memory);
    }
  EXPECT_GE(ok, 1);
  size_t bytes = 0;
  EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(h, x, w, conv, y, CUDNN_CONVOLUTION_FWD_ALGO_FFT, &bytes),
            CUDNN_STATUS_NOT_SUPPORTED);

  cudnnConvolutionBwdDataAlgoPerf_t bd[16];
  ASSERT_EQ(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, y, conv, x, 2, &count, bd), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(count, 2);                                    // no more than requested
  EXPECT_EQ(bd[0].determinism, CUDNN_NON_DETERMINISTIC);  // ALGO_0 uses atomics on a GPU
  EXPECT_EQ(bd[1].algo, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
  EXPECT_EQ(bd[1].determinism, CUDNN_DETERMINISTIC);
  cudnnConvolutionBwdFilterAlgoPerf_t bf[16];
  ASSERT_EQ(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, y, conv, w, 16, &count, bf), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
  bool deterministic = false;
  for (int i = 0; i < count; ++i)
    if (bf[i].status == CUDNN_STATUS_SUCCESS && bf[i].determinism == CUDNN_DETERMINISTIC) {
      deterministic = true;
      size_t need = 0;
      ASSERT_EQ(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x, y, conv, w, bf[i].algo, &need),
                CUDNN_STATUS_SUCCESS);
      EXPECT_EQ(need, bf[i].memory);
      // One byte short of that workspace is refused.
      if (need > 0) {
        Dev<float> dx(size_t(k.n) * k.c * k.h * k.w), ddy(size_t(k.n) * k.k * k.oh() * k.ow());
        Dev<float> dwt(size_t(k.k) * k.c * k.r * k.s);
        Dev<char> ws(need);
        const float one = 1.0f, zero = 0.0f;
        EXPECT_EQ(cudnnConvolutionBackwardFilter(h, &one, x, dx.get(), y, ddy.get(), conv, bf[i].algo, ws.get(),
                                                 need - 1, &zero, w, dwt.get()),
                  CUDNN_STATUS_BAD_PARAM);
        EXPECT_EQ(cudnnConvolutionBackwardFilter(h, &one, x, dx.get(), y, ddy.get(), conv, bf[i].algo, ws.get(), need,
                                                 &zero, w, dwt.get()),
                  CUDNN_STATUS_SUCCESS);
      }
    }
  EXPECT_TRUE(deterministic);
  EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, 0, &count, fwd), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, 4, nullptr, fwd), CUDNN_STATUS_BAD_PARAM);
}

TEST_F(Cudnn, DescriptorErrors) {
  EXPECT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 0, 3, 4, 4), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 3, -4, 4), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetTensor4dDescriptor(x, static_cast<cudnnTensorFormat_t>(7), CUDNN_DATA_FLOAT, 1, 3, 4, 4),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, static_cast<cudnnDataType_t>(99), 1, 3, 4, 4),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1 << 16, 1 << 8, 1 << 4, 1 << 3),
            CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, 0, 3, 3), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolution2dDescriptor(conv, -1, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolution2dDescriptor(conv, 0, 0, 0, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolution2dDescriptor(conv, 0, 0, 1, 1, 1, 0, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(
      cudnnSetConvolution2dDescriptor(conv, 0, 0, 1, 1, 1, 1, static_cast<cudnnConvolutionMode_t>(2), CUDNN_DATA_FLOAT),
      CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetConvolutionMathType(conv, static_cast<cudnnMathType_t>(4)), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnCreate(nullptr), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnSetStream(nullptr, nullptr), CUDNN_STATUS_BAD_PARAM);
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), "CUDNN_STATUS_BAD_PARAM");
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED), "CUDNN_STATUS_NOT_SUPPORTED");
  // Descriptors never set are refused where they are used.
  int n, c, hh, ww;
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &hh, &ww), CUDNN_STATUS_BAD_PARAM);
}

TEST_F(Cudnn, ConvolutionErrors) {
  ConvCase k;
  describe(k);
  Dev<float> dx(size_t(k.n) * k.c * k.h * k.w), dy(size_t(k.n) * k.k * k.oh() * k.ow() + 64);
  Dev<float> dwt(size_t(k.k) * k.c * k.r * k.s), ws(1 << 16);
  const float one = 1.0f, zero = 0.0f;
  auto fwd = [&](cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, size_t ws_bytes = 1 << 16,
                 const void* alpha = nullptr, const void* xp = nullptr, cudnnHandle_t hh = nullptr) {
    return cudnnConvolutionForward(hh ? hh : h, alpha ? alpha : &one, x, xp ? xp : dx.get(), w, dwt.get(), conv, algo,
                                   ws.get(), ws_bytes, &zero, y, dy.get());
  };
  auto bwd_data = [&] {
    return cudnnConvolutionBackwardData(h, &one, w, dwt.get(), y, dy.get(), conv, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                        ws.get(), ws.bytes(), &zero, x, dx.get());
  };
  ASSERT_EQ(fwd(), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(bwd_data(), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(CUDNN_CONVOLUTION_FWD_ALGO_FFT), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(fwd(static_cast<cudnnConvolutionFwdAlgo_t>(8)), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(fwd(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, 4), CUDNN_STATUS_BAD_PARAM);  // workspace too small
  EXPECT_EQ(fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 1 << 16, nullptr, nullptr, nullptr), CUDNN_STATUS_SUCCESS);
  std::vector<float> host(size_t(k.n) * k.c * k.h * k.w);
  EXPECT_EQ(fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 1 << 16, nullptr, host.data()),
            CUDNN_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(cudnnConvolutionForward(h, nullptr, x, dx.get(), w, dwt.get(), conv,
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, y, dy.get()),
            CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnConvolutionForward(h, &one, x, nullptr, w, dwt.get(), conv, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                    nullptr, 0, &zero, y, dy.get()),
            CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(cudnnSetStream(h, kBadStream), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_EXECUTION_FAILED);
  ASSERT_EQ(cudnnSetStream(h, nullptr), CUDNN_STATUS_SUCCESS);

  // y one row too tall: NOT_SUPPORTED for the forward pass, BAD_PARAM for backward data.
  ASSERT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.k, k.oh() + 1, k.ow()),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(bwd_data(), CUDNN_STATUS_BAD_PARAM);
  int count = 0;
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, 8, &count, perf), CUDNN_STATUS_SUCCESS);
  for (int i = 0; i < count; ++i) EXPECT_NE(perf[i].status, CUDNN_STATUS_SUCCESS);
  // y with the wrong channel count.
  ASSERT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.k + 1, k.oh(), k.ow()),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.k, k.oh(), k.ow()),
            CUDNN_STATUS_SUCCESS);
  // x and the filter disagree on input channels.
  ASSERT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k.k, k.c - 1, k.r, k.s),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_BAD_PARAM);
  EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y, 8, &count, perf), CUDNN_STATUS_BAD_PARAM);
  int n, c, hh, ww;
  EXPECT_EQ(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &hh, &ww), CUDNN_STATUS_BAD_PARAM);
  // A filter larger than the padded input.
  ASSERT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k.k, k.c, 20, k.s),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k.k, k.c, k.r, k.s),
            CUDNN_STATUS_SUCCESS);
  // Data types that disagree, and double data the emulator does not run.
  ASSERT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_DOUBLE, k.n, k.c, k.h, k.w),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_BAD_PARAM);
  ASSERT_EQ(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k.n, k.c, k.h, k.w),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnSetConvolution2dDescriptor(conv, k.ph, k.pw, k.u, k.v, k.dh, k.dw, k.mode, CUDNN_DATA_HALF),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(), CUDNN_STATUS_NOT_SUPPORTED);
  cudnnHandle_t gone;
  ASSERT_EQ(cudnnCreate(&gone), CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnDestroy(gone), CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(fwd(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 1 << 16, nullptr, nullptr, gone), CUDNN_STATUS_BAD_PARAM);
}

// ---------------------------------------------------------------------------------------------
// CUB device algorithms, called as kernels/cuda/vq_grad.cu calls them.

TEST(Cub, ExclusiveAndInclusiveSumWithTheTwoPhaseProtocol) {
  const int n = 5003;  // several scan tiles, odd
  std::vector<int32_t> in(n);
  std::mt19937 rng(5);
  for (auto& v : in) v = static_cast<int32_t>(rng() % 100) - 20;
  size_t bytes = 0;
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<const int32_t*>(nullptr),
                                          static_cast<int32_t*>(nullptr), n),
            cudaSuccess);
  ASSERT_GT(bytes, 0u);
  Dev<int32_t> din(in), dout(n, -1);
  Dev<char> temp(bytes);
  size_t given = bytes - 1;
  EXPECT_EQ(cub::DeviceScan::ExclusiveSum(temp.get(), given, din.get(), dout.get(), n, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(dout.read(), std::vector<int32_t>(n, -1));
  given = bytes;
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(temp.get(), given, din.get(), dout.get(), n, nullptr), cudaSuccess);
  std::vector<int32_t> want(n);
  int32_t acc = 0;
  for (int i = 0; i < n; ++i) want[i] = acc, acc += in[i];
  EXPECT_EQ(dout.read(), want);
  ASSERT_EQ(cub::DeviceScan::InclusiveSum(temp.get(), given, din.get(), dout.get(), n), cudaSuccess);
  for (int i = 0; i < n; ++i) want[i] += in[i];
  EXPECT_EQ(dout.read(), want);
  // In place.
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(temp.get(), given, din.get(), din.get(), n), cudaSuccess);
  for (int i = 0; i < n; ++i) want[i] -= in[i];
  EXPECT_EQ(din.read(), want);
  // Empty input, host memory, a bad stream.
  size_t zero_bytes = 0;
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(nullptr, zero_bytes, din.get(), dout.get(), 0), cudaSuccess);
  EXPECT_EQ(cub::DeviceScan::ExclusiveSum(temp.get(), given, din.get(), dout.get(), 0), cudaSuccess);
  std::vector<int32_t> host(n);
  EXPECT_EQ(cub::DeviceScan::ExclusiveSum(temp.get(), given, host.data(), dout.get(), n),
            cudaErrorInvalidDevicePointer);
  EXPECT_NE(cub::DeviceScan::ExclusiveSum(temp.get(), given, din.get(), dout.get(), n, kBadStream), cudaSuccess);
}

TEST(Cub, SortPairsIsAStableSortOnTheRequestedBits) {
  const int n = 1001, k = 37;
  std::vector<int32_t> keys(n), rows(n);
  std::mt19937 rng(6);
  for (int i = 0; i < n; ++i) keys[i] = static_cast<int32_t>(rng() % k), rows[i] = i;
  int bits = 1;
  while ((1 << bits) < k) ++bits;
  size_t bytes = 0;
  ASSERT_EQ(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int32_t*>(nullptr),
                                            static_cast<int32_t*>(nullptr), static_cast<const int32_t*>(nullptr),
                                            static_cast<int32_t*>(nullptr), n, 0, bits),
            cudaSuccess);
  ASSERT_GT(bytes, 0u);
  Dev<int32_t> dkeys(keys), drows(rows), kout(n), rout(n);
  Dev<char> temp(bytes);
  size_t given = bytes - 1;
  EXPECT_EQ(cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), kout.get(), drows.get(), rout.get(), n, 0,
                                            bits, nullptr),
            cudaErrorInvalidValue);
  given = bytes;
  ASSERT_EQ(cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), kout.get(), drows.get(), rout.get(), n, 0,
                                            bits, nullptr),
            cudaSuccess);
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return keys[a] < keys[b]; });
  const auto ko = kout.read(), ro = rout.read();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(ko[i], keys[order[i]]);
    EXPECT_EQ(ro[i], order[i]);
  }
  EXPECT_EQ(dkeys.read(), keys);  // the input is left alone

  // Only bits [2, 4): keys equal there keep their order.
  size_t sub_bytes = 0;
  ASSERT_EQ(
      cub::DeviceRadixSort::SortPairs(nullptr, sub_bytes, dkeys.get(), kout.get(), drows.get(), rout.get(), n, 2, 4),
      cudaSuccess);
  Dev<char> sub_temp(sub_bytes);
  ASSERT_EQ(cub::DeviceRadixSort::SortPairs(sub_temp.get(), sub_bytes, dkeys.get(), kout.get(), drows.get(), rout.get(),
                                            n, 2, 4),
            cudaSuccess);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return a < b; });
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return ((keys[a] >> 2) & 3) < ((keys[b] >> 2) & 3); });
  EXPECT_EQ(rout.read(), std::vector<int32_t>(order.begin(), order.end()));

  // Default bits sort signed keys in signed order.
  std::vector<int32_t> signed_keys{5, -3, 0, -3, 2147483647, -2147483647 - 1, 7};
  const int m = static_cast<int>(signed_keys.size());
  Dev<int32_t> sk(signed_keys), sv(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}), sko(m), svo(m);
  size_t sbytes = 0;
  ASSERT_EQ(cub::DeviceRadixSort::SortPairs(nullptr, sbytes, sk.get(), sko.get(), sv.get(), svo.get(), m), cudaSuccess);
  Dev<char> stemp(sbytes);
  ASSERT_EQ(cub::DeviceRadixSort::SortPairs(stemp.get(), sbytes, sk.get(), sko.get(), sv.get(), svo.get(), m),
            cudaSuccess);
  EXPECT_EQ(sko.read(), (std::vector<int32_t>{-2147483647 - 1, -3, -3, 0, 5, 7, 2147483647}));
  EXPECT_EQ(svo.read(), (std::vector<int32_t>{5, 1, 3, 2, 0, 6, 4}));

  // Overlapping input and output, bad bit ranges and host memory are refused.
  EXPECT_EQ(cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), dkeys.get(), drows.get(), rout.get(), n),
            cudaErrorInvalidValue);
  EXPECT_EQ(
      cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), kout.get(), drows.get(), rout.get(), n, 4, 2),
      cudaErrorInvalidValue);
  EXPECT_EQ(
      cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), kout.get(), drows.get(), rout.get(), n, 0, 33),
      cudaErrorInvalidValue);
  std::vector<int32_t> host(n);
  EXPECT_EQ(cub::DeviceRadixSort::SortPairs(temp.get(), given, dkeys.get(), kout.get(), host.data(), rout.get(), n),
            cudaErrorInvalidDevicePointer);
}

TEST(Cub, SortKeysOfFloatsAndDescendingPairs) {
  std::vector<float> keys{2.5f, -1.0f, 0.0f, -7.25f, 3.0f, -0.5f};
  const int n = static_cast<int>(keys.size());
  Dev<float> dk(keys), dko(n);
  size_t bytes = 0;
  ASSERT_EQ(cub::DeviceRadixSort::SortKeys(nullptr, bytes, dk.get(), dko.get(), n), cudaSuccess);
  Dev<char> temp(bytes);
  ASSERT_EQ(cub::DeviceRadixSort::SortKeys(temp.get(), bytes, dk.get(), dko.get(), n), cudaSuccess);
  auto sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(dko.read(), sorted);

  std::vector<uint32_t> ukeys{3, 1, 3, 2, 1};
  Dev<uint32_t> uk(ukeys), uko(5);
  Dev<int32_t> v(std::vector<int32_t>{0, 1, 2, 3, 4}), vo(5);
  size_t ubytes = 0;
  ASSERT_EQ(cub::DeviceRadixSort::SortPairsDescending(nullptr, ubytes, uk.get(), uko.get(), v.get(), vo.get(), 5),
            cudaSuccess);
  Dev<char> utemp(ubytes);
  ASSERT_EQ(cub::DeviceRadixSort::SortPairsDescending(utemp.get(), ubytes, uk.get(), uko.get(), v.get(), vo.get(), 5),
            cudaSuccess);
  EXPECT_EQ(uko.read(), (std::vector<uint32_t>{3, 3, 2, 1, 1}));
  EXPECT_EQ(vo.read(), (std::vector<int32_t>{0, 2, 3, 1, 4}));
}

// ---------------------------------------------------------------------------------------------
// NVTX

TEST(Nvtx, CallsAreNoOpsReportingNoTool) {
  EXPECT_EQ(nvtxRangePushA("range"), NVTX_NO_PUSH_POP_TRACKING);
  nvtxMarkA("mark");
  EXPECT_EQ(nvtxRangePop(), NVTX_NO_PUSH_POP_TRACKING);
  nvtxRangeEnd(nvtxRangeStartA("r"));
}

}  // namespace
