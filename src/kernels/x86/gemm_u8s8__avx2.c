/* kernels/x86/gemm_u8s8__avx2.c - AVX2 int8 microkernels (6 x 8 tile) on the 4-byte K groups.
 * Never saturates: bytes are widened to 16 bits (VPMOVZXBW / VPMOVSXBW) and multiplied with
 * VPMADDWD, whose pair sums (at most 2 * 255 * 128 in magnitude) fit in 32 bits. Each 8-lane
 * output vector is accumulated as two halves holding the (k0+k1, k2+k3) partial sums of 4 lanes,
 * folded with VPHADDD at the end. */
#include "kernels/x86/gemm_s8_ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_AVX2 __attribute__((target("avx2,fma")))
#define MR SQZ_QGEMM_AVX2_MR

static inline SQZ_AVX2 __m256i bcast4_u8(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(v)));
}
static inline SQZ_AVX2 __m256i bcast4_s8(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(v)));
}

#define UKERNEL(NAME, BCAST, WIDEN)                                                                \
    SQZ_AVX2 void NAME(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile) {            \
        __m256i lo[MR], hi[MR];                                                                    \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) lo[r] = hi[r] = _mm256_setzero_si256(); \
        for (int64_t q = 0; q < kq; q++) {                                                         \
            const __m256i b0 = WIDEN(_mm_loadu_si128((const __m128i *)b));                         \
            const __m256i b1 = WIDEN(_mm_loadu_si128((const __m128i *)(b + 16)));                  \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                 \
                const __m256i av = BCAST(a + 4 * r);                                               \
                lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(av, b0));                        \
                hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(av, b1));                        \
            }                                                                                      \
            a += 4 * MR;                                                                           \
            b += 32;                                                                               \
        }                                                                                          \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                     \
            const __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo[r], hi[r]), 0xD8);     \
            _mm256_storeu_si256((__m256i *)(tile + 8 * r), s);                                     \
        }                                                                                          \
    }

UKERNEL(sqz_qgemm_ukernel_au8__avx2, bcast4_u8, _mm256_cvtepi8_epi16)
UKERNEL(sqz_qgemm_ukernel_as8__avx2, bcast4_s8, _mm256_cvtepu8_epi16)
#endif
