#!/usr/bin/env bash
# Screen test of `xqprof top` on the default model (models/default.gguf, SmolLM2-135M: 30 layers) under tmux at
# 120×40 and 80×24: every view by digit and Tab with its title and a known value, help, Layers sorted (all 30
# layers), filtered by op name and drilled into a layer's ops (live: the source sums the op stream per layer and
# op), freeze, resize to 60×20, 20×5 and back, q exits 0 with the terminal restored; with --trace (the trace takes
# the op stream) the filter and drill-down say why they are N/A; NO_COLOR and LANG=C; `top --once` without a
# terminal; and `view` of a trace that `generate --trace` wrote. Skipped with a message when the model is absent.
source "$(dirname "$0")/common.bash"
M=$SRC/models/default.gguf
[ -r "$M" ] || { echo "SKIP: no default model ($M; make model fetches it)"; exit 0; }
need_tmux
UTF="env LANG=C.UTF-8 LC_ALL=C.UTF-8"
TOP="$X top -m $M -t 2 -n 48 -c 256"
n_rows() { screen "$1" | grep -cE '^│ +[0-9]+ +[0-9.]+ (ms|us)'; }

views() { # name
  local n=$1
  key "$n" 2; wait_for "$n" "time/step" 60 && wait_for "$n" "│ *[0-9][0-9]* *[0-9.][0-9.]* [mu]s" 60
  key "$n" 3; wait_for "$n" "Roofline (log-log" 5 && wait_for "$n" "matmul_q" 30
  key "$n" 4; wait_for "$n" "Timeline (steps" 5 && wait_for "$n" "P prefill" 30
  key "$n" Tab; wait_for "$n" "┌ Modes" 5 && wait_for "$n" "fp16" 5
  key "$n" 6; wait_for "$n" "Compare: needs two recorded runs" 5
  key "$n" Tab; wait_for "$n" "where a step's" 5 && wait_for "$n" "tok/s" 5
  key "$n" BTab; wait_for "$n" "Compare: needs" 5
  key "$n" '?'; wait_for "$n" "help (Esc closes)" 5 && wait_for "$n" "Layers: filter" 5
  key "$n" Escape; wait_gone "$n" "help (Esc closes)"
}

layers() { # name rows-visible
  local n=$1
  key "$n" 2 s; wait_for "$n" "sorted by layer" 5
  local got; got=$(n_rows "$n")
  [ "$got" = "$2" ] || fail "$n: $got layer rows, want $2"
  [ "$2" = 30 ] && { screen "$n" | grep -qE '^│ +29 ' || fail "$n: no layer 29"; }
  key "$n" / a t t e n d Enter; wait_for "$n" "Layers · filter: attend" 5
  screen "$n" | grep -q "N/A while" && fail "$n: op filter N/A in a live run"
  got=$(n_rows "$n"); [ "$got" = "$2" ] || fail "$n: filter attend: $got layer rows, want $2"
  key "$n" Escape; wait_gone "$n" "filter: attend"
  key "$n" Enter; wait_for "$n" "layer 0: ops" 5 && wait_for "$n" "│ matmul_q  *1.0 " 5 && wait_for "$n" "│ attend  " 5
  key "$n" BSpace; wait_gone "$n" "layer 0: ops"
  key "$n" s
}

for size in 120x40 80x24; do
  w=${size%x*}; h=${size#*x}; n=t$w
  start "$n" "$w" "$h" "$UTF $TOP"
  wait_for "$n" "\[1\]Overview" 60 && wait_for "$n" "fp16" 5 && wait_for "$n" "cpu 2 thr" 5
  wait_for "$n" "[0-9.]* tok/s" 60
  views "$n"
  layers "$n" "$([ "$h" = 40 ] && echo 30 || echo 17)"
  key "$n" p; wait_for "$n" "PAUSED" 5; key "$n" p; wait_gone "$n" "PAUSED"
  T resize-window -t "$n" -x 60 -y 20; sleep 0.5
  screen "$n" | grep -q "too small" && fail "$n: 60x20 is too small"
  T resize-window -t "$n" -x 20 -y 5; sleep 0.5
  joined "$n" | grep -q "terminal too small: have 20x5, need 60x20" || fail "$n: 20x5 message"
  T resize-window -t "$n" -x "$w" -y "$h"; wait_for "$n" "time/step" 5
  quit_ok "$n"
done

# With --trace the trace writer takes the op stream: the op filter and a layer's ops say why they are N/A.
start tr 120 40 "$UTF $TOP --trace $tmp/top.db"; wait_for tr "[0-9.]* tok/s" 60
key tr 2 / a t t e n d Enter; wait_for tr "op filter: N/A while top --trace F records" 30
key tr Escape Enter; wait_for tr "ops of one layer: N/A while top --trace F records" 5
key tr BSpace; wait_gone tr "ops of one layer"
quit_ok tr

# NO_COLOR: no colour escapes; LANG=C: ASCII only, the Timeline drawn with '#'.
start nocol 120 40 "$UTF NO_COLOR=1 $TOP"; wait_for nocol "[0-9.]* tok/s" 60; sleep 1
screen nocol -e | grep -qP '\e\[[0-9;]*(3[0-7]|4[0-7]|38;|48;|9[0-7])[;m]' && fail "NO_COLOR: colour escapes"
quit_ok nocol
start lc 120 40 "env LANG=C LC_ALL=C $TOP --view 4"; wait_for lc "Timeline (steps" 60 && wait_for lc "P prefill" 60
screen lc | grep -q '#' || fail "LANG=C: no ASCII chart glyphs in the Timeline"
screen lc | grep -qP '[^\x00-\x7F]' && fail "LANG=C: non-ASCII characters on screen"
quit_ok lc

# --once without a terminal: one prompt, then the view's data; the Layers CSV has a row per layer.
$TOP -n 8 --once --view 2 --format csv < /dev/null > "$tmp/layers.csv" 2> "$tmp/err" || fail "top --once: $(cat "$tmp/err")"
[ "$(head -1 "$tmp/layers.csv" | cut -d, -f1)" = layer ] && [ "$(wc -l < "$tmp/layers.csv")" = 31 ] ||
  fail "top --once --view 2 --format csv: $(wc -l < "$tmp/layers.csv") lines, want a header and 30 rows"
$TOP -n 8 --once < /dev/null | grep -q '"source": "live"' || fail "top --once: not live data"
$TOP -n 8 --once --view 2 --layer 3 --format csv < /dev/null > "$tmp/ops.csv" 2> "$tmp/err" || fail "top --once --layer 3"
[ "$(head -1 "$tmp/ops.csv" | cut -d, -f1)" = op ] && grep -q '^matmul_q,1.000,' "$tmp/ops.csv" ||
  fail "top --once --view 2 --layer 3: no op rows of layer 3: $(head -3 "$tmp/ops.csv")"
$TOP < /dev/null > /dev/null 2>&1; [ $? = 2 ] || fail "top without a terminal (no --once) is not exit 2"

# view of a trace written by generate --trace: every view opens on real data.
"$X" generate -m "$M" -t 2 -p "Once upon a time" -n 16 --temp 0 --trace "$tmp/run.db" > /dev/null 2>&1 ||
  fail "generate --trace"
start gen 120 40 "$UTF $X view $tmp/run.db"
wait_for gen "recorded run" 10 && wait_for gen "[0-9.]* tok/s" 5
key gen 2; wait_for gen "time/step" 5
key gen Enter; wait_for gen "layer [0-9]*: ops" 5 && wait_for gen "matmul_q" 5
key gen 4; wait_for gen "Timeline (steps" 5
quit_ok gen
finish top
