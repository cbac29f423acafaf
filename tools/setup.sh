#!/usr/bin/env bash
# Shared by tools/run.sh and tools/test.sh: install what is missing (as root, via apt-get; otherwise
# print the exact line to run), then configure and build into $LVK_BUILD_DIR.
# Environment: LVK_CUDA=AUTO|ON|OFF (default AUTO), LVK_CUDA_ARCHS (default: the GPU present, else
#              LVK_DEFAULT_ARCHS, else CMake's 80;86;89;90),
#              LVK_BUILD_DIR, LVK_JOBS (default: all cores).
set -euo pipefail

LVK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LVK_PACKAGES=(build-essential cmake ninja-build pkg-config libopenblas-dev libgtest-dev libbenchmark-dev
              libcli11-dev nlohmann-json3-dev libpng-dev zlib1g-dev libopenmpi-dev openmpi-bin clang-format libdnnl-dev
              ocl-icd-opencl-dev)  # Debian's oneDNN is built with an OpenCL GPU runtime: its CMake config needs the headers

lvk_install_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "setup: not a Debian/Ubuntu system; install the equivalents of: ${LVK_PACKAGES[*]}"; return 0; }
  local missing=()
  for p in "${LVK_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages. Run:"
    echo "  sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
}

lvk_configure_and_build() {
  local build_dir="$1"; shift
  local args=(-G Ninja -DCMAKE_BUILD_TYPE=Release "-DLVK_CUDA=${LVK_CUDA:-AUTO}")
  if [ -n "${LVK_CUDA_ARCHS:-}" ]; then
    args+=("-DCMAKE_CUDA_ARCHITECTURES=${LVK_CUDA_ARCHS}")
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    args+=("-DCMAKE_CUDA_ARCHITECTURES=native")  # a GPU is here: build for it alone
  elif [ -n "${LVK_DEFAULT_ARCHS:-}" ]; then
    args+=("-DCMAKE_CUDA_ARCHITECTURES=${LVK_DEFAULT_ARCHS}")
  fi
  cmake -S "$LVK_ROOT" -B "$build_dir" "${args[@]}" "$@" >"$build_dir/configure.log" 2>&1 \
    || { cat "$build_dir/configure.log"; exit 1; }
  grep -E "^-- lvk " "$build_dir/configure.log" || true
  cmake --build "$build_dir" -j "${LVK_JOBS:-$(nproc)}" 2>&1 | grep -vE "^ptxas info|^    [0-9]+ bytes stack frame|^\[" || true
  test "${PIPESTATUS[0]}" -eq 0
}

lvk_install_packages
