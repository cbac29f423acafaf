#include "racecheck.h"

#include <dlfcn.h>

#include <cstdio>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "lvk_emu/device_api.h"
#include "shared_memory.h"

namespace lvk_emu {

namespace {

constexpr int kMaxWarps = 32;

// What the current barrier interval did to one byte of shared memory.
struct ByteState {
  uint32_t epoch = 0;  // the interval this state belongs to; older states are clean
  int32_t writer = -1, reader = -1;
  bool many_readers = false;
  int32_t readers_warp = -1;  // the one warp every reader so far belongs to, or -1 for several
  uint32_t writer_warp_syncs = 0, reader_warp_syncs = 0;
  const void* writer_pc = nullptr;
  const void* reader_pc = nullptr;
};

std::vector<ByteState> g_shadow;
uint32_t g_epoch = 1;
uint32_t g_warp_syncs[kMaxWarps] = {};
bool g_reported_this_block = false;

// "file:line" of a code address, from addr2line on the binary that holds it.
std::string source_line(const void* pc) {
  Dl_info info{};
  if (!pc || !dladdr(pc, &info) || !info.dli_fname) return "an unknown line";
  const auto offset = reinterpret_cast<uintptr_t>(pc) - 1 - reinterpret_cast<uintptr_t>(info.dli_fbase);
  char command[1024];
  std::snprintf(command, sizeof command, "addr2line -C -e '%s' 0x%zx 2>/dev/null", info.dli_fname,
                static_cast<size_t>(offset));
  std::string line;
  if (FILE* p = popen(command, "r")) {
    char buf[1024];
    if (std::fgets(buf, sizeof buf, p)) line = buf;
    pclose(p);
  }
  if (const auto extra = line.find(" (discriminator"); extra != std::string::npos) line.erase(extra);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line.empty() || line[0] == '?' ? "an unknown line" : line;
}

std::string thread_name(int linear) {
  const uint3 t = racecheck_thread_index(linear);
  return "thread (" + std::to_string(t.x) + "," + std::to_string(t.y) + "," + std::to_string(t.z) + ")";
}

// Two accesses of different threads with no barrier between them; lanes of one warp are ordered
// when a warp collective completed after the earlier access.
bool unordered(int earlier, uint32_t earlier_warp_syncs, int now) {
  if (earlier < 0 || earlier == now) return false;
  const int warp = now / 32;
  return !(earlier / 32 == warp && warp < kMaxWarps && g_warp_syncs[warp] != earlier_warp_syncs);
}

void report(const char* what, int first, const void* first_pc, int second, const void* second_pc, size_t offset) {
  if (g_reported_this_block) return;
  g_reported_this_block = true;
  const uint3 b = g_block_idx;
  report_device_error(cudaErrorLaunchFailure,
                      std::string("kernel ") + racecheck_kernel_name() + ", block (" + std::to_string(b.x) + "," +
                          std::to_string(b.y) + "," + std::to_string(b.z) + "): shared-memory race (" + what +
                          ") on byte " + std::to_string(offset) + " of shared memory: " + thread_name(first) + " at " +
                          source_line(first_pc) + ", then " + thread_name(second) + " at " + source_line(second_pc) +
                          ", with no __syncthreads between them");
}

void access(const void* p, size_t bytes, bool write, const void* pc) {
  const int t = racecheck_current_thread();
  if (t < 0) return;
  const int warp = t / 32 < kMaxWarps ? t / 32 : 0;
  for (size_t k = 0; k < bytes; ++k) {
    const int64_t index = shared_byte_index(static_cast<const char*>(p) + k);
    if (index < 0) continue;
    const size_t i = static_cast<size_t>(index);
    if (g_shadow.size() < shared_bytes_known()) g_shadow.resize(shared_bytes_known());
    ByteState& s = g_shadow[i];
    if (s.epoch != g_epoch) s = ByteState{g_epoch};
    if (write) {
      // Several readers are ordered before this write only when all are lanes of its warp and a warp
      // collective completed after the last of them read.
      const bool readers_unordered = s.many_readers
                                         ? !(s.readers_warp == t / 32 && g_warp_syncs[warp] != s.reader_warp_syncs)
                                         : unordered(s.reader, s.reader_warp_syncs, t);
      if (unordered(s.writer, s.writer_warp_syncs, t))
        report("write after write", s.writer, s.writer_pc, t, pc, i);
      else if (readers_unordered)
        report("write after read", s.reader, s.reader_pc, t, pc, i);
      s.writer = t;
      s.writer_pc = pc;
      s.writer_warp_syncs = g_warp_syncs[warp];
    } else {
      if (unordered(s.writer, s.writer_warp_syncs, t)) report("read after write", s.writer, s.writer_pc, t, pc, i);
      if (s.reader >= 0 && s.reader != t) s.many_readers = true;
      s.readers_warp = s.reader < 0 || s.readers_warp == t / 32 ? t / 32 : -1;
      s.reader = t;
      s.reader_pc = pc;
      s.reader_warp_syncs = g_warp_syncs[warp];
    }
  }
}

}  // namespace

void racecheck_block_start() {
  ++g_epoch;
  for (uint32_t& w : g_warp_syncs) w = 0;
  g_reported_this_block = false;
}

void racecheck_barrier() {
  ++g_epoch;
}

void racecheck_warp_synchronized(int warp) {
  if (warp < kMaxWarps) ++g_warp_syncs[warp];
}

}  // namespace lvk_emu

