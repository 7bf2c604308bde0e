/* ggml tensor block formats: a type table, and scalar dequantize / dot / quantize for the supported types.
 * Layouts follow ggml-common.h byte for byte; all multi-byte fields are little-endian. */
#include "model/qtypes.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/fp16.h"

#define QK 32    /* elements per block of the legacy formats (Q4_0 … Q8_0) */
#define QK_K 256 /* elements per super-block of the K-quants */

/* ---- type table ---------------------------------------------------------------------------------------- */

typedef struct qt_info {
    const char *name; /* NULL: unknown id */
    uint32_t elems;
    uint32_t bytes;
    bool supported;
} qt_info;

static const qt_info QT_TABLE[QT_MAX_ID] = {
    [QT_F32] = {"F32", 1, 4, true},         [QT_F16] = {"F16", 1, 2, true},
    [QT_Q4_0] = {"Q4_0", QK, 18, true},     [QT_Q4_1] = {"Q4_1", QK, 20, true},
    [QT_Q5_0] = {"Q5_0", QK, 22, true},     [QT_Q5_1] = {"Q5_1", QK, 24, true},
    [QT_Q8_0] = {"Q8_0", QK, 34, true},     [QT_Q8_1] = {"Q8_1", QK, 36, false},
    [QT_Q2_K] = {"Q2_K", QK_K, 84, true},   [QT_Q3_K] = {"Q3_K", QK_K, 110, true},
    [QT_Q4_K] = {"Q4_K", QK_K, 144, true},  [QT_Q5_K] = {"Q5_K", QK_K, 176, true},
    [QT_Q6_K] = {"Q6_K", QK_K, 210, true},  [QT_Q8_K] = {"Q8_K", QK_K, 292, false},
    [16] = {"IQ2_XXS", QK_K, 66, false},    [17] = {"IQ2_XS", QK_K, 74, false},
    [18] = {"IQ3_XXS", QK_K, 98, false},    [19] = {"IQ1_S", QK_K, 50, false},
    [QT_IQ4_NL] = {"IQ4_NL", QK, 18, true}, [21] = {"IQ3_S", QK_K, 110, false},
    [22] = {"IQ2_S", QK_K, 82, false},      [QT_IQ4_XS] = {"IQ4_XS", QK_K, 136, true},
    [24] = {"I8", 1, 1, false},             [25] = {"I16", 1, 2, false},
    [26] = {"I32", 1, 4, false},            [27] = {"I64", 1, 8, false},
    [28] = {"F64", 1, 8, false},            [29] = {"IQ1_M", QK_K, 56, false},
    [QT_BF16] = {"BF16", 1, 2, true},       [34] = {"TQ1_0", QK_K, 54, false},
    [35] = {"TQ2_0", QK_K, 66, false},
};

static const qt_info *info(uint32_t type)
{
    if (type >= QT_MAX_ID || !QT_TABLE[type].name) return NULL;
    return &QT_TABLE[type];
}

bool qt_supported(uint32_t type) { return info(type) && info(type)->supported; }
bool qt_known(uint32_t type) { return info(type) != NULL; }
uint32_t qt_block_elems(uint32_t type) { return info(type) ? info(type)->elems : 0; }
uint32_t qt_block_bytes(uint32_t type) { return info(type) ? info(type)->bytes : 0; }

const char *qt_name(uint32_t type)
{
    if (info(type)) return info(type)->name;
    /* a small per-thread ring, so that a few unknown names can appear in one printf */
    static _Thread_local char ring[4][24];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 4];
    snprintf(buf, sizeof ring[0], "type%u", type);
    return buf;
}

static bool name_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b)) return false;
    return *a == *b;
}

int qt_from_name(const char *name)
{
    if (!name) return -1;
    for (uint32_t t = 0; t < QT_MAX_ID; t++)
        if (qt_supported(t) && name_equal(name, QT_TABLE[t].name)) return (int)t;
    return -1;
}

uint64_t qt_row_bytes(uint32_t type, int64_t n)
{
    const qt_info *ti = info(type);
    if (!ti || n < 0 || n % ti->elems != 0) return 0;
    return (uint64_t)(n / ti->elems) * ti->bytes;
}

/* ---- byte and rounding helpers ------------------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }
static float rd_half(const uint8_t *p) { return xq_fp16_to_f32(rd16(p)); }

/* Stores v as fp16 and returns the value a decoder will read back, so codes are chosen against it. */
static float wr_half(uint8_t *p, float v)
{
    uint16_t h = xq_f32_to_fp16(v);
    wr16(p, h);
    return xq_fp16_to_f32(h);
}

/* Nearest integer in [lo, hi]; NaN maps to lo (keeps float→int conversion defined). */
static int round_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    return (int)lrintf(v);
}

static int ceil_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    return (int)ceilf(v);
}

static float ratio(float x, float step) { return step != 0.0f ? x / step : 0.0f; }

/* The value of largest magnitude, with its sign (the symmetric formats map it to their most negative code). */
static float signed_absmax(const float *x, int n)
{
    float best = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > fabsf(best)) best = x[i];
    return best;
}

static void min_max(const float *x, int n, float *lo, float *hi)
{
    *lo = *hi = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < *lo) *lo = x[i];
        if (x[i] > *hi) *hi = x[i];
    }
}

/* ---- legacy 32-element formats: Q4_0 Q4_1 Q5_0 Q5_1 ----------------------------------------------------- */

