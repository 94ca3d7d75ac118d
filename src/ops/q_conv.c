/* ops/q_conv.c - QLinearConv and ConvInteger (opset 10): 1-D and 2-D, groups and depthwise,
 * strides, pads (auto_pad too), dilations; u8/i8 activations and u8/i8 weights quantized per
 * tensor or per output channel; optional i32 bias (QLinearConv). QLinearConv honours the internal
 * output clamp attributes of ops/q_util.h (a Relu/Clip the QDQ rewrite absorbed).
 * Depthwise (group == C == M) runs the direct int8 depthwise kernel; everything else runs, per
 * image and group, the int8 GEMM Y[Mg, oh*ow] = W[Mg, Cg*kh*kw] * im2col(X) (1x1 stride-1
 * convolutions read X directly). Padded positions read the input zero point, so they add 0.
 * The weights are packed once per session (node state) when they are a constant. */
#include <stdlib.h>
#include <string.h>

#include "ops/nn_util.h"
#include "ops/q_util.h"

typedef struct qconv_geom {
    int known, nsp;
    int64_t N, C, M, G, Cg, Mg, ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
    int depthwise;
} qconv_geom;

/* xi, wi: input indices of x and w. */
static sqz_status qconv_geometry(const sqz_opctx *c, int xi, int wi, qconv_geom *q, int *yndim, int64_t *ydims) {
    const sqz_tensor *X = c->in[xi], *W = c->in[wi];
    memset(q, 0, sizeof *q);
    if (X->dtype != SQZ_DT_U8 && X->dtype != SQZ_DT_I8)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "x has dtype %s; u8 or i8 expected", sqz_dtype_name(X->dtype));
    if (W->dtype != SQZ_DT_U8 && W->dtype != SQZ_DT_I8)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "w has dtype %s; u8 or i8 expected", sqz_dtype_name(W->dtype));
    const int r = X->ndim >= 0 ? X->ndim : W->ndim;
    if (r < 0) {
        *yndim = -1;
        return SQZ_OK;
    }
    if (r != 3 && r != 4)
        return sqz_err_set(c->err, r > 4 ? SQZ_ERR_UNSUPPORTED : SQZ_ERR_DATA,
                           "input has rank %d; quantized Conv supports 1-D and 2-D (rank 3 or 4)", r);
    if (W->ndim >= 0 && W->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "w has rank %d but x has rank %d", W->ndim, r);
    const int nsp = r - 2;
    const int64_t G = sqz_node_attr_int(c->node, "group", 1);
    if (G < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "group must be >= 1, not %lld", (long long)G);
    q->nsp = nsp;
    q->G = G;
    q->N = X->ndim >= 0 ? X->dims[0] : -1;
    q->C = X->ndim >= 0 ? X->dims[1] : -1;
    q->M = W->ndim >= 0 ? W->dims[0] : -1;
    const int64_t CW = W->ndim >= 0 ? W->dims[1] : -1;
    if (q->C >= 0 && CW >= 0 && q->C != CW * G)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "x has %lld channels but w.shape[1] * group = %lld", (long long)q->C,
                           (long long)(CW * G));
    if (q->M >= 0 && q->M % G)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "w has %lld output channels, not a multiple of group %lld",
                           (long long)q->M, (long long)G);
    int64_t kernel[2];
    for (int d = 0; d < nsp; d++) kernel[d] = W->ndim >= 0 ? W->dims[2 + d] : -1;
    sqz_nn_window w;
    sqz_status st = sqz_nn_window_read(c->node, nsp, kernel, &w, c->err);
    if (st) return st;
    int64_t in[2], out[2];
    for (int d = 0; d < nsp; d++) {
        in[d] = X->ndim >= 0 ? X->dims[2 + d] : -1;
        if ((st = sqz_nn_window_out(&w, d, in[d], &out[d], c->err))) return st;
    }
    ydims[0] = q->N;
    ydims[1] = q->M;
    for (int d = 0; d < nsp; d++) ydims[2 + d] = out[d];
    *yndim = r;
    const int h = nsp == 2 ? 0 : -1; /* 1-D runs as 2-D with height 1 */
    const int wd = nsp - 1;
    q->ih = h < 0 ? 1 : in[0];
    q->oh = h < 0 ? 1 : out[0];
    q->kh = h < 0 ? 1 : w.kernel[0];
    q->sh = h < 0 ? 1 : w.stride[0];
    q->dh = h < 0 ? 1 : w.dilation[0];
    q->ph = h < 0 ? 0 : w.pad_begin[0];
    q->iw = in[wd];
    q->ow = out[wd];
    q->kw = w.kernel[wd];
    q->sw = w.stride[wd];
    q->dw = w.dilation[wd];
    q->pw = w.pad_begin[wd];
    q->known = q->N >= 0 && q->C >= 0 && q->M >= 0 && q->ih >= 0 && q->iw >= 0 && q->kh >= 0 && q->kw >= 0 &&
               q->oh >= 0 && q->ow >= 0;
    if (q->known) {
        q->Cg = q->C / G;
        q->Mg = q->M / G;
        q->depthwise = G > 1 && q->Cg == 1 && q->Mg == 1;
    }
    return SQZ_OK;
}

