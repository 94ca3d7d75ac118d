/* kernels/x86/pool_f32_avx512.c - AVX-512 pooling planes and global pools (bodies in
 * pool_f32_plane.inc). */
#include "kernels/pool_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define ATTR __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define VEC __m512
#define VL 16
#define FN(name) name##__avx512

static inline ATTR __mmask16 lanes(int n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }
static inline ATTR __m512 load_s2(const float *p) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}
static inline ATTR __m512 gather(const float *p, int64_t s) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)s));
    return _mm512_i32gather_ps(idx, p, 4);
}
static inline ATTR __m512 div_nz(__m512 a, __m512 c) {
    return _mm512_maskz_div_ps(_mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_NEQ_OQ), a, c);
}

#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_LOADN(p, n) _mm512_maskz_loadu_ps(lanes(n), p)
#define V_STOREN(p, v, n) _mm512_mask_storeu_ps(p, lanes(n), v)
#define V_SET1(f) _mm512_set1_ps(f)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_LOAD_S2(p) load_s2(p)
#define V_GATHER(p, s) gather(p, s)
#define V_DIV_NZ(a, c) div_nz(a, c)
#define V_HMAX(v) _mm512_reduce_max_ps(v)
#define V_HSUM(v) _mm512_reduce_add_ps(v)

#include "kernels/x86/pool_f32_plane.inc"

#endif
