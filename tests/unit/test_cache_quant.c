/* The quantizer and packing of XQUANT.md §1 and the quantized streams built on them: pack/unpack round-trips for
 * every bit width at odd lengths and offsets; the arithmetic on hand-checked groups (rint ties to even, clamp,
 * s16 == 0); error ≤ s/2 per element (plus the fp16 rounding of scale and zero); constant groups exact;
 * per-channel rows stay fp16 until their group fills; bytes per token equal the formula and the allocation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"
#include "cache/blockrow.h"
#include "cache/qstream.h"
#include "cache/quant.h"
#include "model/qtypes.h"
#include "testlib.h"

static const int BITS[] = {2, 3, 4, 8};

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float frand(float lo, float hi) { return lo + (hi - lo) * (float)(rng() & 0xffffff) / (float)0x1000000; }

static void check_pack_roundtrip(void)
{
    for (int b = 0; b < 4; b++) {
        int bits = BITS[b];
        for (int n = 1; n <= 67; n += 3)
            for (int first = 0; first < 11; first += 5) {
                uint8_t codes[80], back[80], stream[128];
                memset(stream, 0xA5, sizeof stream);
                for (int i = 0; i < n; i++) codes[i] = (uint8_t)(rng() & ((1u << bits) - 1));
                quant_pack(codes, n, bits, stream, (uint64_t)first);
                quant_unpack(stream, (uint64_t)first, n, bits, back);
                CHECKF(memcmp(codes, back, (size_t)n) == 0, "bits %d n %d first %d", bits, n, first);
                /* The codes before `first` and after the last one keep their old bits (the 0xA5 pattern). */
                uint8_t pattern[128], got[16], want[16];
                memset(pattern, 0xA5, sizeof pattern);
                quant_unpack(stream, 0, first, bits, got);
                quant_unpack(pattern, 0, first, bits, want);
                CHECK(memcmp(got, want, (size_t)first) == 0);
                quant_unpack(stream, (uint64_t)(first + n), 4, bits, got);
                quant_unpack(pattern, (uint64_t)(first + n), 4, bits, want);
                CHECK(memcmp(got, want, 4) == 0);
            }
        CHECK(quant_packed_bytes(8, bits) == (uint64_t)bits); /* 8 codes in `bits` bytes: 3-bit packs 8 in 3 */
        /* Dequantizing reads the same codes as one scalar fmaf each, on and off byte boundaries, for lengths
         * around the SIMD path's 8 codes a step (the fast and the general path), contiguous and strided. */
        static const int lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 61, 128, 139};
        for (int first = 0; first < 24; first++)
            for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
                int n = lengths[k];
                uint8_t codes[140], stream[200] = {0};
                float out[2 * 140 + 1];
                for (int i = 0; i < n; i++) codes[i] = (uint8_t)(rng() & ((1u << bits) - 1));
                quant_pack(codes, n, bits, stream, (uint64_t)first);
                uint16_t s16 = xq_f32_to_fp16(0.37f), z16 = xq_f32_to_fp16(-1.25f);
                for (int stride = 1; stride <= 2; stride++) {
                    for (int i = 0; i < 2 * 140 + 1; i++) out[i] = 99.0f;
                    quant_load_group(stream, (uint64_t)first, n, bits, s16, z16, out, stride);
                    int bad = 0;
                    for (int i = 0; i < n; i++) bad += out[i * stride] != quant_value(codes[i], s16, z16);
                    bad += out[n * stride] != 99.0f; /* nothing written past the group */
                    CHECKF(bad == 0, "bits %d first %d n %d stride %d: %d wrong", bits, first, n, stride, bad);
                }
            }
    }
    CHECK(quant_packed_bytes(3, 3) == 2 && quant_packed_bytes(0, 4) == 0 && quant_packed_bytes(5, 8) == 5);
}

