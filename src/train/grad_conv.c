/* train/grad_conv.c - Conv backward, f32: groups, depthwise, strides, pads, dilations, auto_pad.
 * The training forward is the inference Conv op itself (ops/nn_conv.c -> kernels/conv_f32.c):
 * nothing is kept from forward to backward.
 *
 * Dense convs work per image n and group g on an unfolded copy col = im2col(x_ng) (cg*kk, outsp)
 * that lives in a per-thread scratch buffer small enough to stay in cache:
 *   dW_g += dy_ng * col^T                                   (dot-product GEMM, no packing)
 *   dcol  = W_g^T * dy_ng,  dx_ng += col2im(dcol),  db += sum dy.
 * Pointwise convs on small planes get dW from one GEMM over the whole batch. With threads, images
 * are split in fixed contiguous ranges (each thread sums dW privately, parts added in thread order)
 * when the batch is large enough, else the GEMMs split. Depthwise convs run plane by plane:
 * dx as the forward of dy with the kernel flipped (3x3,
 * 5x5, stride 1) or direct loops, dW by masked AVX-512 dot products or portable loops. The bits
 * depend on the thread count and the CPU's instruction set, never on timing. */
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/cpu.h"
#include "kernels/conv_f32.h"
#include "kernels/conv_implicit_f32.h"
#include "kernels/conv_wino_f32.h"
#include "kernels/gemm_f32.h"
#include "ops/nn_util.h"
#include "train/grad.h"
#include "train/grad_vec.h"

typedef struct conv_geo {
    int nsp;
    int64_t N, C, M, group, cg, mg, kk, kdim, insp, outsp;
    int64_t in[SQZ_MAX_DIMS], out[SQZ_MAX_DIMS], kernel[SQZ_MAX_DIMS], stride[SQZ_MAX_DIMS],
        dil[SQZ_MAX_DIMS], pad[SQZ_MAX_DIMS];
    int pointwise, depthwise;
} conv_geo;

static sqz_status conv_geo_make(sqz_gctx *c, conv_geo *g) {
    const sqz_tensor *X = c->in[0], *W = c->in[1], *B = c->n_in > 2 ? c->in[2] : NULL;
    sqz_status st;
    if ((st = sqz_grad_check_f32(c, X, "X")) || (st = sqz_grad_check_f32(c, W, "W"))) return st;
    if (B && (st = sqz_grad_check_f32(c, B, "B"))) return st;
    memset(g, 0, sizeof *g);
    g->nsp = X->ndim - 2;
    if (g->nsp < 1 || W->ndim != X->ndim) return sqz_err_set(c->err, SQZ_ERR_DATA, "Conv: bad ranks");
    g->N = X->dims[0];
    g->C = X->dims[1];
    g->M = W->dims[0];
    g->group = sqz_node_attr_int(c->node, "group", 1);
    if (g->group < 1 || g->C % g->group || g->M % g->group || W->dims[1] * g->group != g->C)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Conv: channels do not match group");
    g->cg = g->C / g->group;
    g->mg = g->M / g->group;
    sqz_nn_window w;
    int64_t kernel[SQZ_MAX_DIMS];
    for (int d = 0; d < g->nsp; d++) kernel[d] = W->dims[2 + d];
    if ((st = sqz_nn_window_read(c->node, g->nsp, kernel, &w, c->err))) return st;
    g->kk = g->insp = g->outsp = 1;
    g->pointwise = 1;
    for (int d = 0; d < g->nsp; d++) {
        g->in[d] = X->dims[2 + d];
        if ((st = sqz_nn_window_out(&w, d, g->in[d], &g->out[d], c->err))) return st;
        g->kernel[d] = w.kernel[d];
        g->stride[d] = w.stride[d];
        g->dil[d] = w.dilation[d];
        g->pad[d] = w.pad_begin[d];
        g->kk *= g->kernel[d];
        g->insp *= g->in[d];
        g->outsp *= g->out[d];
        if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->in[d] != g->out[d]) g->pointwise = 0;
    }
    g->kdim = g->cg * g->kk;
    g->depthwise = g->cg == 1 && g->group > 1 && g->nsp <= 2 && !g->pointwise;
    return SQZ_OK;
}

typedef float cv16 __attribute__((vector_size(64)));
typedef float cv8 __attribute__((vector_size(32)));
typedef float cv4 __attribute__((vector_size(16)));

/* d[0..n) = s[0..n) (add: +=) in 16/8/4-float pieces (rows of a few dozen floats). */
static inline __attribute__((always_inline)) void row_move(float *d, const float *s, int64_t n, int add) {
    int64_t i = 0;
#define ROW_PIECE(T, W)                                  \
    {                                                    \
        T a_, b_;                                        \
        __builtin_memcpy(&a_, s + i, sizeof a_);         \
        if (add) {                                       \
            __builtin_memcpy(&b_, d + i, sizeof b_);     \
            a_ += b_;                                    \
        }                                                \
        __builtin_memcpy(d + i, &a_, sizeof a_);         \
        i += W;                                          \
    }
    for (; i + 16 <= n;) ROW_PIECE(cv16, 16)
    if (i + 8 <= n) ROW_PIECE(cv8, 8)
    if (i + 4 <= n) ROW_PIECE(cv4, 4)
#undef ROW_PIECE
    for (; i < n; i++) d[i] = add ? d[i] + s[i] : s[i];
}

/* Moves values between the column matrix col (channels*kk, outsp) and the image img
 * (channels, insp): scatter == 0 gathers (zeros where the window reads padding), scatter != 0
 * adds col into img. */
/* Range [a, b) of outputs o whose input o * stride + off lies in [0, in), clipped to [0, out). */
static inline void valid_range(int64_t off, int64_t stride, int64_t in, int64_t out, int64_t *a, int64_t *b) {
    *a = off < 0 ? (-off + stride - 1) / stride : 0;
    *b = in - 1 - off >= 0 ? (in - 1 - off) / stride + 1 : 0;
    if (*b > out) *b = out;
    if (*a > *b) *a = *b;
}

/* unfold for 2-D convolutions: one pass per (channel, ky, kx) row of col with the valid output
 * rectangle computed once. */
