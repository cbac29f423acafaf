#!/usr/bin/env bash
# The main job on its embedded default: set up, build, then run lvk on what this machine has.
# For now that is `lvk info`; extra arguments replace the default command (e.g. tools/run.sh info).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
build_dir="${LVK_BUILD_DIR:-$LVK_ROOT/build}"
mkdir -p "$build_dir"
lvk_configure_and_build "$build_dir" -DLVK_BUILD_TESTS=OFF -DLVK_BUILD_BENCH=OFF
if [ $# -eq 0 ]; then set -- info; fi
exec "$build_dir/tools/lvk" "$@"
