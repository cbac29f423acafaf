#include "schedule_order.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace lvk_emu {

ScheduleOrder& ScheduleOrder::get() {
  static ScheduleOrder order;
  return order;
}

ScheduleOrder::ScheduleOrder() {
  const char* env = std::getenv("LVK_EMU_SCHEDULE");
  if (!env || !*env || std::strcmp(env, "forward") == 0) return;
  if (std::strcmp(env, "reverse") == 0) {
    kind_ = Kind::reverse;
    return;
  }
  if (std::strncmp(env, "random", 6) == 0) {
    kind_ = Kind::random;
    if (env[6] == ':') seed_ = std::strtoull(env + 7, nullptr, 10);
    rng_.seed(seed_);
    return;
  }
  std::fprintf(stderr, "lvk-emu: LVK_EMU_SCHEDULE='%s' is not forward, reverse or random:SEED\n", env);
  std::exit(2);
}

std::string ScheduleOrder::describe() const {
  switch (kind_) {
    case Kind::forward:
      return "forward";
    case Kind::reverse:
      return "reverse";
    case Kind::random:
      return "random:" + std::to_string(seed_);
  }
  return "";
}

void ScheduleOrder::permutation(std::vector<int>& order, int n) {
  order.resize(static_cast<size_t>(n));
  if (kind_ == Kind::reverse) {
    for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = n - 1 - i;
    return;
  }
  std::iota(order.begin(), order.end(), 0);
  if (kind_ == Kind::random) std::shuffle(order.begin(), order.end(), rng_);
}

void ScheduleOrder::start_grid(int64_t n) {
  if (kind_ != Kind::random || n <= 1) return;
  // An affine permutation i -> offset + i * stride (mod n), stride coprime to n: a different
  // order for every grid at no cost for grids of millions of blocks.
  block_offset_ = static_cast<int64_t>(rng_() % static_cast<uint64_t>(n));
  do block_stride_ = static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)) | 1;
  while (std::gcd(block_stride_, n) != 1);
}

int64_t ScheduleOrder::block_at(int64_t i, int64_t n) {
  switch (kind_) {
    case Kind::forward:
      return i;
    case Kind::reverse:
      return n - 1 - i;
    case Kind::random:
      return static_cast<int64_t>((static_cast<unsigned __int128>(i) * static_cast<uint64_t>(block_stride_) +
                                   static_cast<uint64_t>(block_offset_)) %
                                  static_cast<uint64_t>(n));
  }
  return i;
}

}  // namespace lvk_emu
