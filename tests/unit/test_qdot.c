/* SIMD dot kernels (src/ops/qdot*.c) against the scalar reference qt_dot_act: for every weight type and every
 * level this CPU runs, random and extreme rows must give the very same float bits. Also: XQ_SIMD=scalar selects
 * the reference, and a throughput table (weight GB/s, one thread) for information. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fp16.h"
#include "model/qtypes.h"
#include "ops/qdot.h"
#include "testlib.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t TYPES[] = {QT_F32,  QT_F16,  QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q4_1, QT_Q5_0,
                                 QT_Q5_1, QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS};

static float rnd_sym(void) { return (float)test_rand_u32() * 0x1p-31f - 1.0f; } /* [-1, 1) */
/* Symmetric values over a wide range of magnitudes (2^-12 .. 2^4), zero now and then. */
static float rnd_wide(void)
{
    if (test_rand_u32() % 16 == 0) return 0.0f;
    return rnd_sym() * (float)(1 << (test_rand_u32() % 17)) * 0x1p-12f;
}

static bool is_float_type(uint32_t t) { return t == QT_F32 || t == QT_F16 || t == QT_BF16; }
static bool has_min_field(uint32_t t)
{
    return t == QT_Q4_1 || t == QT_Q5_1 || t == QT_Q2_K || t == QT_Q4_K || t == QT_Q5_K;
}
/* Byte offset of the block's fp16 scale d (its min, where there is one, follows it). */
static int d_offset(uint32_t t) { return t == QT_Q6_K ? 208 : t == QT_Q2_K ? 80 : t == QT_Q3_K ? 108 : 0; }

/* ---- inputs --------------------------------------------------------------------------------------------- */

/* How a weight row is filled: every code byte random or one fixed byte (all-max codes, all-zero, 0x80 …);
 * scales random, zero, or with negative mins. */
typedef struct wmode {
    const char *name;
    int fill;   /* -1: random bytes, else this byte everywhere */
    int scales; /* 0 random, 1 zero, 2 negative mins */
} wmode;

static const wmode WMODES[] = {
    {"random", -1, 0}, {"codes 0xFF", 0xFF, 0}, {"codes 0x00", 0x00, 0}, {"codes 0x80", 0x80, 0},
    {"codes 0x7F", 0x7F, 0}, {"zero scales", -1, 1}, {"negative mins", -1, 2}, {"max codes, neg mins", 0xFF, 2},
};

static void put_half(uint8_t *p, float v)
{
    uint16_t h = xq_f32_to_fp16(v);
    memcpy(p, &h, 2);
}

static void fill_block(uint32_t type, uint8_t *b, wmode m)
{
    for (uint32_t i = 0; i < qt_block_bytes(type); i++) b[i] = (uint8_t)(m.fill < 0 ? test_rand_u32() : (uint32_t)m.fill);
    float d = m.scales == 1 ? 0.0f : rnd_wide(), min = m.scales == 1 ? 0.0f : rnd_wide();
    if (m.scales == 2) min = -(min < 0 ? -min : min) - 0x1p-10f;
    put_half(b + d_offset(type), d); /* raw bytes could be NaN; the kernels need not match on NaN */
    if (has_min_field(type)) put_half(b + d_offset(type) + 2, min);
}

static void make_weights(uint32_t type, uint8_t *row, int64_t n, wmode m)
{
    if (is_float_type(type)) {
        float *x = malloc((size_t)n * sizeof *x);
        for (int64_t i = 0; i < n; i++) x[i] = m.scales == 1 ? 0.0f : rnd_wide();
        qt_quantize_row(type, x, row, n);
        free(x);
        return;
    }
    int64_t nb = n / qt_block_elems(type);
    for (int64_t i = 0; i < nb; i++) fill_block(type, row + i * qt_block_bytes(type), m);
}

/* Activations as the engine makes them: random magnitudes per block, with an all-zero block, a block of ±max
 * (codes ±127) and one of tiny values. */
