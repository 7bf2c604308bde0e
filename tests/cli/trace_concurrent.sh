#!/usr/bin/env bash
# A reader can query a trace while a run writes it (issue 5, Done-when 4): the sqlite3 shell queries every
# 50 ms for a few seconds, with no busy timeout, and `xqprof export` reads it too; none of them may fail or
# report "database is locked", and the run itself ends normally. Uses stories260K from ../shared, else the
# default model; skipped with a message if neither is present.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
M=$SHARED/models/stories260K/stories260K.gguf
[ -r "$M" ] || M=$SRC/models/default.gguf
if [ ! -r "$M" ]; then echo "SKIP: no model (stories260K or models/default.gguf)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
db=$tmp/c.db

"$X" bench -m "$M" -p 0 -n 1024 -r 1000 -t 1 --trace "$db" > /dev/null 2> "$tmp/run.err" &
pid=$!
for _ in $(seq 1 200); do # until the schema and the run exist
  [ -s "$db" ] && [ "$(sqlite3 "$db" "SELECT count(*) FROM run" 2>/dev/null)" = 1 ] && break
  sleep 0.05
done
reads=0; seen=0
end=$((SECONDS + 4))
while [ "$SECONDS" -lt "$end" ]; do
  out=$(sqlite3 "$db" "SELECT count(*) FROM step; SELECT max(rowid) FROM op;
                       SELECT sum(o.ns) <= s.ns FROM step s JOIN op o ON o.rowid BETWEEN s.op_first AND s.op_last
                       WHERE s.run = 1 AND s.idx = (SELECT max(idx) FROM step) AND o.depth = 0;" 2>&1) ||
    fail "sqlite3 read failed: $out"
  case "$out" in *locked*|*busy*|*rror*) fail "reader: $out" ;; esac
  seen=$(echo "$out" | head -1)
  reads=$((reads + 1))
  if [ $((reads % 20)) = 0 ]; then
    "$X" export "$db" --format md -o "$tmp/live.md" 2> "$tmp/export.err" || fail "export during the run: $(cat "$tmp/export.err")"
  fi
  sleep 0.05
done
kill -TERM "$pid"; wait "$pid"; rc=$?
[ "$rc" = 130 ] || fail "the run ended with $rc ($(cat "$tmp/run.err"))"
grep -qi "locked" "$tmp/run.err" && fail "writer: $(cat "$tmp/run.err")"
[ "$seen" -gt 0 ] || fail "the reader never saw a committed step"
[ "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok ] || fail "integrity_check"
echo "trace_concurrent: $reads reads while writing, $seen steps seen, run exit $rc"
[ "$fails" -eq 0 ]
