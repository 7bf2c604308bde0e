/* Block formats (model/qtypes): checked against reference decoders written here from ggml's block descriptions,
 * against hand-built blocks with hand-computed values, by quantization error bounds, and against real ggml files
 * (stories260K in F16/BF16 and legacy-quant mixes) when ../shared is present. */
#include <stdint.h>
#include <string.h>

#include "base/fp16.h"
#include "model/qtypes.h"
#include "testlib.h"

#define N_ROW 512

static const uint32_t SUPPORTED[] = {QT_F32,  QT_F16,  QT_BF16, QT_Q8_0, QT_Q4_0,   QT_Q4_1,  QT_Q5_0, QT_Q5_1,
                                     QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS};
static const uint32_t BLOCK_TYPES[] = {QT_Q8_0, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1,   QT_Q2_K,
                                       QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))


static float rnd_uniform(void) { return (float)test_rand_u32() / 2147483648.0f - 1.0f; } /* [-1, 1) */
static float rnd_normal(void) { return rnd_uniform() + rnd_uniform() + rnd_uniform(); }

/* ---- little-endian fields ------------------------------------------------------------------------------- */

static float get_h(const uint8_t *p) { return xq_fp16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void put_h(uint8_t *p, float v)
{
    uint16_t h = xq_f32_to_fp16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* ---- reference decoders, one loop per ggml block description --------------------------------------------- */

static void ref_q4_0(const uint8_t *b, float *y)
{
    float d = get_h(b);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b[2 + j] & 15) - 8) * d;
        y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
}

static void ref_q4_1(const uint8_t *b, float *y)
{
    float d = get_h(b), m = get_h(b + 2);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(b[4 + j] & 15) * d + m;
        y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
    }
}

/* Q5_0/Q5_1: qh (4 bytes) holds bit k of element k; qs holds elements j and j+16 in byte j. */
static void ref_q5(const uint8_t *b, bool has_min, float *y)
{
    float d = get_h(b), m = has_min ? get_h(b + 2) : 0.0f;
    const uint8_t *qh = b + (has_min ? 4 : 2), *qs = qh + 4;
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 15) + ((h & (1u << j)) ? 16 : 0);
        int hi = (qs[j] >> 4) + ((h & (1u << (j + 16))) ? 16 : 0);
        y[j] = has_min ? (float)lo * d + m : (float)(lo - 16) * d;
        y[j + 16] = has_min ? (float)hi * d + m : (float)(hi - 16) * d;
    }
}

static void ref_q8_0(const uint8_t *b, float *y)
{
    float d = get_h(b);
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

/* K-quant 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes. */
static void ref_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 0x3F;
        *m = s[j + 4] & 0x3F;
        return;
    }
    *sc = (s[j + 4] & 0x0F) + 16 * (s[j - 4] >> 6);
    *m = (s[j + 4] >> 4) + 16 * (s[j] >> 6);
}

/* Q4_K (qh == NULL) and Q5_K: four chunks of 64; chunk c uses qs[32c..32c+31], low nibbles for sub-block 2c,
 * high nibbles for 2c+1; Q5_K's 5th bit of sub-block s is bit s of qh[l]. */
static void ref_kq(const uint8_t *b, bool five, float *y)
{
    float d = get_h(b), dmin = get_h(b + 2);
    const uint8_t *qh = five ? b + 16 : NULL, *qs = five ? b + 48 : b + 16;
    for (int c = 0; c < 4; c++) {
        for (int half = 0; half < 2; half++) {
            int s = 2 * c + half, sc, m;
            ref_scale_min(b + 4, s, &sc, &m);
            float step = d * (float)sc, off = dmin * (float)m;
            for (int l = 0; l < 32; l++) {
                int q = half ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 15;
                if (qh && (qh[l] >> s & 1)) q += 16;
                y[32 * s + l] = step * (float)q - off;
            }
        }
    }
}

/* Q6_K: per 128 elements, 64 bytes of ql and 32 of qh; position l of the half feeds elements l, l+32, l+64,
 * l+96 from (ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high) and qh[l] bit pairs 0, 2, 4, 6. */
static void ref_q6_k(const uint8_t *b, float *y)
{
    float d = get_h(b + 208);
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
            const int q[4] = {(ql[l] & 15) | (qh[l] & 3) << 4, (ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4,
                              (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4, (ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4};
            for (int k = 0; k < 4; k++) {
                int e = 128 * h + 32 * k + l;
                y[e] = d * (float)sc[e / 16] * (float)(q[k] - 32);
            }
        }
    }
}

/* Q2_K: per 128 elements, 32 bytes of qs; four passes over them take bit pairs 0, 2, 4, 6, each pass covering two
 * sub-blocks of 16 (bytes 0..15, then 16..31); scales[s]: scale in the low nibble, min in the high one. */
static void ref_q2_k(const uint8_t *b, float *y)
{
    float d = get_h(b + 80), dmin = get_h(b + 82);
    const uint8_t *q = b + 16;
    int s = 0;
    for (int h = 0; h < 2; h++, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
            for (int part = 0; part < 2; part++, s++)
                for (int l = 0; l < 16; l++)
                    *y++ = d * (float)(b[s] & 15) * (float)(q[16 * part + l] >> shift & 3) - dmin * (float)(b[s] >> 4);
}

/* Q3_K: the same bit pairs from qs (at 32), the third bit from hmask (at 0; pass k of the 8 uses bit k of
 * hmask[l]), value (code − 4 if that bit is clear, else code); 16 six-bit scales unpacked as ggml's four words. */
static void ref_q3_k(const uint8_t *b, float *y)
{
    uint32_t a[4];
    memcpy(a, b + 96, 12);
    uint32_t t = a[2];
    a[2] = ((a[0] >> 4) & 0x0F0F0F0F) | ((t >> 4 & 0x03030303) << 4);
    a[3] = ((a[1] >> 4) & 0x0F0F0F0F) | ((t >> 6 & 0x03030303) << 4);
    a[0] = (a[0] & 0x0F0F0F0F) | ((t & 0x03030303) << 4);
    a[1] = (a[1] & 0x0F0F0F0F) | ((t >> 2 & 0x03030303) << 4);
    int8_t scales[16];
    memcpy(scales, a, 16);
    float d = get_h(b + 108);
    const uint8_t *q = b + 32, *hm = b;
    int s = 0, bit = 0;
    for (int h = 0; h < 2; h++, q += 32)
        for (int shift = 0; shift < 8; shift += 2, bit++)
            for (int part = 0; part < 2; part++, s++)
                for (int l = 0; l < 16; l++) {
                    int code = (q[16 * part + l] >> shift & 3) - (hm[16 * part + l] >> bit & 1 ? 0 : 4);
                    *y++ = d * (float)(scales[s] - 32) * (float)code;
                }
}

static const int8_t IQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static void ref_iq4_nl(const uint8_t *b, float *y)
{
    float d = get_h(b);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)IQ4NL[b[2 + j] & 15];
        y[j + 16] = d * (float)IQ4NL[b[2 + j] >> 4];
    }
}

