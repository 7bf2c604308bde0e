#!/usr/bin/env bash
# `xqprof ppl` is within 0.5% of llama-perplexity (tests/data/llamacpp/ppl.tsv): the default model on GPL-3 at
# n_ctx 512 and every stories260K file on tiny_stories_own.txt at n_ctx 128.
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
fails=0
while IFS=$'\t' read -r model text n_ctx want _; do
  [ "$model" = model ] && continue
  if [ "$model" = default ]; then m="$SRC/models/default.gguf"; else m="$SHARED/models/stories260K/$model"; fi
  if [ "$text" = GPL-3 ]; then f=/usr/share/common-licenses/GPL-3; else f="$SHARED/text/$text"; fi
  if [ ! -r "$m" ] || [ ! -r "$f" ]; then
    if [ "$model" = default ] && [ "${CI:-}" = true ]; then echo "FAIL: default model absent under CI"; fails=$((fails+1)); fi
    echo "SKIP: $model on $text (absent)"; continue
  fi
  got=$("$X" ppl -m "$m" -f "$f" -c "$n_ctx" 2>/dev/null | sed -n 's/^PPL = \([0-9.]*\) .*/\1/p')
  if [ -z "$got" ]; then echo "FAIL: $model: no PPL line"; fails=$((fails+1)); continue; fi
  if /usr/bin/python3 -c "import sys; g,w=float('$got'),float('$want'); print(f'$model on $text: ours {g:.4f}, llama.cpp {w:.4f}, rel {abs(g-w)/w*100:.3f}%'); sys.exit(0 if abs(g-w)/w <= 0.005 else 1)"; then :; else fails=$((fails+1)); fi
done < "$SRC/tests/data/llamacpp/ppl.tsv"
[ "$fails" -eq 0 ]
