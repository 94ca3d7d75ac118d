/* kernels/x86/transpose16_avx512.h - a 16 x 16 float transpose in AVX-512 registers (private to
 * the x86 kernels that include it; they compile it with their AVX-512 target attribute). */
#ifndef SQZ_KERNELS_X86_TRANSPOSE16_AVX512_H
#define SQZ_KERNELS_X86_TRANSPOSE16_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>

/* t[u] lane r = r_[r] lane u (r_ is overwritten). Three stages: 32-bit pairs, 64-bit pairs, then
 * 128-bit lanes across four registers. */
#define SQZ_TRANSPOSE16_PS(r_, t_)                                                                     \
    do {                                                                                             \
        __m512 s_[16];                                                                               \
        for (int i_ = 0; i_ < 16; i_ += 2) {                                                         \
            s_[i_] = _mm512_unpacklo_ps(r_[i_], r_[i_ + 1]);                                         \
            s_[i_ + 1] = _mm512_unpackhi_ps(r_[i_], r_[i_ + 1]);                                     \
        }                                                                                            \
        for (int i_ = 0; i_ < 16; i_ += 4) {                                                         \
            const __m512d a_ = _mm512_castps_pd(s_[i_]), b_ = _mm512_castps_pd(s_[i_ + 1]);          \
            const __m512d c_ = _mm512_castps_pd(s_[i_ + 2]), d_ = _mm512_castps_pd(s_[i_ + 3]);      \
            r_[i_] = _mm512_castpd_ps(_mm512_unpacklo_pd(a_, c_));                                   \
            r_[i_ + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a_, c_));                               \
            r_[i_ + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b_, d_));                               \
            r_[i_ + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b_, d_));                               \
        }                                                                                            \
        /* r_[4q + j] holds, in each 128-bit lane L, rows 4q..4q+3 of column 4L + j */               \
        for (int j_ = 0; j_ < 4; j_++) {                                                             \
            const __m512 a0_ = _mm512_shuffle_f32x4(r_[j_], r_[4 + j_], 0x44);                       \
            const __m512 a1_ = _mm512_shuffle_f32x4(r_[j_], r_[4 + j_], 0xee);                       \
            const __m512 b0_ = _mm512_shuffle_f32x4(r_[8 + j_], r_[12 + j_], 0x44);                  \
            const __m512 b1_ = _mm512_shuffle_f32x4(r_[8 + j_], r_[12 + j_], 0xee);                  \
            t_[0 + j_] = _mm512_shuffle_f32x4(a0_, b0_, 0x88);                                       \
            t_[4 + j_] = _mm512_shuffle_f32x4(a0_, b0_, 0xdd);                                       \
            t_[8 + j_] = _mm512_shuffle_f32x4(a1_, b1_, 0x88);                                       \
            t_[12 + j_] = _mm512_shuffle_f32x4(a1_, b1_, 0xdd);                                      \
        }                                                                                            \
    } while (0)

#endif
#endif
