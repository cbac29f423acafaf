#include "memory.h"

#include <cstdlib>
#include <cstring>
#include <map>

#include "lvk_emu/enqueue.h"
#include "streams.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace lvk_emu {

namespace {
struct Block {
  size_t bytes = 0;
  MemoryKind kind = MemoryKind::device;
  GraphMemory* graph = nullptr;
  bool live = true;
};
// Never destroyed: device memory a program still holds at exit stays reachable for the leak
// checker, as it would be on a device (the driver frees it with the context).
std::map<uintptr_t, Block>& g_blocks = *new std::map<uintptr_t, Block>;

std::map<uintptr_t, Block>::iterator containing(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  auto it = g_blocks.upper_bound(v);
  if (it == g_blocks.begin()) return g_blocks.end();
  --it;
  return v < it->first + (it->second.bytes ? it->second.bytes : 1) ? it : g_blocks.end();
}
}  // namespace

void poison_region(void* p, size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
  __asan_poison_memory_region(p, bytes);
#else
  (void)p, (void)bytes;
#endif
}

void unpoison_region(void* p, size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
  __asan_unpoison_memory_region(p, bytes);
#else
  (void)p, (void)bytes;
#endif
}

void* allocate(size_t bytes, MemoryKind kind, GraphMemory* graph) {
  void* p = nullptr;
  // 256-byte alignment, as cudaMalloc guarantees; the block keeps its exact size.
  if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) return nullptr;
  if (kind == MemoryKind::device) std::memset(p, 0xff, bytes);
  g_blocks[reinterpret_cast<uintptr_t>(p)] = Block{bytes, kind, graph, graph == nullptr};
  if (graph) {
    graph->blocks.push_back(p);
    poison_region(p, bytes);  // not usable until the graph's allocation node runs
  }
  return p;
}

bool release(void* p, MemoryKind kind) {
  auto it = g_blocks.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_blocks.end() || it->second.kind != kind || it->second.graph) return false;
  g_blocks.erase(it);
  std::free(p);
  return true;
}

bool is_allocation(const void* p, MemoryKind kind) {
  auto it = g_blocks.find(reinterpret_cast<uintptr_t>(p));
  return it != g_blocks.end() && it->second.kind == kind;
}

void set_graph_block_live(void* p, bool live) {
  auto it = g_blocks.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_blocks.end()) return;
  it->second.live = live;
  if (live) {
    unpoison_region(p, it->second.bytes);
    std::memset(p, 0xff, it->second.bytes);
  } else {
    poison_region(p, it->second.bytes);
  }
}

bool is_graph_block(const void* p) {
  auto it = g_blocks.find(reinterpret_cast<uintptr_t>(p));
  return it != g_blocks.end() && it->second.graph != nullptr;
}

bool in_allocation(const void* p, size_t bytes, MemoryKind kind) {
  auto it = containing(p);
  if (it == g_blocks.end() || it->second.kind != kind) return false;
  const auto v = reinterpret_cast<uintptr_t>(p);
  return v + bytes <= it->first + it->second.bytes;
}

GraphMemory::~GraphMemory() {
  for (void* p : blocks) {
    auto it = g_blocks.find(reinterpret_cast<uintptr_t>(p));
    if (it != g_blocks.end()) {
      unpoison_region(p, it->second.bytes);
      g_blocks.erase(it);
    }
    std::free(p);
  }
}

bool is_device_range(const void* p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  return in_allocation(p, bytes, MemoryKind::device);
}

}  // namespace lvk_emu
