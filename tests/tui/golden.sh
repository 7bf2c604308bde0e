#!/usr/bin/env bash
# --once golden files: `xqprof view FIXTURE.db --once --format json` of every view (and CSV of the tables, a
# filter, a layer's ops) must equal tests/data/tui/*.json|csv byte for byte. The fixture is built here from
# tests/data/tui/fixture.sql, so nothing depends on timing. UPDATE_GOLDEN=1 rewrites the files (review the diff).
# Compare (view 6) of two fixture traces: fixture_b.sql is the same model under another mode (aligned rows, known
# speedups), fixture_other.sql another model (--view 6 refused: one line, exit 2).
# Also: missing, foreign, empty and truncated traces fail with one line and exit 2.
source "$(dirname "$0")/common.bash"
G=$SRC/tests/data/tui
make_fixture "$tmp/fixture.db"
make_fixture "$tmp/fixture_b.db" fixture_b
make_fixture "$tmp/fixture_other.db" fixture_other
names=(overview layers roofline timeline modes compare)

check() { # golden-file args…
  local want=$G/$1; shift
  "$X" view "$tmp/fixture.db" --once "$@" > "$tmp/out" 2> "$tmp/err" || { fail "$*: exit $?: $(cat "$tmp/err")"; return; }
  if [ -n "${UPDATE_GOLDEN:-}" ]; then cp "$tmp/out" "$want"; return; fi
  diff -u "$want" "$tmp/out" > "$tmp/diff" || { fail "$* differs from ${want#$SRC/}"; head -30 "$tmp/diff"; }
}
for v in 1 2 3 4 5 6; do
  check "${names[v - 1]}.json" --view "$v" --format json
done
check layers.csv --view 2 --format csv
check timeline.csv --view 4 --format csv
check overview.csv --view 1 --format csv
check layers-attend.json --view 2 --filter attend
check layer3-ops.json --view 2 --layer 3
check compare-b.json "$tmp/fixture_b.db" --view 6
check compare-b.csv "$tmp/fixture_b.db" --view 6 --format csv
check compare-b-layer0.json "$tmp/fixture_b.db" --view 6 --layer 0
# Compare of another model's run, asked for alone: one line and exit 2, nothing on stdout (as `xqprof compare`).
"$X" view "$tmp/fixture.db" "$tmp/fixture_other.db" --once --view 6 > "$tmp/out" 2> "$tmp/err"; rc=$?
[ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ] &&
  grep -qx 'xqprof: view: Compare: the runs are of different models (baseline fixture-4L, compare fixture-2L): not comparable' \
    "$tmp/err" || fail "compare: another model: exit $rc, stderr '$(cat "$tmp/err")'"
"$X" view "$tmp/fixture.db" "$tmp/fixture_other.db" --once --view 1 > /dev/null 2>&1 ||
  fail "compare: another model given, Overview asked for: not exit 0"

# Known values, independently of the golden files (what fixture.sql's comment promises).
grep -q '"decode_tokens_per_s": 88.889,' "$G/overview.json" || fail "overview: decode 88.889 tok/s"
grep -q '"cache_ratio": 4.000' "$G/overview.json" && grep -q '"cache_ring_bytes": 2048' "$G/overview.json" ||
  fail "overview: 4x less cache than fp16, and its 2048-byte fp16 ring"
[ "$(sed -n 2p "$G/layers.csv" | cut -d, -f1,6,7)" = "3,7.280,compute" ] || fail "layers: layer 3 first, 7.28 FLOP/B"
[ "$(grep -c '"bound": "memory"' "$G/layers.json")" = 2 ] || fail "layers: two memory-bound layers"
# fixture_b.sql's comment: 9 against 11.25 ms per decode token, layer 0 1.25x faster, remat only in the baseline.
grep -q '"ms_per_token_speedup": 1.250,' "$G/compare-b.json" || fail "compare: decode 1.25x"
grep -q '{"layer": 0, "baseline_ms": 1.250, "compare_ms": 1.000, "speedup": 1.250, "delta_pct": -20.000}' \
  "$G/compare-b.json" || fail "compare: layer 0 1.25x, -20%"
grep -q '"op": "remat", "baseline_ms": 0.250, "compare_ms": null' "$G/compare-b-layer0.json" ||
  fail "compare: remat of layer 0 only in the baseline"
# Two runs of one file (--run-b): the run against itself, every row 1x.
"$X" view "$tmp/fixture.db" --run-b 1 --once --view 6 --format csv > "$tmp/self.csv" || fail "--run-b 1"
[ "$(cut -d, -f4 "$tmp/self.csv" | sort -u | tr '\n' ' ')" = "1.000 speedup " ] || fail "--run-b 1: not all 1x"

# Deterministic: a second run prints the same bytes; JSON parses where python3 is around.
"$X" view "$tmp/fixture.db" --once --view 2 > "$tmp/a" && "$X" view "$tmp/fixture.db" --once --view 2 > "$tmp/b" &&
  cmp -s "$tmp/a" "$tmp/b" || fail "two runs differ"
if command -v python3 > /dev/null; then
  for f in "$G"/*.json; do python3 -m json.tool "$f" > /dev/null || fail "${f#$SRC/}: not JSON"; done
fi

# Bad input: one line on stderr, exit 2, nothing on stdout.
bad() { # what file
  "$X" view "$2" --once > "$tmp/out" 2> "$tmp/err"; local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ] && grep -q '^xqprof: view: ' "$tmp/err" ||
    fail "$1: exit $rc, stderr '$(cat "$tmp/err")'"
}
bad "missing file" "$tmp/absent.db"
echo "not a trace" > "$tmp/text.db"; bad "text file" "$tmp/text.db"
: > "$tmp/empty.db"; bad "empty file" "$tmp/empty.db"
sqlite3 "$tmp/foreign.db" "CREATE TABLE t(x)"; bad "foreign SQLite file" "$tmp/foreign.db"
head -c 20000 "$tmp/fixture.db" > "$tmp/truncated.db"; bad "truncated trace" "$tmp/truncated.db"
"$X" view "$tmp/fixture.db" --once --format xml 2> /dev/null; [ $? = 2 ] || fail "--format xml is not exit 2"
"$X" view "$tmp/fixture.db" --once --layer 4 2> /dev/null; [ $? = 2 ] || fail "--layer 4 of 4 layers is not exit 2"
# A second trace that is missing or broken, or a run it does not have: one line, exit 2, as for the first.
bad2() { # what args…
  local what=$1; shift
  "$X" view "$tmp/fixture.db" "$@" --once --view 6 > "$tmp/out" 2> "$tmp/err"; local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ] && grep -q '^xqprof: view: ' "$tmp/err" ||
    fail "$what: exit $rc, stderr '$(cat "$tmp/err")'"
}
bad2 "missing second file" "$tmp/absent.db"
bad2 "truncated second file" "$tmp/truncated.db"
bad2 "foreign second file" "$tmp/foreign.db"
bad2 "--run-b 9" --run-b 9
finish golden
