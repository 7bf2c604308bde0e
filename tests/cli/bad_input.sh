#!/usr/bin/env bash
# Bad input found by an audit: an output that is an input (or another output) of the run, a device given as a
# text, interrupted writes, --trace names SQLite keeps in memory, outputs and modes checked only after the work,
# sequences past the context, and unclear messages. Each case: exit 2 and one line "xqprof: ...", inputs
# unchanged (sha256), no temporaries left. Uses a tiny synthetic model.
set -u
X=${XQPROF:?XQPROF must point at the xqprof binary}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.bash"

# expect_msg CODE REGEX WHAT -- command...: as expect, and the error line matches REGEX (grep -E).
expect_msg() {
  local want=$1 re=$2 what=$3; shift 4
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$? lines; lines=$(grep -c '^xqprof: ' "$tmp/err")
  if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -qE -- "$re" "$tmp/err"; then
    fail "$what: exit $rc (want $want), $lines error lines, want /$re/"; sed 's/^/    /' "$tmp/err" | head -5
  else ok "$what -> $(grep '^xqprof: ' "$tmp/err")"; fi
}
sum() { sha256sum "$1" | cut -d' ' -f1; }
unchanged() { # FILE SUM WHAT
  [ "$(sum "$1")" = "$2" ] && ok "$3: $1 unchanged" || fail "$3: $1 was modified"
}
no_temps() { # WHAT
  local left; left=$(find "$tmp" -name '*.tmp.*' | head -3)
  [ -z "$left" ] && ok "$1: no temporaries" || { fail "$1: temporaries left: $left"; find "$tmp" -name '*.tmp.*' -delete; }
}

"$X" synth --shape tiny --type F32 --seed 3 --out "$tmp/m.gguf" 2>/dev/null || { echo "FAIL: synth"; exit 1; }
M=$tmp/m.gguf
ln -s "$M" "$tmp/link.gguf"
head -c 20000 "${XQ_SRC:-.}/LICENSE" 2>/dev/null > "$tmp/text.txt"
[ -s "$tmp/text.txt" ] || head -c 20000 /usr/share/common-licenses/GPL-3 > "$tmp/text.txt"
"$X" generate -m "$M" -p "Hello" -n 3 --temp 0 -t 1 --trace "$tmp/t.db" >/dev/null 2>&1 || fail "generate --trace"
m_sum=$(sum "$M") t_sum=$(sum "$tmp/t.db") text_sum=$(sum "$tmp/text.txt")

# 1. An output that is an input or another output of the run
expect_msg 2 "m.gguf: is also an input of this run \(-m " "logits -o the model" -- "$X" logits -m "$M" --ids 1,2 -o "$M"
expect_msg 2 "is also an input of this run" "logits -o the model under another name" -- \
  "$X" logits -m "$tmp/link.gguf" --ids 1,2 -o "$tmp/./m.gguf"
expect_msg 2 "is also an input of this run \(trace " "export -o the trace" -- "$X" export "$tmp/t.db" --format chrome -o "$tmp/t.db"
expect_msg 2 "is also an input of this run" "project --csv the trace" -- "$X" project "$tmp/t.db" --csv "$tmp/t.db"
expect_msg 2 "e.db: is also an output of this run \(--csv " "eval --trace and --csv one file" -- \
  "$X" eval -m "$M" -f "$tmp/text.txt" -c 32 --chunks 1 --modes kv-4 --trace "$tmp/e.db" --csv "$tmp/e.db"
[ ! -e "$tmp/e.db" ] && ok "eval: nothing written" || fail "eval: e.db written"
expect_msg 2 "is also an input of this run \(-f " "eval --csv the text" -- \
  "$X" eval -m "$M" -f "$tmp/text.txt" -c 32 --chunks 1 --modes kv-4 --csv "$tmp/text.txt"
expect_msg 2 "is also an input of this run \(-f " "ppl --trace the text" -- "$X" ppl -m "$M" -f "$tmp/text.txt" -c 32 --trace "$tmp/text.txt"
expect_msg 2 "is also an input of this run \(-m " "generate --trace the model" -- "$X" generate -m "$M" -p hi -n 2 --trace "$M"
expect_msg 2 "is also an input of this run \(-m " "bench --csv the model" -- "$X" bench -m "$M" -p 8 -n 0 -r 1 --csv "$M"
expect_msg 2 "m.gguf: is also an input of this run \(GGUF " "synth --from the model --out the model" -- \
  "$X" synth --from "$M" --type Q8_0 --out "$M"