static void check_arithmetic(void)
{
    uint8_t q[8];
    uint16_t s, z;
    /* s = 1, z = 0: 0.5 and 1.5 are ties; rint rounds them to even (0 and 2). */
    const float x[4] = {0.0f, 0.5f, 1.5f, 3.0f};
    quant_group(x, 4, 1, 2, q, &s, &z);
    CHECK(xq_fp16_to_f32(s) == 1.0f && xq_fp16_to_f32(z) == 0.0f);
    CHECK(q[0] == 0 && q[1] == 0 && q[2] == 2 && q[3] == 3);
    /* The scale is rounded to fp16 before coding: (mx − mn)/3 = 0.1 → fp16 0.0999755859375. */
    const float y[2] = {0.0f, 0.3f};
    quant_group(y, 2, 1, 2, q, &s, &z);
    CHECK(s == xq_f32_to_fp16(0.3f / 3.0f) && q[1] == 3);
    /* A zero that rounds above the minimum gives a negative quotient: clamped to 0. */
    const float w[2] = {1.00001f, 2.0f};
    quant_group(w, 2, 1, 8, q, &s, &z);
    CHECK(q[0] == 0 && xq_fp16_to_f32(z) == 1.0f);
    /* Stride: one channel over tokens. */
    const float col[6] = {1, 100, 2, 100, 3, 100};
    quant_group(col, 3, 2, 4, q, &s, &z);
    CHECK(xq_fp16_to_f32(z) == 1.0f && q[0] == 0 && q[2] == 15);
}

static void check_error_bound(void)
{
    for (int b = 0; b < 4; b++)
        for (int trial = 0; trial < 200; trial++) {
            int bits = BITS[b], n = 1 + (int)(rng() % 150);
            float x[150], lo = frand(-8, 0), hi = lo + frand(0, 16);
            for (int i = 0; i < n; i++) x[i] = frand(lo, hi);
            uint8_t stream[160];
            uint16_t s16, z16;
            quant_store_group(x, n, 1, bits, stream, 3, &s16, &z16);
            float back[150], mn = x[0], mx = x[0];
            quant_load_group(stream, 3, n, bits, s16, z16, back, 1);
            for (int i = 1; i < n; i++) mn = fminf(mn, x[i]), mx = fmaxf(mx, x[i]);
            float s = xq_fp16_to_f32(s16), z = xq_fp16_to_f32(z16), qmax = (float)((1 << bits) - 1);
            /* s/2, plus what fp16 rounding of scale and zero can add at the ends of the range */
            float slack = qmax * fabsf((mx - mn) / qmax - s) + fabsf(mn - z) + 1e-6f * fmaxf(fabsf(mn), fabsf(mx));
            float worst = 0;
            for (int i = 0; i < n; i++) worst = fmaxf(worst, fabsf(back[i] - x[i]));
            CHECKF(worst <= s / 2 + slack, "bits %d n %d: error %g > s/2 %g + %g", bits, n, worst, s / 2, slack);
        }
}

static void check_constant_groups(void)
{
    const float values[] = {0.0f, 1.5f, -3.25f, 1024.0f, 0.000244140625f};
    for (int b = 0; b < 4; b++)
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            float x[37], back[37];
            for (int i = 0; i < 37; i++) x[i] = values[v];
            uint8_t stream[40];
            uint16_t s16, z16;
            quant_store_group(x, 37, 1, BITS[b], stream, 0, &s16, &z16);
            quant_load_group(stream, 0, 37, BITS[b], s16, z16, back, 1);
            CHECK(s16 == 0 && memcmp(x, back, sizeof x) == 0);
        }
}

static qstream make_stream(qstream_kind kind, int width, int bits, int G, bool ch0, int64_t n_ctx, int64_t window,
                           int64_t n_batch)
{
    qstream qs;
    qstream_spec spec = {.kind = kind, .width = width, .bits = bits, .group = G, .fp16_ch0 = ch0,
                         .block_type = QT_Q8_0};
    CHECK(qstream_init(&qs, &spec, n_ctx, window, qstream_ring_rows(&spec, window, n_batch)) == 0);
    return qs;
}

/* Per-channel: tokens of a group that is not full are seen in fp16 only; once full, quantized from fp32. */
static void check_per_channel_residual(void)
{
    enum { W = 5, G = 4, N = 11 };
    qstream qs = make_stream(QS_PER_CHANNEL, W, 2, G, false, N, 0, 1);
    float rows[N][W], out[N][W];
    for (int t = 0; t < N; t++)
        for (int c = 0; c < W; c++) rows[t][c] = frand(-2, 2);
    for (int t = 0; t < N; t++) {
        qstream_append(&qs, t, 1, rows[t]);
        int64_t a = qstream_quant_prefix(&qs, t);
        CHECKF(a == (t + 1) / G * G, "t %d prefix %lld", t, (long long)a);
        qstream_read_fp16(&qs, a, t + 1, out[0], W);
        for (int64_t j = a; j <= t; j++)
            for (int c = 0; c < W; c++) CHECK(out[j - a][c] == xq_fp16_to_f32(xq_f32_to_fp16(rows[j][c])));
    }
    /* The quantized view of group 1 equals quantizing each channel's 4 fp32 values directly. */
    qstream_read_quant(&qs, 4, 8, out[0], W);
    for (int c = 0; c < W; c++) {
        uint8_t q[G];
        uint16_t s, z;
        quant_group(&rows[4][c], G, W, 2, q, &s, &z);
        for (int i = 0; i < G; i++) CHECK(out[i][c] == quant_value(q[i], s, z));
    }
    /* Appending the same rows as one batch stores the same bytes. */
    qstream qb = make_stream(QS_PER_CHANNEL, W, 2, G, false, N, 0, N);
    qstream_append(&qb, 0, N, rows[0]);
    CHECK(memcmp(qs.codes, qb.codes, qs.code_bytes) == 0 && memcmp(qs.params, qb.params, qs.param_bytes) == 0);
    qstream_free(&qs);
    qstream_free(&qb);
}

