/* kernels/x86/elem_q8_avx2.c - AVX2 QLinearAdd, QuantizeLinear, DequantizeLinear and row sums on
 * u8 / s8 (see kernels/q8.h): 16 elements per step (two vectors of 32-bit lanes); a tail goes
 * through a small buffer, so nothing outside the arrays is touched and every element takes the
 * same vector operations. Float operations as the reference's, one for one (no FMA: the target
 * has none, and the products go through an empty asm anyway). */
#include "kernels/q8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define ATTR __attribute__((target("avx2")))

static inline ATTR __m256i widen8(const uint8_t *p, int s8) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)p);
    return s8 ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

/* 16 int32 within the dtype's range -> 16 bytes, in order */
static inline ATTR __m128i narrow16(__m256i lo, __m256i hi, int s8) {
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xd8);
    const __m128i a = _mm256_castsi256_si128(w), b = _mm256_extracti128_si256(w, 1);
    return s8 ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
}

/* ---- QLinearAdd ---- */

typedef struct qadd_v {
    __m256i za, zb, zc;
    __m256 sa, sb, lo, hi;
} qadd_v;

static inline ATTR __m256i qadd8(const qadd_v *c, const uint8_t *a, const uint8_t *b, int s8) {
    __m256 fa = _mm256_mul_ps(c->sa, _mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(a, s8), c->za)));
    __m256 fb = _mm256_mul_ps(c->sb, _mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(b, s8), c->zb)));
    __asm__("" : "+x"(fa), "+x"(fb));
    /* max(f, lo) is lo for a NaN f (the second operand), as fmaxf(f, lo) */
    const __m256 f = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(fa, fb), c->lo), c->hi);
    return _mm256_add_epi32(_mm256_cvtps_epi32(f), c->zc);
}

ATTR void sqz_qadd_q8__avx2(const sqz_qadd_params *p, int s8, int64_t n, const uint8_t *a, const uint8_t *b,
                            uint8_t *y) {
    const qadd_v c = {_mm256_set1_epi32(p->za), _mm256_set1_epi32(p->zb), _mm256_set1_epi32(p->zc),
                      _mm256_set1_ps(p->sa), _mm256_set1_ps(p->sb), _mm256_set1_ps((float)(p->lo - p->zc)),
                      _mm256_set1_ps((float)(p->hi - p->zc))};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(y + i), narrow16(qadd8(&c, a + i, b + i, s8), qadd8(&c, a + i + 8, b + i + 8, s8), s8));
    if (i < n) {
        uint8_t ba[16] = {0}, bb[16] = {0}, by[16];
        memcpy(ba, a + i, (size_t)(n - i));
        memcpy(bb, b + i, (size_t)(n - i));
        _mm_storeu_si128((__m128i *)by, narrow16(qadd8(&c, ba, bb, s8), qadd8(&c, ba + 8, bb + 8, s8), s8));
        memcpy(y + i, by, (size_t)(n - i));
    }
}

/* ---- QuantizeLinear ---- */

static inline ATTR __m256i quant8(const float *x, __m256 s, __m256 fl, __m256 fh, __m256i z) {
    __m256 q = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x), s), _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
    q = _mm256_and_ps(q, _mm256_cmp_ps(q, q, _CMP_ORD_Q)); /* NaN -> 0 */
    q = _mm256_min_ps(_mm256_max_ps(q, fl), fh);
    return _mm256_add_epi32(_mm256_cvttps_epi32(q), z);
}

ATTR void sqz_quantize_q8__avx2(int s8, int64_t n, const float *x, float scale, int32_t zp, uint8_t *y) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256 fl = _mm256_set1_ps((float)((s8 ? -128 : 0) - zp)), fh = _mm256_set1_ps((float)((s8 ? 127 : 255) - zp));
    const __m256i z = _mm256_set1_epi32(zp);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(y + i), narrow16(quant8(x + i, s, fl, fh, z), quant8(x + i + 8, s, fl, fh, z), s8));
    if (i < n) {
        float bx[16] = {0};
        uint8_t by[16];
        memcpy(bx, x + i, sizeof(float) * (size_t)(n - i));
        _mm_storeu_si128((__m128i *)by, narrow16(quant8(bx, s, fl, fh, z), quant8(bx + 8, s, fl, fh, z), s8));
        memcpy(y + i, by, (size_t)(n - i));
    }
}

/* ---- DequantizeLinear ---- */

ATTR void sqz_dequantize_q8__avx2(int s8, int64_t n, const uint8_t *x, float scale, int32_t zp, float *y) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256i z = _mm256_set1_epi32(zp);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(x + i, s8), z)), s));
    if (i < n) {
        uint8_t bx[8] = {0};
        float by[8];
        memcpy(bx, x + i, (size_t)(n - i));
        _mm256_storeu_ps(by, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(bx, s8), z)), s));
        memcpy(y + i, by, sizeof(float) * (size_t)(n - i));
    }
}

/* ---- row sums: SAD against zero; s8 summed as x + 128 (xor 0x80) ---- */

ATTR void sqz_rowsum_q8__avx2(int s8, int64_t rows, int64_t n, const uint8_t *x, int64_t *sums) {
    const __m256i flip = _mm256_set1_epi8(s8 ? (char)0x80 : 0), zero = _mm256_setzero_si256();
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *p = x + r * n;
        __m256i acc = zero;
        int64_t i = 0;
        for (; i + 32 <= n; i += 32)
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + i)), flip), zero));
        __m128i h = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        int64_t s = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1) - (s8 ? 128 * i : 0);
        for (; i < n; i++) s += s8 ? (int8_t)p[i] : p[i];
        sums[r] = s;
    }
}

#endif