/* Layout: fp16 d, [fp16 m], [u32 qh: bit j = 5th bit of element j], 16 bytes qs (byte j: element j in the low
 * nibble, element j+16 in the high nibble). Symmetric formats decode (q - 2^(bits-1))·d, the others q·d + m. */
typedef struct legacy_fmt {
    int bits;
    bool has_min;
} legacy_fmt;

static legacy_fmt legacy_of(uint32_t type)
{
    return (legacy_fmt){type == QT_Q5_0 || type == QT_Q5_1 ? 5 : 4, type == QT_Q4_1 || type == QT_Q5_1};
}

static int legacy_qs_offset(legacy_fmt f) { return (f.has_min ? 4 : 2) + (f.bits == 5 ? 4 : 0); }

static void legacy_get_codes(const uint8_t *b, legacy_fmt f, int q[QK])
{
    const uint8_t *qs = b + legacy_qs_offset(f);
    uint32_t qh = f.bits == 5 ? rd32(b + legacy_qs_offset(f) - 4) : 0;
    for (int j = 0; j < QK; j++) {
        int nib = j < QK / 2 ? qs[j] & 0xF : qs[j - QK / 2] >> 4;
        q[j] = nib | (int)((qh >> j) & 1) << 4;
    }
}

static void legacy_put_codes(uint8_t *b, legacy_fmt f, const int q[QK])
{
    uint8_t *qs = b + legacy_qs_offset(f);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) qs[j] = (uint8_t)((q[j] & 0xF) | (q[j + QK / 2] & 0xF) << 4);
    for (int j = 0; j < QK; j++) qh |= (uint32_t)(q[j] >> 4 & 1) << j;
    if (f.bits == 5) wr32(qs - 4, qh);
}

static void legacy_decode(const uint8_t *b, legacy_fmt f, float *y)
{
    int q[QK];
    legacy_get_codes(b, f, q);
    float d = rd_half(b);
    if (f.has_min) {
        float m = rd_half(b + 2);
        for (int j = 0; j < QK; j++) y[j] = (float)q[j] * d + m;
    } else {
        int zero = 1 << (f.bits - 1);
        for (int j = 0; j < QK; j++) y[j] = (float)(q[j] - zero) * d;
    }
}

static void legacy_encode(const float *x, legacy_fmt f, uint8_t *b)
{
    int q[QK], top = (1 << f.bits) - 1;
    if (f.has_min) {
        float lo, hi;
        min_max(x, QK, &lo, &hi);
        float d = wr_half(b, (hi - lo) / (float)top);
        float m = wr_half(b + 2, lo);
        for (int j = 0; j < QK; j++) q[j] = round_clamp(ratio(x[j] - m, d), 0, top);
    } else {
        int zero = 1 << (f.bits - 1);
        float d = wr_half(b, signed_absmax(x, QK) / (float)-zero);
        for (int j = 0; j < QK; j++) q[j] = round_clamp(ratio(x[j], d), -zero, top - zero) + zero;
    }
    legacy_put_codes(b, f, q);
}

/* ---- Q8_0: fp16 d, 32 int8 ------------------------------------------------------------------------------ */

