/* train/grad_dw_avx512.c - AVX-512 weight gradient of one depthwise plane (stride 1, no dilation):
 * dw[ky, kx] += sum over the valid output rectangle of dy[oy, ox] * x[oy + ky - ph, ox + kx - pw],
 * 16 outputs of a row per vector, borders handled by lane masks (no scalar tails). */
#include "train/grad_vec.h"

#include "kernels/conv_f32.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TV_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

/* Lanes l of [0, 16) with lo <= start + l < hi. */
static inline __mmask16 lane_mask(int64_t start, int64_t lo, int64_t hi) {
    int64_t a = lo - start, b = hi - start;
    if (a < 0) a = 0;
    if (b > 16) b = 16;
    if (b <= a) return 0;
    const uint32_t up = b >= 16 ? 0xffffu : (1u << b) - 1u;
    return (__mmask16)(up & ~((1u << a) - 1u));
}

TV_AVX512 int sqz_tv_dw_bwd_w__avx512(const sqz_dw_plane *g, const float *x, const float *dy, float *dw) {
    if (g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1) return 0;
    for (int64_t ky = 0; ky < g->KH; ky++) {
        const int64_t offy = ky - g->ph;
        int64_t a = offy < 0 ? -offy : 0, b = g->H - offy;
        if (b > g->OH) b = g->OH;
        if (a >= b) continue;
        for (int64_t kx = 0; kx < g->KW; kx++) {
            const int64_t offx = kx - g->pw;
            int64_t lo = offx < 0 ? -offx : 0, hi = g->W - offx;
            if (hi > g->OW) hi = g->OW;
            if (lo >= hi) continue;
            __m512 acc = _mm512_setzero_ps();
            for (int64_t ox0 = lo & ~(int64_t)15; ox0 < hi; ox0 += 16) {
                const __mmask16 m = lane_mask(ox0, lo, hi);
                /* masked-off lanes are never read; the base may point before the row */
                const float *xb = (const float *)((uintptr_t)x + (uintptr_t)((offy * g->W + offx + ox0) * 4));
                const float *db = dy + ox0;
                for (int64_t oy = a; oy < b; oy++) {
                    const __m512 d = _mm512_maskz_loadu_ps(m, db + oy * g->OW);
                    const __m512 v = _mm512_maskz_loadu_ps(m, (const float *)((uintptr_t)xb + (uintptr_t)(oy * g->W * 4)));
                    acc = _mm512_fmadd_ps(d, v, acc);
                }
            }
            dw[ky * g->KW + kx] += _mm512_reduce_add_ps(acc);
        }
    }
    return 1;
}

#else
int sqz_tv_dw_bwd_w__avx512(const struct sqz_dw_plane *g, const float *x, const float *dy, float *dw) {
    (void)g, (void)x, (void)dy, (void)dw;
    return 0;
}
#endif
