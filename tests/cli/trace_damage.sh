#!/usr/bin/env bash
# Damaged or wrong trace files given to the commands that read traces (view, export in every format, project,
# compare, plan --eval) are bad input: one line "xqprof: <cmd>: <file>: …" and exit 2, the same in each command.
# Covered: a folder or a device instead of a file; a dropped table, view or column; a CSV folder export that
# fails half-way (the folder's old files stay as they were); numbers out of their columns' ranges; a damaged
# block of a killed run's packed op spans (and such a run shown as killed); eval metrics that are not finite
# numbers. Uses stories260K from ../shared; skipped without it.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
M=$SHARED/models/stories260K/stories260K.gguf
TEXT=$SHARED/text/tiny_stories_own.txt
if [ ! -r "$M" ] || [ ! -r "$TEXT" ]; then echo "SKIP: no stories260K or its text in $SHARED"; exit 0; fi
command -v sqlite3 > /dev/null || { echo "SKIP: sqlite3 shell not installed"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash" # fail, ok, expect

# expect_msg CODE WHAT PATTERN -- command...: as expect, and the error line matches PATTERN (grep -E).
expect_msg() {
  local want=$1 what=$2 pattern=$3; shift 4
  expect "$want" "$what" -- "$@"
  grep '^xqprof: ' "$tmp/err" | grep -qE "$pattern" || fail "$what: message does not match '$pattern'"
}
# every_reader CODE WHAT PATTERN FILE: each trace-reading command on FILE.
every_reader() {
  local want=$1 what=$2 pattern=$3 f=$4
  expect_msg "$want" "view $what" "$pattern" -- "$X" view "$f" --once
  for fmt in md chrome; do expect_msg "$want" "export $fmt $what" "$pattern" -- "$X" export "$f" --format "$fmt"; done
  expect_msg "$want" "export csv --table op $what" "$pattern" -- "$X" export "$f" --format csv --table op
  expect_msg "$want" "export csv folder $what" "$pattern" -- "$X" export "$f" --format csv -o "$tmp/csv-$RANDOM"
  expect_msg "$want" "project $what" "$pattern" -- "$X" project "$f"
  expect_msg "$want" "compare $what" "$pattern" -- "$X" compare "$f" "$tmp/t.db"
}

"$X" generate -m "$M" -p Once -n 40 -t 1 --trace "$tmp/t.db" > /dev/null 2>&1 || { echo "FAIL: generate"; exit 1; }
"$X" eval -m "$M" -f "$TEXT" -c 32 --chunks 1 --modes fp16,kv-4 --trace "$tmp/ev.db" > /dev/null 2>&1 ||
  { echo "FAIL: eval"; exit 1; }
damaged() { # NAME SQL: a copy of t.db (ev.db for names ev*) with SQL applied
  local from=$tmp/t.db; case $1 in ev*) from=$tmp/ev.db ;; esac
  cp "$from" "$tmp/$1.db" && sqlite3 "$tmp/$1.db" "$2" || fail "cannot make $1.db"
}

# Not a trace file at all.
every_reader 2 "of a folder" ': is a directory, not an xqprof trace$' "$tmp"
every_reader 2 "of /dev/zero" '/dev/zero: not a regular file, not an xqprof trace$' /dev/zero
expect_msg 2 "plan --eval of a folder" 'is a directory' -- "$X" plan --model "$M" --eval "$tmp" --max-dppl 0.1

# A schema with a table, a view or a column missing.
damaged no-op "DROP TABLE op"
every_reader 2 "without the op table" 'no-op.db: damaged trace: the table op is missing$' "$tmp/no-op.db"
damaged no-depth "ALTER TABLE op DROP COLUMN depth"
every_reader 2 "without op.depth" 'damaged trace: the column op.depth is missing$' "$tmp/no-depth.db"
damaged no-view "DROP VIEW op_totals"
expect_msg 2 "export md without the op_totals view" 'damaged trace: the view op_totals is missing$' -- \
  "$X" export "$tmp/no-view.db" --format md
damaged ev-no-metric "ALTER TABLE metric RENAME TO m"
expect_msg 2 "plan --eval without the metric table" 'damaged trace: the table metric is missing$' -- \
  "$X" plan --model "$M" --eval "$tmp/ev-no-metric.db" --max-dppl 0.1

