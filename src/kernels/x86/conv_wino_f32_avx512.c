/* kernels/x86/conv_wino_f32_avx512.c - AVX-512 pieces of the Winograd F(4x4, 3x3) convolution
 * (see kernels/conv_wino_f32.h): the blocked padded copy (16x16 register transposes), the output
 * transform's stores (16x16 transposes), and the per-element GEMMs (14 tiles x 32 output channels in
 * registers, tiles broadcast from V, U read as 32-wide panels); the 1-D transforms and the input
 * and weight-gradient transforms come from conv_wino_f32_xform.inc, shared with the AVX2 file. */
#include "kernels/conv_wino_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels/x86/transpose16_avx512.h"

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

#define VEC __m512
#define VL 16
#define ATTR SQZ_AVX512
#define FN(name) name##__avx512
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(f) _mm512_set1_ps(f)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_FMADD(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm512_fnmadd_ps(a, b, c)

/* 16 positions of nc planes to channels-last through one 16x16 register transpose */
static inline __attribute__((always_inline)) SQZ_AVX512 void copy_chunk__avx512(const float *src, int64_t HW,
                                                                                 int64_t nc, int n, float *dst) {
    const __mmask16 m = (__mmask16)((1u << n) - 1u);
    __m512 rr[16], t[16];
    for (int u = 0; u < 16; u++) rr[u] = u < nc ? _mm512_maskz_loadu_ps(m, src + u * HW) : _mm512_setzero_ps();
    SQZ_TRANSPOSE16_PS(rr, t);
    for (int q = 0; q < n; q++) _mm512_storeu_ps(dst + q * 16, t[q]);
}

/* the transforms, the copy's row loop and the output transform of a tile */
#include "kernels/x86/conv_wino_f32_xform.inc"

/* MT tiles (rows of v, ldv apart; MT <= SQZ_WINO_MT) x 16 * NV output channels over C input
 * channels. */
static inline __attribute__((always_inline)) SQZ_AVX512 void wgemm(const int NV, const int MT, const float *v,
                                                                    int64_t ldv, const float *u, int64_t C, float *m,
                                                                    int64_t ldm) {
    __m512 acc[SQZ_WINO_MT][2];
    _Pragma("GCC unroll 14") for (int t = 0; t < MT; t++) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    for (int64_t c = 0; c < C; c++) {
        const __m512 b0 = _mm512_load_ps(u + c * 32);
        const __m512 b1 = NV == 2 ? _mm512_load_ps(u + c * 32 + 16) : b0;
        _Pragma("GCC unroll 14") for (int t = 0; t < MT; t++) {
            const __m512 a = _mm512_set1_ps(v[t * ldv + c]);
            acc[t][0] = _mm512_fmadd_ps(a, b0, acc[t][0]);
            if (NV == 2) acc[t][1] = _mm512_fmadd_ps(a, b1, acc[t][1]);
        }
    }
    _Pragma("GCC unroll 14") for (int t = 0; t < MT; t++) {
        _mm512_storeu_ps(m + t * ldm, acc[t][0]);
        if (NV == 2) _mm512_storeu_ps(m + t * ldm + 16, acc[t][1]);
    }
}

#define WGEMM_CASE(mt)                                                                               \
    case mt:                                                                                         \
        if (two) wgemm(2, mt, v, ldv, u, C, m, ldm);                                                 \
        else wgemm(1, mt, v, ldv, u, C, m, ldm);                                                     \
        break;

/* mt (1..SQZ_WINO_MT) tiles: a microkernel of exactly that many rows, so a block's last group
 * computes no padding tiles */
static SQZ_AVX512 void wgemm_any(int two, int mt, const float *v, int64_t ldv, const float *u, int64_t C, float *m,
                                 int64_t ldm) {
    switch (mt) {
        WGEMM_CASE(1) WGEMM_CASE(2) WGEMM_CASE(3) WGEMM_CASE(4) WGEMM_CASE(5) WGEMM_CASE(6) WGEMM_CASE(7)
        WGEMM_CASE(8) WGEMM_CASE(9) WGEMM_CASE(10) WGEMM_CASE(11) WGEMM_CASE(12) WGEMM_CASE(13)
        default: break;
    }
}

SQZ_AVX512 void sqz_wino_f32_gemm__avx512(const sqz_wino_img *g, const float *V, const float *U, int64_t xi,
                                          int64_t kp, int64_t ntiles, float *M) {
    const int64_t kpanels = g->Kp / 32, Cp = g->Cp, Kp = g->Kp;
    const float *v = V + xi * g->vs, *u = U + (xi * kpanels + kp) * g->C * 32;
    float *m = M + xi * g->ms + kp * 32;
    const int two = g->K - kp * 32 > 16;
    int64_t t = 0;
    for (; t + SQZ_WINO_MT <= ntiles; t += SQZ_WINO_MT) {
        if (two) wgemm(2, SQZ_WINO_MT, v + t * Cp, Cp, u, g->C, m + t * Kp, Kp);
        else wgemm(1, SQZ_WINO_MT, v + t * Cp, Cp, u, g->C, m + t * Kp, Kp);
    }
    if (t < ntiles) wgemm_any(two, (int)(ntiles - t), v + t * Cp, Cp, u, g->C, m + t * Kp, Kp);
}

SQZ_AVX512 void sqz_wino_f32_output__avx512(const sqz_wino_img *g, const float *M, int64_t R0, int64_t q0, int64_t q1,
                                            int64_t kb, const sqz_wino_out *o, float *y0) {
    const int64_t rpr = (g->tx + 3) / 4, OHW = g->OH * g->OW, Kp = g->Kp, xs = g->ms;
    const int nk = (int)(g->K - kb * 16 < 16 ? g->K - kb * 16 : 16);
    float buf[4][16][16] __attribute__((aligned(64)));
    memset(buf, 0, sizeof buf);
    const __m512 lo = _mm512_set1_ps(o->lo), hi = _mm512_set1_ps(o->hi);
    /* the output stage's switches in locals: stores through y may alias *o */
    const float *bias = o->bias ? o->bias + kb * 16 : NULL;
    const int clamp = o->clamp, acc = o->accumulate;
    for (int64_t q = q0; q < q1; q++) {
        const int64_t row = q / rpr, c0 = q % rpr * 4, nt = g->tx - c0 < 4 ? g->tx - c0 : 4;
        const int64_t R = R0 + row, img = R / g->ty, ry = R % g->ty;
        if (q + 1 < q1) { /* the next group's output rows, usually not in cache: fetch them for writing */
            const int64_t row1 = (q + 1) / rpr, R1 = R0 + row1, img1 = R1 / g->ty, oy1 = R1 % g->ty * 4;
            const int64_t ox1 = (q + 1) % rpr * 16;
            const float *y1 = y0 + (img1 * g->K + kb * 16) * OHW + oy1 * g->OW + ox1;
            for (int u = 0; u < nk; u++)
                for (int r = 0; r < 4 && oy1 + r < g->OH; r++) {
                    __builtin_prefetch(y1 + u * OHW + r * g->OW, 1, 3);
                    __builtin_prefetch(y1 + u * OHW + r * g->OW + 15, 1, 3);
                }
        }
        for (int64_t j = 0; j < nt; j++) out_tile__avx512(M + (row * g->tx + c0 + j) * Kp + kb * 16, xs, buf, j);
        const int64_t ox0 = 4 * c0, ncol = g->OW - ox0 < 16 ? g->OW - ox0 : 16;
        const __mmask16 mk = (__mmask16)((1u << ncol) - 1u);
        for (int r = 0; r < 4; r++) {
            const int64_t oy = 4 * ry + r;
            if (oy >= g->OH) break;
            __m512 rr[16], t[16];
            for (int c = 0; c < 16; c++) rr[c] = _mm512_load_ps(buf[r][c]);
            SQZ_TRANSPOSE16_PS(rr, t);
            float *yr = y0 + (img * g->K + kb * 16) * OHW + oy * g->OW + ox0;
            for (int u = 0; u < nk; u++) {
                __m512 v = t[u];
                if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[u]));
                if (clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                float *yp = yr + u * OHW;
                if (acc) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, yp), v);
                _mm512_mask_storeu_ps(yp, mk, v);
            }
        }
    }
}

