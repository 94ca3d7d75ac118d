/* kernels/pool_f32.h - fast fp32 pooling, dispatched by ISA level.
 *
 * Geometry as the reference (sqz_pool_params, kernels/ref/kernels_ref.h). 1-D and 2-D windows of
 * any kernel, stride, dilation and padding run one plane at a time in two passes per output row:
 * a vertical pass reduces the window's valid input rows into a row buffer padded with the
 * identity (-inf for max, 0 for sums), then a horizontal pass reduces KW taps of that buffer for
 * one vector of outputs (contiguous loads for stride 1, an even-lane permute for stride 2, a
 * gather otherwise), so borders need no scalar code. Planes split over threads in a fixed way.
 * Other ranks, rows too wide for the stack buffer and SQZ_ISA_REF run the reference: the oracle.
 * Max pooling gives the same values as the reference (except the sign of an all-zero window);
 * averages sum in float (the reference sums in double), so they agree to rounding. */
#ifndef SQZ_KERNELS_POOL_F32_H
#define SQZ_KERNELS_POOL_F32_H

#include <stdint.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"

void sqz_maxpool_f32(sqz_isa isa, int threads, const sqz_pool_params *p, const float *x, float *y);
void sqz_avgpool_f32(sqz_isa isa, int threads, const sqz_pool_params *p, int count_include_pad, const float *x,
                     float *y);
/* x (nc, sp) -> y (nc) */
void sqz_global_avgpool_f32(sqz_isa isa, int threads, int64_t nc, int64_t sp, const float *x, float *y);
void sqz_global_maxpool_f32(sqz_isa isa, int threads, int64_t nc, int64_t sp, const float *x, float *y);

/* One 2-D plane (a 1-D pool is a plane of one row). */
typedef struct sqz_pool_plane {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
    int is_max;
    int cip;              /* average: count_include_pad */
    int64_t ph_end;       /* average with cip: rows in [-ph, H + ph_end) count */
    const float *colcnt;  /* average: (OW) valid taps per output column, as float */
    int64_t tmp_len;      /* floats of the padded row buffer */
} sqz_pool_plane;

#define SQZ_POOL_TMP_MAX 8192 /* floats of the row buffer (on the stack) */

#if defined(__x86_64__)
/* tmp: g->tmp_len floats, filled by the caller with the identity; x (H, W) -> y (OH, OW). */
void sqz_pool2d_f32_plane__avx512(const sqz_pool_plane *g, const float *x, float *y, float *tmp);
void sqz_pool2d_f32_plane__avx2(const sqz_pool_plane *g, const float *x, float *y, float *tmp);
/* y[i] = reduce x[i*sp .. (i+1)*sp) for i < nc (sum / sp or max) */
void sqz_global_pool_f32__avx512(int is_max, int64_t nc, int64_t sp, const float *x, float *y);
void sqz_global_pool_f32__avx2(int is_max, int64_t nc, int64_t sp, const float *x, float *y);
#endif

#endif
