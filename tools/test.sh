#!/usr/bin/env bash
# Set up, build (tests and benchmarks included) and run the whole test suite. CI runs exactly this.
#  1. The regular build: nvcc compiles every CUDA file when present; CUDA tests run on a GPU, or skip
#     with their reason where none is usable. LVK_CUDA=OFF tests a CPU-only build.
#  2. The emulated GPU (LVK_CUDA=EMU, AddressSanitizer): the same CUDA sources built by g++ run on the
#     CPU, every CUDA test required to run, under two thread schedules (forward, then reverse: a
#     result that depends on the order is a race).
#  3. The emulated GPU with the shared-memory race check (LVK_EMU_RACECHECK): the CUDA tests again,
#     in a random thread order, every pair of unordered shared-memory accesses reported.
#  First, the formatting check (tools/format.sh --check).
#  After 1, the Python package (tools/test-python.sh): pip install ./python CPU-only, then pytest.
#  LVK_EMU_TESTS=0 skips 2 and 3; LVK_PYTHON_TESTS=0 skips the Python package.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
jobs="${LVK_JOBS:-$(nproc)}"
# Style is checked, never reviewed: every C++/CUDA source matches .clang-format.
"$LVK_ROOT/tools/format.sh" --check

# Without a GPU (CI) one architecture compiles and links every CUDA file at a quarter of the time.
export LVK_DEFAULT_ARCHS="${LVK_DEFAULT_ARCHS:-90}"
build_dir="${LVK_BUILD_DIR:-$LVK_ROOT/build-test}"
mkdir -p "$build_dir"
lvk_configure_and_build "$build_dir"
"$build_dir/tools/lvk" info
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
# The Python package, CPU-only (its own incremental build of lvk_core); LVK_PYTHON_TESTS=0 skips it.
[ "${LVK_PYTHON_TESTS:-1}" = "0" ] || LVK_JOBS="$jobs" "$LVK_ROOT/tools/test-python.sh"

if [ "${LVK_EMU_TESTS:-1}" != "0" ] && [ "${LVK_CUDA:-AUTO}" != "OFF" ]; then
  emu_dir="${LVK_EMU_BUILD_DIR:-$LVK_ROOT/build-emu-asan}"
  mkdir -p "$emu_dir"
  echo "== emulated CUDA (LVK_CUDA=EMU, AddressSanitizer) =="
  LVK_CUDA=EMU lvk_configure_and_build "$emu_dir" -DLVK_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLVK_BUILD_BENCH=OFF
  "$emu_dir/tools/lvk" info
  export LVK_REQUIRE_CUDA=1 ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
  echo "== emulated CUDA: every test, schedule forward =="
  (cd "$emu_dir" && LVK_EMU_SCHEDULE=forward ctest --output-on-failure -j "$jobs" --timeout 900)
  echo "== emulated CUDA: the CUDA tests again, schedule reverse =="
  (cd "$emu_dir" && LVK_EMU_SCHEDULE=reverse ctest --output-on-failure -j "$jobs" --timeout 900 -R 'cuda|Cuda|emu')

  race_dir="${LVK_RACE_BUILD_DIR:-$LVK_ROOT/build-emu-race}"
  mkdir -p "$race_dir"
  echo "== emulated CUDA with the shared-memory race check (LVK_EMU_RACECHECK) =="
  LVK_CUDA=EMU lvk_configure_and_build "$race_dir" -DLVK_EMU_RACECHECK=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLVK_BUILD_BENCH=OFF
  (cd "$race_dir" && LVK_EMU_SCHEDULE=random:1 ctest --output-on-failure -j "$jobs" --timeout 900 -R 'cuda|Cuda|emu')
fi
