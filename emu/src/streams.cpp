#include "streams.h"

#include <chrono>
#include <set>

#include "diagnostics.h"
#include "lvk_emu/enqueue.h"

namespace lvk_emu {

namespace {
// Never destroyed: streams and events a program still holds at exit are not leaks (the driver
// frees them with the context), and work may be flushed from static destructors.
CUstream_st& g_legacy = *new CUstream_st;
std::set<CUstream_st*>& g_streams = *new std::set<CUstream_st*>;
std::set<CUevent_st*>& g_events = *new std::set<CUevent_st*>;
uint64_t g_seq = 0;

bool capture_applies(const Capture& c) {
  if (c.invalidated_by != cudaSuccess) return false;
  switch (c.mode) {
    case cudaStreamCaptureModeGlobal:
      return true;
    case cudaStreamCaptureModeThreadLocal:
      return c.owner == std::this_thread::get_id();
    case cudaStreamCaptureModeRelaxed:
      return false;
  }
  return false;
}
}  // namespace

std::recursive_mutex& device_mutex() {
  static std::recursive_mutex m;
  return m;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

CUstream_st* stream_of(cudaStream_t handle) {
  if (handle == nullptr || handle == cudaStreamLegacy || handle == cudaStreamPerThread) return &g_legacy;
  return g_streams.count(handle) ? handle : nullptr;
}

bool is_live_event(cudaEvent_t event) {
  return event && g_events.count(event);
}
void register_stream(CUstream_st* s) {
  g_streams.insert(s);
}
void unregister_stream(CUstream_st* s) {
  g_streams.erase(s);
}
void register_event(CUevent_st* e) {
  g_events.insert(e);
}
void unregister_event(CUevent_st* e) {
  g_events.erase(e);
}

void enqueue_op(CUstream_st* s, std::string name, std::function<void()> run) {
  Op op;
  op.seq = ++g_seq;
  op.name = std::move(name);
  op.run = std::move(run);
  if (s->capture) {
    s->capture->graph->nodes.push_back(std::move(op));
    return;
  }
  // The legacy default stream waits for every blocking stream and they wait for it.
  if (s == &g_legacy) {
    for (CUstream_st* other : g_streams)
      if (other->blocking && !other->queue.empty()) op.after.emplace_back(other, other->last_enqueued);
  } else if (s->blocking && !g_legacy.queue.empty()) {
    op.after.emplace_back(&g_legacy, g_legacy.last_enqueued);
  }
  s->last_enqueued = op.seq;
  s->queue.push_back(std::move(op));
}

void flush(CUstream_st* s, uint64_t upto) {
  while (!s->queue.empty() && s->queue.front().seq <= upto) {
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    if (sticky_error() != cudaSuccess) continue;  // a failed kernel leaves the device unusable
    for (auto& [other, seq] : op.after) flush(other, seq);
    op.run();
  }
}

void flush_all() {
  flush(&g_legacy);
  // Flushing one stream may run others' work; iterate over a copy.
  const std::set<CUstream_st*> streams = g_streams;
  for (CUstream_st* s : streams)
    if (g_streams.count(s)) flush(s);
}

bool any_capture_active() {
  for (CUstream_st* s : g_streams)
    if (s->capture) return true;
  return false;
}

bool capture_forbids(const char* call, CUstream_st* stream) {
  bool forbidden = false;
  for (CUstream_st* s : g_streams) {
    if (!s->capture) continue;
    const bool own_stream = s == stream;
    if (!own_stream && !capture_applies(*s->capture)) continue;
    if (s->capture->invalidated_by == cudaSuccess) {
      s->capture->invalidated_by = cudaErrorStreamCaptureUnsupported;
      s->capture->why = std::string(call) + " is not permitted while a stream is being captured";
    }
    forbidden = true;
  }
  if (forbidden) api_error(cudaErrorStreamCaptureUnsupported);
  return forbidden;
}

cudaError_t enqueue(cudaStream_t stream, const char* name, std::function<void()> work) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  if (sticky_error() != cudaSuccess) return sticky_error();
  CUstream_st* s = stream_of(stream);
  if (!s) return api_error(cudaErrorInvalidResourceHandle);
  enqueue_op(s, name, std::move(work));
  return cudaSuccess;
}

bool is_valid_stream(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  return stream_of(stream) != nullptr;
}

}  // namespace lvk_emu
