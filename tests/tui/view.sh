#!/usr/bin/env bash
# Screen test of `xqprof view` on the fixture trace (tests/data/tui/fixture.sql, numbers known in advance) under
# tmux at 120×40 and 80×24: every view by digit, Tab and Shift-Tab with its title and a known value; help open and
# close; Layers sorted, filtered (op name, layer range, a q that must not quit), drilled into and back; freeze;
# resize to 60×20, 20×5 and back; q exits 0 with the terminal restored (alternate screen off, cursor on). Then
# NO_COLOR/--no-color (no colour escapes), LANG=C/--ascii (ASCII only, charts not empty), SIGTERM and SIGINT
# (terminal restored), and missing/corrupt traces (one line, exit 2, before the screen starts). The help's last
# legend line is reachable at 80×24 (the overlay says it scrolls). Compare of two traces of one model (known
# speedups, a layer's ops and back), and of two models (refused in one line; the other views still work).
source "$(dirname "$0")/common.bash"
need_tmux
make_fixture "$tmp/fixture.db"
make_fixture "$tmp/fixture_b.db" fixture_b
make_fixture "$tmp/fixture_other.db" fixture_other
UTF="env LANG=C.UTF-8 LC_ALL=C.UTF-8"
V="$X view $tmp/fixture.db"

# The known values of each view (fixture.sql's comment): view key, title, value.
VIEWS=(
  "1|where a step's|88.9 tok/s"
  "2|time/step|    3    2.1 ms  30.8     0.59      4.30   7.28 compute"
  "3|Roofline (log-log|matmul_q      5.00"
  "4|Timeline (steps|steps 0 .. 16"
  "5|Modes|mode is fixed"
  "6|Compare|needs a second trace")
show_view() { # name index(0-5): its title and value on screen
  IFS='|' read -r _ title value <<< "${VIEWS[$2]}"
  wait_for "$1" "$title" 5 && wait_for "$1" "$value" 5
}
first_row() { screen "$1" | grep -E '^│ +[0-9]+ ' | head -1 | awk '{ print $2 }'; }
n_rows() { screen "$1" | grep -cE '^│ +[0-9]+ +[0-9.]+ (ms|us)'; }

# The legend's last line on screen: at once when the help fits, else after scrolling down, which the title offers.
help_legend() { # name (help open)
  local last='PAUSED  *data frozen by p: numbers do not change until p again' i
  if ! screen "$1" | grep -q -- "$last"; then
    screen "$1" | grep -q "help (Esc closes) . Up/Down scroll: lines 1-" || fail "$1: help cut, no scroll offered"
    for i in $(seq 40); do key "$1" Down; done
  fi
  wait_for "$1" "$last" 5
}

views_and_keys() { # name
  local n=$1 i
  for i in 1 2 3 4 5 0; do key "$n" "${VIEWS[$i]%%|*}"; show_view "$n" "$i"; done # digits
  for i in 1 2 3 4 5 0; do key "$n" Tab; show_view "$n" "$i"; done                  # Tab from Overview
  for i in 5 4; do key "$n" BTab; show_view "$n" "$i"; done                          # Shift-Tab back
  key "$n" '?'; wait_for "$n" "help (Esc closes)" 5
  wait_for "$n" "Enter  *Layers, Compare: show the selected layer's ops" 5 && wait_for "$n" "Backspace" 5
  help_legend "$n"
  key "$n" Escape; wait_gone "$n" "help (Esc closes)"
  key "$n" p; wait_for "$n" "PAUSED" 5
  key "$n" 2; show_view "$n" 1 # navigation works while frozen
  key "$n" p; wait_gone "$n" "PAUSED"
}

