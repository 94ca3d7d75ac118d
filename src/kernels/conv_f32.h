/* kernels/conv_f32.h - fast fp32 convolution, dispatched by ISA level.
 *
 * Layouts and geometry as sqz_conv_f32_ref (kernels/ref/kernels_ref.h). Paths:
 *  - depthwise (c_in/group == 1, spatial rank <= 2): direct, one output plane at a time, split over
 *    threads by plane; AVX-512 paths for 3x3 and 5x5 kernels with stride 1 or 2 and no dilation;
 *  - 1x1 with unit stride and no padding: one GEMM per image and group on the input itself;
 *  - 3x3, stride 1, one group, 16+ channels in and out (AVX-512, AVX2): Winograd F(4x4, 3x3)
 *    (kernels/conv_wino_f32.h), a quarter of the multiplies;
 *  - 2-D (AVX-512; 3x3 and larger layers, strided ones through phase planes): implicit GEMM on
 *    a zero-padded copy of the input, no im2col (kernels/conv_implicit_f32.h), where its padded
 *    columns cost less than im2col would;
 *  - everything else: im2col into scratch, then one GEMM per image and group; when the output
 *    has under 512 positions (and one image's im2col is under 256 KB) several images share one
 *    GEMM (their im2col side by side), and the result is copied into place; large 2-D outputs
 *    go in bands of output rows whose im2col stays in L2 (one im2col + GEMM per band).
 * Bias and the optional clamp (ReLU / ReLU6 / Clip) are fused into the GEMM epilogue.
 * SQZ_ISA_REF runs sqz_conv_f32_ref and a scalar clamp: the oracle. */
#ifndef SQZ_KERNELS_CONV_F32_H
#define SQZ_KERNELS_CONV_F32_H

#include <stddef.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"

typedef struct sqz_conv_act {
    int clamp;    /* 0: identity; 1: clamp to [lo, hi] (ReLU: lo = 0, hi = +inf) */
    float lo, hi;
} sqz_conv_act;

/* Scratch bytes sqz_conv_f32 needs (0: none; SIZE_MAX on overflow). */
size_t sqz_conv_f32_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_params *p);
/* The same for sqz_conv_f32_packed given packed weights (no room to pack them per call). */
size_t sqz_conv_f32_packed_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_params *p);
/* bias (c_out) and act may be NULL. scratch: sqz_conv_f32_scratch_bytes bytes, 64-byte aligned. */
void sqz_conv_f32(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                  const float *bias, const sqz_conv_act *act, float *y, void *scratch);

/* As sqz_conv_f32, with the weights optionally packed once (packed_w, NULL for none) in the form
 * sqz_conv_f32_packed_form gives for the same isa and geometry:
 *  'A': group g's c_out/group x (c_in/group * kernel) block packed by sqz_gemm_f32_pack_a at
 *       packed_w + g * packed_stride floats;
 *  'B': (one group) W^T packed by sqz_gemm_f32_pack_b(isa, 1, c_in * kernel, c_out, w, c_in * kernel),
 *       the weight panels of the implicit GEMM's transposed tiles (small outputs).
 * Same bits as the unpacked call. */
void sqz_conv_f32_packed(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                         const float *packed_w, int64_t packed_stride, const float *bias, const sqz_conv_act *act,
                         float *y, void *scratch);
/* The unfolded (im2col) matrix of an N-D convolution over one image group of `channels` planes,
 * row (channel, kernel offset) at col + row * ldcol: gathered from img (scatter 0, padding as
 * zeros) or added back into img (scatter 1: col2im). Portable, one thread. */
void sqz_conv_unfold_f32(const sqz_conv_params *p, int64_t channels, float *img, float *col, int64_t ldcol,
                         int scatter);
/* The path sqz_conv_f32 takes for this geometry and isa: "ref", "depthwise", "pointwise",
 * "winograd", "implicit" (2-D implicit GEMM on a padded copy of the input, AVX-512) or "im2col". */
const char *sqz_conv_f32_path(sqz_isa isa, const sqz_conv_params *p);
/* y = conv(x, w) (accumulate 0) or y += conv(x, w) (no bias, no clamp) by the implicit or the
 * Winograd path, for training's input gradients; returns 0 and does nothing when
 * sqz_conv_f32_path is neither "implicit" nor "winograd" for p. Pads may be negative (a crop) here. scratch: sqz_conv_f32_scratch_bytes bytes. */
int sqz_conv_f32_implicit(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                          int accumulate, float *y, void *scratch);
/* The weights w packed in the form this isa and geometry take, every group (dst: the groups'
 * blocks, each sqz_conv_f32_packed_w_bytes rounded up to 64 bytes, 64-byte aligned). Returns the
 * packed_stride (floats) to pass to sqz_conv_f32_packed, or 0 when this path takes none. */
int64_t sqz_conv_f32_pack_weights(sqz_isa isa, const sqz_conv_params *p, const float *w, float *dst);
/* The Winograd path's weights ('W' form: 36 transformed 3x3 kernels per channel pair, see
 * kernels/conv_wino_f32.h) into dst (sqz_conv_f32_packed_w_bytes bytes, 64-byte aligned). */
void sqz_conv_f32_pack_winograd(const sqz_conv_params *p, const float *w, float *dst);
/* The Winograd F(4x4, 3x3) path for 3x3 stride-1 layers (on by default; the environment's
 * SQZ_WINOGRAD=0 turns it off): set returns the previous state. For tests and benchmarks. */
int sqz_conv_f32_set_winograd(int on);
int sqz_conv_f32_winograd_enabled(void);
/* Bytes of one group's packed weights (0: this isa / geometry takes no packed weights). */
size_t sqz_conv_f32_packed_w_bytes(sqz_isa isa, const sqz_conv_params *p);
/* The packed form this isa and geometry take: 'A', 'B', 'W' (see sqz_conv_f32_packed and
 * sqz_conv_f32_pack_winograd) or 0 (none). */
