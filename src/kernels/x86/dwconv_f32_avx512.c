/* kernels/x86/dwconv_f32_avx512.c - AVX-512 depthwise conv planes: 3x3 and 5x5 kernels, stride 1
 * or 2, no dilation (docs/kernels.md, "Depthwise"). The first path that takes a geometry:
 *  - in registers, 3x3 pad 1: 7x7 (dw7_planes), 14x14 -> 7x7 stride 2 (dw7s2_planes), widths
 *    8-14 and 15-30 stride 1 (dwrow_planes, dwrow2_plane), stride 2 on pre-split rows
 *    (dwrow_s2_plane, conv chains);
 *  - flat small planes (outputs under 16 wide): phase planes on the stack, 16 flat outputs per
 *    vector, two planes at a time (dw_planes_flat);
 *  - blocks of up to 4 output rows x 32 columns (dw_block): each input row loaded once per tap
 *    column for all the output rows reading it; stride 2 through even / odd column halves;
 *  - the per-tap loop (dw_plane) for rows over 1024 wide.
 * Every path adds the taps to the bias in the order ky, kx with padding as zeros: the same bits
 * whichever path or blocking computes an output (for finite weights). */
#include "kernels/conv_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define RB 4 /* output rows per block */

/* Lanes l in [0,16) with 0 <= start + l < W. */
static inline __mmask16 range_mask(int64_t start, int64_t W) {
    int64_t lo = -start, hi = W - start;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    const uint32_t up = hi >= 16 ? 0xffffu : (1u << hi) - 1u;
    return (__mmask16)(up & ~((1u << lo) - 1u));
}

/* row + off as an address (off may point before row: only masked-in lanes are read). */
static inline const float *at(const float *row, int64_t off) {
    return (const float *)((uintptr_t)row + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* An interior block of RB output rows (every input row it reads is inside the plane): each of
 * the (RB-1)*S+K input rows it reads is loaded once per tap column and chunk (not once per
 * output row that reads it) and feeds every output row of the block that reads it; the weights
 * stay in registers; two 16-column chunks at a time (8 accumulator chains). Input row i of the
 * block starts at base + i * rs; tap kx of output column ox reads row[ox + off[kx]], valid where
 * 0 <= ox + ms[kx] < len[kx] (stride 2: the row's even or odd half, see dw_plane_s2). Each output
 * still adds its taps to the bias in the order ky, kx: the same bits as the generic loops. */
typedef struct dw_rows {
    const float *base;
    int64_t rs, OW;
    int64_t off[5], ms[5], len[5];
    float bias;
    int clamp;
    float lo, hi;
} dw_rows;

static inline __attribute__((always_inline)) SQZ_AVX512 void dw_block(const dw_rows *b, const __m512 *wv, float *y,
                                                                       int64_t ox0, const int K, const int S,
                                                                       const int NC, const int NR) {
    __mmask16 m[2][5];
#pragma GCC unroll 2
    for (int c = 0; c < NC; c++)
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) m[c][kx] = range_mask(ox0 + 16 * c + b->ms[kx], b->len[kx]);
    __m512 acc[RB][2];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 2
        for (int c = 0; c < NC; c++) acc[r][c] = _mm512_set1_ps(b->bias);
    const float *row = b->base;
#pragma GCC unroll 11
    for (int i = 0; i < (NR - 1) * S + K; i++) {
        __m512 v[2][5];
#pragma GCC unroll 2
        for (int c = 0; c < NC; c++)
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++)
                v[c][kx] = _mm512_maskz_loadu_ps(m[c][kx], at(row, ox0 + 16 * c + b->off[kx]));
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            const int ky = i - r * S;
            if (ky < 0 || ky >= K) continue;
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++)
#pragma GCC unroll 2
                for (int c = 0; c < NC; c++) acc[r][c] = _mm512_fmadd_ps(wv[ky * K + kx], v[c][kx], acc[r][c]);
        }
        row += b->rs;
    }
    const __m512 lo = _mm512_set1_ps(b->lo), hi = _mm512_set1_ps(b->hi);
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 2
        for (int c = 0; c < NC; c++) {
            __m512 o = acc[r][c];
            if (b->clamp) o = _mm512_min_ps(_mm512_max_ps(o, lo), hi);
            float *yo = y + r * b->OW + ox0 + 16 * c;
            if (ox0 + 16 * c + 16 <= b->OW) _mm512_storeu_ps(yo, o); /* a whole chunk: a plain store */
            else _mm512_mask_storeu_ps(yo, range_mask(ox0 + 16 * c, b->OW), o);
        }
}

/* Every output column of a block of NR <= RB output rows (at y), weights w. */
#define DW_BLOCK_ROW(K, S, NR)                                                                                    \
    static __attribute__((noinline)) SQZ_AVX512 void dw_block_row_##K##_##S##_##NR(const dw_rows *b,             \
                                                                                  const float *w, float *y) {    \
        __m512 wv[K * K];                                                                                         \
        _Pragma("GCC unroll 25") for (int t = 0; t < K * K; t++) wv[t] = _mm512_set1_ps(w[t]);                    \
        int64_t ox0 = 0;                                                                                          \
        for (; b->OW - ox0 > 16; ox0 += 32) dw_block(b, wv, y, ox0, K, S, 2, NR);                                 \
        if (ox0 < b->OW) dw_block(b, wv, y, ox0, K, S, 1, NR);                                                    \
    }
#define DW_BLOCK_ROWS(K, S) DW_BLOCK_ROW(K, S, 1) DW_BLOCK_ROW(K, S, 2) DW_BLOCK_ROW(K, S, 3) DW_BLOCK_ROW(K, S, 4)
DW_BLOCK_ROWS(3, 1)
DW_BLOCK_ROWS(3, 2)
DW_BLOCK_ROWS(5, 1)
DW_BLOCK_ROWS(5, 2)
#undef DW_BLOCK_ROWS
#undef DW_BLOCK_ROW

typedef void (*dw_block_row_fn)(const dw_rows *b, const float *w, float *y);

/* nr (1 .. RB) output rows of a block. */
static inline void dw_block_row(const dw_rows *b, const float *w, float *y, int64_t nr, const int K, const int S) {
    static const dw_block_row_fn fn[2][2][RB] = {
        {{dw_block_row_3_1_1, dw_block_row_3_1_2, dw_block_row_3_1_3, dw_block_row_3_1_4},
         {dw_block_row_3_2_1, dw_block_row_3_2_2, dw_block_row_3_2_3, dw_block_row_3_2_4}},
        {{dw_block_row_5_1_1, dw_block_row_5_1_2, dw_block_row_5_1_3, dw_block_row_5_1_4},
         {dw_block_row_5_2_1, dw_block_row_5_2_2, dw_block_row_5_2_3, dw_block_row_5_2_4}}};
    fn[K == 5][S == 2][nr - 1](b, w, y);
}

