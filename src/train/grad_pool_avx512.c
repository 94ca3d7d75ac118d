/* train/grad_pool_avx512.c - AVX-512 2x2 / stride-2 max pooling of one plane for training:
 * the forward keeps a one-byte code (0..3: which of the window's four inputs won) instead of a
 * 64-bit input index, and the backward writes both input rows of a window pair at once. 16
 * outputs per step: the 32 inputs of a row pair are split into even and odd columns with one
 * permute each, row ends are handled by lane masks. Same rule as the portable sqz_tv_maxpool2x2:
 * the first strict maximum in the order (0,0), (0,1), (1,0), (1,1) wins (a NaN in front stays). */
#include "train/grad_vec.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TV_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

/* Masks of the first 2n inputs (two vectors) and of the n outputs of a 16-output step. */
static inline void step_masks(int64_t n, __mmask16 *lo, __mmask16 *hi, __mmask16 *out) {
    const int64_t a = 2 * n > 16 ? 16 : 2 * n, b = 2 * n > 16 ? 2 * n - 16 : 0;
    *lo = (__mmask16)((1u << a) - 1u);
    *hi = (__mmask16)((1u << b) - 1u);
    *out = (__mmask16)((1u << n) - 1u);
}

TV_AVX512 void sqz_tv_maxpool2x2__avx512(const float *x, int64_t W, int64_t OH, int64_t OW, float *y, uint8_t *code) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2), c3 = _mm512_set1_epi32(3);
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *r0 = x + 2 * oy * W, *r1 = r0 + W;
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __mmask16 ml, mh, mo;
            step_masks(OW - ox < 16 ? OW - ox : 16, &ml, &mh, &mo);
            const __m512 a0 = _mm512_maskz_loadu_ps(ml, r0 + 2 * ox), a1 = _mm512_maskz_loadu_ps(mh, r0 + 2 * ox + 16);
            const __m512 b0 = _mm512_maskz_loadu_ps(ml, r1 + 2 * ox), b1 = _mm512_maskz_loadu_ps(mh, r1 + 2 * ox + 16);
            __m512 best = _mm512_permutex2var_ps(a0, even, a1);
            __m512i c = _mm512_setzero_si512();
            const __m512 v1 = _mm512_permutex2var_ps(a0, odd, a1);
            __mmask16 m = _mm512_cmp_ps_mask(v1, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, m, v1);
            c = _mm512_mask_mov_epi32(c, m, c1);
            const __m512 v2 = _mm512_permutex2var_ps(b0, even, b1);
            m = _mm512_cmp_ps_mask(v2, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, m, v2);
            c = _mm512_mask_mov_epi32(c, m, c2);
            const __m512 v3 = _mm512_permutex2var_ps(b0, odd, b1);
            m = _mm512_cmp_ps_mask(v3, best, _CMP_GT_OQ);
            best = _mm512_mask_mov_ps(best, m, v3);
            c = _mm512_mask_mov_epi32(c, m, c3);
            _mm512_mask_storeu_ps(y + oy * OW + ox, mo, best);
            _mm512_mask_cvtepi32_storeu_epi8(code + oy * OW + ox, mo, c);
        }
    }
}

TV_AVX512 void sqz_tv_maxpool2x2_bwd__avx512(float *dx, int64_t W, int64_t OH, int64_t OW, const float *dy,
                                             const uint8_t *code, int set) {
    /* interleave even and odd lanes back: lo = e0 o0 e1 o1 .. e7 o7, hi = e8 o8 .. e15 o15 */
    const __m512i lo_ix = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_ix = _mm512_add_epi32(lo_ix, _mm512_set1_epi32(8));
    const __m512i c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2), c3 = _mm512_set1_epi32(3);
    for (int64_t oy = 0; oy < OH; oy++) {
        float *r0 = dx + 2 * oy * W, *r1 = r0 + W;
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __mmask16 ml, mh, mo;
            step_masks(OW - ox < 16 ? OW - ox : 16, &ml, &mh, &mo);
            const __m512 g = _mm512_maskz_loadu_ps(mo, dy + oy * OW + ox);
            const __m512i c = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mo, code + oy * OW + ox));
            const __m512 e0 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, _mm512_setzero_si512()), g);
            const __m512 o0 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, c1), g);
            const __m512 e1 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, c2), g);
            const __m512 o1 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, c3), g);
            float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            const __m512 a0 = _mm512_permutex2var_ps(e0, lo_ix, o0), a1 = _mm512_permutex2var_ps(e0, hi_ix, o0);
            const __m512 b0 = _mm512_permutex2var_ps(e1, lo_ix, o1), b1 = _mm512_permutex2var_ps(e1, hi_ix, o1);
            if (set) { /* a fresh dx: every input of a window written, nothing read */
                _mm512_mask_storeu_ps(p0, ml, a0);
                _mm512_mask_storeu_ps(p0 + 16, mh, a1);
                _mm512_mask_storeu_ps(p1, ml, b0);
                _mm512_mask_storeu_ps(p1 + 16, mh, b1);
                continue;
            }
            _mm512_mask_storeu_ps(p0, ml, _mm512_add_ps(_mm512_maskz_loadu_ps(ml, p0), a0));
            _mm512_mask_storeu_ps(p0 + 16, mh, _mm512_add_ps(_mm512_maskz_loadu_ps(mh, p0 + 16), a1));
            _mm512_mask_storeu_ps(p1, ml, _mm512_add_ps(_mm512_maskz_loadu_ps(ml, p1), b0));
            _mm512_mask_storeu_ps(p1 + 16, mh, _mm512_add_ps(_mm512_maskz_loadu_ps(mh, p1 + 16), b1));
        }
    }
}

#else
void sqz_tv_maxpool2x2__avx512(const float *x, int64_t W, int64_t OH, int64_t OW, float *y, uint8_t *code) {
    sqz_tv_maxpool2x2(x, W, OH, OW, y, code);
}
void sqz_tv_maxpool2x2_bwd__avx512(float *dx, int64_t W, int64_t OH, int64_t OW, const float *dy, const uint8_t *code,
                                   int set) {
    sqz_tv_maxpool2x2_bwd(dx, W, OH, OW, dy, code, set);
}
#endif
