#include "scheduler.h"

#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "fiber.h"
#include "lvk_emu/device_api.h"
#include "lvk_emu/mma.h"
#include "racecheck.h"
#include "schedule_order.h"
#include "shared_memory.h"

namespace lvk_emu {

uint3 g_thread_idx_of_current{0, 0, 0};
uint3 g_block_idx{0, 0, 0};
dim3 g_block_dim;
dim3 g_grid_dim;

namespace {

enum class Wait { none, barrier, warp, done };
enum class Collective { shuffle, ballot, syncwarp, mma };

const char* collective_name(Collective c, ShuffleKind s) {
  switch (c) {
    case Collective::ballot:
      return "__ballot_sync/__any_sync/__all_sync";
    case Collective::syncwarp:
      return "__syncwarp";
    case Collective::mma:
      return "mma.sync.m16n8k16";
    case Collective::shuffle:
      switch (s) {
        case ShuffleKind::index:
          return "__shfl_sync";
        case ShuffleKind::up:
          return "__shfl_up_sync";
        case ShuffleKind::down:
          return "__shfl_down_sync";
        case ShuffleKind::bfly:
          return "__shfl_xor_sync";
      }
  }
  return "?";
}

struct Thread {
  Fiber fiber;
  uint3 idx{0, 0, 0};
  int linear = 0;
  Wait wait = Wait::none;
  const char* file = "";
  int line = 0;
  // What the thread brought to the collective it waits at, and what it gets back.
  Collective kind = Collective::shuffle;
  ShuffleKind shuffle_kind = ShuffleKind::index;
  unsigned mask = 0;
  int arg = 0, width = 32;
  uint64_t value = 0, result = 0;
  int predicate = 0;
  uint32_t a[4] = {}, b[2] = {};
  float acc[4] = {};
};

struct Grid {
  const LaunchConfig* config = nullptr;
  const std::function<void()>* body = nullptr;
  int threads_per_block = 0;
  std::vector<std::unique_ptr<Thread>> threads;
  Thread* current = nullptr;
  bool failed = false;
  int live = 0, at_barrier = 0;
};

Grid g_grid;
constexpr size_t kStaticSharedLimit = 48 << 10;

std::string where(const Thread& t) {
  std::ostringstream os;
  os << "kernel " << g_grid.config->kernel_name << ", block (" << g_block_idx.x << "," << g_block_idx.y << ","
     << g_block_idx.z << "), thread (" << t.idx.x << "," << t.idx.y << "," << t.idx.z << ")";
  return os.str();
}

std::string at(const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line);
}

std::string state_of(const Thread& t) {
  switch (t.wait) {
    case Wait::done:
      return "has exited";
    case Wait::barrier:
      return "waits at __syncthreads at " + at(t.file, t.line);
    case Wait::warp:
      return "waits at " + std::string(collective_name(t.kind, t.shuffle_kind)) + " at " + at(t.file, t.line);
    case Wait::none:
      return "is running";
  }
  return "";
}

struct ThreadAbort {};

// Fails the grid from inside the running thread and leaves the block for good; `about` is the
// thread the message names (the running one unless given).
[[noreturn]] void fail_from_thread(cudaError_t code, const std::string& what, const Thread* about = nullptr) {
  report_device_error(code, where(about ? *about : *g_grid.current) + ": " + what);
  g_grid.failed = true;
  throw ThreadAbort{};  // unwinds the thread's own stack (its temporaries die), then it ends
}

void fail_from_scheduler(const std::string& what) {
  report_device_error(cudaErrorLaunchFailure, what);
  g_grid.failed = true;
}

void thread_entry(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  try {
    (*g_grid.body)();
  } catch (const ThreadAbort&) {
    // The grid has failed; the scheduler abandons the block.
  }
  t->wait = Wait::done;
  --g_grid.live;
}

int lane_of(const Thread& t) {
  return t.linear % 32;
}
int warp_base(const Thread& t) {
  return t.linear - t.linear % 32;
}

// Checks the mask rules every warp collective shares; `self` must be named in its own mask and
// every named lane must exist.
void check_mask(const Thread& self, unsigned mask, const char* name, const char* file, int line) {
  const int lane = lane_of(self);
  if (!(mask & (1u << lane)))
    fail_from_thread(
        cudaErrorIllegalInstruction, std::string(name) + " at " + at(file, line) + " with mask 0x" +
                                         [&] {
                                           std::ostringstream o;
                                           o << std::hex << mask;
                                           return o.str();
                                         }() +
                                         ", which does not name the calling lane " + std::to_string(lane));
  const int base = warp_base(self);
  for (int l = 0; l < 32; ++l)
    if ((mask & (1u << l)) && base + l >= g_grid.threads_per_block)
      fail_from_thread(cudaErrorIllegalInstruction, std::string(name) + " at " + at(file, line) + " names lane " +
                                                        std::to_string(l) + ", which does not exist (the block has " +
                                                        std::to_string(g_grid.threads_per_block) + " threads)");
}

Thread& lane_thread(const Thread& self, int lane) {
  return *g_grid.threads[static_cast<size_t>(warp_base(self) + lane)];
}

void complete_shuffle(Thread& self) {
  const unsigned mask = self.mask;
  for (int l = 0; l < 32; ++l) {
    if (!(mask & (1u << l))) continue;
    Thread& t = lane_thread(self, l);
    const int w = t.width, lane = l, base = lane & ~(w - 1);
    int src = lane;
    switch (t.shuffle_kind) {
      case ShuffleKind::index:
        src = base + (t.arg & (w - 1));
        break;
      case ShuffleKind::up:
        src = (lane - base) - t.arg >= 0 ? lane - t.arg : lane;
        break;
      case ShuffleKind::down:
        src = (lane - base) + t.arg < w ? lane + t.arg : lane;
        break;
      case ShuffleKind::bfly: {
        const int x = lane ^ t.arg;
        src = x >= base + w ? lane : x;  // later groups read their own value; earlier ones are visible
        break;
      }
    }
    if (src < 0 || src > 31 || !(mask & (1u << src)))
      fail_from_thread(cudaErrorIllegalInstruction,
                       std::string(collective_name(t.kind, t.shuffle_kind)) + " at " + at(t.file, t.line) +
                           " reads lane " + std::to_string(src) + ", which is not in the mask (undefined on the GPU)",
                       &t);
    t.result = lane_thread(self, src).value;
  }
}

uint16_t bf16_of(uint32_t reg, int half) {
  return static_cast<uint16_t>(half ? reg >> 16 : reg & 0xffffu);
}
float bf16_value(uint16_t bits) {
  const uint32_t w = uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

// D = A B + C for m16n8k16 with the PTX ISA's fragment layouts: lane = 4 * group + tig.
// A (16x16, row): a_i holds row group (+8 for registers 1 and 3), columns 2 tig + {0,1} (+8 for
// registers 2 and 3). B (16x8, col): b_i holds rows 2 tig + {0,1} (+8 for register 1), column
// group. C/D (16x8): c0,c1 at row group, c2,c3 at row group + 8, columns 2 tig + {0,1}.
void complete_mma(Thread& self) {
  float a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const Thread& t = lane_thread(self, lane);
    const int group = lane / 4, tig = lane % 4;
    for (int r = 0; r < 4; ++r)
      for (int h = 0; h < 2; ++h) {
        const int row = group + ((r & 1) ? 8 : 0), col = 2 * tig + h + ((r & 2) ? 8 : 0);
        a[row][col] = bf16_value(bf16_of(t.a[r], h));
      }
    for (int r = 0; r < 2; ++r)
      for (int h = 0; h < 2; ++h) b[2 * tig + h + 8 * r][group] = bf16_value(bf16_of(t.b[r], h));
    for (int i = 0; i < 4; ++i) c[group + (i >= 2 ? 8 : 0)][2 * tig + (i & 1)] = t.acc[i];
  }
  for (int lane = 0; lane < 32; ++lane) {
    Thread& t = lane_thread(self, lane);
    const int group = lane / 4, tig = lane % 4;
    for (int i = 0; i < 4; ++i) {
      const int row = group + (i >= 2 ? 8 : 0), col = 2 * tig + (i & 1);
      // bf16 x bf16 products are exact in fp32; the sum is accumulated in fp32.
      float sum = c[row][col];
      for (int k = 0; k < 16; ++k) sum += a[row][k] * b[k][col];
      t.acc[i] = sum;
    }
  }
}

// Arrives at a warp collective. Returns once every lane named in the mask has arrived (the last
// one to arrive computes everyone's result).
void arrive_warp(Thread& self) {
  self.wait = Wait::warp;
  for (;;) {
    bool all = true;
    for (int l = 0; l < 32 && all; ++l) {
      if (!(self.mask & (1u << l))) continue;
      const Thread& t = lane_thread(self, l);
      if (t.wait == Wait::done)
        fail_from_thread(cudaErrorIllegalInstruction, std::string(collective_name(self.kind, self.shuffle_kind)) +
                                                          " at " + at(self.file, self.line) + " names lane " +
                                                          std::to_string(l) + " in its mask, but that lane has exited" +
                                                          " (on the GPU: a hang or undefined behaviour)");
      if (t.wait != Wait::warp || t.kind != self.kind || t.mask != self.mask || t.shuffle_kind != self.shuffle_kind)
        all = false;
    }
    if (all) break;
    if (self.wait == Wait::none) return;  // a later lane completed the collective for us
    self.fiber.yield();
    if (self.wait == Wait::none) return;
  }
  switch (self.kind) {
    case Collective::shuffle:
      complete_shuffle(self);
      break;
    case Collective::mma:
      complete_mma(self);
      break;
    case Collective::ballot: {
      unsigned votes = 0;
      for (int l = 0; l < 32; ++l)
        if ((self.mask & (1u << l)) && lane_thread(self, l).predicate) votes |= 1u << l;
      for (int l = 0; l < 32; ++l)
        if (self.mask & (1u << l)) lane_thread(self, l).result = votes;
      break;
    }
    case Collective::syncwarp:
      break;
  }
  for (int l = 0; l < 32; ++l)
    if (self.mask & (1u << l)) lane_thread(self, l).wait = Wait::none;
  racecheck_warp_synchronized(self.linear / 32);
}

Thread& current_thread(const char* what) {
  if (!g_grid.current) {
    std::fprintf(stderr, "lvk-emu: %s called outside a kernel\n", what);
    std::abort();
  }
  return *g_grid.current;
}

// After a pass in which no thread could run: release a barrier every live thread reached, or
// report why the block cannot go on.
void resolve_stall() {
  const auto& threads = g_grid.threads;
  const int n = g_grid.threads_per_block;
  const Thread* waiting = nullptr;
  for (int i = 0; i < n; ++i)
    if (threads[static_cast<size_t>(i)]->wait == Wait::barrier) {
      waiting = threads[static_cast<size_t>(i)].get();
      break;
    }
  if (waiting && g_grid.at_barrier == n) {
    for (int i = 0; i < n; ++i) {
      const Thread& t = *threads[static_cast<size_t>(i)];
      if (t.line != waiting->line || std::strcmp(t.file, waiting->file) != 0) {
        fail_from_scheduler(where(t) + ": waits at __syncthreads at " + at(t.file, t.line) + " while thread (" +
                            std::to_string(waiting->idx.x) + "," + std::to_string(waiting->idx.y) + "," +
                            std::to_string(waiting->idx.z) + ") waits at the one at " +
                            at(waiting->file, waiting->line) + " (divergent barriers: undefined on the GPU)");
        return;
      }
    }
    int count = 0;
    for (int i = 0; i < n; ++i) count += threads[static_cast<size_t>(i)]->predicate != 0;
    for (int i = 0; i < n; ++i) {
      Thread& t = *threads[static_cast<size_t>(i)];
      t.wait = Wait::none;
      t.result = static_cast<uint64_t>(count);
    }
    g_grid.at_barrier = 0;
    racecheck_barrier();
    return;
  }
  // Stuck: name the first waiting thread and what keeps it waiting.
  for (int i = 0; i < n; ++i) {
    const Thread& t = *threads[static_cast<size_t>(i)];
    if (t.wait == Wait::barrier) {
      for (int j = 0; j < n; ++j) {
        const Thread& o = *threads[static_cast<size_t>(j)];
        if (o.wait == Wait::barrier) continue;
        fail_from_scheduler(where(t) + ": __syncthreads at " + at(t.file, t.line) + " is not reached by thread (" +
                            std::to_string(o.idx.x) + "," + std::to_string(o.idx.y) + "," + std::to_string(o.idx.z) +
                            "), which " + state_of(o) + " (on the GPU: a hang or undefined behaviour)");
        return;
      }
    }
    if (t.wait == Wait::warp) {
      for (int l = 0; l < 32; ++l) {
        if (!(t.mask & (1u << l))) continue;
        const Thread& o = lane_thread(t, l);
        if (o.wait == Wait::warp && o.kind == t.kind && o.mask == t.mask && o.shuffle_kind == t.shuffle_kind) continue;
        fail_from_scheduler(where(t) + ": " + collective_name(t.kind, t.shuffle_kind) + " at " + at(t.file, t.line) +
                            " waits for lane " + std::to_string(l) + " named in its mask, which " + state_of(o) +
                            " (on the GPU: a hang or undefined behaviour)");
        return;
      }
    }
  }
  fail_from_scheduler("kernel " + std::string(g_grid.config->kernel_name) + ": the block cannot make progress");
}

void run_block(std::vector<int>& order) {
  const int n = g_grid.threads_per_block;
  for (int i = 0; i < n; ++i) {
    Thread& t = *g_grid.threads[static_cast<size_t>(i)];
    t.wait = Wait::none;
    t.predicate = 0;
    t.fiber.reset(&thread_entry, &t);
  }
  g_grid.live = n;
  g_grid.at_barrier = 0;
  racecheck_block_start();
  auto& schedule = ScheduleOrder::get();
  schedule.permutation(order, n);
  while (g_grid.live > 0) {
    bool ran = false;
    for (int i : order) {
      Thread& t = *g_grid.threads[static_cast<size_t>(i)];
      if (t.wait != Wait::none) continue;
      g_grid.current = &t;
      g_thread_idx_of_current = t.idx;
      t.fiber.resume();
      ran = true;
      if (g_grid.failed) return;
    }
    if (ran) continue;  // collectives completed during the pass may have woken threads earlier in it
    if (g_grid.live == 0) break;
    resolve_stall();
    if (g_grid.failed) return;
    if (schedule.kind() == ScheduleOrder::Kind::random) schedule.permutation(order, n);
  }
}

}  // namespace

