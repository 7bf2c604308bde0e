#!/usr/bin/env bash
# `generate --trace` (issue 5, Done-when 1 and 5): the text is the same as without tracing; the trace holds one
# step per forward call and every op; in every step the top-level ops' times sum to at most the step's time;
# `sqlite3 t.db < traces/queries.sql` runs without error; a second run appends; the exports hold what the file
# holds (chrome: valid JSON, required fields, one X event per span and step; csv: one row per table row; md: the
# per-layer table). Uses the default model (skipped with a message if absent).
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}
M=$SRC/models/default.gguf
if [ ! -r "$M" ]; then echo "SKIP: $M absent (scripts/fetch-model)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
q() { sqlite3 "$tmp/t.db" "$1"; }

P='A "quoted" \ prompt'$'\t''with a tab'
"$X" generate -m "$M" -p "$P" -n 24 --temp 0 -t 2 > "$tmp/plain.txt" 2>/dev/null || fail "untraced generate"
"$X" generate -m "$M" -p "$P" -n 24 --temp 0 -t 2 --trace "$tmp/t.db" > "$tmp/traced.txt" 2> "$tmp/err.txt" ||
  fail "traced generate: $(cat "$tmp/err.txt")"
cmp -s "$tmp/plain.txt" "$tmp/traced.txt" || fail "tracing changed the generated text"
[ -s "$tmp/t.db" ] && [ ! -s "$tmp/t.db-wal" ] || fail "the trace file is missing or its WAL was not folded in"

[ "$(q "SELECT status FROM run")" = done ] || fail "run status is not 'done'"
[ "$(q "SELECT count(*) FROM step WHERE phase = 'prefill'")" = 1 ] || fail "not one prefill step"
n_dec=$(q "SELECT count(*) FROM step WHERE phase = 'decode'")
[ "$n_dec" -ge 1 ] && [ "$n_dec" -le 23 ] || fail "$n_dec decode steps for -n 24"
[ "$(q "SELECT spans = (SELECT count(*) FROM op) AND spans_dropped = 0 FROM run")" = 1 ] || fail "span count"
[ "$(q "SELECT count(DISTINCT layer) FROM op")" = 31 ] || fail "ops of 30 layers and the non-layer ops expected"
over=$(q "SELECT count(*) FROM step s WHERE s.ops_ns > s.ns OR (SELECT sum(o.ns) FROM op o WHERE o.run = s.run
          AND o.step = s.idx AND o.depth = 0) > s.ns")
[ "$over" = 0 ] || fail "$over steps where the ops' times exceed the step's time"
[ "$(q "SELECT count(*) FROM step WHERE NOT (op_first <= op_last)")" = 0 ] || fail "step op ranges"
[ "$(q "SELECT count(*) FROM step s WHERE s.flops != (SELECT sum(flops) FROM op o WHERE o.run = s.run AND o.step = s.idx)
        OR s.bytes_weights != (SELECT sum(bytes_weights) FROM op o WHERE o.run = s.run AND o.step = s.idx)")" = 0 ] ||
  fail "step totals differ from the sums of their ops"
[ "$(q "SELECT count(*) FROM op o JOIN step s ON s.run = o.run AND s.idx = o.step
        WHERE o.rowid NOT BETWEEN s.op_first AND s.op_last")" = 0 ] || fail "ops outside their step's rowid range"

if sqlite3 "$tmp/t.db" < "$SRC/traces/queries.sql" > "$tmp/queries.txt" 2> "$tmp/queries.err" && [ ! -s "$tmp/queries.err" ]; then
  grep -q "gflop_per_s" "$tmp/queries.txt" && grep -q "flop_per_byte" "$tmp/queries.txt" ||
    fail "queries.sql printed no tables"
else
  fail "queries.sql: $(head -3 "$tmp/queries.err")"
fi

"$X" generate -m "$M" -p "Hello" -n 4 --temp 0 -t 1 --trace "$tmp/t.db" > /dev/null 2>&1 || fail "second traced run"
[ "$(q "SELECT count(*) FROM run")" = 2 ] || fail "the second run was not appended"

# ppl records its result as metrics of its run, one prefill step per chunk.
T=/usr/share/common-licenses/GPL-3
if [ -r "$T" ]; then
  ppl=$("$X" ppl -m "$M" -f "$T" -c 64 --chunks 2 -t 2 --trace "$tmp/p.db" 2>/dev/null | sed -n 's/^PPL = \([0-9.]*\).*/\1/p')
  [ -n "$ppl" ] && [ "$(sqlite3 "$tmp/p.db" "SELECT printf('%.4f', value) FROM metric WHERE name = 'ppl'")" = "$ppl" ] ||
    fail "ppl metric"
  [ "$(sqlite3 "$tmp/p.db" "SELECT count(*) || ' ' || min(phase) || ' ' || sum(n_tokens) FROM step")" = "2 prefill 128" ] ||
    fail "ppl steps"
fi

# Exports of run 1.
"$X" export "$tmp/t.db" --run 1 --format chrome -o "$tmp/t.json" || fail "export chrome"
"$X" export "$tmp/t.db" --run 1 --format csv -o "$tmp/csv" || fail "export csv"
"$X" export "$tmp/t.db" --run 1 --format csv --table step > "$tmp/step.csv" || fail "export csv --table"
"$X" export "$tmp/t.db" --run 1 --format md -o "$tmp/t.md" || fail "export md"
n_op=$(q "SELECT count(*) FROM op WHERE run = 1"); n_step=$(q "SELECT count(*) FROM step WHERE run = 1")
n_kind=$(q "SELECT count(*) FROM op_kind")
/usr/bin/python3 - "$tmp" "$n_op" "$n_step" "$n_kind" "$P" <<'PY' || fails=$((fails+1))
import csv, json, sys
tmp, n_op, n_step, n_kind, prompt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
t = json.load(open(f"{tmp}/t.json"))
ev = t["traceEvents"]
xs = [e for e in ev if e["ph"] == "X"]
for e in xs:
    assert {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args"} <= e.keys(), e
    assert e["dur"] >= 0 and e["ts"] >= 0
assert len(xs) == n_op + n_step, (len(xs), n_op, n_step)
assert sum(e["cat"] == "user_annotation" and e["name"].startswith("ProfilerStep#") for e in xs) == n_step
assert any(e["ph"] == "C" and e["name"] == "cache bytes" for e in ev)
assert any(e["ph"] == "M" and e["name"] == "thread_name" and e["args"]["name"] == "layer 29" for e in ev)
assert any(e["ph"] == "M" and e["name"] == "process_name" for e in ev)
assert prompt in t["xqprof"]["command"] or prompt.replace("\t", "\\t") in t["xqprof"]["command"], t["xqprof"]
counts = {"run": 1, "step": n_step, "op": n_op, "op_kind": n_kind, "metric": 0}
for table, n in counts.items():
    rows = list(csv.reader(open(f"{tmp}/csv/{table}.csv", newline="")))
    assert len(rows) - 1 == n, (table, len(rows) - 1, n)
assert len(list(csv.reader(open(f"{tmp}/step.csv", newline="")))) - 1 == n_step
md = open(f"{tmp}/t.md").read()
assert "## Per layer" in md and "| 29 |" in md and "## Top ops by self time" in md, md[:500]
print(f"exports: {len(xs)} X events = {n_op} ops + {n_step} steps; csv and md consistent")
PY
[ "$fails" -eq 0 ] && echo "trace_generate: ok"
[ "$fails" -eq 0 ]
