/* kernels/x86/dwconv_s8_avx512.c - AVX-512 (VNNI) int8 depthwise planes, 3x3 and 5x5, stride 1
 * or 2 (the scheme is in dwconv_s8_plane.h). The pair planes are built 32 columns at a time:
 * masked byte loads (the lanes outside the image are never read and come out 0), widened to 16
 * bits, x_zp subtracted under the same mask, the two rows interleaved with VPERMT2W (stride 2
 * first splits 64 input columns into the even and odd ones, also with VPERMT2W). Then 64 flat
 * outputs per step: 4 accumulators of 16 lanes, one VPDPWSSD per tap pair and column with the
 * weight pair broadcast from a register, and the requantization epilogue of
 * gemm_u8s8__avx512vnni.c (float multiply, max, min, round to nearest even, + y_zp). */
#include "kernels/x86/dwconv_s8_plane.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_DW8 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* Lanes l in [0, 32) with 0 <= start + l < n. */
static inline __mmask32 lanes32(int64_t start, int64_t n) {
    int64_t lo = -start, hi = n - start;
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    const uint64_t up = hi >= 32 ? 0xffffffffull : (1ull << hi) - 1ull;
    return (__mmask32)(up & ~((1ull << lo) - 1ull));
}

/* row + off as an address (off may point before row: only masked-in lanes are read). */
static inline const void *at8(const void *row, int64_t off) { return (const void *)((uintptr_t)row + (uintptr_t)off); }

/* Input columns c .. c+31 (lanes m) of row (NULL: a padded row) as 16-bit x - x_zp, 0 elsewhere. */
static inline SQZ_DW8 __m512i ld32(const void *row, int64_t c, __mmask32 m, int s8, __m512i zp) {
    if (!row) return _mm512_setzero_si512();
    const __m256i b = _mm256_maskz_loadu_epi8(m, at8(row, c));
    const __m512i v = s8 ? _mm512_cvtepi8_epi16(b) : _mm512_cvtepu8_epi16(b);
    return _mm512_maskz_sub_epi16(m, v, zp);
}

static inline SQZ_DW8 const void *in_row(const sqz_qdw_plane *g, const void *x, int64_t iy) {
    return iy >= 0 && iy < g->ih ? (const void *)((const uint8_t *)x + iy * g->iw) : NULL;
}

