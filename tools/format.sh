#!/usr/bin/env bash
# Formats every C++/CUDA source of the project with .clang-format (third_party/ excluded).
#   tools/format.sh          rewrite the files in place
#   tools/format.sh --check  change nothing; fail naming each file that is not formatted (CI runs this)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v clang-format >/dev/null || { echo "format: clang-format is not installed (apt-get install clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' '*.hpp' | grep -v '^third_party/')
if [ "${1:-}" = "--check" ]; then
  # One line per file keeps the report readable; --dry-run -Werror fails on the first difference.
  bad=()
  for f in "${files[@]}"; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f"); done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'format: not formatted with .clang-format (run tools/format.sh):\n'; printf '  %s\n' "${bad[@]}"
    exit 1
  fi
  echo "format: ${#files[@]} files match .clang-format ($(clang-format --version | head -1))"
else
  clang-format -i "${files[@]}"
fi
