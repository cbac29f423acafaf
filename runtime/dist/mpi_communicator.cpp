// MPI communicator on CPU tensors. All-reduce is MPI_Ireduce to rank 0 then MPI_Ibcast, so every
// rank holds the same bits whatever reduction order the MPI library picks; the blocking one waits
// for the non-blocking one. The broadcast is posted once the reduction is seen to complete. Ranks
// see completions at different moments, but MPI wants every rank to start the collectives of a
// communicator in the same order; so the broadcasts go on a communicator of their own and are
// posted strictly in the order the reductions started.
#include "runtime/dist/mpi_communicator.h"

#include <mpi.h>

#include <cstdlib>
#include <deque>
#include <mutex>

#include "runtime/dist/checks.h"
#include "runtime/dist/watchdog.h"

namespace lvk::dist {

namespace {

std::string mpi_message(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

int world_rank() {
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

#define LVK_MPI_CHECK(call)                                                                           \
  do {                                                                                                \
    const int lvk_mpi_code = (call);                                                                  \
    if (lvk_mpi_code != MPI_SUCCESS)                                                                  \
      ::lvk::fail("mpi: ", #call, " failed on rank ", world_rank(), ": ", mpi_message(lvk_mpi_code)); \
  } while (0)

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    LVK_CHECK(code == MPI_SUCCESS, "mpi: MPI_Init_thread failed (", code, "); is this process started by mpirun?");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    std::atexit(finalize_at_exit);
  });
}

MPI_Datatype mpi_type(const Tensor& t) {
  return t.dtype() == DType::f32 ? MPI_FLOAT : MPI_INT;
}

int count_of(const char* op, const Tensor& t) {
  LVK_CHECK(t.numel() <= INT32_MAX, op, ": ", t.str(), " has more than 2^31 - 1 elements; split it");
  return static_cast<int>(t.numel());
}

// Scales the sum of `size` ranks' values into their mean (on rank 0, between reduce and broadcast).
void divide_by_ranks(Tensor& t, int size) {
  float* p = t.data<float>();
  const float inv = 1.0f / static_cast<float>(size);
  for (int64_t i = 0; i < t.numel(); ++i) p[i] *= inv;
}

// One non-blocking all-reduce: reducing to rank 0, then broadcasting from it, then finished.
struct AllReduceState {
  enum class Stage { reducing, broadcasting, finished };
  Tensor t;  // kept alive while MPI reads and writes it
  ReduceOp op;
  MPI_Request request = MPI_REQUEST_NULL;
  Stage stage = Stage::reducing;
};

class Mpi;

// A collective still active when this is destroyed belongs to a job that is failing: freeing an
// active collective request is erroneous and waiting could hang, so the request is left to
// MPI_Abort/MPI_Finalize.
class MpiAllReduce final : public PendingCollective {
 public:
  MpiAllReduce(Mpi& owner, std::shared_ptr<AllReduceState> state) : owner_(owner), state_(std::move(state)) {}
  bool done() override;
  void wait() override;

 private:
  Mpi& owner_;
  std::shared_ptr<AllReduceState> state_;
};

class Mpi final : public Communicator {
 public:
  Mpi() {
    LVK_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    LVK_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    LVK_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &broadcasts_));
    LVK_MPI_CHECK(MPI_Comm_set_errhandler(broadcasts_, MPI_ERRORS_RETURN));
    LVK_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    LVK_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  ~Mpi() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_), MPI_Comm_free(&broadcasts_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "mpi"; }

  void all_reduce_(Tensor& t, ReduceOp op) override { start_all_reduce_(t, op)->wait(); }

  std::unique_ptr<PendingCollective> start_all_reduce_(Tensor& t, ReduceOp op) override {
    check_collective_tensor("all_reduce (mpi)", t, Device::cpu(), op == ReduceOp::avg);
    const int n = count_of("all_reduce (mpi)", t);
    auto state = std::make_shared<AllReduceState>();
    state->t = t;
    state->op = op;
    if (n == 0) {
      state->stage = AllReduceState::Stage::finished;
    } else {
      if (rank_ == 0)
        LVK_MPI_CHECK(MPI_Ireduce(MPI_IN_PLACE, t.raw(), n, mpi_type(t), MPI_SUM, 0, comm_, &state->request));
      else
        LVK_MPI_CHECK(MPI_Ireduce(t.raw(), nullptr, n, mpi_type(t), MPI_SUM, 0, comm_, &state->request));
      reducing_.push_back(state);
    }
    return std::make_unique<MpiAllReduce>(*this, std::move(state));
  }