/* Reading a range of per-channel rows at once (8 channels × 8 tokens at a time where it can) gives each row as
 * reading it alone does (channel by channel), for widths with and without a partial block of 8 channels, groups
 * whose byte alignment allows the fast path or not (12 three-bit codes: 36 bits), and ranges starting anywhere. */
static void check_per_channel_ranges(void)
{
    static const int widths[] = {19, 192}, groups[] = {16, 12, 128};
    for (int b = 0; b < 4; b++)
        for (int w = 0; w < 2; w++)
            for (int gi = 0; gi < 3; gi++) {
                int width = widths[w], G = groups[gi], bits = BITS[b];
                int64_t n = 3 * G;
                qstream qs = make_stream(QS_PER_CHANNEL, width, bits, G, w == 0, n, 0, n);
                size_t bytes = sizeof(float) * (size_t)(n * width);
                float *rows = malloc(bytes), *all = malloc(bytes);
                float one[192];
                for (int64_t i = 0; i < n * width; i++) rows[i] = frand(-3, 3);
                qstream_append(&qs, 0, n, rows);
                static const int starts[] = {0, 1, 5, 8, 13};
                for (int k = 0; k < 5; k++) {
                    int64_t j0 = starts[k], j1 = n - starts[k] / 2;
                    qstream_read_quant(&qs, j0, j1, all, width);
                    int bad = 0;
                    for (int64_t j = j0; j < j1; j++) {
                        qstream_read_quant(&qs, j, j + 1, one, width);
                        bad += memcmp(one, all + (j - j0) * width, sizeof(float) * (size_t)width) != 0;
                    }
                    CHECKF(bad == 0, "bits %d width %d G %d rows [%lld, %lld): %d rows differ", bits, width, G,
                           (long long)j0, (long long)j1, bad);
                }
                free(rows);
                free(all);
                qstream_free(&qs);
            }
}

static void check_window_prefix(void)
{
    qstream qs = make_stream(QS_PER_TOKEN, 8, 4, 128, false, 64, 3, 8);
    CHECK(qstream_quant_prefix(&qs, 0) == 0 && qstream_quant_prefix(&qs, 2) == 0 && qstream_quant_prefix(&qs, 3) == 1);
    qstream_free(&qs);
    /* Per-channel: the later of "W tokens old" and "its group is full" decides. */
    qstream qc = make_stream(QS_PER_CHANNEL, 8, 4, 4, false, 64, 6, 8);
    CHECK(qstream_quant_prefix(&qc, 8) == 3 && qstream_quant_prefix(&qc, 11) == 6 && qstream_quant_prefix(&qc, 13) == 8);
    qstream_free(&qc);
    qstream qg = make_stream(QS_PER_CHANNEL, 8, 4, 4, false, 64, 1, 8);
    CHECK(qstream_quant_prefix(&qg, 5) == 4 && qstream_quant_prefix(&qg, 7) == 7 && qstream_quant_prefix(&qg, 2) == 0);
    qstream_free(&qg);
}

/* Odd widths: the last per-token group is shorter; fp16 channel 0 is exact to fp16. */
static void check_odd_widths(void)
{
    int widths[] = {1, 7, 191, 192, 576};
    for (int w = 0; w < 5; w++) {
        int width = widths[w];
        qstream qs = make_stream(QS_PER_TOKEN, width, 3, 128, width > 1, 4, 0, 4);
        float rows[4 * 576], out[4 * 576];
        for (int i = 0; i < 4 * width; i++) rows[i] = frand(-1, 1);
        qstream_append(&qs, 0, 4, rows);
        qstream_read_quant(&qs, 0, 4, out, width);
        float worst = 0;
        for (int i = 0; i < 4 * width; i++) worst = fmaxf(worst, fabsf(out[i] - rows[i]));
        CHECKF(worst < 2.0f / 7.0f, "width %d worst %g", width, worst);
        if (width > 1)
            for (int t = 0; t < 4; t++) CHECK(out[t * width] == xq_fp16_to_f32(xq_f32_to_fp16(rows[t * width])));
        qstream_free(&qs);
    }
}