unchanged "$M" "$m_sum" "outputs on inputs"; unchanged "$tmp/t.db" "$t_sum" "outputs on inputs"
unchanged "$tmp/text.txt" "$text_sum" "outputs on inputs"; no_temps "outputs on inputs"

# 2. Devices never end: refused at once; pipes still work; a huge file is refused before it is read
expect_msg 2 "/dev/zero: not a regular file" "ppl -f /dev/zero" -- timeout 20 "$X" ppl -m "$M" -f /dev/zero -c 64
expect_msg 2 "/dev/zero: not a regular file" "tokenize -f /dev/zero" -- timeout 20 "$X" tokenize -m "$M" -f /dev/zero
expect_msg 2 "/dev/zero: not a regular file" "eval -f /dev/zero" -- timeout 20 "$X" eval -m "$M" -f /dev/zero -c 64
expect_msg 2 "/dev/zero: not a regular file" "gpus --gpus-file /dev/zero" -- timeout 20 "$X" gpus --no-cpu --gpus-file /dev/zero
truncate -s 300M "$tmp/huge.txt"
expect_msg 2 "huge.txt: [0-9]+ bytes, larger than the limit" "tokenize -f a 300 MB file" -- timeout 20 "$X" tokenize -m "$M" -f "$tmp/huge.txt"
rm -f "$tmp/huge.txt"
[ "$("$X" tokenize -m "$M" -f <(printf 'hello') 2>/dev/null)" != "" ] && ok "tokenize -f a pipe" || fail "tokenize -f a pipe"

# 3. Interrupted writes leave the old file and no temporary
for sig in INT TERM HUP; do
  echo orig > "$tmp/k.gguf"
  timeout -s $sig 1 "$X" synth --shape llama3-8b --layers 2 --out "$tmp/k.gguf" 2>/dev/null
  rc=$?
  if [ "$rc" -ne 124 ]; then ok "synth finished before SIG$sig (exit $rc): nothing to check"
  else [ "$(cat "$tmp/k.gguf")" = orig ] && ok "SIG$sig: k.gguf kept" || fail "SIG$sig: k.gguf replaced"; fi
  no_temps "synth interrupted by SIG$sig"
done

# 4. --trace names SQLite keeps in memory
for name in "" ":memory:" "file:$tmp/x.db?mode=memory"; do
  expect_msg 2 "--trace" "generate --trace '$name'" -- "$X" generate -m "$M" -p hi -n 2 --trace "$name"
  grep -q '^trace:' "$tmp/err" && fail "--trace '$name': a run was reported saved"
done
expect_msg 2 "not a file on disk" "ppl --trace :memory:" -- "$X" ppl -m "$M" -f "$tmp/text.txt" -c 32 --trace :memory:

# 5. Outputs and modes checked before the work (no model loaded, no row printed)
before_work() { # WHAT REGEX -- command
  local what=$1 re=$2; shift 2
  expect_msg 2 "$re" "$what" "$@"
  grep -q '^model:' "$tmp/err" && fail "$what: the model was loaded first"
  [ -s "$tmp/out" ] && fail "$what: printed results first"
}
before_work "bench --modes fp16,bogus" "bench: unknown cache mode 'bogus'" -- "$X" bench -m "$M" -p 8 -n 4 -r 1 --modes fp16,bogus
before_work "bench --csv in a missing folder" "--csv /nonexist/x.csv: cannot write into" -- "$X" bench -m "$M" -p 8 -n 4 -r 1 --csv /nonexist/x.csv
before_work "eval --csv in a missing folder" "--csv /nonexist/x.csv: cannot write into" -- "$X" eval -m "$M" -f "$tmp/text.txt" -c 32 --csv /nonexist/x.csv
before_work "eval --md ''" "eval: --md: empty file name" -- "$X" eval -m "$M" -f "$tmp/text.txt" -c 32 --md ""
before_work "eval --csv ''" "eval: --csv: empty file name" -- "$X" eval -m "$M" -f "$tmp/text.txt" -c 32 --csv ""
before_work "logits -o ''" "logits: -o: empty file name" -- "$X" logits -m "$M" --ids 1 -o ""
before_work "logits -o in a missing folder" "-o /nonexist/x: cannot write into" -- "$X" logits -m "$M" --ids 1 -o /nonexist/x
before_work "synth --out in a missing folder" "--out /nonexist/x: cannot write into" -- "$X" synth --shape tiny --out /nonexist/x
before_work "synth --out ''" "synth: --out: empty file name" -- "$X" synth --shape tiny --out ""
before_work "synth --from with --shape" "synth: --from re-encodes a model: --shape, --layers and --seed do not apply" -- \
  "$X" synth --from "$M" --shape tiny --out "$tmp/r.gguf"