static int is_pointwise(const qconv_geom *q) {
    return q->kh == 1 && q->kw == 1 && q->sh == 1 && q->sw == 1 && q->ph == 0 && q->pw == 0 && q->oh == q->ih &&
           q->ow == q->iw;
}

static sqz_qdw_params dw_params(const qconv_geom *q) {
    return (sqz_qdw_params){.batch = q->N, .C = q->C, .ih = q->ih, .iw = q->iw, .oh = q->oh, .ow = q->ow,
                            .kh = q->kh, .kw = q->kw, .sh = q->sh, .sw = q->sw, .dh = q->dh, .dw = q->dw,
                            .ph = q->ph, .pw = q->pw};
}

static size_t up64(size_t n) { return (n + 63) / 64 * 64; }

/* im2col goes through a padded copy of the image group (when the pads are not negative): Cg x sw
 * column phases x hq rows x wq bytes, x_zp outside the image, phase b holding the padded columns
 * b, b+sw, ... Every segment of an im2col row (kernel tap (ky, kx), output row oy) is then wq-long
 * contiguous bytes: row oy*sh + ky*dh of phase (kx*dw) % sw from column (kx*dw) / sw, copied in
 * fixed 16- or 32-byte pieces that may run past the segment (the next one, or the slack, takes
 * them). LeNet's 5x5 convolutions (K = 25 and 150) spent more time in per-segment memcpy and
 * memset calls than in the GEMM. */
#define COL_SLACK 64
/* Row stride of the im2col matrix: rows padded to 16 bytes, so the GEMM packs whole vectors. */
static int64_t col_ld(const qconv_geom *q) { return (q->oh * q->ow + 15) / 16 * 16; }
static int xpad_ok(const qconv_geom *q) { return q->ph >= 0 && q->pw >= 0 && q->sw >= 1 && q->sh >= 1; }
static int64_t xpad_hq(const qconv_geom *q) { return (q->oh - 1) * q->sh + (q->kh - 1) * q->dh + 1; }
static int64_t xpad_wq(const qconv_geom *q) { return q->ow + (q->kw - 1) * q->dw / q->sw; }
static size_t xpad_bytes(const qconv_geom *q) {
    if (!xpad_ok(q) || q->oh < 1 || q->ow < 1) return 0;
    return up64((size_t)(q->Cg * q->sw * xpad_hq(q) * xpad_wq(q)) + COL_SLACK);
}

static size_t qconv_scratch_of(const qconv_geom *q, int threads) {
    if (!q->known) return 0;
    if (q->depthwise) {
        const sqz_qdw_params p = dw_params(q);
        return sqz_qdwconv_scratch_bytes(&p, threads);
    }
    const int64_t K = q->Cg * q->kh * q->kw, P = q->oh * q->ow;
    const size_t col = is_pointwise(q) ? 0 : up64((size_t)(K * col_ld(q)) + COL_SLACK) + xpad_bytes(q);
    return col + sqz_qgemm_scratch_for(sqz_q_kind(), SQZ_QSIDE_A, q->Mg, P, K, threads);
}

/* im2col of one group of one image: rows (ci, ky, kx) at stride col_ld, columns (oy, ox); pad
 * byte outside. */
