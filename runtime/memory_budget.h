#pragma once
// Sizes the user chose (a batch, a dataset, a step count) are checked against this machine's
// memory before anything is allocated, so an impossible size is an error with the numbers rather
// than std::bad_alloc or the OOM killer.
#include <cstdint>
#include <string>

namespace lvk {

// Physical memory of this machine in bytes; 0 when it cannot be read.
uint64_t physical_memory_bytes();

// Whether `bytes` fit in the physical memory (true when it cannot be read).
bool fits_in_memory(double bytes);

// "1.2 GB", "3.1 TB", "512 B" (decimal units).
std::string human_bytes(double bytes);

// Throws lvk::Error "<what> <count> × <per_item> <unit>s = 3.1 TB, this machine has 24 GB" when
// count × per_item × item_bytes exceeds the physical memory (or overflows 64 bits).
void check_fits_in_memory(const std::string& what, int64_t count, int64_t per_item, const char* unit,
                          int64_t item_bytes);

}  // namespace lvk
