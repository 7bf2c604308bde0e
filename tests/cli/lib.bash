# Helpers shared by the command tests (sourced, not a test itself: ctest registers tests/cli/*.sh only).
# The sourcing script sets $tmp (a scratch folder) first. fails counts the failures; the script ends with
# [ "$fails" -eq 0 ].
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }

# expect CODE DESCRIPTION -- command...: exit code and exactly one "xqprof: " line on stderr.
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$? lines; lines=$(grep -c '^xqprof: ' "$tmp/err")
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ]; then
    fail "$what: exit $rc (want $want), $lines error lines"; sed 's/^/    /' "$tmp/err" | head -5
  else ok "$what -> $(grep '^xqprof: ' "$tmp/err")"; fi
}
