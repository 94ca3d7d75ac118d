/* kernels/x86/gemm_u8s8__avxvnni.c - AVX-VNNI (VEX, 256-bit VPDPBUSD) int8 microkernels: a 4 x 24
 * tile (12 accumulators, 16 ymm registers in all). Used on CPUs with AVX-VNNI but no AVX-512. */
#include "kernels/x86/gemm_s8_ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define MR SQZ_QGEMM_AVXVNNI_MR
#define NV (SQZ_QGEMM_AVXVNNI_NR / 8)

static inline SQZ_AVXVNNI __m256i bcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

#define UKERNEL(NAME, A_U8)                                                                        \
    SQZ_AVXVNNI void NAME(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile) {         \
        __m256i acc[MR][NV];                                                                       \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                       \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256(); \
        for (int64_t q = 0; q < kq; q++) {                                                         \
            __m256i bv[NV];                                                                        \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                   \
                bv[v] = _mm256_loadu_si256((const __m256i *)(b + 32 * v));                         \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                 \
                const __m256i av = bcast4(a + 4 * r);                                              \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] =                   \
                    A_U8 ? _mm256_dpbusd_avx_epi32(acc[r][v], av, bv[v])                           \
                         : _mm256_dpbusd_avx_epi32(acc[r][v], bv[v], av);                          \
            }                                                                                      \
            a += 4 * MR;                                                                           \
            b += 32 * NV;                                                                          \
        }                                                                                          \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                       \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                   \
                _mm256_storeu_si256((__m256i *)(tile + r * 8 * NV + 8 * v), acc[r][v]);            \
    }

UKERNEL(sqz_qgemm_ukernel_au8__avxvnni, 1)
UKERNEL(sqz_qgemm_ukernel_as8__avxvnni, 0)
#endif