/* IQ4_XS: per sub-block ib of 32, ls = (scales_l[ib/2] >> 4·(ib%2)) & 15 | ((scales_h >> 2·ib) & 3) << 4 and 16 bytes
 * of qs as IQ4_NL's; value d·(ls − 32)·level. */
static void ref_iq4_xs(const uint8_t *b, float *y)
{
    float d = get_h(b);
    unsigned scales_h = (unsigned)(b[2] | b[3] << 8);
    for (int ib = 0; ib < 8; ib++) {
        int ls = ((b[4 + ib / 2] >> 4 * (ib % 2)) & 15) | ((scales_h >> 2 * ib) & 3) << 4;
        const uint8_t *qs = b + 8 + 16 * ib;
        for (int j = 0; j < 16; j++) {
            y[32 * ib + j] = d * (float)(ls - 32) * (float)IQ4NL[qs[j] & 15];
            y[32 * ib + j + 16] = d * (float)(ls - 32) * (float)IQ4NL[qs[j] >> 4];
        }
    }
}

static void ref_block(uint32_t type, const uint8_t *b, float *y)
{
    switch (type) {
    case QT_Q4_0: ref_q4_0(b, y); break;
    case QT_Q4_1: ref_q4_1(b, y); break;
    case QT_Q5_0: ref_q5(b, false, y); break;
    case QT_Q5_1: ref_q5(b, true, y); break;
    case QT_Q8_0: ref_q8_0(b, y); break;
    case QT_Q4_K: ref_kq(b, false, y); break;
    case QT_Q5_K: ref_kq(b, true, y); break;
    case QT_Q6_K: ref_q6_k(b, y); break;
    case QT_Q2_K: ref_q2_k(b, y); break;
    case QT_Q3_K: ref_q3_k(b, y); break;
    case QT_IQ4_NL: ref_iq4_nl(b, y); break;
    case QT_IQ4_XS: ref_iq4_xs(b, y); break;
    default: CHECKF(0, "no reference for type %u", type);
    }
}

static void ref_dequant(uint32_t type, const uint8_t *src, float *y, int n)
{
    int be = (int)qt_block_elems(type), bb = (int)qt_block_bytes(type);
    for (int i = 0; i < n / be; i++) ref_block(type, src + i * bb, y + i * be);
}

/* Two decoders of the same bytes agree up to a possible fused multiply-add in one of them. */
static bool close_values(float a, float b) { return fabsf(a - b) <= 1e-6f * fmaxf(1.0f, fabsf(a)); }

/* ---- type table ----------------------------------------------------------------------------------------- */

static void test_sizes(void)
{
    static const struct { uint32_t type; uint64_t bytes; } at256[] = {
        {QT_Q4_0, 144}, {QT_Q4_1, 160}, {QT_Q5_0, 176}, {QT_Q5_1, 192}, {QT_Q8_0, 272}, {QT_Q4_K, 144},
        {QT_Q5_K, 176}, {QT_Q6_K, 210}, {QT_F16, 512}, {QT_BF16, 512}, {QT_F32, 1024}, {QT_Q8_1, 288},
        {QT_Q2_K, 84}, {QT_Q3_K, 110}, {QT_Q8_K, 292}, {16, 66}, {17, 74}, {18, 98}, {19, 50}, {20, 144},
        {21, 110}, {22, 82}, {23, 136}, {24, 256}, {25, 512}, {26, 1024}, {27, 2048}, {28, 2048}, {29, 56}};
    for (size_t i = 0; i < COUNT(at256); i++) {
        CHECKF(qt_row_bytes(at256[i].type, 256) == at256[i].bytes, "%s: %llu", qt_name(at256[i].type),
               (unsigned long long)qt_row_bytes(at256[i].type, 256));
        CHECK(qt_known(at256[i].type));
    }
    for (size_t i = 0; i < COUNT(BLOCK_TYPES); i++) CHECK(qt_row_bytes(BLOCK_TYPES[i], 100) == 0);
    CHECK(qt_row_bytes(QT_Q4_K, 100) == 0);
    CHECK(qt_row_bytes(QT_Q4_0, -32) == 0);
    CHECK(qt_row_bytes(QT_F16, 100) == 200);
    CHECK(qt_block_elems(QT_Q6_K) == 256 && qt_block_bytes(QT_Q6_K) == 210);
    CHECK(qt_block_elems(QT_BF16) == 1 && qt_block_bytes(QT_BF16) == 2);
    static const uint32_t unknown[] = {4, 5, 31, 32, 33, 36, 63, 64, 1000, UINT32_MAX};
    for (size_t i = 0; i < COUNT(unknown); i++) {
        CHECK(!qt_known(unknown[i]) && !qt_supported(unknown[i]));
        CHECK(qt_row_bytes(unknown[i], 256) == 0 && qt_block_elems(unknown[i]) == 0);
    }
    CHECK(strcmp(qt_name(4), "type4") == 0);
}

