#pragma once
// Shared-memory race detection (LVK_EMU_RACECHECK builds): device code compiled with the
// compiler's thread-sanitizer instrumentation calls back on every load and store; an access to a
// shared-memory byte that another thread wrote, or writes one another thread read or wrote, between
// the same two barriers, is a race. Lanes of one warp are ordered by the warp collectives between
// their accesses.
#include <cstdint>

#include "lvk_emu/types.h"

namespace lvk_emu {

// Called by the scheduler.
void racecheck_block_start();
void racecheck_barrier();                    // a __syncthreads released
void racecheck_warp_synchronized(int warp);  // a warp collective completed

// Supplied by the scheduler: the running thread's linear index in its block, or -1 outside a kernel,
// and where it runs, for the report.
int racecheck_current_thread();
uint3 racecheck_thread_index(int linear);
const char* racecheck_kernel_name();

}  // namespace lvk_emu
