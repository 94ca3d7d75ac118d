/* train/grad_conv.c - Conv forward (im2col + fast GEMM) and backward (dX by GEMM + col2im,
 * dW by GEMM against the re-unfolded input, dB by summation). Groups, depthwise (direct loops
 * for spatial rank <= 2), strides, pads, dilations, auto_pad; f32.
 *
 * Per image n and group g with col = im2col(x_ng) (cg*kk, outsp):
 *   y_ng  = W_g (mg, cg*kk) * col + b
 *   dW_g += dy_ng * col^T,   dcol = W_g^T * dy_ng,   dx_ng += col2im(dcol),   db += sum dy. */
#include <string.h>

#include "ops/nn_util.h"
#include "train/grad.h"

/* Most bytes of unfolded input a Conv node keeps from forward for backward. */
#define CONV_COL_CACHE_BYTES ((size_t)64 << 20)

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

/* Moves values between the column matrix col (channels*kk, outsp) and the image img
 * (channels, insp): scatter == 0 gathers (zeros where the window reads padding), scatter != 0
 * adds col into img. */
static void unfold(const conv_geo *g, int64_t channels, float *col, float *img, int scatter) {
    const int nsp = g->nsp, last = nsp - 1;
    const int64_t L = g->out[last], IL = g->in[last], s = g->stride[last];
    const int64_t outer = L ? g->outsp / L : 0;
    for (int64_t ch = 0; ch < channels; ch++) {
        float *im = img + ch * g->insp;
        for (int64_t kidx = 0; kidx < g->kk; kidx++) {
            int64_t kv[SQZ_MAX_DIMS], rem = kidx;
            for (int d = last; d >= 0; d--) {
                kv[d] = rem % g->kernel[d];
                rem /= g->kernel[d];
            }
            float *row = col + (ch * g->kk + kidx) * g->outsp;
            const int64_t off = kv[last] * g->dil[last] - g->pad[last];
            int64_t lo = off < 0 ? (-off + s - 1) / s : 0;
            int64_t hi = IL - 1 - off >= 0 ? (IL - 1 - off) / s + 1 : 0;
            if (hi > L) hi = L;
            if (lo > hi) lo = hi;
            int64_t pos[SQZ_MAX_DIMS] = {0};
            for (int64_t o = 0; o < outer; o++) {
                int valid = 1;
                int64_t base = 0;
                for (int d = 0; d < last; d++) {
                    const int64_t q = pos[d] * g->stride[d] - g->pad[d] + kv[d] * g->dil[d];
                    if (q < 0 || q >= g->in[d]) valid = 0;
                    base = base * g->in[d] + q;
                }
                base = base * IL + off;
                float *r = row + o * L;
                if (!scatter) {
                    if (!valid) {
                        memset(r, 0, sizeof(float) * (size_t)L);
                    } else {
                        for (int64_t p = 0; p < lo; p++) r[p] = 0;
                        if (s == 1) memcpy(r + lo, im + base + lo, sizeof(float) * (size_t)(hi - lo));
                        else
                            for (int64_t p = lo; p < hi; p++) r[p] = im[base + p * s];
                        for (int64_t p = hi; p < L; p++) r[p] = 0;
                    }
                } else if (valid) {
                    if (s == 1)
                        for (int64_t p = lo; p < hi; p++) im[base + p] += r[p];
                    else
                        for (int64_t p = lo; p < hi; p++) im[base + p * s] += r[p];
                }
                for (int d = last - 1; d >= 0; d--) {
                    if (++pos[d] < g->out[d]) break;
                    pos[d] = 0;
                }
            }
        }
    }
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

/* Valid output range [lo, hi) of a row for kernel column offset off. */
static void dw_range(const dw2 *v, int64_t off, int64_t *lo, int64_t *hi) {
    *lo = off < 0 ? (-off + v->sw - 1) / v->sw : 0;
    *hi = v->W - 1 - off >= 0 ? (v->W - 1 - off) / v->sw + 1 : 0;
    if (*hi > v->OW) *hi = v->OW;
    if (*lo > *hi) *lo = *hi;
}

/* mode 0: y += conv(x, w); mode 1: dx += conv^T(dy, w); mode 2: dw += corr(dy, x). */
static void depthwise(const conv_geo *g, int mode, const float *x, const float *w, float *y, float *dx,
                      float *dw, const float *dy) {
    const dw2 v = dw_view(g);
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t oc = 0; oc < g->M; oc++) {
            const int64_t ic = oc / g->mg, xo = (n * g->C + ic) * v.H * v.W, yo = (n * g->M + oc) * v.OH * v.OW;
            for (int64_t oy = 0; oy < v.OH; oy++)
                for (int64_t ky = 0; ky < v.KH; ky++) {
                    const int64_t iy = oy * v.sh - v.ph + ky * v.dh;
                    if (iy < 0 || iy >= v.H) continue;
                    for (int64_t kx = 0; kx < v.KW; kx++) {
                        const int64_t off = kx * v.dw - v.pw, widx = oc * v.KH * v.KW + ky * v.KW + kx;
                        int64_t lo, hi;
                        dw_range(&v, off, &lo, &hi);
                        const int64_t xr = xo + iy * v.W + off, yr = yo + oy * v.OW;
                        if (mode == 0) {
                            const float wv = w[widx];
                            for (int64_t ox = lo; ox < hi; ox++) y[yr + ox] += wv * x[xr + ox * v.sw];
                        } else if (mode == 1) {
                            const float wv = w[widx];
                            for (int64_t ox = lo; ox < hi; ox++) dx[xr + ox * v.sw] += wv * dy[yr + ox];
                        } else {
                            float s = 0;
                            for (int64_t ox = lo; ox < hi; ox++) s += dy[yr + ox] * x[xr + ox * v.sw];
                            dw[widx] += s;
                        }
                    }
                }
        }
}