static void q8_0_decode(const uint8_t *b, float *y)
{
    float d = rd_half(b);
    for (int j = 0; j < QK; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

static void q8_0_encode(const float *x, uint8_t *b)
{
    float d = wr_half(b, fabsf(signed_absmax(x, QK)) / 127.0f);
    for (int j = 0; j < QK; j++) b[2 + j] = (uint8_t)(int8_t)round_clamp(ratio(x[j], d), -127, 127);
}

/* ---- Q4_K / Q5_K: 8 sub-blocks of 32, value = d·sc·q − dmin·m with 6-bit sc and m ------------------------ */

/* 12 bytes hold 8 (sc, m) pairs: sub-blocks 0..3 use the low 6 bits of bytes j and j+4; sub-blocks 4..7 keep
 * their low 4 bits in byte j+4 (sc low nibble, m high nibble) and their top 2 bits in the spare top bits of
 * bytes j-4 (sc) and j (m). */
static void kq_get_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static void kq_put_scales(uint8_t *s, const int sc[8], const int m[8])
{
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
}

/* Element e of sub-block s = e/32 sits in byte 32·(s/2) + e%32 of qs, low nibble for even s. Q5_K adds the
 * 5th bit as bit s of qh[e%32]. */
static void kq_get_codes(const uint8_t *qs, const uint8_t *qh, int q[QK_K])
{
    for (int e = 0; e < QK_K; e++) {
        int s = e / 32, l = e % 32;
        uint8_t byte = qs[32 * (s / 2) + l];
        q[e] = (s % 2 ? byte >> 4 : byte & 0xF) | (qh ? (qh[l] >> s & 1) << 4 : 0);
    }
}

static void kq_put_codes(uint8_t *qs, uint8_t *qh, const int q[QK_K])
{
    memset(qs, 0, QK_K / 2);
    if (qh) memset(qh, 0, 32);
    for (int e = 0; e < QK_K; e++) {
        int s = e / 32, l = e % 32;
        qs[32 * (s / 2) + l] |= (uint8_t)((q[e] & 0xF) << (s % 2 ? 4 : 0));
        if (qh) qh[l] |= (uint8_t)((q[e] >> 4 & 1) << s);
    }
}

/* Fields shared by Q4_K and Q5_K: d at 0, dmin at 2, scales at 4; qh (Q5_K only) then qs. */
static void kq_decode(const uint8_t *b, bool five, float *y)
{
    const uint8_t *qh = five ? b + 16 : NULL;
    const uint8_t *qs = five ? b + 48 : b + 16;
    int q[QK_K];
    kq_get_codes(qs, qh, q);
    float d = rd_half(b), dmin = rd_half(b + 2);
    for (int s = 0; s < 8; s++) {
        int sc, m;
        kq_get_scale_min(b + 4, s, &sc, &m);
        float step = d * (float)sc, off = dmin * (float)m; /* the same products ggml forms */
        for (int l = 0; l < 32; l++) y[32 * s + l] = step * (float)q[32 * s + l] - off;
    }
}

/* Offsets m are rounded up and steps sc rounded up, so that [−dmin·m, −dmin·m + top·d·sc] covers each
 * sub-block and every element ends within half a step of its value. */
static void kq_choose_mins(const float *x, uint8_t *b, int m[8], float off[8])
{
    float need[8], most = 0.0f;
    for (int s = 0; s < 8; s++) {
        float lo, hi;
        min_max(x + 32 * s, 32, &lo, &hi);
        need[s] = lo < 0.0f ? -lo : 0.0f; /* the format subtracts a non-negative offset */
        most = fmaxf(most, need[s]);
    }
    float dmin = wr_half(b + 2, most / 63.0f);
    for (int s = 0; s < 8; s++) {
        m[s] = ceil_clamp(ratio(need[s], dmin), 0, 63);
        off[s] = dmin * (float)m[s];
    }
}

static void kq_choose_steps(const float *x, uint8_t *b, int top, const float off[8], int sc[8], float step[8])
{
    float need[8], most = 0.0f;
    for (int s = 0; s < 8; s++) {
        float lo, hi;
        min_max(x + 32 * s, 32, &lo, &hi);
        need[s] = fmaxf(0.0f, (hi + off[s]) / (float)top);
        most = fmaxf(most, need[s]);
    }
    float d = wr_half(b, most / 63.0f);
    for (int s = 0; s < 8; s++) {
        sc[s] = ceil_clamp(ratio(need[s], d), 0, 63);
        step[s] = d * (float)sc[s];
    }
}

static void kq_encode(const float *x, bool five, uint8_t *b)
{
    int top = five ? 31 : 15, sc[8], m[8], q[QK_K];
    float off[8], step[8];
    kq_choose_mins(x, b, m, off);
    kq_choose_steps(x, b, top, off, sc, step);
    kq_put_scales(b + 4, sc, m);
    for (int e = 0; e < QK_K; e++) q[e] = round_clamp(ratio(x[e] + off[e / 32], step[e / 32]), 0, top);
    kq_put_codes(five ? b + 48 : b + 16, five ? b + 16 : NULL, q);
}

/* ---- Q6_K: ql[128], qh[64], int8 scales[16], fp16 d; 16 sub-blocks of 16, value = d·sc·(q − 32) ----------- */

/* Per 128-element half h: element 32·k + l (k = 0..3, l = 0..31) keeps its low 4 bits in ql[64h + l + 32·(k&1)]
 * (low nibble for k < 2, high for k ≥ 2) and its top 2 bits in qh[32h + l] at bit 2k. */
static int q6_ql_index(int e) { return 64 * (e / 128) + e % 32 + 32 * (e % 128 / 32 % 2); }
static int q6_nib_shift(int e) { return e % 128 / 64 * 4; }
static int q6_qh_index(int e) { return 32 * (e / 128) + e % 32; }
static int q6_qh_shift(int e) { return 2 * (e % 128 / 32); }

static void q6_decode(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *scales = (const int8_t *)(b + 192);
    float d = rd_half(b + 208);
    for (int e = 0; e < QK_K; e++) {
        int lo = ql[q6_ql_index(e)] >> q6_nib_shift(e) & 0xF;
        int hi = qh[q6_qh_index(e)] >> q6_qh_shift(e) & 3;
        y[e] = d * (float)scales[e / 16] * (float)((lo | hi << 4) - 32);
    }
}

/* Sub-block scales are rounded away from zero so the largest element still fits in [−32, 31]. */
static void q6_choose_scales(const float *x, uint8_t *b, float step[16])
{
    float want[16], most = 0.0f;
    for (int s = 0; s < 16; s++) {
        want[s] = signed_absmax(x + 16 * s, 16) / -32.0f;
        most = fmaxf(most, fabsf(want[s]));
    }
    float d = wr_half(b + 208, most / 127.0f);
    for (int s = 0; s < 16; s++) {
        int mag = ceil_clamp(ratio(fabsf(want[s]), d), 0, 127);
        int sc = want[s] < 0.0f ? -mag : mag;
        b[192 + s] = (uint8_t)(int8_t)sc;
        step[s] = d * (float)sc;
    }
}

static void q6_encode(const float *x, uint8_t *b)
{
    float step[16];
    q6_choose_scales(x, b, step);
    uint8_t *ql = b, *qh = b + 128;
    memset(b, 0, 192);
    for (int e = 0; e < QK_K; e++) {
        int q = round_clamp(ratio(x[e], step[e / 16]), -32, 31) + 32;
        ql[q6_ql_index(e)] |= (uint8_t)((q & 0xF) << q6_nib_shift(e));
        qh[q6_qh_index(e)] |= (uint8_t)((q >> 4) << q6_qh_shift(e));
    }
}

/* ---- Q2_K and Q3_K: 16 sub-blocks of 16, 2-bit codes (+ a high bit for Q3_K) -------------------------------- */

/* Both keep an element's low 2 bits in qs[32·(e/128) + e%32] at bit 2·((e%128)/32); Q3_K keeps its third bit in
 * hmask[e%32] at bit e/32. */
static int k2_qs_index(int e) { return 32 * (e / 128) + e % 32; }
static int k2_qs_shift(int e) { return 2 * (e % 128 / 32); }

static void k2_get_codes(const uint8_t *qs, const uint8_t *hmask, int q[QK_K])
{
    for (int e = 0; e < QK_K; e++)
        q[e] = (qs[k2_qs_index(e)] >> k2_qs_shift(e) & 3) | (hmask ? (hmask[e % 32] >> (e / 32) & 1) << 2 : 0);
}

static void k2_put_codes(uint8_t *qs, uint8_t *hmask, const int q[QK_K])
{
    memset(qs, 0, QK_K / 4);
    if (hmask) memset(hmask, 0, QK_K / 8);
    for (int e = 0; e < QK_K; e++) {
        qs[k2_qs_index(e)] |= (uint8_t)((q[e] & 3) << k2_qs_shift(e));
        if (hmask) hmask[e % 32] |= (uint8_t)((q[e] >> 2 & 1) << (e / 32));
    }
}

/* Q2_K: scales[16] (sub-block s: scale in the low nibble, min in the high one), qs[64], fp16 d, fp16 dmin;
 * value = d·sc·q − dmin·m. */
static void q2k_decode(const uint8_t *b, float *y)
{
    int q[QK_K];
    k2_get_codes(b + 16, NULL, q);
    float d = rd_half(b + 80), dmin = rd_half(b + 82);
    for (int s = 0; s < 16; s++) {
        float step = d * (float)(b[s] & 0xF), off = dmin * (float)(b[s] >> 4);
        for (int l = 0; l < 16; l++) y[16 * s + l] = step * (float)q[16 * s + l] - off;
    }
}

/* As kq_encode: offsets and steps rounded up so that each sub-block's range is covered. */
static void q2k_encode(const float *x, uint8_t *b)
{
    float need_m[16], need_s[16], most_m = 0.0f, most_s = 0.0f, off[16], step[16];
    for (int s = 0; s < 16; s++) {
        float lo, hi;
        min_max(x + 16 * s, 16, &lo, &hi);
        need_m[s] = lo < 0.0f ? -lo : 0.0f;
        most_m = fmaxf(most_m, need_m[s]);
    }
    float dmin = wr_half(b + 82, most_m / 15.0f);
    for (int s = 0; s < 16; s++) {
        int m = ceil_clamp(ratio(need_m[s], dmin), 0, 15);
        off[s] = dmin * (float)m;
        b[s] = (uint8_t)(m << 4);
        float lo, hi;
        min_max(x + 16 * s, 16, &lo, &hi);
        need_s[s] = fmaxf(0.0f, (hi + off[s]) / 3.0f);
        most_s = fmaxf(most_s, need_s[s]);
    }
    float d = wr_half(b + 80, most_s / 15.0f);
    for (int s = 0; s < 16; s++) {
        int sc = ceil_clamp(ratio(need_s[s], d), 0, 15);
        step[s] = d * (float)sc;
        b[s] |= (uint8_t)sc;
    }
    int q[QK_K];
    for (int e = 0; e < QK_K; e++) q[e] = round_clamp(ratio(x[e] + off[e / 16], step[e / 16]), 0, 3);
    k2_put_codes(b + 16, NULL, q);
}

/* Q3_K: hmask[32], qs[64], scales[12], fp16 d; value = d·(sc − 32)·(q − 4) with 6-bit sc. Scale s keeps its low
 * 4 bits in byte s%8 (high nibble for s ≥ 8) and its top 2 bits in byte 8 + s%4 at bit 2·(s/4). */
static int q3k_scale(const uint8_t *sc, int s)
{
    return ((sc[s % 8] >> (4 * (s / 8)) & 0xF) | (sc[8 + s % 4] >> (2 * (s / 4)) & 3) << 4) - 32;
}

static void q3k_decode(const uint8_t *b, float *y)
{
    int q[QK_K];
    k2_get_codes(b + 32, b, q);
    float d = rd_half(b + 108);
    for (int s = 0; s < 16; s++) {
        float step = d * (float)q3k_scale(b + 96, s);
        for (int l = 0; l < 16; l++) y[16 * s + l] = step * (float)(q[16 * s + l] - 4);
    }
}

/* As q6_encode: each sub-block's scale maps its largest magnitude to the code −4. */
static void q3k_encode(const float *x, uint8_t *b)
{
    float want[16], step[16], most = 0.0f;
    for (int s = 0; s < 16; s++) {
        want[s] = signed_absmax(x + 16 * s, 16) / -4.0f;
        most = fmaxf(most, fabsf(want[s]));
    }
    float d = wr_half(b + 108, most / 31.0f);
    memset(b + 96, 0, 12);
    for (int s = 0; s < 16; s++) {
        int mag = ceil_clamp(ratio(fabsf(want[s]), d), 0, 31);
        int sc = (want[s] < 0.0f ? -mag : mag) + 32;
        b[96 + s % 8] |= (uint8_t)((sc & 0xF) << (4 * (s / 8)));
        b[96 + 8 + s % 4] |= (uint8_t)((sc >> 4) << (2 * (s / 4)));
        step[s] = d * (float)(sc - 32);
    }
    int q[QK_K];
    for (int e = 0; e < QK_K; e++) q[e] = round_clamp(ratio(x[e], step[e / 16]), -4, 3) + 4;
    k2_put_codes(b + 32, b, q);
}

/* ---- IQ4_NL: fp16 d, 16 bytes; element j's 4-bit index (low nibble of byte j, high nibble of byte j−16) picks
 * one of 16 non-uniform levels; value = d·level ------------------------------------------------------------ */

const int8_t QT_IQ4NL_LEVELS[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static int iq4nl_index(const uint8_t *qs, int j) { return j < QK / 2 ? qs[j] & 0xF : qs[j - QK / 2] >> 4; }

static void iq4nl_decode(const uint8_t *b, float *y)
{
    float d = rd_half(b);
    for (int j = 0; j < QK; j++) y[j] = d * (float)QT_IQ4NL_LEVELS[iq4nl_index(b + 2, j)];
}

/* The largest magnitude maps to the level −127; every element takes its nearest level. */
static void iq4nl_encode(const float *x, uint8_t *b)
{
    float d = wr_half(b, signed_absmax(x, QK) / -127.0f);
    memset(b + 2, 0, QK / 2);
    for (int j = 0; j < QK; j++) {
        float v = ratio(x[j], d);
        int best = 0;
        for (int k = 1; k < 16; k++)
            if (fabsf(v - (float)QT_IQ4NL_LEVELS[k]) < fabsf(v - (float)QT_IQ4NL_LEVELS[best])) best = k;
        b[2 + j % (QK / 2)] |= (uint8_t)(best << (j < QK / 2 ? 0 : 4));
    }
}

/* ---- IQ4_XS: fp16 d, u16 scales_h, scales_l[4], qs[128]; 8 sub-blocks of 32 with a 6-bit scale ls each
 * (low 4 bits: nibble ib%2 of scales_l[ib/2]; top 2: bits 2ib..2ib+1 of scales_h); value = d·(ls − 32)·level,
 * the level indexed as IQ4_NL's within each sub-block's 16 bytes of qs ------------------------------------------- */

static int iq4xs_scale(const uint8_t *b, int ib)
{
    return ((b[4 + ib / 2] >> (4 * (ib % 2)) & 0xF) | (rd16(b + 2) >> (2 * ib) & 3) << 4) - 32;
}

static void iq4xs_decode(const uint8_t *b, float *y)
{
    float d = rd_half(b);
    for (int ib = 0; ib < 8; ib++) {
        float step = d * (float)iq4xs_scale(b, ib);
        for (int j = 0; j < QK; j++) y[32 * ib + j] = step * (float)QT_IQ4NL_LEVELS[iq4nl_index(b + 8 + 16 * ib, j)];
    }
}

/* Each sub-block's scale maps its largest magnitude to the level −127 (rounded away from zero, so none exceeds
 * it); every element takes its nearest level at that scale. */
static void iq4xs_encode(const float *x, uint8_t *b)
{
    float want[8], most = 0.0f;
    for (int ib = 0; ib < 8; ib++) {
        want[ib] = signed_absmax(x + 32 * ib, 32) / -127.0f;
        most = fmaxf(most, fabsf(want[ib]));
    }
    float d = wr_half(b, most / 31.0f);
    uint16_t high = 0;
    memset(b + 4, 0, 4 + QK_K / 2);
    for (int ib = 0; ib < 8; ib++) {
        int mag = ceil_clamp(ratio(fabsf(want[ib]), d), 0, 31);
        int ls = (want[ib] < 0.0f ? -mag : mag) + 32;
        b[4 + ib / 2] |= (uint8_t)((ls & 0xF) << (4 * (ib % 2)));
        high |= (uint16_t)((ls >> 4) << (2 * ib));
        float step = d * (float)(ls - 32);
        uint8_t *qs = b + 8 + 16 * ib;
        for (int j = 0; j < QK; j++) {
            float v = ratio(x[32 * ib + j], step);
            int best = 0;
            for (int k = 1; k < 16; k++)
                if (fabsf(v - (float)QT_IQ4NL_LEVELS[k]) < fabsf(v - (float)QT_IQ4NL_LEVELS[best])) best = k;
            qs[j % 16] |= (uint8_t)(best << (j < 16 ? 0 : 4));
        }
    }
    wr16(b + 2, high);
}

/* ---- block dispatch ------------------------------------------------------------------------------------- */

static bool is_float_type(uint32_t type) { return type == QT_F32 || type == QT_F16 || type == QT_BF16; }

static void decode_block(uint32_t type, const uint8_t *b, float *y)
{
    switch (type) {
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: legacy_decode(b, legacy_of(type), y); break;
    case QT_Q8_0: q8_0_decode(b, y); break;
    case QT_Q4_K: kq_decode(b, false, y); break;
    case QT_Q5_K: kq_decode(b, true, y); break;
    case QT_Q6_K: q6_decode(b, y); break;
    case QT_Q2_K: q2k_decode(b, y); break;
    case QT_Q3_K: q3k_decode(b, y); break;
    case QT_IQ4_NL: iq4nl_decode(b, y); break;
    case QT_IQ4_XS: iq4xs_decode(b, y); break;
    default: assert(0 && "not a supported block type");
    }
}

static void encode_block(uint32_t type, const float *x, uint8_t *b)
{
    switch (type) {
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: legacy_encode(x, legacy_of(type), b); break;
    case QT_Q8_0: q8_0_encode(x, b); break;
    case QT_Q4_K: kq_encode(x, false, b); break;
    case QT_Q5_K: kq_encode(x, true, b); break;
    case QT_Q6_K: q6_encode(x, b); break;
    case QT_Q2_K: q2k_encode(x, b); break;
    case QT_Q3_K: q3k_encode(x, b); break;
    case QT_IQ4_NL: iq4nl_encode(x, b); break;
    case QT_IQ4_XS: iq4xs_encode(x, b); break;
    default: assert(0 && "not a supported block type");
    }
}

static void decode_floats(uint32_t type, const uint8_t *src, float *dst, int64_t n)
{
    if (type == QT_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (type == QT_F16) {
        for (int64_t i = 0; i < n; i++) dst[i] = xq_fp16_to_f32(rd16(src + 2 * i));
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = xq_bf16_to_f32(rd16(src + 2 * i));
    }
}

static void encode_floats(uint32_t type, const float *src, uint8_t *dst, int64_t n)
{
    if (type == QT_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (type == QT_F16) {
        for (int64_t i = 0; i < n; i++) wr16(dst + 2 * i, xq_f32_to_fp16(src[i]));
    } else {
        for (int64_t i = 0; i < n; i++) wr16(dst + 2 * i, xq_f32_to_bf16(src[i]));
    }
}

/* ---- row API -------------------------------------------------------------------------------------------- */

void qt_dequant_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    assert(qt_supported(type) && n >= 0 && n % qt_block_elems(type) == 0);
    if (!qt_supported(type) || n <= 0) return;
    if (is_float_type(type)) {
        decode_floats(type, src, dst, n);
        return;
    }
    const qt_info *ti = info(type);
    const uint8_t *b = src;
    for (int64_t i = 0; i + ti->elems <= n; i += ti->elems, b += ti->bytes) decode_block(type, b, dst + i);
}

void qt_quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    assert(qt_supported(type) && n >= 0 && n % qt_block_elems(type) == 0);
    if (!qt_supported(type) || n <= 0) return;
    if (is_float_type(type)) {
        encode_floats(type, src, dst, n);
        return;
    }
    const qt_info *ti = info(type);
    uint8_t *b = dst;
    for (int64_t i = 0; i + ti->elems <= n; i += ti->elems, b += ti->bytes) encode_block(type, src + i, b);
}

static float dot_floats(const float *w, const float *x, int64_t n)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += w[i] * x[i];
    return s;
}

/* Float rows are decoded in chunks of QK so that they, too, sum per block and need no row-sized buffer. */
float qt_dot_row(uint32_t type, const void *row, const float *x, int64_t n)
{
    assert(qt_supported(type) && n >= 0 && n % qt_block_elems(type) == 0);
    if (!qt_supported(type) || n <= 0) return 0.0f;
    const qt_info *ti = info(type);
    int64_t chunk = is_float_type(type) ? QK : ti->elems;
    const uint8_t *b = row;
    float w[QK_K], total = 0.0f;
    for (int64_t i = 0; i < n; i += chunk) {
        int64_t len = n - i < chunk ? n - i : chunk;
        if (is_float_type(type)) {
            decode_floats(type, b, w, len);
            b += len * ti->bytes;
        } else {
            decode_block(type, b, w);
            b += ti->bytes;
        }
        total += dot_floats(w, x + i, len);
    }
    return total;
}

/* ---- activations: llama.cpp's vec_dot_type conversion and integer dot products --------------------------- */
/* ggml multiplies a quantized weight row with activations that were themselves quantized per block (Q8_0,
 * Q8_1 or Q8_K) or rounded to the weight's float type. Matching that arithmetic is what makes greedy output
 * agree with llama.cpp token for token; the rounding choices below are those of its x86 (AVX2) path. */

uint32_t qt_act_type(uint32_t wtype)
{
    switch (wtype) {
    case QT_F16: return QT_F16;
    case QT_BF16: return QT_BF16;
    case QT_Q4_0: case QT_Q5_0: case QT_Q8_0: case QT_IQ4_NL: return QT_Q8_0;
    case QT_Q4_1: case QT_Q5_1: return QT_Q8_1;
    case QT_Q2_K: case QT_Q3_K: case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: case QT_IQ4_XS: return QT_Q8_K;
    default: return QT_F32;
    }
}

/* Q8_0 / Q8_1: d = amax/127 stored as fp16, codes rint(x·127/amax); Q8_1 adds s = fp16(d·Σq). */
static void act_q8_block(const float *x, uint8_t *b, bool with_sum)
{
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
    wr16(b, xq_f32_to_fp16(d));
    int8_t *qs = (int8_t *)(b + (with_sum ? 4 : 2));
    int sum = 0;
    for (int j = 0; j < QK; j++) {
        qs[j] = (int8_t)lrintf(x[j] * id);
        sum += qs[j];
    }
    if (with_sum) wr16(b + 2, xq_f32_to_fp16(d * (float)sum));
}

/* Q8_K: float d, 256 int8, 16 int16 block sums; scale −127/max of the signed largest-magnitude value. */
static void act_q8k_block(const float *x, uint8_t *b)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK_K; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    int8_t *qs = (int8_t *)(b + 4);
    int16_t bsums[QK_K / 16];
    float d = 0.0f;
    if (amax == 0.0f) {
        memset(qs, 0, QK_K);
    } else {
        float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            long v = lrintf(iscale * x[j]);
            qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        d = 1.0f / iscale;
    }
    for (int g = 0; g < QK_K / 16; g++) {
        int s = 0;
        for (int j = 0; j < 16; j++) s += qs[16 * g + j];
        bsums[g] = (int16_t)s;
    }
    memcpy(b, &d, 4);
    memcpy(b + 4 + QK_K, bsums, sizeof bsums);
}

void qt_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n)
{
    uint8_t *b = dst;
    switch (act_type) {
    case QT_Q8_0:
    case QT_Q8_1:
        for (int64_t i = 0; i < n; i += QK, b += info(act_type)->bytes) act_q8_block(x + i, b, act_type == QT_Q8_1);
        break;
    case QT_Q8_K:
        for (int64_t i = 0; i < n; i += QK_K, b += info(QT_Q8_K)->bytes) act_q8k_block(x + i, b);
        break;
    default: encode_floats(act_type, x, b, n);
    }
}

