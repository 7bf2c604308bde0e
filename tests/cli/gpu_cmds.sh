#!/usr/bin/env bash
# gpus, project and plan: help, the catalogue rows, the CSV columns and the paper's break-even through the CLI,
# --gpus-file (additions and line-numbered errors), --model on a synthetic file, and one-line errors (exit 2).
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}
SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash" # fail, ok, expect

for c in gpus project plan; do
  if "$X" "$c" --help >"$tmp/out" 2>/dev/null && grep -q '^usage: xqprof '"$c" "$tmp/out"; then ok "$c --help"
  else fail "$c --help"; fi
done

"$X" gpus --no-cpu >"$tmp/gpus" || fail "gpus --no-cpu"
for id in a100-40g a100-80g a10 l4 l40s rtx3090 rtx4090 rtx5090 h100-sxm h100-pcie h100-nvl h200 h20 gh200 b200; do
  grep -q "^$id " "$tmp/gpus" || fail "gpus: no row for $id"
done
grep -q '^cpu ' "$tmp/gpus" && fail "gpus --no-cpu printed a cpu row"
"$X" gpus >"$tmp/gpus" && grep -q '^cpu ' "$tmp/gpus" && ok "gpus: cpu row" || fail "gpus: cpu row"

# The paper's example through the CLI: Llama-2-7B xq-2 on h100-pcie, break-even ≈ 2.3K (±5%).
"$X" project --shape llama2-7b --gpu h100-pcie --ctx 2k,8k --modes fp16,xq-2 --csv "$tmp/p.csv" >"$tmp/out" ||
  fail "project --csv"
header=gpu,mode,ctx,batch,tp,step_ms,tokens_per_s,bound,cache_gb,fits,max_ctx,max_batch,break_even_ctx
[ "$(head -1 "$tmp/p.csv")" = "$header" ] && ok "csv header" || fail "csv header: $(head -1 "$tmp/p.csv")"
[ "$(wc -l <"$tmp/p.csv")" -eq 5 ] || fail "csv: want 4 rows"
awk -F, 'NR > 1 && NF != 13 { exit 1 }' "$tmp/p.csv" || fail "csv: a row without 13 cells"
be=$(awk -F, '$2 == "xq-2" && $3 == 2048 { print $13 }' "$tmp/p.csv")
awk -v b="$be" 'BEGIN { exit !(b >= 2185 && b <= 2415) }' && ok "xq-2 break-even $be" || fail "xq-2 break-even '$be'"
awk -F, '$2 == "fp16" && $13 != "" { exit 1 }' "$tmp/p.csv" || fail "fp16 has a break-even"
awk -F, 'NR > 1 && ($10 != 0 && $10 != 1 || ($8 != "memory" && $8 != "compute")) { exit 1 }' "$tmp/p.csv" ||
  fail "csv: fits or bound cells"

# TP: both X policies in the text, one row per setting in the CSV.
"$X" project --shape llama3-8b --gpu h100-sxm --ctx 32k --tp 2 --modes xq-svd-2,fp16 --csv "$tmp/tp.csv" >"$tmp/out" ||
  fail "project --tp"
grep -q '^xq-svd-2  *repl' "$tmp/out" && grep -q '^xq-svd-2  *gath' "$tmp/out" && ok "tp: repl and gath rows" ||
  fail "tp: X rows"
[ "$(wc -l <"$tmp/tp.csv")" -eq 3 ] || fail "tp csv: want 2 rows"
"$X" project --shape llama3-8b --gpu h100-sxm --ctx 32k --batch 8 --modes xq-svd-2 --l2-weights >"$tmp/out" &&
  grep -q 'be_l2' "$tmp/out" && ok "--l2-weights column" || fail "--l2-weights"

# --gpus-file: a new card is usable; a malformed file names its line.
printf '# test card\n[my-card]\ntensor_tflops = 100\nbw_tbs = 1\nmem_gb = 24\n' >"$tmp/g.txt"
"$X" project --gpus-file "$tmp/g.txt" --shape llama2-7b --gpu my-card --ctx 1k --modes fp16 >"$tmp/out" &&
  grep -q '^my-card' "$tmp/out" && ok "--gpus-file card" || fail "--gpus-file card"
"$X" gpus --no-cpu --gpus-file "$tmp/g.txt" | grep -q '^my-card ' || fail "gpus --gpus-file"
printf '[x]\ntensor_tflops = 1\nspeed = 2\n' >"$tmp/bad.txt"
expect 2 "malformed --gpus-file" -- "$X" gpus --gpus-file "$tmp/bad.txt"
grep -q 'bad.txt:3: unknown key' "$tmp/err" || fail "gpus-file error lacks its line: $(cat "$tmp/err")"

# --model: dimensions from a GGUF file.
"$X" synth --shape tiny --type Q8_0 --out "$tmp/tiny.gguf" 2>/dev/null || fail "synth"
"$X" project --model "$tmp/tiny.gguf" --gpu a10 --ctx 256 --modes fp16,xq-4 >"$tmp/out" &&
  grep -q '^xq-4 ' "$tmp/out" && ok "project --model" || fail "project --model"

# plan: a ranking with a best mode; the summary table; the accuracy budget.
"$X" plan --shape llama3-8b --gpu a100-40g --ctx 32k --batch 8 --max-dppl 0.1 >"$tmp/out" &&
  grep -q '^best: ' "$tmp/out" && grep -q ' fp16 .* no .*does not fit' "$tmp/out" && ok "plan ranking" ||
  fail "plan ranking"