static inline __attribute__((always_inline)) SQZ_AVX512 void dw_plane(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                       const sqz_conv_act *act, float *y, const int K, const int S) {
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, pw = g->pw;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    /* RB output rows at once (independent accumulator chains; each output still sums its taps
     * in the order ky, kx, so the result does not depend on the blocking), then the 16-column
     * chunks of those rows: the plane is read row by row, which the prefetchers follow when it
     * comes from memory (a large batch-1 activation) */
    for (int64_t oy = 0; oy < OH; oy += RB) {
        const int nr = OH - oy < RB ? (int)(OH - oy) : RB;
        for (int64_t ox0 = 0; ox0 < OW; ox0 += 16) {
            __mmask16 m0[5], m1[5];
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const int64_t start = ox0 * S - pw + kx;
                m0[kx] = range_mask(start, W);
                m1[kx] = S == 2 ? range_mask(start + 16, W) : 0;
            }
            const __mmask16 om = range_mask(ox0, OW);
            __m512 acc[RB];
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++) acc[r] = _mm512_set1_ps(bias);
#pragma GCC unroll 5
            for (int ky = 0; ky < K; ky++) {
#pragma GCC unroll 4
                for (int r = 0; r < RB; r++) {
                    const int64_t iy = (oy + r) * S - ph + ky;
                    if (r >= nr || iy < 0 || iy >= H) continue;
                    const float *row = x + iy * W;
#pragma GCC unroll 5
                    for (int kx = 0; kx < K; kx++) {
                        const int64_t start = ox0 * S - pw + kx;
                        __m512 v;
                        if (S == 1) {
                            v = _mm512_maskz_loadu_ps(m0[kx], at(row, start));
                        } else {
                            const __m512 a = _mm512_maskz_loadu_ps(m0[kx], at(row, start));
                            const __m512 b = _mm512_maskz_loadu_ps(m1[kx], at(row, start + 16));
                            v = _mm512_permutex2var_ps(a, even, b);
                        }
                        acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[ky * K + kx]), v, acc[r]); /* broadcast operand */
                    }
                }
            }
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++) {
                if (r >= nr) break;
                __m512 o = acc[r];
                if (clamp) o = _mm512_min_ps(_mm512_max_ps(o, lo), hi);
                _mm512_mask_storeu_ps(y + (oy + r) * OW + ox0, om, o);
            }
        }
    }
}

#define S1_MAXW 1024 /* widest plane the stride-1 block path copies edge rows of on the stack */

/* Stride 1, every block through dw_block: interior blocks read the plane in place; a block at
 * the top or bottom edge reads a copy of its rows with zero rows outside the plane (added as
 * zeros, not skipped: the same bits for finite weights, as the flat path). */
static inline __attribute__((always_inline)) SQZ_AVX512 void dw_plane_s1(const sqz_dw_plane *g, const float *x,
                                                                          const float *w, float bias,
                                                                          const sqz_conv_act *act, float *y,
                                                                          const int K) {
    float pad[RB + 4][S1_MAXW] __attribute__((aligned(64)));
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, pw = g->pw;
    const int clamp = act && act->clamp;
    dw_rows br = {.OW = OW, .bias = bias, .clamp = clamp, .lo = clamp ? act->lo : 0.0f,
                  .hi = clamp ? act->hi : 0.0f};
#pragma GCC unroll 5
    for (int kx = 0; kx < K; kx++) br.off[kx] = br.ms[kx] = kx - pw, br.len[kx] = W;
    for (int64_t oy = 0; oy < OH; oy += RB) {
        const int64_t nr = OH - oy < RB ? OH - oy : RB, iy0 = oy - ph, ni = nr - 1 + K;
        if (iy0 >= 0 && iy0 + ni <= H) {
            br.base = x + iy0 * W;
            br.rs = W;
        } else {
            for (int64_t i = 0; i < ni; i++) {
                const int64_t iy = iy0 + i;
                if (iy >= 0 && iy < H) memcpy(pad[i], x + iy * W, sizeof(float) * (size_t)W);
                else memset(pad[i], 0, sizeof(float) * (size_t)W);
            }
            br.base = pad[0];
            br.rs = S1_MAXW;
        }
        dw_block_row(&br, w, y + oy * OW, nr, K, 1);
    }
}

#define S2_MAXW 1024 /* widest row the stride-2 path splits on the stack */

/* Stride 2: rows of the block split into even (ph 0) and odd (ph 1) columns, then each tap reads
 * one half at its offset. Output column ox, tap kx reads column c = 2 ox - pw + kx, which is
 * half c & 1 at index (c - (c & 1)) / 2; masks keep indices inside the half (and so the column
 * inside the row). Taps in the order ky, kx as dw_plane; rows outside the plane are zero rows
 * here (added as zeros, not skipped: the same bits for finite weights, as the flat path). */
