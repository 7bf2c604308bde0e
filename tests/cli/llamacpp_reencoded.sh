#!/usr/bin/env bash
# K-quant kernels on real weights: the default model re-encoded by `xqprof synth --from` (Q4_K_M, Q3_K_M, Q4_K, Q5_K,
# Q6_K, Q3_K, Q2_K, which fall back to Q5_0 / Q5_1 / Q8_0 / IQ4_NL where SmolLM2's 576-wide rows are not a
# multiple of 256; IQ4_XS, which falls back to IQ4_NL likewise; and IQ4_NL throughout) gives
# `xqprof ppl` within 0.5% of llama-perplexity on the same file (GPL-3, n_ctx 512; tests/data/llamacpp/
# ppl_reencoded.tsv). The re-encoded file must be the one measured (its sha256): a reference perplexity is of one
# file; a different file (the quantizer changed) is reported and skipped, since there is nothing to compare with.
# Its tensor types must be the ones recorded (for Q4_K_M and Q3_K_M: llama-quantize's choice on all 272 tensors).
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}
DEF="$SRC/models/default.gguf" TEXT=/usr/share/common-licenses/GPL-3
if [ ! -r "$DEF" ]; then
  [ "${CI:-}" = true ] && { echo "FAIL: default model absent under CI"; exit 1; }
  echo "SKIP: default model absent"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
while IFS=$'\t' read -r type sha types want _; do
  [ "$type" = type ] && continue
  f="$tmp/$type.gguf"
  "$X" synth --from "$DEF" --type "$type" --out "$f" 2>"$tmp/err" || { echo "FAIL: $type: synth --from: $(cat "$tmp/err")"; fails=$((fails+1)); continue; }
  got_types=$("$X" info "$f" | sed -n 's/^tensor types: *//p' | sed 's/ ([0-9.]* MiB)//g; s/  */ /g')
  [ "$got_types" = "$types" ] || { echo "FAIL: $type: tensor types '$got_types', want '$types'"; fails=$((fails+1)); }
  got_sha=$(sha256sum < "$f" | cut -d' ' -f1)
  if [ "$got_sha" != "$sha" ]; then echo "SKIP: $type: the re-encoded file is not the one measured (sha256 $got_sha)"; continue; fi
  got=$("$X" ppl -m "$f" -f "$TEXT" -c 512 2>/dev/null | sed -n 's/^PPL = \([0-9.]*\) .*/\1/p')
  [ -n "$got" ] || { echo "FAIL: $type: no PPL line"; fails=$((fails+1)); continue; }
  /usr/bin/python3 -c "import sys; g,w=float('$got'),float('$want'); print(f'$type: ours {g:.4f}, llama.cpp {w:.4f}, rel {(g-w)/w*100:+.3f}%'); sys.exit(0 if abs(g-w)/w <= 0.005 else 1)" ||
    fails=$((fails+1))
done < "$SRC/tests/data/llamacpp/ppl_reencoded.tsv"
[ "$fails" -eq 0 ]
