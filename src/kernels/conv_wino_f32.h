/* kernels/conv_wino_f32.h - Winograd F(4x4, 3x3) convolution (private to kernels/conv_f32.c, its
 * x86 pieces (AVX-512, AVX2) and the kernel tests).
 *
 * A 3x3, stride-1, undilated, one-group 2-D convolution computes each 4x4 block ("tile") of an
 * output plane from the 6x6 input patch under it as
 *     Y = A^T [ sum_c (G g_kc G^T) .* (B^T d_c B) ] A
 * (Lavin & Gray, points 0, +-1, +-2): 36 element-wise products per tile and channel pair instead
 * of the 144 multiply-adds of the direct sum, so the GEMM part does 4x fewer flops; the
 * transforms are additions and small constant multiplies. Element xi = 6i + j of the transformed
 * domain is a GEMM of its own: M_xi (tiles x K) = V_xi (tiles x C) U_xi (C x K).
 *
 * Data, all fp32:
 *  - U (weights, transformed once at load or per call): for xi, for each panel of 32 output
 *    channels, C rows of 32 floats: U[((xi * kpanels + kp) * C + c) * 32 + k % 32], zero past K.
 *  - xb (one image, padded and blocked): ceil(C/16) blocks of Hp x Wp positions of 16 channels,
 *    zero outside the image and past C; Hp = 4 * tiles_y + 2, Wp = 4 * tiles_x + 2.
 *  - V (a block of tiles): V[xi * vs + t * Cp + c], Cp = round_up(C, 16), vs = tiles_pad * Cp + 16
 *    (one cache line more than the slice: at a multiple of 4 KiB the 36 loads or stores of a
 *    tile's transform would all fall in one L1 set).
 *  - M (the block's GEMM results): M[xi * ms + t * Kp + k], Kp = round_up(K, 32), ms likewise.
 * Each output element is computed the same way whatever the batch, block size or thread count,
 * so results are bit-identical across them (and across the packed / unpacked weights). */
#ifndef SQZ_KERNELS_CONV_WINO_F32_H
#define SQZ_KERNELS_CONV_WINO_F32_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"

#define SQZ_WINO_MT 14 /* tiles per GEMM microkernel (the last one of a block may take fewer) */

/* The output stage: bias (K values or NULL), clamp to [lo, hi] when clamp, then y = that
 * (accumulate 0) or y += that. */
typedef struct sqz_wino_out {
    const float *bias;
    int clamp, accumulate;
    float lo, hi;
} sqz_wino_out;

/* The transform matrices' application to one image of tiles (x86 pieces below). */
typedef struct sqz_wino_img {
    int64_t C, K, H, W, OH, OW, pt, pl; /* pt, pl: the top and left pads (may be negative) */
    int64_t ty, tx;                     /* tiles per column and per row: ceil(OH / 4), ceil(OW / 4) */
    int64_t Hp, Wp, cb, Cp, Kp;         /* cb = ceil(C / 16) */
    int64_t vs, ms;                     /* floats from one element's V (M) slice to the next */
} sqz_wino_img;

/* Transformed weights: u as described above, from w (K, C, 3, 3); its size in floats. */
int64_t sqz_wino_f32_u_floats(int64_t C, int64_t K);
void sqz_wino_f32_pack_u(int64_t C, int64_t K, const float *w, float *u);

/* How one call runs: jobs of nj images (their blocked copies side by side), each cut in blocks of
 * rb tile rows (a job of several images is one block); with par_jobs the threads take whole jobs
 * (each its own buffers), else every job's phases are split over the threads. */
typedef struct sqz_wino_plan {
    sqz_wino_img g;
    int avx512;                       /* the AVX-512 pieces (else AVX2) */
    int64_t batch, nj, jobs, rb, tiles_pad;
    int par_jobs, workers;
    int64_t xb_img;                   /* floats of one image's blocked copy */
    size_t xb_floats, v_floats, m_floats; /* per worker, each a multiple of 16 */
} sqz_wino_plan;

/* Whether isa (AVX2 and up) and the geometry (2-D, 3x3, stride 1, no dilation, one group; batch
 * aside) suit the Winograd path, and the plan for this batch and thread count. 0: not taken. */
int sqz_wino_f32_plan(sqz_isa isa, const sqz_conv_params *p, int threads, sqz_wino_plan *w);
/* Scratch bytes of a run: the workers' buffers, plus the transformed weights when not packed. */
size_t sqz_wino_f32_scratch_bytes(const sqz_wino_plan *w, int packed);
/* y = conv(x, w) + bias, clamped (o), or y += that (o->accumulate); u: the weights as
 * sqz_wino_f32_pack_u gives them, or NULL (transformed into scratch). x86 only. */
