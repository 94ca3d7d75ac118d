/* train/grad_norm.c - BatchNormalization (training: batch statistics over N and the spatial
 * dims, running statistics updated as running = momentum * running + (1 - momentum) * batch
 * with the unbiased batch variance, as PyTorch; inference: the running statistics) and
 * LayerNormalization; forward saves mean and 1/std for backward. f32.
 *
 * With xhat = (x - mean) * istd and m elements per statistic:
 *   batch stats:  dx = scale * istd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
 *   fixed stats:  dx = scale * istd * dy
 *   dscale = sum(dy * xhat), dB = sum(dy). LayerNorm applies the batch-stats rule per row with
 *   g = dy * scale in place of scale * dy. */
#include <math.h>
#include <string.h>

#include "core/cpu.h"
#include "train/grad.h"
#include "train/grad_vec.h"

/* ---- BatchNormalization ---- */
static sqz_status bn_check(const sqz_opctx *c) {
    const sqz_tensor *X = c->in[0];
    if (X->dtype != SQZ_DT_F32)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "BatchNormalization: training supports f32 only");
    if (X->ndim >= 0 && X->ndim < 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "input needs rank >= 2");
    const int64_t C = X->ndim >= 2 ? X->dims[1] : -1;
    for (int i = 1; i < 5; i++) {
        const sqz_tensor *t = c->in[i];
        if (!t || t->dtype != SQZ_DT_F32 || (t->ndim >= 0 && C >= 0 && sqz_tensor_numel(t) != C))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "BatchNormalization: input %d must be f32 of shape [C]", i);
    }
    return SQZ_OK;
}

static sqz_status bn_infer(sqz_opctx *c) {
    sqz_status st = bn_check(c);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    sqz_op_set_shape(c->out[0], X->dtype, X->ndim, X->dims);
    const int64_t C = X->ndim >= 2 ? X->dims[1] : -1;
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k]) sqz_op_set_shape(c->out[k], X->dtype, 1, &C);
    return SQZ_OK;
}

typedef struct bn_geo {
    int64_t N, C, inner, m;
} bn_geo;

static bn_geo bn_geo_of(const sqz_tensor *X) {
    bn_geo g = {X->dims[0], X->dims[1], 1, 0};
    for (int i = 2; i < X->ndim; i++) g.inner *= X->dims[i];
    g.m = g.N * g.inner;
    return g;
}

static sqz_status bn_fwd(sqz_gctx *c) {
    sqz_opctx oc = {.node = c->node, .in = c->in, .n_in = c->n_in, .out = c->out, .n_out = c->n_out,
                    .opset = c->opset, .err = c->err};
    sqz_status st = bn_check(&oc);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const bn_geo g = bn_geo_of(X);
    const float *x = X->data, *scale = c->in[1]->data, *bias = c->in[2]->data;
    float *rmean = c->in[3]->data, *rvar = c->in[4]->data, *y = c->out[0]->data;
    const double eps = sqz_node_attr_float(c->node, "epsilon", 1e-5f);
    const float momentum = sqz_node_attr_float(c->node, "momentum", 0.9f);
    /* state 0: mean (C), istd (C), the affine y = x * a + b it applied (a, b: C each, for a
     * deferred output's recompute); state 1: mode (1 = batch statistics) */
    float *mean = sqz_grad_state(c, 0, sizeof(float) * (size_t)(4 * g.C + 1));
    int *mode = sqz_grad_state(c, 1, sizeof(int));
    if (!mean || !mode) return SQZ_ERR_NOMEM;
    float *istd = mean + g.C, *ca = mean + 2 * g.C, *cb = mean + 3 * g.C;
    /* fused activation: its output and, in state 2, its gradient mask */
    float *z = c->act ? c->act_out->data : NULL;
    uint8_t *mask = z ? sqz_grad_state(c, 2, (size_t)(g.m * g.C) + 1) : NULL;
    if (z && !mask) return SQZ_ERR_NOMEM;
    const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512;
    /* recompute: the deferred output alone (fused with an activation, or with the Add that alone
     * reads it); neither output here (that Add's operand): the statistics and coefficients only */
    const int batch = c->training && g.m > 0, re = c->recompute;
    if (!re) *mode = batch;
    float *o1 = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL, *o2 = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    float *o3 = c->n_out > 3 && c->out[3] ? c->out[3]->data : NULL, *o4 = c->n_out > 4 && c->out[4] ? c->out[4]->data : NULL;
    /* one channel per iteration: the bits do not depend on the thread count */
    const int nt = sqz_tv_threads(c->threads, g.C > 1 ? g.m * g.C : 0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t ch = 0; ch < g.C; ch++) {
        double mu = 0, var = 0;
        if (re) {
            /* the deferred output alone, with the coefficients the forward used */
        } else if (batch) {
            double s = 0, s2 = 0;
            for (int64_t n = 0; n < g.N; n++) s += sqz_tv_sum(x + (n * g.C + ch) * g.inner, g.inner);
            mu = s / (double)g.m;
            const float muf = (float)mu;
            for (int64_t n = 0; n < g.N; n++) s2 += sqz_tv_sumsq_dev(x + (n * g.C + ch) * g.inner, g.inner, muf);
            var = s2 / (double)g.m;
            const double unbiased = g.m > 1 ? var * (double)g.m / (double)(g.m - 1) : var;
            rmean[ch] = momentum * rmean[ch] + (1.0f - momentum) * (float)mu;
            rvar[ch] = momentum * rvar[ch] + (1.0f - momentum) * (float)unbiased;
        } else {
            mu = rmean[ch];
            var = rvar[ch];
        }
        if (!re) {
            mean[ch] = (float)mu;
            istd[ch] = (float)(1.0 / sqrt(var + eps));
            ca[ch] = istd[ch] * scale[ch];
            cb[ch] = bias[ch] - mean[ch] * ca[ch];
        }
        const float a = ca[ch], b = cb[ch];
        for (int64_t n = 0; (y || z) && n < g.N; n++) {
            const int64_t o = (n * g.C + ch) * g.inner;
            float *yo = y ? y + o : NULL; /* NULL: deferred (the tape's fused pairs) */
            if (z && avx512)
                sqz_tv_affine_act__avx512(yo, z + o, mask + o, x + o, g.inner, a, b, c->act == 1, c->act_lo, c->act_hi);
            else if (z)
                sqz_tv_affine_act(yo, z + o, mask + o, x + o, g.inner, a, b, c->act == 1, c->act_lo, c->act_hi);
            else sqz_tv_affine(y + o, x + o, g.inner, a, b);
        }
        if (re) continue;
        if (o1) o1[ch] = rmean[ch];
        if (o2) o2[ch] = rvar[ch];
        if (o3) o3[ch] = mean[ch];
        if (o4) o4[ch] = (float)var;
    }
    return SQZ_OK;
}

