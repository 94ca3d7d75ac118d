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

/* The epilogue of a tile (as sqz_qepi_tile_c, 8 columns at a time): the oracle's integer
 * corrections, then its float multiply, max, min, round to nearest even and + y_zp in that order
 * (VMAXPS / VMINPS give the second operand for a NaN, as fmaxf / fminf give the number), so the
 * same bits. A last piece under 8 columns goes through sqz_qepi_tile_c. */
SQZ_AVX2 void sqz_qepi_tile__avx2(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0,
                                  const sqz_qepi_ctx *e) {
    const sqz_qepi *epi = e->epi;
    const int n8 = nr / 8 * 8;
    const size_t osz = epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
    const __m256 flo = _mm256_set1_ps((float)(epi->lo - epi->y_zp)), fhi = _mm256_set1_ps((float)(epi->hi - epi->y_zp));
    const __m256i yzp = _mm256_set1_epi32(epi->y_zp);
    for (int r = 0; r < mr; r++) {
        const int64_t m = m0 + r;
        char *yrow = (char *)e->y + (size_t)(m * e->ldy) * osz;
        for (int j = 0; j < n8; j += 8) {
            const int64_t n = n0 + j;
            __m256i acc = _mm256_loadu_si256((const __m256i *)(tile + r * NR + j));
            __m256 sc;
            if (e->w_rows) {
                acc = _mm256_add_epi32(acc, _mm256_set1_epi32(e->woff[m]));
                if (e->wzp)
                    acc = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(e->wzp[m]),
                                                                   _mm256_loadu_si256((const __m256i *)(e->xsum + n))));
                sc = epi->scale ? _mm256_set1_ps(epi->scale[m]) : _mm256_setzero_ps();
            } else {
                acc = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i *)(e->woff + n)));
                if (e->wzp)
                    acc = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(e->wzp + n)),
                                                                   _mm256_set1_epi32(e->xsum[m])));
                sc = epi->scale ? _mm256_loadu_ps(epi->scale + n) : _mm256_setzero_ps();
            }
            if (epi->out == SQZ_QOUT_S32) {
                _mm256_storeu_si256((__m256i *)((int32_t *)yrow + n), acc);
                continue;
            }
            __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), sc);
            if (epi->out == SQZ_QOUT_F32) {
                _mm256_storeu_ps((float *)yrow + n, f);
                continue;
            }
            f = _mm256_min_ps(_mm256_max_ps(f, flo), fhi);
            const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(f), yzp);
            /* inside [lo, hi]: the saturating packs only narrow */
            const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            const __m128i b = epi->out == SQZ_QOUT_U8 ? _mm_packus_epi16(h, h) : _mm_packs_epi16(h, h);
            _mm_storel_epi64((__m128i *)(yrow + n), b);
        }
    }
    if (n8 < nr) sqz_qepi_tile_c(tile + n8, NR, mr, nr - n8, m0, n0 + n8, e);
}
#endif