static void im2col(const qconv_geom *q, const uint8_t *x, uint8_t pad, uint8_t *col) {
    const int64_t P = col_ld(q);
    for (int64_t ci = 0; ci < q->Cg; ci++)
        for (int64_t ky = 0; ky < q->kh; ky++)
            for (int64_t kx = 0; kx < q->kw; kx++) {
                uint8_t *row = col + ((ci * q->kh + ky) * q->kw + kx) * P;
                for (int64_t oy = 0; oy < q->oh; oy++) {
                    uint8_t *d = row + oy * q->ow;
                    const int64_t iy = oy * q->sh - q->ph + ky * q->dh;
                    if (iy < 0 || iy >= q->ih) {
                        memset(d, pad, (size_t)q->ow);
                        continue;
                    }
                    const uint8_t *src = x + (ci * q->ih + iy) * q->iw;
                    const int64_t off = kx * q->dw - q->pw;
                    if (q->sw == 1) {
                        int64_t lo = -off < 0 ? 0 : -off, hi = q->iw - off;
                        if (hi > q->ow) hi = q->ow;
                        if (lo > q->ow) lo = q->ow;
                        if (hi < lo) hi = lo;
                        memset(d, pad, (size_t)lo);
                        memcpy(d + lo, src + lo + off, (size_t)(hi - lo));
                        memset(d + hi, pad, (size_t)(q->ow - hi));
                    } else {
                        for (int64_t ox = 0; ox < q->ow; ox++) {
                            const int64_t ix = ox * q->sw + off;
                            d[ox] = ix < 0 || ix >= q->iw ? pad : src[ix];
                        }
                    }
                }
            }
}

/* The padded copy (see xpad_ok) of one image group x. */
static void xpad_fill(const qconv_geom *q, const uint8_t *x, uint8_t pad, uint8_t *xp) {
    const int64_t hq = xpad_hq(q), wq = xpad_wq(q), sw = q->sw;
    for (int64_t ci = 0; ci < q->Cg; ci++)
        for (int64_t b = 0; b < sw; b++)
            for (int64_t r = 0; r < hq; r++) {
                uint8_t *d = xp + ((ci * sw + b) * hq + r) * wq;
                const int64_t iy = r - q->ph;
                if (iy < 0 || iy >= q->ih) {
                    memset(d, pad, (size_t)wq);
                    continue;
                }
                const uint8_t *src = x + (ci * q->ih + iy) * q->iw;
                /* column j is input column b + sw*j - pw: inside for j in [lo, hi) */
                const int64_t a = q->pw - b, e = q->iw + q->pw - b;
                int64_t lo = a <= 0 ? 0 : (a + sw - 1) / sw, hi = e <= 0 ? 0 : (e + sw - 1) / sw;
                if (hi > wq) hi = wq;
                if (lo > hi) lo = hi;
                memset(d, pad, (size_t)lo);
                memset(d + hi, pad, (size_t)(wq - hi));
                if (hi > lo) {
                    const uint8_t *s0 = src + (b + sw * lo - q->pw);
                    if (sw == 1) memcpy(d + lo, s0, (size_t)(hi - lo));
                    else
                        for (int64_t j = 0; j < hi - lo; j++) d[lo + j] = s0[j * sw];
                }
            }
}

/* im2col from the padded copy, rows at stride col_ld; col needs COL_SLACK bytes past them. */
static void im2col_xpad(const qconv_geom *q, const uint8_t *xp, uint8_t *col) {
    const int64_t hq = xpad_hq(q), wq = xpad_wq(q), sw = q->sw, ow = q->ow, P = col_ld(q);
    for (int64_t ci = 0; ci < q->Cg; ci++)
        for (int64_t ky = 0; ky < q->kh; ky++)
            for (int64_t kx = 0; kx < q->kw; kx++) {
                uint8_t *d = col + ((ci * q->kh + ky) * q->kw + kx) * P;
                const int64_t c = kx * q->dw;
                const uint8_t *s0 = xp + ((ci * sw + c % sw) * hq + ky * q->dh) * wq + c / sw;
                const int64_t rs = q->sh * wq;
                if (ow <= 16) {
                    for (int64_t oy = 0; oy < q->oh; oy++) memcpy(d + oy * ow, s0 + oy * rs, 16);
                } else {
                    for (int64_t oy = 0; oy < q->oh; oy++)
                        for (int64_t i = 0; i < ow; i += 32) memcpy(d + oy * ow + i, s0 + oy * rs + i, 32);
                }
            }
}

