/* kernels/elem_q8.c - QLinearAdd, QuantizeLinear, DequantizeLinear and row sums on u8 / s8 (see
 * q8.h): the references (the scalar loops the operators ran before), the portable loops and
 * the dispatch to the AVX-512 / AVX2 bodies (kernels/x86/elem_q8_*.c). */
#include <math.h>

#include "kernels/int8.h"
#include "kernels/q8.h"

/* A product is rounded before it is added, as on x86-64 without FMA (the reference's bits):
 * no contraction here, whatever the target. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static sqz_q8path usable(sqz_q8path path) {
    while (!sqz_q8path_supported(path)) path--;
    return path;
}

/* nearbyintf for |v| <= 2^22 in the default rounding mode (half to even), in plain float
 * arithmetic the compiler vectorizes: adding 1.5 * 2^23 leaves no fraction bits. */
static inline float round_small(float v) { return (v + 12582912.0f) - 12582912.0f; }

/* ---- QLinearAdd ---- */

void sqz_qadd_q8_ref(const sqz_qadd_params *p, int s8, int64_t n, const void *a, int a_step, const void *b,
                     int b_step, void *y) {
    for (int64_t i = 0; i < n; i++) {
        int32_t x, v;
        if (!s8) {
            x = ((const uint8_t *)a)[i * a_step];
            v = ((const uint8_t *)b)[i * b_step];
        } else {
            x = ((const int8_t *)a)[i * a_step];
            v = ((const int8_t *)b)[i * b_step];
        }
        float f = p->sa * (float)(x - p->za) + p->sb * (float)(v - p->zb);
        f = fminf(fmaxf(f, (float)(p->lo - p->zc)), (float)(p->hi - p->zc));
        const int32_t q = (int32_t)nearbyintf(f) + p->zc;
        if (!s8) ((uint8_t *)y)[i] = (uint8_t)q;
        else ((int8_t *)y)[i] = (int8_t)q;
    }
}

/* fmaxf(f, lo) is lo for a NaN f; the clamped value is an integer plus a fraction within
 * [-383, 383], where round_small is nearbyintf. */
#define QADD_C(T)                                                                                  \
    do {                                                                                           \
        const T *A = a, *B = b;                                                                    \
        T *Y = y;                                                                                  \
        const float sa = p->sa, sb = p->sb, lo = (float)(p->lo - p->zc), hi = (float)(p->hi - p->zc); \
        const int32_t za = p->za, zb = p->zb, zc = p->zc;                                          \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                                      \
            float f = sa * (float)((int32_t)A[i] - za) + sb * (float)((int32_t)B[i] - zb);         \
            f = f >= lo ? f : lo;                                                                  \
            f = f <= hi ? f : hi;                                                                  \
            Y[i] = (T)((int32_t)round_small(f) + zc);                                              \
        }                                                                                          \
    } while (0)

void sqz_qadd_q8(sqz_q8path path, const sqz_qadd_params *p, int s8, int64_t n, const void *a, const void *b,
                 void *y) {
    if (n <= 0) return;
    switch (usable(path)) {
#if defined(__x86_64__)
    case SQZ_Q8P_AVX512: sqz_qadd_q8__avx512(p, s8, n, a, b, y); return;
    case SQZ_Q8P_AVX2: sqz_qadd_q8__avx2(p, s8, n, a, b, y); return;
#endif
    case SQZ_Q8P_C:
        if (s8) QADD_C(int8_t);
        else QADD_C(uint8_t);
        return;
    default: sqz_qadd_q8_ref(p, s8, n, a, 1, b, 1, y); return;
    }
}

/* ---- QuantizeLinear ---- */

void sqz_quantize_q8_ref(int s8, int64_t n, const float *x, float scale, int32_t zp, void *y) {
    const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    if (s8)
        for (int64_t i = 0; i < n; i++) ((int8_t *)y)[i] = (int8_t)sqz_quantize_f32(x[i], scale, zp, lo, hi);
    else
        for (int64_t i = 0; i < n; i++) ((uint8_t *)y)[i] = (uint8_t)sqz_quantize_f32(x[i], scale, zp, lo, hi);
}

