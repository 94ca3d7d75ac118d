/* train/grad_conv_avx512.c - the col2im of a convolution whose column stride is 2 (the
 * scatter-add of the dx GEMM's column matrix into dx), with AVX-512.
 *
 * The portable loop adds one tap's row of col into every other input column, one float at a time:
 * on ResNet's stride-2 3x3 layers (rows of 7 to 14 outputs) that loop took about 3% of a training
 * step. Here one image row is loaded once (32 columns per pair of vectors) and every tap of the
 * kernel row is added into it in the registers: a tap's 16 consecutive outputs p0 .. p0+15 land
 * on the columns 2p + offx, i.e. every other lane of the pair, so they are spread by one permute
 * per vector and added under the lane mask of those columns. The additions into each dx element
 * happen in the portable loop's order (taps kx = 0, 1, ... of one kernel row; kernel rows in the
 * caller's order), so the result is bit-identical to it. Call only when the CPU has AVX-512. */
#include "train/grad_vec.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TV_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,bmi2")))

/* lanes [a, b) of 16 set (empty when b <= a) */
static inline uint32_t lane_range(int64_t a, int64_t b) {
    if (a < 0) a = 0;
    if (b > 16) b = 16;
    if (b <= a) return 0;
    return (uint32_t)(((1u << b) - 1u) & ~((1u << a) - 1u));
}

TV_AVX512 void sqz_tv_col2im_w2__avx512(float *img, int64_t W, int64_t sh, int64_t offy, int64_t ya, int64_t yb,
                                        const float *colk, int64_t ostride, int64_t OW, int KW, const int64_t *offx,
                                        const int64_t *lo, const int64_t *hi) {
    /* lane j of the spread pair (half h) takes source lane 8h + j / 2 */
    const __m512i idx0 = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i idx1 = _mm512_add_epi32(idx0, _mm512_set1_epi32(8));
    for (int64_t oy = ya; oy < yb; oy++) {
        float *row = img + (oy * sh + offy) * W;
        /* dx is usually an accumulation, long out of cache: fetch a few rows ahead */
        if (oy + 3 < yb)
            for (int64_t q = 0; q < W; q += 16) _mm_prefetch((const char *)(row + 3 * sh * W + q), _MM_HINT_T0);
        for (int64_t q0 = 0; q0 < W; q0 += 32) {
            const __mmask16 k0 = (__mmask16)lane_range(0, W - q0), k1 = (__mmask16)lane_range(0, W - q0 - 16);
            __m512 a0 = _mm512_maskz_loadu_ps(k0, row + q0), a1 = _mm512_maskz_loadu_ps(k1, row + q0 + 16);
            for (int kx = 0; kx < KW; kx++) {
                /* the first column >= q0 this tap writes, and its output p0 */
                const int64_t par = (offx[kx] - q0) & 1, p0 = (q0 + par - offx[kx]) / 2;
                const uint32_t kv = lane_range(lo[kx] - p0, hi[kx] - p0);
                if (!kv) continue;
                const float *r = colk + kx * ostride + oy * OW + p0;
                /* lanes below the valid range are masked off and not read */
                const __m512 v = _mm512_maskz_loadu_ps((__mmask16)kv, r);
                const uint32_t kc = _pdep_u32(kv, par ? 0xaaaaaaaau : 0x55555555u);
                a0 = _mm512_mask_add_ps(a0, (__mmask16)(kc & 0xffffu), a0, _mm512_permutexvar_ps(idx0, v));
                a1 = _mm512_mask_add_ps(a1, (__mmask16)(kc >> 16), a1, _mm512_permutexvar_ps(idx1, v));
            }
            _mm512_mask_storeu_ps(row + q0, k0, a0);
            _mm512_mask_storeu_ps(row + q0 + 16, k1, a1);
        }
    }
}

#else
typedef int sqz_grad_conv_avx512_unused;
#endif
