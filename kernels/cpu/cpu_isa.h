#pragma once
// The widest vector ISA the CPU kernels may use, decided once at run time: the project is built
// without -march flags, so each fast path is compiled for its ISA with a target attribute and
// picked here. LVK_CPU_ISA=avx2 or base caps the choice, so every variant can be run (and
// benchmarked) on one machine.
namespace lvk::kernels::cpu {

enum class CpuIsa { base, avx2, avx512 };

CpuIsa cpu_isa();

}  // namespace lvk::kernels::cpu
