#!/usr/bin/env bash
# `xqprof top`'s live cache-mode switches and fp16 probe (Modes view): a scripted switch (--switch-after) keeps
# generating under the new mode, and the probe's KL(fp16||mode) is 0 with top-1 agreement 1 while the mode is
# fp16, KL >= 0 and top-1 in [0,1] after; the Modes view's keys b and m switch bits and family on screen; bad
# values of --probe and --switch-after fail before the screen starts. `top --once --view 5` checks the stretches
# without a terminal; the rest runs under tmux, reading the per-mode summary top prints on stderr at exit.
# Model: stories260K from ../shared, else the default model; skipped with a message if neither is there.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
M=$SHARED/models/stories260K/stories260K.gguf
[ -r "$M" ] || M=$SRC/models/default.gguf
[ -r "$M" ] || { echo "SKIP: no model (stories260K or models/default.gguf)"; exit 0; }
tmp=$(mktemp -d); S="xqmodes$$"
T() { tmux -L "$S" "$@"; }
trap 'T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

start() { # name command… (stderr to $tmp/name.err, exit status to $tmp/name.rc)
  local name=$1; shift
  T new-session -d -s "$name" -x 120 -y 40 "$* 2> $tmp/$name.err; echo \$? > $tmp/$name.rc; sleep 60"
}
finished() { # name: waits for the exit status (at most 60 s)
  local i
  for ((i = 0; i < 300; i++)); do [ -s "$tmp/$1.rc" ] && return 0; sleep 0.2; done
  fail "$1: did not finish: $(cat "$tmp/$1.err" 2>/dev/null)"; T capture-pane -p -t "$1" | head -5; return 1
}
wait_for() { # name pattern
  local i
  for ((i = 0; i < 300; i++)); do T capture-pane -p -t "$1" | grep -q -- "$2" && return 0; sleep 0.2; done
  fail "$1: '$2' never appeared"; T capture-pane -p -t "$1" | head -20; return 1
}
# field NAME MODE KEY: the number after KEY on the summary line of MODE ("top: mode MODE: …").
field() { grep "^top: mode $2: " "$tmp/$1.err" | head -1 | sed -n "s/.*$3 \([0-9.]*\).*/\1/p"; }
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x >= lo && x <= hi) }'; }

TOP="$X top -m $M -t 1 -c 256 -p 'Once upon a time' --interval 100"

# Bad values: one line, exit 2, before any screen.
"$X" top -m "$M" --switch-after 5 2> "$tmp/e1"; rc=$?
[ $rc = 2 ] && [ "$(wc -l < "$tmp/e1")" = 1 ] && grep -q "expected N:MODE" "$tmp/e1" || fail "--switch-after 5: rc $rc"
"$X" top -m "$M" --switch-after 5:bogus 2> "$tmp/e2"; rc=$?
[ $rc = 2 ] && [ "$(wc -l < "$tmp/e2")" = 1 ] && grep -q "unknown cache mode 'bogus'" "$tmp/e2" || fail "bogus: rc $rc"
"$X" top -m "$M" --probe 0 2> "$tmp/e3"; rc=$?
[ $rc = 2 ] && [ "$(wc -l < "$tmp/e3")" = 1 ] || fail "--probe 0: rc $rc"

# Without a terminal: one prompt of 40 tokens, switched to kv-8 after 6, the Modes view's data as JSON.
eval "$X top -m $M -t 1 -c 256 -p 'Once upon a time' -n 40 --once --format json --view 5 --switch-after 6:kv-8 \
  --probe 3" > "$tmp/once.json" 2> "$tmp/once.err" < /dev/null || fail "top --once: $(cat "$tmp/once.err")"
/usr/bin/python3 - "$tmp/once.json" <<'PY' || fail "top --once --view 5: $(cat "$tmp/once.json")"
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["rows"]
assert d["view"] == "Modes" and d["mode"] == "kv-8" and d["probe_every"] == 3
assert a["mode"] == "fp16" and b["mode"] == "kv-8" and b["first_step"] > a["first_step"]
assert b["bytes_per_token"] < a["bytes_per_token"] and b["decode_tokens_per_s"] > 0
assert a["probe_checks"] > 0 and a["probe_kl_mean"] < 1e-5 and a["probe_top1_pct"] == 100
assert b["probe_checks"] > 0 and b["probe_kl_mean"] >= 0 and 0 <= b["probe_top1_pct"] <= 100
PY

