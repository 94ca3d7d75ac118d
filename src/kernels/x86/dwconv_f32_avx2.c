/* kernels/x86/dwconv_f32_avx2.c - AVX2/FMA depthwise conv planes (any kernel size up to 7, stride 1
 * or 2, no dilation), for CPUs without AVX-512. One output row at a time, up to four 8-column
 * chunks together (independent FMA chains); every tap of a chunk is one masked load (lanes outside
 * the row read 0) and one FMA with the broadcast weight. Stride 2 first splits each input row it
 * reads into its even and odd columns, so a tap is again a contiguous load from one half. Taps in
 * the order ky, kx after the bias; rows outside the plane are skipped: whichever band of rows a
 * conv chain hands over, an output gets the same operations (the same bits). */
#include "kernels/conv_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define SQZ_AVX2 __attribute__((target("avx2,fma")))
#define MAXW 1024 /* widest row the stride-2 split holds on the stack */

/* Lanes l of 8 with 0 <= start + l < n, as a maskload mask. */
static inline SQZ_AVX2 __m256i lanes8(int64_t start, int64_t n) {
    const __m256i i = _mm256_add_epi32(_mm256_set1_epi32((int32_t)start), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)n), i));
}

/* row + off as an address (off may point before row: masked-off lanes are not read). */
static inline const float *at(const float *row, int64_t off) {
    return (const float *)((uintptr_t)row + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* Output row chunks [ox0, ox0 + 8*NC) of one output row: rows[ky] is input row ky of the window
 * (NULL outside the plane), tap kx of output ox reads rows[ky][ox + off[kx]] when
 * 0 <= ox + ms[kx] < len[kx]. */
static inline __attribute__((always_inline)) SQZ_AVX2 void chunks(const float *const *rows, const int64_t *off,
                                                                   const int64_t *ms, const int64_t *len,
                                                                   const float *w, int K, float bias, int clamp,
                                                                   float lo, float hi, float *y, int64_t OW,
                                                                   int64_t ox0, const int NC) {
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int c = 0; c < NC; c++) acc[c] = _mm256_set1_ps(bias);
    for (int ky = 0; ky < K; ky++) {
        if (!rows[ky]) continue;
        for (int kx = 0; kx < K; kx++) {
            const __m256 wv = _mm256_set1_ps(w[ky * K + kx]);
            _Pragma("GCC unroll 4") for (int c = 0; c < NC; c++) {
                const int64_t o = ox0 + 8 * c;
                const __m256 v = _mm256_maskload_ps(at(rows[ky], o + off[kx]), lanes8(o + ms[kx], len[kx]));
                acc[c] = _mm256_fmadd_ps(wv, v, acc[c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int c = 0; c < NC; c++) {
        __m256 v = acc[c];
        if (clamp) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
        const int64_t o = ox0 + 8 * c;
        if (o + 8 <= OW) _mm256_storeu_ps(y + o, v);
        else _mm256_maskstore_ps(y + o, lanes8(o, OW), v);
    }
}

SQZ_AVX2 int sqz_dwconv2d_f32_plane__avx2(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                          const sqz_conv_act *act, float *y) {
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, S = g->sh;
    if (g->KH != g->KW || g->KH < 1 || g->KH > 7 || g->sh != g->sw || (S != 1 && S != 2) || g->dh != 1 ||
        g->dw != 1 || W > MAXW || OW < 1 || OH < 1)
        return 0;
    const int K = (int)g->KH, clamp = act && act->clamp;
    const float lo = clamp ? act->lo : 0.0f, hi = clamp ? act->hi : 0.0f;
    float halves[7][2][MAXW / 2 + 8];
    int64_t off[7], ms[7], len[7];
    const int64_t hl[2] = {(W + 1) / 2, W / 2};
    for (int kx = 0; kx < K; kx++) {
        if (S == 1) {
            off[kx] = ms[kx] = kx - g->pw;
            len[kx] = W;
        } else { /* column 2 ox - pw + kx: half p at ox + (kx - pw - p) / 2 */
            const int64_t p = (kx - g->pw) & 1;
            ms[kx] = (kx - g->pw - p) / 2;
            off[kx] = ms[kx] + p * (MAXW / 2 + 8);
            len[kx] = hl[p];
        }
    }
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *rows[7];
        for (int ky = 0; ky < K; ky++) {
            const int64_t iy = oy * S - g->ph + ky;
            rows[ky] = NULL;
            if (iy < 0 || iy >= H) continue;
            const float *row = x + iy * W;
            if (S == 1) {
                rows[ky] = row;
                continue;
            }
            for (int64_t j = 0; j < hl[0]; j++) halves[ky][0][j] = row[2 * j];
            for (int64_t j = 0; j < hl[1]; j++) halves[ky][1][j] = row[2 * j + 1];
            rows[ky] = halves[ky][0];
        }
        float *yr = y + oy * OW;
        int64_t ox0 = 0;
        for (; OW - ox0 > 16; ox0 += 32) {
            if (OW - ox0 > 24) chunks(rows, off, ms, len, w, K, bias, clamp, lo, hi, yr, OW, ox0, 4);
            else chunks(rows, off, ms, len, w, K, bias, clamp, lo, hi, yr, OW, ox0, 3);
        }
        if (OW - ox0 > 8) chunks(rows, off, ms, len, w, K, bias, clamp, lo, hi, yr, OW, ox0, 2);
        else if (ox0 < OW) chunks(rows, off, ms, len, w, K, bias, clamp, lo, hi, yr, OW, ox0, 1);
    }
    return 1;
}

#endif
