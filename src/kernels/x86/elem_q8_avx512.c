/* kernels/x86/elem_q8_avx512.c - AVX-512 QLinearAdd, QuantizeLinear, DequantizeLinear and row
 * sums on u8 / s8 (see kernels/q8.h): 16 elements per step in 32-bit lanes, masked tails. The
 * float operations are the reference's, one for one: the products of QLinearAdd go through an
 * empty asm so that the compiler cannot contract them into FMAs (AVX-512 implies FMA), and
 * conversions to integers round with the current rounding mode, as nearbyintf does. */
#include "kernels/q8.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ATTR __attribute__((target("avx512f,avx512vl,avx512bw")))

static inline ATTR __mmask16 lanes16(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* 16 bytes (masked) widened to 32-bit lanes */
static inline ATTR __m512i widen(const uint8_t *p, __mmask16 m, int s8) {
    const __m128i v = _mm_maskz_loadu_epi8(m, p);
    return s8 ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

ATTR void sqz_qadd_q8__avx512(const sqz_qadd_params *p, int s8, int64_t n, const uint8_t *a, const uint8_t *b,
                              uint8_t *y) {
    const __m512i za = _mm512_set1_epi32(p->za), zb = _mm512_set1_epi32(p->zb), zc = _mm512_set1_epi32(p->zc);
    const __m512 sa = _mm512_set1_ps(p->sa), sb = _mm512_set1_ps(p->sb);
    const __m512 lo = _mm512_set1_ps((float)(p->lo - p->zc)), hi = _mm512_set1_ps((float)(p->hi - p->zc));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        __m512 fa = _mm512_mul_ps(sa, _mm512_cvtepi32_ps(_mm512_sub_epi32(widen(a + i, m, s8), za)));
        __m512 fb = _mm512_mul_ps(sb, _mm512_cvtepi32_ps(_mm512_sub_epi32(widen(b + i, m, s8), zb)));
        __asm__("" : "+v"(fa), "+v"(fb));
        /* max(f, lo) is lo for a NaN f (the second operand), as fmaxf(f, lo) */
        const __m512 f = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(fa, fb), lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zc); /* within [lo, hi] */
        _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(q));
    }
}

ATTR void sqz_quantize_q8__avx512(int s8, int64_t n, const float *x, float scale, int32_t zp, uint8_t *y) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 fl = _mm512_set1_ps((float)((s8 ? -128 : 0) - zp)), fh = _mm512_set1_ps((float)((s8 ? 127 : 255) - zp));
    const __m512i z = _mm512_set1_epi32(zp);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        __m512 q = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s),
                                        _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
        q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(q, q, _CMP_ORD_Q), q); /* NaN -> 0 */
        q = _mm512_min_ps(_mm512_max_ps(q, fl), fh);
        const __m512i v = _mm512_add_epi32(_mm512_cvttps_epi32(q), z);
        _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(v));
    }
}

ATTR void sqz_dequantize_q8__avx512(int s8, int64_t n, const uint8_t *x, float scale, int32_t zp, float *y) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512i z = _mm512_set1_epi32(zp);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes16(n - i);
        const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(widen(x + i, m, s8), z));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(f, s));
    }
}

/* SAD against zero sums 8 bytes into each 64-bit lane; s8 is summed as x + 128 (xor 0x80). */
ATTR void sqz_rowsum_q8__avx512(int s8, int64_t rows, int64_t n, const uint8_t *x, int64_t *sums) {
    const __m512i flip = _mm512_set1_epi8(s8 ? (char)0x80 : 0), zero = _mm512_setzero_si512();
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *p = x + r * n;
        __m512i acc = zero;
        for (int64_t i = 0; i < n; i += 64) {
            const __mmask64 m = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
            const __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p + i), flip));
            acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
        }
        sums[r] = _mm512_reduce_add_epi64(acc) - (s8 ? 128 * n : 0);
    }
}

#endif
