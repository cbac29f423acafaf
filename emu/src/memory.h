#pragma once
// Device and pinned allocations of the emulated device. Device memory is an exact-size host block
// (so AddressSanitizer reports a read one element past its end), filled with 0xFF bytes when
// allocated (a read before any write gives NaN / -1, not a plausible zero).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lvk_emu {

enum class MemoryKind { device, pinned };

// The memory a captured graph allocated: valid only between its allocation and free nodes, and
// released when the graph and every executable made from it are gone.
struct GraphMemory {
  std::vector<void*> blocks;
  ~GraphMemory();
};

void* allocate(size_t bytes, MemoryKind kind, GraphMemory* graph = nullptr);
// Frees a device or pinned block now. False when `p` is not such a block.
bool release(void* p, MemoryKind kind);
bool is_allocation(const void* p, MemoryKind kind);
// Graph memory comes and goes with its nodes; outside that window any access is reported.
void set_graph_block_live(void* p, bool live);
bool is_graph_block(const void* p);
// True when [p, p + bytes) lies in one live allocation of that kind.
bool in_allocation(const void* p, size_t bytes, MemoryKind kind);
void poison_region(void* p, size_t bytes);  // sanitizer: any access is an error
void unpoison_region(void* p, size_t bytes);

}  // namespace lvk_emu
