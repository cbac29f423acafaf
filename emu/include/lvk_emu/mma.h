#pragma once
// Warp-level matrix multiply-accumulate, emulated with the PTX ISA's register layouts.
#include <cstdint>

namespace lvk_emu {

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 with d as both C and D: a warp collective of
// all 32 lanes. Each lane passes its own fragments (a: 4 registers of two bf16, b: 2 registers,
// d: 4 floats) laid out as the PTX ISA specifies; an operand in the wrong register gives the wrong
// product, as on the GPU.
void mma_m16n8k16_bf16(float* d, const uint32_t* a, const uint32_t* b, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE());

}  // namespace lvk_emu
