#!/usr/bin/env bash
# compare: two fixture traces built here from committed SQL (tests/data/compare/*.sql over traces/schema.sql; no
# timing involved) are aligned by op and by layer, and the output must equal the committed golden files byte for
# byte. Runs of different models are refused (sha256 differs; no sha256 and the model_config differs) with one
# line and exit 2; so are a missing file, a corrupt one and bad options. XQ_UPDATE_GOLDEN=1 rewrites the goldens.
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}
src=${XQ_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
data=$src/tests/data/compare
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 shell not installed"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash" # fail, ok, expect

# golden NAME -- command...: stdout must equal $data/NAME.golden.
golden() {
  local name=$1; shift 2
  if ! "$@" >"$tmp/$name.out" 2>"$tmp/err"; then fail "$name: exit $?: $(cat "$tmp/err")"; return; fi
  if [ "${XQ_UPDATE_GOLDEN:-0}" = 1 ]; then cp "$tmp/$name.out" "$data/$name.golden"; ok "$name: golden rewritten"
  elif cmp -s "$tmp/$name.out" "$data/$name.golden"; then ok "$name matches its golden file"
  else fail "$name differs from $data/$name.golden:"; diff "$data/$name.golden" "$tmp/$name.out" | head -20; fi
}

for f in a b; do
  cat "$src/traces/schema.sql" "$data/common.sql" "$data/$f.sql" | sqlite3 "$tmp/$f.db" || fail "fixture $f.sql"
done
"$X" compare --help | grep -q '^usage: xqprof compare' && ok "compare --help" || fail "compare --help"

cd "$tmp" || exit 1 # relative paths: the output names the files as given
golden by_op -- "$X" compare a.db b.db --run-b 1
golden by_layer_csv -- "$X" compare a.db b.db --run-b 1 --by layer --csv
golden prefill_by_op -- "$X" compare a.db b.db --run-b 1 --phase prefill

# Properties the goldens encode, checked on their own too: rows only B has are marked new; ratio = B / A.
grep -q '^remat .* new$' "$tmp/by_op.out" && ok "remat only in B: new" || fail "remat row"
awk -F, '$3 == "time_per_token" { exit !($6 / $5 == 1.5 && $7 == 1.5) }' "$tmp/by_layer_csv.out" &&
  ok "csv: time per token 12 -> 18 ms, ratio 1.5" || fail "csv time_per_token row"

expect 2 "different model (sha256)" -- "$X" compare a.db b.db --run-b 2
grep -q 'different models' "$tmp/err" || fail "refusal message: $(cat "$tmp/err")"
expect 2 "different model (model_config, no sha256)" -- "$X" compare a.db b.db --run-b 3
expect 2 "latest run of b.db is another model" -- "$X" compare a.db b.db
expect 2 "missing file" -- "$X" compare a.db none.db
head -c 4096 /dev/urandom >corrupt.db
expect 2 "corrupt file" -- "$X" compare corrupt.db b.db
expect 2 "no such run" -- "$X" compare a.db b.db --run-b 9
expect 2 "one file" -- "$X" compare a.db
expect 2 "bad --by" -- "$X" compare a.db b.db --by step
expect 2 "bad --phase" -- "$X" compare a.db b.db --phase warmup
expect 2 "same file, one run" -- "$X" compare a.db a.db

echo "compare.sh: $fails failures"
[ "$fails" -eq 0 ]
