/* kernels/ref/gemm_s8_ref.c - the int8 oracles: GEMM and depthwise convolution computed from
 * unpacked operands straight from the formula in kernels/int8.h (wrapping 32-bit sums), and the
 * scalar requantization epilogue every path shares. */
#include <math.h>

#include "kernels/int8.h"

static inline int32_t ld_x(const void *x, int s8, int64_t i) {
    return s8 ? (int32_t)((const int8_t *)x)[i] : (int32_t)((const uint8_t *)x)[i];
}

void sqz_qepi_store_ref(const sqz_qepi *epi, int64_t c, int32_t acc, void *y, int64_t i) {
    switch (epi->out) {
    case SQZ_QOUT_S32: ((int32_t *)y)[i] = acc; return;
    case SQZ_QOUT_F32: ((float *)y)[i] = (float)acc * epi->scale[c]; return;
    default: break;
    }
    float f = (float)acc * epi->scale[c];
    const float fl = (float)(epi->lo - epi->y_zp), fh = (float)(epi->hi - epi->y_zp);
    f = fmaxf(f, fl);
    f = fminf(f, fh);
    const int32_t q = (int32_t)nearbyintf(f) + epi->y_zp;
    if (epi->out == SQZ_QOUT_U8) ((uint8_t *)y)[i] = (uint8_t)q;
    else ((int8_t *)y)[i] = (int8_t)q;
}

void sqz_qgemm_ref(sqz_qside side, int64_t M, int64_t N, int64_t K, const void *x, int64_t ldx, int x_s8,
                   int32_t x_zp, const void *w, int w_u8, int64_t sc, int64_t sk, void *y, int64_t ldy,
                   const sqz_qepi *epi) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            const int64_t c = side == SQZ_QSIDE_B ? n : m;
            const int32_t wz = epi->w_zp ? epi->w_zp[c] : 0;
            uint32_t acc = epi->bias ? (uint32_t)epi->bias[c] : 0u;
            for (int64_t k = 0; k < K; k++) {
                const int64_t xi = side == SQZ_QSIDE_B ? m * ldx + k : k * ldx + n;
                const int32_t xv = ld_x(x, x_s8, xi) - x_zp;
                const int32_t wv = ld_x(w, !w_u8, c * sc + k * sk) - wz;
                acc += (uint32_t)xv * (uint32_t)wv;
            }
            sqz_qepi_store_ref(epi, c, (int32_t)acc, y, m * ldy + n);
        }
}

void sqz_qdwconv_ref(const sqz_qdw_params *p, const void *x, int x_s8, int32_t x_zp, const void *w, int w_u8,
                     void *y, const sqz_qepi *epi) {
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t c = 0; c < p->C; c++) {
            const int32_t wz = epi->w_zp ? epi->w_zp[c] : 0;
            const int64_t xbase = (b * p->C + c) * p->ih * p->iw;
            const int64_t ybase = (b * p->C + c) * p->oh * p->ow;
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    uint32_t acc = epi->bias ? (uint32_t)epi->bias[c] : 0u;
                    for (int64_t ky = 0; ky < p->kh; ky++)
                        for (int64_t kx = 0; kx < p->kw; kx++) {
                            const int64_t iy = oy * p->sh - p->ph + ky * p->dh;
                            const int64_t ix = ox * p->sw - p->pw + kx * p->dw;
                            if (iy < 0 || iy >= p->ih || ix < 0 || ix >= p->iw) continue;
                            const int32_t xv = ld_x(x, x_s8, xbase + iy * p->iw + ix) - x_zp;
                            const int32_t wv = ld_x(w, !w_u8, (c * p->kh + ky) * p->kw + kx) - wz;
                            acc += (uint32_t)xv * (uint32_t)wv;
                        }
                    sqz_qepi_store_ref(epi, c, (int32_t)acc, y, ybase + oy * p->ow + ox);
                }
        }
}
