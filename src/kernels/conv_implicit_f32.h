/* kernels/conv_implicit_f32.h - implicit-GEMM convolution (private to kernels/conv_f32.c and the
 * kernel tests).
 *
 * For a 2-D convolution with unit stride (other strides: phase planes, see conv_f32.c), the
 * input of one image group is copied once into a
 * zero-padded buffer xp (cg planes of Hp x Wp, Hp = OH + (KH-1)*dh, Wp = OW + (KW-1)*dw). In that
 * buffer the im2col matrix needs no copy: its row k = (ci, kh, kw), at output position
 * p = oy * Wp + ox of the padded-width output grid, is xp[off[k] + p] with
 * off[k] = ci * Hp * Wp + kh * dh * Wp + kw * dw, contiguous in p. A microkernel therefore reads
 * 32 consecutive positions of each row straight from xp (two unaligned vector loads) against the
 * GEMM's packed weight panels (sqz_gemm_f32_pack_a: no second packing format), keeps the whole
 * MR x 32 tile in registers over all K, and stores only the positions with ox < OW, as masked
 * row segments, with bias and clamp fused. The Wp - OW padding columns of each row are computed
 * and discarded (the driver takes this path only when that waste is small). */
#ifndef SQZ_KERNELS_CONV_IMPLICIT_F32_H
#define SQZ_KERNELS_CONV_IMPLICIT_F32_H

#include <stdint.h>

/* Phase planes (stride sw, phase column b, pad pl, input width W, plane width Wp): the plane
 * columns [*x0, *x1) hold input columns x * sw + b - pl; the others are padding. Shared by the
 * forward's padded copy and training's channels-last one. */
static inline void sqz_phase_cols(int64_t pl, int64_t b, int64_t sw, int64_t W, int64_t Wp, int64_t *x0,
                                  int64_t *x1) {
    *x0 = pl - b > 0 ? (pl - b + sw - 1) / sw : 0;
    *x1 = W + pl - b > 0 ? (W + pl - b + sw - 1) / sw : 0;
    if (*x1 > Wp) *x1 = Wp;
    if (*x0 > *x1) *x0 = *x1;
}

/* The store of one tile: up to 6 row segments; segment s sends lane l (0..31) with mask bit set
 * in mask[s][l / 16] to y_row[base[s] + l]. */
#define SQZ_ICONV_MAX_SEG 6
typedef struct sqz_iconv_tile {
    const float *a;      /* the group's packed weights (sqz_gemm_f32_pack_a layout) */
    int64_t rp, kc, K;   /* round_up(M, MR), the KC block, K = cg * KH * KW */
    const int32_t *off;  /* K offsets into xp */
    const float *bias;   /* the group's bias (M), or NULL */
    int clamp;
    float lo, hi;
    int accumulate;      /* store y + tile (tile with bias and clamp applied) instead of the tile */
    int nseg;
    int64_t base[SQZ_ICONV_MAX_SEG];
    uint16_t mask[SQZ_ICONV_MAX_SEG][2];
} sqz_iconv_tile;

/* Rows r0 .. r0+mr (mr <= MR) of the tile at x = xp + p0; y = the output plane of row r0, ldy the
 * distance between output planes (rows). */
typedef void (*sqz_iconv_f32_fn)(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                 int64_t ldy);

/* The transposed tile, for small outputs (7x7, 14x14: the padded-width columns would be up to
 * 30% of the work): R <= 14 consecutive output positions of one output row in rows, 32 output
 * channels in two vectors, weights as the GEMM's packed B panels of W^T (sqz_gemm_f32_pack_b with
 * trans: block pc at b + pc * np, the panel of channels j0.. at + j0 * kcb, b[k * 32 + j]); per k,
 * two aligned loads of weights and R broadcasts of x[off[k] + i]. No dropped positions; the tile
 * is stored transposed: channel j0 + c, position i to y[c * ldy + i] (c < nc, i < R). */
typedef struct sqz_iconv_rows {
    const float *b;
    int64_t np, kc, K;  /* round_up(channels, 32), the KC block, K */
    const int32_t *off;
    const float *bias;  /* all output channels' bias, or NULL */
    int clamp;
    float lo, hi;
    int accumulate;     /* store y + tile instead of the tile */
} sqz_iconv_rows;
/* R1 == R: R positions of one output row. R == 2 * R1 (R1 = 3..7, outputs at most 7 wide): R1
 * positions of one row and R1 of the next, read at x[off[k] + i + gap] (gap = Wp - R1) and
 * stored on: two whole output rows are consecutive in y. */
void sqz_iconv_rows_f32__avx512(const sqz_iconv_rows *t, int R, int R1, int64_t j0, int nc, const float *x,
                                int64_t gap, float *y, int64_t ldy);

/* Weight-gradient tiles: C[mr x nr] += A x B over kc, A a packed panel (a[k*MR + r], the layout of
 * sqz_gemm_f32_pack_a), B read in place (channels-last rows of a padded input, shifted by one
 * kernel tap), nr <= 16 * NV. The kc positions run along output rows: B row k is at b, each next
 * at + ldb, except that after a position in column run - 1 (the first one's column is col0) it
 * also skips `skip` floats (the padded columns), so no padded-column position is ever multiplied
 * (0 * Inf there would be NaN). */
typedef struct sqz_sb_rows {
    int64_t ldb, col0, run, skip;
} sqz_sb_rows;
typedef void (*sqz_sb_f32_fn)(int64_t kc, const float *a, const float *b, const sqz_sb_rows *br, float *c,
                              int64_t ldc, int mr, int nr);

#if defined(__x86_64__)
#define SQZ_SB_DECL(name)                                                                                     \
    void name(int64_t kc, const float *a, const float *b, const sqz_sb_rows *br, float *c, int64_t ldc, int mr, \
              int nr);
SQZ_SB_DECL(sqz_sb_f32_14x32__avx512)
SQZ_SB_DECL(sqz_sb_f32_8x32__avx512)
SQZ_SB_DECL(sqz_sb_f32_14x16__avx512)
SQZ_SB_DECL(sqz_sb_f32_8x16__avx512)
#undef SQZ_SB_DECL
void sqz_iconv_f32_14x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                 int64_t ldy);
void sqz_iconv_f32_8x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                int64_t ldy);
void sqz_iconv_f32_6x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                int64_t ldy);
/* The two column phases of one padded plane for a column stride of 2 (sqz_phase_cols with sw = 2),
 * phase row a of the row stride sh: plane row yy holds input row yy * sh + a - pt, and
 * d0[yy][j] = row[2 j - pl], d1[yy][j] = row[2 j + 1 - pl] (Hp x Wp each), 0 outside the H x W input. */
void sqz_iconv_phase_plane2__avx512(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t sh,
                                    int64_t a, int64_t Hp, int64_t Wp, float *d0, float *d1);
/* dst[c * ldd + r] = x[r * ld + c] for r < rows, c < cols (channels-first rows to channels-last;
 * in gemm_f32_pack.c, beside the GEMM's transposing packs). */
void sqz_f32_transpose__avx512(const float *x, int64_t ld, int64_t rows, int64_t cols, float *dst, int64_t ldd);
/* A panels of the 8- and 14-row tiles (sqz_gemm_f32_pack_a's layout, x86/gemm_f32_ukernel.h) */
void sqz_gemm_f32_pack_8__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                 int64_t kc, float *dst);
void sqz_gemm_f32_pack_14__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                  int64_t kc, float *dst);
#endif

#endif
