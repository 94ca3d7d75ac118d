/* kernels/x86/im2col_f32_avx512.c - AVX-512 2-D im2col rows for the fp32 convolution (see
 * kernels/conv_f32.h). For each row (channel, ky, kx) and output row oy, 16 output columns take
 * one load whose lane mask keeps only the positions inside the input row (the others read as 0)
 * and one masked store; stride 2 loads 32 inputs and keeps the even ones. Short output rows
 * (LeNet's 10) cost two instructions instead of a copy loop. */
#include "kernels/conv_f32.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

/* Lanes l in [0, 16) with lo <= o0 + l < hi. */
static inline __mmask16 span_mask(int64_t o0, int64_t lo, int64_t hi) {
    int64_t a = lo - o0, b = hi - o0;
    if (a < 0) a = 0;
    if (b > 16) b = 16;
    if (b <= a) return 0;
    const uint32_t up = b >= 16 ? 0xffffu : (1u << b) - 1u;
    return (__mmask16)(up & ~((1u << a) - 1u));
}

static inline const float *at(const float *p, int64_t off) {
    return (const float *)((uintptr_t)p + (uintptr_t)(off * (int64_t)sizeof(float)));
}

SQZ_AVX512 int sqz_im2col2d_f32__avx512(const sqz_conv_params *p, int64_t r0, int64_t r1, const float *img,
                                        float *col, int64_t ldcol) {
    if (p->nsp != 2 || p->stride[1] > 2) return 0;
    const int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1], KH = p->kernel[0], KW = p->kernel[1];
    const int64_t sh = p->stride[0], sw = p->stride[1], dh = p->dilation[0], dw = p->dilation[1];
    const int64_t ph = p->pad_begin[0], pw = p->pad_begin[1];
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t rowi = r0; rowi < r1; rowi++) {
        const int64_t ch = rowi / (KH * KW), ky = rowi / KW % KH, kx = rowi % KW;
        const float *im = img + ch * H * W;
        float *row = col + rowi * ldcol;
        const int64_t off = kx * dw - pw; /* input column of output column 0 */
        int64_t lo = off < 0 ? (-off + sw - 1) / sw : 0;
        int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
        if (hi > OW) hi = OW;
        if (lo > hi) lo = hi;
        for (int64_t oy = 0; oy < OH; oy++) {
            float *r = row + oy * OW;
            const int64_t iy = oy * sh - ph + ky * dh;
            const int valid = iy >= 0 && iy < H;
            const float *src = im + (valid ? iy : 0) * W;
            for (int64_t o0 = 0; o0 < OW; o0 += 16) {
                const __mmask16 sm = (__mmask16)((OW - o0 >= 16 ? 0xffffu : (1u << (OW - o0)) - 1u));
                const __mmask16 lm = valid ? span_mask(o0, lo, hi) : 0;
                __m512 v;
                if (sw == 1) {
                    v = _mm512_maskz_loadu_ps(lm, at(src, off + o0));
                } else { /* input columns off + 2*(o0 + l): 32 inputs, keep the even ones */
                    uint32_t m2 = lm; /* bit l -> bit 2l */
                    m2 = (m2 | (m2 << 8)) & 0x00ff00ffu;
                    m2 = (m2 | (m2 << 4)) & 0x0f0f0f0fu;
                    m2 = (m2 | (m2 << 2)) & 0x33333333u;
                    m2 = (m2 | (m2 << 1)) & 0x55555555u;
                    const __mmask16 ma = (__mmask16)(m2 & 0xffffu), mb = (__mmask16)(m2 >> 16);
                    const __m512 a = _mm512_maskz_loadu_ps(ma, at(src, off + 2 * o0));
                    const __m512 b = _mm512_maskz_loadu_ps(mb, at(src, off + 2 * o0 + 16));
                    v = _mm512_permutex2var_ps(a, even, b);
                }
                _mm512_mask_storeu_ps(r + o0, sm, v);
            }
        }
    }
    return 1;
}

#endif
