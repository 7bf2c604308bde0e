#!/usr/bin/env bash
# --trace and export errors are one line "xqprof: ..." with the design's exit codes: a file that is not SQLite,
# an SQLite file of another program or a trace from a newer schema is bad input (2); a file that cannot be
# written (disk full here, through RLIMIT_FSIZE; read-only when not root) is a runtime failure (1) that leaves
# the generated text unaffected. Uses a tiny synthetic model.
set -u
X=${XQPROF:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # CODE WHAT -- command...: exit code and exactly one "xqprof: " line on stderr
  local want=$1 what=$2; shift 3
  "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
  local rc=$? lines; lines=$(grep -c '^xqprof: ' "$tmp/err")
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || grep -qiE 'sanitizer|segmentation|abort' "$tmp/err"; then
    echo "FAIL: $what: exit $rc (want $want), stderr:"; sed 's/^/    /' "$tmp/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok:   $what -> $(grep '^xqprof: ' "$tmp/err")"
  fi
}
"$X" synth --shape tiny --type F32 --seed 3 --out "$tmp/tiny.gguf" 2> /dev/null || { echo "FAIL: synth"; exit 1; }
M=$tmp/tiny.gguf
gen() { "$X" generate -m "$M" -p "Hello there" -n 100 --temp 0 -t 1 "$@"; }

printf 'plain text, not a database; long enough to fill a header of one hundred bytes..............................\n' > "$tmp/text.db"
expect 2 "--trace on a text file" -- gen --trace "$tmp/text.db"
sqlite3 "$tmp/foreign.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);"
expect 2 "--trace on another program's SQLite file" -- gen --trace "$tmp/foreign.db"
[ "$(sqlite3 "$tmp/foreign.db" "PRAGMA journal_mode")" = delete ] || { echo "FAIL: foreign file modified"; fails=$((fails+1)); }
gen --trace "$tmp/newer.db" > /dev/null 2>&1 && sqlite3 "$tmp/newer.db" "PRAGMA user_version = 99"
expect 2 "--trace on a newer schema" -- gen --trace "$tmp/newer.db"
expect 2 "ppl --trace on a text file" -- "$X" ppl -m "$M" -f "$tmp/text.db" -c 8 --trace "$tmp/text.db"
expect 2 "bench --trace on a newer schema" -- "$X" bench -m "$M" -p 0 -n 4 -r 1 --trace "$tmp/newer.db"

# Disk full: files may not grow past 128 KiB (room for the schema, not for the run). The text must not change.
gen > "$tmp/plain.txt" 2> /dev/null
(ulimit -f 128; trap '' XFSZ; gen --trace "$tmp/full.db" > "$tmp/full.txt" 2> "$tmp/full.err"; echo $? > "$tmp/full.rc")
rc=$(cat "$tmp/full.rc")
if [ "$rc" = 1 ] && [ "$(grep -c '^xqprof: ' "$tmp/full.err")" = 1 ] && cmp -s "$tmp/plain.txt" "$tmp/full.txt"; then
  echo "ok:   disk full -> $(grep '^xqprof: ' "$tmp/full.err")"
else
  echo "FAIL: disk full: exit $rc, text same: $(cmp -s "$tmp/plain.txt" "$tmp/full.txt" && echo yes || echo no)"
  sed 's/^/    /' "$tmp/full.err" | head -5; fails=$((fails + 1))
fi

if [ "$(id -u)" = 0 ]; then
  echo "SKIP: read-only trace file (root writes regardless of permissions)"
else
  gen --trace "$tmp/ro.db" > /dev/null 2>&1; chmod 444 "$tmp/ro.db"
  expect 1 "--trace on a read-only file" -- gen --trace "$tmp/ro.db"
fi

gen --trace "$tmp/ok.db" > /dev/null 2>&1
expect 2 "export of a missing file" -- "$X" export "$tmp/absent.db" --format md
expect 2 "export of a text file" -- "$X" export "$tmp/text.db" --format md
expect 2 "export of a newer schema" -- "$X" export "$tmp/newer.db" --format chrome
expect 2 "export of an unknown run" -- "$X" export "$tmp/ok.db" --run 99 --format md
expect 2 "export with an unknown format" -- "$X" export "$tmp/ok.db" --format xml
expect 2 "export without a format" -- "$X" export "$tmp/ok.db"
expect 2 "export csv of every table without -o" -- "$X" export "$tmp/ok.db" --format csv
expect 2 "export of an unknown table" -- "$X" export "$tmp/ok.db" --format csv --table nope
expect 1 "export into a missing folder" -- "$X" export "$tmp/ok.db" --format md -o "$tmp/no/such/dir/x.md"
"$X" export --help | grep -q "format chrome" || { echo "FAIL: export --help"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ]
