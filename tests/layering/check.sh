#!/usr/bin/env bash
# Usage: check.sh CMAKE BUILD_DIR LAYER...
# For each layer, its probe that includes its own headers must build and its probe that includes a
# header of the layer above must fail with "No such file" for exactly that header. Models reach the
# kernels' headers through the runtime's, but name runtime types only: no models/ file includes
# a kernels/ header.
set -uo pipefail
cmake="$1" build_dir="$2"
shift 2
failures=0
for layer in "$@"; do
  own="lvk_layer_probe_${layer}_own" up="lvk_layer_probe_${layer}_up"
  if ! out=$("$cmake" --build "$build_dir" --target "$own" 2>&1); then
    echo "FAIL: $layer/ cannot include its own or lower layers' headers ($own):"
    echo "$out" | tail -20
    failures=$((failures + 1))
  fi
  header=$(sed -n 's/^#include "\(.*\)"$/\1/p' "$(dirname "$0")/${layer}_up.cpp")
  if out=$("$cmake" --build "$build_dir" --target "$up" 2>&1); then
    echo "FAIL: $layer/ can include $header, a header of a layer above it ($up built)"
    failures=$((failures + 1))
  elif ! grep -q "$header: No such file" <<<"$out"; then
    echo "FAIL: $up failed, but not because $header is out of reach:"
    echo "$out" | tail -20
    failures=$((failures + 1))
  else
    echo "ok: $layer/ cannot include $header"
  fi
done
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
if hits=$(grep -n '#include "kernels/' "$source_dir"/models/*.h "$source_dir"/models/*.cpp); then
  echo "FAIL: models/ includes kernel headers (use the runtime's names for their types):"
  echo "$hits"
  failures=$((failures + 1))
fi
exit $((failures > 0))