typedef struct qconv_state {
    int64_t groups;
    sqz_qpack **packs; /* (groups) */
} qconv_state;

static void qconv_state_free(void *p) {
    qconv_state *s = p;
    if (!s) return;
    for (int64_t g = 0; g < s->groups; g++) sqz_qpack_free(s->packs[g]);
    free(s->packs);
    free(s);
}

static qconv_state *qconv_pack(const qconv_geom *q, const sqz_tensor *W) {
    qconv_state *s = calloc(1, sizeof *s);
    if (!s || !(s->packs = calloc((size_t)q->G, sizeof *s->packs))) {
        free(s);
        return NULL;
    }
    s->groups = q->G;
    const int64_t K = q->Cg * q->kh * q->kw;
    for (int64_t g = 0; g < q->G; g++) {
        const char *src = (const char *)W->data + (size_t)(g * q->Mg * K);
        if (!(s->packs[g] = sqz_qpack_create_kind(sqz_q_kind(), SQZ_QSIDE_A, q->Mg, K, src, W->dtype == SQZ_DT_U8, K,
                                                  1))) {
            qconv_state_free(s);
            return NULL;
        }
    }
    return s;
}

/* Runs the convolution with per-output-channel epilogue arrays in epi (indexed by channel). */
static sqz_status qconv_run(sqz_opctx *c, const qconv_geom *q, const sqz_tensor *X, const sqz_tensor *W,
                            int32_t x_zp, const sqz_qepi *epi, sqz_tensor *Y) {
    if (q->N == 0 || q->M == 0 || q->oh == 0 || q->ow == 0) return SQZ_OK;
    void *owned;
    const size_t need = qconv_scratch_of(q, c->threads);
    void *scr = sqz_q_scratch(c, need, &owned);
    if (need && !scr) return SQZ_ERR_NOMEM;
    const int x_s8 = X->dtype == SQZ_DT_I8, w_u8 = W->dtype == SQZ_DT_U8;
    const size_t ysz = sqz_dtype_size(Y->dtype);
    if (q->depthwise) {
        const sqz_qdw_params p = dw_params(q);
        sqz_qdwconv(sqz_q_kind(), c->threads, &p, X->data, x_s8, x_zp, W->data, w_u8, Y->data, epi, scr);
        sqz_q_scratch_release(owned);
        return SQZ_OK;
    }
    qconv_state *s = c->state ? *c->state : NULL, *tmp = NULL;
    if (!s) {
        s = qconv_pack(q, W);
        if (!s) {
            sqz_q_scratch_release(owned);
            return sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory packing w");
        }
        if (c->state && sqz_q_is_const(W)) *c->state = s;
        else tmp = s;
    }
    const int pointwise = is_pointwise(q);
    const int64_t K = q->Cg * q->kh * q->kw, P = q->oh * q->ow, HW = q->ih * q->iw;
    uint8_t *col = pointwise ? NULL : scr;
    const int64_t ldc = pointwise ? P : col_ld(q);
    const size_t colb = pointwise ? 0 : up64((size_t)(K * ldc) + COL_SLACK), xpb = pointwise ? 0 : xpad_bytes(q);
    uint8_t *xp = xpb ? (uint8_t *)scr + colb : NULL;
    void *gscr = (char *)scr + colb + xpb;
    const uint8_t pad = (uint8_t)x_zp;
    for (int64_t n = 0; n < q->N; n++)
        for (int64_t g = 0; g < q->G; g++) {
            const uint8_t *xg = (const uint8_t *)X->data + (n * q->C + g * q->Cg) * HW;
            if (xp) {
                xpad_fill(q, xg, pad, xp);
                im2col_xpad(q, xp, col);
            } else if (!pointwise) {
                im2col(q, xg, pad, col);
            }
            sqz_qepi eg = *epi;
            const int64_t c0 = g * q->Mg;
            if (eg.bias) eg.bias += c0;
            if (eg.w_zp) eg.w_zp += c0;
            if (eg.scale) eg.scale += c0;
            sqz_qgemm_args a = {.M = q->Mg, .N = P, .K = K, .w = s->packs[g], .x = pointwise ? xg : col,
                                .ldx = ldc, .xcols = pointwise ? 0 : ldc, .x_s8 = x_s8, .x_zp = x_zp,
                                .y = (char *)Y->data + (size_t)((n * q->M + c0) * P) * ysz, .ldy = P, .epi = &eg};
            sqz_qgemm(c->threads, &a, gscr);
        }
    qconv_state_free(tmp);
    sqz_q_scratch_release(owned);
    return SQZ_OK;
}