command -v tmux >/dev/null || { echo "SKIP: tmux absent (the screen's checks)"; [ $fails = 0 ]; exit $?; }

# Scripted switch after 6 tokens, probe every 3: fp16 agrees with its own shadow; kv-8 carries on generating.
start sw "$TOP -n 48 --max-iterations 30 --switch-after 6:kv-8 --probe 3"
if finished sw; then
  [ "$(cat "$tmp/sw.rc")" = 0 ] || fail "switch run: exit status $(cat "$tmp/sw.rc"): $(cat "$tmp/sw.err")"
  grep -q "^top: mode fp16: 6 tokens generated" "$tmp/sw.err" || fail "fp16 stretch: $(cat "$tmp/sw.err")"
  n=$(grep "^top: mode kv-8: " "$tmp/sw.err" | sed -n 's/.*: \([0-9]*\) tokens generated.*/\1/p')
  [ -n "$n" ] && [ "$n" -gt 0 ] || fail "kv-8 stretch generated '$n' tokens: $(cat "$tmp/sw.err")"
  grep -q "^top: mode kv-8: .*switched in .* tokens re-prefilled" "$tmp/sw.err" || fail "kv-8: no switch cost"
  between "$(field sw fp16 'KL(fp16||mode)')" 0 0.00001 || fail "fp16 vs its shadow: KL $(field sw fp16 'KL(fp16||mode)')"
  [ "$(field sw fp16 top-1)" = 1.000 ] || fail "fp16 vs its shadow: top-1 $(field sw fp16 top-1)"
  c=$(field sw kv-8 probe:); [ -n "$c" ] && [ "$c" -gt 0 ] || fail "kv-8: '$c' probe checks"
  between "$(field sw kv-8 'KL(fp16||mode)')" 0 1000 || fail "kv-8: KL $(field sw kv-8 'KL(fp16||mode)')"
  between "$(field sw kv-8 top-1)" 0 1 || fail "kv-8: top-1 $(field sw kv-8 top-1)"
fi

# A long fp16 run probed every 2 tokens: every check agrees.
start same "$TOP -n 200 --max-iterations 20 --probe 2"
if finished same; then
  [ "$(cat "$tmp/same.rc")" = 0 ] || fail "fp16 probe run: exit status $(cat "$tmp/same.rc")"
  c=$(grep "^top: mode fp16: " "$tmp/same.err" | sed -n 's/.*probe: \([0-9]*\) checks.*/\1/p')
  [ -n "$c" ] && [ "$c" -gt 10 ] || fail "fp16 probe: '$c' checks: $(cat "$tmp/same.err")"
  between "$(field same fp16 'KL(fp16||mode)')" 0 0.00001 || fail "fp16 probe: KL $(field same fp16 'KL(fp16||mode)')"
  [ "$(field same fp16 top-1)" = 1.000 ] || fail "fp16 probe: top-1 $(field same fp16 top-1)"
fi

# The Modes view's keys: b (fewer bits) then m (next family), each re-prefilling and carrying on.
start keys "$TOP -n 100000 --cache kv-8 --view 5"
wait_for keys "current mode: kv-8" && wait_for keys "m/M: next/previous mode"
T send-keys -t keys b; wait_for keys "current mode: kv-4"
T send-keys -t keys m; wait_for keys "current mode: xq-4"
wait_for keys "[>▶] xq-4 " && wait_for keys "  kv-4 "
T send-keys -t keys q
if finished keys; then
  [ "$(cat "$tmp/keys.rc")" = 0 ] || fail "keys run: exit status $(cat "$tmp/keys.rc")"
  for mode in kv-8 kv-4 xq-4; do grep -q "^top: mode $mode: " "$tmp/keys.err" || fail "keys: no $mode stretch"; done
fi

[ $fails = 0 ] && echo "top_modes: all passed" || { echo "top_modes: $fails failed"; exit 1; }
