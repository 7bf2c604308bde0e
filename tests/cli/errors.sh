#!/usr/bin/env bash
# Bad input gets a one-line error "xqprof: ..." and exit code 2; never a crash. Uses a tiny synthetic model.
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}
SRC=${XQ_SRC:-.}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0

# expect CODE DESCRIPTION -- command...: the exit code must match and stderr must hold exactly one error line
# ("xqprof: ..."); informational lines (e.g. "model: ... loaded") may precede it.
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  local lines; lines=$(grep -c '^xqprof: ' "$tmp/err")
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || grep -qiE 'sanitizer|segmentation|abort|core dumped' "$tmp/err"; then
    echo "FAIL: $what: exit $rc (want $want), stderr ($lines lines):"; sed 's/^/    /' "$tmp/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok:   $what -> $(grep '^xqprof: ' "$tmp/err")"
  fi
}

"$X" synth --shape tiny --type F32 --seed 3 --out "$tmp/tiny.gguf" 2>/dev/null || { echo "FAIL: synth"; exit 1; }
/usr/bin/python3 "$SRC/tests/cli/mkbad.py" "$tmp/tiny.gguf" "$tmp" || { echo "FAIL: mkbad.py"; exit 1; }
M="$tmp/tiny.gguf"

expect 2 "no command" -- "$X"
expect 2 "unknown command" -- "$X" frobnicate
expect 2 "missing model file" -- "$X" generate -m "$tmp/nope.gguf" -p hi -n 1
expect 2 "directory as model" -- "$X" info "$tmp"
for c in not_gguf truncated truncated_header absurd_tensor_count absurd_kv_count bad_version unsupported_type \
         unknown_type missing_tensor absurd_dims shape_mismatch bad_token_type absurd_layers too_few_layers; do
  expect 2 "$c" -- "$X" generate -m "$tmp/$c.gguf" -p hi -n 1
done
expect 2 "bad UTF-8 prompt" -- "$X" generate -m "$M" -p $'abc\xff\xfe' -n 1
expect 2 "prompt longer than context" -- "$X" generate -m "$M" -c 8 -p "$(printf 'a%.0s' {1..40})" -n 1
expect 2 "-n -1" -- "$X" generate -m "$M" -p hi -n -1
expect 2 "-t 0" -- "$X" generate -m "$M" -p hi -t 0
expect 2 "-c abc" -- "$X" generate -m "$M" -p hi -c abc
expect 2 "unknown cache mode" -- "$X" generate -m "$M" -p hi --cache fp8
expect 2 "unknown option" -- "$X" generate -m "$M" -p hi --frobnicate
expect 2 "missing prompt" -- "$X" generate -m "$M"
printf 'short text\n' > "$tmp/short.txt"
expect 2 "ppl: text shorter than 2*n_ctx" -- "$X" ppl -m "$M" -f "$tmp/short.txt" -c 64
expect 2 "ppl: missing text file" -- "$X" ppl -m "$M" -f "$tmp/none.txt"
expect 2 "tokenize: bad UTF-8 file" -- "$X" tokenize -m "$M" -f <(printf '\xc3\x28')
expect 2 "tokenize --detokenize: bad list" -- "$X" tokenize -m "$M" --detokenize -p "[1, x]"
expect 2 "tokenize --detokenize: id out of range" -- "$X" tokenize -m "$M" --detokenize -p "[1, 99999]"
expect 2 "unknown command" -- "$X" frobnicate
expect 2 "bench: -r 0" -- "$X" bench -m "$M" -r 0

# --help on every command: stdout, exit 0.
for c in generate ppl tokenize info bench synth logits; do
  if ! "$X" "$c" --help >"$tmp/out" 2>/dev/null || ! grep -q usage "$tmp/out"; then
    echo "FAIL: $c --help"; fails=$((fails + 1)); fi
done
"$X" --version | grep -q '^xqprof [0-9]' || { echo "FAIL: --version"; fails=$((fails + 1)); }

echo "errors.sh: $fails failures"
[ "$fails" -eq 0 ]