static void test_names(void)
{
    int n_supported = 0;
    for (uint32_t t = 0; t < 200; t++) n_supported += qt_supported(t);
    CHECK(n_supported == (int)COUNT(SUPPORTED));
    for (size_t i = 0; i < COUNT(SUPPORTED); i++) {
        CHECK(qt_supported(SUPPORTED[i]));
        CHECK(qt_from_name(qt_name(SUPPORTED[i])) == (int)SUPPORTED[i]);
    }
    CHECK(strcmp(qt_name(QT_Q4_K), "Q4_K") == 0 && strcmp(qt_name(QT_BF16), "BF16") == 0);
    CHECK(strcmp(qt_name(QT_F32), "F32") == 0 && strcmp(qt_name(QT_Q5_1), "Q5_1") == 0);
    CHECK(strcmp(qt_name(16), "IQ2_XXS") == 0 && strcmp(qt_name(28), "F64") == 0);
    CHECK(qt_from_name("q4_k") == QT_Q4_K && qt_from_name("bf16") == QT_BF16 && qt_from_name("Q8_0") == QT_Q8_0);
    CHECK(qt_from_name("IQ2_XXS") == -1 && qt_from_name("Q4_") == -1 && qt_from_name("") == -1);
    CHECK(qt_from_name("q3_k") == QT_Q3_K && qt_from_name("iq4_nl") == QT_IQ4_NL);
    CHECK(qt_from_name("IQ4_xs") == QT_IQ4_XS);
    CHECK(qt_from_name("Q4_KX") == -1);
}

/* ---- hand-built blocks with hand-computed values -------------------------------------------------------- */

static void expect_block(uint32_t type, const uint8_t *b, const float *want, int n)
{
    float got[256], ref[256];
    qt_dequant_row(type, b, got, n);
    ref_dequant(type, b, ref, n);
    for (int e = 0; e < n; e++) {
        CHECKF(got[e] == want[e], "%s element %d: %g, want %g", qt_name(type), e, got[e], want[e]);
        CHECKF(ref[e] == want[e], "%s reference element %d: %g, want %g", qt_name(type), e, ref[e], want[e]);
    }
}

/* qs byte j = j | (15-j) << 4: element j has code j, element 16+j code 15-j. */
static void fill_ramp_nibbles(uint8_t *qs)
{
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(j | (15 - j) << 4);
}

static void test_known_legacy(void)
{
    uint8_t b[34] = {0};
    float want[32];

    put_h(b, 0.5f); /* Q4_0: (q - 8) * 0.5 */
    fill_ramp_nibbles(b + 2);
    for (int j = 0; j < 16; j++) want[j] = (float)(j - 8) * 0.5f, want[16 + j] = (float)(7 - j) * 0.5f;
    CHECK(want[0] == -4.0f && want[15] == 3.5f && want[16] == 3.5f && want[31] == -4.0f);
    expect_block(QT_Q4_0, b, want, 32);

    put_h(b, 0.25f), put_h(b + 2, -1.0f); /* Q4_1: q * 0.25 - 1 */
    fill_ramp_nibbles(b + 4);
    for (int j = 0; j < 16; j++) want[j] = (float)j * 0.25f - 1.0f, want[16 + j] = (float)(15 - j) * 0.25f - 1.0f;
    expect_block(QT_Q4_1, b, want, 32);

    /* Q5_0, d = 1: qh bytes 01 80 00 FF set the 5th bit of elements 0, 15 and 24..31. */
    static const uint8_t qh[4] = {0x01, 0x80, 0x00, 0xFF};
    put_h(b, 1.0f);
    memcpy(b + 2, qh, 4);
    fill_ramp_nibbles(b + 6);
    for (int j = 0; j < 16; j++) {
        want[j] = (float)((j | (j == 0 || j == 15) << 4) - 16);
        want[16 + j] = (float)(((15 - j) | (16 + j >= 24) << 4) - 16);
    }
    CHECK(want[0] == 0 && want[1] == -15 && want[15] == 15 && want[16] == -1 && want[23] == -8 && want[24] == 7);
    expect_block(QT_Q5_0, b, want, 32);

    put_h(b, 0.5f), put_h(b + 2, 1.0f); /* Q5_1: same codes (+16 back), value q * 0.5 + 1 */
    memcpy(b + 4, qh, 4);
    fill_ramp_nibbles(b + 8);
    for (int j = 0; j < 32; j++) want[j] = (want[j] + 16.0f) * 0.5f + 1.0f;
    expect_block(QT_Q5_1, b, want, 32);

    put_h(b, 0.125f); /* Q8_0: int8 (8j - 128) * 0.125 = j - 16 */
    for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)(8 * j - 128), want[j] = (float)(j - 16);
    expect_block(QT_Q8_0, b, want, 32);
}

/* Scales sc = {1,2,3,4,21,42,63,16}, mins m = {5,6,7,8,33,12,48,63}, packed by hand: bytes 0..3 = sc[0..3] with
 * sc[4..7] >> 4 in the top bits; bytes 4..7 = m[0..3] with m[4..7] >> 4 on top; bytes 8..11 = sc low | m low << 4. */
static const uint8_t KQ_SCALES[12] = {0x41, 0x82, 0xC3, 0x44, 0x85, 0x06, 0xC7, 0xC8, 0x15, 0xCA, 0x0F, 0xF0};
static const int KQ_SC[8] = {1, 2, 3, 4, 21, 42, 63, 16};
static const int KQ_M[8] = {5, 6, 7, 8, 33, 12, 48, 63};

