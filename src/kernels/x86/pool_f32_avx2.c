/* kernels/x86/pool_f32_avx2.c - AVX2 pooling planes and global pools (bodies in
 * pool_f32_plane.inc). */
#include "kernels/pool_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define ATTR __attribute__((target("avx2,fma")))
#define VEC __m256
#define VL 8
#define FN(name) name##__avx2

static inline ATTR __m256i lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline ATTR __m256 load_s2(const float *p) {
    const __m256 t = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xd8));
}
static inline ATTR __m256 gather(const float *p, int64_t s) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)s));
    return _mm256_i32gather_ps(p, idx, 4);
}
static inline ATTR __m256 div_nz(__m256 a, __m256 c) {
    return _mm256_and_ps(_mm256_div_ps(a, c), _mm256_cmp_ps(c, _mm256_setzero_ps(), _CMP_NEQ_OQ));
}
static inline ATTR float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline ATTR float hsum(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_LOADN(p, n) _mm256_maskload_ps(p, lanes(n))
#define V_STOREN(p, v, n) _mm256_maskstore_ps(p, lanes(n), v)
#define V_SET1(f) _mm256_set1_ps(f)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_LOAD_S2(p) load_s2(p)
#define V_GATHER(p, s) gather(p, s)
#define V_DIV_NZ(a, c) div_nz(a, c)
#define V_HMAX(v) hmax(v)
#define V_HSUM(v) hsum(v)

#include "kernels/x86/pool_f32_plane.inc"

#endif
