#!/usr/bin/env bash
# project RUN.db and --calibrate (issue 7, Done-when 3) on small traced runs of the default model (skipped with a
# message if absent): the calibration prints a factor per op class and resource, each in (0, 1.5] with its
# source; a recorded run projects its own cache mode with the CSV columns of the shape path, its step time grows
# with the context and its tokens/s with the batch (weights shared); the recorded fp16 run has no break-even, an xq-4 run has one;
# bad combinations and missing files are one-line errors with exit 2. No timing is asserted.
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}; SRC=${XQ_SRC:-.}
M=$SRC/models/default.gguf
if [ ! -r "$M" ]; then echo "SKIP: $M absent (scripts/fetch-model)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash" # fail, ok, expect

"$X" generate -m "$M" -p "Once upon a time" -n 12 -c 128 --temp 0 -t 2 --trace "$tmp/fp16.db" >/dev/null 2>&1 ||
  fail "traced fp16 run"
"$X" generate -m "$M" -p "Once upon a time" -n 6 -c 128 --temp 0 -t 2 --cache xq-4 --trace "$tmp/xq.db" \
  >/dev/null 2>&1 || fail "traced xq-4 run"

# --calibrate alone: a table of gemm, attention, elementwise and rebuild, each with a compute and a memory factor
# and where it came from; an fp16 run has no rebuild, so its rebuild factors are gemm's (or the defaults).
classes='$1 == "gemm" || $1 == "attention" || $1 == "elementwise" || $1 == "rebuild"'
for run in fp16 xq; do
  if "$X" project --calibrate "$tmp/$run.db" >"$tmp/cal" 2>"$tmp/err"; then
    n=$(awk "$classes" "$tmp/cal" | wc -l)
    bad=$(awk "$classes"' { for (i = 3; i <= 6; i += 3) {
                 if (!($i > 0 && $i <= 1.5)) print $1, $i
                 if ($(i + 1) !~ /^(decode|prefill|gemm|default)$/) print $1, $(i + 1) } }' "$tmp/cal")
    [ "$n" -eq 4 ] && [ -z "$bad" ] && ok "--calibrate $run: 4 classes, factors in (0, 1.5], sources named" ||
      { fail "--calibrate $run factors ($n classes; bad: $bad)"; cat "$tmp/cal"; }
    grep -q 'measured' "$tmp/cal" || fail "--calibrate does not name the device's peaks"
  else fail "--calibrate $run: $(cat "$tmp/err")"; fi
done
borrowed=$(awk '$1 == "gemm" { c = $3; m = $6 } $1 == "rebuild" { rc = $3; rs = $4; rm = $6; ms = $7 }
                END { if (rs == "gemm" && rc != c || ms == "gemm" && rm != m) print "rebuild", rc, rm, "gemm", c, m }' \
           <("$X" project --calibrate "$tmp/fp16.db"))
[ -z "$borrowed" ] && ok "--calibrate fp16: the rebuild's borrowed factors are gemm's" || fail "borrowed: $borrowed"

# The recorded run projected: its own mode, the shape path's CSV, factors printed as calibrated.
"$X" project "$tmp/fp16.db" --gpu h100-sxm,a100-80g --ctx 1k,8k --batch 1,8 --calibrate "$tmp/fp16.db" \
  --csv "$tmp/p.csv" >"$tmp/out" 2>"$tmp/err" || fail "project RUN.db: $(cat "$tmp/err")"
header=gpu,mode,ctx,batch,tp,step_ms,tokens_per_s,bound,cache_gb,fits,max_ctx,max_batch,break_even_ctx
[ "$(head -1 "$tmp/p.csv")" = "$header" ] && ok "RUN.db csv header" || fail "csv header: $(head -1 "$tmp/p.csv")"
[ "$(wc -l <"$tmp/p.csv")" -eq 9 ] || fail "RUN.db csv: want 8 rows"
awk -F, 'NR > 1 && (NF != 13 || $2 != "fp16" || $13 != "") { exit 1 }' "$tmp/p.csv" &&
  ok "RUN.db rows: 13 cells, mode fp16, no break-even" || fail "RUN.db csv rows"
grep -q '^efficiency .*calibrated on' "$tmp/out" && grep -q '^recorded: ' "$tmp/out" && ok "header: recorded, calibrated" ||
  fail "header lines"
# step time grows with the context; tokens/s with the batch (one weight stream for 8 sequences)
awk -F, 'NR > 1 { t[$1 "," $3 "," $4] = $6; s[$1 "," $3 "," $4] = $7 }
  END { for (g in t) { split(g, k, ","); if (k[2] == 1024 && !(t[k[1] ",8192," k[3]] > t[g])) exit 1
                       if (k[3] == 1 && !(s[k[1] "," k[2] ",8"] > s[g])) exit 1 } }' "$tmp/p.csv" &&
  ok "RUN.db: time grows with ctx, tokens/s with batch" || fail "RUN.db monotonicity"
"$X" project "$tmp/xq.db" --gpu h100-pcie --ctx 1k --tp 1,3 --csv "$tmp/x.csv" >"$tmp/out" 2>"$tmp/err" ||
  fail "project xq RUN.db: $(cat "$tmp/err")"
awk -F, 'NR == 2 && $2 == "xq-4" && $13 > 0 { found = 1 } END { exit !found }' "$tmp/x.csv" &&
  ok "xq-4 run: break-even $(awk -F, 'NR == 2 { print $13 }' "$tmp/x.csv")" || fail "xq-4 run break-even"
grep -q '^xq-4  *repl' "$tmp/out" && grep -q '^xq-4  *gath' "$tmp/out" || fail "xq-4 run: tp rows"

expect 2 "RUN.db with --modes" -- "$X" project "$tmp/fp16.db" --modes xq-4
expect 2 "RUN.db with --shape" -- "$X" project "$tmp/fp16.db" --shape llama2-7b
expect 2 "two runs" -- "$X" project "$tmp/fp16.db" "$tmp/xq.db"
expect 2 "missing RUN.db" -- "$X" project "$tmp/none.db"
expect 2 "no such run" -- "$X" project "$tmp/fp16.db" --run 9
expect 2 "--run without RUN.db" -- "$X" project --shape llama2-7b --run 1
expect 2 "missing --calibrate file" -- "$X" project --calibrate "$tmp/none.db"
head -c 4096 /dev/urandom >"$tmp/corrupt.db"
expect 2 "corrupt --calibrate file" -- "$X" project --calibrate "$tmp/corrupt.db"

echo "project_run.sh: $fails failures"
[ "$fails" -eq 0 ]
