#pragma once
// One piece of work captured from lvk's compute stream as a CUDA Graph and replayed: the train
// step, whose launches (a few hundred small kernels) then cost one graph launch. Capture is
// all-or-nothing: anything that cannot be captured (a host synchronisation, an API call that is
// illegal while capturing) makes capture() report why, and the caller runs the work eagerly.
#include <functional>
#include <string>

namespace lvk {

class CapturedWork {
 public:
  CapturedWork() = default;
  ~CapturedWork();
  CapturedWork(const CapturedWork&) = delete;
  CapturedWork& operator=(const CapturedWork&) = delete;

  // Records what `enqueue` launches on cuda::stream() (nothing runs). Returns false and sets `why`
  // when it could not be captured; the stream is then usable again and nothing was enqueued.
  bool capture(const std::function<void()>& enqueue, std::string& why);
  bool ready() const { return exec_ != nullptr; }
  // Enqueues the captured work once on cuda::stream().
  void replay();

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

}  // namespace lvk
