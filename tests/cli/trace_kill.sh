#!/usr/bin/env bash
# A traced run killed with SIGKILL after a few seconds (issue 5, Done-when 3) leaves a file that passes
# PRAGMA integrity_check and holds every step committed before the kill; SIGTERM and SIGINT flush and close
# instead, marking the run interrupted (exit 130). The runs use a thread per core, so the writer packs op spans
# (op_pending) and builds the rows at the end — or, after SIGKILL, when xqprof next opens the file. Uses the
# default model, else stories260K from ../shared; skipped with a message if neither is present. Not stories260K
# first: it decodes ~15,000 steps/s on 2 cores, over a million spans/s, more than the writer (below the engine's
# priority) drains, so the profiler's queue overflows and drops spans (counted in run.spans_dropped, by design),
# which leaves steps without op rows and fails the check below for a reason that is not the kill.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
M=$SRC/models/default.gguf
[ -r "$M" ] || M=$SHARED/models/stories260K/stories260K.gguf
if [ ! -r "$M" ]; then echo "SKIP: no model (stories260K or models/default.gguf)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
long_run() { # trace file: starts a traced run far longer than the test; sets pid
  "$X" bench -m "$M" -p 0 -n 1024 -r 1000 -t "$(nproc)" --trace "$1" > /dev/null 2> "$1.err" &
  pid=$!
}
wait_steps() { # file: until it holds committed steps (at most 20 s)
  for _ in $(seq 1 200); do
    [ -s "$1" ] && [ "$(sqlite3 "$1" "SELECT count(*) FROM step" 2>/dev/null || echo 0)" -gt 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# SIGKILL: nothing is flushed, yet the file is intact and keeps what was committed.
long_run "$tmp/k.db"
wait_steps "$tmp/k.db" || fail "no committed step after 20 s"
sleep 2
before=$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM step")
kill -KILL "$pid"; wait "$pid" 2>/dev/null
[ "$(sqlite3 "$tmp/k.db" "PRAGMA integrity_check")" = ok ] || fail "integrity_check after SIGKILL"
after=$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM step")
[ "$after" -ge "$before" ] && [ "$after" -gt 0 ] || fail "steps after SIGKILL: $after, seen before: $before"
[ "$(sqlite3 "$tmp/k.db" "SELECT status FROM run")" = running ] || fail "a killed run cannot have been closed"
packed=$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM op_pending")
[ "$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM op")" -gt 0 ] || [ "$packed" -gt 0 ] || fail "no op spans after SIGKILL"
# The next xqprof to open the file builds the killed run's packed spans into rows: every step's ops are there.
"$X" export "$tmp/k.db" --format md -o "$tmp/k.md" || fail "export after SIGKILL"
[ "$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM op_pending")" = 0 ] || fail "packed spans left after export"
missing=$(sqlite3 "$tmp/k.db" "SELECT count(*) FROM step WHERE op_first IS NULL OR op_last < op_first")
[ "$missing" = 0 ] || fail "$missing steps without op rows after the rebuild"
[ "$(sqlite3 "$tmp/k.db" "PRAGMA integrity_check")" = ok ] || fail "integrity_check after the rebuild"
echo "SIGKILL: $after steps ($before seen before the kill, $packed packed blocks rebuilt), integrity ok"

# Without -t the run row names the threads the session resolves (all cores) from the start: a killed run keeps it.
"$X" generate -m "$M" -p "Once upon a time" -n 100000 -c 8192 --temp 0 --trace "$tmp/t0.db" > /dev/null 2>&1 &
pid=$!
wait_steps "$tmp/t0.db" || fail "generate without -t: no committed step after 20 s"
kill -KILL "$pid"; wait "$pid" 2>/dev/null
[ "$(sqlite3 "$tmp/t0.db" "SELECT threads FROM run")" = "$(nproc)" ] ||
  fail "a killed run without -t records $(sqlite3 "$tmp/t0.db" "SELECT threads FROM run") threads, not $(nproc)"

# SIGTERM and SIGINT: flushed, closed, marked interrupted.
for sig in TERM INT; do
  long_run "$tmp/$sig.db"
  wait_steps "$tmp/$sig.db" || fail "$sig: no committed step after 20 s"
  kill -"$sig" "$pid"; wait "$pid"; rc=$?
  [ "$rc" = 130 ] || fail "SIG$sig: exit $rc, expected 130 ($(cat "$tmp/$sig.db.err"))"
  [ "$(sqlite3 "$tmp/$sig.db" "SELECT status FROM run")" = interrupted ] || fail "SIG$sig: run not marked interrupted"
  [ "$(sqlite3 "$tmp/$sig.db" "PRAGMA integrity_check")" = ok ] || fail "SIG$sig: integrity_check"
  [ "$(sqlite3 "$tmp/$sig.db" "SELECT spans = (SELECT count(*) FROM op) FROM run")" = 1 ] ||
    fail "SIG$sig: not every queued span was written"
  [ ! -s "$tmp/$sig.db-wal" ] || fail "SIG$sig: the WAL was not checkpointed at close"
done
[ "$fails" -eq 0 ] && echo "trace_kill: ok"
[ "$fails" -eq 0 ]
