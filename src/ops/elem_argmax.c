/* ops/elem_argmax.c - ArgMax, ArgMin (axis, keepdims, select_last_index) -> int64.
 * Ties give the first index, or the last with select_last_index = 1. NaN counts as the
 * extreme value (numpy argmax/argmin): the first NaN wins (the last with select_last_index). */
#include <math.h>

#include "ops/elem_util.h"

typedef struct argcfg {
    int axis, keepdims, last;
} argcfg;

static sqz_status get_cfg(const sqz_opctx *c, argcfg *a) {
    const sqz_tensor *x = c->in[0];
    int64_t axis = c->node ? sqz_node_attr_int(c->node, "axis", 0) : 0;
    a->keepdims = c->node ? sqz_node_attr_int(c->node, "keepdims", 1) != 0 : 1;
    a->last = c->node ? sqz_node_attr_int(c->node, "select_last_index", 0) != 0 : 0;
    a->axis = 0;
    if (x->ndim < 0) return SQZ_OK;
    int r = x->ndim ? x->ndim : 1; /* a scalar behaves as shape [1] */
    return sqz_norm_axis(axis, r, &a->axis, c->err);
}

static sqz_status arg_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_NUM)) || (st = sqz_elem_check_output(c))) return st;
    const sqz_tensor *x = c->in[0];
    argcfg a;
    if ((st = get_cfg(c, &a))) return st;
    if (x->ndim < 0) {
        sqz_op_set_shape(c->out[0], SQZ_DT_I64, -1, NULL);
        return SQZ_OK;
    }
    if (x->ndim > 0 && x->dims[a.axis] == 0)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "cannot take the arg-extreme of an empty axis %d", a.axis);
    int64_t dims[SQZ_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != a.axis) dims[nd++] = x->dims[i];
        else if (a.keepdims) dims[nd++] = 1;
    }
    sqz_op_set_shape(c->out[0], SQZ_DT_I64, nd, dims);
    return SQZ_OK;
}

#define NOT_NAN(v) 0
#define F_NAN(v) ((v) != (v))
/* v beats best for max (is_max) or min; NaN is the extreme; ties go to the later index with last. */
#define BETTER(v, best, ISNAN)                                                             \
    (ISNAN(best) ? (last && ISNAN(v))                                                      \
                 : (ISNAN(v) || (is_max ? (v) > (best) : (v) < (best)) || (last && (v) == (best))))

#define ARG_LOOP(T, VT, LOAD, ISNAN)                                                           \
    do {                                                                                   \
        const T *X_ = (const T *)x->data;                                                  \
        for (int64_t o = 0; o < outer; o++)                                                \
            for (int64_t i = 0; i < inner; i++) {                                          \
                const T *p = X_ + o * len * inner + i;                                     \
                VT best = LOAD(p[0]);                                                                        \
                int64_t bi = 0;                                                            \
                for (int64_t r = 1; r < len; r++) {                                        \
                    VT v = LOAD(p[r * inner]);                                             \
                    if (BETTER(v, best, ISNAN)) {                                          \
                        best = v;                                                          \
                        bi = r;                                                            \
                    }                                                                      \
                }                                                                          \
                y[o * inner + i] = bi;                                                     \
            }                                                                              \
    } while (0)

#define ID(v) (v)
#define F16(v) sqz_f16_to_f32(v)
#define BF16(v) sqz_bf16_to_f32(v)

static sqz_status arg_forward(sqz_opctx *c, int is_max) {
    const sqz_tensor *x = c->in[0];
    argcfg a;
    sqz_status st = get_cfg(c, &a);
    if (st) return st;
    int64_t nx = sqz_tensor_numel(x);
    if (nx < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "input shape is not known");
    int64_t outer = 1, inner = 1, len = x->ndim ? x->dims[a.axis] : 1;
    for (int i = 0; i < a.axis; i++) outer *= x->dims[i];
    for (int i = a.axis + 1; i < x->ndim; i++) inner *= x->dims[i];
    if (nx && len == 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "empty axis %d", a.axis);
    if (sqz_tensor_numel(c->out[0]) != (len ? nx / len : 0) || c->out[0]->dtype != SQZ_DT_I64)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape does not match the input");
    if (nx == 0) return SQZ_OK;
    int64_t *y = c->out[0]->data;
    int last = a.last;
    switch (x->dtype) {
    case SQZ_DT_F32: ARG_LOOP(float, float, ID, F_NAN); break;
    case SQZ_DT_F64: ARG_LOOP(double, double, ID, F_NAN); break;
    case SQZ_DT_F16: ARG_LOOP(uint16_t, float, F16, F_NAN); break;
    case SQZ_DT_BF16: ARG_LOOP(uint16_t, float, BF16, F_NAN); break;
#define X(E, T, W) case SQZ_DT_##E: ARG_LOOP(T, T, ID, NOT_NAN); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X)
#undef X
    default:
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "dtype %s is not supported", sqz_dtype_name(x->dtype));
    }
    return SQZ_OK;
}

static sqz_status argmax_forward(sqz_opctx *c) { return arg_forward(c, 1); }
static sqz_status argmin_forward(sqz_opctx *c) { return arg_forward(c, 0); }

const sqz_op sqz_op_argmax = {.name = "ArgMax", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
                              .infer = arg_infer, .forward = argmax_forward};
const sqz_op sqz_op_argmin = {.name = "ArgMin", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
                              .infer = arg_infer, .forward = argmin_forward};
