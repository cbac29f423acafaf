#pragma once
// Where each kernel's __shared__ variables live. `__shared__` declares ordinary static storage
// (AddressSanitizer guards it like any global) preceded by a marker object; the first time a thread
// passes the declaration, the marker finds, in the program's symbol table, every static variable of
// the function it belongs to, and the kernel running then is credited with them. Before each block
// of that kernel they are filled with 0xFF bytes, so a block never sees the previous block's values
// and a read before any write shows up as NaN / -1; the race check watches exactly these bytes.
#include <cstddef>
#include <cstdint>

namespace lvk_emu {

// Called by the marker with its own address, while `kernel` runs (nullptr outside a kernel).
void register_shared_variables(const void* marker, const void* kernel);

// Poisons the shared variables credited to `kernel`.
void poison_shared_variables(const void* kernel);

// Static shared bytes credited to `kernel` (the sum of its variables' sizes).
size_t static_shared_bytes(const void* kernel);

// Index of the byte at `p` among all shared variables known so far, or -1.
int64_t shared_byte_index(const void* p);
size_t shared_bytes_known();

}  // namespace lvk_emu