static inline __attribute__((always_inline)) SQZ_AVX512 void dw_plane_s2(const sqz_dw_plane *g, const float *x,
                                                                          const float *w, float bias,
                                                                          const sqz_conv_act *act, float *y,
                                                                          const int K) {
    enum { HALF = S2_MAXW / 2 + 16, ROWS = 2 * RB + 3 };
    float halves[2][ROWS][2][HALF] __attribute__((aligned(64)));
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, pw = g->pw;
    const int64_t len[2] = {(W + 1) / 2, W / 2};
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const int clamp = act && act->clamp;
    /* every block through dw_block: tap kx reads half (kx - pw) & 1 at ox + (kx - pw - that) / 2 */
    dw_rows br = {.rs = 2 * HALF, .OW = OW, .bias = bias, .clamp = clamp,
                  .lo = clamp ? act->lo : 0.0f, .hi = clamp ? act->hi : 0.0f};
#pragma GCC unroll 5
    for (int kx = 0; kx < K; kx++) {
        const int64_t p = (kx - pw) & 1;
        br.ms[kx] = (kx - pw - p) / 2;
        br.off[kx] = br.ms[kx] + p * HALF;
        br.len[kx] = len[p];
    }
    /* software pipelined: the next block's rows are split before this block is computed, so the
     * taps' loads (each spanning two of the stores that built the halves) never wait for them;
     * rows outside the plane are zero halves */
    for (int64_t oy = 0; oy < OH + RB; oy += RB) {
        if (oy < OH) {
            const int64_t nr = OH - oy < RB ? OH - oy : RB, iy0 = oy * 2 - ph, ni = (nr - 1) * 2 + K;
            float(*half)[2][HALF] = halves[(oy / RB) & 1];
            for (int64_t i = 0; i < ni; i++) {
                const int64_t iy = iy0 + i;
                const int in = iy >= 0 && iy < H;
                const float *row = x + (in ? iy : 0) * W;
                for (int64_t c = 0; c < W; c += 32) {
                    const __m512 a = _mm512_maskz_loadu_ps(in ? range_mask(c, W) : 0, row + c);
                    const __m512 b = _mm512_maskz_loadu_ps(in ? range_mask(c + 16, W) : 0, at(row, c + 16));
                    _mm512_store_ps(half[i][0] + c / 2, _mm512_permutex2var_ps(a, even, b));
                    _mm512_store_ps(half[i][1] + c / 2, _mm512_permutex2var_ps(a, odd, b));
                }
            }
        }
        if (oy == 0) continue;
        const int64_t ob = oy - RB; /* the block computed now */
        br.base = halves[(ob / RB) & 1][0][0];
        dw_block_row(&br, w, y + ob * OW, OH - ob < RB ? OH - ob : RB, K, 2);
    }
}

/* Stride 2 on rows already split (each input row holds its even columns at [0, (W+1)/2), then
 * its odd ones: the chains deinterleave their narrow input before the expand, which keeps the
 * column order): no split per block, interior blocks read the rows in place; blocks with rows
 * outside the plane copy their halves next to zero ones. Same taps in the same order as
 * dw_plane_s2: the same bits. */
static inline __attribute__((always_inline)) SQZ_AVX512 void dw_plane_s2_presplit(const sqz_dw_plane *g,
                                                                                   const float *x, const float *w,
                                                                                   float bias,
                                                                                   const sqz_conv_act *act,
                                                                                   float *y, const int K) {
    enum { HALF = S2_MAXW / 2 + 16, ROWS = 2 * RB + 3 };
    float half[ROWS][2][HALF] __attribute__((aligned(64)));
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, pw = g->pw;
    const int64_t len[2] = {(W + 1) / 2, W / 2};
    const int clamp = act && act->clamp;
    dw_rows in = {.rs = W, .OW = OW, .bias = bias, .clamp = clamp, .lo = clamp ? act->lo : 0.0f,
                  .hi = clamp ? act->hi : 0.0f};
    dw_rows cp = in;
    cp.rs = 2 * HALF;
    cp.base = half[0][0];
#pragma GCC unroll 5
    for (int kx = 0; kx < K; kx++) {
        const int64_t p = (kx - pw) & 1;
        in.ms[kx] = cp.ms[kx] = (kx - pw - p) / 2;
        in.off[kx] = in.ms[kx] + p * len[0];
        cp.off[kx] = cp.ms[kx] + p * HALF;
        in.len[kx] = cp.len[kx] = len[p];
    }
    for (int64_t oy = 0; oy < OH; oy += RB) {
        const int64_t nr = OH - oy < RB ? OH - oy : RB, iy0 = oy * 2 - ph, ni = (nr - 1) * 2 + K;
        if (iy0 >= 0 && iy0 + ni <= H) {
            in.base = x + iy0 * W;
            dw_block_row(&in, w, y + oy * OW, nr, K, 2);
            continue;
        }
        for (int64_t i = 0; i < ni; i++) {
            const int64_t iy = iy0 + i;
            if (iy >= 0 && iy < H) {
                memcpy(half[i][0], x + iy * W, sizeof(float) * (size_t)len[0]);
                memcpy(half[i][1], x + iy * W + len[0], sizeof(float) * (size_t)len[1]);
            } else {
                memset(half[i][0], 0, sizeof(float) * (size_t)len[0]);
                memset(half[i][1], 0, sizeof(float) * (size_t)len[1]);
            }
        }
        dw_block_row(&cp, w, y + oy * OW, nr, K, 2);
    }
}

static inline int s1_fits(const sqz_dw_plane *g) { return g->W <= S1_MAXW; }
static inline int s2_fits(const sqz_dw_plane *g) { return g->W <= S2_MAXW; }

/* Small planes (outputs under 16 wide: MobileNet's 14x14 and 7x7 layers, where a row fills half a
 * vector or less): the padded input goes into S*S phase planes of Hq x Wq (Wq = OW + (K-1)/S),
 * in which every tap is one contiguous window: output (oy, ox) at flat position q = oy*Wq + ox
 * reads phase (ky % S, kx % S) at q + (ky/S)*Wq + kx/S. 16 consecutive flat positions per
 * vector, no masks and no branches in the taps; the (K-1)/S extra columns of each row are
 * computed and dropped. Taps in the order ky, kx after the bias, as dw_plane (zero padding
 * instead of skipped rows: the same bits for finite weights). */
#define FLAT_CAP 3072 /* floats of the phase planes and of the flat outputs, on the stack */

static inline int flat_fits(const sqz_dw_plane *g, int K, int S) {
    const int64_t Wq = g->OW + (K - 1) / S, Hq = g->OH + (K - 1) / S;
    return g->OW < 16 && g->W <= 32 && g->ph >= 0 && g->pw >= 0 && S * S * Hq * Wq + 32 <= FLAT_CAP &&
           g->OH * Wq + 32 <= FLAT_CAP;
}

