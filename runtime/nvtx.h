#pragma once
// NVTX ranges named after each op, so Nsight Systems timelines read like the model. On by default
// (a range costs nanoseconds when no profiler is attached); LVK_NVTX=0 turns them off.
namespace lvk {

bool nvtx_enabled();

class NvtxRange {
 public:
  explicit NvtxRange(const char* name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;

 private:
  bool active_;
};

}  // namespace lvk