layers_keys() { # name: sort, filter, drill-down (the view is Layers, sorted by time)
  local n=$1
  [ "$(first_row "$n")" = 3 ] || fail "$n: by time, layer 3 is not first"
  key "$n" s; wait_for "$n" "sorted by layer" 5
  [ "$(first_row "$n")" = 0 ] || fail "$n: by layer, layer 0 is not first"
  key "$n" / a t t e n d; wait_for "$n" "filter: attend_" 5
  key "$n" Enter; wait_for "$n" "Layers · filter: attend" 5 && wait_for "$n" "529.4 us   7.7" 5
  [ "$(n_rows "$n")" = 4 ] || fail "$n: filter attend: $(n_rows "$n") rows, not 4"
  key "$n" Escape; wait_gone "$n" "filter: attend"
  key "$n" / 2 - 3 Enter; wait_for "$n" "filter: 2-3" 5
  [ "$(n_rows "$n")" = 2 ] || fail "$n: filter 2-3: $(n_rows "$n") rows, not 2"
  key "$n" Down Enter; wait_for "$n" "layer 3: ops" 5 && wait_for "$n" "matmul_q .* 62.5 " 5
  key "$n" Escape; wait_gone "$n" "layer 3: ops"; wait_for "$n" "Layers · filter: 2-3" 5
  key "$n" Enter; wait_for "$n" "layer 3: ops" 5
  key "$n" BSpace; wait_gone "$n" "layer 3: ops"
  key "$n" Escape; wait_gone "$n" "filter: 2-3"
  [ "$(n_rows "$n")" = 4 ] || fail "$n: filter cleared: $(n_rows "$n") rows, not 4"
  key "$n" / q; wait_for "$n" "filter: q_" 5 # q is text while typing, not quit
  key "$n" Escape; wait_gone "$n" "filter: q"
  [ -s "$tmp/$n.rc" ] && fail "$n: q in the filter quit"
  key "$n" s; wait_for "$n" "sorted by time" 5
}

resize_round() { # name w h
  local n=$1
  T resize-window -t "$n" -x 60 -y 20; wait_for "$n" "xqprof ─ fixture-4L" 5
  screen "$n" | grep -q "too small" && fail "$n: 60x20 is too small"
  T resize-window -t "$n" -x 20 -y 5; sleep 0.3
  joined "$n" | grep -q "terminal too small: have 20x5, need 60x20" || { fail "$n: 20x5 message"; screen "$n"; }
  T resize-window -t "$n" -x "$2" -y "$3"; show_view "$n" 1
}