/* The phase planes P of one input plane (zero padded). */
static inline __attribute__((always_inline)) SQZ_AVX512 void flat_build(const sqz_dw_plane *g, const float *x,
                                                                         float *P, int fresh, const int K,
                                                                         const int S) {
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, pw = g->pw;
    const int64_t Wq = OW + (K - 1) / S, Hq = OH + (K - 1) / S, plane = Hq * Wq;
    if (fresh) /* every plane writes the same positions: the padding stays zero in a reused P */
        for (int64_t i = 0; i < S * S * plane + 16; i += 16) _mm512_storeu_ps(P + i, _mm512_setzero_ps());
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int64_t iy = 0; iy < H; iy++) {
        const int64_t r = iy + ph;
        if (r / S >= Hq) break;
        const float *row = x + iy * W;
        if (S == 1) { /* columns [0, W) at pw, clipped to the Wq kept */
            const int64_t n = W < Wq - pw ? W : Wq - pw;
            float *d = P + r * Wq + pw;
            for (int64_t c = 0; c < n; c += 16)
                _mm512_mask_storeu_ps(d + c, range_mask(c, n), _mm512_maskz_loadu_ps(range_mask(c, n), row + c));
        } else { /* even input columns and odd ones, each to the phase of their padded column */
            const __m512 a = _mm512_maskz_loadu_ps(range_mask(0, W), row);
            const __m512 b = _mm512_maskz_loadu_ps(range_mask(16, W), at(row, 16));
            const __m512 ev = _mm512_permutex2var_ps(a, even, b), od = _mm512_permutex2var_ps(a, odd, b);
            float *pr = P + (r % 2) * 2 * plane + (r / 2) * Wq; /* phase (r % 2, 0); (r % 2, 1) at + plane */
            /* input column 2i (2i+1) sits at padded column 2i + pw (2i + 1 + pw) */
            const int64_t m = pw / 2, ne = (W + 1) / 2, no = W / 2;
            float *de = pr + (pw % 2 ? plane : 0) + m, *dod = pr + (pw % 2 ? 0 : plane) + m + (pw % 2);
            const int64_t ke = ne < Wq - m ? ne : Wq - m, ko = no < Wq - m - pw % 2 ? no : Wq - m - pw % 2;
            if (ke > 0) _mm512_mask_storeu_ps(de, range_mask(0, ke), ev);
            if (ko > 0) _mm512_mask_storeu_ps(dod, range_mask(0, ko), od);
        }
    }
}

/* Tap kx of a flat vector whose padded row starts at the aligned row (rows 16 wide, stride 1):
 * lanes kx .. kx+15 of the row and the next one, by a lane shift instead of an unaligned load
 * (which would split across two cache lines): the same values. */
static inline __attribute__((always_inline)) SQZ_AVX512 __m512 row16_tap(const float *row, const int kx) {
    const __m512i cur = _mm512_castps_si512(_mm512_load_ps(row)), nxt = _mm512_castps_si512(_mm512_load_ps(row + 16));
    switch (kx) {
    case 0: return _mm512_castsi512_ps(cur);
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(nxt, cur, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(nxt, cur, 2));
    case 3: return _mm512_castsi512_ps(_mm512_alignr_epi32(nxt, cur, 3));
    default: return _mm512_castsi512_ps(_mm512_alignr_epi32(nxt, cur, 4));
    }
}

/* The flat vectors' loop of flat_compute / flat_compute2: TAP(P, ky, kx) is the tap vector. */
#define FLAT_TAP_ROW16(P, ky, kx) row16_tap((P) + (ky) * 16 + q, (kx))
#define FLAT_TAP_ANY(P, ky, kx) _mm512_loadu_ps((P) + (((ky) % S) * S + (kx) % S) * plane + ((ky) / S) * Wq + (kx) / S + q)

/* One output plane from its phase planes P (T: the flat outputs' staging). */
static inline __attribute__((always_inline)) SQZ_AVX512 void flat_compute(const sqz_dw_plane *g, const float *P,
                                                                           const float *w, float bias,
                                                                           const sqz_conv_act *act, float *y, float *T,
                                                                           const int K, const int S) {
    const int64_t OH = g->OH, OW = g->OW;
    const int64_t Wq = OW + (K - 1) / S, Hq = OH + (K - 1) / S, plane = Hq * Wq;
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
#define FLAT_LOOP(TAP)                                                                                  \
    for (int64_t q = 0; q < OH * Wq; q += 16) {                                                         \
        __m512 acc = _mm512_set1_ps(bias);                                                              \
        _Pragma("GCC unroll 5") for (int ky = 0; ky < K; ky++)                                          \
            _Pragma("GCC unroll 5") for (int kx = 0; kx < K; kx++)                                      \
                acc = _mm512_fmadd_ps(_mm512_set1_ps(w[ky * K + kx]), TAP(P, ky, kx), acc);             \
        if (clamp) acc = _mm512_min_ps(_mm512_max_ps(acc, lo), hi);                                     \
        _mm512_store_ps(T + q, acc);                                                                    \
    }
    if (S == 1 && Wq == 16) FLAT_LOOP(FLAT_TAP_ROW16)
    else FLAT_LOOP(FLAT_TAP_ANY)
#undef FLAT_LOOP
    const __mmask16 om = range_mask(0, OW);
    for (int64_t oy = 0; oy < OH; oy++) _mm512_mask_storeu_ps(y + oy * OW, om, _mm512_loadu_ps(T + oy * Wq));
}

static inline __attribute__((always_inline)) SQZ_AVX512 void dw_plane_flat(const sqz_dw_plane *g, const float *x,
                                                                            const float *w, float bias,
                                                                            const sqz_conv_act *act, float *y,
                                                                            const int K, const int S) {
    float P[FLAT_CAP] __attribute__((aligned(64))), T[FLAT_CAP] __attribute__((aligned(64)));
    flat_build(g, x, P, 1, K, S);
    flat_compute(g, P, w, bias, act, y, T, K, S);
}

/* Two output planes at once from their phase planes P0 / P1 (weights w0 / w1): twice the
 * independent FMA chains of flat_compute (each vector's taps are one dependent chain). The
 * same operations per plane, so the same bits. T0 / T1: staging. */
