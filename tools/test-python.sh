#!/usr/bin/env bash
# The Python package's tests: Debian's python3 with its torch (1.13, CPU), numpy and pytest, a venv
# on top with nanobind and scikit-build-core from PyPI, `pip install ./python` CPU-only into a
# persistent build folder (rebuilds are incremental), then pytest. Sourced by tools/test.sh.
set -euo pipefail
LVK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py_dir="${LVK_PY_BUILD_DIR:-$LVK_ROOT/build-py}"
packages=(python3-dev python3-venv python3-numpy python3-torch python3-pytest)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "test-python: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test-python: missing packages. Run:"; echo "  sudo apt-get install -y ${missing[*]}"; exit 1
  fi
fi
mkdir -p "$py_dir"
[ -x "$py_dir/venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$py_dir/venv"
py="$py_dir/venv/bin/python"
"$py" -c "import nanobind, scikit_build_core" 2>/dev/null || "$py" -m pip install -q nanobind scikit-build-core
echo "== Python package (pip install ./python, LVK_CUDA=OFF) =="
"$py" -m pip install -q --no-build-isolation --config-settings=build-dir="$py_dir/wheel" \
  --config-settings=cmake.define.LVK_CUDA=OFF --config-settings=build.tool-args=-j"${LVK_JOBS:-$(nproc)}" \
  "$LVK_ROOT/python"
echo "== Python tests (pytest) =="
# From the repository root, so `import lvk` finds the installed package, not python/lvk.
(cd "$LVK_ROOT" && "$py" -m pytest -q -p no:cacheprovider python/tests)