#if defined(LVK_EMU_RACECHECK)
// The instrumentation's entry points. Only device code is compiled with it (-fsanitize=thread on
// the .cu files, without the thread-sanitizer runtime): these replace that runtime.
#define LVK_EMU_ACCESS_HOOKS(n)                                \
  void __tsan_read##n(void* p) {                               \
    lvk_emu::access(p, n, false, __builtin_return_address(0)); \
  }                                                            \
  void __tsan_write##n(void* p) {                              \
    lvk_emu::access(p, n, true, __builtin_return_address(0));  \
  }                                                            \
  void __tsan_unaligned_read##n(void* p) {                     \
    lvk_emu::access(p, n, false, __builtin_return_address(0)); \
  }                                                            \
  void __tsan_unaligned_write##n(void* p) {                    \
    lvk_emu::access(p, n, true, __builtin_return_address(0));  \
  }
extern "C" {
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_read_range(void* p, unsigned long n) {
  lvk_emu::access(p, n, false, __builtin_return_address(0));
}
void __tsan_write_range(void* p, unsigned long n) {
  lvk_emu::access(p, n, true, __builtin_return_address(0));
}
LVK_EMU_ACCESS_HOOKS(1)
LVK_EMU_ACCESS_HOOKS(2)
LVK_EMU_ACCESS_HOOKS(4)
LVK_EMU_ACCESS_HOOKS(8)
LVK_EMU_ACCESS_HOOKS(16)

// Atomic operations the instrumentation routes here (std::atomic in headers the kernels include):
// performed as sequentially consistent atomics, not checked.
#define LVK_EMU_ATOMIC_HOOKS(bits, T)                                                       \
  T __tsan_atomic##bits##_load(const volatile T* a, int) {                                  \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                            \
  }                                                                                         \
  void __tsan_atomic##bits##_store(volatile T* a, T v, int) {                               \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                               \
  }                                                                                         \
  T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {                               \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                     \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                              \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {                              \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {                              \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {                               \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                       \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {                              \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) {   \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
  }                                                                                         \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {     \
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);  \
  }                                                                                         \
  T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int, int) {         \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);       \
    return c;                                                                               \
  }
LVK_EMU_ATOMIC_HOOKS(8, unsigned char)
LVK_EMU_ATOMIC_HOOKS(16, unsigned short)
LVK_EMU_ATOMIC_HOOKS(32, unsigned int)
LVK_EMU_ATOMIC_HOOKS(64, unsigned long long)
void __tsan_atomic_thread_fence(int) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
void __tsan_atomic_signal_fence(int) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
}
#endif