static void test_known_kquants(void)
{
    uint8_t b[176] = {0};
    float want[256];
    put_h(b, 1.0f), put_h(b + 2, 1.0f);
    memcpy(b + 4, KQ_SCALES, 12);
    for (int s = 0; s < 8; s++) {
        int sc, m;
        ref_scale_min(KQ_SCALES, s, &sc, &m);
        CHECKF(sc == KQ_SC[s] && m == KQ_M[s], "sub-block %d: sc %d m %d", s, sc, m);
    }
    /* Q4_K: qs[32c + l] = c | (c + 4) << 4, so sub-block 2c has code c and 2c+1 code c+4. */
    for (int c = 0; c < 4; c++) memset(b + 16 + 32 * c, c | (c + 4) << 4, 32);
    for (int e = 0; e < 256; e++) {
        int s = e / 32, code = s % 2 ? s / 2 + 4 : s / 2;
        want[e] = (float)(KQ_SC[s] * code - KQ_M[s]);
    }
    expect_block(QT_Q4_K, b, want, 256);
    memset(b + 16, 0xFF, 128);
    for (int e = 0; e < 256; e++) want[e] = (float)(15 * KQ_SC[e / 32] - KQ_M[e / 32]);
    expect_block(QT_Q4_K, b, want, 256);

    /* Q5_K: qs all 0; qh[l] = 1 << (l % 8) gives element 32s + l the 5th bit exactly when l % 8 == s. */
    memset(b + 48, 0, 128);
    for (int l = 0; l < 32; l++) b[16 + l] = (uint8_t)(1 << (l % 8));
    for (int e = 0; e < 256; e++) want[e] = (float)(KQ_SC[e / 32] * (e % 32 % 8 == e / 32 ? 16 : 0) - KQ_M[e / 32]);
    expect_block(QT_Q5_K, b, want, 256);
}

static void test_known_q6_k(void)
{
    uint8_t b[210] = {0};
    float want[256];
    put_h(b + 208, 0.5f);
    for (int s = 0; s < 16; s++) b[192 + s] = (uint8_t)(int8_t)(s - 8);
    /* all codes 0: q - 32 = -32, value 0.5 * (s - 8) * -32 */
    for (int e = 0; e < 256; e++) want[e] = -16.0f * (float)(e / 16 - 8);
    /* l = 3 of the first half: codes 1, 19, 34, 52 for elements 3, 35, 67, 99 */
    b[3] = 0x21, b[35] = 0x43, b[128 + 3] = 0xE4;
    want[3] = 124.0f, want[35] = 39.0f, want[67] = -4.0f, want[99] = -20.0f;
    /* element 200 = 128 + 64 + 8: high nibble of ql[72] = 10, bits 4..5 of qh[40] = 2: code 42, scale 4 */
    b[72] = 0xA0, b[128 + 40] = 0x20;
    want[200] = 20.0f;
    expect_block(QT_Q6_K, b, want, 256);
}

/* Q2_K, Q3_K, IQ4_NL: qs bytes 0xE4 give every element of pass k (bits 2k..2k+1) the low code k. */
static void test_known_low_bit_types(void)
{
    uint8_t b[110] = {0};
    float want[256];
    /* Q2_K, d 1, dmin 0.5: sub-block s has scale s % 16 and min 15 − s; value sc·code − 0.5·m */
    put_h(b + 80, 1.0f), put_h(b + 82, 0.5f);
    for (int s = 0; s < 16; s++) b[s] = (uint8_t)(s | (15 - s) << 4);
    memset(b + 16, 0xE4, 64);
    for (int e = 0; e < 256; e++) want[e] = (float)(e / 16 * (e % 128 / 32)) - 0.5f * (float)(15 - e / 16);
    CHECK(want[0] == -7.5f && want[255] == 45.0f && want[100] == 6.0f * 3 - 0.5f * 9);
    expect_block(QT_Q2_K, b, want, 256);

    /* Q3_K, d 0.5: hmask bytes 0x0F set the third bit for the first half (code k, value k) and clear it for the
     * second (value k − 4); 6-bit scale of sub-block s = 4s (sc − 32 = 4s − 32): low nibbles in bytes 0..7
     * (s ≥ 8: high nibbles), top 2 bits in bytes 8..11 (pairs 0, 2, 4, 6 for s / 4 = 0..3). */
    memset(b, 0, sizeof b);
    memset(b, 0x0F, 32);
    memset(b + 32, 0xE4, 64);
    put_h(b + 108, 0.5f);
    for (int s = 0; s < 16; s++) {
        int v = 4 * s;
        b[96 + s % 8] |= (uint8_t)((v & 15) << (4 * (s / 8)));
        b[104 + s % 4] |= (uint8_t)((v >> 4) << (2 * (s / 4)));
    }
    for (int e = 0; e < 256; e++)
        want[e] = 0.5f * (float)(4 * (e / 16) - 32) * (float)(e % 128 / 32 - (e < 128 ? 0 : 4));
    CHECK(want[0] == 0.0f && want[40] == 0.5f * -24 && want[255] == 0.5f * 28 * -1);
    expect_block(QT_Q3_K, b, want, 256);

    /* IQ4_NL, d 2: byte j = j | (15 − j) << 4 gives element j the level j and element 16 + j the level 15 − j. */
    put_h(b, 2.0f);
    fill_ramp_nibbles(b + 2);
    for (int j = 0; j < 16; j++) want[j] = 2.0f * (float)IQ4NL[j], want[16 + j] = 2.0f * (float)IQ4NL[15 - j];
    CHECK(want[0] == -254.0f && want[16] == 226.0f);
    expect_block(QT_IQ4_NL, b, want, 32);

    /* IQ4_XS, d 0.5: sub-block ib has ls = 33 + ib (scale 1 + ib): low nibbles (1 + ib) & 15 in scales_l, top bits
     * 2 (ib ≥ 7: 0x28 = 40 → 2 << 4 | 8) in scales_h; qs ramps as IQ4_NL's in every sub-block. */
    uint8_t x[136] = {0};
    put_h(x, 0.5f);
    unsigned high = 0;
    for (int ib = 0; ib < 8; ib++) {
        int ls = 33 + ib;
        x[4 + ib / 2] |= (uint8_t)((ls & 15) << 4 * (ib % 2));
        high |= (unsigned)(ls >> 4) << 2 * ib;
        fill_ramp_nibbles(x + 8 + 16 * ib);
    }
    x[2] = (uint8_t)high, x[3] = (uint8_t)(high >> 8);
    for (int ib = 0; ib < 8; ib++)
        for (int j = 0; j < 16; j++) {
            want[32 * ib + j] = 0.5f * (float)(1 + ib) * (float)IQ4NL[j];
            want[32 * ib + 16 + j] = 0.5f * (float)(1 + ib) * (float)IQ4NL[15 - j];
        }
    CHECK(want[0] == -63.5f && want[255] == 0.5f * 8 * -127);
    expect_block(QT_IQ4_XS, x, want, 256);
}

