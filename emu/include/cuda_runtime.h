#pragma once
// Emulated CUDA runtime (LVK_CUDA=EMU): the runtime API and what device code sees.
#include "lvk_emu/device_api.h"
#include "lvk_emu/runtime_api.h"

#define CUDART_VERSION 13000
