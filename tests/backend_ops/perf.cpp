// `lvk_backend_ops perf`: the forward of every row (or one, --op NAME) timed on every usable
// backend (or one, --device), so a profiler session (nsys, ncu -k) can target any op by name: each
// runtime op opens an NVTX range with its name. Wall clock around a synchronised call, median of
// --repeats after one warm-up call. The benchmarks in bench/ are the measured, roofline-annotated
// figures; this mode is the quick per-op view of the whole table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/context.h"
#include "runtime/device.h"
#include "tests/backend_ops/op_table.h"

namespace lvk::backend_ops {

namespace {

struct PerfArgs {
  std::string op;
  std::vector<Device> devices;
  int64_t size = 0;
  int repeats = 20;
};

PerfArgs parse(int argc, char** argv) {
  PerfArgs a;
  for (int i = 0; i < argc; ++i) {
    const std::string flag = argv[i];
    LVK_CHECK(i + 1 < argc, "perf: ", flag, " needs a value");
    const std::string value = argv[++i];
    if (flag == "--op")
      a.op = value;
    else if (flag == "--device")
      a.devices.push_back(parse_device(value));
    else if (flag == "--size")
      a.size = std::stoll(value);
    else if (flag == "--repeats")
      a.repeats = std::max(1, std::stoi(value));
    else
      fail("perf: unknown flag ", flag, " (expected --op, --device, --size, --repeats)");
  }
  if (!a.op.empty() && !find_row(a.op)) fail("perf: no op named '", a.op, "' in the op table");
  if (a.devices.empty()) {
    a.devices.push_back(Device::cpu());
    if (cuda_status().usable) a.devices.push_back(Device::cuda(0));
  }
  return a;
}

double seconds_per_call(const OpRow& row, const Tensors& in, int repeats) {
  row.forward(in);  // warm-up: workspaces, cuBLAS handles, first-touch pages
  synchronize();
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    row.forward(in);
    synchronize();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

int run_perf(int argc, char** argv) {
  try {
    const PerfArgs a = parse(argc, argv);
    std::printf("%-24s %-8s %12s %12s\n", "op", "device", "size", "us/call");
    for (const OpRow& row : op_table()) {
      if (!a.op.empty() && row.name != a.op) continue;
      const int64_t size = a.size > 0 ? a.size : row.perf_size > 0 ? row.perf_size : 64 * row.tile;
      const Tensors host = row.inputs(size);
      for (Device device : a.devices) {
        if (device.is_cuda()) require_cuda(device.index);
        Tensors in;
        for (const Tensor& t : host) in.push_back(t.to(device));
        const double s = seconds_per_call(row, in, a.repeats);
        // The emulated GPU runs kernels on CPU fibers: its times say nothing about a GPU.
        const std::string where = device.str() + (device.is_cuda() && cuda_status().emulated ? " (emulated)" : "");
        std::printf("%-24s %-8s %12lld %12.1f\n", row.name.c_str(), where.c_str(), static_cast<long long>(size),
                    s * 1e6);
      }
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "lvk_backend_ops %s\n", e.what());
    return 2;
  }
}

}  // namespace lvk::backend_ops