/* ---- random bytes: the implementation and the reference decode every bit position the same way ---------- */

static void randomize_block(uint32_t type, uint8_t *b)
{
    for (uint32_t i = 0; i < qt_block_bytes(type); i++) b[i] = (uint8_t)test_rand_u32();
    int d_at = type == QT_Q6_K ? 208 : type == QT_Q2_K ? 80 : type == QT_Q3_K ? 108 : 0; /* keep the scales finite */
    put_h(b + d_at, rnd_uniform());
    if (type == QT_Q4_1 || type == QT_Q5_1 || type == QT_Q4_K || type == QT_Q5_K || type == QT_Q2_K)
        put_h(b + d_at + 2, rnd_uniform());
}

static void test_random_bytes(void)
{
    for (size_t t = 0; t < COUNT(BLOCK_TYPES); t++) {
        uint32_t type = BLOCK_TYPES[t];
        uint8_t row[4 * 272];
        float got[N_ROW], ref[N_ROW];
        int bb = (int)qt_block_bytes(type), nb = N_ROW / (int)qt_block_elems(type);
        for (int rep = 0; rep < 20; rep++) {
            for (int i = 0; i < nb; i++) randomize_block(type, row + i * bb);
            qt_dequant_row(type, row, got, N_ROW);
            ref_dequant(type, row, ref, N_ROW);
            int bad = 0;
            for (int e = 0; e < N_ROW; e++) bad += !close_values(got[e], ref[e]);
            CHECKF(bad == 0, "%s: %d elements differ from the reference", qt_name(type), bad);
        }
    }
}

/* ---- quantization properties ---------------------------------------------------------------------------- */

/* Normal data whose magnitude varies per 32 elements, plus awkward sub-blocks: all zero, all positive,
 * constant, all negative. */
static void make_data(float *x)
{
    for (int i = 0; i < N_ROW; i++) {
        float mag = powf(10.0f, (float)(i / 32 % 5) * 0.5f - 1.5f);
        x[i] = rnd_normal() * mag;
    }
    for (int i = 0; i < 32; i++) x[i] = 0.0f;
    for (int i = 32; i < 64; i++) x[i] = fabsf(x[i]) + 0.5f;
    for (int i = 64; i < 96; i++) x[i] = 0.75f;
    for (int i = 256; i < 288; i++) x[i] = -fabsf(x[i]) - 0.01f;
}

/* The values the block of element e can represent: base + k * step for k in [kmin, kmax] (via the reference
 * layout). */
typedef struct grid {
    float step, base;
    int kmin, kmax;
} grid;

static grid grid_of(uint32_t type, const uint8_t *row, int e)
{
    const uint8_t *b = row + (size_t)(e / (int)qt_block_elems(type)) * qt_block_bytes(type);
    int in = e % (int)qt_block_elems(type), sc, m;
    switch (type) {
    case QT_Q8_0: return (grid){get_h(b), 0, -128, 127};
    case QT_Q4_0: return (grid){get_h(b), 0, -8, 7};
    case QT_Q5_0: return (grid){get_h(b), 0, -16, 15};
    case QT_Q4_1: return (grid){get_h(b), get_h(b + 2), 0, 15};
    case QT_Q5_1: return (grid){get_h(b), get_h(b + 2), 0, 31};
    case QT_Q6_K: return (grid){get_h(b + 208) * (float)(int8_t)b[192 + in / 16], 0, -32, 31};
    case QT_Q2_K:
        return (grid){get_h(b + 80) * (float)(b[in / 16] & 15), -get_h(b + 82) * (float)(b[in / 16] >> 4), 0, 3};
    case QT_Q3_K: { /* the step as the reference unpacks the scales: the block with every code −4, read back */
        uint8_t probe[110];
        float y[256];
        memcpy(probe, b, 110);
        memset(probe, 0, 96);
        ref_q3_k(probe, y);
        return (grid){y[in / 16 * 16] / -4.0f, 0, -4, 3};
    }
    default: /* Q4_K, Q5_K */
        ref_scale_min(b + 4, in / 32, &sc, &m);
        return (grid){get_h(b) * (float)sc, -get_h(b + 2) * (float)m, 0, type == QT_Q5_K ? 31 : 15};
    }
}

static float step_of(uint32_t type, const uint8_t *row, int e) { return fabsf(grid_of(type, row, e).step); }

/* Distance from x to the nearest point of the grid. */
static float grid_distance(grid g, float x)
{
    if (g.step == 0) return fabsf(x - g.base);
    float k = fminf(fmaxf(roundf((x - g.base) / g.step), (float)g.kmin), (float)g.kmax);
    return fabsf(x - (g.base + k * g.step));
}

/* Largest RMS error allowed, relative to the RMS of the data, for normal data (measured: ~70 % of these). */
static double rms_bound(uint32_t type)
{
    switch (type) {
    case QT_Q8_0: return 0.006;
    case QT_Q6_K: return 0.025;
    case QT_Q5_0: case QT_Q5_1: return 0.05;
    case QT_Q5_K: return 0.05;
    case QT_Q3_K: return 0.2;
    case QT_Q2_K: return 0.5;
    default: return 0.1; /* 4-bit types */
    }
}

