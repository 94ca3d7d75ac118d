/* kernels/x86/pool_q8_avx512.c - AVX-512 u8 / s8 max pooling plane (body in pool_q8_plane.inc). */
#include "kernels/q8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define ATTR __attribute__((target("avx512f,avx512vl,avx512bw")))
#define VEC __m512i
#define VL 64
#define FN(name) name##__avx512

static inline ATTR __mmask64 lanes(int n) { return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1); }

/* even bytes of 64 (the low byte of each word) to ph, odd bytes to ph + ph_len */
static inline ATTR void split2__avx512(const uint8_t *tmp, uint8_t *ph, int64_t ph_len, int64_t split) {
    for (int64_t j = 0; j < split; j += 32) {
        const __m512i v = _mm512_loadu_si512(tmp + 2 * j);
        _mm256_storeu_si256((__m256i *)(ph + j), _mm512_cvtepi16_epi8(v));
        _mm256_storeu_si256((__m256i *)(ph + ph_len + j), _mm512_cvtepi16_epi8(_mm512_srli_epi16(v, 8)));
    }
}

#define V_LOADU(p) _mm512_loadu_si512(p)
#define V_LOADN(p, n, end) ((void)(end), _mm512_maskz_loadu_epi8(lanes(n), p))
#define V_STORE_ROW(p, v, n, lowest) ((void)(lowest), _mm512_mask_storeu_epi8(p, lanes(n), v))
#define V_STOREN(p, v, n, end) ((void)(end), _mm512_mask_storeu_epi8(p, lanes(n), v))
#define V_SET1(b) _mm512_set1_epi8((char)(b))
#define V_MAXU(a, b) _mm512_max_epu8(a, b)
#define V_MAXS(a, b) _mm512_max_epi8(a, b)

#include "kernels/x86/pool_q8_plane.inc"

#endif
