#pragma once
// Runs a kernel's grid: block after block, each block's threads as fibers that switch only at
// barriers and warp collectives, in the order LVK_EMU_SCHEDULE chooses.
#include <functional>

#include "lvk_emu/launch.h"

namespace lvk_emu {

// Runs every block of the grid; a device-side failure becomes the sticky error (and stops the
// grid). Called by the stream executor, with the device lock held.
void run_grid(const LaunchConfig& config, const std::function<void()>& thread_body);

}  // namespace lvk_emu
