# Helpers of the screen tests (sourced by tests/tui/*.sh, not a test itself): a private tmux server; each pane
# runs its command, writes its exit status and then sleeps, so that the terminal's state after the exit
# (alternate screen, cursor) can be read from tmux (a dead pane cannot be used: tmux 3.3 hides its cursor);
# and the fixture traces built from tests/data/tui/*.sql.
set -u
X=${XQPROF:?XQPROF: the xqprof binary}
SRC=${XQ_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
tmp=$(mktemp -d)
S="xqtui$$"
fails=0
T() { tmux -L "$S" -f /dev/null "$@"; }
cleanup() { T kill-server 2> /dev/null; rm -rf "$tmp" "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
finish() { # name
  [ "$fails" -eq 0 ] && echo "$1: all passed" || echo "$1: $fails failed"
  [ "$fails" -eq 0 ]
}
need_tmux() {
  command -v tmux > /dev/null || { echo "SKIP: tmux absent"; exit 0; }
  T new-session -d -s keep -x 80 -y 24 "sleep 100000" # holds the server
}

# A fixture trace: traces/schema.sql (the single source), then the rows of tests/data/tui/NAME.sql (default
# fixture; fixture_b is the same model under another mode, fixture_other another model, for Compare).
make_fixture() { # out.db [NAME]
  command -v sqlite3 > /dev/null || { echo "SKIP: sqlite3 absent"; exit 0; }
  rm -f "$1"
  sqlite3 "$1" < "$SRC/traces/schema.sql" && sqlite3 "$1" < "$SRC/tests/data/tui/${2:-fixture}.sql" ||
    { echo "FAIL: cannot build the fixture trace ${2:-fixture}"; exit 1; }
}

# Sessions: one pane each; $tmp/NAME.rc gets the command's exit status.
start() { # name w h command…
  local name=$1 w=$2 h=$3; shift 3
  T new-session -d -s "$name" -x "$w" -y "$h" "$*; echo \$? > $tmp/$name.rc; exec sleep 100000"
}
app_pid() { pgrep -P "$(state "$1" '#{pane_pid}')" -x xqprof; }
screen() { T capture-pane -p -t "$1" ${2:+"$2"}; }
# The screen as one line, so that a message wrapped over several rows is found too.
joined() { screen "$1" | tr -s ' \n' ' '; }
state() { T display-message -p -t "$1" "$2"; }
wait_for() { # name pattern [seconds]
  local i
  for ((i = 0; i < ${3:-30} * 20; i++)); do
    screen "$1" | grep -q -- "$2" && return 0
    sleep 0.05
  done
  fail "$1: '$2' never appeared"; screen "$1" | head -45; return 1
}
wait_gone() { # name pattern
  local i
  for ((i = 0; i < 200; i++)); do
    screen "$1" | grep -q -- "$2" || return 0
    sleep 0.05
  done
  fail "$1: '$2' still on screen"; return 1
}
key() { local name=$1; shift; T send-keys -t "$name" "$@"; }
wait_exit() { # name: waits for the pane's command to exit
  local i
  for ((i = 0; i < 300; i++)); do
    [ -s "$tmp/$1.rc" ] && return 0
    sleep 0.05
  done
  fail "$1: still running"; return 1
}
# After exit: the status, and the terminal left as it was found (no alternate screen, cursor shown).
check_exit() { # name status
  wait_exit "$1" || return 1
  local st
  st="$(cat "$tmp/$1.rc") $(state "$1" 'alt=#{alternate_on} cursor=#{cursor_flag}')"
  [ "$st" = "$2 alt=0 cursor=1" ] || fail "$1: after exit '$st', want '$2 alt=0 cursor=1'"
}
quit_ok() { key "$1" q; check_exit "$1" 0; }
