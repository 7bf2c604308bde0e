#!/usr/bin/env bash
# `xqprof tokenize` gives llama-tokenize's ids for tricky strings on the default model and stories260K
# (tests/data/llamacpp/tokenize_*.txt: TEXT_JSON<TAB>[ids]).
set -u
X=${XQPROF:?}; SRC=${XQ_SRC:-.}; SHARED=${XQ_SHARED:-$SRC/../shared}
D="$SRC/tests/data/llamacpp"
fails=0
check_file() { # model data-file extra-flags
  local m=$1 f=$2; shift 2
  if [ ! -r "$m" ]; then echo "SKIP: $m absent"; return; fi
  local n=0 bad=0
  while IFS=$'\t' read -r tj want; do
    text=$(/usr/bin/python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]))' "$tj"; printf x)
    text=${text%x}
    got=$("$X" tokenize -m "$m" "$@" -p "$text" 2>&1)
    n=$((n+1))
    if [ "$got" != "$want" ]; then echo "FAIL: $tj: got $got want $want"; bad=$((bad+1)); fi
  done < "$f"
  echo "$(basename "$f"): $((n-bad))/$n strings match"
  fails=$((fails+bad))
}
check_file "$SRC/models/default.gguf" "$D/tokenize_default.txt"
check_file "$SRC/models/default.gguf" "$D/tokenize_default_no_parse_special.txt" --no-parse-special
check_file "$SHARED/models/stories260K/stories260K.gguf" "$D/tokenize_stories260K.txt"
[ "$fails" -eq 0 ]