/* Clamping before rounding gives the same integer (the bounds are integers), and keeps the
 * value small enough for round_small. */
#define QUANT_C(T)                                                                      \
    do {                                                                                \
        T *Y = y;                                                                       \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                           \
            float q = x[i] / scale;                                                     \
            q = q == q ? q : 0.0f;                                                      \
            q = q < fl ? fl : q > fh ? fh : q;                                          \
            Y[i] = (T)((int32_t)round_small(q) + zp);                                   \
        }                                                                               \
    } while (0)

void sqz_quantize_q8(sqz_q8path path, int s8, int64_t n, const float *x, float scale, int32_t zp, void *y) {
    if (n <= 0) return;
    switch (usable(path)) {
#if defined(__x86_64__)
    case SQZ_Q8P_AVX512: sqz_quantize_q8__avx512(s8, n, x, scale, zp, y); return;
    case SQZ_Q8P_AVX2: sqz_quantize_q8__avx2(s8, n, x, scale, zp, y); return;
#endif
    case SQZ_Q8P_C: {
        const float fl = (float)((s8 ? -128 : 0) - zp), fh = (float)((s8 ? 127 : 255) - zp);
        if (s8) QUANT_C(int8_t);
        else QUANT_C(uint8_t);
        return;
    }
    default: sqz_quantize_q8_ref(s8, n, x, scale, zp, y); return;
    }
}

/* ---- DequantizeLinear ---- */

void sqz_dequantize_q8_ref(int s8, int64_t n, const void *x, float scale, int32_t zp, float *y) {
    if (s8)
        for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)((const int8_t *)x)[i] - zp) * scale;
    else
        for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)((const uint8_t *)x)[i] - zp) * scale;
}

void sqz_dequantize_q8(sqz_q8path path, int s8, int64_t n, const void *x, float scale, int32_t zp, float *y) {
    if (n <= 0) return;
    switch (usable(path)) {
#if defined(__x86_64__)
    case SQZ_Q8P_AVX512: sqz_dequantize_q8__avx512(s8, n, x, scale, zp, y); return;
    case SQZ_Q8P_AVX2: sqz_dequantize_q8__avx2(s8, n, x, scale, zp, y); return;
#endif
    case SQZ_Q8P_C:
        if (s8) {
            const int8_t *X = x;
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)X[i] - zp) * scale;
        } else {
            const uint8_t *X = x;
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)X[i] - zp) * scale;
        }
        return;
    default: sqz_dequantize_q8_ref(s8, n, x, scale, zp, y); return;
    }
}

/* ---- row sums ---- */

void sqz_rowsum_q8_ref(int s8, int64_t rows, int64_t n, const void *x, int64_t *sums) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t s = 0;
        for (int64_t i = 0; i < n; i++)
            s += s8 ? ((const int8_t *)x)[r * n + i] : ((const uint8_t *)x)[r * n + i];
        sums[r] = s;
    }
}

void sqz_rowsum_q8(sqz_q8path path, int s8, int64_t rows, int64_t n, const void *x, int64_t *sums) {
    if (rows <= 0) return;
    switch (usable(path)) {
#if defined(__x86_64__)
    case SQZ_Q8P_AVX512: sqz_rowsum_q8__avx512(s8, rows, n, x, sums); return;
    case SQZ_Q8P_AVX2: sqz_rowsum_q8__avx2(s8, rows, n, x, sums); return;
#endif
    case SQZ_Q8P_C:
        for (int64_t r = 0; r < rows; r++) {
            int64_t s = 0;
            if (s8) {
                const int8_t *X = (const int8_t *)x + r * n;
                _Pragma("omp simd reduction(+ : s)") for (int64_t i = 0; i < n; i++) s += X[i];
            } else {
                const uint8_t *X = (const uint8_t *)x + r * n;
                _Pragma("omp simd reduction(+ : s)") for (int64_t i = 0; i < n; i++) s += X[i];
            }
            sums[r] = s;
        }
        return;
    default: sqz_rowsum_q8_ref(s8, rows, n, x, sums); return;
    }
}