/* ---- weight gradient (sqz_wino_f32_dw) ---- */

/* P rows k0 .. k0+MT, columns c0 .. c0 + 16 * NV += sum over ntiles tiles of y[t][k] v[t][c]. */
static inline __attribute__((always_inline)) SQZ_AVX512 void dwgemm(const int NV, const int MT, const float *y,
                                                                     int64_t ldy, const float *v, int64_t ldv,
                                                                     int64_t ntiles, float *p, int64_t ldp) {
    __m512 acc[SQZ_WINO_MT][2];
    _Pragma("GCC unroll 14") for (int r = 0; r < MT; r++) {
        acc[r][0] = _mm512_loadu_ps(p + r * ldp);
        acc[r][1] = NV == 2 ? _mm512_loadu_ps(p + r * ldp + 16) : acc[r][0];
    }
    for (int64_t t = 0; t < ntiles; t++) {
        const __m512 b0 = _mm512_loadu_ps(v + t * ldv);
        const __m512 b1 = NV == 2 ? _mm512_loadu_ps(v + t * ldv + 16) : b0;
        _Pragma("GCC unroll 14") for (int r = 0; r < MT; r++) {
            const __m512 a = _mm512_set1_ps(y[t * ldy + r]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            if (NV == 2) acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    _Pragma("GCC unroll 14") for (int r = 0; r < MT; r++) {
        _mm512_storeu_ps(p + r * ldp, acc[r][0]);
        if (NV == 2) _mm512_storeu_ps(p + r * ldp + 16, acc[r][1]);
    }
}

#define DWGEMM_CASE(mt)                                                                              \
    case mt:                                                                                         \
        if (two) dwgemm(2, mt, y, ldy, v, ldv, ntiles, p, ldp);                                      \
        else dwgemm(1, mt, y, ldy, v, ldv, ntiles, p, ldp);                                          \
        break;

SQZ_AVX512 void sqz_wino_f32_dw_gemm__avx512(const sqz_wino_img *g, const float *Y, const float *V, int64_t xi,
                                             int64_t ntiles, float *P) {
    const int64_t ldy = g->Kp, ldv = g->Cp, ldp = g->Cp;
    for (int64_t k0 = 0; k0 < g->K; k0 += SQZ_WINO_MT) {
        const int mt = (int)(g->K - k0 < SQZ_WINO_MT ? g->K - k0 : SQZ_WINO_MT);
        for (int64_t c0 = 0; c0 < g->C; c0 += 32) {
            const int two = g->C - c0 > 16;
            const float *y = Y + xi * g->ms + k0, *v = V + xi * g->vs + c0;
            float *p = P + (xi * g->K + k0) * ldp + c0;
            switch (mt) {
                DWGEMM_CASE(1) DWGEMM_CASE(2) DWGEMM_CASE(3) DWGEMM_CASE(4) DWGEMM_CASE(5) DWGEMM_CASE(6)
                DWGEMM_CASE(7) DWGEMM_CASE(8) DWGEMM_CASE(9) DWGEMM_CASE(10) DWGEMM_CASE(11) DWGEMM_CASE(12)
                DWGEMM_CASE(13) DWGEMM_CASE(14)
                default: break;
            }
        }
    }
}

#endif
