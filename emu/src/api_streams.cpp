// Streams, events, stream capture and graphs of the emulated device.
#include <memory>

#include "diagnostics.h"
#include "lvk_emu/runtime_api.h"
#include "memory.h"
#include "streams.h"

using namespace lvk_emu;

namespace {
using Lock = std::lock_guard<std::recursive_mutex>;
}  // namespace

struct CUgraphExec_st {
  std::vector<Op> nodes;
  std::shared_ptr<GraphMemory> memory;
  bool auto_free = false;
  bool launched = false;
};

// ---- streams ---------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  Lock lock(device_mutex());
  if (!stream || (flags & ~1u)) return api_error(cudaErrorInvalidValue);
  auto* s = new CUstream_st;
  s->blocking = (flags & cudaStreamNonBlocking) == 0;
  register_stream(s);
  *stream = s;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s || stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread)
    return api_error(cudaErrorInvalidResourceHandle);
  flush(s);  // queued work still completes
  unregister_stream(s);
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (capture_forbids("cudaStreamSynchronize", s)) return cudaErrorStreamCaptureUnsupported;
  flush(s);
  return sticky_error();
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (s->capture && capture_forbids("cudaStreamQuery", s)) return cudaErrorStreamCaptureUnsupported;
  flush(s);  // the emulated device finishes work when asked, so a polling loop ends
  return sticky_error();
}

cudaError_t cudaDeviceSynchronize() {
  Lock lock(device_mutex());
  if (capture_forbids("cudaDeviceSynchronize")) return cudaErrorStreamCaptureUnsupported;
  flush_all();
  return sticky_error();
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s || !is_live_event(event)) return api_error(cudaErrorInvalidResourceHandle);
  if (flags != 0) return api_error(cudaErrorInvalidValue);
  if (sticky_error()) return sticky_error();
  if (!event->recorded || event->stream == s) return cudaSuccess;
  if (event->captured || s->capture) {
    // Joining another stream into a capture (fork/join) is not emulated; say so plainly.
    if (s->capture) {
      s->capture->invalidated_by = cudaErrorNotSupported;
      s->capture->why = "the emulator captures one stream at a time (cudaStreamWaitEvent across streams)";
    }
    return api_error(cudaErrorNotSupported);
  }
  CUstream_st* other = event->stream;
  const uint64_t seq = event->seq;
  enqueue_op(s, "cudaStreamWaitEvent", [] {});
  s->queue.back().after.emplace_back(other, seq);
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* user_data) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (!fn) return api_error(cudaErrorInvalidValue);
  enqueue_op(s, "host function", [fn, user_data] { fn(user_data); });
  return cudaSuccess;
}

// ---- events ----------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  Lock lock(device_mutex());
  if (!event || (flags & ~7u)) return api_error(cudaErrorInvalidValue);
  auto* e = new CUevent_st;
  e->flags = flags;
  register_event(e);
  *event = e;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  Lock lock(device_mutex());
  if (!is_live_event(event)) return api_error(cudaErrorInvalidResourceHandle);
  unregister_event(event);
  // A record still queued refers to the event; keep the memory until the device is idle.
  if (event->recorded && !event->done && !event->captured) flush(event->stream, event->seq);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s || !is_live_event(event)) return api_error(cudaErrorInvalidResourceHandle);
  if (sticky_error()) return sticky_error();
  event->recorded = true;
  event->done = false;
  event->stream = s;
  event->captured = s->capture != nullptr;
  if (event->captured) return cudaSuccess;  // marks a point of the capture, not of the device
  enqueue_op(s, "cudaEventRecord", [event] {
    event->done = true;
    event->time_ms = now_ms();
  });
  event->seq = s->last_enqueued;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  Lock lock(device_mutex());
  if (!is_live_event(event)) return api_error(cudaErrorInvalidResourceHandle);
  if (event->captured) return api_error(cudaErrorCapturedEvent);
  if (capture_forbids("cudaEventSynchronize")) return cudaErrorStreamCaptureUnsupported;
  if (event->recorded && !event->done) flush(event->stream, event->seq);
  return sticky_error();
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  Lock lock(device_mutex());
  if (!is_live_event(event)) return api_error(cudaErrorInvalidResourceHandle);
  if (event->captured) return api_error(cudaErrorCapturedEvent);
  if (event->recorded && !event->done) flush(event->stream, event->seq);
  return sticky_error();
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  Lock lock(device_mutex());
  if (!ms) return api_error(cudaErrorInvalidValue);
  if (!is_live_event(start) || !is_live_event(end)) return api_error(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming) return api_error(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return api_error(cudaErrorInvalidResourceHandle);
  if (!start->done || !end->done) return api_error(cudaErrorNotReady);
  *ms = static_cast<float>(end->time_ms - start->time_ms);
  return cudaSuccess;
}