SQZ_TV_CLONES static void unfold2d(const conv_geo *g, int64_t channels, float *col, float *img, int scatter) {
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    const int64_t sh = g->stride[0], sw = g->stride[1];
    /* the scatter of a column stride of 2: all taps of a kernel row per image row, in vectors */
    int64_t offx[16], lox[16], hix[16];
    const int w2 = scatter && sw == 2 && KW <= 16 && sqz_cpu_isa() >= SQZ_ISA_AVX512;
    for (int64_t kx = 0; w2 && kx < KW; kx++) {
        offx[kx] = kx * g->dil[1] - g->pad[1];
        valid_range(offx[kx], sw, W, OW, &lox[kx], &hix[kx]);
    }
    for (int64_t ch = 0; ch < channels; ch++) {
        float *im = img + ch * H * W;
        for (int64_t ky = 0; ky < KH; ky++) {
            const int64_t offy = ky * g->dil[0] - g->pad[0];
            int64_t ya, yb;
            valid_range(offy, sh, H, OH, &ya, &yb);
            if (w2) {
                sqz_tv_col2im_w2__avx512(im, W, sh, offy, ya, yb, col + (ch * KH + ky) * KW * OH * OW, OH * OW, OW,
                                         (int)KW, offx, lox, hix);
                continue;
            }
            for (int64_t kx = 0; kx < KW; kx++) {
                float *row = col + ((ch * KH + ky) * KW + kx) * OH * OW;
                const int64_t offx = kx * g->dil[1] - g->pad[1];
                int64_t lo, hi;
                valid_range(offx, sw, W, OW, &lo, &hi);
                if (!scatter) {
                    memset(row, 0, sizeof(float) * (size_t)(ya * OW));
                    memset(row + yb * OW, 0, sizeof(float) * (size_t)((OH - yb) * OW));
                }
                if (sh == 1 && sw == 1 && W == OW && ya < yb) {
                    /* rows of col and image are both W apart: one shifted copy of the valid rows,
                     * with the border columns (which wrap into the neighbouring row) zeroed in col
                     * (before a scatter, so they add nothing) */
                    float *r0 = row + ya * OW, *s0 = im + (ya + offy) * W + offx;
                    const int64_t n = (yb - ya) * OW - (OW - hi);
                    if (scatter)
                        for (int64_t oy = ya; oy < yb; oy++) {
                            for (int64_t p = 0; p < lo; p++) row[oy * OW + p] = 0;
                            for (int64_t p = hi; p < OW; p++) row[oy * OW + p] = 0;
                        }
                    if (n > lo) row_move(scatter ? s0 + lo : r0 + lo, scatter ? r0 + lo : s0 + lo, n - lo, scatter);
                    if (!scatter)
                        for (int64_t oy = ya; oy < yb; oy++) {
                            for (int64_t p = 0; p < lo; p++) row[oy * OW + p] = 0;
                            for (int64_t p = hi; p < OW; p++) row[oy * OW + p] = 0;
                        }
                    continue;
                }
                for (int64_t oy = ya; oy < yb; oy++) {
                    float *r = row + oy * OW;
                    float *src = im + (oy * sh + offy) * W + offx;
                    if (!scatter) {
                        for (int64_t p = 0; p < lo; p++) r[p] = 0;
                        if (sw == 1) row_move(r + lo, src + lo, hi - lo, 0);
                        else
                            for (int64_t p = lo; p < hi; p++) r[p] = src[p * sw];
                        for (int64_t p = hi; p < OW; p++) r[p] = 0;
                    } else if (sw == 1) {
                        row_move(src + lo, r + lo, hi - lo, 1);
                    } else {
                        for (int64_t p = lo; p < hi; p++) src[p * sw] += r[p];
                    }
                }
            }
        }
    }
}

/* The kernels' parameters for one image of this geometry. */
static void geo_params(const conv_geo *g, sqz_conv_params *p) {
    *p = (sqz_conv_params){.nsp = g->nsp, .batch = 1, .c_in = g->C, .c_out = g->M, .group = g->group};
    for (int d = 0; d < g->nsp; d++) {
        p->in[d] = g->in[d];
        p->out[d] = g->out[d];
        p->kernel[d] = g->kernel[d];
        p->stride[d] = g->stride[d];
        p->dilation[d] = g->dil[d];
        p->pad_begin[d] = g->pad[d];
    }
}

static void unfold(const conv_geo *g, int64_t channels, float *col, float *img, int scatter) {
    if (g->nsp == 2) {
        unfold2d(g, channels, col, img, scatter);
        return;
    }
    /* other ranks: the kernels' N-D unfold (gather, or scatter-add for col2im) */
    sqz_conv_params p;
    geo_params(g, &p);
    sqz_conv_unfold_f32(&p, channels, img, col, g->outsp, scatter);
}

/* 2-D view of a depthwise geometry (1-D convs are 1 x W). */
typedef struct dw2 {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw;
} dw2;

static dw2 dw_view(const conv_geo *g) {
    const int two = g->nsp == 2;
    dw2 v = {two ? g->in[0] : 1, g->in[two], two ? g->out[0] : 1, g->out[two], two ? g->kernel[0] : 1,
             g->kernel[two], two ? g->stride[0] : 1, g->stride[two], two ? g->dil[0] : 1, g->dil[two],
             two ? g->pad[0] : 0, g->pad[two]};
    return v;
}

/* dx += conv^T(dy, w): one input plane per iteration (its mg output channels in order). With
 * stride 1, no dilation and a 3x3 / 5x5 kernel this is the forward plane kernel run on dy with
 * the kernel flipped and padding K - 1 - pad (AVX-512), into a per-thread plane then added. */
