# Shared by the shell tests of the lvk binary: source it after setting LVK.
fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # expect_error "message fragment" lvk-args...
  local want="$1"; shift
  local out
  if out=$("$LVK" "$@" 2>&1); then fail "lvk $* succeeded; expected an error with '$want'"; fi
  grep -qF -- "$want" <<<"$out" || fail "lvk $* said: $out; expected '$want'"
}