void qt_act_roundtrip(uint32_t wtype, const float *x, float *out, int64_t n)
{
    uint32_t at = qt_act_type(wtype);
    uint8_t block[292]; /* the largest activation block (Q8_K) */
    if (at == QT_F32) {
        if (out != x) memmove(out, x, (size_t)n * sizeof *out);
        return;
    }
    if (at == QT_F16 || at == QT_BF16) {
        for (int64_t i = 0; i < n; i++)
            out[i] = at == QT_F16 ? xq_fp16_to_f32(xq_f32_to_fp16(x[i])) : xq_bf16_to_f32(xq_f32_to_bf16(x[i]));
        return;
    }
    int64_t bs = at == QT_Q8_K ? QK_K : QK;
    for (int64_t i = 0; i < n; i += bs) {
        qt_quantize_act(at, x + i, block, bs);
        float d;
        const int8_t *qs;
        if (at == QT_Q8_K) {
            memcpy(&d, block, 4);
            qs = (const int8_t *)(block + 4);
        } else {
            d = rd_half(block);
            qs = (const int8_t *)(block + (at == QT_Q8_1 ? 4 : 2));
        }
        for (int64_t j = 0; j < bs; j++) out[i + j] = d * (float)qs[j];
    }
}

static int isum8(const int *q, const int8_t *y, int n)
{
    int s = 0;
    for (int j = 0; j < n; j++) s += q[j] * y[j];
    return s;
}

