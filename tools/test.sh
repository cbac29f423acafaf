#!/usr/bin/env bash
# Set up, build (tests and benchmarks included) and run the whole test suite. CUDA tests skip with
# their reason where no GPU is usable. CI runs exactly this. LVK_CUDA=OFF tests a CPU-only build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Without a GPU (CI) one architecture compiles and links every CUDA file at a quarter of the time.
export LVK_DEFAULT_ARCHS="${LVK_DEFAULT_ARCHS:-90}"
build_dir="${LVK_BUILD_DIR:-$LVK_ROOT/build-test}"
mkdir -p "$build_dir"
lvk_configure_and_build "$build_dir"
"$build_dir/tools/lvk" info
cd "$build_dir"
ctest --output-on-failure -j "${LVK_JOBS:-$(nproc)}" --timeout 900