/* Per-channel epilogue arrays. */
typedef struct qc_arrays {
    int32_t *bias, *wzp;
    float *scale;
} qc_arrays;

static sqz_status arrays_make(sqz_opctx *c, int64_t M, const sqz_tensor *wz, const sqz_tensor *B, qc_arrays *ar) {
    memset(ar, 0, sizeof *ar);
    ar->wzp = malloc((size_t)(M + 1) * 4);
    ar->scale = malloc((size_t)(M + 1) * 4);
    if (B) ar->bias = malloc((size_t)(M + 1) * 4);
    if (!ar->wzp || !ar->scale || (B && !ar->bias)) {
        free(ar->wzp);
        free(ar->scale);
        free(ar->bias);
        return sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory");
    }
    const int any = sqz_q_zp_fill(wz, M, ar->wzp);
    if (!any) {
        free(ar->wzp);
        ar->wzp = NULL;
    }
    if (B) memcpy(ar->bias, B->data, (size_t)M * 4);
    return SQZ_OK;
}

static void arrays_free(qc_arrays *ar) {
    free(ar->wzp);
    free(ar->scale);
    free(ar->bias);
}

/* ---- QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B ---- */

static sqz_status qlc_check(sqz_opctx *c, qconv_geom *q, int *yndim, int64_t *ydims) {
    sqz_status st = qconv_geometry(c, 0, 3, q, yndim, ydims);
    if (st) return st;
    const int64_t per_m = q->M >= 0 ? q->M : SQZ_Q_ANY;
    int64_t n;
    if ((st = sqz_q_check_scale(c->in[1], "x_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[2], "x_zero_point", -1, c->in[0]->dtype, 0, &n, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[4], "w_scale", per_m, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[5], "w_zero_point", per_m, c->in[3]->dtype, 0, &n, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[6], "y_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[7], "y_zero_point", -1, SQZ_DT_UNDEF, 0, &n, c->err))) return st;
    const sqz_tensor *B = sqz_q_in(c, 8);
    if (B) {
        if (B->dtype != SQZ_DT_I32)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "B has dtype %s; i32 expected", sqz_dtype_name(B->dtype));
        if (B->ndim >= 0 && (B->ndim != 1 || (q->M >= 0 && B->dims[0] >= 0 && B->dims[0] != q->M)))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "B must have shape [%lld]", (long long)q->M);
    }
    int32_t lo, hi;
    return sqz_q_out_range(c->node, c->in[7]->dtype, &lo, &hi, c->err);
}

static sqz_status qlc_infer(sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = qlc_check(c, &q, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[7]->dtype, yndim, ydims);
    return SQZ_OK;
}

static size_t qlc_scratch(const sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (qconv_geometry(c, 0, 3, &q, &yndim, ydims)) return 0;
    return qconv_scratch_of(&q, c->threads);
}

static sqz_status qlc_forward(sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = qlc_check(c, &q, &yndim, ydims);
    if (st) return st;
    sqz_tensor *Y = c->out[0];
    qc_arrays ar;
    if ((st = arrays_make(c, q.M, c->in[5], sqz_q_in(c, 8), &ar))) return st;
    const double xs = sqz_q_scale_at(c->in[1], 0), ys = sqz_q_scale_at(c->in[6], 0);
    const float *ws = c->in[4]->data;
    const int ws_per_m = sqz_tensor_numel(c->in[4]) > 1;
    for (int64_t m = 0; m < q.M; m++) ar.scale[m] = (float)(xs * ws[ws_per_m ? m : 0] / ys);
    sqz_qepi epi = {.out = Y->dtype == SQZ_DT_I8 ? SQZ_QOUT_S8 : SQZ_QOUT_U8, .bias = ar.bias, .w_zp = ar.wzp,
                    .scale = ar.scale, .y_zp = sqz_q_zp_at(c->in[7], 0)};
    sqz_q_out_range(c->node, Y->dtype, &epi.lo, &epi.hi, NULL); /* checked by qlc_check */
    st = qconv_run(c, &q, c->in[0], c->in[3], sqz_q_zp_at(c->in[2], 0), &epi, Y);
    arrays_free(&ar);
    return st;
}