expect_msg 2 "synth: unknown tensor type 'Q9'" "synth --from --type Q9" -- "$X" synth --from "$M" --type Q9 --out "$tmp/r.gguf"
[ ! -e "$tmp/r.gguf" ] && ok "synth --from refused: nothing written" || fail "synth --from refused: r.gguf written"
before_work "generate --trace in a missing folder" "--trace /nonexist/x.db: cannot write into" -- "$X" generate -m "$M" -p hi --trace /nonexist/x.db

# 6. Past the context: logits refuses unless -c allows it (then a note); ppl notes -c past the trained context
long=$(head -c 3000 "$tmp/text.txt")
expect_msg 2 "logits: the sequence is [0-9]+ tokens, longer than the context \(256\)" "logits past the context" -- \
  "$X" logits -m "$M" -p "$long" -o "$tmp/x.bin"
[ ! -e "$tmp/x.bin" ] && ok "logits: nothing written" || fail "logits: x.bin written"
if "$X" logits -m "$M" -p "$long" -c 4096 -o "$tmp/x.bin" 2>"$tmp/err" && grep -q "note: .*past the model's trained context" "$tmp/err"
then ok "logits -c 4096: computed, with a note"; else fail "logits -c 4096"; cat "$tmp/err"; fi
"$X" ppl -m "$M" -f "$tmp/text.txt" -c 512 --chunks 1 -t 1 >/dev/null 2>"$tmp/err"
grep -q "ppl: note: -c 512 is past the model's trained context of 256" "$tmp/err" && ok "ppl -c 512: note" || fail "ppl -c 512: no note"

# 7. Messages
expect_msg 2 "^xqprof: -m: empty model file name|^xqprof: generate: -m: empty file name" "-m ''" -- "$X" generate -m "" -p hi
printf 'abc\xff' > "$tmp/bad.txt"
expect_msg 2 "ppl: .*bad.txt: text is not valid UTF-8 at byte 3" "ppl: bad UTF-8" -- "$X" ppl -m "$M" -f "$tmp/bad.txt" -c 8
expect_msg 2 "tokenize: .*bad.txt: text is not valid UTF-8 at byte 3" "tokenize: bad UTF-8" -- "$X" tokenize -m "$M" -f "$tmp/bad.txt"
expect_msg 2 "eval: .*bad.txt: text is not valid UTF-8 at byte 3" "eval: bad UTF-8" -- "$X" eval -m "$M" -f "$tmp/bad.txt" -c 8
expect_msg 2 "^xqprof: generate: chat: " "generate --chat without a template" -- "$X" generate -m "$M" -p hi --chat -n 1
expect_msg 2 "token id 99999999999999999999 out of range" "detokenize an id past int64" -- \
  "$X" tokenize -m "$M" --detokenize -p '[99999999999999999999]'
for v in 0x10 inf nan 1e400; do
  expect_msg 2 "--temp expects a number" "--temp $v" -- "$X" generate -m "$M" -p hi -n 1 --temp "$v"
done
"$X" logits --help > "$tmp/out"
for opt in -m --ids -p -o --decode -c -t --cache; do
  grep -qE -- "^ +(.* )?$opt[ ,]" "$tmp/out" || fail "logits --help lacks $opt"
done
expect_msg 2 "^xqprof: logits: unknown cache mode" "logits --cache bogus" -- "$X" logits -m "$M" --ids 1 --cache bogus -o "$tmp/x.bin"
expect_msg 2 "^xqprof: logits: -p: text is not valid UTF-8" "logits -p bad UTF-8" -- "$X" logits -m "$M" -p $'\xff' -o "$tmp/x.bin"
no_temps "all"

echo "bad_input.sh: $fails failures"
[ "$fails" -eq 0 ]
