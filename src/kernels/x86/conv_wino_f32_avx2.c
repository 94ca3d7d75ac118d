/* kernels/x86/conv_wino_f32_avx2.c - AVX2 pieces of the Winograd F(4x4, 3x3) convolution (see
 * kernels/conv_wino_f32.h), for CPUs without AVX-512: the same data layouts as the AVX-512
 * pieces (16-channel blocks, 32-channel U panels), each 16-channel vector as two 8-float halves,
 * 8x8 register transposes, and a GEMM microkernel of 6 tiles x 16 output channels (12 ymm
 * accumulators); the transforms themselves come from conv_wino_f32_xform.inc, as for AVX-512. Same arithmetic per element as the AVX-512 pieces (bit-identical results are
 * not promised between the two ISA levels: FMA contraction and order are the same, but the
 * results are tested against the reference only). */
#include "kernels/conv_wino_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_AVX2 __attribute__((target("avx2,fma")))
#define MT2 6 /* tiles per AVX2 microkernel */

/* r[j] lane i <- r[i] lane j */
static inline __attribute__((always_inline)) SQZ_AVX2 void tr8(__m256 *r) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* lanes [0, n) set */
static inline __attribute__((always_inline)) SQZ_AVX2 __m256i mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define VEC __m256
#define VL 8
#define ATTR SQZ_AVX2
#define FN(name) name##__avx2
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(f) _mm256_set1_ps(f)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_FMADD(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm256_fnmadd_ps(a, b, c)

/* 8 positions of nc planes to channels-last: two 8x8 register transposes (channels 0-7, 8-15) */
static inline __attribute__((always_inline)) SQZ_AVX2 void copy_chunk__avx2(const float *src, int64_t HW, int64_t nc,
                                                                             int n, float *dst) {
    const __m256i m = mask8(n);
    for (int h = 0; h < 2; h++) {
        __m256 rr[8];
        for (int u = 0; u < 8; u++)
            rr[u] = h * 8 + u < nc ? _mm256_maskload_ps(src + (h * 8 + u) * HW, m) : _mm256_setzero_ps();
        tr8(rr);
        for (int q = 0; q < n; q++) _mm256_storeu_ps(dst + q * 16 + h * 8, rr[q]);
    }
}

/* the transforms, the copy's row loop and the output transform of a tile */
#include "kernels/x86/conv_wino_f32_xform.inc"

/* MT tiles (rows of v, ldv apart) x 16 output channels (u: 32-float rows, this half's 16 first)
 * over C input channels. */
static inline __attribute__((always_inline)) SQZ_AVX2 void wgemm(const int MT, const float *v, int64_t ldv,
                                                                  const float *u, int64_t C, float *m, int64_t ldm) {
    __m256 acc[MT2][2];
    _Pragma("GCC unroll 6") for (int t = 0; t < MT; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    for (int64_t c = 0; c < C; c++) {
        const __m256 b0 = _mm256_loadu_ps(u + c * 32), b1 = _mm256_loadu_ps(u + c * 32 + 8);
        _Pragma("GCC unroll 6") for (int t = 0; t < MT; t++) {
            const __m256 a = _mm256_broadcast_ss(v + t * ldv + c);
            acc[t][0] = _mm256_fmadd_ps(a, b0, acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(a, b1, acc[t][1]);
        }
    }
    _Pragma("GCC unroll 6") for (int t = 0; t < MT; t++) {
        _mm256_storeu_ps(m + t * ldm, acc[t][0]);
        _mm256_storeu_ps(m + t * ldm + 8, acc[t][1]);
    }
}

SQZ_AVX2 void sqz_wino_f32_gemm__avx2(const sqz_wino_img *g, const float *V, const float *U, int64_t xi, int64_t kp,
                                      int64_t ntiles, float *M) {
    const int64_t kpanels = (g->K + 31) / 32, Cp = g->Cp, Kp = g->Kp;
    const float *v = V + xi * g->vs, *u = U + (xi * kpanels + kp) * g->C * 32;
    float *m = M + xi * g->ms + kp * 32;
    for (int h = 0; h < 2 && kp * 32 + h * 16 < g->K; h++) {
        int64_t t = 0;
        for (; t + MT2 <= ntiles; t += MT2) wgemm(MT2, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp);
        switch (ntiles - t) {
        case 5: wgemm(5, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp); break;
        case 4: wgemm(4, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp); break;
        case 3: wgemm(3, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp); break;
        case 2: wgemm(2, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp); break;
        case 1: wgemm(1, v + t * Cp, Cp, u + h * 16, g->C, m + t * Kp + h * 16, Kp); break;
        default: break;
        }
    }
}

SQZ_AVX2 void sqz_wino_f32_output__avx2(const sqz_wino_img *g, const float *M, int64_t R0, int64_t q0, int64_t q1,
                                        int64_t kb, const sqz_wino_out *o, float *y0) {
    const int64_t rpr = (g->tx + 3) / 4, OHW = g->OH * g->OW, Kp = g->Kp, xs = g->ms;
    const int nk = (int)(g->K - kb * 16 < 16 ? g->K - kb * 16 : 16);
    float buf[4][16][16] __attribute__((aligned(32)));
    memset(buf, 0, sizeof buf);
    const __m256 lo = _mm256_set1_ps(o->lo), hi = _mm256_set1_ps(o->hi);
    const float *bias = o->bias ? o->bias + kb * 16 : NULL;
    const int clamp = o->clamp, acc = o->accumulate;
    for (int64_t q = q0; q < q1; q++) {
        const int64_t row = q / rpr, c0 = q % rpr * 4, nt = g->tx - c0 < 4 ? g->tx - c0 : 4;
        const int64_t R = R0 + row, img = R / g->ty, ry = R % g->ty;
        for (int64_t j = 0; j < nt; j++) out_tile__avx2(M + (row * g->tx + c0 + j) * Kp + kb * 16, xs, buf, j);
        const int64_t ox0 = 4 * c0, ncol = g->OW - ox0 < 16 ? g->OW - ox0 : 16;
        for (int r = 0; r < 4; r++) {
            const int64_t oy = 4 * ry + r;
            if (oy >= g->OH) break;
            float *yr = y0 + (img * g->K + kb * 16) * OHW + oy * g->OW + ox0;
            for (int qh = 0; qh < 2 && qh * 8 < ncol; qh++) {
                const __m256i mk = mask8((int)(ncol - qh * 8));
                for (int h = 0; h < 2 && h * 8 < nk; h++) {
                    __m256 rr[8];
                    for (int i = 0; i < 8; i++) rr[i] = _mm256_load_ps(&buf[r][qh * 8 + i][h * 8]);
                    tr8(rr);
                    for (int u = 0; u < 8 && h * 8 + u < nk; u++) {
                        __m256 v = rr[u];
                        if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[h * 8 + u]));
                        if (clamp) v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
                        float *yp = yr + (h * 8 + u) * OHW + qh * 8;
                        if (acc) v = _mm256_add_ps(_mm256_maskload_ps(yp, mk), v);
                        _mm256_maskstore_ps(yp, mk, v);
                    }
                }
            }
        }
    }
}

/* ---- weight gradient ---- */

/* P rows k0 .. k0+MT, 16 columns += sum over ntiles tiles of y[t][k] v[t][c]. */
static inline __attribute__((always_inline)) SQZ_AVX2 void dwgemm(const int MT, const float *y, int64_t ldy,
                                                                   const float *v, int64_t ldv, int64_t ntiles,
                                                                   float *p, int64_t ldp) {
    __m256 acc[MT2][2];
    _Pragma("GCC unroll 6") for (int r = 0; r < MT; r++) {
        acc[r][0] = _mm256_loadu_ps(p + r * ldp);
        acc[r][1] = _mm256_loadu_ps(p + r * ldp + 8);
    }
    for (int64_t t = 0; t < ntiles; t++) {
        const __m256 b0 = _mm256_loadu_ps(v + t * ldv), b1 = _mm256_loadu_ps(v + t * ldv + 8);
        _Pragma("GCC unroll 6") for (int r = 0; r < MT; r++) {
            const __m256 a = _mm256_broadcast_ss(y + t * ldy + r);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    _Pragma("GCC unroll 6") for (int r = 0; r < MT; r++) {
        _mm256_storeu_ps(p + r * ldp, acc[r][0]);
        _mm256_storeu_ps(p + r * ldp + 8, acc[r][1]);
    }
}

SQZ_AVX2 void sqz_wino_f32_dw_gemm__avx2(const sqz_wino_img *g, const float *Y, const float *V, int64_t xi,
                                         int64_t ntiles, float *P) {
    const int64_t ldy = g->Kp, ldv = g->Cp, ldp = g->Cp;
    for (int64_t k0 = 0; k0 < g->K; k0 += MT2) {
        const int mt = (int)(g->K - k0 < MT2 ? g->K - k0 : MT2);
        for (int64_t c0 = 0; c0 < g->C; c0 += 16) {
            const float *y = Y + xi * g->ms + k0, *v = V + xi * g->vs + c0;
            float *p = P + (xi * g->K + k0) * ldp + c0;
            switch (mt) {
            case 6: dwgemm(6, y, ldy, v, ldv, ntiles, p, ldp); break;
            case 5: dwgemm(5, y, ldy, v, ldv, ntiles, p, ldp); break;
            case 4: dwgemm(4, y, ldy, v, ldv, ntiles, p, ldp); break;
            case 3: dwgemm(3, y, ldy, v, ldv, ntiles, p, ldp); break;
            case 2: dwgemm(2, y, ldy, v, ldv, ntiles, p, ldp); break;
            default: dwgemm(1, y, ldy, v, ldv, ntiles, p, ldp); break;
            }
        }
    }
}

#endif
