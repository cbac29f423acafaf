#pragma once
// Streams of the emulated device. Work is queued per stream and runs lazily: when the host waits
// for it (a stream, event or device synchronisation, a blocking copy). So a host read that forgot
// to wait sees stale data, as it could on a GPU, instead of results that happen to be ready.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lvk_emu/types.h"

namespace lvk_emu {
struct GraphMemory;
}

struct CUstream_st;

namespace lvk_emu {

// Every runtime call holds this lock: the device executes one piece of work at a time.
std::recursive_mutex& device_mutex();

struct Op {
  uint64_t seq = 0;
  std::string name;
  std::function<void()> run;
  std::vector<std::pair<CUstream_st*, uint64_t>> after;  // work of other streams that must run first
};

struct Capture;

}  // namespace lvk_emu

struct CUgraph_st {
  std::vector<lvk_emu::Op> nodes;
  std::shared_ptr<lvk_emu::GraphMemory> memory;
};

namespace lvk_emu {

struct Capture {
  CUgraph_st* graph = nullptr;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id owner;
  cudaError_t invalidated_by = cudaSuccess;
  std::string why;
};

}  // namespace lvk_emu

struct CUstream_st {
  std::deque<lvk_emu::Op> queue;
  uint64_t last_enqueued = 0;
  bool blocking = true;  // synchronises with the legacy default stream
  std::unique_ptr<lvk_emu::Capture> capture;
};

struct CUevent_st {
  unsigned flags = 0;
  CUstream_st* stream = nullptr;  // where it was last recorded
  uint64_t seq = 0;               // the work it marks
  bool recorded = false;
  bool done = false;
  bool captured = false;  // recorded during a capture: the host may not wait on it
  double time_ms = 0;
};

namespace lvk_emu {

// nullptr when `handle` is not a live stream; 0 and the legacy/per-thread handles are the legacy
// default stream.
CUstream_st* stream_of(cudaStream_t handle);
bool is_live_event(cudaEvent_t event);
void register_stream(CUstream_st* s);
void unregister_stream(CUstream_st* s);
void register_event(CUevent_st* e);
void unregister_event(CUevent_st* e);

// Queues work on `s` (or records it into the graph being captured there).
void enqueue_op(CUstream_st* s, std::string name, std::function<void()> run);

// Runs the work of `s` up to sequence number `upto` (everything queued so far by default).
void flush(CUstream_st* s, uint64_t upto = UINT64_MAX);
void flush_all();

// True (and the capture invalidated, the error recorded) when an active capture forbids the
// calling thread to make the synchronous call `call`. `stream` is the stream the call concerns.
bool capture_forbids(const char* call, CUstream_st* stream = nullptr);
bool any_capture_active();

double now_ms();

}  // namespace lvk_emu
