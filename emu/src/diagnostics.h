#pragma once
// Errors of the emulated device: the per-thread last error of the runtime API, and the sticky
// error a failed kernel leaves (as on a GPU, every later call returns it), with the message that
// names the kernel, block, thread and source line.
#include <string>

#include "lvk_emu/types.h"

namespace lvk_emu {

// Records `code` as the calling thread's last error and returns it (the API's return value).
cudaError_t api_error(cudaError_t code);
cudaError_t take_last_error();
cudaError_t peek_last_error();

// A device-side failure: printed to stderr once and kept as the sticky error.
void report_device_error(cudaError_t code, const std::string& message);
cudaError_t sticky_error();
const std::string& sticky_message();
void clear_sticky_error();  // cudaDeviceReset

}  // namespace lvk_emu