for size in 120x40 80x24; do
  w=${size%x*}; h=${size#*x}; n=v$w
  start "$n" "$w" "$h" "$UTF $V"
  show_view "$n" 0 && wait_for "$n" "prefill 800 tok/s" 5 && wait_for "$n" "4.0x less" 5
  wait_for "$n" "+ fp16 ring 2.05 KB (not in the bar)" 5 # fixture.sql's 2048-byte ring, beside the 4x bar
  views_and_keys "$n"
  layers_keys "$n"
  resize_round "$n" "$w" "$h"
  quit_ok "$n"
done

# Compare of fixture (baseline, xq-fixture) and fixture_b (fp16, same model): fixture_b.sql's comment gives the
# numbers. Enter opens layer 0's ops (remat only in the baseline), Esc comes back; other views show the baseline.
for size in 120x40 80x24; do
  w=${size%x*}; h=${size#*x}; n=c$w
  start "$n" "$w" "$h" "$UTF $V $tmp/fixture_b.db"
  show_view "$n" 0; key "$n" 6
  wait_for "$n" "Compare · baseline A vs compare B" 5 && wait_for "$n" "compare B  fixture_b.db run 1 · fp16 · 8 threads · 16 decode steps" 5
  wait_for "$n" "decode time/token  *11.250 ms  *9.000 ms  *1.25×  *-20.0%" 5
  wait_for "$n" "cache held (last step)  *18.4 KB  *65.5 KB  *0.28×  *+255.6%" 5
  wait_for "$n" "│     0  *1.250 ms  *1.000 ms  *1.25×  *-20.0%" 5 && wait_for "$n" "│ other  *2.000 ms  *2.000 ms  *1.00×" 5
  key "$n" Enter; wait_for "$n" "Compare › layer 0: ops (Esc: back)" 5 && wait_for "$n" "│ remat  *250.0 us  *-  *gone" 5
  key "$n" Escape; wait_gone "$n" "layer 0: ops"
  key "$n" Down Down Down Enter; wait_for "$n" "Compare › layer 3: ops" 5 && wait_for "$n" "│ matmul_q  *1.250 ms  *1.250 ms  *1.00×" 5
  key "$n" BSpace; wait_gone "$n" "layer 3: ops"
  key "$n" 1; show_view "$n" 0 # the baseline's Overview
  quit_ok "$n"
done
start cother 120 40 "$UTF $V $tmp/fixture_other.db --view 6"
wait_for cother "Compare: refused, the runs are of different models (baseline fixture-4L, compare fixture-2L)" 5
[ "$(screen cother | grep -c "different models")" = 1 ] || fail "cother: the refusal is not one line"
key cother 2; show_view cother 1; quit_ok cother

# NO_COLOR / --no-color: no colour escapes on any view (and, as a control, colours without them).
SGR='\e\[[0-9;]*(3[0-7]|4[0-7]|38;|48;|9[0-7])[;m]'
colours() { # name: 0 if a colour escape is on views 1-4
  local v
  for v in 1 2 3 4; do key "$1" "$v"; show_view "$1" $((v - 1)); screen "$1" -e | grep -qP "$SGR" && return 0; done
  return 1
}
start col 120 40 "$UTF $V"; show_view col 0; colours col || fail "control: no colour escapes without NO_COLOR"; quit_ok col
start nocol 120 40 "$UTF NO_COLOR=1 $V"; show_view nocol 0; colours nocol && fail "NO_COLOR: colour escapes"; quit_ok nocol
start nocol2 120 40 "$UTF $V --no-color"; show_view nocol2 0; colours nocol2 && fail "--no-color: colour escapes"
quit_ok nocol2

# LANG=C and --ascii: only ASCII, and the charts drawn with ASCII glyphs.
ascii_views() { # name what
  local v
  for v in 1 2 3 4 5 6; do
    key "$1" "$v"; show_view "$1" $((v - 1))
    screen "$1" | grep -qP '[^\x00-\x7F]' && fail "$2: view $v has non-ASCII characters"
  done
  key "$1" 1; show_view "$1" 0; screen "$1" | grep -qE '#{3,}' || fail "$2: Overview bars empty"
  key "$1" 3; show_view "$1" 2; screen "$1" | grep -q '\*' || fail "$2: no op point on the roofline"
  key "$1" 4; show_view "$1" 3; [ "$(screen "$1" | grep -o '#' | wc -l)" -ge 17 ] || fail "$2: Timeline columns empty"
}
start lc 120 40 "env LANG=C LC_ALL=C $V"; show_view lc 0; ascii_views lc "LANG=C"; quit_ok lc
start asc 80 24 "$UTF $V --ascii"; show_view asc 0; ascii_views asc "--ascii"; quit_ok asc

# Signals: the terminal is restored; a SIGKILL (no handler can run) shows that the check sees the difference.
for sig in TERM INT; do
  start "sig$sig" 80 24 "$UTF $V"; show_view "sig$sig" 0
  kill "-$sig" "$(app_pid "sig$sig")"; check_exit "sig$sig" 130
done
start kill 80 24 "$UTF $V"; show_view kill 0; kill -KILL "$(app_pid kill)"; wait_exit kill
[ "$(state kill 'alt=#{alternate_on} cursor=#{cursor_flag}')" = "alt=1 cursor=0" ] ||
  fail "control: after SIGKILL the terminal should be left in the screen's state"

# Missing and corrupt traces: one line, exit 2, and the screen never started (the line stays on the terminal).
echo "not a trace" > "$tmp/junk.db"
head -c 20000 "$tmp/fixture.db" > "$tmp/truncated.db"
for f in absent junk truncated; do
  start "bad$f" 200 24 "$X view $tmp/$f.db"; check_exit "bad$f" 2
  [ "$(screen "bad$f" | grep -c .)" = 1 ] && screen "bad$f" | grep -q "^xqprof: view: $tmp/$f.db: " ||
    { fail "bad$f: not one error line"; screen "bad$f" | head -5; }
done
finish view
