/* kernels/x86/dwconv_s8_plane.h - int8 depthwise planes, 3x3 and 5x5, stride 1 or 2 (private to
 * kernels/dwconv_s8.c and the int8 tests).
 *
 * One (image, channel) plane at a time, in bands of output rows. The input rows a band reads go
 * into "pair planes" of 32-bit lanes, each holding two 16-bit values x - x_zp of vertically
 * adjacent padded rows: pair row q holds padded rows (q*s, q*s + 1) (padding and rows past the
 * image are 0, so they add nothing); with stride 2 the columns are split into s phases (phase b
 * holds padded columns b, b+s, ...), so every tap is a contiguous window. Output (oy, ox) at flat
 * position f = oy*wq + ox (wq = ow + (k-1)/s) reads, for the tap pair (ky = 2p, 2p+1) and
 * column kx, phase kx % s at
 *   f + p*(2/s)*wq + kx/s
 * and multiplies it with the 16-bit pair (w[2p][kx], w[2p+1][kx]) (w[k][*] = 0) in one
 * VPMADDWD / VPDPWSSD: ceil(k/2)*k multiply-adds per vector of outputs, no masks, no borders.
 * The (k-1)/s extra columns of each row are computed and dropped (the epilogue writes a flat
 * buffer whose rows are then copied out). A band's pair planes are kept near 16 KiB, so they
 * stay in L1 while the band's taps read them. Integer sums are exact (wrapping like the
 * oracle), and the requantization is the oracle's float operations in the oracle's order: the
 * same bits. */
#ifndef SQZ_KERNELS_X86_DWCONV_S8_PLANE_H
#define SQZ_KERNELS_X86_DWCONV_S8_PLANE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/int8.h"

typedef struct sqz_qdw_plane {
    int64_t ih, iw, oh, ow, ph, pw;
    int k, s;       /* k x k kernel (3 or 5), stride s x s (1 or 2), no dilation */
    int x_s8;       /* activations are s8 (else u8) */
    int32_t x_zp;
    sqz_qout out;
    int32_t y_zp, lo, hi;
    /* derived (sqz_qdw_plane_init) */
    int64_t wq;      /* width of a phase plane = flat row stride: ow + (k-1)/s */
    int64_t band;    /* output rows per band */
    int64_t nqb;     /* pair rows of a band: band + (ceil(k/2) - 1) * (2/s) */
    int64_t pstride; /* int32s per phase plane, slack included, multiple of 16 */
    int64_t tflat;   /* flat outputs of a band, rounded up to 16 */
} sqz_qdw_plane;

/* Scratch of one plane: the pair planes (s * pstride int32), the flat outputs of a band (tflat
 * elements of up to 4 bytes), then (AVX2) three byte rows of sqz_qdw_plane_row_bytes. */
static inline size_t sqz_qdw_plane_t_offset(const sqz_qdw_plane *g) { return (size_t)g->s * (size_t)g->pstride * 4; }
static inline size_t sqz_qdw_plane_rows_offset(const sqz_qdw_plane *g) {
    return sqz_qdw_plane_t_offset(g) + ((size_t)g->tflat * 4 + 63) / 64 * 64;
}
static inline int64_t sqz_qdw_plane_row_bytes(const sqz_qdw_plane *g) { return g->s * ((g->wq + 15) / 16 * 16) + 64; }

/* Fills the derived fields; 0 when the geometry is not one the planes take. */
int sqz_qdw_plane_init(sqz_qdw_plane *g);
/* Scratch bytes of one plane (64-byte multiple). */
size_t sqz_qdw_plane_scratch(const sqz_qdw_plane *g);
/* Sets scratch up once before its first plane (x_s8, x_zp filled in): zeroes the pair planes (the
 * slack past a band's rows, which only dropped outputs read, is never written by the AVX-512
 * kernel) and fills the byte rows with x_zp. */
void sqz_qdw_plane_prepare(const sqz_qdw_plane *g, void *scratch);

#if defined(__x86_64__)
/* wp: ceil(k/2)*k weight pairs, element p*k + kx = (u16)(w[2p][kx] - w_zp) | (w[2p+1][kx] - w_zp) << 16.
 * x: the (ih, iw) input plane; y: the (oh, ow) output plane of the epilogue's kind; scale: this
 * channel's (U8/S8/F32). scratch: sqz_qdw_plane_scratch bytes, 64-byte aligned. */
void sqz_qdw_plane__avx512(const sqz_qdw_plane *g, const void *x, const int32_t *wp, int32_t bias, float scale,
                           void *y, void *scratch);
void sqz_qdw_plane__avx2(const sqz_qdw_plane *g, const void *x, const int32_t *wp, int32_t bias, float scale,
                         void *y, void *scratch);
/* The float route (kernels/dwconv_s8.c): n u8 / s8 values minus x_zp as floats; and n sums held
 * exactly in floats, plus bias, requantized as the other epilogues into y (epi's output kind,
 * this channel's scale). */
void sqz_qdw_to_f32__avx512(const void *x, int x_s8, int32_t x_zp, int64_t n, float *xf);
void sqz_qdw_requant_f32__avx512(const float *f, int64_t n, int32_t bias, float scale, const sqz_qepi *epi,
                                 void *y);
#endif

#endif
