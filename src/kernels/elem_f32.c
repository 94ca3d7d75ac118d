/* kernels/elem_f32.c - vectorized fp32 elementwise kernels (see elem_f32.h): scalar reference
 * loops and AVX-512 / AVX2 bodies in target-attributed functions. */
#include "kernels/elem_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static sqz_isa clamp_isa(sqz_isa isa) {
    const sqz_isa s = sqz_cpu_isa_supported();
    return isa > s ? s : isa;
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

#if defined(__x86_64__)
#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define SQZ_AVX2 __attribute__((target("avx2,fma")))

/* max(lo, v) and min(hi, v) return v when v is NaN (the second operand) */
static SQZ_AVX512 void add_avx512(int64_t n, const float *a, const float *b, float *y, int clamp, float lo,
                                  float hi, int only_a) {
    const __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    int64_t i = 0;
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(m, a + i);
        if (!only_a) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
        if (clamp) v = _mm512_min_ps(h, _mm512_max_ps(l, v));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static SQZ_AVX2 void add_avx2(int64_t n, const float *a, const float *b, float *y, int clamp, float lo, float hi,
                              int only_a) {
    const __m256 l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(a + i);
        if (!only_a) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        if (clamp) v = _mm256_min_ps(h, _mm256_max_ps(l, v));
        _mm256_storeu_ps(y + i, v);
    }
    for (; i < n; i++) {
        float v = only_a ? a[i] : a[i] + b[i];
        y[i] = clamp ? clampf(v, lo, hi) : v;
    }
}
#endif

static void run(sqz_isa isa, int64_t n, const float *a, const float *b, float *y, int clamp, float lo, float hi,
                int only_a) {
    isa = clamp_isa(isa);
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX512) {
        add_avx512(n, a, b, y, clamp, lo, hi, only_a);
        return;
    }
    if (isa == SQZ_ISA_AVX2) {
        add_avx2(n, a, b, y, clamp, lo, hi, only_a);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float v = only_a ? a[i] : a[i] + b[i];
        y[i] = clamp ? clampf(v, lo, hi) : v;
    }
}

void sqz_clamp_f32(sqz_isa isa, int64_t n, const float *x, float *y, float lo, float hi) {
    run(isa, n, x, NULL, y, 1, lo, hi, 1);
}

void sqz_add_f32(sqz_isa isa, int64_t n, const float *a, const float *b, float *y, int clamp, float lo, float hi) {
    run(isa, n, a, b, y, clamp, lo, hi, 0);
}