/* Sums per-lane as ggml's AVX2 kernels do: lane k of a block holds elements 4k..4k+3, each lane accumulates
 * fma(d_w·d_x, lane sum, acc); the lanes are reduced pairwise at the end and the m·s terms of the *_1 formats
 * are summed separately. Quantized activations amplify last-bit differences (a flipped code downstream), so
 * keeping ggml's association is what keeps long greedy runs identical to llama.cpp's. */
static float hsum8(const float v[8])
{
    float r[4];
    for (int i = 0; i < 4; i++) r[i] = v[i + 4] + v[i];
    float a = r[0] + r[2], b = r[1] + r[3];
    return a + b;
}

static float act_dot_legacy(uint32_t wtype, const uint8_t *w, const uint8_t *a, int64_t nb)
{
    legacy_fmt f = legacy_of(wtype);
    int zero = f.has_min ? 0 : 1 << (f.bits - 1);
    uint32_t wb = info(wtype)->bytes, ab = info(qt_act_type(wtype))->bytes;
    float acc[8] = {0}, summs = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += wb, a += ab) {
        int q[QK];
        legacy_get_codes(w, f, q);
        const int8_t *y = (const int8_t *)(a + (f.has_min ? 4 : 2));
        float dd = rd_half(w) * rd_half(a);
        for (int k = 0; k < 8; k++) {
            int lane = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) lane += (q[j] - zero) * y[j];
            acc[k] = fmaf(dd, (float)lane, acc[k]);
        }
        if (f.has_min) summs += rd_half(w + 2) * rd_half(a + 2);
    }
    return hsum8(acc) + summs;
}

