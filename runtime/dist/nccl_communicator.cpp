// NCCL communicator: collectives enqueued on lvk's current stream, so they order with the
// kernels around them and are captured with them into a CUDA Graph. The watchdog polls its
// asynchronous errors and may abort it from its own thread, so every use of the handle holds a lock.
#include "runtime/dist/nccl_communicator.h"

#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <mutex>
#include <type_traits>

#include "runtime/cuda_context.h"
#include "runtime/dist/checks.h"
#include "runtime/dist/watchdog.h"

namespace lvk::dist {

namespace {

// libnccl is opened when the first communicator is made, not linked: the library is large and
// often absent where lvk runs on one GPU (it may live in a PyTorch wheel), and lvk must start
// there. The declarations come from nccl.h, so the calls keep their checked signatures.
struct NcclLibrary {
  decltype(&::ncclGetUniqueId) ncclGetUniqueId = nullptr;
  decltype(&::ncclCommInitRank) ncclCommInitRank = nullptr;
  decltype(&::ncclCommDestroy) ncclCommDestroy = nullptr;
  decltype(&::ncclCommAbort) ncclCommAbort = nullptr;
  decltype(&::ncclCommGetAsyncError) ncclCommGetAsyncError = nullptr;
  decltype(&::ncclAllReduce) ncclAllReduce = nullptr;
  decltype(&::ncclBroadcast) ncclBroadcast = nullptr;
  decltype(&::ncclAllGather) ncclAllGather = nullptr;
  decltype(&::ncclGetErrorString) ncclGetErrorString = nullptr;
  decltype(&::ncclGetLastError) ncclGetLastError = nullptr;
};

const NcclLibrary& nccl() {
  static const NcclLibrary lib = [] {
    void* handle = dlopen("libnccl.so.2", RTLD_NOW | RTLD_GLOBAL);
    LVK_CHECK(handle != nullptr, "nccl: cannot load libnccl.so.2 (", dlerror(),
              "); install NCCL or add its lib folder to LD_LIBRARY_PATH");
    NcclLibrary l;
    auto bind = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
      LVK_CHECK(fn != nullptr, "nccl: libnccl.so.2 has no ", name, " (NCCL 2.19 or newer is needed)");
    };
    bind(l.ncclGetUniqueId, "ncclGetUniqueId");
    bind(l.ncclCommInitRank, "ncclCommInitRank");
    bind(l.ncclCommDestroy, "ncclCommDestroy");
    bind(l.ncclCommAbort, "ncclCommAbort");
    bind(l.ncclCommGetAsyncError, "ncclCommGetAsyncError");
    bind(l.ncclAllReduce, "ncclAllReduce");
    bind(l.ncclBroadcast, "ncclBroadcast");
    bind(l.ncclAllGather, "ncclAllGather");
    bind(l.ncclGetErrorString, "ncclGetErrorString");
    bind(l.ncclGetLastError, "ncclGetLastError");
    return l;
  }();
  return lib;
}

#define LVK_NCCL_CHECK(call, rank)                                                                                 \
  do {                                                                                                             \
    const ncclResult_t lvk_nccl_code = nccl().call;                                                                \
    if (lvk_nccl_code != ncclSuccess)                                                                              \
      ::lvk::fail("nccl: ", #call, " failed on rank ", rank, ": ", nccl().ncclGetErrorString(lvk_nccl_code), " (", \
                  nccl().ncclGetLastError(nullptr), ")");                                                          \
  } while (0)

ncclDataType_t nccl_type(const Tensor& t) {
  return t.dtype() == DType::f32 ? ncclFloat32 : ncclInt32;
}

class Nccl final : public Communicator {
 public:
  Nccl(Communicator& bootstrap, Device device) : device_(device), rank_(bootstrap.rank()), size_(bootstrap.size()) {
    LVK_CHECK(device.is_cuda(), "nccl: the communicator needs a CUDA device, got ", device.str());
    // The id travels as i32 words over the bootstrap communicator's CPU path.
    constexpr int64_t words = (sizeof(ncclUniqueId) + 3) / 4;
    Tensor id_words = Tensor::zeros({words}, DType::i32, Device::cpu());
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    if (rank_ == 0) {
      LVK_NCCL_CHECK(ncclGetUniqueId(&id), rank_);
      std::memcpy(id_words.raw(), &id, sizeof id);
    }
    bootstrap.broadcast_(id_words, 0);
    std::memcpy(&id, id_words.raw(), sizeof id);
    (void)cuda::stream();  // selects the device before NCCL binds to it
    LVK_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_), rank_);
    watch_ = watch([this] { return async_error(); },
                   [this] {
                     std::lock_guard<std::mutex> lock(mutex_);
                     abort_locked();
                   });
  }
  ~Nccl() override {
    unwatch(watch_);
    if (comm_) nccl().ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "nccl"; }

  void all_reduce_(Tensor& t, ReduceOp op) override {
    check_collective_tensor("all_reduce (nccl)", t, device_, op == ReduceOp::avg);
    std::lock_guard<std::mutex> lock(mutex_);
    check_live("all_reduce (nccl)");
    if (t.numel() == 0) return;
    LVK_NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t),
                                 op == ReduceOp::avg ? ncclAvg : ncclSum, comm_, cuda::stream()),
                   rank_);
    check_async();
  }
  void broadcast_(Tensor& t, int root) override {
    check_collective_tensor("broadcast (nccl)", t, device_);
    std::lock_guard<std::mutex> lock(mutex_);
    check_live("broadcast (nccl)");
    LVK_CHECK(root >= 0 && root < size_, "broadcast (nccl): root rank ", root, " is not in [0, ", size_, ")");
    if (t.numel() == 0) return;
    LVK_NCCL_CHECK(
        ncclBroadcast(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t), root, comm_, cuda::stream()),
        rank_);
    check_async();
  }
  Tensor all_gather(const Tensor& t) override {
    check_collective_tensor("all_gather (nccl)", t, device_);
    Tensor out = Tensor::empty(gathered_shape("all_gather (nccl)", t, size_), t.dtype(), device_);
    std::lock_guard<std::mutex> lock(mutex_);
    check_live("all_gather (nccl)");
    if (t.numel() > 0) {
      LVK_NCCL_CHECK(
          ncclAllGather(t.raw(), out.raw(), static_cast<size_t>(t.numel()), nccl_type(t), comm_, cuda::stream()),
          rank_);
      check_async();
    }
    return out;
  }
  void barrier() override {
    // An all-reduce of one word, waited for: NCCL has no barrier of its own.
    Tensor word = Tensor::zeros({1}, DType::i32, device_);
    all_reduce_(word, ReduceOp::sum);
    PeerWait wait("a barrier");
    LVK_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  }

 private:
  void check_live(const char* op) const {
    LVK_CHECK(comm_ != nullptr, op, ": the NCCL communicator of rank ", rank_, " was aborted after an earlier error");
  }
  // A peer's failure surfaces as an asynchronous error; abort the communicator so that the
  // enqueued collectives return instead of waiting for the dead rank forever. Lock held.
  void check_async() {
    const std::string error = async_error_locked();
    if (error.empty()) return;
    abort_locked();
    fail(error, "; communicator aborted");
  }
  std::string async_error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return async_error_locked();
  }
  std::string async_error_locked() {
    ncclResult_t async = ncclSuccess;
    if (comm_ == nullptr || nccl().ncclCommGetAsyncError(comm_, &async) != ncclSuccess || async == ncclSuccess ||
        async == ncclInProgress)
      return "";
    return "nccl: asynchronous error on rank " + std::to_string(rank_) + ": " + nccl().ncclGetErrorString(async);
  }
  void abort_locked() {
    if (comm_ != nullptr) nccl().ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  Device device_;
  int rank_, size_;
  std::mutex mutex_;  // guards comm_
  ncclComm_t comm_ = nullptr;
  int watch_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl(Communicator& bootstrap, Device device) {
  return std::make_unique<Nccl>(bootstrap, device);
}

}  // namespace lvk::dist
