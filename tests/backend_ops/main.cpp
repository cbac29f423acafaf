// lvk_backend_ops: the backend-ops test (GoogleTest flags), or `lvk_backend_ops perf [--op NAME]
// [--device cpu|cuda] [--size N] [--repeats R]`, which times every op of the table per backend.
#include <gtest/gtest.h>

#include <cstring>

namespace lvk::backend_ops {
int run_perf(int argc, char** argv);
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "perf") == 0) return lvk::backend_ops::run_perf(argc - 2, argv + 2);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
