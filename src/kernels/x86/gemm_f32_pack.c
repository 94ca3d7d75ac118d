/* kernels/x86/gemm_f32_pack.c - panel packing for the fp32 GEMM microkernels (see
 * gemm_f32_ukernel.h). When op(X) rows run along k in memory (!trans) a panel is a transpose:
 * blocks of 8 k are read row by row and written k-major; otherwise each k is one contiguous
 * (masked) vector copy. */
#include "kernels/x86/gemm_f32_ukernel.h"
#include "kernels/x86/transpose16_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))
#define SQZ_AVX2 __attribute__((target("avx2,fma")))

/* Transposing pack of n <= R rows x kc: portable loops with constant R (the compiler unrolls). */
#define PACK_T(R)                                                                                 \
    static inline void pack_t_##R(const float *X, int64_t ld, int64_t x0, int64_t n, int64_t k0,    \
                                  int64_t kc, float *dst) {                                       \
        int64_t k = 0;                                                                            \
        for (; k + 8 <= kc; k += 8) {                                                             \
            for (int64_t r = 0; r < n; r++) {                                                     \
                const float *s = X + (x0 + r) * ld + k0 + k;                                      \
                _Pragma("GCC unroll 8") for (int u = 0; u < 8; u++) dst[(k + u) * R + r] = s[u];  \
            }                                                                                     \
            for (int64_t r = n; r < R; r++)                                                       \
                _Pragma("GCC unroll 8") for (int u = 0; u < 8; u++) dst[(k + u) * R + r] = 0.0f;  \
        }                                                                                         \
        for (; k < kc; k++) {                                                                     \
            for (int64_t r = 0; r < n; r++) dst[k * R + r] = X[(x0 + r) * ld + k0 + k];           \
            for (int64_t r = n; r < R; r++) dst[k * R + r] = 0.0f;                                \
        }                                                                                         \
    }
PACK_T(1)
PACK_T(2)
PACK_T(3)
PACK_T(4)
PACK_T(6)
PACK_T(16)

/* Loads rows x[0 .. n) (n <= 16, stride ld) over kn <= 16 columns and transposes them: t[u] holds
 * column u, lane r = x[r*ld + u]; missing rows and columns are zero. */
static inline SQZ_AVX512 void load_t16(const float *x, int64_t ld, int64_t n, int64_t kn, __m512 t[16]) {
    const __mmask16 km = kn >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << kn) - 1u);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = i < n ? _mm512_maskz_loadu_ps(km, x + i * ld) : _mm512_setzero_ps();
    SQZ_TRANSPOSE16_PS(r, t);
}

/* dst[c * ldd + r] = x[r * ld + c] for r < rows, c < cols: 16 x 16 blocks transposed in registers,
 * row and column ends by masks (conv_implicit_f32.h). */
SQZ_AVX512 void sqz_f32_transpose__avx512(const float *x, int64_t ld, int64_t rows, int64_t cols, float *dst,
                                          int64_t ldd) {
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int64_t n = rows - r0 < 16 ? rows - r0 : 16;
        const __mmask16 rm = (__mmask16)((1u << n) - 1u);
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t kn = cols - c0 < 16 ? cols - c0 : 16;
            __m512 t[16];
            load_t16(x + r0 * ld + c0, ld, n, kn, t);
            for (int64_t u = 0; u < kn; u++) _mm512_mask_storeu_ps(dst + (c0 + u) * ldd + r0, rm, t[u]);
        }
    }
}

/* Panel of R <= 16 rows. */
static inline SQZ_AVX512 void pack_le16(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                        int64_t kc, float *dst, const int R) {
    const __mmask16 rm = (__mmask16)((1u << R) - 1u);
    if (!trans) {
        for (int64_t k = 0; k < kc; k += 16) {
            __m512 t[16];
            const int64_t kn = kc - k < 16 ? kc - k : 16;
            load_t16(X + x0 * ld + k0 + k, ld, n, kn, t);
            for (int64_t u = 0; u < kn; u++) _mm512_mask_storeu_ps(dst + (k + u) * R, rm, t[u]);
        }
        return;
    }
    const __mmask16 m = (__mmask16)((1u << n) - 1u);
    for (int64_t k = 0; k < kc; k++)
        _mm512_mask_storeu_ps(dst + k * R, rm, _mm512_maskz_loadu_ps(m, X + (k0 + k) * ld + x0));
}

