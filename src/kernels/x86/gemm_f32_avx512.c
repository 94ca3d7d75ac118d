/* kernels/x86/gemm_f32_avx512.c - AVX-512 fp32 GEMM microkernels: 14x32 and 8x32 (the driver
 * picks the row count that pads M least), and 14x16 / 8x16 twins that read only the left half of
 * a 32-wide B panel, for the last panel of N when it has at most 16 columns; 1..4-row variants
 * for small M (every C element sees the same sequence of operations as in the tall tiles).
 * Register tiles of MR rows x NV zmm vectors; A values are broadcast, B rows loaded. Edges in N
 * use store masks; edges in M store fewer rows (the packed panels are zero-padded). */
#include "kernels/x86/gemm_f32_ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

/* Stores one vector of the tile: x holds raw sums for columns under mask mk. */
static inline SQZ_AVX512 void store_vec(__m512 x, float *c, __mmask16 mk, const sqz_gemm_f32_store *st,
                                        const float *bn, float bm) {
    x = _mm512_mul_ps(x, _mm512_set1_ps(st->alpha));
    if (!st->first) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, c));
    else if (st->beta != 0.0f) x = _mm512_fmadd_ps(_mm512_set1_ps(st->beta), _mm512_maskz_loadu_ps(mk, c), x);
    if (st->last) {
        if (st->bias_m) x = _mm512_add_ps(x, _mm512_set1_ps(bm));
        if (bn) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, bn));
        if (st->clamp)
            x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(st->lo)), _mm512_set1_ps(st->hi));
    }
    _mm512_mask_storeu_ps(c, mk, x);
}

/* A whole tile with alpha 1 (the usual case): the sums (plus C after the first K block; beta 0
 * on the first), then on the last block the biases and the clamp, stored unmasked: the
 * operations of store_vec in its order (x * 1 is x), so the same bits, without its tests and
 * masks per vector. */
static inline __attribute__((always_inline)) SQZ_AVX512 void store_whole(const __m512 *acc, const int MR,
                                                                         const int NV, float *c, int64_t ldc,
                                                                         const sqz_gemm_f32_store *st) {
    const __m512 lo = _mm512_set1_ps(st->lo), hi = _mm512_set1_ps(st->hi);
    const float *bn = st->last ? st->bias_n : NULL, *bmp = st->last ? st->bias_m : NULL;
    const int clamp = st->last && st->clamp, add_c = !st->first;
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        const __m512 bm = bmp ? _mm512_set1_ps(bmp[r]) : _mm512_setzero_ps();
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
            float *cv = c + r * ldc + 16 * v;
            __m512 x = acc[r * NV + v];
            if (add_c) x = _mm512_add_ps(x, _mm512_loadu_ps(cv));
            if (bmp) x = _mm512_add_ps(x, bm);
            if (bn) x = _mm512_add_ps(x, _mm512_loadu_ps(bn + 16 * v));
            if (clamp) x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
            _mm512_storeu_ps(cv, x);
        }
    }
}

static inline __mmask16 col_mask(int nr, int v) {
    const int n = nr - 16 * v;
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

#define UKERNEL(MR, NV, NAME) UKERNEL_AS(MR, MR, NV, NAME)
/* MR rows of a panel whose rows are AS floats apart per k (AS > MR: the top rows of a taller panel) */
#define UKERNEL_AS(MR, AS, NV, NAME)                                                                     \
    SQZ_AVX512 void NAME(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr,     \
                         int nr, const sqz_gemm_f32_store *st) {                                        \
        __m512 acc[MR][NV];                                                                          \
        const int64_t bs = st->bs;                                                                   \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                        \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();    \
        for (int64_t k = 0; k < kc; k++) {                                                           \
            __m512 bv[NV];                                                                           \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + 16 * v); \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                                  \
                const __m512 av = _mm512_set1_ps(a[r]);                                              \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                 \
                    acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);                               \
            }                                                                                        \
            a += AS;                                                                                 \
            b += bs;                                                                                 \
        }                                                                                            \
        if (mr == MR && nr == 16 * NV && st->alpha == 1.0f && (!st->first || st->beta == 0.0f)) {    \
            store_whole(&acc[0][0], MR, NV, c, ldc, st);                                             \
            return;                                                                                  \
        }                                                                                            \
        __mmask16 mk[NV];                                                                            \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) mk[v] = col_mask(nr, v);                \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                                      \
            if (r >= mr) break;                                                                      \
            const float bm = st->bias_m ? st->bias_m[r] : 0.0f;                                      \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                   \
                if (!mk[v]) continue;                                                                \
                store_vec(acc[r][v], c + r * ldc + 16 * v, mk[v], st, st->bias_n ? st->bias_n + 16 * v : 0, \
                          bm);                                                                       \
            }                                                                                        \
        }                                                                                            \
    }