static sqz_status bn_bwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0];
    const bn_geo g = bn_geo_of(X);
    const float *mean = c->state[0].p, *x = X->data, *scale = c->in[1]->data, *dy = c->dout[0];
    const int *mode = c->state[1].p;
    if (!mean || !mode) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "BatchNormalization: no saved statistics");
    const float *istd = mean + g.C;
    for (int i = 1; i < c->n_in; i++) sqz_grad_din_zero(c, i); /* per channel: accumulated below */
    /* fused activation: g = mask ? dz : 0 is BN's output gradient. With batch statistics and
     * nothing else flowing into the BN output, the loops below read dz and the mask directly;
     * otherwise g is added into dout[0] (or a scratch copy) first */
    const uint8_t *mask = !c->act ? NULL : c->act_mask ? c->act_mask : c->state[2].p, *fm = NULL;
    const float *dz = c->act ? c->act_dout : NULL;
    if (c->act) {
        if (!mask) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "BatchNormalization: no activation mask");
        if (*mode && !dy && dz) {
            fm = mask;
        } else if (dz || !dy) {
            float *buf = c->dout[0];
            const int fresh = !buf;
            if (!buf && !(buf = sqz_grad_scratch(c, SQZ_GS_A, sizeof(float) * (size_t)(g.m * g.C) + 64)))
                return SQZ_ERR_NOMEM;
            if (dz) sqz_tv_mask_acc(buf, dz, mask, g.m * g.C, fresh);
            else memset(buf, 0, sizeof(float) * (size_t)(g.m * g.C));
            dy = buf;
        }
    }
    const int set = c->fresh & 1u, avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512;
    float *dx = c->din[0], *dscale = c->din[1], *dbias = c->n_in > 2 ? c->din[2] : NULL;
    const int nt = sqz_tv_threads(c->threads, g.C > 1 ? g.m * g.C : 0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t ch = 0; ch < g.C; ch++) {
        const float mu = mean[ch], is = istd[ch];
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < g.N; n++) {
            const int64_t o = (n * g.C + ch) * g.inner;
            float a;
            sdyx += fm && avx512 ? sqz_tv_dot_dev_m__avx512(dz + o, fm + o, x + o, g.inner, mu, &a)
                    : fm       ? sqz_tv_dot_dev_m(dz + o, fm + o, x + o, g.inner, mu, &a)
                               : sqz_tv_dot_dev(dy + o, x + o, g.inner, mu, &a);
            sdy += a;
        }
        sdyx *= is; /* sum(dy * xhat) */
        if (dscale) dscale[ch] += (float)sdyx;
        if (dbias) dbias[ch] += (float)sdy;
        if (!dx) continue;
        const float k = scale[ch] * is;
        /* batch statistics; m2 folds the xhat factor istd: xhat * mean(dy*xhat) = (x - mu) * m2 */
        const float m1 = *mode ? (float)(sdy / (double)g.m) : 0.0f;
        const float m2 = *mode ? (float)(sdyx / (double)g.m) * is : 0.0f;
        for (int64_t n = 0; n < g.N; n++) {
            const int64_t o = (n * g.C + ch) * g.inner;
            if (fm && avx512) sqz_tv_bn_dx_m__avx512(dx + o, dz + o, fm + o, x + o, g.inner, k, m1, mu, m2, set);
            else if (fm) sqz_tv_bn_dx_m(dx + o, dz + o, fm + o, x + o, g.inner, k, m1, mu, m2, set);
            else if (*mode) sqz_tv_bn_dx(dx + o, dy + o, x + o, g.inner, k, m1, mu, m2, set);
            else if (set) sqz_tv_affine(dx + o, dy + o, g.inner, k, 0.0f);
            else sqz_tv_axpy(dx + o, k, dy + o, g.inner);
        }
    }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_batchnorm = {.op = "BatchNormalization", .param_slots = 0x6u, .infer = bn_infer,
                                        .forward = bn_fwd, .backward = bn_bwd, .stores = 1};