# A CSV folder export is all or nothing: a failure half-way (here the file size limit reached in op.csv, after
# run, device and step were written) leaves the folder's old files exactly as they were, and no temporary.
old_folder() { mkdir -p "$1" && for t in run device step op metric op_kind; do echo "old $t" > "$1/$t.csv"; done; }
unchanged() { # WHAT FOLDER
  local t bad=0
  for t in run device step op metric op_kind; do [ "$(cat "$2/$t.csv")" = "old $t" ] || bad=1; done
  [ "$(ls "$2" | wc -l)" = 6 ] || bad=1
  [ "$bad" = 0 ] && ok "$1: old files untouched" || { fail "$1: folder changed:"; ls -l "$2" | sed 's/^/    /'; }
}
old_folder "$tmp/full"
(ulimit -f 64; trap '' XFSZ; "$X" export "$tmp/t.db" --format csv -o "$tmp/full" > /dev/null 2> "$tmp/full.err")
rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '^xqprof: ' "$tmp/full.err")" = 1 ] && ok "csv folder on a full disk: exit 1" ||
  fail "csv folder on a full disk: exit $rc: $(cat "$tmp/full.err")"
unchanged "csv folder on a full disk" "$tmp/full"
old_folder "$tmp/dropped"
expect 2 "csv folder of a trace without op" -- "$X" export "$tmp/no-op.db" --format csv -o "$tmp/dropped"
unchanged "csv folder of a trace without op" "$tmp/dropped"
(ulimit -f 64; trap '' XFSZ; "$X" export "$tmp/t.db" --format csv -o "$tmp/new" > /dev/null 2>&1)
[ ! -e "$tmp/new" ] && ok "no folder left by a failed export" || fail "a failed export left $tmp/new"
"$X" export "$tmp/t.db" --format csv -o "$tmp/good" 2> /dev/null && [ "$(ls "$tmp/good" | wc -l)" = 6 ] &&
  [ "$(wc -l < "$tmp/good/op.csv")" -gt 100 ] && ok "csv folder export writes its 6 tables" ||
  fail "csv folder export: $(ls "$tmp/good")"

# Numbers no xqprof writes (negative times, REALs or text in count columns, values near 2^63, totals that would
# overflow a sum) are refused naming table, row and column, in every reader alike.
damaged neg "UPDATE op SET self_ns = -1 WHERE rowid = 7"
every_reader 2 "with a negative self_ns" 'damaged trace: op row 7 of run 1: self_ns is -1 \(want an integer' "$tmp/neg.db"
damaged huge "UPDATE op SET bytes_cache_read = 1e308 WHERE rowid = 9"
every_reader 2 "with a REAL 1e308" 'op row 9 of run 1: bytes_cache_read is 1e\+308' "$tmp/huge.db"
damaged max "UPDATE op SET flops = 9223372036854775807 WHERE rowid = 3"
every_reader 2 "with flops 2^63 - 1" 'op row 3 of run 1: flops is 9223372036854775807' "$tmp/max.db"
damaged text "UPDATE op SET ns = 'abc' WHERE rowid = 5"
expect_msg 2 "view with a text ns" "op row 5 of run 1: ns is the text 'abc'" -- "$X" view "$tmp/text.db" --once
damaged sum "UPDATE op SET flops = 1152921504606846975 WHERE rowid IN (3, 4)"
expect_msg 2 "export md with flops adding up past 2^60" 'op.flops of run 1 adds up to 2.3' -- \
  "$X" export "$tmp/sum.db" --format md
damaged step "UPDATE step SET ns = -5 WHERE idx = 2"
expect_msg 2 "compare with a negative step time" 'step idx 2 of run 1: ns is -5' -- "$X" compare "$tmp/t.db" "$tmp/step.db"
damaged peak "UPDATE device SET peak_flops = -1"
expect_msg 2 "view with a negative device peak" 'device id 1 of run 1: peak_flops is -1' -- "$X" view "$tmp/peak.db" --once

# plan --eval: a Δppl that is not a finite number is damage, not a perfect 0; an absurd one prints in its column.
plan_eval() { "$X" plan --model "$M" --eval "$1" --max-dppl 0.1; }
damaged ev-null "UPDATE metric SET value = NULL WHERE name = 'dppl'"
expect_msg 2 "plan --eval with a NULL dppl" 'damaged trace: metric dppl of run 1 is NULL \(want a finite number\)$' -- \
  plan_eval "$tmp/ev-null.db"