int sqz_conv_f32_packed_form(sqz_isa isa, const sqz_conv_params *p);

/* One depthwise output plane, portable: y (OH, OW) = bias + conv(x (H, W), w (KH, KW)), clamped. */
typedef struct sqz_dw_plane {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
} sqz_dw_plane;
void sqz_dwconv2d_f32_plane(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                            const sqz_conv_act *act, float *y);
/* The same through the fastest path isa has for g (AVX-512 3x3 / 5x5 planes, AVX2 planes up to
 * 7x7, else portable). */
void sqz_dwconv2d_f32_plane_isa(sqz_isa isa, const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                const sqz_conv_act *act, float *y);
#if defined(__x86_64__)
/* AVX-512 plane for KH == KW in {3, 5}, sh == sw in {1, 2}, dh == dw == 1; returns 0 (and does
 * nothing) for other geometries. */
/* im2col rows [r0, r1) of a 2-D convolution's image group into col (row stride ldcol), as the
 * portable im2col; returns 0 (and does nothing) for a horizontal stride above 2. */
int sqz_im2col2d_f32__avx512(const sqz_conv_params *p, int64_t r0, int64_t r1, const float *img, float *col,
                             int64_t ldcol);
int sqz_dwconv2d_f32_plane__avx512(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                   const sqz_conv_act *act, float *y);
/* AVX2/FMA plane for KH == KW <= 7, sh == sw in {1, 2}, no dilation, W <= 1024; returns 0 (doing
 * nothing) for other geometries. */
int sqz_dwconv2d_f32_plane__avx2(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                 const sqz_conv_act *act, float *y);
/* Planes pl0 .. pl1 of a depthwise layer with one output channel per input channel and C
 * channels (plane pl reads x + pl * H * W and weights w + (pl % C) * KH * KW, adds bias[pl % C]
 * (bias may be NULL), writes y + pl * OH * OW), the same bits as the single planes; for the small
 * planes (outputs under 16 wide) of the 3x3 / 5x5 stride-1 / 2 geometries above, else returns 0
 * doing nothing. */
int sqz_dwconv2d_f32_planes__avx512(const sqz_dw_plane *g, const float *x, const float *w, const float *bias,
                                    int64_t C, int64_t pl0, int64_t pl1, const sqz_conv_act *act, float *y);
/* Whether sqz_dwconv2d_f32_planes__avx512 holds g's planes in registers (3x3 pad 1: 7x7,
 * 14x14 -> 7x7 stride 2, widths 8 .. 14 stride 1). */
int sqz_dwconv2d_f32_regs_ok(const sqz_dw_plane *g);
/* A stride-2 3x3 / 5x5 plane (KH == KW, sh == sw == 2, no dilation, W <= 1024) whose input rows
 * are already split: each row's even columns at [0, (W+1)/2), then its odd ones (as
 * sqz_deinterleave_rows__avx512 writes them). The same bits as sqz_dwconv2d_f32_plane__avx512
 * on the unsplit rows; returns 0 (doing nothing) for other geometries. */
int sqz_dwconv2d_f32_plane_presplit__avx512(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                            const sqz_conv_act *act, float *y);
/* nrows rows of W floats from x to dst, each split into its even then its odd columns. */
void sqz_deinterleave_rows__avx512(const float *x, int64_t nrows, int64_t W, float *dst);
#endif
/* Whether sqz_dwconv2d_f32_plane_presplit__avx512 takes g. */
static inline int sqz_dwconv2d_f32_presplit_ok(const sqz_dw_plane *g) {
    return g->KH == g->KW && (g->KH == 3 || g->KH == 5) && g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1 &&
           g->W >= 1 && g->W <= 1024;
}

/* A chain of convolutions run as one, by bands of output rows, for the inverted residual blocks
 * of MobileNet-style networks: an optional group-1 1x1 "expand" (e), a depthwise conv (d: one
 * filter per channel, 2-D) and a group-1 1x1 "project" (p), each with optional bias and clamp.
 * Image by image, a band of output rows is computed through all three: the expand GEMM writes
 * only the input rows the band's depthwise conv reads (rows shared with the previous band are
 * kept, not recomputed), the depthwise conv writes the band's rows, and the project GEMM writes
 * them into y. The expanded tensor and the depthwise output thus live in about 448 KiB instead
 * of streaming through memory. Each output element is computed by the same kernel in the same
 * order as by the three calls of sqz_conv_f32_packed, so the bits are the same (tested). */
typedef struct sqz_conv_chain_f32 {
    int expand;                       /* 0: x feeds the depthwise conv directly */
    sqz_conv_params e, d, p;          /* e: ignored without expand */
    const float *we, *we_packed, *be; /* we_packed: we as sqz_gemm_f32_pack_a packs it, or NULL */
    const float *wd, *bd;
    const float *wp, *wp_packed, *bp;
    sqz_conv_act ae, ad, ap;          /* clamp 0: none */
} sqz_conv_chain_f32;
/* Whether isa and the three geometries make such a chain (shapes that connect, 1x1 / depthwise
 * as above, batch equal, 2-D, an ISA with the packed GEMM). */
int sqz_conv_chain_f32_ok(sqz_isa isa, const sqz_conv_chain_f32 *c);
size_t sqz_conv_chain_f32_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c);
/* y (the project's output) from x (the chain's input); scratch: the bytes above, 64-byte aligned. */
void sqz_conv_chain_f32_run(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c, const float *x, float *y,
                            void *scratch);

#endif