static int64_t qconv_macs_of(const sqz_opctx *c, int xi, int wi) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (qconv_geometry(c, xi, wi, &q, &yndim, ydims) || !q.known) return 0;
    return q.N * q.M * q.Cg * q.oh * q.ow * q.kh * q.kw;
}

static int64_t qlc_macs(const sqz_opctx *c) { return qconv_macs_of(c, 0, 3); }

static const char *qconv_kernel_of(const sqz_opctx *c, int xi, int wi) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (qconv_geometry(c, xi, wi, &q, &yndim, ydims) || !q.known) return NULL;
    if (q.depthwise) {
        const sqz_qdw_params p = dw_params(&q);
        return sqz_qdwconv_path(sqz_q_kind(), &p);
    }
    if (sqz_q_kind() == SQZ_QK_REF) return "reference";
    return is_pointwise(&q) ? "pointwise" : "im2col";
}

static const char *qlc_kernel(const sqz_opctx *c) { return qconv_kernel_of(c, 0, 3); }

const sqz_op sqz_op_qlinear_conv = {
    .name = "QLinearConv", .n_in_min = 8, .n_in_max = 9, .n_out_min = 1, .n_out_max = 1,
    .infer = qlc_infer, .forward = qlc_forward, .scratch_bytes = qlc_scratch, .macs = qlc_macs, .kernel = qlc_kernel,
    .release_state = qconv_state_free,
};

/* ---- ConvInteger: x, w, x_zero_point, w_zero_point -> i32 ---- */

static sqz_status ci_check(sqz_opctx *c, qconv_geom *q, int *yndim, int64_t *ydims) {
    sqz_status st = qconv_geometry(c, 0, 1, q, yndim, ydims);
    if (st) return st;
    int64_t n;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 2), "x_zero_point", -1, c->in[0]->dtype, 0, &n, c->err))) return st;
    return sqz_q_check_zp(sqz_q_in(c, 3), "w_zero_point", q->M >= 0 ? q->M : SQZ_Q_ANY, c->in[1]->dtype, 0, &n,
                          c->err);
}

static sqz_status ci_infer(sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = ci_check(c, &q, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], SQZ_DT_I32, yndim, ydims);
    return SQZ_OK;
}

static size_t ci_scratch(const sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (qconv_geometry(c, 0, 1, &q, &yndim, ydims)) return 0;
    return qconv_scratch_of(&q, c->threads);
}

static sqz_status ci_forward(sqz_opctx *c) {
    qconv_geom q;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = ci_check(c, &q, &yndim, ydims);
    if (st) return st;
    qc_arrays ar;
    if ((st = arrays_make(c, q.M, sqz_q_in(c, 3), NULL, &ar))) return st;
    sqz_qepi epi = {.out = SQZ_QOUT_S32, .w_zp = ar.wzp};
    st = qconv_run(c, &q, c->in[0], c->in[1], sqz_q_zp_at(sqz_q_in(c, 2), 0), &epi, c->out[0]);
    arrays_free(&ar);
    return st;
}

static int64_t ci_macs(const sqz_opctx *c) { return qconv_macs_of(c, 0, 1); }
static const char *ci_kernel(const sqz_opctx *c) { return qconv_kernel_of(c, 0, 1); }

const sqz_op sqz_op_conv_integer = {
    .name = "ConvInteger", .n_in_min = 2, .n_in_max = 4, .n_out_min = 1, .n_out_max = 1,
    .infer = ci_infer, .forward = ci_forward, .scratch_bytes = ci_scratch, .macs = ci_macs, .kernel = ci_kernel,
    .release_state = qconv_state_free,
};
