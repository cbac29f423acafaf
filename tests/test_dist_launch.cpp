// Joining the world without a launcher: a world of one, no MPI; the launcher's environment is
// what marks a process as one rank of several.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "runtime/dist/launch.h"
#include "runtime/dist/watchdog.h"

namespace lvk::dist {
namespace {

// Runs `body` with the launcher variables removed (ctest may itself run under a launcher).
template <class Body>
void without_launcher(Body body) {
  const char* names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"};
  std::string saved[4];
  bool had[4];
  for (int i = 0; i < 4; ++i) {
    const char* v = std::getenv(names[i]);
    had[i] = v != nullptr;
    if (had[i]) saved[i] = v;
    unsetenv(names[i]);
  }
  body();
  for (int i = 0; i < 4; ++i)
    if (had[i]) setenv(names[i], saved[i].c_str(), 1);
}

TEST(DistLaunch, APlainProcessIsAWorldOfOne) {
  without_launcher([] {
    EXPECT_FALSE(launched_by_mpi());
    EXPECT_EQ(launched_world_size(), 1);
    const World world = join_world("cpu");
    EXPECT_EQ(world.comm->kind(), "single");
    EXPECT_EQ(world.comm->size(), 1);
    EXPECT_EQ(world.device, Device::cpu());
    Tensor t = Tensor::from_vector<float>({2.0f, 3.0f}, {2});
    world.comm->all_reduce_(t, ReduceOp::avg);
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{2.0f, 3.0f}));
    EXPECT_EQ(world.comm->all_gather(t).numel(), 2);
    EXPECT_THROW(world.comm->broadcast_(t, 1), Error);  // no rank 1 in a world of one
    EXPECT_FALSE(watchdog_running()) << "a world of one has no peers to wait for";
  });
}

TEST(DistLaunch, TheWatchdogTimeoutIsReadStrictly) {
  unsetenv("LVK_DIST_TIMEOUT");
  EXPECT_EQ(watchdog_timeout_from_env(), 600.0);
  setenv("LVK_DIST_TIMEOUT", "2.5", 1);
  EXPECT_EQ(watchdog_timeout_from_env(), 2.5);
  for (const char* bad : {"0", "-3", "5s", "ten"}) {
    setenv("LVK_DIST_TIMEOUT", bad, 1);
    try {
      (void)watchdog_timeout_from_env();
      ADD_FAILURE() << "LVK_DIST_TIMEOUT=" << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("LVK_DIST_TIMEOUT=\"") + bad + "\""), std::string::npos)
          << e.what();
    }
  }
  unsetenv("LVK_DIST_TIMEOUT");
}

TEST(DistLaunch, TheLaunchersWorldSizeIsReadFromItsEnvironment) {
  without_launcher([] {
    setenv("PMI_SIZE", "4", 1);
    EXPECT_TRUE(launched_by_mpi());
    EXPECT_EQ(launched_world_size(), 4);
    unsetenv("PMI_SIZE");
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    EXPECT_EQ(launched_world_size(), 3);
    unsetenv("OMPI_COMM_WORLD_SIZE");
  });
}

}  // namespace
}  // namespace lvk::dist