UKERNEL(14, 2, sqz_gemm_f32_ukernel_14x32__avx512)
UKERNEL(8, 2, sqz_gemm_f32_ukernel_8x32__avx512)
UKERNEL(14, 1, sqz_gemm_f32_ukernel_14x16__avx512)
UKERNEL(8, 1, sqz_gemm_f32_ukernel_8x16__avx512)
UKERNEL(6, 2, sqz_gemm_f32_ukernel_6x32__avx512)
UKERNEL(6, 1, sqz_gemm_f32_ukernel_6x16__avx512)
/* small M (1 to 4 rows: matrix-vector products, batch-1 fully connected layers): the same sums */
UKERNEL(1, 2, sqz_gemm_f32_ukernel_1x32__avx512)
UKERNEL(2, 2, sqz_gemm_f32_ukernel_2x32__avx512)
UKERNEL(3, 2, sqz_gemm_f32_ukernel_3x32__avx512)
UKERNEL(4, 2, sqz_gemm_f32_ukernel_4x32__avx512)
UKERNEL(1, 1, sqz_gemm_f32_ukernel_1x16__avx512)
UKERNEL(2, 1, sqz_gemm_f32_ukernel_2x16__avx512)
UKERNEL(3, 1, sqz_gemm_f32_ukernel_3x16__avx512)
UKERNEL(4, 1, sqz_gemm_f32_ukernel_4x16__avx512)
/* the last, partial row tile of a 14- or 8-row panel: only its rows rounded up to even are
 * computed (M = 256 in 14-row tiles: the last has 4 rows, not 14) */
#define PART(AS, R)                                                                                       \
    UKERNEL_AS(R, AS, 2, part_##AS##_##R##x32)                                                        \
    UKERNEL_AS(R, AS, 1, part_##AS##_##R##x16)
PART(14, 2) PART(14, 4) PART(14, 6) PART(14, 8) PART(14, 10) PART(14, 12)
PART(8, 2) PART(8, 4) PART(8, 6)
#undef PART

sqz_gemm_f32_ukernel_fn sqz_gemm_f32_part__avx512(int panel, int mr, int wide) {
    static const sqz_gemm_f32_ukernel_fn p14[2][6] = {
        {part_14_2x16, part_14_4x16, part_14_6x16, part_14_8x16, part_14_10x16, part_14_12x16},
        {part_14_2x32, part_14_4x32, part_14_6x32, part_14_8x32, part_14_10x32, part_14_12x32}};
    static const sqz_gemm_f32_ukernel_fn p8[2][3] = {{part_8_2x16, part_8_4x16, part_8_6x16},
                                                     {part_8_2x32, part_8_4x32, part_8_6x32}};
    const int i = (mr + 1) / 2 - 1;
    if (mr < 1 || i < 0) return NULL;
    if (panel == 14 && i < 6) return p14[wide != 0][i];
    if (panel == 8 && i < 3) return p8[wide != 0][i];
    return NULL;
}

#endif

#if defined(__x86_64__)
/* Narrow column tails (see sqz_gemm_f32_tail_*): lanes are the MR rows of a packed A panel
 * (a[k*MR + r], one masked load per k), each of NJ columns is a broadcast B value; NP panels
 * at once give NP * NJ independent accumulator chains. Every C element is still the sum
 * acc = fma(a, b, acc) over k in order from zero, stored by the same rule as store_vec. */
static inline __attribute__((always_inline)) SQZ_AVX512 void tail_block(int64_t kc, const float *a, int64_t mc,
                                                                        const float *b, int bs, float *c, int64_t ldc,
                                                                        const sqz_gemm_f32_store *st, const int MR,
                                                                        const int NP, const int NJ) {
    const __mmask16 rm = (__mmask16)((1u << MR) - 1u);
    __m512 acc[4][4];
    _Pragma("GCC unroll 4") for (int p = 0; p < NP; p++)
        _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) acc[p][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) bv[j] = _mm512_set1_ps(b[k * bs + j]);
        _Pragma("GCC unroll 4") for (int p = 0; p < NP; p++) {
            const __m512 av = _mm512_maskz_loadu_ps(rm, a + (int64_t)p * MR * kc + k * MR);
            _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) acc[p][j] = _mm512_fmadd_ps(av, bv[j], acc[p][j]);
        }
    }
    float cv[16], out[16];
    /* constant indices into acc everywhere (unrolled), so it stays in registers: a loop over
     * runtime p, j here kept it on the stack, stored after every FMA of the k loop */
    _Pragma("GCC unroll 4") for (int p = 0; p < NP; p++) {
        const int64_t r0 = (int64_t)p * MR;
        const int mr = mc - r0 < MR ? (int)(mc - r0) : MR;
        const __mmask16 mk = (__mmask16)((1u << mr) - 1u);
        const __m512 bm = st->bias_m ? _mm512_maskz_loadu_ps(mk, st->bias_m + r0) : _mm512_setzero_ps();
        _Pragma("GCC unroll 4") for (int j = 0; j < NJ; j++) {
            float *cc = c + r0 * ldc + j;
            __m512 x = _mm512_mul_ps(acc[p][j], _mm512_set1_ps(st->alpha));
            if (!st->first || st->beta != 0.0f) {
                for (int r = 0; r < mr; r++) cv[r] = cc[r * ldc];
                const __m512 cvec = _mm512_maskz_loadu_ps(mk, cv);
                if (!st->first) x = _mm512_add_ps(x, cvec);
                else x = _mm512_fmadd_ps(_mm512_set1_ps(st->beta), cvec, x);
            }
            if (st->last) {
                if (st->bias_m) x = _mm512_add_ps(x, bm);
                if (st->bias_n) x = _mm512_add_ps(x, _mm512_set1_ps(st->bias_n[j]));
                if (st->clamp)
                    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(st->lo)), _mm512_set1_ps(st->hi));
            }
            _mm512_storeu_ps(out, x);
            for (int r = 0; r < mr; r++) cc[r * ldc] = out[r];
        }
    }
}

