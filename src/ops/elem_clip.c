/* ops/elem_clip.c - Clip: y = min(max(x, lo), hi).
 * Opset < 11: float attributes min/max (defaults: no bound). Opset >= 11: optional scalar
 * inputs 1 (min) and 2 (max) of x's dtype; either may be omitted. When lo > hi every
 * element becomes hi (as numpy.clip and ONNX Runtime). NaN stays NaN. */
#include <math.h>

#include "ops/elem_util.h"

typedef struct clip_bounds {
    int has_lo, has_hi;
    double flo, fhi;   /* float dtypes */
    uint64_t ilo, ihi; /* integer dtypes (two's complement bits) */
} clip_bounds;

static sqz_status check_bound(const sqz_opctx *c, int i) {
    const sqz_tensor *t = sqz_elem_in(c, i);
    if (!t) return SQZ_OK;
    if (t->dtype != c->in[0]->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s has dtype %s, input has %s", i == 1 ? "min" : "max",
                           sqz_dtype_name(t->dtype), sqz_dtype_name(c->in[0]->dtype));
    int64_t n = sqz_tensor_numel(t);
    if (n >= 0 && n != 1)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s must be a scalar, has %lld elements", i == 1 ? "min" : "max",
                           (long long)n);
    return SQZ_OK;
}

static sqz_status clip_infer(sqz_opctx *c) {
    sqz_status st;
    uint32_t mask = c->opset < 11 ? SQZ_EM_FLOAT : SQZ_EM_NUM;
    if ((st = sqz_elem_check_input(c, 0, mask)) || (st = sqz_elem_check_output(c))) return st;
    if (c->opset >= 11 && ((st = check_bound(c, 1)) || (st = check_bound(c, 2)))) return st;
    sqz_elem_same_shape(c->out[0], c->in[0]->dtype, c->in[0]);
    return SQZ_OK;
}

static sqz_status get_bounds(const sqz_opctx *c, clip_bounds *b) {
    const sqz_tensor *x = c->in[0];
    *b = (clip_bounds){0};
    if (c->opset < 11) {
        const sqz_attr *lo = c->node ? sqz_node_attr(c->node, "min") : NULL;
        const sqz_attr *hi = c->node ? sqz_node_attr(c->node, "max") : NULL;
        b->has_lo = lo != NULL;
        b->has_hi = hi != NULL;
        b->flo = lo ? lo->f : 0;
        b->fhi = hi ? hi->f : 0;
        return SQZ_OK;
    }
    for (int i = 1; i <= 2; i++) {
        const sqz_tensor *t = sqz_elem_in(c, i);
        if (!t) continue;
        if (!t->data || sqz_tensor_numel(t) != 1 || t->dtype != x->dtype)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "%s is not a scalar of the input's dtype",
                               i == 1 ? "min" : "max");
        double f = 0;
        uint64_t u = 0;
        if (sqz_elem_is_float(x->dtype)) sqz_elem_load_f64(t->dtype, t->data, 0, 1, &f);
        else sqz_elem_load_i64(t->dtype, t->data, 0, 1, &u);
        if (i == 1) {
            b->has_lo = 1;
            b->flo = f;
            b->ilo = u;
        } else {
            b->has_hi = 1;
            b->fhi = f;
            b->ihi = u;
        }
    }
    return SQZ_OK;
}

static sqz_status clip_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0];
    sqz_tensor *y = c->out[0];
    int64_t n = sqz_tensor_numel(x);
    if (n < 0 || n != sqz_tensor_numel(y) || x->dtype != y->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape or dtype does not match the input");
    clip_bounds b;
    sqz_status st = get_bounds(c, &b);
    if (st) return st;
    if (x->dtype == SQZ_DT_F32) {
        float lo = b.has_lo ? (float)b.flo : -INFINITY, hi = b.has_hi ? (float)b.fhi : INFINITY;
        const float *xs = x->data;
        float *ys = y->data;
        for (int64_t i = 0; i < n; i++) {
            float v = xs[i];
            v = v < lo ? lo : v;
            ys[i] = v > hi ? hi : v;
        }
        return SQZ_OK;
    }
    int fl = sqz_elem_is_float(x->dtype), un = sqz_elem_is_uint(x->dtype);
    double fb[SQZ_ELEM_CHUNK];
    uint64_t ib[SQZ_ELEM_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
        int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
        if (fl) {
            sqz_elem_load_f64(x->dtype, x->data, i0, m, fb);
            for (int64_t i = 0; i < m; i++) {
                if (b.has_lo && fb[i] < b.flo) fb[i] = b.flo;
                if (b.has_hi && fb[i] > b.fhi) fb[i] = b.fhi;
            }
            sqz_elem_store_f64(y->dtype, y->data, i0, m, fb);
        } else {
            sqz_elem_load_i64(x->dtype, x->data, i0, m, ib);
            for (int64_t i = 0; i < m; i++) {
                if (un) {
                    if (b.has_lo && ib[i] < b.ilo) ib[i] = b.ilo;
                    if (b.has_hi && ib[i] > b.ihi) ib[i] = b.ihi;
                } else {
                    if (b.has_lo && (int64_t)ib[i] < (int64_t)b.ilo) ib[i] = b.ilo;
                    if (b.has_hi && (int64_t)ib[i] > (int64_t)b.ihi) ib[i] = b.ihi;
                }
            }
            sqz_elem_store_i64(y->dtype, y->data, i0, m, ib, un);
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_clip = {.name = "Clip", .n_in_min = 1, .n_in_max = 3, .n_out_min = 1, .n_out_max = 1,
                            .infer = clip_infer, .forward = clip_forward};
