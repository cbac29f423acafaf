#!/usr/bin/env bash
# tools/emu-run.sh FILE.cu [ARGS...]: build one standalone CUDA file (kernels and a main) against the
# emulated GPU of emu/ with AddressSanitizer, run it with ARGS and exit with its exit code. No GPU,
# no nvcc. Launches may be written k<<<grid, block[, shared[, stream]]>>>(args) or
# lvk_emu::launch<k>(grid, block, shared, stream, args); the first is rewritten into the second on a
# temporary copy whose #line directive keeps diagnostics pointing into FILE.cu.
# Environment: LVK_EMU_SCHEDULE=forward|reverse|random:SEED (thread order, read by the program),
# LVK_EMU_CACHE (where the emulator library is cached; default ~/.cache/lvk-emu), CXX (default g++),
# LVK_EMU_JOBS (parallel compiles of the library; default nproc), ASAN_OPTIONS. Exits 2 (with a
# message) when FILE.cu or the emulator does not compile.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: tools/emu-run.sh FILE.cu [ARGS...]" >&2
  exit 2
fi
SRC=$1
shift
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CXX=${CXX:-g++}
SAN=(-g -O1 -fsanitize=address -fno-omit-frame-pointer)
CU=(-x c++ -D__CUDACC__ -D__CUDA_ARCH__=900 -fno-strict-aliasing -include cuda_runtime.h)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/emu-run.XXXXXX")
BUILD=
trap 'rm -rf "$TMP" ${BUILD:+"$BUILD"}' EXIT

# 1. The emulator as a static library, built once per version of its sources and compiler.
KEY=$( (cd "$ROOT/emu" && find src include -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        "$CXX" --version; echo "c++17 ${SAN[*]}") | sha256sum | cut -c1-16)
CACHE=${LVK_EMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lvk-emu}
LIB=$CACHE/$KEY/liblvk_emu.a
if [ ! -f "$LIB" ]; then
  mkdir -p "$CACHE"
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d -mtime +30 -exec rm -rf {} +  # versions unused for a month
  BUILD=$(mktemp -d "$CACHE/build.XXXXXX")
  echo "emu-run: building the emulator library in $CACHE/$KEY" >&2
  if ! (cd "$ROOT/emu/src" && printf '%s\0' *.cpp |
        xargs -0 -P "${LVK_EMU_JOBS:-$(nproc)}" -I{} \
          "$CXX" -std=c++17 "${SAN[@]}" -pthread -I"$ROOT/emu/include" -c {} -o "$BUILD/{}.o"); then
    echo "emu-run: the emulator library did not compile" >&2
    exit 2
  fi
  ar rcs "$BUILD/liblvk_emu.a" "$BUILD"/*.o
  rm -f "$BUILD"/*.o
  mv -T "$BUILD" "$CACHE/$KEY" 2>/dev/null || true  # or another run got there first
fi
touch "$CACHE/$KEY"

# 2. FILE.cu with its <<<>>> launches rewritten, compiled as the device side sees it, and run.
python3 - "$SRC" "$TMP/src.cpp" <<'PY'
import sys

src, dst = sys.argv[1], sys.argv[2]
t = open(src, encoding="utf-8", errors="surrogateescape").read()
PAIRS = {"(": ")", "[": "]", "{": "}"}


def skip_literal(i):  # t[i] opens a string or character literal: the index after it
    q, i = t[i], i + 1
    while i < len(t) and t[i] != q and t[i] != "\n":
        i += 2 if t[i] == "\\" else 1
    return i + 1


def scan(i, stop):  # from i to the first `stop` outside brackets and literals: its index
    depth = 0
    while i < len(t):
        if depth == 0 and t.startswith(stop, i):
            return i
        c = t[i]
        if c in "\"'":
            i = skip_literal(i)
            continue
        depth += c in PAIRS
        depth -= c in PAIRS.values()
        if depth < 0:
            break
        i += 1
    raise ValueError("unbalanced")


def split_top(s):  # s split at the commas outside brackets
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c in PAIRS
        depth -= c in PAIRS.values()
        cur += c
    return parts + [cur]


def kernel_name_start(out):  # where the kernel's (qualified, maybe templated) name starts in out
    j = len(out)
    while True:
        while j > 0 and out[j - 1].isspace():
            j -= 1
        if j > 0 and out[j - 1] == ">":  # template arguments
            depth = 0
            while j > 0:
                j -= 1
                depth += out[j] == ">"
                depth -= out[j] == "<"
                if depth == 0:
                    break
        while j > 0 and (out[j - 1].isalnum() or out[j - 1] == "_"):
            j -= 1
        k = j
        while k > 0 and out[k - 1].isspace():
            k -= 1
        if k < 2 or out[k - 2:k] != "::":
            return j
        j = k - 2


out, i = [], 0
buf = ""
while i < len(t):
    c = t[i]
    if t.startswith("//", i):
        j = t.find("\n", i)
        j = len(t) if j < 0 else j
    elif t.startswith("/*", i):
        j = t.find("*/", i + 2)
        j = len(t) if j < 0 else j + 2
    elif c in "\"'":
        j = skip_literal(i)
    elif t.startswith("<<<", i):
        try:
            cfg_end = scan(i + 3, ">>>")
            p = cfg_end + 3
            while p < len(t) and t[p].isspace():
                p += 1
            if p >= len(t) or t[p] != "(":
                raise ValueError("no arguments")
            args_end = scan(p + 1, ")")
        except ValueError:
            buf += c
            i += 1
            continue
        start = kernel_name_start(buf)
        name, buf = buf[start:], buf[:start]
        cfg = split_top(t[i + 3:cfg_end])
        cfg += ["0"] * max(0, 4 - len(cfg))
        args = t[p + 1:args_end]
        new = "lvk_emu::launch<" + name.strip() + ">(" + ",".join(cfg) + ("," + args if args.strip() else "") + ")"
        old = t[i:args_end + 1]
        buf += new + "\n" * (name.count("\n") + old.count("\n") - new.count("\n"))
        i = args_end + 1
        continue
    else:
        j = i + 1
    buf += t[i:j]
    i = j
name = src.replace("\\", "\\\\").replace('"', '\\"')
open(dst, "w", encoding="utf-8", errors="surrogateescape").write('#line 1 "%s"\n%s' % (name, buf))
PY
if ! "$CXX" -std=c++17 "${CU[@]}" "${SAN[@]}" -I"$ROOT/emu/include" -iquote "$(dirname "$SRC")" -I"$ROOT" \
     -DLVK_EMU=1 -DLVK_WITH_CUDA=1 -include lvk_emu/launch.h "$TMP/src.cpp" -x none "$LIB" -pthread -o "$TMP/prog"; then
  echo "emu-run: $SRC did not compile" >&2
  exit 2
fi
rc=0
"$TMP/prog" "$@" || rc=$?
exit "$rc"