static void make_acts(uint32_t wtype, uint8_t *act, int64_t n, int variant)
{
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = rnd_wide();
    int64_t bs = is_float_type(wtype) ? 32 : qt_block_elems(wtype) == 256 ? 256 : 32;
    for (int64_t i = 0; i < n; i++) {
        int64_t blk = i / bs;
        if (variant == 1 && blk % 3 == 0) x[i] = 0.0f;
        if (variant == 2 && blk % 2 == 0) x[i] = (i % 3 ? 7.5f : -7.5f);
        if (variant == 3 && blk % 2 == 1) x[i] *= 0x1p-30f;
    }
    qt_quantize_act(qt_act_type(wtype), x, act, n);
    free(x);
}

/* ---- bit identity --------------------------------------------------------------------------------------- */

static int lengths(uint32_t type, int64_t out[12])
{
    static const int64_t legacy[] = {32, 96, 576, 1536}, kq[] = {256, 512, 1536};
    static const int64_t floats[] = {0, 1, 7, 8, 9, 72, 257, 576, 1536};
    const int64_t *src = is_float_type(type) ? floats : qt_block_elems(type) == 256 ? kq : legacy;
    int count = is_float_type(type) ? (int)COUNT(floats) : qt_block_elems(type) == 256 ? (int)COUNT(kq)
                                                                                        : (int)COUNT(legacy);
    memcpy(out, src, (size_t)count * sizeof *out);
    return count;
}

/* Compares one kernel with the reference; counts into compared / bad. */
static void check_level(qdot_level lvl, uint32_t type, const uint8_t *w, const uint8_t *a, int64_t n,
                        const char *what, int *compared, int *bad)
{
    qdot_fn f = qdot_kernel_at(lvl, type);
    if (!f) return;
    float ref = qt_dot_act(type, w, a, n), got = f(w, a, n);
    bool same = memcmp(&ref, &got, sizeof ref) == 0;
    CHECKF(same, "%s %s n=%lld %s: %.9g vs reference %.9g", qdot_level_name(lvl), qt_name(type), (long long)n,
           what, (double)got, (double)ref);
    ++*compared;
    *bad += !same;
}

static void test_bit_identity(void)
{
    uint8_t *w = malloc(4 * 1536), *a = malloc(4 * 1536);
    int compared = 0, bad = 0;
    for (size_t t = 0; t < COUNT(TYPES); t++) {
        int64_t ns[12];
        int count = lengths(TYPES[t], ns);
        for (int k = 0; k < count; k++)
            for (size_t m = 0; m < COUNT(WMODES); m++)
                for (int variant = 0; variant < 4; variant++)
                    for (int rep = 0; rep < 4; rep++) {
                        make_weights(TYPES[t], w, ns[k], WMODES[m]);
                        make_acts(TYPES[t], a, ns[k], variant);
                        char what[64];
                        snprintf(what, sizeof what, "weights %s, acts %d", WMODES[m].name, variant);
                        for (int l = QDOT_SCALAR + 1; l < QDOT_LEVEL_COUNT; l++)
                            check_level((qdot_level)l, TYPES[t], w, a, ns[k], what, &compared, &bad);
                    }
    }
    printf("bit identity: %d SIMD results compared, %d different\n", compared, bad);
    free(w);
    free(a);
}

/* Tile kernels: every (row, token) of a tile equals the reference's dot. Tiles of 1..19 rows × 1..9 tokens (and
 * 66..72, past a kernel's token chunk) with padded strides, so the multi-row and multi-token paths and their
 * remainders all run. */
