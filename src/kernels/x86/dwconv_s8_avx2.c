/* kernels/x86/dwconv_s8_avx2.c - AVX2 int8 depthwise planes, 3x3 and 5x5, stride 1 or 2 (the
 * scheme is in dwconv_s8_plane.h). Each input row needed is copied into a row buffer whose
 * borders hold x_zp; the bytes of two such rows are interleaved (PUNPCKL/HBW, stride 2 first
 * splits even and odd columns with PSHUFB) and widened to 16 bits minus x_zp: the pair rows.
 * Then 32 flat outputs per step: 4 accumulators of 8 lanes, VPMADDWD + VPADDD per tap pair and
 * column, and the oracle's requantization in 8 lanes (float multiply, max, min, round to nearest
 * even, + y_zp). */
#include "kernels/x86/dwconv_s8_plane.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_AVX2 __attribute__((target("avx2,fma")))

/* Padded input rows as bytes: buffers of lb = s*n16 + 64 bytes (padded columns 0 .. lb-1) that
 * hold x_zp outside the image (so x - x_zp is 0 there); rows past the image read an all-x_zp
 * buffer. Only the image columns are copied per row, the borders stay from the first fill. */
static inline int64_t row_bytes(const sqz_qdw_plane *g) { return sqz_qdw_plane_row_bytes(g); }

static const uint8_t *pad_row(const sqz_qdw_plane *g, const void *x, int64_t iy, uint8_t *buf, const uint8_t *zrow) {
    if (iy < 0 || iy >= g->ih) return zrow;
    const int64_t lb = row_bytes(g);
    if (g->pw < lb) {
        const int64_t n = g->iw < lb - g->pw ? g->iw : lb - g->pw;
        memcpy(buf + g->pw, (const uint8_t *)x + iy * g->iw, (size_t)n);
    }
    return buf;
}

/* 16 x - x_zp from 16 bytes (u8 or s8). */
static inline SQZ_AVX2 __m256i widen(__m128i b, int s8, __m256i zp) {
    return _mm256_sub_epi16(s8 ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b), zp);
}

/* Pair rows q0 .. q0+nq-1 into P (phase b at P + b*pstride, row q0+r at r*wq). Interleaving the
 * bytes of the two rows and widening them gives the pairs directly (low half the upper row). A
 * row's last store may run 15 lanes past it: into the next row, written afterwards, or into the
 * slack. rows: three buffers of row_bytes (two rows and the all-x_zp one), set by prepare. */
static SQZ_AVX2 void build(const sqz_qdw_plane *g, const void *x, int32_t *P, int64_t q0, int64_t nq,
                           uint8_t *rows) {
    const int64_t n16 = (g->wq + 15) / 16 * 16, wq = g->wq, lb = row_bytes(g);
    const __m256i zp = _mm256_set1_epi16((int16_t)g->x_zp);
    const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    const int s8 = g->x_s8;
    uint8_t *ba = rows, *bb = rows + lb;
    const uint8_t *zrow = rows + 2 * lb;
    if (g->s == 1) {
        const uint8_t *ra = pad_row(g, x, q0 - g->ph, ba, zrow);
        for (int64_t r = 0; r < nq; r++) {
            const uint8_t *rb = pad_row(g, x, q0 + r + 1 - g->ph, ra == ba ? bb : ba, zrow);
            int32_t *d = P + r * wq;
            for (int64_t i = 0; i < n16; i += 16) {
                const __m128i a = _mm_loadu_si128((const __m128i *)(ra + i)), b = _mm_loadu_si128((const __m128i *)(rb + i));
                _mm256_storeu_si256((__m256i *)(d + i), widen(_mm_unpacklo_epi8(a, b), s8, zp));
                _mm256_storeu_si256((__m256i *)(d + i + 8), widen(_mm_unpackhi_epi8(a, b), s8, zp));
            }
            ra = rb;
        }
    } else {
        for (int64_t r = 0; r < nq; r++) {
            const int64_t iy = 2 * (q0 + r) - g->ph;
            const uint8_t *ra = pad_row(g, x, iy, ba, zrow), *rb = pad_row(g, x, iy + 1, bb, zrow);
            int32_t *d0 = P + r * wq, *d1 = d0 + g->pstride;
            for (int64_t i = 0; i < n16; i += 8) {
                /* padded columns 2i .. 2i+15: evens to phase 0, odds to phase 1, index i .. i+7 */
                const __m128i a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(ra + 2 * i)), split);
                const __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(rb + 2 * i)), split);
                _mm256_storeu_si256((__m256i *)(d0 + i), widen(_mm_unpacklo_epi8(a, b), s8, zp));
                _mm256_storeu_si256((__m256i *)(d1 + i), widen(_mm_unpackhi_epi8(a, b), s8, zp));
            }
        }
    }
}

