#pragma once
// Training progress for humans: on a terminal one line redrawn in place (a bar, step, the named
// figures, rate and ETA); otherwise a plain line every `every` steps, for logs and CI.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lvk::cli {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t every, std::string unit = "it");
  // Reports step (1-based) with figures such as {"loss", 1.23}; items is what this step processed.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& figures, int64_t items);
  void finish();

 private:
  int64_t total_, every_;
  std::string unit_;
  bool tty_;
  int64_t items_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace lvk::cli
