/* The row conversions of base/fp16 (F16C where the CPU has it) against the scalar functions, bit for bit:
 * every one of the 65536 fp16 values, and for f32 → fp16 a large sample of floats — every fp16 value, the
 * rounding midpoints between neighbours and the floats one to three ulps either side, every exponent with
 * random mantissas, random bit patterns, and the specials (zeros, subnormals, the overflow edge, infinities,
 * quiet and signalling NaNs of both signs with assorted payloads). Lengths and offsets vary, so the SIMD
 * blocks, the blocks that hold a NaN and the scalar tails all take part. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"
#include "testlib.h"


/* Row conversion of src[0..n) in chunks of varying length (0..40) so that every lane position and tail length
 * is used; the results go to dst. */
static void h2f_rows(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n;) {
        int64_t len = (int64_t)(test_rand_u32() % 41);
        if (len > n - i) len = n - i;
        xq_fp16_to_f32_row(src + i, dst + i, len);
        i += len;
    }
}

static void f2h_rows(const float *src, uint16_t *dst, float *rounded, int64_t n)
{
    for (int64_t i = 0; i < n;) {
        int64_t len = (int64_t)(test_rand_u32() % 41);
        if (len > n - i) len = n - i;
        xq_f32_to_fp16_row(src + i, dst + i, len);
        xq_round_fp16_row(src + i, rounded + i, len);
        i += len;
    }
}

static void test_fp16_to_f32_all(void)
{
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof *h);
    float *f = malloc(N * sizeof *f);
    for (int i = 0; i < N; i++) h[i] = (uint16_t)i;
    int bad = 0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2) /* shuffled, so NaN lanes sit among ordinary ones */
            for (int i = N - 1; i > 0; i--) {
                int j = (int)(test_rand_u32() % (uint32_t)(i + 1));
                uint16_t t = h[i];
                h[i] = h[j];
                h[j] = t;
            }
        if (pass == 0) xq_fp16_to_f32_row(h, f, N);
        else h2f_rows(h, f, N);
        for (int i = 0; i < N; i++) {
            uint32_t want = xq_f32_bits(xq_fp16_to_f32(h[i])), got = xq_f32_bits(f[i]);
            if (want != got && bad++ < 8) fprintf(stderr, "fp16 %04x: row %08x, scalar %08x\n", h[i], got, want);
        }
    }
    CHECKF(bad == 0, "%d fp16 → f32 row conversions differ", bad);
    printf("fp16 → f32: all 65536 values, 3 passes, %d different\n", bad);
    free(h);
    free(f);
}

/* The float sample, about 5.5 million values. */
static int64_t make_floats(float **out)
{
    int64_t cap = 6000000, n = 0;
    uint32_t *u = malloc((size_t)cap * sizeof *u);
    /* every fp16 value as f32, the midpoint to the next one and ±1..3 ulps around both */
    for (uint32_t hv = 0; hv < 0x7c00; hv++) {
        uint32_t a = xq_f32_bits(xq_fp16_to_f32((uint16_t)hv));
        uint32_t b = xq_f32_bits(xq_fp16_to_f32((uint16_t)(hv + 1)));
        uint32_t mid = xq_f32_bits((xq_bits_f32(a) + xq_bits_f32(b)) * 0.5f); /* exact: both are fp16 values */
        for (int d = -3; d <= 3; d++) {
            for (int neg = 0; neg < 2; neg++) {
                uint32_t sign = neg ? 0x80000000u : 0;
                if (a + (uint32_t)d <= 0x7f800000u) u[n++] = sign | (a + (uint32_t)d);
                if (mid + (uint32_t)d <= 0x7f800000u) u[n++] = sign | (mid + (uint32_t)d);
            }
        }
    }
    /* every sign and exponent (NaN/inf included) with 64 random mantissas */
    for (uint32_t se = 0; se < 512; se++)
        for (int k = 0; k < 64; k++) u[n++] = se << 23 | (test_rand_u32() & 0x7fffff);
    /* random bit patterns */
    while (n < cap - 64) u[n++] = test_rand_u32();
    /* specials */
    static const uint32_t special[] = {
        0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x33000000, 0x33000001,
        0x337fffff, 0x38800000, 0x387fffff, 0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x47800000,
        0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000,
        0x7fffffff, 0xffffffff, 0x7fa00000, 0x7f802000, 0x7f801fff, 0xffbfffff, 0x7fe00001, 0x7f8fe000};
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++) u[n++] = special[k];
    /* shuffle, so specials and NaNs are spread among the SIMD blocks */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(((uint64_t)test_rand_u32() << 32 | test_rand_u32()) % (uint64_t)(i + 1));
        uint32_t t = u[i];
        u[i] = u[j];
        u[j] = t;
    }
    *out = (float *)(void *)u;
    return n;
}

static void test_f32_to_fp16_sample(void)
{
    float *x;
    int64_t n = make_floats(&x);
    uint16_t *h = malloc((size_t)n * sizeof *h);
    float *r = malloc((size_t)n * sizeof *r);
    int bad_h = 0, bad_r = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            xq_f32_to_fp16_row(x, h, n);
            xq_round_fp16_row(x, r, n);
        } else {
            f2h_rows(x, h, r, n);
        }
        for (int64_t i = 0; i < n; i++) {
            uint16_t want = xq_f32_to_fp16(x[i]);
            uint32_t want_r = xq_f32_bits(xq_fp16_to_f32(want));
            if (h[i] != want && bad_h++ < 8)
                fprintf(stderr, "f32 %08x: row %04x, scalar %04x\n", xq_f32_bits(x[i]), h[i], want);
            if (xq_f32_bits(r[i]) != want_r && bad_r++ < 8)
                fprintf(stderr, "round f32 %08x: row %08x, scalar %08x\n", xq_f32_bits(x[i]), xq_f32_bits(r[i]), want_r);
        }
    }
    /* in place */
    memcpy(r, x, (size_t)n * sizeof *r);
    xq_round_fp16_row(r, r, n);
    for (int64_t i = 0; i < n; i++)
        if (xq_f32_bits(r[i]) != xq_f32_bits(xq_fp16_to_f32(xq_f32_to_fp16(x[i]))) && bad_r++ < 8)
            fprintf(stderr, "in-place round f32 %08x differs\n", xq_f32_bits(x[i]));
    CHECKF(bad_h == 0, "%d f32 → fp16 row conversions differ", bad_h);
    CHECKF(bad_r == 0, "%d fp16 roundings differ", bad_r);
    printf("f32 → fp16 and fp16 rounding: %lld floats, 2 passes, %d and %d different\n", (long long)n, bad_h, bad_r);
    free(x);
    free(h);
    free(r);
}

int main(void)
{
    printf("row conversions: %s\n", xq_fp16_rows_simd() ? "F16C" : "scalar");
    test_fp16_to_f32_all();
    test_f32_to_fp16_sample();
    return test_report("test_fp16");
}