static float act_dot_q8_0(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float acc[8] = {0};
    for (int64_t i = 0; i < nb; i++, w += 34, a += 34) {
        float dd = rd_half(w) * rd_half(a);
        for (int k = 0; k < 8; k++) {
            int lane = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) lane += (int8_t)w[2 + j] * (int8_t)a[2 + j];
            acc[k] = fmaf(dd, (float)lane, acc[k]);
        }
    }
    return hsum8(acc);
}

/* Q4_K/Q5_K: d·yd·Σ_s sc_s·Σ q·y − dmin·yd·Σ_s m_s·(block sums of y). */
static float act_dot_kq(const uint8_t *w, const uint8_t *a, int64_t nb, bool five)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += five ? 176 : 144, a += 292) {
        int q[QK_K];
        kq_get_codes(five ? w + 48 : w + 16, five ? w + 16 : NULL, q);
        const int8_t *y = (const int8_t *)(a + 4);
        const int16_t *bs = (const int16_t *)(a + 4 + QK_K);
        float yd;
        memcpy(&yd, a, 4);
        int s1 = 0, s2 = 0;
        for (int s = 0; s < 8; s++) {
            int sc, m;
            kq_get_scale_min(w + 4, s, &sc, &m);
            s1 += sc * isum8(q + 32 * s, y + 32 * s, 32);
            s2 += m * (bs[2 * s] + bs[2 * s + 1]);
        }
        sum += rd_half(w) * yd * (float)s1 - rd_half(w + 2) * yd * (float)s2;
    }
    return sum;
}