static inline __attribute__((always_inline)) SQZ_AVX512 void flat_compute2(const sqz_dw_plane *g, const float *P0,
                                                                            const float *P1, const float *w0,
                                                                            const float *w1, float b0, float b1,
                                                                            const sqz_conv_act *act, float *y0,
                                                                            float *y1, float *T0, float *T1,
                                                                            const int K, const int S) {
    const int64_t OH = g->OH, OW = g->OW;
    const int64_t Wq = OW + (K - 1) / S, Hq = OH + (K - 1) / S, plane = Hq * Wq;
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
#define FLAT_LOOP2(TAP)                                                                                 \
    for (int64_t q = 0; q < OH * Wq; q += 16) {                                                         \
        __m512 a0 = _mm512_set1_ps(b0), a1 = _mm512_set1_ps(b1);                                        \
        _Pragma("GCC unroll 5") for (int ky = 0; ky < K; ky++)                                          \
            _Pragma("GCC unroll 5") for (int kx = 0; kx < K; kx++) {                                    \
                a0 = _mm512_fmadd_ps(_mm512_set1_ps(w0[ky * K + kx]), TAP(P0, ky, kx), a0);             \
                a1 = _mm512_fmadd_ps(_mm512_set1_ps(w1[ky * K + kx]), TAP(P1, ky, kx), a1);             \
            }                                                                                           \
        if (clamp) {                                                                                    \
            a0 = _mm512_min_ps(_mm512_max_ps(a0, lo), hi);                                              \
            a1 = _mm512_min_ps(_mm512_max_ps(a1, lo), hi);                                              \
        }                                                                                               \
        if (direct) { /* one output row per vector */                                                 \
            _mm512_mask_storeu_ps(y0 + q / 16 * OW, om, a0);                                            \
            _mm512_mask_storeu_ps(y1 + q / 16 * OW, om, a1);                                            \
        } else {                                                                                        \
            _mm512_store_ps(T0 + q, a0);                                                                \
            _mm512_store_ps(T1 + q, a1);                                                                \
        }                                                                                               \
    }
    const __mmask16 om = range_mask(0, OW);
    const int direct = Wq == 16;
    if (S == 1 && Wq == 16) FLAT_LOOP2(FLAT_TAP_ROW16)
    else FLAT_LOOP2(FLAT_TAP_ANY)
#undef FLAT_LOOP2
    if (direct) return;
    for (int64_t oy = 0; oy < OH; oy++) {
        _mm512_mask_storeu_ps(y0 + oy * OW, om, _mm512_loadu_ps(T0 + oy * Wq));
        _mm512_mask_storeu_ps(y1 + oy * OW, om, _mm512_loadu_ps(T1 + oy * Wq));
    }
}

/* Planes pl0 .. pl1 of a depthwise layer with one output per input channel (plane pl: input
 * x + pl * H * W, weights w + (pl % C) * K * K, output y + pl * OH * OW), two at a time:
 * software pipelined, the next pair's phase planes are built before this pair is computed from
 * its own, so the loads of the taps never wait on the masked stores that just built them (a
 * load spanning two of them cannot be forwarded and waits for both to reach the cache). */
static inline __attribute__((always_inline)) SQZ_AVX512 void dw_planes_flat(const sqz_dw_plane *g, const float *x,
                                                                             const float *w, const float *bias,
                                                                             int64_t C, int64_t pl0, int64_t pl1,
                                                                             const sqz_conv_act *act, float *y,
                                                                             const int K, const int S) {
    float P[4][FLAT_CAP] __attribute__((aligned(64))), T[2][FLAT_CAP] __attribute__((aligned(64)));
    const int64_t HW = g->H * g->W, OHW = g->OH * g->OW;
    for (int64_t pl = pl0; pl < pl0 + 2 && pl < pl1; pl++) flat_build(g, x + pl * HW, P[(pl - pl0) & 3], 1, K, S);
    for (int64_t pl = pl0; pl < pl1; pl += 2) {
        const int64_t i = pl - pl0;
        for (int64_t nx = pl + 2; nx < pl + 4 && nx < pl1; nx++)
            flat_build(g, x + nx * HW, P[(nx - pl0) & 3], nx - pl0 < 4, K, S);
        const int64_t c = pl % C;
        if (pl + 1 < pl1) {
            const int64_t c1 = (pl + 1) % C;
            flat_compute2(g, P[i & 3], P[(i + 1) & 3], w + c * K * K, w + c1 * K * K, bias ? bias[c] : 0.0f,
                          bias ? bias[c1] : 0.0f, act, y + pl * OHW, y + (pl + 1) * OHW, T[0], T[1], K, S);
        } else {
            flat_compute(g, P[i & 3], w + c * K * K, bias ? bias[c] : 0.0f, act, y + pl * OHW, T[0], K, S);
        }
    }
}

/* 7x7 planes, 3x3 taps, stride 1, pad 1 (the last stage of ImageNet-size MobileNets): the plane
 * lives in five registers. Padded rows are 8 wide, the left pad of a row doubling as the right
 * pad of the one before, so a vector holds two padded rows; R_j (rows 2j, 2j+1) comes from one
 * expanding load. Output rows 2v and 2v+1 are one vector (lanes 0-6 and 8-14) whose tap (ky, kx)
 * is R shifted by 8 ky + kx lanes (valignd), and compact into 14 contiguous outputs. No copies
 * through memory. Taps in the order ky, kx after the bias, padding as zeros, as the flat path:
 * the same bits. */
static inline int dw7_fits(const sqz_dw_plane *g) {
    return g->H == 7 && g->W == 7 && g->OH == 7 && g->OW == 7 && g->KH == 3 && g->KW == 3 && g->sh == 1 &&
           g->sw == 1 && g->dh == 1 && g->dw == 1 && g->ph == 1 && g->pw == 1;
}

static inline __attribute__((always_inline)) SQZ_AVX512 __m512 lanes_from(__m512 lo, __m512 hi, const int n) {
    const __m512i a = _mm512_castps_si512(lo), b = _mm512_castps_si512(hi);
    switch (n) {
    case 0: return lo;
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 2));
    default: return _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 8));
    }
}

/* The register kernels' common steps: the 3x3 weights as broadcast vectors; the bias plus the
 * nine taps t[ky * 3 + kx] in the order ky, kx (the order of every path), clamped when asked;
 * output rows 2v and 2v+1 of a 7x7 plane (lanes 0-6 and 8-14) compacted and stored. */
static inline __attribute__((always_inline)) SQZ_AVX512 void w9(const float *w, __m512 *wv) {
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++) wv[k] = _mm512_set1_ps(w[k]);
}

static inline __attribute__((always_inline)) SQZ_AVX512 __m512 taps9(__m512 acc, const __m512 *wv, const __m512 *t,
                                                                      int clamp, __m512 lo, __m512 hi) {
#pragma GCC unroll 9
    for (int k = 0; k < 9; k++) acc = _mm512_fmadd_ps(wv[k], t[k], acc);
    return clamp ? _mm512_min_ps(_mm512_max_ps(acc, lo), hi) : acc;
}

static inline __attribute__((always_inline)) SQZ_AVX512 void store_rows7(float *yp, int v, __m512 acc) {
    const __m512i pack = _mm512_set_epi32(15, 15, 14, 13, 12, 11, 10, 9, 8, 6, 5, 4, 3, 2, 1, 0);
    _mm512_mask_storeu_ps(yp + 14 * v, v < 3 ? 0x3fff : 0x7f, _mm512_permutexvar_ps(pack, acc));
}