static sqz_status dw_backward_x(sqz_gctx *c, const conv_geo *g, const float *w, const float *dy, float *dx) {
    const dw2 v = dw_view(g);
    const sqz_dw_plane pg = {v.H, v.W, v.OH, v.OW, v.KH, v.KW, v.sh, v.sw, v.dh, v.dw, v.ph, v.pw};
    const int64_t planes = g->N * g->C;
    const int nt = sqz_tv_threads(c->threads, g->N * g->M * v.OH * v.OW * v.KH * v.KW / 4);
    int flip = 0;
#if defined(__x86_64__)
    flip = sqz_cpu_isa() >= SQZ_ISA_AVX512 && v.sh == v.sw && (v.sh == 1 || v.sh == 2) && v.dh == 1 && v.dw == 1 &&
           v.KH == v.KW && (v.KH == 3 || v.KH == 5) && v.ph < v.KH && v.pw < v.KW;
#endif
    /* the flipped-kernel forward on dy; stride 2: on dy spread to every other row and column
     * (zeros between: 4x the multiplies, but 16 outputs per vector instead of rows of 7 or 14) */
    const int64_t s = v.sh, zf = s == 2 ? (s * v.OH * s * v.OW + 15) / 16 * 16 : 0;
    float *tmp = NULL;
    if (flip &&
        !(tmp = sqz_grad_scratch(c, SQZ_GS_C, sizeof(float) * (size_t)(nt * (v.H * v.W + zf) + 16) + 64)))
        return SQZ_ERR_NOMEM;
    const sqz_dw_plane fg = {s * v.OH, s * v.OW, v.H, v.W, v.KH, v.KW, 1, 1, 1, 1, v.KH - 1 - v.ph, v.KW - 1 - v.pw};
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t p = 0; p < planes; p++) {
        const int64_t n = p / g->C, ic = p % g->C;
        float *dxp = dx + p * v.H * v.W;
        for (int64_t oc = ic * g->mg; oc < (ic + 1) * g->mg; oc++) {
            const float *wk = w + oc * v.KH * v.KW, *dyp = dy + (n * g->M + oc) * v.OH * v.OW;
            int done = 0;
#if defined(__x86_64__)
            if (flip) {
                int t = 0;
#ifdef _OPENMP
                t = nt > 1 ? omp_get_thread_num() : 0;
#endif
                float wf[25], *tp = tmp + (int64_t)t * (v.H * v.W + zf);
                for (int64_t i = 0; i < v.KH * v.KW; i++) wf[i] = wk[v.KH * v.KW - 1 - i];
                const float *src = dyp;
                if (zf) {
                    float *z = (float *)(((uintptr_t)(tp + v.H * v.W) + 63) & ~(uintptr_t)63);
                    memset(z, 0, sizeof(float) * (size_t)(4 * v.OH * v.OW));
                    for (int64_t oy = 0; oy < v.OH; oy++)
                        for (int64_t ox = 0; ox < v.OW; ox++) z[2 * oy * 2 * v.OW + 2 * ox] = dyp[oy * v.OW + ox];
                    src = z;
                }
                done = sqz_dwconv2d_f32_plane__avx512(&fg, src, wf, 0.0f, NULL, tp);
                if (done) sqz_tv_add(dxp, tp, v.H * v.W);
            }
#endif
            if (!done) sqz_tv_dw_bwd_x(&pg, wk, dyp, dxp);
        }
    }
    return SQZ_OK;
}

/* dw += corr(dy, x): one output channel per iteration, images in order. */
static sqz_status dw_backward_w(sqz_gctx *c, const conv_geo *g, const float *x, const float *dy, float *dw) {
    const dw2 v = dw_view(g);
    const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512;
    const sqz_dw_plane pg = {v.H, v.W, v.OH, v.OW, v.KH, v.KW, v.sh, v.sw, v.dh, v.dw, v.ph, v.pw};
    const int nt = sqz_tv_threads(c->threads, g->N * g->M * v.OH * v.OW * v.KH * v.KW / 4);
    /* column stride 2: each plane split into its two column phases first (per thread), so the
     * dot products run over contiguous rows instead of every other input */
    const int64_t phf = v.sw == 2 ? (2 * v.H * ((v.W + 1) / 2) + 15) / 16 * 16 : 0;
    float *ph = phf ? sqz_grad_scratch(c, SQZ_GS_C, sizeof(float) * (size_t)(phf * nt) + 64) : NULL;
    if (phf && !ph) return SQZ_ERR_NOMEM;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t oc = 0; oc < g->M; oc++)
        for (int64_t n = 0; n < g->N; n++) {
            const float *xp = x + (n * g->C + oc / g->mg) * v.H * v.W, *dyp = dy + (n * g->M + oc) * v.OH * v.OW;
            float *mine = NULL;
            if (ph) {
                int t = 0;
#ifdef _OPENMP
                t = nt > 1 ? omp_get_thread_num() : 0;
#endif
                mine = ph + (size_t)t * (size_t)phf;
                sqz_tv_deinterleave2(xp, v.H, v.W, mine);
            }
            if (!(!ph && avx512 && sqz_tv_dw_bwd_w__avx512(&pg, xp, dyp, dw + oc * v.KH * v.KW)))
                sqz_tv_dw_bwd_w(&pg, xp, mine, dyp, dw + oc * v.KH * v.KW);
        }
    return SQZ_OK;
}

/* Unit-stride 2-D dW without unfolding, for the layers conv_bwd_w_taps leaves (few channels,
 * no AVX-512): per image group, x goes into KW copies, copy kw holding for every padded input row
 * (Hp = OH + (KH-1)*dh of them) the OW inputs that kernel column kw reads, zeros where that is
 * padding. Row k = (ci, kh, kw) of the unfolded input is then the contiguous window of copy kw at
 * off[k] = (kw*cg + ci)*Hp*OW + kh*dh*OW, exactly as long as an output plane (OH*OW), so
 * dW_g += dy * window^T runs as dot products over real positions only, dy read in place. */
typedef struct shift_geo {
    int64_t Hp, Wp;
    size_t off_f, xs_f, xp_f; /* floats of the offsets, of one image's copies and of the padded image */
    int64_t ch;               /* images per call of the dot products (their copies fill ~512 KiB) */
} shift_geo;

static int shift_plan(const conv_geo *g, shift_geo *s) {
    if (g->nsp != 2 || g->pointwise || g->depthwise || g->stride[0] != 1 || g->stride[1] != 1) return 0;
    s->Hp = g->out[0] + (g->kernel[0] - 1) * g->dil[0];
    s->Wp = g->out[1] + (g->kernel[1] - 1) * g->dil[1];
    const int64_t xs = g->kernel[1] * g->cg * s->Hp * g->out[1];
    if (xs > INT32_MAX) return 0;
    s->off_f = (size_t)(g->kdim + 15) / 16 * 16;
    s->xs_f = (size_t)(xs + 15) / 16 * 16;
    s->xp_f = (size_t)(g->cg * s->Hp * s->Wp + 15) / 16 * 16;
    s->ch = (int64_t)((size_t)131072 / s->xs_f);
    if (s->ch > g->N) s->ch = g->N;
    if (s->ch < 1) s->ch = 1;
    return 1;
}

static size_t shift_floats(const shift_geo *s) { return s->off_f + s->xp_f + (size_t)s->ch * s->xs_f; }

/* dW of group gr += the dot products of images [n0, n0 + cnt), one segment per image, their
 * lanes added up once. Each image goes first into a zero-padded copy (Hp x Wp planes), from which
 * the KW column-shifted copies are cut as rows of OW. */