static float act_dot_q6k(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += 210, a += 292) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *scales = (const int8_t *)(w + 192), *y = (const int8_t *)(a + 4);
        float yd;
        memcpy(&yd, a, 4);
        int total = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int e = 16 * g; e < 16 * g + 16; e++) {
                int lo = ql[q6_ql_index(e)] >> q6_nib_shift(e) & 0xF;
                int hi = qh[q6_qh_index(e)] >> q6_qh_shift(e) & 3;
                s += ((lo | hi << 4) - 32) * y[e];
            }
            total += scales[g] * s;
        }
        sum += rd_half(w + 208) * yd * (float)total;
    }
    return sum;
}

/* Q2_K: d·yd·Σ_s sc_s·Σ q·y − dmin·yd·Σ_s m_s·(block sum of y). */
static float act_dot_q2k(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += 84, a += 292) {
        int q[QK_K];
        k2_get_codes(w + 16, NULL, q);
        const int8_t *y = (const int8_t *)(a + 4);
        const int16_t *bs = (const int16_t *)(a + 4 + QK_K);
        float yd;
        memcpy(&yd, a, 4);
        int s1 = 0, s2 = 0;
        for (int s = 0; s < 16; s++) {
            s1 += (w[s] & 0xF) * isum8(q + 16 * s, y + 16 * s, 16);
            s2 += (w[s] >> 4) * bs[s];
        }
        sum += rd_half(w + 80) * yd * (float)s1 - rd_half(w + 82) * yd * (float)s2;
    }
    return sum;
}

