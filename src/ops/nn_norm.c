/* ops/nn_norm.c - BatchNormalization (inference), InstanceNormalization and LRN
 * (ONNX opset 1-17). X is (N, C, D...); statistics per channel. f32 and f64. */
#include <string.h>

#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

/* Checks that input i is 1-D of c elements (or, with alt > 0, of alt elements in any shape). */
static sqz_status check_vec(const sqz_opctx *c, int i, const char *what, int64_t ch, int64_t alt) {
    const sqz_tensor *t = sqz_nn_in(c, i);
    if (!t) return sqz_err_set(c->err, SQZ_ERR_DATA, "input %s is required", what);
    if (t->dtype != c->in[0]->dtype) /* opset 15 allows it; sqz does not mix precisions */
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: %s dtype %s differs from input dtype %s",
                           c->node->op_type, what, sqz_dtype_name(t->dtype), sqz_dtype_name(c->in[0]->dtype));
    if (t->ndim < 0 || ch < 0) return SQZ_OK;
    const int64_t n = sqz_tensor_numel(t);
    if (t->ndim == 1 && (t->dims[0] == ch || t->dims[0] < 0)) return SQZ_OK;
    if (alt > 0 && n == alt) return SQZ_OK;
    return sqz_err_set(c->err, SQZ_ERR_DATA, "%s must have shape [%lld]", what, (long long)ch);
}

static int64_t inner_of(const sqz_tensor *X) {
    int64_t inner = 1;
    for (int i = 2; i < X->ndim; i++) inner = X->dims[i] < 0 || inner < 0 ? -1 : inner * X->dims[i];
    return inner;
}

/* ---- BatchNormalization ---- */
static sqz_status bn_check(sqz_opctx *c, int *per_elem) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_nn_check_float("BatchNormalization", "input", X, c->err);
    if (st) return st;
    if (sqz_node_attr_int(c->node, "training_mode", 0) != 0)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "BatchNormalization: training_mode=1 is not supported");
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k])
            return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED,
                               "BatchNormalization: training-mode outputs (output %d) are not supported", k);
    *per_elem = 0;
    if (X->ndim < 0) return SQZ_OK;
    if (X->ndim < 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; needs rank >= 2", X->ndim);
    const int64_t C = X->dims[1], inner = inner_of(X);
    /* opset < 9 'spatial' = 0: statistics per element of (C, D...) */
    const int spatial = sqz_node_attr_int(c->node, "spatial", 1) != 0;
    const int64_t alt = !spatial && C >= 0 && inner >= 0 ? C * inner : 0;
    static const char *names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 1; i < 5; i++)
        if ((st = check_vec(c, i, names[i], C, alt))) return st;
    if (alt > 0 && inner != 1 && sqz_tensor_numel(c->in[1]) == alt) *per_elem = 1;
    return SQZ_OK;
}

static sqz_status bn_infer(sqz_opctx *c) {
    int per_elem;
    sqz_status st = bn_check(c, &per_elem);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}

static sqz_status bn_forward(sqz_opctx *c) {
    int per_elem;
    sqz_status st = bn_check(c, &per_elem);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const double eps = sqz_node_attr_float(c->node, "epsilon", 1e-5f);
    const int64_t inner = inner_of(X);
    if (X->dtype == SQZ_DT_F32)
        sqz_batchnorm_f32_ref(X->dims[0], X->dims[1], inner, per_elem, X->data, c->in[1]->data, c->in[2]->data,
                              c->in[3]->data, c->in[4]->data, eps, c->out[0]->data);
    else
        sqz_batchnorm_f64_ref(X->dims[0], X->dims[1], inner, per_elem, X->data, c->in[1]->data, c->in[2]->data,
                              c->in[3]->data, c->in[4]->data, eps, c->out[0]->data);
    return SQZ_OK;
}

/* ---- InstanceNormalization ---- */
static sqz_status in_check(sqz_opctx *c) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_nn_check_float("InstanceNormalization", "input", X, c->err);
    if (st) return st;
    if (X->ndim < 0) return SQZ_OK;
    if (X->ndim < 3) return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; needs rank >= 3", X->ndim);
    if ((st = check_vec(c, 1, "scale", X->dims[1], 0))) return st;
    return check_vec(c, 2, "B", X->dims[1], 0);
}

static sqz_status in_infer(sqz_opctx *c) {
    sqz_status st = in_check(c);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}

static sqz_status in_forward(sqz_opctx *c) {
    sqz_status st = in_check(c);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const double eps = sqz_node_attr_float(c->node, "epsilon", 1e-5f);
    if (X->dtype == SQZ_DT_F32)
        sqz_instancenorm_f32_ref(X->dims[0], X->dims[1], inner_of(X), X->data, c->in[1]->data, c->in[2]->data, eps,
                                 c->out[0]->data);
    else
        sqz_instancenorm_f64_ref(X->dims[0], X->dims[1], inner_of(X), X->data, c->in[1]->data, c->in[2]->data, eps,
                                 c->out[0]->data);
    return SQZ_OK;
}

/* ---- LRN ---- */
static sqz_status lrn_check(sqz_opctx *c) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_nn_check_float("LRN", "input", X, c->err);
    if (st) return st;
    const sqz_attr *a = sqz_node_attr(c->node, "size");
    if (!a || a->type != SQZ_ATTR_INT || a->i < 1)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "attribute size (an int >= 1) is required");
    if (X->ndim >= 0 && X->ndim < 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; needs rank >= 2", X->ndim);
    return SQZ_OK;
}

static sqz_status lrn_infer(sqz_opctx *c) {
    sqz_status st = lrn_check(c);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}

static sqz_status lrn_forward(sqz_opctx *c) {
    sqz_status st = lrn_check(c);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const int64_t size = sqz_node_attr_int(c->node, "size", 1);
    const double alpha = sqz_node_attr_float(c->node, "alpha", 1e-4f);
    const double beta = sqz_node_attr_float(c->node, "beta", 0.75f);
    const double bias = sqz_node_attr_float(c->node, "bias", 1.0f);
    if (X->dtype == SQZ_DT_F32)
        sqz_lrn_f32_ref(X->dims[0], X->dims[1], inner_of(X), size, alpha, beta, bias, X->data, c->out[0]->data);
    else
        sqz_lrn_f64_ref(X->dims[0], X->dims[1], inner_of(X), size, alpha, beta, bias, X->data, c->out[0]->data);
    return SQZ_OK;
}

const sqz_op sqz_op_batchnorm = {
    .name = "BatchNormalization", .n_in_min = 5, .n_in_max = 5, .n_out_min = 1, .n_out_max = 5,
    .infer = bn_infer, .forward = bn_forward,
};
const sqz_op sqz_op_instancenorm = {
    .name = "InstanceNormalization", .n_in_min = 3, .n_in_max = 3, .n_out_min = 1, .n_out_max = 1,
    .infer = in_infer, .forward = in_forward,
};
const sqz_op sqz_op_lrn = {
    .name = "LRN", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = lrn_infer, .forward = lrn_forward,
};
