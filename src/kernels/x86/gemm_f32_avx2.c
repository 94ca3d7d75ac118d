/* kernels/x86/gemm_f32_avx2.c - AVX2/FMA fp32 GEMM microkernels 6x16 (12 ymm accumulators) and
 * 1..4 x 16 for small M.
 * Full tiles are stored from registers; edge tiles go through a small buffer and the portable
 * store rule (sqz_gemm_f32_store_tile). */
#include "kernels/x86/gemm_f32_ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SQZ_AVX2 __attribute__((target("avx2,fma")))
#define NR 16

static inline SQZ_AVX2 __m256 finish(__m256 x, const float *c, const sqz_gemm_f32_store *st, const float *bn,
                                     float bm) {
    x = _mm256_mul_ps(x, _mm256_set1_ps(st->alpha));
    if (!st->first) x = _mm256_add_ps(x, _mm256_loadu_ps(c));
    else if (st->beta != 0.0f) x = _mm256_fmadd_ps(_mm256_set1_ps(st->beta), _mm256_loadu_ps(c), x);
    if (st->last) {
        if (st->bias_m) x = _mm256_add_ps(x, _mm256_set1_ps(bm));
        if (bn) x = _mm256_add_ps(x, _mm256_loadu_ps(bn));
        if (st->clamp) x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(st->lo)), _mm256_set1_ps(st->hi));
    }
    return x;
}

/* MR-row kernel (MR = 6, or 1..4 for small M; every C element gets the same operations). */
static inline __attribute__((always_inline)) SQZ_AVX2 void ukernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr,
                                    int nr, const sqz_gemm_f32_store *st, const int MR) {
    __m256 acc[6][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
        a += MR;
        b += NR;
    }
    if (mr == MR && nr == NR && st->alpha == 1.0f && (!st->first || st->beta == 0.0f)) {
        /* alpha 1 (the usual case): finish's operations in its order without its tests per
         * vector (x * 1 is x): the same bits */
        const __m256 lo = _mm256_set1_ps(st->lo), hi = _mm256_set1_ps(st->hi);
        const float *bn = st->last ? st->bias_n : NULL, *bmp = st->last ? st->bias_m : NULL;
        const int clamp = st->last && st->clamp, add_c = !st->first;
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            float *cr = c + r * ldc;
            const __m256 bm = bmp ? _mm256_set1_ps(bmp[r]) : _mm256_setzero_ps();
#pragma GCC unroll 2
            for (int v = 0; v < 2; v++) {
                __m256 x = acc[r][v];
                if (add_c) x = _mm256_add_ps(x, _mm256_loadu_ps(cr + 8 * v));
                if (bmp) x = _mm256_add_ps(x, bm);
                if (bn) x = _mm256_add_ps(x, _mm256_loadu_ps(bn + 8 * v));
                if (clamp) x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
                _mm256_storeu_ps(cr + 8 * v, x);
            }
        }
        return;
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            float *cr = c + r * ldc;
            const float bm = st->bias_m ? st->bias_m[r] : 0.0f;
            const float *bn = st->bias_n;
            _mm256_storeu_ps(cr, finish(acc[r][0], cr, st, bn, bm));
            _mm256_storeu_ps(cr + 8, finish(acc[r][1], cr + 8, st, bn ? bn + 8 : 0, bm));
        }
        return;
    }
    float t[6 * NR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(t + r * NR, acc[r][0]);
        _mm256_storeu_ps(t + r * NR + 8, acc[r][1]);
    }
    sqz_gemm_f32_store_tile(t, NR, c, ldc, mr, nr, st);
}

#define UK(R)                                                                                            \
    SQZ_AVX2 void sqz_gemm_f32_ukernel_##R##x16__avx2(int64_t kc, const float *a, const float *b, float *c, \
                                                      int64_t ldc, int mr, int nr,                         \
                                                      const sqz_gemm_f32_store *st) {                      \
        ukernel(kc, a, b, c, ldc, mr, nr, st, R);                                                          \
    }
UK(6)
UK(1)
UK(2)
UK(3)
UK(4)

#endif