static __attribute__((noinline)) SQZ_AVX512 void dw7_planes(const float *x, const float *w, const float *bias,
                                                            int64_t C, int64_t pl0, int64_t pl1,
                                                            const sqz_conv_act *act, float *y) {
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    for (int64_t pl = pl0; pl < pl1; pl++) {
        const float *xp = x + pl * 49, *wp = w + (pl % C) * 9;
        float *yp = y + pl * 49;
        __m512 S[11];
        S[0] = _mm512_maskz_expandloadu_ps(0xfe00, xp);      /* pad row, x row 0 */
        S[2] = _mm512_maskz_expandloadu_ps(0xfefe, xp + 7);  /* x rows 1, 2 */
        S[4] = _mm512_maskz_expandloadu_ps(0xfefe, xp + 21); /* x rows 3, 4 */
        S[6] = _mm512_maskz_expandloadu_ps(0xfefe, xp + 35); /* x rows 5, 6 */
        S[8] = S[9] = S[10] = _mm512_setzero_ps();           /* pad rows */
#pragma GCC unroll 4
        for (int t = 1; t < 8; t += 2) S[t] = lanes_from(S[t - 1], S[t + 1], 8);
        __m512 wv[9];
        w9(wp, wv);
        const __m512 b = _mm512_set1_ps(bias ? bias[pl % C] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            __m512 t[9];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) t[ky * 3 + kx] = lanes_from(S[2 * v + ky], S[2 * v + ky + 2], kx);
            store_rows7(yp, v, taps9(b, wv, t, clamp, lo, hi));
        }
    }
}

/* 14x14 -> 7x7, 3x3 taps, stride 2, pad 1, in registers: the input splits into four 7x7 phase
 * planes (even / odd rows x even / odd columns), each laid out as dw7_planes lays out its plane
 * (8-wide rows, left pad shared). Tap (ky, kx) of output (oy, ox) reads input (2 oy - 1 + ky,
 * 2 ox - 1 + kx): rows ky = 0 / 2 are odd row oy - 1 / oy, ky = 1 even row oy; columns likewise;
 * so each tap is one phase plane shifted by 8 * (row offset) + (column offset) lanes. Built from
 * 14 row loads and one permute per pair of rows and phase. Same taps in the same order as the
 * flat path: the same bits. */
static inline int dw7s2_fits(const sqz_dw_plane *g) {
    return g->H == 14 && g->W == 14 && g->OH == 7 && g->OW == 7 && g->KH == 3 && g->KW == 3 && g->sh == 2 &&
           g->sw == 2 && g->dh == 1 && g->dw == 1 && g->ph == 1 && g->pw == 1;
}

static __attribute__((noinline)) SQZ_AVX512 void dw7s2_planes(const float *x, const float *w, const float *bias,
                                                              int64_t C, int64_t pl0, int64_t pl1,
                                                              const sqz_conv_act *act, float *y) {
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    /* lanes 1-7 from the first row's columns 2c + q, lanes 9-15 from the second's (+16) */
    const __m512i pick[2] = {_mm512_set_epi32(28, 26, 24, 22, 20, 18, 16, 0, 12, 10, 8, 6, 4, 2, 0, 0),
                             _mm512_set_epi32(29, 27, 25, 23, 21, 19, 17, 0, 13, 11, 9, 7, 5, 3, 1, 0)};
    for (int64_t pl = pl0; pl < pl1; pl++) {
        const float *xp = x + pl * 196, *wp = w + (pl % C) * 9;
        float *yp = y + pl * 49;
        __m512 rows[14];
#pragma GCC unroll 14
        for (int r = 0; r < 14; r++) rows[r] = _mm512_maskz_loadu_ps(0x3fff, xp + r * 14);
        /* S[a][q][t]: phase (row parity a, column parity q), t-th 8-wide padded row pair start
         * (even t: rows t, t+1 of the padded phase plane; odd t: rows t, t+1 by a shift) */
        __m512 S[2][2][11];
#pragma GCC unroll 2
        for (int a = 0; a < 2; a++)
#pragma GCC unroll 2
            for (int q = 0; q < 2; q++) {
                /* padded row 0 is the pad, padded row i (1..7) is phase row i-1 = input row 2(i-1)+a */
                S[a][q][0] = _mm512_maskz_permutexvar_ps(0xfe00, pick[q], rows[a]);
#pragma GCC unroll 3
                for (int j = 1; j < 4; j++)
                    S[a][q][2 * j] = _mm512_maskz_permutex2var_ps(0xfefe, rows[2 * (2 * j - 1) + a], pick[q],
                                                                  rows[2 * (2 * j) + a]);
                S[a][q][8] = S[a][q][9] = S[a][q][10] = _mm512_setzero_ps();
#pragma GCC unroll 4
                for (int t = 1; t < 8; t += 2) S[a][q][t] = lanes_from(S[a][q][t - 1], S[a][q][t + 1], 8);
            }
        __m512 wv[9];
        w9(wp, wv);
        const __m512 b = _mm512_set1_ps(bias ? bias[pl % C] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            __m512 t[9];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) {
                    /* input row 2 oy - 1 + ky: parity a, phase row oy + dr (dr = -1 for ky 0);
                     * padded row oy + dr + 1; likewise columns */
                    const int a = ky != 1, q = kx != 1, dr = ky == 0 ? -1 : 0, dc = kx == 0 ? -1 : 0;
                    t[ky * 3 + kx] = lanes_from(S[a][q][2 * v + dr + 1], S[a][q][2 * v + dr + 3], dc + 1);
                }
            store_rows7(yp, v, taps9(b, wv, t, clamp, lo, hi));
        }
    }
}

/* Planes of width 8 .. 14 (MobileNet's 14x14 layers), 3x3 taps, stride 1, pad 1, a row per
 * register: each padded row ([0, row, 0], 16 lanes at most) comes from one expanding load, and
 * its three column shifts (valignd) feed the three output rows that read it, held in a sliding
 * window; outputs go straight to the plane. No copies through memory. Taps in the order ky, kx
 * after the bias, padding as zeros: the same bits as the flat path. */
static inline int dwrow_fits(const sqz_dw_plane *g) {
    return g->W >= 8 && g->W <= 14 && g->H >= 1 && g->OH == g->H && g->OW == g->W && g->KH == 3 && g->KW == 3 &&
           g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->ph == 1 && g->pw == 1;
}