static void shift_dw(const conv_geo *g, const shift_geo *s, const float *x, const float *dy, int64_t n0,
                     int64_t cnt, int64_t gr, float *buf, float *dwg) {
    int32_t *off = (int32_t *)buf;
    float *xp = buf + s->off_f, *xs0 = xp + s->xp_f;
    const int64_t KW = g->kernel[1], pt = g->pad[0], pl = g->pad[1], H = g->in[0], W = g->in[1];
    const int64_t OW = g->out[1], Wp = s->Wp, plane = s->Hp * OW, pplane = s->Hp * Wp;
    for (int64_t k = 0; k < g->kdim; k++) {
        const int64_t ci = k / g->kk, kh = k % g->kk / KW, kw = k % KW;
        off[k] = (int32_t)((kw * g->cg + ci) * plane + kh * g->dil[0] * OW);
    }
    /* input columns [ix0, ix1) land in the padded rows (pads may be negative: cropped) */
    const int64_t ix0 = pl < 0 ? -pl : 0, ix1 = W < Wp - pl ? W : Wp - pl;
    memset(xp, 0, sizeof(float) * s->xp_f);
    for (int64_t i = 0; i < cnt; i++) {
        const float *xg = x + ((n0 + i) * g->C + gr * g->cg) * g->insp;
        float *xs = xs0 + (size_t)i * s->xs_f;
        for (int64_t ci = 0; ci < g->cg; ci++)
            for (int64_t iy = pt < 0 ? -pt : 0; iy < H && iy + pt < s->Hp && ix0 < ix1; iy++)
                memcpy(xp + ci * pplane + (iy + pt) * Wp + pl + ix0, xg + ci * g->insp + iy * W + ix0,
                       sizeof(float) * (size_t)(ix1 - ix0));
        for (int64_t kw = 0; kw < KW; kw++)
            for (int64_t ci = 0; ci < g->cg; ci++)
                for (int64_t r = 0; r < s->Hp; r++) {
                    float *restrict row = xs + (kw * g->cg + ci) * plane + r * OW;
                    const float *restrict src = xp + ci * pplane + r * Wp + kw * g->dil[1];
#ifdef _OPENMP
#pragma omp simd
#endif
                    for (int64_t ox = 0; ox < OW; ox++) row[ox] = src[ox];
                }
    }
    sqz_tv_gemm_abt_segs(g->mg, g->kdim, g->outsp, dy + (n0 * g->M + gr * g->mg) * g->outsp, g->outsp, xs0, off,
                         dwg, g->kdim, cnt, g->M * g->outsp, (int64_t)s->xs_f);
}

/* Threads for a per-image split (each image's GEMMs on one thread), or 1: then the GEMMs split. */
static int image_threads(const sqz_gctx *c, const conv_geo *g) {
    const int nt = sqz_tv_threads(c->threads, g->N * g->M * g->outsp * g->kdim);
    return nt > 1 && g->N >= 2 * nt ? nt : 1;
}

/* Per-thread scratch, each part 64-byte aligned: an unfolded image group (kdim x outsp, unless
 * pointwise; backward reuses it for dcol), the GEMM's packing space for the forward and the dX
 * shapes, and with dw_part a private dW (M x kdim) when images are split over threads. */
typedef struct conv_scratch {
    char *base;
    size_t per;           /* bytes per thread */
    size_t col, dwp;      /* offsets of the GEMM space (after the column buffer) and of the dW part */
} conv_scratch;

static int conv_scratch_get(sqz_gctx *c, const conv_geo *g, int nt, int64_t dw_part, conv_scratch *cs) {
    const sqz_isa isa = sqz_cpu_isa();
    const int gt = nt > 1 ? 1 : c->threads;
    size_t gs = sqz_gemm_f32_scratch_bytes(isa, gt, g->mg, g->outsp, g->kdim);
    const size_t gs2 = sqz_gemm_f32_scratch_bytes(isa, gt, g->kdim, g->outsp, g->mg);
    if (gs2 > gs) gs = gs2;
    size_t colb = g->pointwise ? 0 : ((sizeof(float) * (size_t)(g->kdim * g->outsp) + 63) & ~(size_t)63);
    shift_geo sg;
    if (shift_plan(g, &sg) && shift_floats(&sg) * sizeof(float) > colb) colb = shift_floats(&sg) * sizeof(float);
    const size_t dwb = (sizeof(float) * (size_t)dw_part + 63) & ~(size_t)63;
    cs->col = colb;
    cs->dwp = colb + ((gs + 63) & ~(size_t)63);
    cs->per = cs->dwp + dwb;
    cs->base = sqz_grad_scratch(c, SQZ_GS_B, cs->per * (size_t)nt + 64);
    return cs->base ? 0 : -1;
}

/* C = op(A) B + beta C; pa: op(A) packed by sqz_gemm_f32_pack_a (then A is not read), or NULL. */
static void gemm1p(int threads, void *scratch, int ta, int tb, int64_t M, int64_t N, int64_t K, const float *A,
                   int64_t lda, const float *pa, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                   const sqz_gemm_epi *epi) {
    const sqz_gemm_f32_args ga = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = 1.0f, .beta = beta,
                                  .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc, .epi = epi,
                                  .packed_a = pa};
    sqz_gemm_f32(sqz_cpu_isa(), threads, &ga, scratch);
}


/* Images [n0, n1) of part t of nt (contiguous, fixed by N and nt). */
static void image_range(const conv_geo *g, int t, int nt, int64_t *n0, int64_t *n1) {
    *n0 = g->N * t / nt;
    *n1 = g->N * (t + 1) / nt;
}

/* Forward per image and group: unfold into this thread's scratch (it stays in cache), then
 * y = W col + b by GEMM with the bias in its epilogue. */
/* A 1x1 conv with stride > 1 and no padding (ResNet's downsampling shortcuts): output (oy, ox)
 * reads input (oy * sh, ox * sw) alone, the other inputs get no gradient. */
static int strided_pw(const conv_geo *g) {
    if (g->nsp != 2 || g->pointwise || g->kk != 1) return 0;
    for (int d = 0; d < 2; d++)
        if (g->pad[d] != 0 || g->out[d] < 1 || (g->out[d] - 1) * g->stride[d] >= g->in[d]) return 0;
    return 1;
}

/* dst (OH x OW) = the strided positions of the input plane src (H x W). */
static void strided_gather(const conv_geo *g, const float *src, float *dst) {
    const int64_t W = g->in[1], OH = g->out[0], OW = g->out[1], sh = g->stride[0], sw = g->stride[1];
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++) dst[oy * OW + ox] = src[oy * sh * W + ox * sw];
}

