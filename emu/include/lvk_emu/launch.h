#pragma once
// Kernel launch: the configuration is checked as CUDA checks it, the arguments are copied as CUDA
// copies them (by value, at the launch), and the grid is queued on the stream.
#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "lvk_emu/types.h"

namespace lvk_emu {

struct LaunchConfig {
  dim3 grid;
  dim3 block;
  size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
  const char* kernel_name = "";
  const void* kernel = nullptr;  // identifies the kernel (attributes, shared-memory use)
};

// Validates the configuration, then queues `thread_body` to run once per thread of every block.
// A configuration error is returned (and becomes the last error) without queueing anything.
cudaError_t launch_kernel(const LaunchConfig& config, std::function<void()> thread_body);

// "ns::kernel<3>" from the compiler's name of this template instance.
std::string kernel_name_from_signature(const char* pretty_function);

template <auto Kernel>
const char* kernel_name() {
  static const std::string name = kernel_name_from_signature(__PRETTY_FUNCTION__);
  return name.c_str();
}

template <class F>
struct KernelParams;
template <class... P>
struct KernelParams<void (*)(P...)> {
  using type = std::tuple<std::decay_t<P>...>;
};

template <auto Kernel, class... Args>
void launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  using Params = typename KernelParams<decltype(Kernel)>::type;
  static_assert(std::tuple_size<Params>::value == sizeof...(Args),
                "kernel launched with the wrong number of arguments");
  LaunchConfig config{grid, block, shared_bytes, stream, kernel_name<Kernel>(), reinterpret_cast<const void*>(Kernel)};
  launch_kernel(config, [params = Params(std::forward<Args>(args)...)]() { std::apply(Kernel, params); });
}

}  // namespace lvk_emu