static __attribute__((noinline)) SQZ_AVX512 void dwrow_planes(const sqz_dw_plane *g, const float *x, const float *w,
                                                              const float *bias, int64_t C, int64_t pl0,
                                                              int64_t pl1, const sqz_conv_act *act, float *y) {
    const int64_t H = g->H, W = g->W;
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    const __mmask16 in = (__mmask16)(((1u << W) - 1u) << 1), out = (__mmask16)((1u << W) - 1u);
    for (int64_t pl = pl0; pl < pl1; pl++) {
        const float *xp = x + pl * H * W, *wp = w + (pl % C) * 9;
        float *yp = y + pl * H * W;
        __m512 wv[9];
        w9(wp, wv);
        const __m512 b = _mm512_set1_ps(bias ? bias[pl % C] : 0.0f);
        /* window: padded rows oy, oy+1, oy+2, each shifted by 0, 1, 2 columns */
        __m512 r[3][3];
        r[0][0] = r[0][1] = r[0][2] = _mm512_setzero_ps();
        r[1][0] = _mm512_maskz_expandloadu_ps(in, xp);
        r[1][1] = lanes_from(r[1][0], r[1][0], 1);
        r[1][2] = lanes_from(r[1][0], r[1][0], 2);
        for (int64_t oy = 0; oy < H; oy++) {
            r[2][0] = oy + 1 < H ? _mm512_maskz_expandloadu_ps(in, xp + (oy + 1) * W) : _mm512_setzero_ps();
            r[2][1] = lanes_from(r[2][0], r[2][0], 1);
            r[2][2] = lanes_from(r[2][0], r[2][0], 2);
            _mm512_mask_storeu_ps(yp + oy * W, out, taps9(b, wv, &r[0][0], clamp, lo, hi));
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) r[0][kx] = r[1][kx], r[1][kx] = r[2][kx];
        }
    }
}

/* The same for planes 15 .. 30 wide (MobileNet's 28x28 layers, also as bands of rows inside a
 * conv chain: ph 0 or 1, any height): a padded row in two registers ([0, x0 .. x14] and
 * [x15 .. , 0 ..]), shifted across the pair. */
static inline int dwrow2_fits(const sqz_dw_plane *g) {
    return g->W >= 15 && g->W <= 30 && g->H >= 1 && g->OW == g->W && g->OH >= 1 && g->KH == 3 && g->KW == 3 &&
           g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && (g->ph == 0 || g->ph == 1) && g->pw == 1;
}

static __attribute__((noinline)) SQZ_AVX512 void dwrow2_plane(const sqz_dw_plane *g, const float *x, const float *w,
                                                              float bias, const sqz_conv_act *act, float *y) {
    const int64_t H = g->H, W = g->W, OH = g->OH, ph = g->ph;
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    const __mmask16 in1 = (__mmask16)((1u << (W - 15)) - 1u), out1 = (__mmask16)((1u << (W - 16)) - 1u);
    const __m512 z = _mm512_setzero_ps();
    __m512 wv[9];
    w9(w, wv);
    const __m512 b = _mm512_set1_ps(bias);
    /* window: padded rows oy - ph + 0 .. 2, each as two vectors shifted by 0, 1, 2 columns */
    __m512 r[3][2][3];
#define DWROW2_LOAD(R, iy)                                                                              \
    do {                                                                                                \
        const int ok_ = (iy) >= 0 && (iy) < H;                                                          \
        const __m512 a_ = _mm512_maskz_expandloadu_ps(ok_ ? 0xfffe : 0, x + (ok_ ? (iy) : 0) * W);      \
        const __m512 c_ = _mm512_maskz_loadu_ps(ok_ ? in1 : 0, x + (ok_ ? (iy) : 0) * W + 15);          \
        R[0][0] = a_, R[0][1] = lanes_from(a_, c_, 1), R[0][2] = lanes_from(a_, c_, 2);                 \
        R[1][0] = c_, R[1][1] = lanes_from(c_, z, 1), R[1][2] = lanes_from(c_, z, 2);                   \
    } while (0)
    DWROW2_LOAD(r[0], -ph);
    DWROW2_LOAD(r[1], 1 - ph);
    for (int64_t oy = 0; oy < OH; oy++) {
        DWROW2_LOAD(r[2], oy - ph + 2);
#pragma GCC unroll 2
        for (int c = 0; c < 2; c++) {
            __m512 t[9];
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) t[ky * 3 + kx] = r[ky][c][kx];
            _mm512_mask_storeu_ps(y + oy * W + 16 * c, c ? out1 : 0xffff, taps9(b, wv, t, clamp, lo, hi));
        }
#pragma GCC unroll 2
        for (int c = 0; c < 2; c++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) r[0][c][kx] = r[1][c][kx], r[1][c][kx] = r[2][c][kx];
    }
#undef DWROW2_LOAD
}

int sqz_dwconv2d_f32_regs_ok(const sqz_dw_plane *g) { return dw7_fits(g) || dw7s2_fits(g) || dwrow_fits(g); }

SQZ_AVX512 int sqz_dwconv2d_f32_planes__avx512(const sqz_dw_plane *g, const float *x, const float *w,
                                               const float *bias, int64_t C, int64_t pl0, int64_t pl1,
                                               const sqz_conv_act *act, float *y) {
    if (g->KH != g->KW || g->sh != g->sw || g->dh != 1 || g->dw != 1) return 0;
    if (!((g->KH == 3 || g->KH == 5) && (g->sh == 1 || g->sh == 2) && flat_fits(g, (int)g->KH, (int)g->sh))) return 0;
    if (dw7_fits(g)) {
        dw7_planes(x, w, bias, C, pl0, pl1, act, y);
        return 1;
    }
    if (dw7s2_fits(g)) {
        dw7s2_planes(x, w, bias, C, pl0, pl1, act, y);
        return 1;
    }
    if (dwrow_fits(g)) {
        dwrow_planes(g, x, w, bias, C, pl0, pl1, act, y);
        return 1;
    }
    if (g->KH == 3 && g->sh == 1) dw_planes_flat(g, x, w, bias, C, pl0, pl1, act, y, 3, 1);
    else if (g->KH == 3) dw_planes_flat(g, x, w, bias, C, pl0, pl1, act, y, 3, 2);
    else if (g->sh == 1) dw_planes_flat(g, x, w, bias, C, pl0, pl1, act, y, 5, 1);
    else dw_planes_flat(g, x, w, bias, C, pl0, pl1, act, y, 5, 2);
    return 1;
}

