#pragma once
// A fiber: a stack and a saved context, switched cooperatively on one OS thread. The emulator runs
// each CUDA thread of a block on one, so a thread can stop at a barrier and resume after it.
#include <cstddef>

namespace lvk_emu {

class Fiber {
 public:
  using Entry = void (*)(void* arg);
  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Prepares the fiber to start `entry(arg)` at its next resume, also when it was left mid-run.
  void reset(Entry entry, void* arg);
  // Runs the fiber until it calls yield() or finish(); returns on the scheduler's stack.
  void resume();
  // Called on the fiber: back to the scheduler; resume() continues after this call.
  void yield();
  // Called on the fiber when it will never be resumed again.
  [[noreturn]] void finish();

 private:
  static void start(Fiber* self);
  friend void fiber_trampoline_entry(Fiber* self);

  void* stack_ = nullptr;  // mmap'ed, guard page at the bottom
  size_t stack_bytes_ = 0;
  void* sp_ = nullptr;  // the fiber's saved stack pointer
  void* scheduler_sp_ = nullptr;
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  bool dirty_ = false;
  bool running_ = false;
  // AddressSanitizer fiber bookkeeping.
  void* fake_stack_ = nullptr;
  const void* scheduler_stack_bottom_ = nullptr;
  size_t scheduler_stack_size_ = 0;
};

}  // namespace lvk_emu