/* The input-gradient plane dx (H x W) from col (OH x OW) at the strided positions: set writes
 * every position (0 between them), otherwise only the strided ones are added to. */
static void strided_scatter(const conv_geo *g, const float *col, float *dx, int set) {
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1], sh = g->stride[0], sw = g->stride[1];
    for (int64_t iy = 0; iy < H; iy++) {
        float *row = dx + iy * W;
        const int hit = iy % sh == 0 && iy / sh < OH;
        if (!hit) {
            if (set) memset(row, 0, sizeof(float) * (size_t)W);
            continue;
        }
        const float *c = col + iy / sh * OW;
        if (set) {
            memset(row, 0, sizeof(float) * (size_t)W);
            for (int64_t ox = 0; ox < OW; ox++) row[ox * sw] = c[ox];
        } else {
            for (int64_t ox = 0; ox < OW; ox++) row[ox * sw] += c[ox];
        }
    }
}

/* Planes smaller than this many positions get their pointwise dW from one GEMM over the batch. */
#define CONV_BATCHED_DW_MAX_SP 256

/* dW += dY X^T for a pointwise conv (group 1; or strided_pw, X at its strided positions) with
 * K = N * outsp: dY and X are first gathered into (M, N * sp) and (C, N * sp) so the dot products
 * run long. Threads own fixed column
 * ranges of dW (multiples of 4: the same blocks as on one thread, so the same bits). */
static sqz_status conv_dw_batched(sqz_gctx *c, const conv_geo *g, const float *x, const float *dy, float *dw) {
    const int64_t sp = g->outsp, K = g->N * sp;
    float *buf = sqz_grad_scratch(c, SQZ_GS_C, sizeof(float) * (size_t)((g->M + g->C) * K) + 64);
    if (!buf) return SQZ_ERR_NOMEM;
    float *a = buf, *b = buf + g->M * K;
    const int nt = sqz_tv_threads(c->threads, (g->M + g->C) * K * 4);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t r = 0; r < g->M + g->C; r++) {
            const int64_t ch = r < g->M ? r : r - g->M, cnt = r < g->M ? g->M : g->C;
            const float *src = r < g->M ? dy : x;
            float *dst = buf + r * K;
            for (int64_t n = 0; n < g->N; n++) {
                if (r >= g->M && !g->pointwise) strided_gather(g, x + (n * g->C + ch) * g->insp, dst + n * sp);
                else memcpy(dst + n * sp, src + (n * cnt + ch) * sp, sizeof(float) * (size_t)sp);
            }
        }
        int t = 0, tn = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        tn = omp_get_num_threads();
#endif
        const int64_t chunk = ((g->kdim + tn - 1) / tn + 3) & ~(int64_t)3;
        const int64_t j0 = t * chunk, j1 = j0 + chunk < g->kdim ? j0 + chunk : g->kdim;
        if (j0 < j1) sqz_tv_gemm_abt(g->M, j1 - j0, K, a, K, b + j0 * K, K, dw + j0, g->kdim);
    }
    return SQZ_OK;
}

/* The forward geometry (q) that computes dx of a 2-D unit-stride conv by the implicit GEMM or
 * Winograd: the input and output swapped, pads (k-1)*d - pad (possibly negative); 0 when neither
 * path takes it. */
static int dx_implicit_params(const conv_geo *g, sqz_conv_params *q) {
    if (g->nsp != 2 || g->pointwise || g->depthwise || g->stride[0] != 1 || g->stride[1] != 1) return 0;
    geo_params(g, q);
    q->batch = g->N;
    q->c_in = g->M;
    q->c_out = g->C;
    for (int d = 0; d < 2; d++) {
        q->in[d] = g->out[d];
        q->out[d] = g->in[d];
        q->pad_begin[d] = (g->kernel[d] - 1) * g->dil[d] - g->pad[d];
    }
    const char *path = sqz_conv_f32_path(sqz_cpu_isa(), q);
    return !strcmp(path, "implicit") || !strcmp(path, "winograd");
}

static int conv_bwd_x_implicit_takes(const conv_geo *g) {
    sqz_conv_params q;
    return dx_implicit_params(g, &q);
}

/* dx += (set: dx =) the input gradient of a 2-D unit-stride conv as a forward convolution of dy
 * with the kernel flipped and its channel axes swapped, through the implicit-GEMM or Winograd
 * kernels (sqz_conv_f32_implicit): no dcol, no col2im. Returns 1 when it ran (st set on failure), 0 when that path does not take this
 * geometry. */
static int conv_bwd_x_implicit(sqz_gctx *c, const conv_geo *g, const float *w, const float *dy, float *dx,
                               int set, sqz_status *st) {
    sqz_conv_params q;
    if (!dx_implicit_params(g, &q)) return 0;
    const sqz_isa isa = sqz_cpu_isa();
    const size_t sb = sqz_conv_f32_scratch_bytes(isa, c->threads, &q);
    const size_t wb = (sizeof(float) * (size_t)(g->M * g->kdim) + 63) & ~(size_t)63;
    char *buf = sb == SIZE_MAX ? NULL : sqz_grad_scratch(c, SQZ_GS_C, wb + sb + 64);
    if (!buf) {
        *st = SQZ_ERR_NOMEM;
        return 1;
    }
    float *wt = (float *)buf;
    for (int64_t gr = 0; gr < g->group; gr++)
        for (int64_t co = 0; co < g->mg; co++)
            for (int64_t ci = 0; ci < g->cg; ci++) {
                const float *src = w + ((gr * g->mg + co) * g->cg + ci) * g->kk;
                float *dst = wt + ((gr * g->cg + ci) * g->mg + co) * g->kk;
                for (int64_t k = 0; k < g->kk; k++) dst[g->kk - 1 - k] = src[k];
            }
    sqz_conv_f32_implicit(isa, c->threads, &q, dy, wt, !set, dx, buf + wb);
    *st = SQZ_OK;
    return 1;
}

/* dW += the weight gradient of a 3x3 stride-1 conv through the Winograd transforms
 * (kernels/conv_wino_f32.h: a quarter of the multiplies), where the forward would take that path
 * (AVX-512 or AVX2, one group, 16+ channels in and out). With enough images threads sum private parts
 * added in thread order (bits depend on the thread count, never on timing). Returns 1 when it
 * ran (st set), else 0. */
