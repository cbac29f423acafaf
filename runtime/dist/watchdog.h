#pragma once
// Ends a data-parallel job that stopped making progress instead of letting it hang. A peer that
// died without its launcher noticing, or one that hangs while alive, leaves the other ranks
// waiting forever: in a collective (MPI), or in a device synchronisation behind a collective
// (NCCL). While a rank waits on its peers (a PeerWait guard is alive), the watchdog thread checks
// the age of the oldest wait; past the timeout it prints what the rank was waiting for, runs the
// abort hooks (NCCL's communicator abort, so the device work returns) and ends every rank
// (MPI_Abort). The thread also polls the asynchronous errors of the communicators (NCCL reports a
// failed peer there) and ends the job the same way when one appears.
#include <functional>
#include <string>

namespace lvk::dist {

// Starts this process's watchdog for rank `rank` (once; later calls change nothing).
void start_watchdog(int rank, double timeout_s);
// The timeout of LVK_DIST_TIMEOUT (seconds, > 0), 600 when it is not set; throws naming a bad value.
double watchdog_timeout_from_env();
bool watchdog_running();

// A wait on the peers for the guard's lifetime (`what`: a string literal naming it). Guards may
// nest and come from several threads. Costs one atomic load when no watchdog runs.
class PeerWait {
 public:
  explicit PeerWait(const char* what);
  ~PeerWait();
  PeerWait(const PeerWait&) = delete;
  PeerWait& operator=(const PeerWait&) = delete;

 private:
  unsigned long long id_ = 0;  // 0: not registered
};

// Polled by the watchdog thread: `check` returns a non-empty message on a fatal asynchronous
// error; `abort` makes stuck device work return (it may run on the watchdog thread while other
// threads use the communicator, so it must be safe there). Returns a handle for unwatch().
int watch(std::function<std::string()> check, std::function<void()> abort);
void unwatch(int handle);

}  // namespace lvk::dist
