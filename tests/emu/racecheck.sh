#!/usr/bin/env bash
# tests/emu/racecheck.sh PROGRAM [ARGS...]: runs an emulated-CUDA program under the forward and the
# reverse thread order (LVK_EMU_SCHEDULE). Different outputs mean its result depends on the order in
# which the threads of a block run, i.e. a race: prints "RACE: ..." and exits 0. The same output under
# both prints "same output ..." and exits 1.
set -euo pipefail
prog=${1:?usage: tests/emu/racecheck.sh PROGRAM [ARGS...]}
shift
forward=$(LVK_EMU_SCHEDULE=forward "$prog" "$@")
reverse=$(LVK_EMU_SCHEDULE=reverse "$prog" "$@")
echo "forward: $forward"
echo "reverse: $reverse"
if [ "$forward" != "$reverse" ]; then
  echo "RACE: the output depends on the thread schedule (forward and reverse differ)"
  exit 0
fi
echo "same output under the forward and reverse schedules"
exit 1