SQZ_AVX512 int sqz_dwconv2d_f32_plane__avx512(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                              const sqz_conv_act *act, float *y) {
    if (g->KH != g->KW || g->sh != g->sw || g->dh != 1 || g->dw != 1) return 0;
    if (dw7_fits(g)) {
        dw7_planes(x, w, &bias, 1, 0, 1, act, y);
        return 1;
    }
    if (dw7s2_fits(g)) {
        dw7s2_planes(x, w, &bias, 1, 0, 1, act, y);
        return 1;
    }
    if (dwrow_fits(g)) {
        dwrow_planes(g, x, w, &bias, 1, 0, 1, act, y);
        return 1;
    }
    if (dwrow2_fits(g)) {
        dwrow2_plane(g, x, w, bias, act, y);
        return 1;
    }
    if ((g->KH == 3 || g->KH == 5) && (g->sh == 1 || g->sh == 2) && flat_fits(g, (int)g->KH, (int)g->sh)) {
        if (g->KH == 3 && g->sh == 1) dw_plane_flat(g, x, w, bias, act, y, 3, 1);
        else if (g->KH == 3) dw_plane_flat(g, x, w, bias, act, y, 3, 2);
        else if (g->sh == 1) dw_plane_flat(g, x, w, bias, act, y, 5, 1);
        else dw_plane_flat(g, x, w, bias, act, y, 5, 2);
        return 1;
    }
    if (g->KH == 3 && g->sh == 1 && s1_fits(g)) dw_plane_s1(g, x, w, bias, act, y, 3);
    else if (g->KH == 3 && g->sh == 1) dw_plane(g, x, w, bias, act, y, 3, 1);
    else if (g->KH == 3 && g->sh == 2 && s2_fits(g)) dw_plane_s2(g, x, w, bias, act, y, 3);
    else if (g->KH == 3 && g->sh == 2) dw_plane(g, x, w, bias, act, y, 3, 2);
    else if (g->KH == 5 && g->sh == 1 && s1_fits(g)) dw_plane_s1(g, x, w, bias, act, y, 5);
    else if (g->KH == 5 && g->sh == 1) dw_plane(g, x, w, bias, act, y, 5, 1);
    else if (g->KH == 5 && g->sh == 2 && s2_fits(g)) dw_plane_s2(g, x, w, bias, act, y, 5);
    else if (g->KH == 5 && g->sh == 2) dw_plane(g, x, w, bias, act, y, 5, 2);
    else return 0;
    return 1;
}

/* Stride 2, pad 1 (left), 3x3, outputs up to 16 wide, on rows already split (even columns,
 * then odd): a row per register. Output column ox reads odd column ox - 1, even column ox and
 * odd column ox: the odd half shifted in by one lane (an expanding load), the even half and the
 * odd half as they are. Output row oy reads input rows 2 oy - ph + 0 .. 2; the last of them is
 * the first of the next output row's. Taps in the order ky, kx after the bias, padding as
 * zeros: the same bits as the block path. */
static inline int dwrow_s2_fits(const sqz_dw_plane *g) {
    return g->KH == 3 && g->KW == 3 && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1 && g->pw == 1 &&
           (g->ph == 0 || g->ph == 1) && g->W >= 2 && g->W <= 32 && g->OW >= 1 && g->OW <= 16 &&
           g->OW <= (g->W + 1) / 2 && g->OH >= 1;
}

static __attribute__((noinline)) SQZ_AVX512 void dwrow_s2_plane(const sqz_dw_plane *g, const float *x,
                                                                const float *w, float bias,
                                                                const sqz_conv_act *act, float *y) {
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, ph = g->ph, ne = (W + 1) / 2, no = W / 2;
    const int clamp = act && act->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? act->lo : 0.0f), hi = _mm512_set1_ps(clamp ? act->hi : 0.0f);
    const __mmask16 me = (__mmask16)((1u << ne) - 1u), mo = (__mmask16)((1u << no) - 1u);
    const __mmask16 ms = (__mmask16)(mo << 1), out = (__mmask16)((1u << OW) - 1u);
    __m512 wv[9];
    w9(w, wv);
    const __m512 b = _mm512_set1_ps(bias);
    __m512 r[3][3]; /* input rows 2 oy - ph + ky: taps kx = 0, 1, 2 */
#define DWROWS2_LOAD(R, iy)                                                                             \
    do {                                                                                                \
        const int ok_ = (iy) >= 0 && (iy) < H;                                                          \
        const float *row_ = x + (ok_ ? (iy) : 0) * W;                                                   \
        R[0] = _mm512_maskz_expandloadu_ps(ok_ ? ms : 0, row_ + ne);                                    \
        R[1] = _mm512_maskz_loadu_ps(ok_ ? me : 0, row_);                                               \
        R[2] = _mm512_maskz_loadu_ps(ok_ ? mo : 0, row_ + ne);                                          \
    } while (0)
    DWROWS2_LOAD(r[0], -ph);
    for (int64_t oy = 0; oy < OH; oy++) {
        DWROWS2_LOAD(r[1], 2 * oy - ph + 1);
        DWROWS2_LOAD(r[2], 2 * oy - ph + 2);
        _mm512_mask_storeu_ps(y + oy * OW, out, taps9(b, wv, &r[0][0], clamp, lo, hi));
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) r[0][kx] = r[2][kx];
    }
#undef DWROWS2_LOAD
}

SQZ_AVX512 int sqz_dwconv2d_f32_plane_presplit__avx512(const sqz_dw_plane *g, const float *x, const float *w,
                                                       float bias, const sqz_conv_act *act, float *y) {
    if (!sqz_dwconv2d_f32_presplit_ok(g)) return 0;
    if (dwrow_s2_fits(g)) dwrow_s2_plane(g, x, w, bias, act, y);
    else if (g->KH == 3) dw_plane_s2_presplit(g, x, w, bias, act, y, 3);
    else dw_plane_s2_presplit(g, x, w, bias, act, y, 5);
    return 1;
}

SQZ_AVX512 void sqz_deinterleave_rows__avx512(const float *x, int64_t nrows, int64_t W, float *dst) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const int64_t ne = (W + 1) / 2, no = W / 2;
    for (int64_t r = 0; r < nrows; r++) {
        const float *row = x + r * W;
        float *de = dst + r * W, *dod = de + ne;
        for (int64_t c = 0; c < W; c += 32) {
            const __m512 a = _mm512_maskz_loadu_ps(range_mask(c, W), row + c);
            const __m512 b = _mm512_maskz_loadu_ps(range_mask(c + 16, W), at(row, c + 16));
            _mm512_mask_storeu_ps(de + c / 2, range_mask(c / 2, ne), _mm512_permutex2var_ps(a, even, b));
            _mm512_mask_storeu_ps(dod + c / 2, range_mask(c / 2, no), _mm512_permutex2var_ps(a, odd, b));
        }
    }
}

#endif