"$X" plan --shape llama3-8b --gpu h100-sxm,h200 --ctx 32k --batch 1,8 --summary >"$tmp/out" &&
  [ "$(grep -c '^| h' "$tmp/out")" -eq 4 ] && ok "plan --summary" || fail "plan --summary"

expect 2 "unknown gpu" -- "$X" project --shape llama2-7b --gpu h900
expect 2 "unknown shape" -- "$X" project --shape llama9
expect 2 "no model" -- "$X" project --gpu h100-sxm
expect 2 "shape and model" -- "$X" project --shape llama2-7b --model "$tmp/tiny.gguf"
expect 2 "bad ctx" -- "$X" project --shape llama2-7b --ctx 2q
expect 2 "ctx 0" -- "$X" project --shape llama2-7b --ctx 0
expect 2 "unknown mode" -- "$X" project --shape llama2-7b --modes xq-5
expect 2 "type that cannot hold the shape" -- "$X" project --shape smollm2-135m --type Q4_K
expect 2 "missing recorded run" -- "$X" project run.db --gpu h100-sxm
expect 2 "missing gpus file" -- "$X" gpus --gpus-file "$tmp/none.txt"
expect 2 "missing model file" -- "$X" project --model "$tmp/none.gguf"
expect 2 "tp without a link" -- "$X" project --gpus-file "$tmp/g.txt" --shape tiny --gpu my-card --tp 2
expect 2 "plan: --eval missing" -- "$X" plan --shape llama3-8b --max-dppl 0.1 --eval "$tmp/none.db"
expect 2 "plan: unknown option" -- "$X" plan --shape llama3-8b --frob
expect 2 "gpus: unknown option" -- "$X" gpus --frob

# project --svg/--png: a complete SVG, a PNG of the figure's size (960 × 44 + 3·440: two batch panels and the
# break-even bars), nothing left behind; a wrong extension and a missing folder are refused before any work.
"$X" project --shape llama3-8b --gpu a100-80g,h100-sxm --ctx 2k,32k --batch 1,8 --modes fp16,xq-svd-4 \
  --svg "$tmp/p.svg" --png "$tmp/p.png" >/dev/null 2>&1 || fail "project --svg --png"
grep -q '</svg>' "$tmp/p.svg" 2>/dev/null && ok "project --svg" || fail "project --svg: no complete SVG"
[ "$(od -An -tu4 --endian=big -j16 -N8 "$tmp/p.png" 2>/dev/null | xargs)" = "960 1364" ] && ok "project --png size" ||
  fail "project --png: size $(od -An -tu4 --endian=big -j16 -N8 "$tmp/p.png" 2>/dev/null | xargs)"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temporary chart file was left behind"
expect 2 "project --png with an .svg name" -- "$X" project --shape llama3-8b --png "$tmp/x.svg"
expect 2 "project --svg into a missing folder" -- "$X" project --shape llama3-8b --svg "$tmp/no/p.svg"

# plan --eval: accuracy measured by `eval --trace` on stories260K replaces the paper's; a planned model of another
# shape is refused; eval refuses a trace path that is not a trace before it runs.
S260=$SHARED/models/stories260K/stories260K.gguf
if [ -f "$S260" ]; then
  "$X" eval -m "$S260" -f "$SHARED/text/tiny_stories_own.txt" -c 128 --chunks 2 -t 2 --modes kv-4,xq-svd-4 \
    --csv /dev/null --trace "$tmp/eval.db" 2>"$tmp/err" || { fail "eval --trace"; cat "$tmp/err"; }
  [ "$(sqlite3 "$tmp/eval.db" "SELECT count(*) FROM run r JOIN metric m ON m.run = r.id AND m.name = 'dppl'")" = 3 ] &&
    ok "eval --trace: 3 runs with dppl" || fail "eval --trace: runs with dppl"
  [ "$(sqlite3 "$tmp/eval.db" "SELECT count(*) FROM metric WHERE name = 'dppl_err' AND value >= 0")" = 3 ] &&
    ok "eval --trace: 3 runs with dppl_err" || fail "eval --trace: runs with dppl_err"
  dppl=$(sqlite3 "$tmp/eval.db" "SELECT printf('%.3f', m.value) FROM run r JOIN metric m ON m.run = r.id AND m.name = 'dppl' WHERE r.cache_mode = 'kv-4'")
  "$X" plan --model "$S260" --gpu h100-sxm --ctx 4k --max-dppl 100 --eval "$tmp/eval.db" >"$tmp/out" 2>/dev/null &&
    grep -q "measured by xqprof eval" "$tmp/out" && grep -Eq "^ +[0-9]+ kv-4 .* $dppl " "$tmp/out" &&
    grep -Eq "^ +[0-9]+ xq-4 .* \? +no dppl known" "$tmp/out" && ok "plan --eval uses the measured dppl ($dppl)" ||
    { fail "plan --eval"; cat "$tmp/out"; }
  expect 2 "plan --eval: another model's results" -- "$X" plan --shape llama3-8b --max-dppl 0.1 --eval "$tmp/eval.db"
  printf 'not a trace' >"$tmp/bad.db"
  expect 2 "eval --trace: not a trace" -- "$X" eval -m "$S260" -f "$SHARED/text/tiny_stories_own.txt" --trace "$tmp/bad.db"
else
  echo "skip: plan --eval ($S260 absent)"
fi

echo "gpu_cmds.sh: $fails failures"
[ "$fails" -eq 0 ]
