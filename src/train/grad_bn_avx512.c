/* train/grad_bn_avx512.c - AVX-512 copies of the fused BatchNormalization / Add + Relu/Clip
 * loops of grad_vec.c (sqz_tv_affine_act, sqz_tv_add_act, sqz_tv_add_bn_act, sqz_tv_dot_dev_m, sqz_tv_bn_dx_m,
 * sqz_tv_mask_acc): GCC vectorizes their byte mask poorly (two floats per step), here 16 floats per step with the mask as a lane mask: a
 * masked load of dz gives g = mask ? dz : 0 directly. The mask bytes written are 0 or 0xff (the
 * portable copies read any non-zero byte as set). Call only when the CPU has AVX-512. */
#include "train/grad_vec.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TV_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

static inline __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

/* The activation of v (16 lanes, k valid): y = v, z = act(v), the mask bytes. */
static inline TV_AVX512 void act_store(__m512 v, __mmask16 k, float *y, float *z, uint8_t *m, int relu, __m512 vlo,
                                       __m512 vhi) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 w;
    __mmask16 pass;
    if (relu) { /* v > 0 passes; NaN stays NaN in the output */
        pass = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
        w = _mm512_maskz_mov_ps(pass | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
    } else { /* lo <= v <= hi passes; clamped as v < lo ? lo : v, then > hi ? hi */
        pass = _mm512_cmp_ps_mask(v, vlo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v, vhi, _CMP_LE_OQ);
        w = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, vlo, _CMP_LT_OQ), vlo);
        w = _mm512_mask_mov_ps(w, _mm512_cmp_ps_mask(w, vhi, _CMP_GT_OQ), vhi);
    }
    if (y) _mm512_mask_storeu_ps(y, k, v);
    _mm512_mask_storeu_ps(z, k, w);
    _mm_mask_storeu_epi8(m, k, _mm_movm_epi8(pass));
}

TV_AVX512 void sqz_tv_affine_act__avx512(float *y, float *z, uint8_t *m, const float *x, int64_t n, float a, float b,
                                         int relu, float lo, float hi) {
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        act_store(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), va, vb), k, y ? y + i : NULL, z + i, m + i, relu,
                  vlo, vhi);
    }
}

TV_AVX512 void sqz_tv_add_bn_act__avx512(float *y, float *z, uint8_t *m, const float *x0, float a0, float b0, int bn0,
                                         const float *x1, float a1, float b1, int bn1, int64_t n, int relu, float lo,
                                         float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const __m512 va0 = _mm512_set1_ps(a0), vb0 = _mm512_set1_ps(b0), va1 = _mm512_set1_ps(a1), vb1 = _mm512_set1_ps(b1);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        __m512 u0 = _mm512_maskz_loadu_ps(k, x0 + i), u1 = _mm512_maskz_loadu_ps(k, x1 + i);
        if (bn0) u0 = _mm512_fmadd_ps(u0, va0, vb0);
        if (bn1) u1 = _mm512_fmadd_ps(u1, va1, vb1);
        act_store(_mm512_add_ps(u0, u1), k, y ? y + i : NULL, z + i, m + i, relu, vlo, vhi);
    }
}

TV_AVX512 void sqz_tv_add_act__avx512(float *y, float *z, uint8_t *m, const float *a, const float *b, int64_t n,
                                      int relu, float lo, float hi) {
    sqz_tv_add_bn_act__avx512(y, z, m, a, 1.0f, 0.0f, 0, b, 1.0f, 0.0f, 0, n, relu, lo, hi);
}

/* The lanes of the next (up to) 16 elements whose mask byte is set. */
static inline TV_AVX512 __mmask16 pass_mask(const uint8_t *m, __mmask16 k) {
    const __m128i b = _mm_maskz_loadu_epi8(k, m);
    return _mm_test_epi8_mask(b, b);
}

TV_AVX512 float sqz_tv_dot_dev_m__avx512(const float *dz, const uint8_t *m, const float *x, int64_t n, float mu,
                                         float *sd) {
    const __m512 vmu = _mm512_set1_ps(mu);
    __m512 sa = _mm512_setzero_ps(), sb = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(pass_mask(m + i, k), dz + i);
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vmu);
        sa = _mm512_add_ps(sa, g);
        sb = _mm512_fmadd_ps(g, d, sb);
    }
    *sd = _mm512_reduce_add_ps(sa);
    return _mm512_reduce_add_ps(sb);
}

TV_AVX512 void sqz_tv_bn_dx_m__avx512(float *dx, const float *dz, const uint8_t *m, const float *x, int64_t n, float k,
                                      float m1, float mu, float m2, int set) {
    const __m512 vk = _mm512_set1_ps(k), vm1 = _mm512_set1_ps(m1), vmu = _mm512_set1_ps(mu), vm2 = _mm512_set1_ps(m2);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 t = tail_mask(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(pass_mask(m + i, t), dz + i);
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + i), vmu);
        __m512 r = _mm512_mul_ps(vk, _mm512_fnmadd_ps(d, vm2, _mm512_sub_ps(g, vm1)));
        if (!set) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(t, dx + i));
        _mm512_mask_storeu_ps(dx + i, t, r);
    }
}

TV_AVX512 void sqz_tv_mask_acc__avx512(float *d, const float *dz, const uint8_t *m, int64_t n, int set) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        __m512 g = _mm512_maskz_loadu_ps(pass_mask(m + i, k), dz + i);
        if (!set) g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(k, d + i));
        _mm512_mask_storeu_ps(d + i, k, g);
    }
}

#else
typedef int sqz_grad_bn_avx512_unused;
#endif