damaged ev-text "UPDATE metric SET value = 'abc' WHERE name = 'dppl' AND run = 2"
expect_msg 2 "plan --eval with a text dppl" 'metric dppl of run 2 is not a number' -- plan_eval "$tmp/ev-text.db"
damaged ev-inf "UPDATE metric SET value = 9e999 WHERE name = 'dppl' AND run = 2"
expect_msg 2 "plan --eval with an infinite dppl" 'metric dppl of run 2 is not finite' -- plan_eval "$tmp/ev-inf.db"
damaged ev-kl "UPDATE metric SET value = NULL WHERE name = 'kl' AND run = 2"
expect_msg 2 "plan --eval with a NULL kl" 'metric kl of run 2 is NULL' -- plan_eval "$tmp/ev-kl.db"
damaged ev-tiny "UPDATE metric SET value = -1e308 WHERE name = 'dppl' AND run = 2"
if plan_eval "$tmp/ev-tiny.db" > "$tmp/out" 2> /dev/null && grep -q ' kv-4 .* -1e+308 ' "$tmp/out" &&
  [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$tmp/out")" -lt 200 ]; then
  ok "plan --eval prints a dppl of -1e308 as -1e+308"
else fail "plan --eval with a dppl of -1e308:"; sed 's/^/    /' "$tmp/out" | head -5; fi

# A killed run's packed op spans (op_pending, written while the engine has every core): one damaged block is
# refused naming it, never shown as a run without ops. Truncated, an unknown codec, text, the chain's first
# block deleted, a byte changed.
"$X" bench -m "$M" -p 0 -n 1024 -r 1000 -t "$(nproc)" --trace "$tmp/k0.db" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  [ "$(sqlite3 "$tmp/k0.db" "SELECT count(*) FROM op_pending" 2> /dev/null || echo 0)" -gt 3 ] && break; sleep 0.1
done
kill -KILL "$pid"; wait "$pid" 2> /dev/null
if [ "$(sqlite3 "$tmp/k0.db" "SELECT count(*) FROM op_pending")" -lt 3 ]; then
  echo "SKIP: the killed run left fewer than 3 packed blocks (the writer built rows instead)"
else
  first=$(sqlite3 "$tmp/k0.db" "SELECT min(rowid) FROM op_pending")
  last=$(sqlite3 "$tmp/k0.db" "SELECT max(rowid) FROM op_pending")
  kill_damaged() { # NAME ROWID SQL
    cp "$tmp/k0.db" "$tmp/$1.db" && sqlite3 "$tmp/$1.db" "$3" || fail "cannot make $1.db"
    expect_msg 2 "view of a killed run, $1" "damaged trace: op_pending row $2 \(packed op spans of run 1\) cannot" -- \
      "$X" view "$tmp/$1.db" --once --view 2 --format csv
    expect_msg 2 "export op of a killed run, $1" "op_pending row $2 " -- "$X" export "$tmp/$1.db" --format csv --table op
  }
  kill_damaged truncated "$last" "UPDATE op_pending SET data = substr(data, 1, length(data) - 1) WHERE rowid = $last"
  kill_damaged codec3 "$first" "UPDATE op_pending SET codec = 3 WHERE rowid = $first"
  kill_damaged text "$last" "UPDATE op_pending SET data = 'hello' WHERE rowid = $last"
  kill_damaged no-first $((first + 1)) "DELETE FROM op_pending WHERE rowid = $first"
  kill_damaged byte "$first" "UPDATE op_pending SET data = substr(data, 1, 3) || x'ff' || substr(data, 5) WHERE rowid = $first"
  cp "$tmp/k0.db" "$tmp/k.db"
  "$X" export "$tmp/k.db" --format csv --table op > "$tmp/k-op.csv" 2> "$tmp/err" &&
    [ "$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM op_pending")" = 0 ] && [ "$(wc -l < "$tmp/k-op.csv")" -gt 100 ] &&
    ok "an undamaged killed run's ops are built and exported" || fail "undamaged killed run: $(cat "$tmp/err")"
  # Its status stays 'running' in the file; the readers show that its writer is gone.
  "$X" view "$tmp/k.db" --once | grep -q '"status": "recorded run 1 (killed: writer gone)"' &&
    "$X" export "$tmp/k.db" --format md | grep -qx '| status | killed: writer gone |' &&
    "$X" export "$tmp/k.db" --format chrome | grep -q '"status":"killed: writer gone"' &&
    ok "a killed run shows as killed: writer gone" || fail "a killed run does not show as killed"
fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