static void test_tiles(void)
{
    enum { MAXR = 19, MAXT = 72, MAXN = 1536 };
    int compared = 0, bad = 0;
    uint8_t *w = malloc((size_t)MAXR * (4 * MAXN + 64)), *a = malloc((size_t)MAXT * (4 * MAXN + 64));
    float *y = malloc(MAXR * MAXT * sizeof *y);
    for (size_t ti = 0; ti < COUNT(TYPES); ti++) {
        uint32_t type = TYPES[ti];
        int64_t ns[12];
        int count = lengths(type, ns);
        for (int k = 0; k < count; k++) {
            int64_t n = ns[k];
            size_t ws = qt_row_bytes(type, n) + 8, as = qt_row_bytes(qt_act_type(type), n) + 12;
            for (int shape = 0; shape < 12; shape++) {
                int64_t nr = shape < 4 ? 16 : 1 + (int64_t)(test_rand_u32() % MAXR);
                int64_t nt = shape < 4 ? shape + 1 : shape == 11 ? 66 + (int64_t)(test_rand_u32() % 7) : 1 + (int64_t)(test_rand_u32() % 9);
                wmode m = WMODES[test_rand_u32() % COUNT(WMODES)];
                for (int64_t r = 0; r < nr; r++) make_weights(type, w + r * ws, n, m);
                for (int64_t t = 0; t < nt; t++) make_acts(type, a + t * as, n, (int)(test_rand_u32() % 4));
                for (int l = QDOT_SCALAR; l < QDOT_LEVEL_COUNT; l++) {
                    qdot_tile_fn f = qdot_tile_kernel_at((qdot_level)l, type);
                    if (!f) continue;
                    for (int64_t i = 0; i < nr * nt; i++) y[i] = -12345.0f;
                    f(w, ws, nr, a, as, nt, n, y, nr);
                    for (int64_t t = 0; t < nt; t++)
                        for (int64_t r = 0; r < nr; r++) {
                            float ref = qt_dot_act(type, w + r * ws, a + t * as, n), got = y[t * nr + r];
                            bool same = memcmp(&ref, &got, sizeof ref) == 0;
                            if (!same && bad < 10)
                                fprintf(stderr, "%s tile %s n=%lld %lldx%lld at (%lld,%lld): %.9g vs reference %.9g\n",
                                        qdot_level_name((qdot_level)l), qt_name(type), (long long)n, (long long)nr,
                                        (long long)nt, (long long)r, (long long)t, (double)got, (double)ref);
                            compared++;
                            bad += !same;
                        }
                }
            }
        }
    }
    CHECKF(bad == 0, "%d tile results differ from the reference", bad);
    printf("tiles: %d results compared, %d different\n", compared, bad);
    free(w);
    free(a);
    free(y);
}

/* SIMD activation quantization gives qt_quantize_act's bytes: random blocks of every magnitude, zero blocks,
 * rounding ties, equal magnitudes of both signs (Q8_K takes the first as its max), infinities and NaNs. */
static void fill_act_input(float *x, int64_t n, int variant)
{
    for (int64_t i = 0; i < n; i++) x[i] = rnd_wide();
    for (int64_t i = 0; i < n; i++) {
        int64_t blk = i / 32;
        switch (variant) {
        case 1: if (blk % 3 == 0) x[i] = 0.0f; break;
        case 2: x[i] = (float)((int)(test_rand_u32() % 255) - 127) + (i % 2 ? 0.5f : 0.0f); break; /* ties at id = 1 */
        case 3: if (i % 37 == 5) x[i] = -x[i - 1]; if (i % 97 == 3) x[i] = 0x1p-140f; break;
        case 4: if (i % 61 == 7) x[i] = (i % 3 ? INFINITY : -INFINITY); break;
        case 5: if (i % 53 == 11) x[i] = NAN; if (i % 200 == 17) x[i] = -NAN; break;
        case 6: if (blk % 2) x[i] *= 0x1p100f; else x[i] *= 0x1p-120f; break;
        default: break;
        }
    }
}

static void test_quantize_act(void)
{
    static const uint32_t ats[] = {QT_Q8_0, QT_Q8_1, QT_Q8_K, QT_F16};
    enum { N = 2048 };
    float *x = malloc(N * sizeof *x);
    uint8_t *want = malloc(4 * N), *got = malloc(4 * N);
    int compared = 0, bad = 0;
    for (size_t k = 0; k < COUNT(ats); k++)
        for (int variant = 0; variant < 7; variant++)
            for (int rep = 0; rep < 8; rep++)
                for (int64_t n = ats[k] == QT_Q8_K ? 256 : 32; n <= N; n *= 4) {
                    fill_act_input(x, n, variant);
                    uint64_t bytes = qt_row_bytes(ats[k], n);
                    qt_quantize_act(ats[k], x, want, n);
                    for (int l = QDOT_SCALAR + 1; l < QDOT_LEVEL_COUNT; l++) {
                        memset(got, 0xA5, bytes);
                        qdot_quantize_act_at((qdot_level)l, ats[k], x, got, n);
                        bool same = memcmp(want, got, bytes) == 0;
                        CHECKF(same, "%s quantize %s n=%lld variant %d", qdot_level_name((qdot_level)l), qt_name(ats[k]),
                               (long long)n, variant);
                        compared++;
                        bad += !same;
                    }
                }
    printf("activation quantization: %d SIMD rows compared, %d different\n", compared, bad);
    free(x);
    free(want);
    free(got);
}