// ---- capture and graphs ----------------------------------------------------------------------------

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread)
    return api_error(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot be captured
  if (s->capture) return api_error(cudaErrorIllegalState);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed)
    return api_error(cudaErrorInvalidValue);
  if (sticky_error()) return sticky_error();
  // Work queued before the capture is not part of it; it still runs in order before the replays.
  s->capture = std::make_unique<Capture>();
  s->capture->graph = new CUgraph_st;
  s->capture->graph->memory = std::make_shared<GraphMemory>();
  s->capture->mode = mode;
  s->capture->owner = std::this_thread::get_id();
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (!graph) return api_error(cudaErrorInvalidValue);
  if (!s->capture) return api_error(cudaErrorIllegalState);
  if (s->capture->mode != cudaStreamCaptureModeRelaxed && s->capture->owner != std::this_thread::get_id())
    return api_error(cudaErrorStreamCaptureWrongThread);
  std::unique_ptr<Capture> c = std::move(s->capture);
  if (c->invalidated_by != cudaSuccess) {
    delete c->graph;
    *graph = nullptr;
    return api_error(cudaErrorStreamCaptureInvalidated);
  }
  *graph = c->graph;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (!status) return api_error(cudaErrorInvalidValue);
  if (!s->capture)
    *status = cudaStreamCaptureStatusNone;
  else
    *status =
        s->capture->invalidated_by != cudaSuccess ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  return mode ? cudaSuccess : api_error(cudaErrorInvalidValue);
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags) {
  Lock lock(device_mutex());
  if (!exec || !graph) return api_error(cudaErrorInvalidValue);
  if (flags &
      ~static_cast<unsigned long long>(cudaGraphInstantiateFlagAutoFreeOnLaunch | cudaGraphInstantiateFlagUpload |
                                       cudaGraphInstantiateFlagUseNodePriority))
    return api_error(cudaErrorInvalidValue);
  auto* e = new CUgraphExec_st;
  e->nodes = graph->nodes;
  e->memory = graph->memory;
  e->auto_free = (flags & cudaGraphInstantiateFlagAutoFreeOnLaunch) != 0;
  *exec = e;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags) {
  return cudaGraphInstantiateWithFlags(exec, graph, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  Lock lock(device_mutex());
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  if (!exec) return api_error(cudaErrorInvalidValue);
  if (sticky_error()) return sticky_error();
  if (s->capture) {  // a graph launched into a capture becomes part of it
    for (const Op& node : exec->nodes) enqueue_op(s, node.name, node.run);
    return cudaSuccess;
  }
  if (exec->auto_free && exec->launched) {
    // Allocations the previous launch left alive are freed before this one.
    std::shared_ptr<GraphMemory> memory = exec->memory;
    enqueue_op(s, "graph auto-free", [memory] {
      for (void* p : memory->blocks) set_graph_block_live(p, false);
    });
  }
  for (const Op& node : exec->nodes) enqueue_op(s, node.name, node.run);
  exec->launched = true;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  Lock lock(device_mutex());
  if (!graph) return api_error(cudaErrorInvalidValue);
  flush_all();  // queued replays may still use its memory
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  Lock lock(device_mutex());
  if (!exec) return api_error(cudaErrorInvalidValue);
  flush_all();
  delete exec;
  return cudaSuccess;
}