int racecheck_current_thread() {
  return g_grid.current ? g_grid.current->linear : -1;
}
uint3 racecheck_thread_index(int linear) {
  return g_grid.threads[static_cast<size_t>(linear)]->idx;
}
const char* racecheck_kernel_name() {
  return g_grid.config ? g_grid.config->kernel_name : "?";
}

SharedMarker::SharedMarker() {
  register_shared_variables(this, g_grid.config ? g_grid.config->kernel : nullptr);
}

void run_grid(const LaunchConfig& config, const std::function<void()>& thread_body) {
  const dim3 b = config.block, g = config.grid;
  const int n = static_cast<int>(b.x * b.y * b.z);
  g_grid.config = &config;
  g_grid.body = &thread_body;
  g_grid.failed = false;
  g_grid.threads_per_block = n;
  while (g_grid.threads.size() < static_cast<size_t>(n)) g_grid.threads.push_back(std::make_unique<Thread>());
  for (int i = 0; i < n; ++i) {
    Thread& t = *g_grid.threads[static_cast<size_t>(i)];
    t.linear = i;
    t.idx = uint3{static_cast<unsigned>(i) % b.x, (static_cast<unsigned>(i) / b.x) % b.y,
                  static_cast<unsigned>(i) / (b.x * b.y)};
  }
  g_block_dim = b;
  g_grid_dim = g;
  const int64_t blocks = int64_t{g.x} * g.y * g.z;
  auto& schedule = ScheduleOrder::get();
  schedule.start_grid(blocks);
  std::vector<int> order;
  for (int64_t i = 0; i < blocks && !g_grid.failed; ++i) {
    const int64_t id = schedule.block_at(i, blocks);
    g_block_idx = uint3{static_cast<unsigned>(id % g.x), static_cast<unsigned>((id / g.x) % g.y),
                        static_cast<unsigned>(id / (int64_t{g.x} * g.y))};
    poison_shared_variables(config.kernel);
    run_block(order);
    if (static_shared_bytes(config.kernel) > kStaticSharedLimit && !g_grid.failed)
      fail_from_scheduler("kernel " + std::string(config.kernel_name) + " declares " +
                          std::to_string(static_shared_bytes(config.kernel)) +
                          " bytes of static shared memory; a block may have at most 49152");
  }
  g_grid.current = nullptr;
  g_grid.config = nullptr;
}

