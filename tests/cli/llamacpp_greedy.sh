#!/usr/bin/env bash
# Greedy generation against llama.cpp's (tests/data/llamacpp/greedy_*.tsv, 64 tokens per prompt). Our side
# decodes one token at a time over llama.cpp's sequence (teacher forcing: identical to free generation up to the
# first difference), so one run checks every step. A case passes when all tokens agree or the first difference
# is a near-tie (our top-2 gap < 1e-3). Where a case has a known deviation (MIN_AGREE below), it must still agree
# on at least that many leading tokens: the default model's logits are bit-identical to llama.cpp's at position 0;
# from position 1 on, attention sums in another order than ggml's f16 dot products, and from 16 keys on ggml's
# softmax uses its own SIMD exp, which llama.cpp's own greedy output depends on (tests/data/llamacpp/README.md,
# "Experiment"); one-ulp differences flip Q8_1 activation codes and the continuation drifts.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
D="$SRC/tests/data/llamacpp"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
run_case() { # model prompt_ids generated_ids label [min_agree]
  local m=$1 pids=$2 gids=$3 label=$4 min=${5:-64}
  "$X" logits -m "$m" --ids "$pids,$gids" --decode -o "$tmp/l.f32" || { echo "FAIL: $label: logits"; fails=$((fails+1)); return; }
  /usr/bin/python3 - "$tmp/l.f32" "$pids" "$gids" "$label" "$min" <<'PY' || fails=$((fails+1))
import sys, numpy as np
p = [int(v) for v in sys.argv[2].split(",")]
g = [int(v) for v in sys.argv[3].split(",")]
l = np.fromfile(sys.argv[1], dtype="<f4").reshape(len(p) + len(g), -1)
for k, want in enumerate(g):
    row = l[len(p) - 1 + k]
    top2 = np.argsort(row)[-2:][::-1]
    if top2[0] != want:
        gap = float(row[top2[0]] - row[top2[1]])
        ok = gap < 1e-3 or k >= int(sys.argv[5])
        kind = "near-tie" if gap < 1e-3 else ("known deviation" if ok else "FAIL")
        print(f"{sys.argv[4]}: differs at step {k}: ours {top2[0]}, llama.cpp {want}; our top-2 gap {gap:.2e} ({kind})")
        sys.exit(0 if ok else 1)
print(f"{sys.argv[4]}: all {len(g)} greedy tokens equal llama.cpp's")
PY
}
case_ids() { # steps file, model, prompt json -> prompt ids
  awk -F'\t' -v m="$1" -v p="$2" '$1==m && $2==p {print $3; exit}' "$D/greedy_steps.tsv"
}
DEF="$SRC/models/default.gguf"
if [ -r "$DEF" ]; then
  while IFS=$'\t' read -r pjson gids _; do
    run_case "$DEF" "$(case_ids default "$pjson")" "$gids" "default $pjson" "${MIN_AGREE_DEFAULT:-12}"
  done < "$D/greedy_default.tsv"
else
  [ "${CI:-}" = true ] && { echo "FAIL: default model absent under CI"; exit 1; }
  echo "SKIP: default model absent"
fi
ST="$SHARED/models/stories260K/stories260K.gguf"
if [ -r "$ST" ]; then
  while IFS=$'\t' read -r pjson gids _; do
    run_case "$ST" "$(case_ids stories260K.gguf "$pjson")" "$gids" "stories260K $pjson"
  done < "$D/greedy_stories260K.tsv"
else echo "SKIP: $ST absent"; fi
[ "$fails" -eq 0 ]
