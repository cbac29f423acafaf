#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define LVK_EMU_ASAN 1
#else
#define LVK_EMU_ASAN 0
#endif

#if !defined(__x86_64__)
#error "the CUDA emulator's fibers switch stacks with x86-64 code; port lvk_emu_switch for this CPU"
#endif

// lvk_emu_switch(save, load): saves the callee-saved registers, the SSE control word and the x87
// control word on the current stack, stores the stack pointer in *save, loads `load` as the stack
// pointer and restores the same state from it. A new fiber's stack is laid out so that the first
// switch "returns" into lvk_emu_fiber_trampoline with the Fiber* in rbx.
extern "C" void lvk_emu_switch(void** save, void* load);
extern "C" void lvk_emu_fiber_trampoline();
asm(R"(
  .pushsection .text
  .globl lvk_emu_switch
  .type lvk_emu_switch, @function
lvk_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size lvk_emu_switch, .-lvk_emu_switch

  .globl lvk_emu_fiber_trampoline
  .type lvk_emu_fiber_trampoline, @function
lvk_emu_fiber_trampoline:
  movq %rbx, %rdi
  call lvk_emu_fiber_start
  ud2
  .size lvk_emu_fiber_trampoline, .-lvk_emu_fiber_trampoline
  .popsection
)");

namespace lvk_emu {

void fiber_trampoline_entry(Fiber* self) {
  Fiber::start(self);
}

}  // namespace lvk_emu

extern "C" void lvk_emu_fiber_start(lvk_emu::Fiber* self) {
  lvk_emu::fiber_trampoline_entry(self);
}

namespace lvk_emu {

namespace {
// Generous for device code (which keeps its arrays in registers on the GPU), and for the
// sanitizer's red zones around every local.
constexpr size_t kStackBytes = size_t{256} << 10;
}  // namespace

Fiber::~Fiber() {
  if (stack_) munmap(stack_, stack_bytes_);
}

void Fiber::reset(Entry entry, void* arg) {
  if (!stack_) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    stack_bytes_ = kStackBytes + page;
    stack_ = mmap(nullptr, stack_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stack_ == MAP_FAILED) {
      std::fprintf(stderr, "lvk-emu: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(stack_, page, PROT_NONE);  // a stack overflow faults instead of corrupting memory
  }
  // Reset while mid-run (its block was abandoned): the sanitizer still marks the abandoned
  // frames' red zones, which would turn the next run's locals into false reports.
  if (running_) dirty_ = true;
  running_ = false;
#if LVK_EMU_ASAN
  if (dirty_) __asan_unpoison_memory_region(stack_, stack_bytes_);
#endif
  dirty_ = false;
  entry_ = entry;
  arg_ = arg;
  auto top = (reinterpret_cast<uintptr_t>(stack_) + stack_bytes_) & ~uintptr_t{15};
  auto* frame = reinterpret_cast<uint64_t*>(top - 80);
  // Matches lvk_emu_switch's restore order: control words, r15, r14, r13, r12, rbx, rbp, return.
  const uint32_t mxcsr = 0x1f80;
  const uint16_t fpucw = 0x037f;
  frame[0] = uint64_t{mxcsr} | (uint64_t{fpucw} << 32);
  frame[1] = frame[2] = frame[3] = frame[4] = 0;  // r15..r12
  frame[5] = reinterpret_cast<uint64_t>(this);    // rbx: the trampoline's argument
  frame[6] = 0;                                   // rbp
  frame[7] = reinterpret_cast<uint64_t>(&lvk_emu_fiber_trampoline);
  sp_ = frame;
}

void Fiber::start(Fiber* self) {
#if LVK_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &self->scheduler_stack_bottom_, &self->scheduler_stack_size_);
#endif
  self->entry_(self->arg_);
  self->finish();
}

void Fiber::resume() {
  running_ = true;
#if LVK_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, stack_, stack_bytes_);
  lvk_emu_switch(&scheduler_sp_, sp_);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  lvk_emu_switch(&scheduler_sp_, sp_);
#endif
}

void Fiber::yield() {
#if LVK_EMU_ASAN
  __sanitizer_start_switch_fiber(&fake_stack_, scheduler_stack_bottom_, scheduler_stack_size_);
  lvk_emu_switch(&sp_, scheduler_sp_);
  __sanitizer_finish_switch_fiber(fake_stack_, &scheduler_stack_bottom_, &scheduler_stack_size_);
#else
  lvk_emu_switch(&sp_, scheduler_sp_);
#endif
}

void Fiber::finish() {
  running_ = false;
#if LVK_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, scheduler_stack_bottom_, scheduler_stack_size_);
#endif
  // The stack pointer is saved into sp_ (reset() overwrites it), not into a local: this frame never
  // returns, so the sanitizer's red zones around a local would stay poisoned under the next run's
  // frames on this stack and turn its first call into a false stack-buffer-overflow.
  lvk_emu_switch(&sp_, scheduler_sp_);
  __builtin_unreachable();
}

}  // namespace lvk_emu
