/* ops/nn_layernorm.c - LayerNormalization (ONNX opset 17): normalizes over X.shape[axis:],
 * Scale and optional B broadcast to that shape; optional Mean and InvStdDev outputs of shape
 * X.shape[:axis] + [1, ...]. epsilon, stash_type (the dtype of Mean/InvStdDev). f32 and f64. */
#include <string.h>

#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

typedef struct ln_shape {
    int axis;
    int64_t outer, d; /* rows and row length (-1 unknown) */
} ln_shape;

/* Right-aligned broadcast check of t against X.shape[axis:]. */
static sqz_status ln_check_param(const sqz_opctx *c, const sqz_tensor *t, const char *what, int axis) {
    const sqz_tensor *X = c->in[0];
    if (t->dtype != X->dtype)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "LayerNormalization: %s dtype %s differs from input dtype %s",
                           what, sqz_dtype_name(t->dtype), sqz_dtype_name(X->dtype));
    if (t->ndim < 0 || X->ndim < 0) return SQZ_OK;
    const int nr = X->ndim - axis;
    if (t->ndim > nr)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s has rank %d, more than the %d normalized dims", what, t->ndim, nr);
    for (int i = 0; i < t->ndim; i++) {
        const int64_t a = t->dims[i], b = X->dims[X->ndim - t->ndim + i];
        if (a >= 0 && b >= 0 && a != 1 && a != b)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "%s dim %d is %lld, cannot broadcast to %lld", what, i,
                               (long long)a, (long long)b);
    }
    return SQZ_OK;
}

static sqz_status ln_check(const sqz_opctx *c, ln_shape *s) {
    const sqz_tensor *X = c->in[0], *S = c->in[1], *B = sqz_nn_in(c, 2);
    sqz_status st = sqz_nn_check_float("LayerNormalization", "input", X, c->err);
    if (st) return st;
    memset(s, 0, sizeof *s);
    s->outer = s->d = -1;
    const int64_t stash = sqz_node_attr_int(c->node, "stash_type", 1);
    if ((sqz_nn_out(c, 1) || sqz_nn_out(c, 2)) && stash != (int64_t)X->dtype)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED,
                           "LayerNormalization: stash_type %lld differs from input dtype %s", (long long)stash,
                           sqz_dtype_name(X->dtype));
    if (X->ndim < 0) return SQZ_OK;
    if (X->ndim < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "input must have rank >= 1");
    if ((st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", -1), X->ndim, &s->axis, c->err))) return st;
    if ((st = ln_check_param(c, S, "Scale", s->axis))) return st;
    if (B && (st = ln_check_param(c, B, "B", s->axis))) return st;
    s->outer = 1;
    s->d = 1;
    for (int i = 0; i < X->ndim; i++) {
        int64_t *p = i < s->axis ? &s->outer : &s->d;
        *p = (*p < 0 || X->dims[i] < 0) ? -1 : *p * X->dims[i];
    }
    return SQZ_OK;
}

static sqz_status ln_infer(sqz_opctx *c) {
    ln_shape s;
    sqz_status st = ln_check(c, &s);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    sqz_op_set_shape(c->out[0], X->dtype, X->ndim, X->dims);
    int64_t sdims[SQZ_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++) sdims[i] = i < s.axis ? X->dims[i] : 1;
    for (int k = 1; k < 3; k++)
        if (sqz_nn_out(c, k)) sqz_op_set_shape(c->out[k], X->dtype, X->ndim, X->ndim >= 0 ? sdims : NULL);
    return SQZ_OK;
}

/* Does t (broadcast to X.shape[axis:]) need expanding to a full row of d values? */
static int needs_expand(const sqz_tensor *t, int64_t d) { return t && sqz_tensor_numel(t) != d; }

/* Expands t to a row of d values (elem bytes each) in dst, broadcasting against X.shape[axis:]. */
static void expand_row(const sqz_tensor *X, int axis, const sqz_tensor *t, size_t elem, int64_t d, char *dst) {
    const int nr = X->ndim - axis;
    for (int64_t i = 0; i < d; i++) {
        int64_t rem = i, src = 0, mul = 1;
        for (int k = nr - 1; k >= 0; k--) {
            const int64_t xd = X->dims[axis + k], coord = rem % xd;
            rem /= xd;
            const int ti = t->ndim - (nr - k);
            if (ti >= 0) {
                if (t->dims[ti] != 1) src += coord * mul;
                mul *= t->dims[ti];
            }
        }
        memcpy(dst + (size_t)i * elem, (const char *)t->data + (size_t)src * elem, elem);
    }
}

static size_t ln_scratch(const sqz_opctx *c) {
    ln_shape s;
    if (ln_check(c, &s) || s.d < 0) return 0;
    const size_t es = sqz_dtype_size(c->in[0]->dtype);
    return ((size_t)needs_expand(c->in[1], s.d) + (size_t)needs_expand(sqz_nn_in(c, 2), s.d)) * (size_t)s.d * es;
}

static sqz_status ln_forward(sqz_opctx *c) {
    ln_shape s;
    sqz_status st = ln_check(c, &s);
    if (st) return st;
    const sqz_tensor *X = c->in[0], *S = c->in[1], *B = sqz_nn_in(c, 2);
    const size_t es = sqz_dtype_size(X->dtype);
    const int es_scale = needs_expand(S, s.d), es_bias = needs_expand(B, s.d);
    const size_t need = (size_t)(es_scale + es_bias) * (size_t)s.d * es;
    void *owned;
    char *scratch = sqz_nn_scratch_get(c, need, &owned);
    if (need && !scratch) return SQZ_ERR_NOMEM;
    const void *scale = S->data, *bias = B ? B->data : NULL;
    if (es_scale) {
        expand_row(X, s.axis, S, es, s.d, scratch);
        scale = scratch;
    }
    if (es_bias) {
        char *dst = scratch + (size_t)es_scale * (size_t)s.d * es;
        expand_row(X, s.axis, B, es, s.d, dst);
        bias = dst;
    }
    const double eps = sqz_node_attr_float(c->node, "epsilon", 1e-5f);
    const sqz_tensor *Mo = sqz_nn_out(c, 1), *Io = sqz_nn_out(c, 2);
    if (X->dtype == SQZ_DT_F32)
        sqz_layernorm_f32_ref(s.outer, s.d, X->data, scale, bias, eps, c->out[0]->data, Mo ? Mo->data : NULL,
                              Io ? Io->data : NULL);
    else
        sqz_layernorm_f64_ref(s.outer, s.d, X->data, scale, bias, eps, c->out[0]->data, Mo ? Mo->data : NULL,
                              Io ? Io->data : NULL);
    sqz_nn_scratch_release(owned);
    return SQZ_OK;
}

const sqz_op sqz_op_layernorm = {
    .name = "LayerNormalization", .n_in_min = 2, .n_in_max = 3, .n_out_min = 1, .n_out_max = 3,
    .infer = ln_infer, .forward = ln_forward, .scratch_bytes = ln_scratch,
};
