/* ops/nn_softmax.c - Softmax, LogSoftmax and Hardmax. Opset < 13: the input is coerced to 2-D
 * at axis (default 1) and each row is normalized; opset >= 13: along one axis (default -1).
 * f32 and f64. */
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

/* (outer, len, inner) view of X for this node and opset. */
static sqz_status sm_view(const sqz_opctx *c, int64_t *outer, int64_t *len, int64_t *inner) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_nn_check_float(c->node->op_type, "input", X, c->err);
    if (st) return st;
    if (X->ndim < 0) return SQZ_OK;
    const int legacy = c->opset < 13;
    int r = X->ndim, axis;
    if (r == 0) { /* a scalar is a single row of one */
        *outer = *len = *inner = 1;
        return SQZ_OK;
    }
    /* opset < 13 allows axis == rank (rows of one element) */
    int64_t a = sqz_node_attr_int(c->node, "axis", legacy ? 1 : -1);
    if (legacy && a == r) axis = r;
    else if ((st = sqz_norm_axis(a, r, &axis, c->err))) return st;
    *outer = *len = *inner = 1;
    for (int i = 0; i < r; i++) {
        int64_t *p = i < axis ? outer : (legacy || i == axis) ? len : inner;
        *p = (*p < 0 || X->dims[i] < 0) ? -1 : *p * X->dims[i];
    }
    return SQZ_OK;
}

static sqz_status sm_infer(sqz_opctx *c) {
    int64_t o, l, i;
    sqz_status st = sm_view(c, &o, &l, &i);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}

static sqz_status sm_run(sqz_opctx *c, sqz_softmax_kind kind) {
    int64_t o, l, i;
    sqz_status st = sm_view(c, &o, &l, &i);
    if (st) return st;
    if (c->in[0]->dtype == SQZ_DT_F32) sqz_softmax_f32_ref(kind, o, l, i, c->in[0]->data, c->out[0]->data);
    else sqz_softmax_f64_ref(kind, o, l, i, c->in[0]->data, c->out[0]->data);
    return SQZ_OK;
}

static sqz_status softmax_forward(sqz_opctx *c) { return sm_run(c, SQZ_SOFTMAX); }
static sqz_status logsoftmax_forward(sqz_opctx *c) { return sm_run(c, SQZ_LOG_SOFTMAX); }
static sqz_status hardmax_forward(sqz_opctx *c) { return sm_run(c, SQZ_HARDMAX); }

const sqz_op sqz_op_softmax = {
    .name = "Softmax", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = sm_infer, .forward = softmax_forward,
};
const sqz_op sqz_op_logsoftmax = {
    .name = "LogSoftmax", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = sm_infer, .forward = logsoftmax_forward,
};
const sqz_op sqz_op_hardmax = {
    .name = "Hardmax", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = sm_infer, .forward = hardmax_forward,
};