static int conv_bwd_w_wino(sqz_gctx *c, const conv_geo *g, const float *x, const float *dy, float *dw,
                           sqz_status *st) {
    if (g->nsp != 2 || g->group != 1) return 0;
    sqz_conv_params p;
    geo_params(g, &p);
    p.batch = g->N;
    if (strcmp(sqz_conv_f32_path(sqz_cpu_isa(), &p), "winograd")) return 0;
    sqz_wino_plan w;
    if (!sqz_wino_f32_plan(sqz_cpu_isa(), &p, c->threads, &w)) return 0;
    const size_t bytes = sqz_wino_f32_dw_scratch_bytes(&w);
    void *buf = sqz_grad_scratch(c, SQZ_GS_C, bytes + 64);
    if (!buf) {
        *st = SQZ_ERR_NOMEM;
        return 1;
    }
    sqz_wino_f32_dw(&w, c->threads, x, dy, dw, buf);
    *st = SQZ_OK;
    return 1;
}

/* dW of a 2-D conv by kernel tap, without unfolding x (AVX-512). Per image and group, x goes
 * once into a zero-padded channels-last copy xt (rows q = yy * Wp + xx of cg floats; for strides
 * sh x sw, sh * sw such phase planes, phase (a, b) holding padded rows a, a + sh, ... and columns
 * b, b + sw, ...) and dy into packed GEMM panels over the output positions. Tap (kh, kw) is then
 * one GEMM whose B needs no packing: output position (oy, ox) reads row (oy + kh*dh / sh) * Wp +
 * ox + kw*dw / sw of phase (kh*dh % sh, kw*dw % sw), in place, the tile stepping over the padded
 * columns at each row's end:  dW_tap (mg x cg) += dy_panels x xt_shifted.
 * Images are split over threads in fixed ranges (private sums added in thread order), so the bits
 * depend on the thread count, never on timing. Returns 1 when it ran (st set), else 0. */
#define TAP_KC 256
typedef struct tap_geo {
    int64_t sh, sw, Hp, Wp, P, rows; /* rows: per phase plane, with slack for the last tiles */
    uint32_t used;                   /* bit ph: phase plane ph is read by some tap */
} tap_geo;

/* The channels-last phase planes of one image group xg (cg planes of H x W): those a tap reads
 * (bit ph of t->used; a 1x1 stride-2 layer reads one of its four). */
static void taps_copy(const conv_geo *g, const tap_geo *t, const float *xg, float *xt) {
    const int64_t H = g->in[0], W = g->in[1], pt = g->pad[0], pl = g->pad[1], cg = g->cg;
    for (int64_t ph = 0; ph < t->sh * t->sw; ph++) {
        if (!(t->used >> ph & 1u)) continue;
        const int64_t a = ph / t->sw, b = ph % t->sw;
        float *plane = xt + ph * t->rows * cg;
        /* padded column xx = x * sw + b reads input column xx - pl: x in [x0, x1) are inside */
        int64_t x0, x1;
        sqz_phase_cols(pl, b, t->sw, W, t->Wp, &x0, &x1);
        for (int64_t y = 0; y < t->Hp; y++) {
            float *row = plane + y * t->Wp * cg;
            const int64_t iy = y * t->sh + a - pt;
            if (iy < 0 || iy >= H || x0 == x1) {
                memset(row, 0, sizeof(float) * (size_t)(t->Wp * cg));
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)(x0 * cg));
            memset(row + x1 * cg, 0, sizeof(float) * (size_t)((t->Wp - x1) * cg));
            const float *src = xg + iy * W + (x0 * t->sw + b - pl);
#if defined(__x86_64__)
            if (t->sw == 1) { /* AVX-512 (the only caller): 16 x 16 blocks transposed in registers */
                sqz_f32_transpose__avx512(src, g->insp, cg, x1 - x0, row + x0 * cg, cg);
                continue;
            }
#endif
            /* position-major: each output row of cg floats written whole, the cg input rows read
             * as parallel streams (the other order strides every write across the plane) */
            for (int64_t x = 0; x < x1 - x0; x++) {
                float *d = row + (x0 + x) * cg;
                const float *sx = src + x * t->sw;
                for (int64_t ci = 0; ci < cg; ci++) d[ci] = sx[ci * g->insp];
            }
        }
        memset(plane + t->Hp * t->Wp * cg, 0, sizeof(float) * (size_t)((t->rows - t->Hp * t->Wp) * cg));
    }
}

