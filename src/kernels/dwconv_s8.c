/* kernels/dwconv_s8.c - int8 depthwise 2-D convolution, direct: each output row is accumulated in
 * 32-bit sums tap by tap over the columns whose input is inside the image (a vectorised row
 * loop; padded positions read x_zp and so add nothing), then requantized by the shared epilogue.
 * Threads split the (batch x channel) planes in a fixed way. */
#include <string.h>

#include "kernels/int8.h"
#include "kernels/x86/gemm_s8_ukernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define DW_MAX_THREADS 64

#define DW_ROW(NAME, ATTR, T)                                                                      \
    static ATTR void NAME(uint32_t *restrict acc, const T *restrict xr, int64_t n, int64_t sw, int32_t zx, \
                          int32_t wv) {                                                            \
        const uint32_t w = (uint32_t)wv;                                                           \
        if (sw == 1) {                                                                             \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) acc[i] += (uint32_t)((int32_t)xr[i] - zx) * w; \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) acc[i] += (uint32_t)((int32_t)xr[i * sw] - zx) * w;     \
        }                                                                                          \
    }

DW_ROW(row_u8, , uint8_t)
DW_ROW(row_s8, , int8_t)
#if defined(__x86_64__)
DW_ROW(row_u8_avx2, __attribute__((target("avx2"))), uint8_t)
DW_ROW(row_s8_avx2, __attribute__((target("avx2"))), int8_t)
#endif

typedef void (*dw_row_fn)(uint32_t *, const void *, int64_t, int64_t, int32_t, int32_t);

size_t sqz_qdwconv_scratch_bytes(const sqz_qdw_params *p, int threads) {
    if (threads < 1) threads = 1;
    if (threads > DW_MAX_THREADS) threads = DW_MAX_THREADS;
    const size_t row = ((size_t)p->ow * 4 + 63) / 64 * 64;
    const size_t wts = ((size_t)(p->kh * p->kw) * 4 + 63) / 64 * 64;
    return (size_t)threads * (row + wts) + 64;
}

/* First and one-past-last output column whose input column ox*sw - pw + off lies in [0, iw). */
static void inside(int64_t ow, int64_t sw, int64_t pw, int64_t off, int64_t iw, int64_t *lo, int64_t *hi) {
    const int64_t a = pw - off; /* need ox*sw >= a */
    int64_t l = a <= 0 ? 0 : (a + sw - 1) / sw;
    const int64_t b = iw + pw - off; /* need ox*sw < b */
    int64_t h = b <= 0 ? 0 : (b + sw - 1) / sw;
    if (h > ow) h = ow;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void sqz_qdwconv(sqz_qkind kind, int threads, const sqz_qdw_params *p, const void *x, int x_s8, int32_t x_zp,
                 const void *w, int w_u8, void *y, const sqz_qepi *epi, void *scratch) {
    if (kind == SQZ_QK_REF || !sqz_qkind_supported(kind)) {
        sqz_qdwconv_ref(p, x, x_s8, x_zp, w, w_u8, y, epi);
        return;
    }
    dw_row_fn row = x_s8 ? (dw_row_fn)row_s8 : (dw_row_fn)row_u8;
    sqz_qepi_tile_fn epi_fn = sqz_qepi_tile_c;
#if defined(__x86_64__)
    row = x_s8 ? (dw_row_fn)row_s8_avx2 : (dw_row_fn)row_u8_avx2;
    if (kind == SQZ_QK_AVX512VNNI) epi_fn = sqz_qepi_tile__avx512;
#endif
    const size_t osz = epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
    const size_t xsz = 1;
    const int64_t planes = p->batch * p->C, taps = p->kh * p->kw;
    int nt = threads < 1 ? 1 : threads > DW_MAX_THREADS ? DW_MAX_THREADS : threads;
    if (nt > planes) nt = planes < 1 ? 1 : (int)planes;
#ifndef _OPENMP
    nt = 1;
#endif
    const size_t rowb = ((size_t)p->ow * 4 + 63) / 64 * 64, wtsb = ((size_t)taps * 4 + 63) / 64 * 64;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        uint32_t *acc = (uint32_t *)((char *)scratch + (size_t)tid * (rowb + wtsb));
        int32_t *wv = (int32_t *)((char *)acc + rowb);
        const int64_t q0 = planes * tid / nt, q1 = planes * (tid + 1) / nt;
        for (int64_t q = q0; q < q1; q++) {
            const int64_t c = q % p->C;
            const int32_t wz = epi->w_zp ? epi->w_zp[c] : 0;
            for (int64_t t = 0; t < taps; t++)
                wv[t] = (w_u8 ? (int32_t)((const uint8_t *)w)[c * taps + t]
                              : (int32_t)((const int8_t *)w)[c * taps + t]) - wz;
            const char *xp = (const char *)x + (size_t)(q * p->ih * p->iw) * xsz;
            char *yp = (char *)y + (size_t)(q * p->oh * p->ow) * osz;
            /* The epilogue sees one channel: row 0, with this channel's scale and bias. */
            sqz_qepi ec = *epi;
            if (epi->scale) ec.scale = epi->scale + c;
            const int32_t bias = epi->bias ? epi->bias[c] : 0;
            sqz_qepi_ctx er = {.epi = &ec, .w_rows = 1, .woff = &bias, .wzp = NULL, .xsum = NULL, .ldy = 0};
            for (int64_t oy = 0; oy < p->oh; oy++) {
                memset(acc, 0, (size_t)p->ow * 4);
                for (int64_t ky = 0; ky < p->kh; ky++) {
                    const int64_t iy = oy * p->sh - p->ph + ky * p->dh;
                    if (iy < 0 || iy >= p->ih) continue;
                    for (int64_t kx = 0; kx < p->kw; kx++) {
                        int64_t lo, hi;
                        const int64_t off = kx * p->dw;
                        inside(p->ow, p->sw, p->pw, off, p->iw, &lo, &hi);
                        if (hi <= lo) continue;
                        const char *xr = xp + (size_t)(iy * p->iw + lo * p->sw - p->pw + off) * xsz;
                        row(acc + lo, xr, hi - lo, p->sw, x_zp, wv[ky * p->kw + kx]);
                    }
                }
                er.y = yp + (size_t)(oy * p->ow) * osz;
                epi_fn((const int32_t *)acc, (int)p->ow, 1, (int)p->ow, 0, 0, &er);
            }
        }
    }
}
