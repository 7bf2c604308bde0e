#!/usr/bin/env bash
# The engine's logits against the independent NumPy reference (tests/ref/llama_ref.py, float64, shares no code
# with src/). For every tensor type: `xqprof synth` writes the tiny shape (seed 7), `xqprof logits` and the
# reference compute n_tokens x n_vocab logits for the same ids, and max|ours - ref| / max|ref| must stay within
# 1e-4 (F32 weights, run with `--cache fp32`) or 1e-2 (every other type, default fp16 cache). The engine converts
# matmul inputs as llama.cpp does (Q8 blocks / fp16) and keeps K/V, q and p in fp16 with an fp16 cache, so the
# reference is run with --act-quant (and --kv-f16 unless --cache fp32) to model the same arithmetic.
# Also: the tied shape, token-by-token `--decode` for two types, and stories260K from XQ_SHARED when present.
# Environment (set by ctest): XQPROF = the built binary, XQ_SRC = the source tree, XQ_SHARED = ../shared.
set -u

PY=/usr/bin/python3
SRC=${XQ_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
REF=$SRC/tests/ref/llama_ref.py
IDS=1,17,300,42,9,260,77,3
TYPES="F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS"

if [ -z "${XQPROF:-}" ] || [ ! -x "$XQPROF" ]; then
    echo "ref_logits: XQPROF must name the built xqprof binary" >&2
    exit 1
fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "ref_logits: $PY has no numpy (apt-get install python3-numpy)" >&2
    [ "${CI:-}" = true ] && exit 1
    echo "SKIP: no python3-numpy"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# compare LABEL OURS REF TOLERANCE: prints the ratio; exit status 1 if over the tolerance or malformed.
compare() {
    "$PY" - "$@" <<'EOF'
import sys
import numpy as np
label, ours_path, ref_path, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ours = np.fromfile(ours_path, dtype="<f4")
ref = np.fromfile(ref_path, dtype="<f4")
if ours.size != ref.size:
    print("%-36s FAIL: %d logits, the reference has %d" % (label, ours.size, ref.size))
    sys.exit(1)
if not np.all(np.isfinite(ours)):
    print("%-36s FAIL: non-finite logits" % label)
    sys.exit(1)
ratio = float(np.max(np.abs(ours.astype(np.float64) - ref)) / np.max(np.abs(ref)))
verdict = "ok" if ratio <= tol else "FAIL"
print("%-36s max|d|/max|ref| = %.3e  (limit %.0e)  %s" % (label, ratio, tol, verdict))
sys.exit(0 if ratio <= tol else 1)
EOF
}

# check_model LABEL MODEL TOLERANCE [extra xqprof logits flags]
check_model() {
    rm -f "$tmp/ours.f32" "$tmp/ref.f32"
    if ! "$XQPROF" logits -m "$2" --ids "$IDS" -o "$tmp/ours.f32" "${@:4}" 2>"$tmp/logits.err"; then
        cat "$tmp/logits.err"
        echo "$1: xqprof logits failed"
        return 1
    fi
    local refopt=(--act-quant --kv-f16)
    case " ${*:4} " in *" --cache fp32 "*) refopt=(--act-quant) ;; esac
    if ! "$PY" "$REF" "$2" --ids "$IDS" --out "$tmp/ref.f32" "${refopt[@]}"; then
        echo "$1: the reference failed"
        return 1
    fi
    compare "$1" "$tmp/ours.f32" "$tmp/ref.f32" "$3"
}

# check_synth SHAPE TYPE TOLERANCE [extra xqprof logits flags]
check_synth() {
    local model=$tmp/$1-$2.gguf
    if ! "$XQPROF" synth --shape "$1" --type "$2" --seed 7 --out "$model" 2>"$tmp/synth.err"; then
        cat "$tmp/synth.err"
        echo "$1 $2: xqprof synth failed"
        return 1
    fi
    local label="$1 $2"
    [ $# -gt 3 ] && label="$label ${*:4}"
    check_model "$label" "$model" "${@:3}"
    local rc=$?
    rm -f "$model"
    return $rc
}

failures=0
for type in $TYPES; do
    if [ "$type" = F32 ]; then
        check_synth tiny F32 1e-4 --cache fp32 || failures=$((failures + 1))
    else
        check_synth tiny "$type" 1e-2 || failures=$((failures + 1))
    fi
done
check_synth tiny-tied F32 1e-4 --cache fp32 || failures=$((failures + 1))
check_synth tiny F32 1e-4 --cache fp32 --decode || failures=$((failures + 1))
check_synth tiny Q4_K 1e-2 --decode || failures=$((failures + 1))

stories=${XQ_SHARED:-$SRC/../shared}/models/stories260K/stories260K.gguf
if [ -r "$stories" ]; then
    check_model "stories260K F32" "$stories" 1e-4 --cache fp32 || failures=$((failures + 1))
else
    echo "skipped stories260K: $stories is absent"
fi

if [ "$failures" -ne 0 ]; then
    echo "ref_logits: $failures model(s) outside tolerance"
    exit 1
fi
echo "ref_logits: all models within tolerance"
