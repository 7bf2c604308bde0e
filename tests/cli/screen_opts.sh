#!/usr/bin/env bash
# top's (and view's) screen options and prompts are checked before anything runs: an unknown --gpus id, a --filter term that is
# neither a layer, a range N-M with N <= M, nor part of an op name, a layer the model lacks (--layer, --filter), an
# empty or binary --prompts file and a prompt that is not UTF-8 each give one line and exit 2 (they used to run,
# showing empty or all-zero rows, or fail with exit 1 under the screen). Good values still run (--once).
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash" # fail, ok, expect
"$X" synth --shape tiny --type F32 --seed 3 --out "$tmp/tiny.gguf" 2>/dev/null || { echo "FAIL: synth"; exit 1; }
layers=$("$X" info "$tmp/tiny.gguf" | sed -n 's/.*llama, \([0-9]*\) layers.*/\1/p')
[ -n "$layers" ] || { echo "FAIL: layer count of the tiny model"; exit 1; }
TOP="$X top -m $tmp/tiny.gguf -n 2 -c 32 -t 1 --once"
: >"$tmp/empty.txt"
printf 'one\n\0two\n' >"$tmp/nul.txt"
printf 'fine\n\xff\xfe\n' >"$tmp/bad.txt"

expect 2 "--gpus unknown" -- $TOP --gpus h100-sxm,bogus
expect 2 "--filter inverted range" -- $TOP --filter 3-1
expect 2 "--filter open range" -- $TOP --filter 1-
expect 2 "--filter unknown op" -- $TOP --filter "attend bogusop"
expect 2 "--filter layer past the model" -- $TOP --filter "$layers"
expect 2 "--layer past the model" -- $TOP --layer "$layers"
expect 2 "--prompts empty file" -- $TOP --prompts "$tmp/empty.txt"
expect 2 "--prompts with a NUL byte" -- $TOP --prompts "$tmp/nul.txt"
expect 2 "--prompts not UTF-8 (line 2)" -- $TOP --prompts "$tmp/bad.txt"
grep -q 'prompt 2' "$tmp/err" || fail "--prompts: the bad line is not named: $(cat "$tmp/err")"
expect 2 "-p not UTF-8" -- $TOP -p $'abc\xff'

"$X" generate -m "$tmp/tiny.gguf" -p hello -n 2 -c 32 -t 1 --trace "$tmp/t.db" >/dev/null 2>&1 || fail "generate --trace"
expect 2 "view --filter layer past the run" -- "$X" view "$tmp/t.db" --once --view 2 --filter "$layers"
expect 2 "view --filter unknown op" -- "$X" view "$tmp/t.db" --once --view 2 --filter bogusop
expect 2 "view --gpus unknown" -- "$X" view "$tmp/t.db" --once --view 3 --gpus bogus

$TOP --gpus h100-sxm,a100-80g --filter "0-$((layers - 1)) attend" --layer $((layers - 1)) --view 2 --format csv \
  -p hello >"$tmp/ok.csv" 2>"$tmp/err" && [ "$(head -1 "$tmp/ok.csv" | cut -d, -f1)" = op ] &&
  ok "good --gpus, --filter and --layer run" || fail "good options: $(cat "$tmp/err")"
$TOP --gpus "" -p hello >/dev/null 2>"$tmp/err" && ok "--gpus '' (no overlay) runs" || fail "--gpus '': $(cat "$tmp/err")"
[ "$fails" -eq 0 ]
