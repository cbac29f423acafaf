#pragma once
// LVK_EMU_SCHEDULE: the order in which the emulator runs the blocks of a grid and the threads of
// a block between two barriers. forward (the default), reverse, or random:SEED (a new order for
// every block and every barrier interval). Results that change with the order reveal races.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lvk_emu {

class ScheduleOrder {
 public:
  enum class Kind { forward, reverse, random };
  static ScheduleOrder& get();  // from the environment, read once

  Kind kind() const { return kind_; }
  std::string describe() const;
  // Fills `order` with a permutation of 0..n-1.
  void permutation(std::vector<int>& order, int n);
  // The i-th of n blocks to run.
  int64_t block_at(int64_t i, int64_t n);
  void start_grid(int64_t n);

 private:
  ScheduleOrder();
  Kind kind_ = Kind::forward;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  int64_t block_stride_ = 1, block_offset_ = 0;
};

}  // namespace lvk_emu
