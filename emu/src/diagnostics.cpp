#include "diagnostics.h"

#include <cstdio>

namespace lvk_emu {

namespace {
thread_local cudaError_t t_last_error = cudaSuccess;
cudaError_t g_sticky = cudaSuccess;
std::string g_sticky_message;
}  // namespace

cudaError_t api_error(cudaError_t code) {
  if (code != cudaSuccess) t_last_error = code;
  return code;
}

cudaError_t take_last_error() {
  const cudaError_t e = g_sticky != cudaSuccess ? g_sticky : t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t peek_last_error() {
  return g_sticky != cudaSuccess ? g_sticky : t_last_error;
}

void report_device_error(cudaError_t code, const std::string& message) {
  if (g_sticky != cudaSuccess) return;  // the first failure is the one to read
  g_sticky = code;
  g_sticky_message = message;
  std::fprintf(stderr, "lvk-emu: %s\n", message.c_str());
  std::fflush(stderr);
}

cudaError_t sticky_error() {
  return g_sticky;
}
const std::string& sticky_message() {
  return g_sticky_message;
}

void clear_sticky_error() {
  g_sticky = cudaSuccess;
  g_sticky_message.clear();
  t_last_error = cudaSuccess;
}

}  // namespace lvk_emu
