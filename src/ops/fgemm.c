/* Level dispatch for the float-weight GEMM, and its scalar level: each row decoded to f32 once, then the
 * reference dot product per token (decoding F16/BF16 is exact, so the F32 reference over the decoded row is
 * qt_dot_act of the stored row). */
#include "ops/fgemm.h"

#include "model/qtypes.h"

fgemm_fn fgemm_avx2_kernel(void);
fgemm_fn fgemm_avx512_kernel(void);

size_t fgemm_panel_floats(int64_t k) { return (size_t)((k + 7) / 8 * 8) * FGEMM_ROW_ALIGN; }

static void fgemm_scalar(uint32_t wtype, const void *w, size_t w_stride, int64_t nr, const float *x, int64_t x_ld,
                         int64_t nt, int64_t k, float *y, int64_t y_ld, float *panel)
{
    for (int64_t r = 0; r < nr; r++) {
        qt_dequant_row(wtype, (const char *)w + (size_t)r * w_stride, panel, k);
        for (int64_t t = 0; t < nt; t++) y[t * y_ld + r] = qt_dot_act(QT_F32, panel, x + t * x_ld, k);
    }
}

fgemm_fn fgemm_kernel_at(qdot_level level)
{
    if (level > qdot_cpu_level()) return NULL;
    switch (level) {
    case QDOT_AVX512: return fgemm_avx512_kernel();
    case QDOT_AVX2: return fgemm_avx2_kernel();
    default: return fgemm_scalar;
    }
}

fgemm_fn fgemm_kernel(void)
{
    for (int l = (int)qdot_active_level(); l >= 0; l--) {
        fgemm_fn f = fgemm_kernel_at((qdot_level)l);
        if (f) return f;
    }
    return fgemm_scalar;
}
