/* kernels/q8.h - fast u8 / s8 kernels outside the GEMM: max pooling, the QLinearAdd sum,
 * QuantizeLinear / DequantizeLinear (f32 <-> u8 / s8, one scale and zero point per call) and
 * row sums (QLinearGlobalAveragePool).
 *
 * Every kernel has a reference (the scalar code the operators ran before: the oracle of the
 * tests) and faster paths that give exactly the same bytes:
 *   ref     the reference (SQZ_ISA=ref on x86);
 *   c       portable loops the compiler vectorizes (builds without x86 kernels run it at every
 *           level; elsewhere only the tests call it);
 *   avx2    AVX2, 32 bytes per vector;
 *   avx512  AVX-512 F/BW/VL, 64 bytes per vector.
 * Float arithmetic is the reference's, operation for operation: products are rounded before
 * they are added (never contracted into FMAs), rounding to an integer is nearbyint's (the
 * current rounding mode: half to even by default), saturation to the dtype's range.
 *
 * Max pooling (1-D and 2-D windows, any kernel up to SQZ_POOL_Q8_KW_MAX wide, strides, pads >= 0,
 * dilations, ceil mode) runs one plane at a time like the fp32 pools (kernels/pool_f32.h): a
 * vertical pass takes the max of the window's valid input rows into a row buffer padded with
 * the dtype's lowest value (0 for u8, -128 for s8: exactly the reference's "padding is not part
 * of the window"; an empty window gives that value in both), strides > 1 then split the buffer
 * into phase rows (phase r holds columns r, r + s, ...), so each kernel tap is one contiguous
 * run, and a horizontal pass takes the max of the KW taps for a vector of output columns.
 * Planes split over threads in a fixed way; other geometries run the reference. */
#ifndef SQZ_KERNELS_Q8_H
#define SQZ_KERNELS_Q8_H

#include <stdint.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"

typedef enum sqz_q8path {
    SQZ_Q8P_REF = 0,
    SQZ_Q8P_C,
    SQZ_Q8P_AVX2,
    SQZ_Q8P_AVX512,
    SQZ_Q8P_COUNT
} sqz_q8path;

/* The path for an ISA level (clamped to what the CPU supports). */
sqz_q8path sqz_q8path_for(sqz_isa isa);
/* 1 when this build and CPU can run path. */
int sqz_q8path_supported(sqz_q8path path);
/* "ref", "c", "avx2", "avx512". */
const char *sqz_q8path_name(sqz_q8path path);

/* ---- max pooling: x (nc planes of p->in) -> y (nc planes of p->out), s8 or u8. */
void sqz_maxpool_q8(sqz_q8path path, int threads, const sqz_pool_params *p, int s8, const void *x, void *y);
/* 1 when sqz_maxpool_q8 takes a fast path (not the reference) for p. */
int sqz_maxpool_q8_fast(const sqz_pool_params *p);

#define SQZ_POOL_Q8_TMP_MAX 16384 /* bytes of the padded row and of the phase rows (stack) */
#define SQZ_POOL_Q8_KW_MAX 256

/* One plane (a 1-D pool is a plane of one row). */
typedef struct sqz_pool_q8_plane {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
    int64_t tmp_len;  /* bytes of one padded row buffer (tmp[0] is input column -pw), a multiple of 64 */
    int64_t ph_len;   /* stride > 1: bytes of one phase row (a multiple of 64) */
    int64_t split;    /* stride > 1: phase columns to fill per row (a multiple of 32) */
    int64_t band;     /* output rows per pass: band row buffers and band * sw phase rows fit in
                         SQZ_POOL_Q8_TMP_MAX bytes each */
    int32_t toff[SQZ_POOL_Q8_KW_MAX]; /* tap kx of output column o: base[toff[kx] + o], base tmp
                                         (stride 1) or the phase rows */
} sqz_pool_q8_plane;

#if defined(__x86_64__)
/* tmp (band * tmp_len bytes) and phases (band * sw * ph_len bytes, stride > 1) filled by the
 * caller with the lowest value; x (H, W) -> y (OH, OW). */
void sqz_pool_q8_plane__avx512(const sqz_pool_q8_plane *g, int s8, const uint8_t *x, uint8_t *y, uint8_t *tmp,
                               uint8_t *phases);
void sqz_pool_q8_plane__avx2(const sqz_pool_q8_plane *g, int s8, const uint8_t *x, uint8_t *y, uint8_t *tmp,
                             uint8_t *phases);
#endif

/* ---- QLinearAdd: y[i] = q(sa (a[i] - za) + sb (b[i] - zb)) in float, with
 * q(f) = (int32_t)nearbyintf(fminf(fmaxf(f, lo - zc), hi - zc)) + zc. */
typedef struct sqz_qadd_params {
    float sa, sb;               /* A_scale / C_scale, B_scale / C_scale */
    int32_t za, zb, zc, lo, hi; /* lo, hi: the output clamp, within the dtype */
} sqz_qadd_params;

/* a, b read with element strides a_step, b_step (0 or 1: broadcasting). */
void sqz_qadd_q8_ref(const sqz_qadd_params *p, int s8, int64_t n, const void *a, int a_step, const void *b,
                     int b_step, void *y);
void sqz_qadd_q8(sqz_q8path path, const sqz_qadd_params *p, int s8, int64_t n, const void *a, const void *b,
                 void *y);

/* ---- QuantizeLinear: y[i] = sqz_quantize_f32(x[i], scale, zp, lo, hi) (kernels/int8.h), lo / hi
 * the range of the dtype. */
void sqz_quantize_q8_ref(int s8, int64_t n, const float *x, float scale, int32_t zp, void *y);
void sqz_quantize_q8(sqz_q8path path, int s8, int64_t n, const float *x, float scale, int32_t zp, void *y);

/* ---- DequantizeLinear: y[i] = (float)((int32_t)x[i] - zp) * scale. */
void sqz_dequantize_q8_ref(int s8, int64_t n, const void *x, float scale, int32_t zp, float *y);
void sqz_dequantize_q8(sqz_q8path path, int s8, int64_t n, const void *x, float scale, int32_t zp, float *y);

/* ---- sums[r] = sum of x[r * n .. (r + 1) * n) for r < rows. */
void sqz_rowsum_q8_ref(int s8, int64_t rows, int64_t n, const void *x, int64_t *sums);
void sqz_rowsum_q8(sqz_q8path path, int s8, int64_t rows, int64_t n, const void *x, int64_t *sums);

#if defined(__x86_64__)
void sqz_qadd_q8__avx512(const sqz_qadd_params *p, int s8, int64_t n, const uint8_t *a, const uint8_t *b,
                         uint8_t *y);
void sqz_qadd_q8__avx2(const sqz_qadd_params *p, int s8, int64_t n, const uint8_t *a, const uint8_t *b, uint8_t *y);
void sqz_quantize_q8__avx512(int s8, int64_t n, const float *x, float scale, int32_t zp, uint8_t *y);
void sqz_quantize_q8__avx2(int s8, int64_t n, const float *x, float scale, int32_t zp, uint8_t *y);
void sqz_dequantize_q8__avx512(int s8, int64_t n, const uint8_t *x, float scale, int32_t zp, float *y);
void sqz_dequantize_q8__avx2(int s8, int64_t n, const uint8_t *x, float scale, int32_t zp, float *y);
void sqz_rowsum_q8__avx512(int s8, int64_t rows, int64_t n, const uint8_t *x, int64_t *sums);
void sqz_rowsum_q8__avx2(int s8, int64_t rows, int64_t n, const uint8_t *x, int64_t *sums);
#endif

#endif