static void test_roundtrip_bounds(void)
{
    for (size_t t = 0; t < COUNT(BLOCK_TYPES); t++) {
        uint32_t type = BLOCK_TYPES[t];
        if (type == QT_IQ4_NL || type == QT_IQ4_XS) continue; /* not a uniform grid: test_iq4_roundtrip */
        float x[N_ROW], y[N_ROW], ref[N_ROW];
        uint8_t row[4 * 272];
        make_data(x);
        qt_quantize_row(type, x, row, N_ROW);
        qt_dequant_row(type, row, y, N_ROW);
        ref_dequant(type, row, ref, N_ROW);
        double se = 0, sx = 0;
        int nearest = 0, over = 0, half = 0, mismatch = 0;
        for (int e = 0; e < N_ROW; e++) {
            /* the nearest grid point (half a step inside the grid's range; up to one step beyond the top code
             * of the symmetric types, whose range is [-2^(b-1), 2^(b-1) - 1] steps), never more than one step */
            grid g = grid_of(type, row, e);
            float err = fabsf(y[e] - x[e]), slop = 1e-3f * fabsf(g.step) + 1e-6f * fabsf(x[e]);
            nearest += !(err <= grid_distance(g, x[e]) + slop);
            over += !(err <= fabsf(g.step) + slop);
            half += err > 0.5f * fabsf(g.step) + slop;
            mismatch += !close_values(y[e], ref[e]);
            se += (double)(y[e] - x[e]) * (y[e] - x[e]);
            sx += (double)x[e] * x[e];
        }
        CHECKF(nearest == 0, "%s: %d elements not at the nearest grid point", qt_name(type), nearest);
        CHECKF(over == 0, "%s: %d elements beyond one step", qt_name(type), over);
        bool symmetric = type == QT_Q4_0 || type == QT_Q5_0 || type == QT_Q3_K || type == QT_Q6_K || type == QT_Q8_0;
        CHECKF(half == 0 || symmetric, "%s: %d elements beyond half a step", qt_name(type), half);
        CHECKF(mismatch == 0, "%s: %d elements decode differently in the reference", qt_name(type), mismatch);
        double rel = sqrt(se / sx);
        printf("%s: relative RMS error %.4f, %d of %d elements beyond half a step (top-code clamp)\n", qt_name(type),
               rel, half, N_ROW);
        CHECKF(rel <= rms_bound(type), "%s: relative RMS error %.4f > %.4f", qt_name(type), rel, rms_bound(type));
        for (int e = 0; e < 32; e++) CHECKF(y[e] == 0.0f, "%s: zero block decodes to %g", qt_name(type), y[e]);
    }
}

/* The step of the 32-element sub-block holding element e of an IQ4 row: the reference's value of level 0 (−127)
 * there, over −127 (a probe block with every index 0). */
static float iq4_step(uint32_t type, const uint8_t *row, int e)
{
    int be = (int)qt_block_elems(type), bb = (int)qt_block_bytes(type);
    uint8_t probe[136];
    float y[256];
    memcpy(probe, row + (size_t)(e / be) * bb, (size_t)bb);
    memset(probe + (type == QT_IQ4_NL ? 2 : 8), 0, type == QT_IQ4_NL ? 16 : 128);
    ref_block(type, probe, y);
    return y[e % be] / -127.0f;
}

/* IQ4_NL and IQ4_XS: the largest magnitude of each 32 elements maps to the level −127 (IQ4_NL exactly; IQ4_XS
 * within one unit of its 6-bit sub-block scale, rounded away from zero so that it covers), every element decodes
 * to the level nearest to it at its step, and the relative RMS error stays below 4-bit bounds. */
static void test_iq4_roundtrip(uint32_t type)
{
    float x[N_ROW], y[N_ROW];
    uint8_t row[N_ROW];
    make_data(x);
    qt_quantize_row(type, x, row, N_ROW);
    qt_dequant_row(type, row, y, N_ROW);
    int not_nearest = 0, loose = 0;
    double se = 0, sx = 0;
    for (int i = 0; i < N_ROW / 32; i++) {
        float step = iq4_step(type, row, 32 * i), amax = 0.0f;
        float unit = type == QT_IQ4_XS ? fabsf(get_h(row + (size_t)(32 * i / 256) * 136)) * 127.0f : 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * i + j]));
        float reach = fabsf(step) * 127.0f;
        loose += !(reach >= amax * (1.0f - 1e-3f) && reach <= amax * (1.0f + 1e-3f) + unit);
        for (int j = 0; j < 32; j++) {
            float best = INFINITY;
            for (int k = 0; k < 16; k++) best = fminf(best, fabsf(x[32 * i + j] - step * (float)IQ4NL[k]));
            not_nearest += !(fabsf(y[32 * i + j] - x[32 * i + j]) <= best + 1e-6f * fabsf(x[32 * i + j]));
            se += (double)(y[32 * i + j] - x[32 * i + j]) * (y[32 * i + j] - x[32 * i + j]);
            sx += (double)x[32 * i + j] * x[32 * i + j];
        }
    }
    CHECKF(loose == 0, "%s: %d blocks whose scale does not map the largest magnitude to 127", qt_name(type), loose);
    CHECKF(not_nearest == 0, "%s: %d elements not at the nearest level", qt_name(type), not_nearest);
    printf("%s: relative RMS error %.4f\n", qt_name(type), sqrt(se / sx));
    CHECK(sqrt(se / sx) <= 0.1);
    for (int e = 0; e < 32; e++) CHECK(y[e] == 0.0f);
}

/* Legacy encoders use the tight scale: amax / 2^(bits-1) (symmetric) or (max - min) / (2^bits - 1). */
static void test_legacy_scale_tight(void)
{
    static const struct { uint32_t type; float levels; bool asym; } fmt[] = {
        {QT_Q8_0, 127, false}, {QT_Q4_0, 8, false}, {QT_Q5_0, 16, false}, {QT_Q4_1, 15, true}, {QT_Q5_1, 31, true}};
    float x[N_ROW];
    uint8_t row[4 * 272];
    make_data(x);
    for (size_t t = 0; t < COUNT(fmt); t++) {
        qt_quantize_row(fmt[t].type, x, row, N_ROW);
        int bad = 0;
        for (int i = 0; i < N_ROW / 32; i++) {
            float lo = x[32 * i], hi = lo, amax = 0;
            for (int j = 0; j < 32; j++)
                lo = fminf(lo, x[32 * i + j]), hi = fmaxf(hi, x[32 * i + j]), amax = fmaxf(amax, fabsf(x[32 * i + j]));
            float want = (fmt[t].asym ? hi - lo : amax) / fmt[t].levels;
            bad += !(fabsf(step_of(fmt[t].type, row, 32 * i) - want) <= want * 1e-3f);
        }
        CHECKF(bad == 0, "%s: %d blocks with a loose scale", qt_name(fmt[t].type), bad);
    }
}