static int conv_bwd_w_taps(sqz_gctx *c, const conv_geo *g, const float *x, const float *dy, float *dw,
                           sqz_status *st) {
#if defined(__x86_64__)
    if (sqz_cpu_isa() < SQZ_ISA_AVX512 || g->nsp != 2 || g->pointwise || g->depthwise || g->cg < 8) return 0;
    const int64_t OH = g->out[0], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    const int64_t dh = g->dil[0], dwd = g->dil[1];
    tap_geo tg = {.sh = g->stride[0], .sw = g->stride[1]};
    if (tg.sh < 1 || tg.sw < 1 || tg.sh > 4 || tg.sw > 4) return 0;
    tg.Hp = OH + (KH - 1) * dh / tg.sh;
    tg.Wp = OW + (KW - 1) * dwd / tg.sw;
    tg.P = OH * OW; /* the valid output positions only: the GEMMs never touch a padded column */
    tg.rows = (tg.Hp + 1) * tg.Wp + KW * dwd + 2;
    const int64_t Wp = tg.Wp, P = tg.P;
    if (OW < 4 || Wp * 2 > OW * 3) return 0;
    const int64_t rows14 = (g->mg + 13) / 14 * 14, rows8 = (g->mg + 7) / 8 * 8;
    const int MR = rows8 * 104 < rows14 * 100 ? 8 : 14;
    const int64_t rp = MR == 8 ? rows8 : rows14;
    for (int64_t kt = 0; kt < g->kk; kt++)
        tg.used |= 1u << ((kt / KW * dh % tg.sh) * tg.sw + kt % KW * dwd % tg.sw);
    const size_t xt_f = (size_t)(tg.sh * tg.sw * tg.rows * g->cg + 32 + 15) / 16 * 16;
    const size_t a_f = (size_t)(rp * P + 15) / 16 * 16, tap_f = (size_t)(g->kk * g->M * g->cg + 15) / 16 * 16;
    const int nt = image_threads(c, g);
    const size_t per = (xt_f + a_f + tap_f) * sizeof(float);
    char *base = sqz_grad_scratch(c, SQZ_GS_B, per * (size_t)nt + 64);
    if (!base) {
        *st = SQZ_ERR_NOMEM;
        return 1;
    }
    const sqz_sb_f32_fn f32w = MR == 14 ? sqz_sb_f32_14x32__avx512 : sqz_sb_f32_8x32__avx512;
    const sqz_sb_f32_fn f16w = MR == 14 ? sqz_sb_f32_14x16__avx512 : sqz_sb_f32_8x16__avx512;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        float *xt = (float *)(base + (size_t)t * per), *ap = xt + xt_f, *tap = ap + a_f;
        memset(tap, 0, sizeof(float) * tap_f);
        int64_t n0, n1;
        image_range(g, t, nt, &n0, &n1);
        for (int64_t n = n0; n < n1; n++)
            for (int64_t gr = 0; gr < g->group; gr++) {
                taps_copy(g, &tg, x + (n * g->C + gr * g->cg) * g->insp, xt);
                /* dy in packed panels over the output positions (zero in the rows past mg) */
                const float *dyg = dy + (n * g->M + gr * g->mg) * g->outsp;
                for (int64_t pc = 0; pc < P; pc += TAP_KC) {
                    const int64_t kc = P - pc < TAP_KC ? P - pc : TAP_KC;
                    for (int64_t r0 = 0; r0 < rp; r0 += MR) {
                        float *a = ap + pc * rp + r0 * kc; /* one panel: a few KB, in L1 */
                        const int nr = (int)(g->mg - r0 < MR ? g->mg - r0 : MR);
                        (MR == 8 ? sqz_gemm_f32_pack_8__avx512 : sqz_gemm_f32_pack_14__avx512)(dyg, g->outsp, 0, r0, nr,
                                                                                             pc, kc, a);
                    }
                }
                float *tgr = tap + gr * g->kk * g->mg * g->cg;
                for (int64_t pc = 0; pc < P; pc += TAP_KC) {
                    const int64_t kc = P - pc < TAP_KC ? P - pc : TAP_KC;
                    /* position pc is (oy0, ox0); B walks its output rows, skipping padded columns */
                    const int64_t oy0 = pc / OW, ox0 = pc % OW;
                    const sqz_sb_rows br = {.ldb = g->cg, .col0 = ox0, .run = OW, .skip = (Wp - OW) * g->cg};
                    for (int64_t kt = 0; kt < g->kk; kt++) {
                        const int64_t ry = kt / KW * dh, rx = kt % KW * dwd;
                        const int64_t ph = (ry % tg.sh) * tg.sw + rx % tg.sw;
                        const float *b =
                            xt + (ph * tg.rows + (oy0 + ry / tg.sh) * Wp + ox0 + rx / tg.sw) * g->cg;
                        for (int64_t r0 = 0; r0 < g->mg; r0 += MR) {
                            const int mr = (int)(g->mg - r0 < MR ? g->mg - r0 : MR);
                            for (int64_t j0 = 0; j0 < g->cg; j0 += 32) {
                                const int nr = (int)(g->cg - j0 < 32 ? g->cg - j0 : 32);
                                (nr > 16 ? f32w : f16w)(kc, ap + pc * rp + r0 * kc, b + j0, &br,
                                                        tgr + (kt * g->mg + r0) * g->cg + j0, g->cg, mr, nr);
                            }
                        }
                    }
                }
            }
    }
    /* dw[co][ci][tap] += the thread parts, in thread order */
    for (int t = 0; t < nt; t++) {
        const float *tap = (const float *)(base + (size_t)t * per) + xt_f + a_f;
        for (int64_t gr = 0; gr < g->group; gr++)
            for (int64_t kt = 0; kt < g->kk; kt++)
                for (int64_t co = 0; co < g->mg; co++) {
                    const float *src = tap + ((gr * g->kk + kt) * g->mg + co) * g->cg;
                    float *d = dw + (gr * g->mg + co) * g->kdim + kt;
                    for (int64_t ci = 0; ci < g->cg; ci++) d[ci * g->kk] += src[ci];
                }
    }
    *st = SQZ_OK;
    return 1;
#else
    (void)c, (void)g, (void)x, (void)dy, (void)dw, (void)st;
    return 0;
#endif
}

/* The images of part t (of cp->nt) of conv_bwd's per-image loop. */
typedef struct conv_part {
    const conv_geo *g;
    const conv_scratch *cs;
    const shift_geo *sg; /* NULL: dW by unfolding */
    const float *x, *w, *dy;
    const float *wt_packed; /* per group W_g^T packed as the dX GEMM's A (wt_stride floats apart), or NULL */
    int64_t wt_stride;
    float *dx, *dw;
    int64_t dw_part;
    int nt, gt;
    int spw, set; /* strided_pw: dX by strided_scatter (set: dx is fresh, written whole) */
} conv_part;

static void conv_bwd_part(const conv_part *cp, int t) {
    const conv_geo *g = cp->g;
    char *mine = cp->cs->base + (size_t)t * cp->cs->per;
    float *col = (float *)mine, *dwt = cp->dw, *dx = cp->dx;
    if (cp->dw_part) {
        dwt = (float *)(mine + cp->cs->dwp);
        memset(dwt, 0, sizeof(float) * (size_t)(g->M * g->kdim));
    }
    int64_t n0, n1;
    image_range(g, t, cp->nt, &n0, &n1);
    if (dwt && cp->sg) {
        for (int64_t gr = 0; gr < g->group; gr++)
            for (int64_t n = n0; n < n1; n += cp->sg->ch)
                shift_dw(g, cp->sg, cp->x, cp->dy, n, n1 - n < cp->sg->ch ? n1 - n : cp->sg->ch, gr, col,
                         dwt + gr * g->mg * g->kdim);
    }
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gr = 0; gr < g->group; gr++) {
            const int64_t xoff = (n * g->C + gr * g->cg) * g->insp;
            const float *dyg = cp->dy + (n * g->M + gr * g->mg) * g->outsp, *wg = cp->w + gr * g->mg * g->kdim;
            const float *pa = cp->wt_packed ? cp->wt_packed + gr * cp->wt_stride : NULL;
            if (dwt && !cp->sg) {
                const float *cm = cp->x + xoff;
                if (!g->pointwise) {
                    unfold(g, g->cg, col, (float *)cp->x + xoff, 0);
                    cm = col;
                }
                sqz_tv_gemm_abt(g->mg, g->kdim, g->outsp, dyg, g->outsp, cm, g->outsp, dwt + gr * g->mg * g->kdim,
                                g->kdim);
            }
            if (!dx) continue;
            if (cp->spw) {
                gemm1p(cp->gt, mine + cp->cs->col, 1, 0, g->kdim, g->outsp, g->mg, wg, g->kdim, pa, dyg, g->outsp, 0.0f,
                       col, g->outsp, NULL);
                for (int64_t ci = 0; ci < g->cg; ci++)
                    strided_scatter(g, col + ci * g->outsp, dx + xoff + ci * g->insp, cp->set);
            } else if (g->pointwise) {
                gemm1p(cp->gt, mine + cp->cs->col, 1, 0, g->kdim, g->outsp, g->mg, wg, g->kdim, pa, dyg, g->outsp, 1.0f,
                       dx + xoff, g->outsp, NULL);
            } else {
                gemm1p(cp->gt, mine + cp->cs->col, 1, 0, g->kdim, g->outsp, g->mg, wg, g->kdim, pa, dyg, g->outsp, 0.0f,
                       col, g->outsp, NULL);
                if (cp->set) memset(dx + xoff, 0, sizeof(float) * (size_t)(g->cg * g->insp));
                unfold(g, g->cg, col, dx + xoff, 1);
            }
        }
}

