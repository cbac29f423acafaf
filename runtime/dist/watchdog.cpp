#include "runtime/dist/watchdog.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "runtime/dist/launch.h"

namespace lvk::dist {

namespace {

using Clock = std::chrono::steady_clock;

struct Wait {
  const char* what;
  Clock::time_point since;
};
struct Watched {
  std::function<std::string()> check;
  std::function<void()> abort;
};

class Watchdog;
std::atomic<Watchdog*> g_watchdog{nullptr};  // the running watchdog, if any

class Watchdog {
 public:
  Watchdog(int rank, double timeout_s) : rank_(rank), timeout_s_(timeout_s) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Watchdog() {
    g_watchdog.store(nullptr);  // waits that start from now on (at exit) are not timed
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  unsigned long long begin_wait(const char* what) {
    std::lock_guard<std::mutex> lock(mutex_);
    waits_.emplace(++next_wait_, Wait{what, Clock::now()});
    return next_wait_;
  }
  void end_wait(unsigned long long id) {
    std::lock_guard<std::mutex> lock(mutex_);
    waits_.erase(id);
  }
  int watch(Watched w) {
    std::lock_guard<std::mutex> lock(mutex_);
    watched_.emplace(++next_watch_, std::move(w));
    return next_watch_;
  }
  void unwatch(int handle) {
    std::lock_guard<std::mutex> lock(mutex_);
    watched_.erase(handle);
  }

 private:
  void loop() {
    // Checks a few times per timeout, at most once a second: the waits are what matters, not
    // the exact moment the job ends.
    const auto period = std::chrono::duration<double>(std::min(1.0, timeout_s_ / 4));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
      for (const auto& [handle, w] : watched_) {
        (void)handle;
        if (std::string error = w.check(); !error.empty()) end_job(error);
      }
      // The ids grow with time, so the first entry is the oldest wait.
      if (waits_.empty()) continue;
      const Wait& oldest = waits_.begin()->second;
      const double waited = std::chrono::duration<double>(Clock::now() - oldest.since).count();
      if (waited > timeout_s_) {
        char why[256];
        std::snprintf(why, sizeof why,
                      "waited %.0f s for the other ranks in %s (LVK_DIST_TIMEOUT=%g s); a peer rank has died or hangs",
                      waited, oldest.what, timeout_s_);
        end_job(why);
      }
    }
  }
  // Called with mutex_ held; never returns.
  [[noreturn]] void end_job(const std::string& why) {
    for (const auto& [handle, w] : watched_) {
      (void)handle;
      w.abort();
    }
    abort_world(why);
    // abort_world does nothing outside a launcher: say it here and end this process anyway.
    std::fprintf(stderr, "lvk: rank %d: %s; ending\n", rank_, why.c_str());
    std::fflush(stderr);
    _exit(1);
  }

  int rank_;
  double timeout_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<unsigned long long, Wait> waits_;
  unsigned long long next_wait_ = 0;
  std::map<int, Watched> watched_;
  int next_watch_ = 0;
  std::thread thread_;
};

}  // namespace

void start_watchdog(int rank, double timeout_s) {
  LVK_CHECK(timeout_s > 0, "watchdog: timeout ", timeout_s, " s must be > 0");
  static std::once_flag once;
  // Lives until the process ends, with the thread it runs.
  std::call_once(once, [&] {
    static Watchdog dog(rank, timeout_s);
    g_watchdog.store(&dog);
  });
}

double watchdog_timeout_from_env() {
  const char* v = std::getenv("LVK_DIST_TIMEOUT");
  if (v == nullptr || *v == '\0') return 600.0;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  LVK_CHECK(end != v && *end == '\0' && s > 0 && s < 1e9, "LVK_DIST_TIMEOUT=\"", v,
            "\" is not a number of seconds > 0");
  return s;
}

bool watchdog_running() {
  return g_watchdog.load() != nullptr;
}

PeerWait::PeerWait(const char* what) {
  if (Watchdog* dog = g_watchdog.load()) id_ = dog->begin_wait(what);
}

PeerWait::~PeerWait() {
  if (Watchdog* dog = g_watchdog.load(); dog != nullptr && id_ != 0) dog->end_wait(id_);
}

int watch(std::function<std::string()> check, std::function<void()> abort) {
  Watchdog* dog = g_watchdog.load();
  return dog ? dog->watch(Watched{std::move(check), std::move(abort)}) : 0;
}

void unwatch(int handle) {
  if (Watchdog* dog = g_watchdog.load(); dog && handle != 0) dog->unwatch(handle);
}

}  // namespace lvk::dist
