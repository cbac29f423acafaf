#pragma once
// Helpers shared by the emulated vendor libraries (cuBLAS, cuBLASLt, cuDNN, CUB): operand checks
// against the runtime's device allocations, diagnostics, and TF32 rounding.
#include <cstddef>
#include <cstdint>

namespace lvk_emu {

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld (0 when empty).
size_t matrix_span_bytes(int64_t rows, int64_t cols, int64_t ld, size_t elem_bytes);

// True when [p, p + bytes) is device memory (or bytes == 0). Otherwise prints which operand of
// which call is not, since on a GPU the kernel would fault there.
bool device_operand(const void* p, size_t bytes, const char* api, const char* operand);

// Prints why a call was rejected when LVK_EMU_LIB_LOG is set (the real libraries log likewise
// only when asked: CUBLASLT_LOG_LEVEL, CUDNN_LOGERR_DBG).
void lib_log(const char* api, const char* reason);

// False when NVIDIA_TF32_OVERRIDE=0 forbids TF32 everywhere, as on a real device.
bool tf32_allowed();

// x rounded to TF32 (10 explicit mantissa bits, round to nearest even), as tensor cores read
// FP32 operands when TF32 math is enabled.
float round_tf32(float x);

}  // namespace lvk_emu