static inline __mmask16 lanes16(int64_t n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* Pair rows q0 .. q0+nq-1 of every phase into P (phase b at P + b*pstride, row q0+r at r*wq),
 * 32 columns at a time down all the rows (stride 1 widens every input row once, carrying the
 * lower row of a pair into the next pair); the last columns are stored under a mask, so nothing
 * is written past a row. */
static inline __attribute__((always_inline)) SQZ_DW8 void build(const sqz_qdw_plane *g, const void *x, int32_t *P,
                                                                int64_t q0, int64_t nq, const int S) {
    const __m512i zp = _mm512_set1_epi16((int16_t)g->x_zp);
    /* interleave 16-bit lanes of a (low halves) and b (high halves): pairs 0-15 and 16-31 */
    const __m512i ilo = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                         37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i ihi = _mm512_add_epi16(ilo, _mm512_set1_epi16(16));
    const __m512i ev = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26, 24,
                                        22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_add_epi16(ev, _mm512_set1_epi16(1));
    const int64_t wq = g->wq, iw = g->iw, pw = g->pw, ps = g->pstride;
    const int s8 = g->x_s8;
    for (int64_t i = 0; i < wq; i += 32) {
        const __mmask16 s0 = lanes16(wq - i), s1 = lanes16(wq - i - 16);
        int32_t *d = P + i;
        if (S == 1) {
            const int64_t c = i - pw;
            const __mmask32 m = lanes32(c, iw);
            __m512i a = ld32(in_row(g, x, q0 - g->ph), c, m, s8, zp);
            for (int64_t r = 0; r < nq; r++, d += wq) {
                const __m512i b = ld32(in_row(g, x, q0 + r + 1 - g->ph), c, m, s8, zp);
                _mm512_mask_storeu_epi32(d, s0, _mm512_permutex2var_epi16(a, ilo, b));
                _mm512_mask_storeu_epi32(d + 16, s1, _mm512_permutex2var_epi16(a, ihi, b));
                a = b;
            }
        } else {
            /* padded columns 2i .. 2i+63: the even ones are phase 0, the odd ones phase 1, index i.. */
            const int64_t c = 2 * i - pw;
            const __mmask32 m0 = lanes32(c, iw), m1 = lanes32(c + 32, iw);
            for (int64_t r = 0; r < nq; r++, d += wq) {
                const int64_t iy = 2 * (q0 + r) - g->ph;
                const void *r0 = in_row(g, x, iy), *r1 = in_row(g, x, iy + 1);
                const __m512i a0 = ld32(r0, c, m0, s8, zp), a1 = ld32(r0, c + 32, m1, s8, zp);
                const __m512i b0 = ld32(r1, c, m0, s8, zp), b1 = ld32(r1, c + 32, m1, s8, zp);
                const __m512i ae = _mm512_permutex2var_epi16(a0, ev, a1), ao = _mm512_permutex2var_epi16(a0, od, a1);
                const __m512i be = _mm512_permutex2var_epi16(b0, ev, b1), bo = _mm512_permutex2var_epi16(b0, od, b1);
                _mm512_mask_storeu_epi32(d, s0, _mm512_permutex2var_epi16(ae, ilo, be));
                _mm512_mask_storeu_epi32(d + 16, s1, _mm512_permutex2var_epi16(ae, ihi, be));
                _mm512_mask_storeu_epi32(d + ps, s0, _mm512_permutex2var_epi16(ao, ilo, bo));
                _mm512_mask_storeu_epi32(d + ps + 16, s1, _mm512_permutex2var_epi16(ao, ihi, bo));
            }
        }
    }
}

/* Requantizes 16 sums into T at flat position o. */
static inline __attribute__((always_inline)) SQZ_DW8 void epi16(__m512i acc, sqz_qout out, __m512 sc, __m512 flo,
                                                                __m512 fhi, __m512i yzp, void *T, int64_t o) {
    if (out == SQZ_QOUT_S32) {
        _mm512_storeu_si512((int32_t *)T + o, acc);
    } else if (out == SQZ_QOUT_F32) {
        _mm512_storeu_ps((float *)T + o, _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc));
    } else {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc);
        f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
        const __m512i qv = _mm512_add_epi32(_mm512_cvtps_epi32(f), yzp);
        _mm_storeu_si128((__m128i *)((int8_t *)T + o), _mm512_cvtepi32_epi8(qv));
    }
}

/* Flat outputs [0, n) of a band (n a multiple of 16): 64 per step, then 16 at a time. */
static inline __attribute__((always_inline)) SQZ_DW8 void conv(const sqz_qdw_plane *g, const int32_t *P,
                                                               const int32_t *wp, int32_t bias, float scale, void *T,
                                                               int64_t n, const int K, const int S) {
    const int NP = (K + 1) / 2, D = 2 / S;
    __m512i w[15];
#pragma GCC unroll 15
    for (int t = 0; t < NP * K; t++) w[t] = _mm512_set1_epi32(wp[t]);
    const __m512i b0 = _mm512_set1_epi32(bias), yzp = _mm512_set1_epi32(g->y_zp);
    const __m512 sc = _mm512_set1_ps(scale), flo = _mm512_set1_ps((float)(g->lo - g->y_zp)),
                 fhi = _mm512_set1_ps((float)(g->hi - g->y_zp));
    const int64_t wq = g->wq, ps = g->pstride;
    const sqz_qout out = g->out;
    int64_t f = 0;
    for (; f + 64 <= n; f += 64) {
        __m512i acc[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[v] = b0;
#pragma GCC unroll 3
        for (int p = 0; p < NP; p++)
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const int32_t *src = P + (kx % S) * ps + p * D * wq + kx / S + f;
#pragma GCC unroll 4
                for (int v = 0; v < 4; v++)
                    acc[v] = _mm512_dpwssd_epi32(acc[v], _mm512_loadu_si512(src + 16 * v), w[p * K + kx]);
            }
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) epi16(acc[v], out, sc, flo, fhi, yzp, T, f + 16 * v);
    }
    for (; f < n; f += 16) {
        __m512i acc = b0;
#pragma GCC unroll 3
        for (int p = 0; p < NP; p++)
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++)
                acc = _mm512_dpwssd_epi32(acc, _mm512_loadu_si512(P + (kx % S) * ps + p * D * wq + kx / S + f),
                                          w[p * K + kx]);
        epi16(acc, out, sc, flo, fhi, yzp, T, f);
    }
}