/* Dispatch on constant panel and column counts: panels in groups of 4, columns in groups of 4. */
static inline __attribute__((always_inline)) SQZ_AVX512 void tail_cols(int64_t kc, const float *a, int64_t mc,
                                                                       const float *b, int bs, int ncols, float *c,
                                                                       int64_t ldc, const sqz_gemm_f32_store *st,
                                                                       const int MR) {
    const int64_t npan = (mc + MR - 1) / MR;
    for (int j0 = 0; j0 < ncols; j0 += 4) {
        const int nj = ncols - j0 < 4 ? ncols - j0 : 4;
        sqz_gemm_f32_store s = *st;
        if (s.bias_n) s.bias_n += j0;
        for (int64_t p0 = 0; p0 < npan; p0 += 4) {
            const int np = npan - p0 < 4 ? (int)(npan - p0) : 4;
            const float *ap = a + p0 * MR * kc;
            float *cp = c + p0 * MR * ldc + j0;
            const int64_t rows = mc - p0 * MR;
            sqz_gemm_f32_store s2 = s;
            if (s2.bias_m) s2.bias_m += p0 * MR;
#define TAIL_CASE(NP, NJ)                                                                   \
    case (NP) * 8 + (NJ): tail_block(kc, ap, rows, b + j0, bs, cp, ldc, &s2, MR, NP, NJ); break;
            switch (np * 8 + nj) {
                TAIL_CASE(1, 1) TAIL_CASE(1, 2) TAIL_CASE(1, 3) TAIL_CASE(1, 4)
                TAIL_CASE(2, 1) TAIL_CASE(2, 2) TAIL_CASE(2, 3) TAIL_CASE(2, 4)
                TAIL_CASE(3, 1) TAIL_CASE(3, 2) TAIL_CASE(3, 3) TAIL_CASE(3, 4)
                TAIL_CASE(4, 1) TAIL_CASE(4, 2) TAIL_CASE(4, 3) TAIL_CASE(4, 4)
                default: break;
            }
#undef TAIL_CASE
        }
    }
}

SQZ_AVX512 void sqz_gemm_f32_tail_14__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs,
                                             int ncols, float *c, int64_t ldc, const sqz_gemm_f32_store *st) {
    tail_cols(kc, a, mc, b, bs, ncols, c, ldc, st, 14);
}
SQZ_AVX512 void sqz_gemm_f32_tail_8__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs,
                                            int ncols, float *c, int64_t ldc, const sqz_gemm_f32_store *st) {
    tail_cols(kc, a, mc, b, bs, ncols, c, ldc, st, 8);
}
SQZ_AVX512 void sqz_gemm_f32_tail_6__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs,
                                            int ncols, float *c, int64_t ldc, const sqz_gemm_f32_store *st) {
    tail_cols(kc, a, mc, b, bs, ncols, c, ldc, st, 6);
}
#endif
