#!/usr/bin/python3
"""Makes broken variants of a valid GGUF file for the error-handling tests.

Usage: mkbad.py GOOD.gguf OUTDIR — writes OUTDIR/<case>.gguf for every case below. A minimal GGUF walker of
its own (it links nothing from src/) finds the byte offsets of the fields it patches."""
import struct
import sys

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class Walker:
    def __init__(self, data):
        self.d, self.p = data, 0
        self.kv = {}       # key -> (type, value offset)
        self.tensors = []  # (name, name offset, type offset, dims offset, n_dims)

    def u32(self):
        v = struct.unpack_from("<I", self.d, self.p)[0]
        self.p += 4
        return v

    def u64(self):
        v = struct.unpack_from("<Q", self.d, self.p)[0]
        self.p += 8
        return v

    def string(self):
        n = self.u64()
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def skip_value(self, t):
        if t in SCALAR:
            self.p += SCALAR[t]
        elif t == 8:
            self.string()
        elif t == 9:
            et, n = self.u32(), self.u64()
            for _ in range(n):
                self.skip_value(et)

    def walk(self):
        assert self.d[:4] == b"GGUF"
        self.p = 8
        n_t, n_kv = self.u64(), self.u64()
        self.counts_at = 8
        for _ in range(n_kv):
            k = self.string()
            t = self.u32()
            self.kv[k] = (t, self.p)
            self.skip_value(t)
        for _ in range(n_t):
            name_off = self.p
            name = self.string()
            nd = self.u32()
            dims_off = self.p
            self.p += 8 * nd
            type_off = self.p
            self.p += 4 + 8
            self.tensors.append((name, name_off, type_off, dims_off, nd))
        return self


def patched(data, off, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def main():
    good, out = sys.argv[1], sys.argv[2]
    data = open(good, "rb").read()
    w = Walker(data).walk()
    cases = {}
    cases["not_gguf"] = b"this is a text file, not a model\n" * 4
    cases["truncated"] = data[: len(data) // 2]
    cases["truncated_header"] = data[:20]
    cases["absurd_tensor_count"] = patched(data, 8, "<Q", 1 << 60)
    cases["absurd_kv_count"] = patched(data, 16, "<Q", 1 << 61)
    cases["bad_version"] = patched(data, 4, "<I", 9)
    q = next(t for t in w.tensors if t[0] == "blk.0.attn_q.weight")
    cases["unsupported_type"] = patched(data, q[2], "<I", 16)  # IQ2_XXS: smaller than F32, stays inside the file
    cases["unknown_type"] = patched(data, q[2], "<I", 55)
    name_at = q[1] + 8
    cases["missing_tensor"] = data[:name_at] + b"blk.0.attn_X.weight" + data[name_at + len(q[0]):]
    cases["absurd_dims"] = patched(data, q[3] + 8, "<Q", 1 << 40)
    t, off = w.kv["llama.embedding_length"]
    cases["shape_mismatch"] = patched(data, off, "<I", 512)
    t, off = w.kv["tokenizer.ggml.token_type"]
    cases["bad_token_type"] = patched(data, off + 4 + 8, "<i", 99)
    t, off = w.kv["llama.block_count"]
    cases["absurd_layers"] = patched(data, off, "<I", 1 << 30)
    cases["too_few_layers"] = patched(data, off, "<I", 1)  # the file has layers 0 and 1
    for name, blob in cases.items():
        with open(f"{out}/{name}.gguf", "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