/* Backward per image and group, all in this thread's cache-sized scratch: col = unfold(x),
 * dW += dY col^T (no packing), dcol = W^T dY into the same buffer, dx += col2im(dcol). With
 * images split over threads each thread sums dW privately and the parts are added in thread
 * order: the bits depend on the thread count, never on timing. */
static sqz_status conv_bwd(sqz_gctx *c) {
    conv_geo g;
    sqz_status st = conv_geo_make(c, &g);
    if (st) return st;
    const float *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout[0];
    for (int i = 1; i < c->n_in; i++) sqz_grad_din_zero(c, i); /* weights and bias accumulate */
    float *dx = c->din[0], *dw = c->din[1], *db = c->n_in > 2 ? c->din[2] : NULL;
    if (db) {
        const int nb = sqz_tv_threads(c->threads, g.N * g.M * g.outsp);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nb) schedule(static) if (nb > 1)
#endif
        for (int64_t m = 0; m < g.M; m++) {
            float s = 0;
            for (int64_t n = 0; n < g.N; n++) s += sqz_tv_sum(dy + (n * g.M + m) * g.outsp, g.outsp);
            db[m] += s;
        }
    }
    if (g.outsp == 0 || g.N == 0 || (!dx && !dw)) {
        sqz_grad_din_zero(c, 0);
        return SQZ_OK;
    }
    /* a fresh dx is written whole by the implicit GEMM and the strided 1x1 scatter, and zeroed
     * image by image just before its col2im (in cache then, where zeroing it all here would
     * leave every image to be read back from memory); the depthwise and unstrided 1x1 paths
     * accumulate into it zeroed here */
    const int spw = strided_pw(&g);
    const int set = (c->fresh & 1u) && dx && !g.depthwise && (conv_bwd_x_implicit_takes(&g) || spw || !g.pointwise);
    if (!set) sqz_grad_din_zero(c, 0);
    if (g.depthwise) {
        if (dw && (st = dw_backward_w(c, &g, x, dy, dw))) return st;
        return dx ? dw_backward_x(c, &g, w, dy, dx) : SQZ_OK;
    }
    if (dw && g.pointwise && g.group == 1 && g.outsp < CONV_BATCHED_DW_MAX_SP) {
        if ((st = conv_dw_batched(c, &g, x, dy, dw))) return st;
        dw = NULL;
        if (!dx) return SQZ_OK;
    }
    if (dx && conv_bwd_x_implicit(c, &g, w, dy, dx, set, &st)) {
        if (st) return st;
        dx = NULL;
        if (!dw) return SQZ_OK;
    }
    if (dw && conv_bwd_w_wino(c, &g, x, dy, dw, &st)) {
        if (st) return st;
        dw = NULL;
        if (!dx) return SQZ_OK;
    }
    if (dw && conv_bwd_w_taps(c, &g, x, dy, dw, &st)) {
        if (st) return st;
        dw = NULL;
        if (!dx) return SQZ_OK;
    }
    const int nt = image_threads(c, &g), gt = nt > 1 ? 1 : c->threads;
    const int64_t dw_part = dw && nt > 1 ? g.M * g.kdim : 0;
    conv_scratch cs;
    if (conv_scratch_get(c, &g, nt, dw_part, &cs)) return SQZ_ERR_NOMEM;
    shift_geo sg;
    const int shift = dw && shift_plan(&g, &sg);
    /* the dX GEMM's A (W_g^T, kdim x mg) packed once here rather than once per image */
    const sqz_isa isa = sqz_cpu_isa();
    const size_t pab = dx && g.N > 1 ? sqz_gemm_f32_packed_a_bytes(isa, g.kdim, g.mg) : 0;
    const int64_t wt_stride = (int64_t)((pab + 63) / 64 * 64 / sizeof(float));
    float *wt_packed = pab ? sqz_grad_scratch(c, SQZ_GS_A, (size_t)(wt_stride * g.group) * sizeof(float)) : NULL;
    if (pab && !wt_packed) return SQZ_ERR_NOMEM;
    for (int64_t gr = 0; gr < g.group && wt_packed; gr++)
        sqz_gemm_f32_pack_a(isa, 1, g.kdim, g.mg, w + gr * g.mg * g.kdim, g.kdim, wt_packed + gr * wt_stride);
    const conv_part cp = {.g = &g, .cs = &cs, .sg = shift ? &sg : NULL, .x = x, .w = w, .dy = dy, .dx = dx,
                          .dw = dw, .dw_part = dw_part, .nt = nt, .gt = gt, .wt_packed = wt_packed,
                          .wt_stride = wt_stride, .spw = spw, .set = set};
    /* one part per thread; with one part, no parallel region around it: the GEMMs inside then
     * split over the threads themselves, and a region nested in even an inactive one would get
     * fresh threads from libgomp at every call */
    if (nt > 1) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
        for (int t = 0; t < nt; t++) conv_bwd_part(&cp, t);
    } else {
        conv_bwd_part(&cp, 0);
    }
    for (int t = 0; t < nt && dw_part; t++)
        sqz_tv_add(dw, (const float *)(cs.base + (size_t)t * cs.per + cs.dwp), g.M * g.kdim);
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_conv = {.op = "Conv", .param_slots = 0x6u, .backward = conv_bwd, .stores = 1};