/* Bytes: the formula of XQUANT.md §1, the layout's count for n tokens, and what was allocated. */
static void check_bytes(void)
{
    struct {
        qstream_kind kind;
        int width, bits, G;
        bool ch0;
        double expect;
    } cases[] = {
        {QS_PER_TOKEN, 64, 4, 128, false, 32 + 4},      {QS_PER_TOKEN, 576, 2, 128, false, 144 + 5 * 4},
        {QS_PER_CHANNEL, 32, 4, 128, false, 16 + 1},    {QS_PER_CHANNEL, 32, 4, 32, false, 16 + 4},
        {QS_PER_TOKEN, 192, 3, 128, true, 191 * 3 / 8.0 + 2 * 4 + 2},
        {QS_PER_CHANNEL, 192, 3, 64, true, 191 * 3 / 8.0 + 191 * 4 / 64.0 + 2},
        {QS_BLOCK, 192, 0, 0, false, 6 * 34},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        qstream_spec spec = {cases[i].kind, cases[i].width, cases[i].bits, cases[i].G, QT_Q8_0, cases[i].ch0};
        double bpt = qstream_bytes_per_token(&spec);
        CHECKF(fabs(bpt - cases[i].expect) < 1e-9, "case %zu: %g != %g", i, bpt, cases[i].expect);
        int64_t n_ctx = 8 * (cases[i].G > 0 ? cases[i].G : 32);
        qstream qs;
        CHECK(qstream_init(&qs, &spec, n_ctx, 0, 0) == 0);
        CHECKF((double)qstream_bytes_allocated(&qs) == bpt * (double)n_ctx, "case %zu: allocated %llu", i,
               (unsigned long long)qstream_bytes_allocated(&qs));
        CHECK((double)qstream_bytes_held(&qs, n_ctx / 2) == bpt * (double)(n_ctx / 2));
        qstream_free(&qs);
    }
}

/* blockrow_load (kv-q8_0 / kv-q4_0 rows, vectorised) gives qt_dequant_row's bits: rows of 1, 6 and 18 blocks
 * quantized from random values, then every block's fp16 scale replaced by special ones — ±0, the smallest
 * subnormal, the largest finite, ±inf, a quiet and a signalling NaN — and random Q4_0 code bytes. */
static void check_block_rows(void)
{
    enum { MAXN = 18 * 32 };
    static const uint32_t types[] = {QT_Q8_0, QT_Q4_0};
    static const uint16_t scales[] = {0x0000, 0x8000, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7d01, 0x3c00, 0xb800};
    static const int64_t widths[] = {32, 192, MAXN};
    float x[MAXN], ref[MAXN], got[MAXN];
    uint8_t row[MAXN * 2];
    int bad = 0, rows = 0;
    for (int t = 0; t < 2; t++)
        for (int w = 0; w < 3; w++)
            for (int variant = 0; variant <= 10; variant++) {
                int64_t n = widths[w];
                uint32_t bb = qt_block_bytes(types[t]);
                for (int64_t i = 0; i < n; i++) x[i] = frand(-3.0f, 3.0f);
                qt_quantize_row(types[t], x, row, n);
                for (int64_t b = 0; b < n / 32 && variant < 10; b++) { /* variant 10: the scales as quantized */
                    uint16_t sc = scales[(variant + b) % 10];
                    row[b * bb] = (uint8_t)sc, row[b * bb + 1] = (uint8_t)(sc >> 8);
                    for (uint32_t k = 2; k < bb && types[t] == QT_Q4_0; k++) row[b * bb + k] = (uint8_t)(rng() & 0xff);
                }
                qt_dequant_row(types[t], row, ref, n);
                blockrow_load(types[t], row, got, n);
                bad += memcmp(ref, got, (size_t)n * sizeof *ref) != 0;
                rows++;
            }
    CHECKF(bad == 0, "%d of %d block rows differ from qt_dequant_row", bad, rows);
}

int main(void)
{
    check_pack_roundtrip();
    check_arithmetic();
    check_error_bound();
    check_constant_groups();
    check_per_channel_residual();
    check_per_channel_ranges();
    check_window_prefix();
    check_odd_widths();
    check_bytes();
    check_block_rows();
    return test_report("test_cache_quant");
}