// ---- device-side entry points --------------------------------------------------------------------

void syncthreads(const char* file, int line) {
  syncthreads_count(0, file, line);
}

int syncthreads_count(int predicate, const char* file, int line) {
  Thread& t = current_thread("__syncthreads");
  t.wait = Wait::barrier;
  t.file = file;
  t.line = line;
  t.predicate = predicate;
  ++g_grid.at_barrier;
  t.fiber.yield();
  return static_cast<int>(t.result);
}

namespace {
// The calling thread, checked and labelled for the warp collective `kind` it is about to join.
Thread& join_collective(Collective kind, ShuffleKind shuffle_kind, unsigned mask, const char* file, int line) {
  const char* name = collective_name(kind, shuffle_kind);
  Thread& t = current_thread(name);
  check_mask(t, mask, name, file, line);
  t.kind = kind;
  t.shuffle_kind = shuffle_kind;
  t.mask = mask;
  t.file = file;
  t.line = line;
  return t;
}
}  // namespace

void syncwarp(unsigned mask, const char* file, int line) {
  arrive_warp(join_collective(Collective::syncwarp, ShuffleKind::index, mask, file, line));
}

unsigned ballot(unsigned mask, int predicate, const char* file, int line) {
  Thread& t = join_collective(Collective::ballot, ShuffleKind::index, mask, file, line);
  t.predicate = predicate;
  arrive_warp(t);
  return static_cast<unsigned>(t.result);
}