/* ---- LayerNormalization ---- */
typedef struct ln_geo {
    int64_t outer, d;
} ln_geo;

static sqz_status ln_geo_make(sqz_gctx *c, ln_geo *g) {
    const sqz_tensor *X = c->in[0], *S = c->in[1], *B = c->n_in > 2 ? c->in[2] : NULL;
    sqz_status st;
    if ((st = sqz_grad_check_f32(c, X, "X")) || (st = sqz_grad_check_f32(c, S, "Scale"))) return st;
    if (B && (st = sqz_grad_check_f32(c, B, "B"))) return st;
    int axis = 0;
    if ((st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", -1), X->ndim, &axis, c->err))) return st;
    g->outer = g->d = 1;
    for (int i = 0; i < X->ndim; i++) *(i < axis ? &g->outer : &g->d) *= X->dims[i];
    if (sqz_tensor_numel(S) != g->d || (B && sqz_tensor_numel(B) != g->d))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED,
                           "LayerNormalization: training needs Scale and B of the full normalized shape");
    return SQZ_OK;
}

static sqz_status ln_fwd(sqz_gctx *c) {
    ln_geo g;
    sqz_status st = ln_geo_make(c, &g);
    if (st) return st;
    const float *x = c->in[0]->data, *s = c->in[1]->data;
    const float *b = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    float *mean = sqz_grad_state(c, 0, sizeof(float) * (size_t)(2 * g.outer + 1));
    if (!mean) return SQZ_ERR_NOMEM;
    float *istd = mean + g.outer;
    const double eps = sqz_node_attr_float(c->node, "epsilon", 1e-5f);
    for (int64_t r = 0; r < g.outer; r++) {
        const float *p = x + r * g.d;
        float *q = y + r * g.d;
        double sum = 0, sum2 = 0;
        for (int64_t i = 0; i < g.d; i++) sum += p[i];
        const float mu = (float)(sum / (double)g.d);
        for (int64_t i = 0; i < g.d; i++) sum2 += (double)((p[i] - mu) * (p[i] - mu));
        const float is = (float)(1.0 / sqrt(sum2 / (double)g.d + eps));
        mean[r] = mu;
        istd[r] = is;
        for (int64_t i = 0; i < g.d; i++) q[i] = (p[i] - mu) * is * s[i] + (b ? b[i] : 0.0f);
        if (c->n_out > 1 && c->out[1]) ((float *)c->out[1]->data)[r] = mu;
        if (c->n_out > 2 && c->out[2]) ((float *)c->out[2]->data)[r] = is;
    }
    return SQZ_OK;
}

static sqz_status ln_bwd(sqz_gctx *c) {
    ln_geo g;
    sqz_status st = ln_geo_make(c, &g);
    if (st) return st;
    const float *x = c->in[0]->data, *s = c->in[1]->data, *dy = c->dout[0], *mean = c->state[0].p;
    if (!mean) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "LayerNormalization: no saved statistics");
    const float *istd = mean + g.outer;
    float *dx = c->din[0], *ds = c->din[1], *db = c->n_in > 2 ? c->din[2] : NULL;
    for (int64_t r = 0; r < g.outer; r++) {
        const float *p = x + r * g.d, *d = dy + r * g.d;
        const float mu = mean[r], is = istd[r];
        double a = 0, b = 0;
        for (int64_t i = 0; i < g.d; i++) {
            const float xh = (p[i] - mu) * is, gi = d[i] * s[i];
            if (ds) ds[i] += d[i] * xh;
            if (db) db[i] += d[i];
            a += gi;
            b += gi * xh;
        }
        if (!dx) continue;
        const float ma = (float)(a / (double)g.d), mb = (float)(b / (double)g.d);
        float *q = dx + r * g.d;
        for (int64_t i = 0; i < g.d; i++) q[i] += is * (d[i] * s[i] - ma - (p[i] - mu) * is * mb);
    }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_layernorm = {.op = "LayerNormalization", .param_slots = 0x6u, .forward = ln_fwd,
                                        .backward = ln_bwd};
