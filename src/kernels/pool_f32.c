/* kernels/pool_f32.c - fast fp32 pooling driver (see pool_f32.h): plane geometry, the padded
 * row buffer, column counts for averages, ISA dispatch and the split over threads. */
#include "kernels/pool_f32.h"

#include <math.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static sqz_isa clamp_isa(sqz_isa isa) {
    const sqz_isa s = sqz_cpu_isa_supported();
    return isa > s ? s : isa;
}

/* Fills the plane geometry for p (1-D or 2-D); 0 when the fast path does not apply. */
static int plane_of(const sqz_pool_params *p, int is_max, int cip, sqz_pool_plane *g) {
    if (p->nsp < 1 || p->nsp > 2) return 0;
    const int two = p->nsp == 2, l = p->nsp - 1;
    *g = (sqz_pool_plane){.H = two ? p->in[0] : 1, .W = p->in[l], .OH = two ? p->out[0] : 1, .OW = p->out[l],
                          .KH = two ? p->kernel[0] : 1, .KW = p->kernel[l], .sh = two ? p->stride[0] : 1,
                          .sw = p->stride[l], .dh = two ? p->dilation[0] : 1, .dw = p->dilation[l],
                          .ph = two ? p->pad_begin[0] : 0, .pw = p->pad_begin[l], .is_max = is_max, .cip = cip,
                          .ph_end = two ? p->pad_end[0] : 0};
    if (g->H <= 0 || g->W <= 0 || g->OH <= 0 || g->OW <= 0 || g->KH <= 0 || g->KW <= 0) return 0;
    if (g->sh <= 0 || g->sw <= 0 || g->dh <= 0 || g->dw <= 0 || g->ph < 0 || g->pw < 0 || g->ph_end < 0) return 0;
    if (g->sw > 4096 || g->dw > 4096 || g->OW > SQZ_POOL_TMP_MAX || g->pw > SQZ_POOL_TMP_MAX) return 0;
    /* the horizontal pass reads up to (OW rounded up to 16 - 1) * sw + (KW - 1) * dw + 32 */
    const int64_t owr = (g->OW + 15) / 16 * 16;
    const int64_t len = (owr - 1) * g->sw + (g->KW - 1) * g->dw + 33;
    if (g->KW > SQZ_POOL_TMP_MAX || len > SQZ_POOL_TMP_MAX || g->pw + g->W > SQZ_POOL_TMP_MAX) return 0;
    g->tmp_len = len > g->pw + g->W ? len : g->pw + g->W;
    return g->tmp_len <= SQZ_POOL_TMP_MAX;
}

/* Valid taps of a window starting at start over [0, n). */
static int64_t count_taps(int64_t start, int64_t d, int64_t K, int64_t n) {
    int64_t lo = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t hi = start >= n ? 0 : (n - 1 - start) / d + 1;
    if (hi > K) hi = K;
    return hi > lo ? hi - lo : 0;
}

static void run_planes(sqz_isa isa, int threads, const sqz_pool_plane *g, int64_t nc, const float *x, float *y) {
    const int64_t insp = g->H * g->W, outsp = g->OH * g->OW;
    const int64_t work = nc * outsp * g->KH * g->KW;
    const int nt = threads > 1 && work >= 65536 ? threads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        float tmp[SQZ_POOL_TMP_MAX];
        const float id = g->is_max ? -INFINITY : 0.0f;
        for (int64_t i = 0; i < g->tmp_len; i++) tmp[i] = id;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t pl = 0; pl < nc; pl++) {
            if (isa >= SQZ_ISA_AVX512) sqz_pool2d_f32_plane__avx512(g, x + pl * insp, y + pl * outsp, tmp);
            else sqz_pool2d_f32_plane__avx2(g, x + pl * insp, y + pl * outsp, tmp);
        }
    }
}

void sqz_maxpool_f32(sqz_isa isa, int threads, const sqz_pool_params *p, const float *x, float *y) {
    isa = clamp_isa(isa);
    sqz_pool_plane g;
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX2 && p->nc > 0 && plane_of(p, 1, 0, &g)) {
        run_planes(isa, threads, &g, p->nc, x, y);
        return;
    }
#endif
    (void)g;
    (void)threads;
    sqz_maxpool_f32_ref(p, x, y, NULL, 0);
}

void sqz_avgpool_f32(sqz_isa isa, int threads, const sqz_pool_params *p, int count_include_pad, const float *x,
                     float *y) {
    isa = clamp_isa(isa);
    sqz_pool_plane g;
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX2 && p->nc > 0 && plane_of(p, 0, count_include_pad != 0, &g)) {
        float colcnt[SQZ_POOL_TMP_MAX];
        const int64_t pw_end = p->pad_end[p->nsp - 1];
        for (int64_t o = 0; o < g.OW; o++) {
            const int64_t start = o * g.sw - g.pw;
            colcnt[o] = (float)(g.cip ? count_taps(start + g.pw, g.dw, g.KW, g.W + g.pw + pw_end)
                                      : count_taps(start, g.dw, g.KW, g.W));
        }
        g.colcnt = colcnt;
        run_planes(isa, threads, &g, p->nc, x, y);
        return;
    }
#endif
    (void)g;
    (void)threads;
    sqz_avgpool_f32_ref(p, count_include_pad, x, y);
}

static void global_pool(sqz_isa isa, int threads, int is_max, int64_t nc, int64_t sp, const float *x, float *y) {
    isa = clamp_isa(isa);
    if (isa == SQZ_ISA_REF || nc <= 0 || sp <= 0) {
        if (is_max) sqz_global_maxpool_f32_ref(nc, sp, x, y);
        else sqz_global_avgpool_f32_ref(nc, sp, x, y);
        return;
    }
#if defined(__x86_64__)
    const int nt = threads > 1 && nc * sp >= 65536 ? threads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        const int64_t c0 = nc * t / nt, c1 = nc * (t + 1) / nt;
        if (isa >= SQZ_ISA_AVX512) sqz_global_pool_f32__avx512(is_max, c1 - c0, sp, x + c0 * sp, y + c0);
        else sqz_global_pool_f32__avx2(is_max, c1 - c0, sp, x + c0 * sp, y + c0);
    }
#else
    (void)threads;
#endif
}

void sqz_global_avgpool_f32(sqz_isa isa, int threads, int64_t nc, int64_t sp, const float *x, float *y) {
    global_pool(isa, threads, 0, nc, sp, x, y);
}

void sqz_global_maxpool_f32(sqz_isa isa, int threads, int64_t nc, int64_t sp, const float *x, float *y) {
    global_pool(isa, threads, 1, nc, sp, x, y);
}
