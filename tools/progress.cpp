#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace lvk::cli {

Progress::Progress(int64_t total_steps, int64_t every, std::string unit)
    : total_(total_steps),
      every_(every < 1 ? 1 : every),
      unit_(std::move(unit)),
      tty_(isatty(fileno(stdout)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, const std::vector<std::pair<std::string, double>>& figures, int64_t items) {
  items_ += items;
  if (!tty_ && step % every_ != 0 && step != total_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? items_ / elapsed : 0.0;
  const double eta = step > 0 ? elapsed * (total_ - step) / step : 0.0;
  std::string line;
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * step / total_) : kWidth;
    line = "\r[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "step %lld/%lld", static_cast<long long>(step), static_cast<long long>(total_));
  line += buf;
  for (const auto& [name, value] : figures) {
    std::snprintf(buf, sizeof buf, "  %s %.4g", name.c_str(), value);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, "  %.0f %s/s  eta %.0fs", rate, unit_.c_str(), eta);
  line += buf;
  std::fputs(line.c_str(), stdout);
  if (!tty_) std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Progress::finish() {
  if (tty_) std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace lvk::cli
