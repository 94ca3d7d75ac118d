/* kernels/x86/pool_q8_avx2.c - AVX2 u8 / s8 max pooling plane (body in pool_q8_plane.inc). */
#include "kernels/q8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define ATTR __attribute__((target("avx2")))
#define VEC __m256i
#define VL 32
#define FN(name) name##__avx2

/* A partial vector is read whole while that stays before end (the extra lanes are dropped
 * later), else through a buffer. */
static inline ATTR __m256i loadn(const uint8_t *p, int n, const uint8_t *end) {
    if (n >= 32 || end - p >= 32) return _mm256_loadu_si256((const __m256i *)p);
    _Alignas(32) uint8_t buf[32] = {0};
    memcpy(buf, p, (size_t)n);
    return _mm256_load_si256((const __m256i *)buf);
}
/* into a row buffer: lanes from n on become the lowest value (their value there) */
static inline ATTR void store_row(uint8_t *p, __m256i v, int n, __m256i lowest) {
    if (n < 32) {
        const __m256i keep = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)n), _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31));
        v = _mm256_blendv_epi8(lowest, v, keep);
    }
    _mm256_storeu_si256((__m256i *)p, v);
}
/* lanes past n land on bytes written again later (while before end), else through a buffer */
static inline ATTR void storen(uint8_t *p, __m256i v, int n, const uint8_t *end) {
    if (n >= 32 || end - p >= 32) {
        _mm256_storeu_si256((__m256i *)p, v);
        return;
    }
    _Alignas(32) uint8_t buf[32];
    _mm256_store_si256((__m256i *)buf, v);
    memcpy(p, buf, (size_t)n);
}

/* per 32 bytes: even bytes of each 128-bit lane to its low half, odd to its high half, then
 * the 64-bit quarters reordered to (even, even, odd, odd) */
static inline ATTR void split2__avx2(const uint8_t *tmp, uint8_t *ph, int64_t ph_len, int64_t split) {
    const __m256i sh = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12,
                                        14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int64_t j = 0; j < split; j += 16) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(tmp + 2 * j));
        const __m256i t = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, sh), 0xd8);
        _mm_storeu_si128((__m128i *)(ph + j), _mm256_castsi256_si128(t));
        _mm_storeu_si128((__m128i *)(ph + ph_len + j), _mm256_extracti128_si256(t, 1));
    }
}

#define V_LOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define V_LOADN(p, n, end) loadn(p, n, end)
#define V_STORE_ROW(p, v, n, lowest) store_row(p, v, n, lowest)
#define V_STOREN(p, v, n, end) storen(p, v, n, end)
#define V_SET1(b) _mm256_set1_epi8((char)(b))
#define V_MAXU(a, b) _mm256_max_epu8(a, b)
#define V_MAXS(a, b) _mm256_max_epi8(a, b)

#include "kernels/x86/pool_q8_plane.inc"

#endif
