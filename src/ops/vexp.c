/* expf of our own, with the same bits at every SIMD level (scalar, AVX2, AVX-512), so that a row's exp does not
 * depend on the machine's vector width or on where a row's tail starts. The softmax and SiLU call it for every
 * key and every FFN channel: libm's scalar expf was 15 % of decode at 2048 keys.
 *
 * The arithmetic is in double, so the float result is the correctly rounded exp except where exp(x) lies within
 * ~3e-13 (relative) of a midpoint between two floats — rarer than libm's own misroundings (test_ops). That
 * matters here beyond accuracy: this model's Q8_1 activation codes flip on one-ulp changes, and a float-only
 * exp (faithful, one ulp off in 0.5 % of inputs) moved kv-q4_0's perplexity on GPL-3 by 2.7 %.
 *
 *   k = nearest integer to x·log2(e)          (fma into the 1.5·2^52 shifter: k lands in the low mantissa bits)
 *   r = x − k·ln2                             (ln2 in two parts; k·LN2_HI is exact)
 *   exp(r) = Σ_{n≤11} rⁿ/n!, |r| ≤ ln2/2     (Taylor; the first left-out term is < 3e-13 of the sum)
 *   exp(x) = exp(r)·2^k                       (exact in double for every k used), rounded once to float
 *
 * x is clamped to [−104, 89] first: below, the result rounds to 0; above, it overflows to +inf; NaN passes
 * through (the SIMD max/min return their second operand when one is NaN). */
#include "ops/vexp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/qdot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VEXP_X86 1
#endif

#define LOG2E 0x1.71547652b82fep+0
#define SHIFTER 0x1.8p52 /* t = x·log2e + SHIFTER holds round(x·log2e) in its low mantissa bits */
#define LN2_HI 0x1.62e42ffp-1 /* 29 significant bits: k·LN2_HI is exact for |k| < 2^24 */
#define LN2_LO (-0x1.718432a1b0e26p-35)
#define X_MIN (-104.0f)
#define X_MAX 89.0f
#define N_TAYLOR 10

/* 1/n! for n = 11 … 2, the Horner order. */
static const double TAYLOR[N_TAYLOR] = {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
                                        1.0 / 720,      1.0 / 120,     1.0 / 24,     1.0 / 6,     1.0 / 2};

/* 2^k from t's bits: adding the exponent bias to the low bits, then shifting them into the exponent field. */
static double pow2_of_shifted(double t)
{
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52;
    double p;
    memcpy(&p, &bits, sizeof p);
    return p;
}

float ops_expf(float x)
{
    if (x != x) return x + x;
    double xd = x < X_MIN ? X_MIN : x > X_MAX ? X_MAX : x;
    double t = fma(xd, LOG2E, SHIFTER), k = t - SHIFTER;
    double r = fma(-k, LN2_HI, xd);
    r = fma(-k, LN2_LO, r);
    double p = TAYLOR[0];
    for (int i = 1; i < N_TAYLOR; i++) p = fma(p, r, TAYLOR[i]);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    return (float)(p * pow2_of_shifted(t));
}

static void expf_scalar(const float *in, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = ops_expf(in[i]);
}

#ifdef VEXP_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static __m256d expd_avx2(__m256d x)
{
    __m256d shifter = _mm256_set1_pd(SHIFTER);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(LOG2E), shifter), k = _mm256_sub_pd(t, shifter);
    __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_HI), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_LO), r);
    __m256d p = _mm256_set1_pd(TAYLOR[0]);
    for (int i = 1; i < N_TAYLOR; i++) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(TAYLOR[i]));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    __m256i pow2 = _mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(pow2));
}

AVX2 static __m256 expf_avx2(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(X_MAX), _mm256_max_ps(_mm256_set1_ps(X_MIN), x));
    __m128 lo = _mm256_cvtpd_ps(expd_avx2(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
    __m128 hi = _mm256_cvtpd_ps(expd_avx2(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

AVX2 static void expf_row_avx2(const float *in, float *out, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, expf_avx2(_mm256_loadu_ps(in + i)));
    expf_scalar(in + i, out + i, n - i);
}

AVX512 static __m512d expd_avx512(__m512d x)
{
    __m512d shifter = _mm512_set1_pd(SHIFTER);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(LOG2E), shifter), k = _mm512_sub_pd(t, shifter);
    __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(LN2_HI), x);
    r = _mm512_fnmadd_pd(k, _mm512_set1_pd(LN2_LO), r);
    __m512d p = _mm512_set1_pd(TAYLOR[0]);
    for (int i = 1; i < N_TAYLOR; i++) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(TAYLOR[i]));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    __m512i pow2 = _mm512_slli_epi64(_mm512_add_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64(1023)), 52);
    return _mm512_mul_pd(p, _mm512_castsi512_pd(pow2));
}

AVX512 static __m512 expf_avx512(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(X_MAX), _mm512_max_ps(_mm512_set1_ps(X_MIN), x));
    __m256 x_hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1));
    __m256d lo = _mm256_castps_pd(_mm512_cvtpd_ps(expd_avx512(_mm512_cvtps_pd(_mm512_castps512_ps256(x)))));
    __m256d hi = _mm256_castps_pd(_mm512_cvtpd_ps(expd_avx512(_mm512_cvtps_pd(x_hi))));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(lo), hi, 1));
}

/* The tail goes through a masked vector: the same arithmetic lane for lane. */
AVX512 static void expf_row_avx512(const float *in, float *out, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, expf_avx512(_mm512_loadu_ps(in + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, expf_avx512(_mm512_maskz_loadu_ps(m, in + i)));
    }
}
#endif

static int active_level(void)
{
#ifdef VEXP_X86
    static int cached = -1;
    if (cached < 0) cached = (int)qdot_active_level();
    return cached;
#else
    return QDOT_SCALAR;
#endif
}

void ops_expf_row_at(int level, const float *in, float *out, int64_t n)
{
    if (level > active_level()) level = active_level();
#ifdef VEXP_X86
    if (level >= QDOT_AVX512) return expf_row_avx512(in, out, n);
    if (level >= QDOT_AVX2) return expf_row_avx2(in, out, n);
#endif
    expf_scalar(in, out, n);
}

void ops_expf_row(const float *in, float *out, int64_t n) { ops_expf_row_at(active_level(), in, out, n); }

int ops_expf_row_simd(void) { return active_level(); }