void sqz_wino_f32_run(const sqz_wino_plan *w, int threads, const float *x, const float *wt, const float *u,
                      const sqz_wino_out *o, float *y, void *scratch);

/* The weight gradient of the same convolution: dw (K, C, 3, 3) += sum over images and tiles of
 * G^T [ (A dY_t A^T) .* (B^T d_t B) ] G, i.e. per element xi a GEMM P_xi (K x C) += Yh_xi^T V_xi
 * over the tiles (Yh: dy's 4x4 blocks through A, 6x6), then G^T P G per channel pair. With the
 * plan's par_jobs the threads take whole jobs, each summing its own P, and the parts are added in
 * thread order (bits depend on the thread count, never on timing); otherwise the threads split
 * each phase and every tile is added in one order. Plan: sqz_wino_f32_plan with the same thread
 * count. */
size_t sqz_wino_f32_dw_scratch_bytes(const sqz_wino_plan *w);
void sqz_wino_f32_dw(const sqz_wino_plan *w, int threads, const float *x, const float *dy, float *dw, void *scratch);

#if defined(__x86_64__)
/* Rows [r0, r1) of the blocked padded copy (row r = block r / Hp, padded row r % Hp) of the
 * image x (C planes of H x W) into xb. */
void sqz_wino_f32_copy__avx512(const sqz_wino_img *g, const float *x, int64_t r0, int64_t r1, float *xb);
/* A block of tiles is a range of whole tile rows of the images of one job (images copied side by
 * side, xb_img floats apart): its local tile t sits in job tile row R0 + t / tx (image
 * (R0 + t / tx) / ty), column t % tx. */
/* V rows of the block's tiles [t0, t1), all channel blocks. */
void sqz_wino_f32_input__avx512(const sqz_wino_img *g, const float *xb0, int64_t xb_img, int64_t R0, int64_t t0,
                                int64_t t1, float *V);
/* M_xi of the block's first ntiles tiles for output-channel panel kp. */
void sqz_wino_f32_gemm__avx512(const sqz_wino_img *g, const float *V, const float *U, int64_t xi, int64_t kp,
                               int64_t ntiles, float *M);
/* Outputs of the block's runs [q0, q1) (run q: up to 4 tiles from column 4 * (q % rpr) of block
 * tile row q / rpr, rpr = ceil(tx / 4)) for channel block kb (16 channels), into y0 (the job's
 * images, K planes of OH x OW each) through o. */
/* Yh (in M's layout) of the block's tiles [t0, t1) from dy's blocked copy (geometry gd: dy as
 * an unpadded K-channel image of 4 * ty x 4 * tx, see sqz_wino_f32_dw). */
void sqz_wino_f32_dyt__avx512(const sqz_wino_img *g, const sqz_wino_img *gd, const float *dyb0, int64_t dyb_img,
                              int64_t R0, int64_t t0, int64_t t1, float *Y);
/* P_xi (K rows of Cp floats, at P + xi * K * Cp) += Yh_xi^T V_xi over the block's ntiles tiles. */
void sqz_wino_f32_dw_gemm__avx512(const sqz_wino_img *g, const float *Y, const float *V, int64_t xi, int64_t ntiles,
                                  float *P);
void sqz_wino_f32_output__avx512(const sqz_wino_img *g, const float *M, int64_t R0, int64_t q0, int64_t q1,
                                 int64_t kb, const sqz_wino_out *o, float *y0);
/* The same six pieces for AVX2 (x86/conv_wino_f32_avx2.c): same layouts, 8-float halves. */
void sqz_wino_f32_copy__avx2(const sqz_wino_img *g, const float *x, int64_t r0, int64_t r1, float *xb);
void sqz_wino_f32_input__avx2(const sqz_wino_img *g, const float *xb0, int64_t xb_img, int64_t R0, int64_t t0,
                              int64_t t1, float *V);
void sqz_wino_f32_gemm__avx2(const sqz_wino_img *g, const float *V, const float *U, int64_t xi, int64_t kp,
                             int64_t ntiles, float *M);
void sqz_wino_f32_output__avx2(const sqz_wino_img *g, const float *M, int64_t R0, int64_t q0, int64_t q1, int64_t kb,
                               const sqz_wino_out *o, float *y0);
void sqz_wino_f32_dyt__avx2(const sqz_wino_img *g, const sqz_wino_img *gd, const float *dyb0, int64_t dyb_img,
                            int64_t R0, int64_t t0, int64_t t1, float *Y);
void sqz_wino_f32_dw_gemm__avx2(const sqz_wino_img *g, const float *Y, const float *V, int64_t xi, int64_t ntiles,
                                float *P);
#endif

#endif
