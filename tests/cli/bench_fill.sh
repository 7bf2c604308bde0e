#!/usr/bin/env bash
# `bench --ctx`: one row per test and depth in the order given (a shallower depth after a deeper one is rewound
# to); a depth is filled once and the later runs rewind to it (session_rewind): a traced run at depth 600 with
# -r 3 holds two prefill steps (512 + 88 tokens), not six. Uses the default model (skipped if absent).
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}
M=$SRC/models/default.gguf
if [ ! -r "$M" ]; then echo "SKIP: $M absent (scripts/fetch-model)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash"

"$X" bench -m "$M" -t 2 -p 16 -n 4 -r 2 --cache kv-4 --ctx 0,40,20,600 --csv "$tmp/b.csv" > "$tmp/out.txt" \
  2> "$tmp/err.txt" || fail "bench: $(cat "$tmp/err.txt")"
rows=$(tail -n +2 "$tmp/b.csv" | cut -d, -f1,3,4 | tr '\n' ' ')
[ "$rows" = "pp16,kv-4,0 tg4,kv-4,0 tg4,kv-4,40 tg4,kv-4,20 tg4,kv-4,600 " ] || fail "rows: $rows"
awk -F, 'NR > 1 && !($5 > 0) { bad = 1 } END { exit bad }' "$tmp/b.csv" || fail "a row without tokens/s"

"$X" bench -m "$M" -t 2 -p 0 -n 4 -r 3 --cache kv-4 --ctx 600 --trace "$tmp/t.db" > "$tmp/out.txt" \
  2> "$tmp/err.txt" || fail "traced bench: $(cat "$tmp/err.txt")"
prefill=$(sqlite3 "$tmp/t.db" "SELECT count(*) FROM step WHERE phase = 'prefill'")
[ "$prefill" = 2 ] || fail "$prefill prefill steps, expected 2 (one fill of 600 as 512 + 88; the other runs rewind)"
decode=$(sqlite3 "$tmp/t.db" "SELECT count(*) FROM step WHERE phase = 'decode'")
[ "$decode" = 12 ] || fail "$decode decode steps, expected 12 (3 runs x 4 tokens)"

[ "$fails" = 0 ] && echo "bench --ctx: fills once per depth, rows in order" || exit 1