/* Q3_K: d·yd·Σ_s (sc_s − 32)·Σ (q − 4)·y. */
static float act_dot_q3k(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += 110, a += 292) {
        int q[QK_K];
        k2_get_codes(w + 32, w, q);
        for (int e = 0; e < QK_K; e++) q[e] -= 4;
        const int8_t *y = (const int8_t *)(a + 4);
        float yd;
        memcpy(&yd, a, 4);
        int total = 0;
        for (int s = 0; s < 16; s++) total += q3k_scale(w + 96, s) * isum8(q + 16 * s, y + 16 * s, 16);
        sum += rd_half(w + 108) * yd * (float)total;
    }
    return sum;
}

/* IQ4_NL against Q8_0: per block d_w·d_a·Σ level·y, in Q8_0's lanes. */
static float act_dot_iq4nl(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float acc[8] = {0};
    for (int64_t i = 0; i < nb; i++, w += 18, a += 34) {
        float dd = rd_half(w) * rd_half(a);
        for (int k = 0; k < 8; k++) {
            int lane = 0;
            for (int j = 4 * k; j < 4 * k + 4; j++) lane += QT_IQ4NL_LEVELS[iq4nl_index(w + 2, j)] * (int8_t)a[2 + j];
            acc[k] = fmaf(dd, (float)lane, acc[k]);
        }
    }
    return hsum8(acc);
}

/* IQ4_XS: d·yd·Σ_ib (ls − 32)·Σ level·y. */
static float act_dot_iq4xs(const uint8_t *w, const uint8_t *a, int64_t nb)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += 136, a += 292) {
        const int8_t *y = (const int8_t *)(a + 4);
        float yd;
        memcpy(&yd, a, 4);
        int total = 0;
        for (int ib = 0; ib < 8; ib++) {
            int s = 0;
            for (int j = 0; j < QK; j++) s += QT_IQ4NL_LEVELS[iq4nl_index(w + 8 + 16 * ib, j)] * y[32 * ib + j];
            total += iq4xs_scale(w, ib) * s;
        }
        sum += rd_half(w) * yd * (float)total;
    }
    return sum;
}

/* Float rows: element i accumulates into lane i mod 8 with fmaf, lanes reduced as hsum8. */
static float act_dot_floats(uint32_t wtype, const uint8_t *w, const uint8_t *a, int64_t n)
{
    float acc[8] = {0}, wv[QK], av[QK];
    size_t eb = wtype == QT_F32 ? 4 : 2;
    for (int64_t i = 0; i < n; i += QK) {
        int64_t len = n - i < QK ? n - i : QK;
        decode_floats(wtype, w + (size_t)i * eb, wv, len);
        decode_floats(wtype, a + (size_t)i * eb, av, len);
        for (int64_t j = 0; j < len; j++) acc[(i + j) % 8] = fmaf(wv[j], av[j], acc[(i + j) % 8]);
    }
    return hsum8(acc);
}

float qt_dot_act(uint32_t wtype, const void *wrow, const void *act, int64_t n)
{
    const uint8_t *w = wrow, *a = act;
    switch (wtype) {
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: return act_dot_legacy(wtype, w, a, n / QK);
    case QT_Q8_0: return act_dot_q8_0(w, a, n / QK);
    case QT_Q4_K: return act_dot_kq(w, a, n / QK_K, false);
    case QT_Q5_K: return act_dot_kq(w, a, n / QK_K, true);
    case QT_Q6_K: return act_dot_q6k(w, a, n / QK_K);
    case QT_Q2_K: return act_dot_q2k(w, a, n / QK_K);
    case QT_Q3_K: return act_dot_q3k(w, a, n / QK_K);
    case QT_IQ4_NL: return act_dot_iq4nl(w, a, n / QK);
    case QT_IQ4_XS: return act_dot_iq4xs(w, a, n / QK_K);
    default: return act_dot_floats(wtype, w, a, n);
    }
}