unsigned activemask() {
  // Threads run one at a time between collectives, so only the caller is known to be converged.
  Thread& t = current_thread("__activemask");
  return 1u << lane_of(t);
}

uint64_t shuffle(ShuffleKind kind, unsigned mask, uint64_t value, int lane_or_delta, int width, const char* file,
                 int line) {
  Thread& t = join_collective(Collective::shuffle, kind, mask, file, line);
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    fail_from_thread(cudaErrorIllegalInstruction, std::string(collective_name(Collective::shuffle, kind)) + " at " +
                                                      at(file, line) + ": width " + std::to_string(width) +
                                                      " is not a power of two in 1..32");
  t.value = value;
  t.arg = lane_or_delta;
  t.width = width;
  arrive_warp(t);
  return t.result;
}

void mma_m16n8k16_bf16(float* d, const uint32_t* a, const uint32_t* b, const char* file, int line) {
  Thread& t = join_collective(Collective::mma, ShuffleKind::index, 0xffffffffu, file, line);
  std::memcpy(t.a, a, sizeof(t.a));
  std::memcpy(t.b, b, sizeof(t.b));
  std::memcpy(t.acc, d, sizeof(t.acc));
  arrive_warp(t);
  std::memcpy(d, t.acc, sizeof(t.acc));
}

void trap(const char* file, int line) {
  current_thread("__trap");
  fail_from_thread(cudaErrorIllegalInstruction, "__trap() at " + at(file, line));
}

void device_assert_fail(const char* expr, const char* file, int line) {
  current_thread("assert");
  fail_from_thread(cudaErrorAssert, "device-side assertion `" + std::string(expr) + "` failed at " + at(file, line));
}

}  // namespace lvk_emu