/* With AVX2 and FMA present every type must have an AVX2 kernel (else the fallback would hide a gap). */
static void test_tables(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
    for (size_t t = 0; t < COUNT(TYPES); t++)
        CHECKF(qdot_kernel_at(QDOT_AVX2, TYPES[t]) != NULL, "no AVX2 kernel for %s", qt_name(TYPES[t]));
}

/* Called first: XQ_SIMD is read once, on the first use. */
static void test_env_scalar(void)
{
    setenv("XQ_SIMD", "scalar", 1);
    CHECK(qdot_active_level() == QDOT_SCALAR);
    for (size_t t = 0; t < COUNT(TYPES); t++) CHECK(qdot_kernel(TYPES[t]) == qdot_kernel_at(QDOT_SCALAR, TYPES[t]));
}

/* ---- throughput ----------------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GB/s of weight bytes over ROWS rows of N elements (about L2-resident), one thread, ~20 ms per cell: the one-row
 * kernel, and the tile kernel over the same rows against 1 token (decode) and 32 tokens (prefill). */
enum { ROWS = 32, N = 4096, PRE_TOKENS = 32 };

static double throughput(qdot_fn f, qdot_tile_fn tf, int nt, const uint8_t *w, const uint8_t *a, uint64_t row_bytes,
                         uint64_t act_bytes)
{
    volatile float sink = 0.0f;
    float y[ROWS * PRE_TOKENS];
    uint64_t bytes = 0;
    double t0 = now_s(), t1 = t0;
    while (t1 - t0 < 0.02) {
        if (f)
            for (int r = 0; r < ROWS; r++) sink += f(w + r * row_bytes, a, N);
        else {
            tf(w, row_bytes, ROWS, a, act_bytes, nt, N, y, ROWS);
            sink += y[0];
        }
        bytes += ROWS * row_bytes;
        t1 = now_s();
    }
    (void)sink;
    return (double)bytes / (t1 - t0) * 1e-9;
}

static void print_throughput(void)
{
    uint8_t *w = malloc(ROWS * 4 * N), *a = malloc(PRE_TOKENS * 4 * N);
    printf("weight GB/s, 1 thread, %d rows of %d (prefill: the same bytes against %d tokens)\n", ROWS, N, PRE_TOKENS);
    printf("%-6s", "type");
    static const char *const kinds[] = {"dot", "decode", "prefill"};
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < QDOT_LEVEL_COUNT; l++) {
            char h[32];
            snprintf(h, sizeof h, "%s:%s", kinds[k], qdot_level_name((qdot_level)l));
            printf(" %14s", h);
        }
    printf("\n");
    for (size_t t = 0; t < COUNT(TYPES); t++) {
        uint64_t rb = qt_row_bytes(TYPES[t], N), ab = qt_row_bytes(qt_act_type(TYPES[t]), N);
        for (int r = 0; r < ROWS; r++) make_weights(TYPES[t], w + r * rb, N, WMODES[0]);
        for (int k = 0; k < PRE_TOKENS; k++) make_acts(TYPES[t], a + k * ab, N, 0);
        printf("%-6s", qt_name(TYPES[t]));
        for (int k = 0; k < 3; k++)
            for (int l = 0; l < QDOT_LEVEL_COUNT; l++) {
                qdot_fn f = k == 0 ? qdot_kernel_at((qdot_level)l, TYPES[t]) : NULL;
                qdot_tile_fn tf = k > 0 ? qdot_tile_kernel_at((qdot_level)l, TYPES[t]) : NULL;
                if (f || tf) printf(" %14.2f", throughput(f, tf, k == 2 ? PRE_TOKENS : 1, w, a, rb, ab));
                else printf(" %14s", "-");
            }
        printf("\n");
    }
    free(w);
    free(a);
}

int main(void)
{
    test_rand_seed(0x243F6A8885A308D3ull); /* this file's sequence */
    test_env_scalar();
    test_tables();
    test_bit_identity();
    test_quantize_act();
    test_tiles();
    print_throughput();
    return test_report("test_qdot");
}