static sqz_status conv_fwd(sqz_gctx *c) {
    conv_geo g;
    sqz_status st = conv_geo_make(c, &g);
    if (st) return st;
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *b = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    for (int64_t pl = 0; pl < g.N * g.M; pl++) {
        const float v = b ? b[pl % g.M] : 0.0f;
        float *yp = y + pl * g.outsp;
        for (int64_t i = 0; i < g.outsp; i++) yp[i] = v;
    }
    if (g.outsp == 0 || g.M == 0 || g.N == 0) return SQZ_OK;
    if (g.depthwise) {
        depthwise(&g, 0, x, w, y, NULL, NULL, NULL);
        return SQZ_OK;
    }
    /* In training the unfolded input of every image is kept for dW (state 0, flag in state 1)
     * when it fits the budget; otherwise backward unfolds again. */
    const size_t per = sizeof(float) * (size_t)(g.kdim * g.outsp);
    const int keep = c->training && !g.pointwise && per * (size_t)(g.N * g.group) <= CONV_COL_CACHE_BYTES;
    int *valid = sqz_grad_state(c, 1, sizeof(int));
    if (!valid) return SQZ_ERR_NOMEM;
    *valid = 0;
    float *col = NULL;
    if (keep) col = sqz_grad_state(c, 0, per * (size_t)(g.N * g.group));
    else if (!g.pointwise) col = sqz_grad_scratch(c, SQZ_GS_A, per);
    if (!g.pointwise && !col) return SQZ_ERR_NOMEM;
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t gr = 0; gr < g.group; gr++) {
            float *xg = (float *)x + (n * g.C + gr * g.cg) * g.insp;
            const float *cm = xg;
            if (!g.pointwise) {
                float *cp = keep ? col + (n * g.group + gr) * g.kdim * g.outsp : col;
                unfold(&g, g.cg, cp, xg, 0);
                cm = cp;
            }
            sqz_grad_gemm(c, 0, 0, g.mg, g.outsp, g.kdim, 1.0f, w + gr * g.mg * g.kdim, g.kdim, cm, g.outsp, 1.0f,
                          y + (n * g.M + gr * g.mg) * g.outsp, g.outsp);
        }
    *valid = keep;
    return SQZ_OK;
}

static sqz_status conv_bwd(sqz_gctx *c) {
    conv_geo g;
    sqz_status st = conv_geo_make(c, &g);
    if (st) return st;
    const float *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout[0];
    float *dx = c->din[0], *dw = c->din[1], *db = c->n_in > 2 ? c->din[2] : NULL;
    if (db)
        for (int64_t n = 0; n < g.N; n++)
            for (int64_t m = 0; m < g.M; m++) {
                const float *p = dy + (n * g.M + m) * g.outsp;
                float s = 0;
                for (int64_t i = 0; i < g.outsp; i++) s += p[i];
                db[m] += s;
            }
    if (g.outsp == 0 || g.N == 0 || (!dx && !dw)) return SQZ_OK;
    if (g.depthwise) {
        if (dw) depthwise(&g, 2, x, w, NULL, NULL, dw, dy);
        if (dx) depthwise(&g, 1, x, w, NULL, dx, NULL, dy);
        return SQZ_OK;
    }
    const int *valid = c->state[1].p;
    const float *cached = valid && *valid ? c->state[0].p : NULL;
    float *col = NULL;
    if (!g.pointwise && !(col = sqz_grad_scratch(c, SQZ_GS_A, sizeof(float) * (size_t)(g.kdim * g.outsp))))
        return SQZ_ERR_NOMEM;
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t gr = 0; gr < g.group; gr++) {
            const int64_t xoff = (n * g.C + gr * g.cg) * g.insp;
            const float *dyg = dy + (n * g.M + gr * g.mg) * g.outsp, *wg = w + gr * g.mg * g.kdim;
            if (dw) {
                const float *cm = x + xoff;
                if (cached) {
                    cm = cached + (n * g.group + gr) * g.kdim * g.outsp;
                } else if (!g.pointwise) {
                    unfold(&g, g.cg, col, (float *)x + xoff, 0);
                    cm = col;
                }
                sqz_grad_gemm(c, 0, 1, g.mg, g.kdim, g.outsp, 1.0f, dyg, g.outsp, cm, g.outsp, 1.0f,
                              dw + gr * g.mg * g.kdim, g.kdim);
            }
            if (dx) {
                if (g.pointwise) {
                    sqz_grad_gemm(c, 1, 0, g.kdim, g.outsp, g.mg, 1.0f, wg, g.kdim, dyg, g.outsp, 1.0f, dx + xoff,
                                  g.outsp);
                } else {
                    sqz_grad_gemm(c, 1, 0, g.kdim, g.outsp, g.mg, 1.0f, wg, g.kdim, dyg, g.outsp, 0.0f, col,
                                  g.outsp);
                    unfold(&g, g.cg, col, dx + xoff, 1);
                }
            }
        }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_conv = {.op = "Conv", .param_slots = 0x6u, .forward = conv_fwd, .backward = conv_bwd};