SQZ_AVX512 void sqz_gemm_f32_pack_14__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,
                                             int64_t k0, int64_t kc, float *dst) {
    pack_le16(X, ld, trans, x0, n, k0, kc, dst, 14);
}
SQZ_AVX512 void sqz_gemm_f32_pack_8__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,
                                             int64_t k0, int64_t kc, float *dst) {
    pack_le16(X, ld, trans, x0, n, k0, kc, dst, 8);
}
#define PACK_SMALL_512(R)                                                                                 \
    SQZ_AVX512 void sqz_gemm_f32_pack_##R##__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, \
                                                   int64_t k0, int64_t kc, float *dst) {                       \
        pack_le16(X, ld, trans, x0, n, k0, kc, dst, R);                                                        \
    }
PACK_SMALL_512(1)
PACK_SMALL_512(2)
PACK_SMALL_512(3)
PACK_SMALL_512(4)
PACK_SMALL_512(6)

SQZ_AVX512 void sqz_gemm_f32_pack_32__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,
                                             int64_t k0, int64_t kc, float *dst) {
    if (!trans) {
        for (int64_t k = 0; k < kc; k += 16) {
            __m512 t[16];
            const int64_t kn = kc - k < 16 ? kc - k : 16;
            load_t16(X + x0 * ld + k0 + k, ld, n < 16 ? n : 16, kn, t);
            for (int64_t u = 0; u < kn; u++) _mm512_storeu_ps(dst + (k + u) * 32, t[u]);
            load_t16(X + (x0 + 16) * ld + k0 + k, ld, n > 16 ? n - 16 : 0, kn, t);
            for (int64_t u = 0; u < kn; u++) _mm512_storeu_ps(dst + (k + u) * 32 + 16, t[u]);
        }
        return;
    }
    const __mmask16 m0 = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
    const __mmask16 m1 = n >= 32 ? (__mmask16)0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1u);
    for (int64_t k = 0; k < kc; k++) {
        const float *s = X + (k0 + k) * ld + x0;
        _mm512_storeu_ps(dst + k * 32, _mm512_maskz_loadu_ps(m0, s));
        _mm512_storeu_ps(dst + k * 32 + 16, _mm512_maskz_loadu_ps(m1, s + 16));
    }
}

SQZ_AVX2 void sqz_gemm_f32_pack_6__avx2(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,
                                        int64_t k0, int64_t kc, float *dst) {
    if (!trans) {
        pack_t_6(X, ld, x0, n, k0, kc, dst);
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *s = X + (k0 + k) * ld + x0;
        for (int r = 0; r < 6; r++) dst[k * 6 + r] = r < n ? s[r] : 0.0f;
    }
}

#define PACK_SMALL_2(R)                                                                                   \
    SQZ_AVX2 void sqz_gemm_f32_pack_##R##__avx2(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,   \
                                               int64_t k0, int64_t kc, float *dst) {                         \
        if (!trans) {                                                                                        \
            pack_t_##R(X, ld, x0, n, k0, kc, dst);                                                           \
            return;                                                                                          \
        }                                                                                                    \
        for (int64_t k = 0; k < kc; k++) {                                                                   \
            const float *s = X + (k0 + k) * ld + x0;                                                         \
            for (int r = 0; r < R; r++) dst[k * R + r] = r < n ? s[r] : 0.0f;                                \
        }                                                                                                    \
    }
PACK_SMALL_2(1)
PACK_SMALL_2(2)
PACK_SMALL_2(3)
PACK_SMALL_2(4)

SQZ_AVX2 void sqz_gemm_f32_pack_16__avx2(const float *X, int64_t ld, int trans, int64_t x0, int64_t n,
                                         int64_t k0, int64_t kc, float *dst) {
    if (!trans) {
        pack_t_16(X, ld, x0, n, k0, kc, dst);
        return;
    }
    if (n == 16) {
        for (int64_t k = 0; k < kc; k++) {
            const float *s = X + (k0 + k) * ld + x0;
            _mm256_storeu_ps(dst + k * 16, _mm256_loadu_ps(s));
            _mm256_storeu_ps(dst + k * 16 + 8, _mm256_loadu_ps(s + 8));
        }
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *s = X + (k0 + k) * ld + x0;
        for (int r = 0; r < 16; r++) dst[k * 16 + r] = r < n ? s[r] : 0.0f;
    }
}

#endif