/* Requantizes 8 sums into T at flat position o. */
static inline __attribute__((always_inline)) SQZ_AVX2 void epi8(__m256i acc, sqz_qout out, __m256 sc, __m256 flo,
                                                                __m256 fhi, __m256i yzp, void *T, int64_t o) {
    if (out == SQZ_QOUT_S32) {
        _mm256_storeu_si256((__m256i *)((int32_t *)T + o), acc);
    } else if (out == SQZ_QOUT_F32) {
        _mm256_storeu_ps((float *)T + o, _mm256_mul_ps(_mm256_cvtepi32_ps(acc), sc));
    } else {
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), sc);
        f = _mm256_min_ps(_mm256_max_ps(f, flo), fhi);
        const __m256i qv = _mm256_add_epi32(_mm256_cvtps_epi32(f), yzp);
        /* values are inside [lo, hi], so the saturating packs only narrow */
        const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(qv), _mm256_extracti128_si256(qv, 1));
        const __m128i b = out == SQZ_QOUT_U8 ? _mm_packus_epi16(h, h) : _mm_packs_epi16(h, h);
        _mm_storel_epi64((__m128i *)((int8_t *)T + o), b);
    }
}

/* Flat outputs [0, n) of a band (n a multiple of 16): 32 per step, then 8 at a time. */
static inline __attribute__((always_inline)) SQZ_AVX2 void conv(const sqz_qdw_plane *g, const int32_t *P,
                                                                const int32_t *wp, int32_t bias, float scale, void *T,
                                                                int64_t n, const int K, const int S) {
    const int NP = (K + 1) / 2, D = 2 / S;
    const __m256i b0 = _mm256_set1_epi32(bias), yzp = _mm256_set1_epi32(g->y_zp);
    const __m256 sc = _mm256_set1_ps(scale), flo = _mm256_set1_ps((float)(g->lo - g->y_zp)),
                 fhi = _mm256_set1_ps((float)(g->hi - g->y_zp));
    const int64_t wq = g->wq, ps = g->pstride;
    const sqz_qout out = g->out;
    int64_t f = 0;
    for (; f + 32 <= n; f += 32) {
        __m256i acc[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[v] = b0;
#pragma GCC unroll 3
        for (int p = 0; p < NP; p++)
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const int32_t *src = P + (kx % S) * ps + p * D * wq + kx / S + f;
                const __m256i w = _mm256_set1_epi32(wp[p * K + kx]);
#pragma GCC unroll 4
                for (int v = 0; v < 4; v++)
                    acc[v] = _mm256_add_epi32(acc[v],
                                              _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(src + 8 * v)), w));
            }
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) epi8(acc[v], out, sc, flo, fhi, yzp, T, f + 8 * v);
    }
    for (; f < n; f += 8) {
        __m256i acc = b0;
#pragma GCC unroll 3
        for (int p = 0; p < NP; p++)
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const int32_t *src = P + (kx % S) * ps + p * D * wq + kx / S + f;
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)src),
                                                              _mm256_set1_epi32(wp[p * K + kx])));
            }
        epi8(acc, out, sc, flo, fhi, yzp, T, f);
    }
}

SQZ_AVX2 SQZ_AVX2 void sqz_qdw_plane__avx2(const sqz_qdw_plane *g, const void *x, const int32_t *wp, int32_t bias,
                                  float scale, void *y, void *scratch) {
    int32_t *P = scratch;
    const size_t osz = g->out == SQZ_QOUT_S32 || g->out == SQZ_QOUT_F32 ? 4 : 1;
    char *T = (char *)scratch + sqz_qdw_plane_t_offset(g);
    uint8_t *rows = (uint8_t *)scratch + sqz_qdw_plane_rows_offset(g);
    const int64_t extra = g->nqb - g->band;
    for (int64_t o0 = 0; o0 < g->oh; o0 += g->band) {
        const int64_t nr = g->oh - o0 < g->band ? g->oh - o0 : g->band;
        const int64_t n = (nr * g->wq + 15) / 16 * 16;
        build(g, x, P, o0, nr + extra, rows);
        if (g->k == 3 && g->s == 1) conv(g, P, wp, bias, scale, T, n, 3, 1);
        else if (g->k == 3) conv(g, P, wp, bias, scale, T, n, 3, 2);
        else if (g->s == 1) conv(g, P, wp, bias, scale, T, n, 5, 1);
        else conv(g, P, wp, bias, scale, T, n, 5, 2);
        char *yb = (char *)y + (size_t)(o0 * g->ow) * osz;
        for (int64_t r = 0; r < nr; r++)
            memcpy(yb + (size_t)(r * g->ow) * osz, T + (size_t)(r * g->wq) * osz, (size_t)g->ow * osz);
    }
}

#endif