static void test_dot(void)
{
    for (size_t t = 0; t < COUNT(SUPPORTED); t++) {
        uint32_t type = SUPPORTED[t];
        float w[N_ROW], x[N_ROW], wd[N_ROW];
        uint8_t row[4 * N_ROW];
        for (int rep = 0; rep < 5; rep++) {
            make_data(w);
            for (int i = 0; i < N_ROW; i++) x[i] = rnd_normal();
            qt_quantize_row(type, w, row, N_ROW);
            qt_dequant_row(type, row, wd, N_ROW);
            double want = 0, mag = 0;
            for (int i = 0; i < N_ROW; i++) want += (double)wd[i] * x[i], mag += fabs((double)wd[i] * x[i]);
            float got = qt_dot_row(type, row, x, N_ROW);
            CHECKF(fabs(got - want) <= 1e-5 * mag, "%s: dot %.9g, want %.9g", qt_name(type), got, want);
        }
    }
}

/* ---- float types ---------------------------------------------------------------------------------------- */

static void test_float_roundtrip(void)
{
    enum { N = 4096 };
    static float x[N], y[N];
    static uint16_t bits[N], out[N];
    for (int kind = 0; kind < 2; kind++) {
        uint32_t type = kind ? QT_BF16 : QT_F16;
        for (int i = 0; i < N; i++) {
            do bits[i] = (uint16_t)test_rand_u32();
            while (kind ? (bits[i] & 0x7F80) == 0x7F80 : (bits[i] & 0x7C00) == 0x7C00); /* finite only */
            x[i] = kind ? xq_bf16_to_f32(bits[i]) : xq_fp16_to_f32(bits[i]);
        }
        qt_quantize_row(type, x, out, N);
        CHECKF(memcmp(out, bits, sizeof bits) == 0, "%s: representable values change", qt_name(type));
        qt_dequant_row(type, out, y, N);
        CHECKF(memcmp(x, y, sizeof x) == 0, "%s: decode differs", qt_name(type));
    }
    for (int i = 0; i < N; i++) x[i] = rnd_normal() * 1e3f;
    static uint8_t raw[4 * N];
    qt_quantize_row(QT_F32, x, raw, N);
    qt_dequant_row(QT_F32, raw, y, N);
    CHECK(memcmp(x, y, sizeof x) == 0 && memcmp(raw, x, sizeof x) == 0);
    /* rounding of non-representable values: within half an ulp (2^-11 relative for F16, 2^-8 for BF16) */
    qt_quantize_row(QT_F16, x, out, N);
    qt_dequant_row(QT_F16, out, y, N);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += !(fabsf(y[i] - x[i]) <= fabsf(x[i]) * 0x1p-11f);
    CHECK(bad == 0);
    qt_quantize_row(QT_BF16, x, out, N);
    qt_dequant_row(QT_BF16, out, y, N);
    for (int i = 0; i < N; i++) bad += !(fabsf(y[i] - x[i]) <= fabsf(x[i]) * 0x1p-8f);
    CHECK(bad == 0);
}

/* ---- stories260K: ggml-written files against the F32 original ------------------------------------------ */

/* Just enough GGUF v3 to find tensors: header, metadata skipped (general.alignment read), tensor infos. */
typedef struct gg_file {
    uint8_t *buf;
    size_t size, pos, data_at;
    uint64_t n_tensors;
    size_t infos_at;
    bool bad;
} gg_file;

static uint64_t gg_take(gg_file *g, int bytes)
{
    uint64_t v = 0;
    if (g->pos + (size_t)bytes > g->size) g->bad = true;
    for (int i = 0; i < bytes && !g->bad; i++) v |= (uint64_t)g->buf[g->pos + (size_t)i] << (8 * i);
    g->pos += (size_t)bytes;
    return g->bad ? 0 : v;
}

static const char *gg_str(gg_file *g, uint64_t *len)
{
    *len = gg_take(g, 8);
    if (*len > g->size - (g->pos < g->size ? g->pos : g->size)) g->bad = true;
    const char *s = g->bad ? "" : (const char *)g->buf + g->pos;
    if (!g->bad) g->pos += *len;
    return s;
}

static int gg_scalar_size(uint32_t vt)
{
    static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return vt < 13 ? size[vt] : -1;
}

static void gg_skip_value(gg_file *g, uint32_t vt)
{
    uint64_t len;
    if (vt == 8) {
        gg_str(g, &len);
    } else if (vt == 9) {
        uint32_t et = (uint32_t)gg_take(g, 4);
        uint64_t n = gg_take(g, 8);
        for (uint64_t i = 0; i < n && !g->bad; i++) gg_skip_value(g, et);
    } else if (gg_scalar_size(vt) > 0) {
        gg_take(g, gg_scalar_size(vt));
    } else {
        g->bad = true;
    }
}

static bool gg_open(const char *path, gg_file *g)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    g->size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g->buf = malloc(g->size);
    g->bad = !g->buf || fread(g->buf, 1, g->size, f) != g->size;
    fclose(f);
    if (g->bad || g->size < 24 || memcmp(g->buf, "GGUF", 4) != 0) return false;
    g->pos = 4;
    if (gg_take(g, 4) != 3) return false;
    g->n_tensors = gg_take(g, 8);
    uint64_t n_kv = gg_take(g, 8), align = 32, len;
    for (uint64_t i = 0; i < n_kv && !g->bad; i++) {
        const char *key = gg_str(g, &len);
        uint32_t vt = (uint32_t)gg_take(g, 4);
        bool is_align = len == 17 && memcmp(key, "general.alignment", 17) == 0 && vt == 4;
        if (is_align) align = gg_take(g, 4);
        else gg_skip_value(g, vt);
    }
    g->infos_at = g->pos;
    for (uint64_t i = 0; i < g->n_tensors && !g->bad; i++) {
        gg_str(g, &len);
        uint32_t nd = (uint32_t)gg_take(g, 4);
        g->pos += 8 * (size_t)nd + 12;
    }
    g->data_at = (g->pos + align - 1) / align * align;
    return !g->bad && align > 0 && g->data_at <= g->size;
}