static inline __mmask64 lanes64(int64_t n) { return n >= 64 ? ~(__mmask64)0 : n <= 0 ? 0 : ((__mmask64)1 << n) - 1; }

/* Rows [0, nr) of the flat band T (row stride wq) to y (row stride ow), elements of osz bytes. */
static inline SQZ_DW8 void copy_out(const char *T, int64_t wq, char *y, int64_t ow, int64_t nr, size_t osz) {
    const int64_t nbytes = ow * (int64_t)osz, ts = wq * (int64_t)osz;
    for (int64_t r = 0; r < nr; r++, T += ts, y += nbytes)
        for (int64_t j = 0; j < nbytes; j += 64) {
            const __mmask64 m = lanes64(nbytes - j);
            _mm512_mask_storeu_epi8(y + j, m, _mm512_maskz_loadu_epi8(m, T + j));
        }
}

SQZ_DW8 void sqz_qdw_plane__avx512(const sqz_qdw_plane *g, const void *x, const int32_t *wp, int32_t bias,
                                   float scale, void *y, void *scratch) {
    int32_t *P = scratch;
    char *T = (char *)(P + g->s * g->pstride);
    const size_t osz = g->out == SQZ_QOUT_S32 || g->out == SQZ_QOUT_F32 ? 4 : 1;
    const int64_t extra = g->nqb - g->band;
    for (int64_t o0 = 0; o0 < g->oh; o0 += g->band) {
        const int64_t nr = g->oh - o0 < g->band ? g->oh - o0 : g->band;
        const int64_t n = (nr * g->wq + 15) / 16 * 16;
        /* output row o0 + r reads pair rows o0 + r + p*(2/s): local row r + p*(2/s) */
        if (g->s == 1) build(g, x, P, o0, nr + extra, 1);
        else build(g, x, P, o0, nr + extra, 2);
        if (g->k == 3 && g->s == 1) conv(g, P, wp, bias, scale, T, n, 3, 1);
        else if (g->k == 3) conv(g, P, wp, bias, scale, T, n, 3, 2);
        else if (g->s == 1) conv(g, P, wp, bias, scale, T, n, 5, 1);
        else conv(g, P, wp, bias, scale, T, n, 5, 2);
        copy_out(T, g->wq, (char *)y + (size_t)(o0 * g->ow) * osz, g->ow, nr, osz);
    }
}

SQZ_DW8 void sqz_qdw_to_f32__avx512(const void *x, int x_s8, int32_t x_zp, int64_t n, float *xf) {
    const __m512i zp = _mm512_set1_epi32(x_zp);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        const __m128i b = _mm_maskz_loadu_epi8(m, (const uint8_t *)x + i);
        const __m512i v = x_s8 ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
        _mm512_mask_storeu_ps(xf + i, m, _mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)));
    }
}

SQZ_DW8 void sqz_qdw_requant_f32__avx512(const float *f, int64_t n, int32_t bias, float scale, const sqz_qepi *epi,
                                          void *y) {
    const __m512i b = _mm512_set1_epi32(bias), yzp = _mm512_set1_epi32(epi->y_zp);
    const __m512 sc = _mm512_set1_ps(scale), flo = _mm512_set1_ps((float)(epi->lo - epi->y_zp)),
                 fhi = _mm512_set1_ps((float)(epi->hi - epi->y_zp));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        /* the sums are exact integers: to int32, the bias added as an integer, then the
         * requantization of the epilogues (float multiply, max, min, round to nearest even, + y_zp) */
        const __m512i acc = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_maskz_loadu_ps(m, f + i)), b);
        if (epi->out == SQZ_QOUT_S32) {
            _mm512_mask_storeu_epi32((int32_t *)y + i, m, acc);
            continue;
        }
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc);
        if (epi->out == SQZ_QOUT_F32) {
            _mm512_mask_storeu_ps((float *)y + i, m, v);
            continue;
        }
        v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), yzp);
        _mm_mask_storeu_epi8((uint8_t *)y + i, m, _mm512_cvtepi32_epi8(q));
    }
}

#endif
