#pragma once
// Emulated CUDA runtime (LVK_CUDA=EMU): see emu/README.md.
#include "lvk_emu/runtime_api.h"