  // Moves finished reductions on to their broadcasts, oldest first, stopping at the first one
  // still running; `block` waits for the oldest instead (one at a time).
  void advance_reductions(bool block) {
    while (!reducing_.empty()) {
      AllReduceState& s = *reducing_.front();
      int complete = 1;
      if (block)
        LVK_MPI_CHECK(MPI_Wait(&s.request, MPI_STATUS_IGNORE));
      else
        LVK_MPI_CHECK(MPI_Test(&s.request, &complete, MPI_STATUS_IGNORE));
      if (!complete) return;
      if (rank_ == 0 && s.op == ReduceOp::avg) divide_by_ranks(s.t, size_);
      LVK_MPI_CHECK(MPI_Ibcast(s.t.raw(), static_cast<int>(s.t.numel()), mpi_type(s.t), 0, broadcasts_, &s.request));
      s.stage = AllReduceState::Stage::broadcasting;
      reducing_.pop_front();
      if (block) return;
    }
  }

  void broadcast_(Tensor& t, int root) override {
    check_collective_tensor("broadcast (mpi)", t, Device::cpu());
    LVK_CHECK(root >= 0 && root < size_, "broadcast (mpi): root rank ", root, " is not in [0, ", size_, ")");
    const int n = count_of("broadcast (mpi)", t);
    PeerWait wait("a broadcast");
    if (n > 0) LVK_MPI_CHECK(MPI_Bcast(t.raw(), n, mpi_type(t), root, comm_));
  }

  Tensor all_gather(const Tensor& t) override {
    check_collective_tensor("all_gather (mpi)", t, Device::cpu());
    // Ranks that disagree on the shape would read past each other's buffers: compare first.
    const int n = count_of("all_gather (mpi)", t);
    std::vector<int> counts(static_cast<size_t>(size_));
    PeerWait wait("an all-gather");
    LVK_MPI_CHECK(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_));
    for (int r = 0; r < size_; ++r)
      if (counts[static_cast<size_t>(r)] != counts[0]) {
        std::string sizes;
        for (int q = 0; q < size_; ++q)
          sizes +=
              (q ? ", rank " : "rank ") + std::to_string(q) + ": " + std::to_string(counts[static_cast<size_t>(q)]);
        fail("all_gather (mpi): the ranks pass different sizes (", sizes,
             " elements); every rank must pass the same shape");
      }
    Tensor out = Tensor::empty(gathered_shape("all_gather (mpi)", t, size_), t.dtype(), Device::cpu());
    if (n > 0) LVK_MPI_CHECK(MPI_Allgather(t.raw(), n, mpi_type(t), out.raw(), n, mpi_type(t), comm_));
    return out;
  }

  void barrier() override {
    PeerWait wait("a barrier");
    LVK_MPI_CHECK(MPI_Barrier(comm_));
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm broadcasts_ = MPI_COMM_NULL;  // the second stage of non-blocking all-reduces
  int rank_ = 0, size_ = 1;
  std::deque<std::shared_ptr<AllReduceState>> reducing_;  // in the order they started
};

bool MpiAllReduce::done() {
  owner_.advance_reductions(false);
  AllReduceState& s = *state_;
  if (s.stage == AllReduceState::Stage::broadcasting) {
    int complete = 0;
    LVK_MPI_CHECK(MPI_Test(&s.request, &complete, MPI_STATUS_IGNORE));
    if (complete) s.stage = AllReduceState::Stage::finished;
  }
  return s.stage == AllReduceState::Stage::finished;
}

void MpiAllReduce::wait() {
  AllReduceState& s = *state_;
  PeerWait wait("an all-reduce");
  while (s.stage == AllReduceState::Stage::reducing) owner_.advance_reductions(true);
  if (s.stage == AllReduceState::Stage::broadcasting) LVK_MPI_CHECK(MPI_Wait(&s.request, MPI_STATUS_IGNORE));
  s.stage = AllReduceState::Stage::finished;
}

}  // namespace

std::unique_ptr<Communicator> make_mpi() {
  init_once();
  return std::make_unique<Mpi>();
}

int mpi_local_rank() {
  init_once();
  MPI_Comm local;
  LVK_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local));
  int rank = 0;
  LVK_MPI_CHECK(MPI_Comm_rank(local, &rank));
  MPI_Comm_free(&local);
  return rank;
}

void mpi_abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
}

}  // namespace lvk::dist
