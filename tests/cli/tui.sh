#!/usr/bin/env bash
# Screen tests of `xqprof top` and `xqprof view` under tmux: views by digit and Tab, help, quit status, small
# terminals, NO_COLOR (no colour escapes) and LANG=C (ASCII charts), and a trace written by generate --trace.
# Model: stories260K from ../shared, else the default model; skipped with a message if neither is there.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
command -v tmux >/dev/null || { echo "SKIP: tmux absent"; exit 0; }
M=$SHARED/models/stories260K/stories260K.gguf
[ -r "$M" ] || M=$SRC/models/default.gguf
[ -r "$M" ] || { echo "SKIP: no model (stories260K or models/default.gguf)"; exit 0; }
tmp=$(mktemp -d); S="xqtui$$"
T() { tmux -L "$S" "$@"; }
trap 'T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

start() { # name w h command…
  local name=$1 w=$2 h=$3; shift 3
  T new-session -d -s "$name" -x "$w" -y "$h" "$* ; echo \$? > $tmp/$name.rc; sleep 60"
}
screen() { T capture-pane -p -t "$1" ${2:+"$2"}; }
wait_for() { # name pattern [seconds]
  local i
  for ((i = 0; i < ${3:-60} * 5; i++)); do
    screen "$1" | grep -q -- "$2" && return 0
    sleep 0.2
  done
  fail "$1: '$2' never appeared"; screen "$1" | head -40; return 1
}
quit_ok() { # name
  T send-keys -t "$1" q
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$tmp/$1.rc" ] && break; sleep 0.2; done
  [ "$(cat "$tmp/$1.rc" 2>/dev/null)" = 0 ] || fail "$1: exit status '$(cat "$tmp/$1.rc" 2>/dev/null)', not 0"
}
key() { T send-keys -t "$1" "$2"; }

TOP="$X top -m $M -t 2 -n 24 -c 256"
"$X" top --help | grep -q "usage: xqprof top" || fail "top --help"
"$X" view --help | grep -q "usage: xqprof view" || fail "view --help"

# 100×30: every view by digit and by Tab, help open and close, quit with 0.
start big 100 30 "$TOP"
wait_for big "tok/s" && wait_for big "where a step" && wait_for big "\[1\]Overview"
key big 2; wait_for big "time/step"
key big 3; wait_for big "Roofline (log-log"
key big 4; wait_for big "Timeline (steps"
key big Tab; wait_for big "current mode: fp16"
key big 6; wait_for big "Compare: needs two recorded runs"
key big '?'; wait_for big "help (Esc closes)"; wait_for big "q F10"
key big Escape; sleep 0.5; screen big | grep -q "help (Esc closes)" && fail "big: Esc left the help open"
key big p; wait_for big "PAUSED"
quit_ok big

# 60×20 compact, 40×10 too small (q still quits).
start mid 60 20 "$TOP"; wait_for mid "\[1\]Overview"; wait_for mid "decode"; quit_ok mid
start tiny 40 10 "$TOP"; wait_for tiny "terminal too small"; wait_for tiny "have 40x10"; quit_ok tiny

# NO_COLOR: no colour escapes at all; LANG=C: ASCII charts, not empty.
start nocol 100 30 "env NO_COLOR=1 $TOP"; wait_for nocol "tok/s"; sleep 1
screen nocol -e > "$tmp/nocol.txt"
grep -qP '\e\[[0-9;]*(3[0-7]|4[0-7]|38;|48;|9[0-7])[;m]' "$tmp/nocol.txt" && fail "NO_COLOR: colour escapes seen"
quit_ok nocol
start ascii 100 30 "env LANG=C LC_ALL=C $TOP --view 4"; wait_for ascii "Timeline (steps"; sleep 1
screen ascii | grep -q '#' || fail "LANG=C: no ASCII chart glyphs in the Timeline"
screen ascii | grep -qP '[^\x00-\x7F]' && fail "LANG=C: non-ASCII characters on screen"
quit_ok ascii

# view: a trace written by generate --trace; missing and foreign files fail before the screen starts.
"$X" generate -m "$M" -t 2 -p "Once upon a time" -n 16 --temp 0 --trace "$tmp/run.db" >/dev/null 2>&1 ||
  fail "generate --trace"
start view 100 30 "$X view $tmp/run.db"
wait_for view "recorded run" && wait_for view "tok/s"
key view 2; wait_for view "time/step"
key view 4; wait_for view "Timeline (steps"
key view 5; wait_for view "this is a recorded run"
key view 6; wait_for view "needs a second trace"
quit_ok view
"$X" view "$tmp/absent.db" 2> "$tmp/err"; rc=$?
[ $rc = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q "^xqprof: " "$tmp/err" || fail "view of a missing file: rc $rc"
echo "not a trace" > "$tmp/junk.db"
"$X" view "$tmp/junk.db" 2>/dev/null; [ $? = 2 ] || fail "view of a non-trace file is not exit 2"
[ "$fails" -eq 0 ] && echo "tui: all passed"
[ "$fails" -eq 0 ]
