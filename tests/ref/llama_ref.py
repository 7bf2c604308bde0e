#!/usr/bin/python3
"""Independent NumPy reference for the Llama forward pass over a GGUF file.

It links nothing from src/: the GGUF v2/v3 parser, the dequantizers (written from ggml's block layouts) and
the forward pass are all here, and the arithmetic is float64, so that the C engine's logits can be checked
against numbers that share none of its code. Run with Debian's /usr/bin/python3 (python3-numpy from apt).

  llama_ref.py MODEL.gguf --ids 1,5,9 --out logits.f32     n_tokens x n_vocab float32 LE, row-major
  llama_ref.py MODEL.gguf --prompt "Once upon a time" --greedy 30   greedy ids and text (BOS prepended)
"""
import argparse
import mmap
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------------- GGUF parser

GGUF_MAGIC = b"GGUF"
SCALAR_FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
SCALAR_NP = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1", 10: "<u8",
             11: "<i8", 12: "<f8"}
GGUF_STRING, GGUF_ARRAY = 8, 9


class GGUFError(Exception):
    pass


class Cursor:
    """Reads little-endian values from a buffer, checking bounds."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def need(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise GGUFError("truncated at offset %d (need %d bytes)" % (self.pos, n))

    def scalar(self, fmt):
        size = struct.calcsize(fmt)
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self):
        n = self.scalar("<Q")
        self.need(n)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="surrogateescape")

    def array(self):
        elem_type = self.scalar("<I")
        n = self.scalar("<Q")
        if elem_type == GGUF_STRING:
            return [self.string() for _ in range(n)]
        if elem_type not in SCALAR_NP:
            raise GGUFError("unsupported array element type %d" % elem_type)
        dtype = np.dtype(SCALAR_NP[elem_type])
        self.need(n * dtype.itemsize)
        values = np.frombuffer(self.buf, dtype=dtype, count=n, offset=self.pos)
        self.pos += n * dtype.itemsize
        return values

    def value(self, vtype):
        if vtype == GGUF_STRING:
            return self.string()
        if vtype == GGUF_ARRAY:
            return self.array()
        if vtype not in SCALAR_FMT:
            raise GGUFError("unknown value type %d" % vtype)
        return self.scalar(SCALAR_FMT[vtype])


class GGUF:
    """metadata: dict key -> value; tensors: dict name -> (type, ne list, raw uint8 array)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        cur = Cursor(self.buf)
        cur.need(4)
        if bytes(self.buf[:4]) != GGUF_MAGIC:
            raise GGUFError("%s: not a GGUF file" % path)
        cur.pos = 4
        self.version = cur.scalar("<I")
        if self.version not in (2, 3):
            raise GGUFError("%s: GGUF version %d not supported" % (path, self.version))
        n_tensors = cur.scalar("<Q")
        n_kv = cur.scalar("<Q")
        self.metadata = {}
        for _ in range(n_kv):
            key = cur.string()
            self.metadata[key] = cur.value(cur.scalar("<I"))
        infos = [self._tensor_info(cur) for _ in range(n_tensors)]
        alignment = int(self.metadata.get("general.alignment", 32))
        data_start = (cur.pos + alignment - 1) // alignment * alignment
        self.tensors = {}
        for name, ttype, ne, offset in infos:
            nbytes = tensor_nbytes(ttype, ne)
            start = data_start + offset
            if start + nbytes > len(self.buf):
                raise GGUFError("%s: tensor %s runs past the end of the file" % (path, name))
            raw = np.frombuffer(self.buf, dtype=np.uint8, count=nbytes, offset=start)
            self.tensors[name] = (ttype, ne, raw)

    @staticmethod
    def _tensor_info(cur):
        name = cur.string()
        n_dims = cur.scalar("<I")
        if not 1 <= n_dims <= 4:
            raise GGUFError("tensor %s: %d dimensions" % (name, n_dims))
        ne = [cur.scalar("<Q") for _ in range(n_dims)]
        return name, cur.scalar("<I"), ne, cur.scalar("<Q")

    def get(self, key, default=None):
        return self.metadata.get(key, default)

    def block_mins(self, name):
        """Per-block m (fp16 at byte 2) of a Q4_1/Q5_1 matrix, shaped (rows, blocks per row)."""
        ttype, ne, raw = self.tensors[name]
        _, block_elems, block_bytes, _ = BLOCK_TYPES[ttype]
        blocks = raw.reshape(-1, block_bytes)
        return _f16(blocks, 2).reshape(int(np.prod(ne[1:])), ne[0] // block_elems)

    def tensor(self, name):
        """The tensor dequantized to float64, shaped (ne[n-1], ..., ne[0]) (numpy order: rows last-contiguous)."""
        ttype, ne, raw = self.tensors[name]
        values = dequantize(ttype, raw, int(np.prod(ne)))
        return values.reshape(tuple(reversed(ne)))


# ---------------------------------------------------------------------------------------------- block formats
# Each entry: ggml type id -> (name, elements per block, bytes per block, dequantizer(blocks uint8[nb, bytes])).

def _f16(blocks, lo):
    """The fp16 field at byte offset lo of each block, as float64 column (nb, 1)."""
    return blocks[:, lo:lo + 2].copy().view("<f2").astype(np.float64)


def _nibbles(qs):
    """(nb, 16) packed bytes -> (nb, 32): low nibbles are elements 0..15, high nibbles 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int64)


def _high_bits32(blocks, lo):
    """The 32-bit little-endian qh at offset lo -> (nb, 32) bits, bit j for element j."""
    qh = blocks[:, lo:lo + 4].copy().view("<u4").astype(np.int64)
    return (qh >> np.arange(32)) & 1


def deq_q4_0(b):
    return _f16(b, 0) * (_nibbles(b[:, 2:18]) - 8)


def deq_q4_1(b):
    return _f16(b, 0) * _nibbles(b[:, 4:20]) + _f16(b, 2)


def deq_q5_0(b):
    q = _nibbles(b[:, 6:22]) | (_high_bits32(b, 2) << 4)
    return _f16(b, 0) * (q - 16)


def deq_q5_1(b):
    q = _nibbles(b[:, 8:24]) | (_high_bits32(b, 4) << 4)
    return _f16(b, 0) * q + _f16(b, 2)


def deq_q8_0(b):
    return _f16(b, 0) * b[:, 2:34].copy().view(np.int8).astype(np.int64)


def _k_scales_mins(s):
    """12 packed bytes -> 8 six-bit scales and 8 six-bit mins (Q4_K / Q5_K), each (nb, 8)."""
    s = s.astype(np.int64)
    sc = np.empty((s.shape[0], 8), dtype=np.int64)
    mn = np.empty_like(sc)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _k_nibbles(qs):
    """(nb, 128) bytes in 4 chunks of 32 -> (nb, 8, 32): sub-block 2c = low nibbles of chunk c, 2c+1 = high."""
    q = qs.reshape(-1, 4, 1, 32).astype(np.int64)
    return np.concatenate([q & 0x0F, q >> 4], axis=2).reshape(-1, 8, 32)


def _k_affine(b, q):
    """y = d*scale*q - dmin*min per sub-block of 32 (Q4_K, Q5_K)."""
    sc, mn = _k_scales_mins(b[:, 4:16])
    d, dmin = _f16(b, 0), _f16(b, 2)
    y = (d * sc)[:, :, None] * q - (dmin * mn)[:, :, None]
    return y.reshape(-1, 256)


def deq_q4_k(b):
    return _k_affine(b, _k_nibbles(b[:, 16:144]))


def deq_q5_k(b):
    qh = b[:, 16:48].astype(np.int64)
    high = (qh[:, None, :] >> np.arange(8)[None, :, None]) & 1
    return _k_affine(b, _k_nibbles(b[:, 48:176]) + 16 * high)


def deq_q6_k(b):
    ql = b[:, 0:128].reshape(-1, 2, 2, 32).astype(np.int64)  # [half][first/second 32 bytes][l]
    qh = b[:, 128:192].reshape(-1, 2, 32).astype(np.int64)  # [half][l]
    low = [ql[:, :, 0] & 0x0F, ql[:, :, 1] & 0x0F, ql[:, :, 0] >> 4, ql[:, :, 1] >> 4]
    q = np.stack([low[i] | (((qh >> (2 * i)) & 3) << 4) for i in range(4)], axis=2)
    q = q.reshape(-1, 256) - 32
    scales = np.repeat(b[:, 192:208].copy().view(np.int8).astype(np.int64), 16, axis=1)
    return _f16(b, 208) * scales * q


def _k2_codes(qs):
    """(nb, 64) bytes of Q2_K/Q3_K low codes -> (nb, 256): per half of 128, 4 passes over its 32 bytes take bit
    pairs 0, 2, 4, 6; element 128*h + 32*k + l is bits 2k..2k+1 of byte 32*h + l."""
    q = qs.reshape(-1, 2, 1, 32).astype(np.int64)
    return ((q >> (2 * np.arange(4))[None, None, :, None]) & 3).reshape(-1, 256)


def deq_q2_k(b):
    """y = d*(scale & 15)*q - dmin*(scale >> 4) per sub-block of 16."""
    sc = b[:, 0:16].astype(np.int64)
    step = np.repeat(_f16(b, 80) * (sc & 15), 16, axis=1)
    off = np.repeat(_f16(b, 82) * (sc >> 4), 16, axis=1)
    return step * _k2_codes(b[:, 16:80]) - off


def deq_q3_k(b):
    """y = d*(scale - 32)*(q - 4*(1 - hbit)); 16 six-bit scales: low 4 bits in byte s%8 (high nibble for s >= 8),
    top 2 bits in byte 8 + s%4 at bit 2*(s//4); hbit of element e is bit e//32 of hmask[e%32]."""
    s = b[:, 96:108].astype(np.int64)
    idx = np.arange(16)
    low = (s[:, idx % 8] >> (4 * (idx // 8))) & 15
    top = (s[:, 8 + idx % 4] >> (2 * (idx // 4))) & 3
    scales = np.repeat((low | (top << 4)) - 32, 16, axis=1)
    e = np.arange(256)
    hbit = (b[:, e % 32].astype(np.int64) >> (e // 32)) & 1
    return _f16(b, 108) * scales * (_k2_codes(b[:, 32:96]) - 4 * (1 - hbit))


IQ4_NL_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.int64)


def deq_iq4_nl(b):
    return _f16(b, 0) * IQ4_NL_LEVELS[_nibbles(b[:, 2:18])]


def deq_iq4_xs(b):
    """8 sub-blocks of 32: ls = nibble ib%2 of scales_l[ib//2] | ((scales_h >> 2*ib) & 3) << 4;
    y = d*(ls - 32)*level, the levels indexed as IQ4_NL's in each sub-block's 16 bytes."""
    scales_h = b[:, 2:4].copy().view("<u2").astype(np.int64)  # (nb, 1)
    ib = np.arange(8)
    low = (b[:, 4 + ib // 2].astype(np.int64) >> (4 * (ib % 2))) & 15
    ls = low | (((scales_h >> (2 * ib)) & 3) << 4)
    idx = _nibbles(b[:, 8:136].reshape(-1, 16)).reshape(-1, 8, 32)
    y = (_f16(b, 0) * (ls - 32))[:, :, None] * IQ4_NL_LEVELS[idx]
    return y.reshape(-1, 256)


def deq_f32(b):
    return b.reshape(-1).copy().view("<f4").astype(np.float64)


def deq_f16(b):
    return b.reshape(-1).copy().view("<f2").astype(np.float64)


def deq_bf16(b):
    bits = b.reshape(-1).copy().view("<u2").astype(np.uint32) << 16
    return bits.view(np.float32).astype(np.float64)


BLOCK_TYPES = {
    0: ("F32", 1, 4, deq_f32),
    1: ("F16", 1, 2, deq_f16),
    2: ("Q4_0", 32, 18, deq_q4_0),
    3: ("Q4_1", 32, 20, deq_q4_1),
    6: ("Q5_0", 32, 22, deq_q5_0),
    7: ("Q5_1", 32, 24, deq_q5_1),
    8: ("Q8_0", 32, 34, deq_q8_0),
    10: ("Q2_K", 256, 84, deq_q2_k),
    11: ("Q3_K", 256, 110, deq_q3_k),
    12: ("Q4_K", 256, 144, deq_q4_k),
    13: ("Q5_K", 256, 176, deq_q5_k),
    14: ("Q6_K", 256, 210, deq_q6_k),
    20: ("IQ4_NL", 32, 18, deq_iq4_nl),
    23: ("IQ4_XS", 256, 136, deq_iq4_xs),
    30: ("BF16", 1, 2, deq_bf16),
}


def tensor_nbytes(ttype, ne):
    if ttype not in BLOCK_TYPES:
        raise GGUFError("tensor type %d not supported by the reference" % ttype)
    _, block_elems, block_bytes, _ = BLOCK_TYPES[ttype]
    if ne[0] % block_elems:
        raise GGUFError("row of %d elements is not a multiple of %d" % (ne[0], block_elems))
    return int(np.prod(ne)) // block_elems * block_bytes


def dequantize(ttype, raw, n_elems):
    _, block_elems, block_bytes, fn = BLOCK_TYPES[ttype]
    blocks = raw.reshape(n_elems // block_elems, block_bytes)
    return fn(blocks).reshape(-1)


# ---------------------------------------------------------------------------------------------- activations
# With --act-quant the reference converts the input of every matrix product the way llama.cpp does before its
# dot products (ggml's vec_dot_type of the weight type), written here from the block definitions: Q8_0/Q8_1
# blocks of 32 (d = amax/127 kept as fp16, codes rint(x·127/amax)), Q8_K blocks of 256 (scale −127/max of the
# signed largest value, codes capped at 127), or rounding to fp16 / bf16. Arithmetic in float32 as there.

ACT_OF_WEIGHT = {1: "f16", 30: "bf16", 2: "q8_0", 6: "q8_0", 8: "q8_0", 20: "q8_0", 3: "q8_1", 7: "q8_1",
                 10: "q8_k", 11: "q8_k", 12: "q8_k", 13: "q8_k", 14: "q8_k", 23: "q8_k"}


def round_bf16(x32):
    bits = x32.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


def q8_blocks(x32, with_sum_error=False):
    """x32: (..., 32) float32 → dequantized float32, Q8_0/Q8_1 style. with_sum_error: also the per-block
    difference between Q8_1's stored sum s = fp16(d·Σq) and the sum of the dequantized values."""
    amax = np.max(np.abs(x32), axis=-1, keepdims=True)
    d = amax / np.float32(127.0)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, np.float32(127.0) / amax, np.float32(0.0)).astype(np.float32)
    q = np.rint(x32 * inv)
    d16 = d.astype(np.float16).astype(np.float32)
    if not with_sum_error:
        return d16 * q
    sq = q.sum(axis=-1, keepdims=True).astype(np.float32)
    s16 = (d * sq).astype(np.float16).astype(np.float64)
    return d16 * q, (s16 - d16.astype(np.float64) * sq)[..., 0]


def q8k_blocks(x32):
    """x32: (..., 256) float32 → dequantized float32, Q8_K style."""
    idx = np.argmax(np.abs(x32), axis=-1)
    mx = np.take_along_axis(x32, idx[..., None], axis=-1)
    out = np.zeros_like(x32)
    nz = (mx != 0)[..., 0]
    iscale = (np.float32(-127.0) / mx[nz]).astype(np.float32)
    q = np.minimum(np.rint(iscale * x32[nz]), 127.0).astype(np.float32)
    out[nz] = (np.float32(1.0) / iscale).astype(np.float32) * q
    return out


def convert_act(x, wtype):
    kind = ACT_OF_WEIGHT.get(wtype)
    if kind is None:
        return x
    x32 = x.astype(np.float32)
    if kind == "f16":
        return x32.astype(np.float16).astype(np.float64)
    if kind == "bf16":
        return round_bf16(x32).astype(np.float64)
    bs = 256 if kind == "q8_k" else 32
    shape = x32.shape
    blocks = x32.reshape(shape[:-1] + (shape[-1] // bs, bs))
    deq = q8k_blocks(blocks) if kind == "q8_k" else q8_blocks(blocks)
    return deq.reshape(shape).astype(np.float64)


def round_f16(x):
    return x.astype(np.float32).astype(np.float16).astype(np.float64)


# ---------------------------------------------------------------------------------------------- the model

class Llama:
    def __init__(self, gguf, act_quant=False, kv_f16=False):
        self.act_quant, self.kv_f16 = act_quant, kv_f16
        arch = gguf.get("general.architecture", "llama")
        g = lambda key, default=None: gguf.get("%s.%s" % (arch, key), default)  # noqa: E731
        self.n_layer = int(g("block_count"))
        self.n_embd = int(g("embedding_length"))
        self.n_head = int(g("attention.head_count"))
        self.n_head_kv = int(g("attention.head_count_kv", self.n_head))
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(g("rope.dimension_count", self.head_dim))
        self.rope_base = float(g("rope.freq_base", 10000.0))
        self.eps = float(g("attention.layer_norm_rms_epsilon", 1e-5))
        self.rope_pos_scale = 1.0
        if g("rope.scaling.type", "none") == "linear":
            self.rope_pos_scale = 1.0 / float(g("rope.scaling.factor", 1.0))
        self.gguf = gguf
        self.tok_embd = gguf.tensor("token_embd.weight")
        name = "output.weight" if "output.weight" in gguf.tensors else "token_embd.weight"
        self.lm_head = gguf.tensor(name)
        self.out_norm = gguf.tensor("output_norm.weight")
        self.freq_factors = gguf.tensor("rope_freqs.weight") if "rope_freqs.weight" in gguf.tensors else None
        self.layers = [self._layer(i) for i in range(self.n_layer)]

    def _layer(self, i):
        names = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                 "ffn_down"]
        layer = {n: self.gguf.tensor("blk.%d.%s.weight" % (i, n)) for n in names}
        layer["types"] = {n: self.gguf.tensors["blk.%d.%s.weight" % (i, n)][0] for n in names}
        layer["mins"] = {n: self.gguf.block_mins("blk.%d.%s.weight" % (i, n)) for n in names
                         if layer["types"][n] in (3, 7)}
        return layer

    def matmul(self, h, L, name):
        if not self.act_quant:
            return h @ L[name].T
        wtype = L["types"][name]
        y = convert_act(h, wtype) @ L[name].T
        if wtype in (3, 7):  # Q4_1/Q5_1 add m_w·s_x per block, with s_x rounded to fp16
            blocks = h.astype(np.float32).reshape(h.shape[0], -1, 32)
            _, err = q8_blocks(blocks, with_sum_error=True)
            y = y + err @ L["mins"][name].T
        return y

    def rmsnorm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x, positions):
        """Rotates adjacent pairs (x[2i], x[2i+1]) of the first n_rot dims of every head. x: (T, heads, hd)."""
        i = np.arange(self.n_rot // 2)
        inv_freq = self.rope_base ** (-2.0 * i / self.n_rot)
        if self.freq_factors is not None:
            inv_freq = inv_freq / self.freq_factors[: self.n_rot // 2]
        angle = (positions * self.rope_pos_scale)[:, None] * inv_freq[None, :]  # (T, n_rot/2)
        cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
        out = x.copy()
        x0, x1 = x[:, :, 0:self.n_rot:2], x[:, :, 1:self.n_rot:2]
        out[:, :, 0:self.n_rot:2] = x0 * cos - x1 * sin
        out[:, :, 1:self.n_rot:2] = x0 * sin + x1 * cos
        return out

    def attention(self, h, L, positions):
        T = h.shape[0]
        q = self.matmul(h, L, "attn_q").reshape(T, self.n_head, self.head_dim)
        k = self.matmul(h, L, "attn_k").reshape(T, self.n_head_kv, self.head_dim)
        v = self.matmul(h, L, "attn_v").reshape(T, self.n_head_kv, self.head_dim)
        q, k = self.rope(q, positions), self.rope(k, positions)
        if self.kv_f16:  # an f16 cache: K and V stored in fp16; q and the weights p meet them in fp16
            q, k, v = round_f16(q), round_f16(k), round_f16(v)
        group = self.n_head // self.n_head_kv
        k = np.repeat(k, group, axis=1)  # head j uses kv head j // group
        v = np.repeat(v, group, axis=1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(self.head_dim)
        scores = scores + np.triu(np.full((T, T), -np.inf), k=1)[None, :, :]
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        att = scores / scores.sum(axis=-1, keepdims=True)
        if self.kv_f16:
            att = round_f16(att)
        out = np.einsum("hts,shd->thd", att, v).reshape(T, self.n_embd)
        return self.matmul(out, L, "attn_output")

    def mlp(self, h, L):
        gate = self.matmul(h, L, "ffn_gate")
        up = self.matmul(h, L, "ffn_up")
        return self.matmul(gate / (1.0 + np.exp(-gate)) * up, L, "ffn_down")

    def forward(self, ids):
        """Logits (T, n_vocab) float64 for token ids at positions 0..T-1 (causal)."""
        positions = np.arange(len(ids), dtype=np.float64)
        x = self.tok_embd[np.asarray(ids)]
        for L in self.layers:
            x = x + self.attention(self.rmsnorm(x, L["attn_norm"]), L, positions)
            x = x + self.mlp(self.rmsnorm(x, L["ffn_norm"]), L)
        h = self.rmsnorm(x, self.out_norm)
        if self.act_quant:
            name = "output.weight" if "output.weight" in self.gguf.tensors else "token_embd.weight"
            h = convert_act(h, self.gguf.tensors[name][0])
        return h @ self.lm_head.T


# ---------------------------------------------------------------------------------------------- tokenizer
# Just enough SentencePiece (llama.cpp "llama" model) to turn a prompt into ids for --greedy, and back.

def spm_encode(gguf, text):
    tokens = list(gguf.get("tokenizer.ggml.tokens"))
    scores = gguf.get("tokenizer.ggml.scores")
    index = {t: i for i, t in enumerate(tokens)}
    symbols = list(("▁" + text.replace(" ", "▁")) if text else "")
    while True:
        best, best_score = -1, None
        for i in range(len(symbols) - 1):
            tid = index.get(symbols[i] + symbols[i + 1])
            if tid is not None and (best_score is None or scores[tid] > best_score):
                best, best_score = i, scores[tid]
        if best < 0:
            break
        symbols[best:best + 2] = [symbols[best] + symbols[best + 1]]
    ids = []
    for s in symbols:
        if s in index:
            ids.append(index[s])
        else:
            ids.extend(index["<0x%02X>" % byte] for byte in s.encode("utf-8"))
    return ids


def spm_decode(gguf, ids):
    tokens = gguf.get("tokenizer.ggml.tokens")
    types = gguf.get("tokenizer.ggml.token_type")
    out = bytearray()
    for i in ids:
        piece = tokens[i]
        if types is not None and types[i] == 6 and piece.startswith("<0x"):
            out.append(int(piece[3:5], 16))
        elif types is None or types[i] in (1, 4):
            out.extend(piece.replace("▁", " ").encode("utf-8", errors="surrogateescape"))
    text = out.decode("utf-8", errors="replace")
    return text[1:] if text.startswith(" ") else text  # the space SentencePiece prefixed to the input


# ---------------------------------------------------------------------------------------------- command line

def parse_ids(text):
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise SystemExit("llama_ref: --ids: expected comma-separated integers")


def greedy(model, gguf, ids, n_new):
    eos = int(gguf.get("tokenizer.ggml.eos_token_id", 2))
    for _ in range(n_new):
        next_id = int(np.argmax(model.forward(ids)[-1]))
        ids.append(next_id)
        if next_id == eos:
            break
    return ids


def main(argv):
    ap = argparse.ArgumentParser(description="NumPy float64 reference forward pass of a Llama GGUF model")
    ap.add_argument("model")
    ap.add_argument("--ids", help="comma-separated token ids (no BOS is added)")
    ap.add_argument("--prompt", help="text, tokenized with BOS prepended (for --greedy)")
    ap.add_argument("--out", help="write n_tokens x n_vocab float32 little-endian logits here")
    ap.add_argument("--greedy", type=int, default=0, metavar="N", help="generate N tokens greedily, print ids")
    ap.add_argument("--act-quant", action="store_true",
                    help="convert matmul inputs as llama.cpp does (Q8_0/Q8_1/Q8_K blocks, fp16, bf16)")
    ap.add_argument("--kv-f16", action="store_true", help="an fp16 KV cache: K, V, q and softmax weights in fp16")
    args = ap.parse_args(argv)
    try:
        gguf = GGUF(args.model)
        model = Llama(gguf, act_quant=args.act_quant, kv_f16=args.kv_f16)
    except (GGUFError, KeyError, OSError, ValueError) as e:
        print("llama_ref: %s: %s" % (args.model, e), file=sys.stderr)
        return 2
    if args.ids is not None:
        ids = parse_ids(args.ids)
    elif args.prompt is not None:
        ids = [int(gguf.get("tokenizer.ggml.bos_token_id", 1))] + spm_encode(gguf, args.prompt)
    else:
        print("llama_ref: give --ids or --prompt", file=sys.stderr)
        return 2
    n_vocab = model.lm_head.shape[0]
    if not ids or min(ids) < 0 or max(ids) >= n_vocab:
        print("llama_ref: token ids must be in [0, %d)" % n_vocab, file=sys.stderr)
        return 2
    if args.out:
        model.forward(ids).astype("<f4").tofile(args.out)
    if args.greedy:
        n_prompt = len(ids)
        ids = greedy(model, gguf, list(ids), args.greedy)
        print("prompt ids:", ",".join(map(str, ids[:n_prompt])))
        print("generated ids:", ",".join(map(str, ids[n_prompt:])))
        print("text:", spm_decode(gguf, ids))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