typedef struct gg_tensor {
    uint32_t type;
    int64_t ne0, rows;
    const uint8_t *data;
} gg_tensor;

static bool gg_find(gg_file *g, const char *name, gg_tensor *t)
{
    g->pos = g->infos_at;
    for (uint64_t i = 0; i < g->n_tensors && !g->bad; i++) {
        uint64_t len;
        const char *s = gg_str(g, &len);
        uint32_t nd = (uint32_t)gg_take(g, 4);
        t->ne0 = (int64_t)gg_take(g, 8), t->rows = 1;
        for (uint32_t d = 1; d < nd; d++) t->rows *= (int64_t)gg_take(g, 8);
        t->type = (uint32_t)gg_take(g, 4);
        uint64_t off = gg_take(g, 8);
        if (len != strlen(name) || memcmp(s, name, len) != 0) continue;
        uint64_t bytes = qt_row_bytes(t->type, t->ne0) * (uint64_t)t->rows;
        if (!qt_supported(t->type) || bytes == 0 || off > g->size - g->data_at || bytes > g->size - g->data_at - off)
            return false;
        t->data = g->buf + g->data_at + off;
        return true;
    }
    return false;
}

/* Largest error, in units of the ideal quantization step of each 32-block (for float types: of half an ulp). */
static float block_error_in_steps(uint32_t type, const float *ref, const float *got, int n)
{
    float lo = ref[0], hi = ref[0], amax = 0, worst = 0;
    for (int j = 0; j < n; j++) lo = fminf(lo, ref[j]), hi = fmaxf(hi, ref[j]), amax = fmaxf(amax, fabsf(ref[j]));
    for (int j = 0; j < n; j++) {
        float step;
        switch (type) {
        case QT_Q8_0: step = amax / 127; break;
        case QT_Q4_0: step = amax / 8; break;
        case QT_Q5_0: step = amax / 16; break;
        case QT_Q4_1: step = (hi - lo) / 15; break;
        case QT_Q5_1: step = (hi - lo) / 31; break;
        case QT_F16: step = fabsf(ref[j]) * 0x1p-10f + 0x1p-24f; break;
        case QT_BF16: step = fabsf(ref[j]) * 0x1p-7f; break;
        default: step = 0; break;
        }
        float err = fabsf(got[j] - ref[j]);
        if (err > 0) worst = fmaxf(worst, step > 0 ? err / step : INFINITY);
    }
    return worst;
}

static void compare_file(gg_file *f32, const char *path)
{
    gg_file g;
    if (!gg_open(path, &g)) {
        CHECKF(0, "%s: cannot parse", path);
        free(g.buf);
        return;
    }
    static const char *names[] = {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
                                  "blk.2.attn_v.weight", "blk.4.attn_output.weight", "blk.1.ffn_gate.weight",
                                  "blk.3.ffn_up.weight", "blk.0.ffn_down.weight", "output_norm.weight"};
    float worst = 0;
    for (size_t i = 0; i < COUNT(names); i++) {
        gg_tensor a, b;
        bool found = gg_find(f32, names[i], &a) && gg_find(&g, names[i], &b);
        CHECKF(found && a.type == QT_F32 && a.ne0 == b.ne0 && a.rows == b.rows, "%s: %s", path, names[i]);
        if (!found || a.ne0 > 1024) continue;
        float got[1024];
        for (int64_t r = 0; r < a.rows; r++) {
            const float *ref = (const float *)(const void *)(a.data + r * a.ne0 * 4);
            qt_dequant_row(b.type, b.data + r * qt_row_bytes(b.type, b.ne0), got, b.ne0);
            for (int64_t j = 0; j < a.ne0; j += 32) {
                int n = a.ne0 - j < 32 ? (int)(a.ne0 - j) : 32; /* ffn_down rows of 172 are F16 */
                worst = fmaxf(worst, block_error_in_steps(b.type, ref + j, got + j, n));
            }
        }
    }
    /* the ggml quantizer rounds to nearest: half a step plus fp16 rounding of d; one step is the bound */
    CHECKF(worst <= 1.0f, "%s: error of %.3f steps", path, worst);
    printf("%s: max error %.3f steps\n", path, worst);
    free(g.buf);
}

static void test_stories260k(void)
{
    const char *base = test_shared_path("models/stories260K/stories260K.gguf");
    if (!base) {
        printf("SKIP: ../shared/models/stories260K not found; real-file cross-check not run\n");
        return;
    }
    gg_file f32;
    bool ok = gg_open(base, &f32);
    CHECKF(ok, "%s: cannot parse", base);
    static const char *others[] = {"F16", "BF16", "Q8_0mix", "Q4_0mix", "Q4_1mix", "Q5_0mix", "Q5_1mix"};
    for (size_t i = 0; ok && i < COUNT(others); i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "models/stories260K/stories260K-%s.gguf", others[i]);
        const char *path = test_shared_path(rel);
        CHECKF(path != NULL, "%s missing", rel);
        if (path) compare_file(&f32, path);
    }
    free(f32.buf);
}

int main(void)
{
    test_sizes();
    test_names();
    test_known_legacy();
    test_known_kquants();
    test_known_q6_k();
    test_known_low_bit_types();
    test_random_bytes();
    test_roundtrip_bounds();
    test_iq4_roundtrip(QT_IQ4_NL);
    test_iq4_roundtrip(QT_IQ4_XS);
    test_legacy_scale_tight();
    test_dot();
    test_float_roundtrip();
    test_stories260k();
    return test_report("test_qtypes");
}
