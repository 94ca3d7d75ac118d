/* ops/shape_reshape.c - ops that keep the bytes and change only the shape:
 * Reshape, Flatten, Squeeze, Unsqueeze, Identity, and inference-mode Dropout. */
#include <stdio.h>
#include <string.h>

#include "ops/shape_util.h"

/* Output 0 receives input 0's bytes unchanged (numel must agree). */
static sqz_status same_bytes_forward(sqz_opctx *c) {
    const char *op = c->node->op_type;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    sqz_status st = sqz_shp_check_in(op, x, c->err);
    if (!st) st = sqz_shp_check_out(op, y, c->err);
    if (st) return st;
    if (sqz_tensor_numel(x) != sqz_tensor_numel(y) || x->dtype != y->dtype)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "%s: output has %lld elements, input %lld", op,
                           (long long)sqz_tensor_numel(y), (long long)sqz_tensor_numel(x));
    size_t nb;
    st = sqz_dtype_nbytes(x->dtype, sqz_tensor_numel(x), &nb, c->err);
    if (st) return st;
    sqz_shp_copy_bytes(y->data, x->data, nb);
    return SQZ_OK;
}

/* ---- Reshape ---- */

static sqz_status reshape_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0], *s = sqz_shp_in(c, 1);
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Reshape", x, &esz, c->err);
    if (st) return st;
    int64_t shape[SQZ_MAX_DIMS];
    int n = 0;
    if (c->opset < 5 && !s) {
        const int64_t *v;
        int64_t k = sqz_node_attr_ints(c->node, "shape", &v);
        if (k < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: missing 'shape' attribute");
        if (k > SQZ_MAX_DIMS)
            return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Reshape: target rank %lld exceeds %d", (long long)k,
                               SQZ_MAX_DIMS);
        n = (int)k;
        if (n) memcpy(shape, v, sizeof(int64_t) * (size_t)n);
    } else {
        if (!s) return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: missing 'shape' input");
        if (!sqz_shp_known(s)) {
            int r = (s->ndim == 1 && s->dims[0] >= 0 && s->dims[0] <= SQZ_MAX_DIMS) ? (int)s->dims[0] : -1;
            sqz_shp_set_unknown(y, x->dtype, r);
            return SQZ_OK;
        }
        st = sqz_shp_read_ints("Reshape", "shape", s, shape, SQZ_MAX_DIMS, &n, c->err);
        if (st) return st;
    }
    int allowzero = c->opset >= 14 ? (int)sqz_node_attr_int(c->node, "allowzero", 0) : 0;
    int neg = -1, has_zero = 0;
    int64_t known = 1; /* product of the known output dims other than the -1 */
    int known_ok = 1;
    for (int i = 0; i < n; i++) {
        if (shape[i] == -1) {
            if (neg >= 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: more than one -1 in shape");
            neg = i;
            continue;
        }
        if (shape[i] < -1)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: invalid dimension %lld in shape",
                               (long long)shape[i]);
        if (shape[i] == 0) {
            has_zero = 1;
            if (!allowzero) {
                if (x->ndim < 0) {
                    shape[i] = -2; /* unknown: copied from an unknown rank */
                    known_ok = 0;
                    continue;
                }
                if (i >= x->ndim)
                    return sqz_err_set(c->err, SQZ_ERR_DATA,
                                       "Reshape: shape[%d] = 0 copies a dimension the rank-%d input lacks", i,
                                       x->ndim);
                shape[i] = x->dims[i] >= 0 ? x->dims[i] : -2;
                if (shape[i] < 0) {
                    known_ok = 0;
                    continue;
                }
            }
        }
        if (shape[i] != 0 && known > INT64_MAX / shape[i])
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: target shape overflows");
        known *= shape[i];
    }
    if (allowzero && has_zero && neg >= 0)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: allowzero=1 with both 0 and -1 in shape");
    int64_t numel = sqz_tensor_numel(x);
    if (numel >= 0 && known_ok) {
        if (neg >= 0) {
            if (known == 0 || numel % known)
                return sqz_err_set(c->err, SQZ_ERR_DATA,
                                   "Reshape: cannot reshape %lld elements into a shape with -1 and known "
                                   "product %lld",
                                   (long long)numel, (long long)known);
            shape[neg] = numel / known;
        } else if (known != numel) {
            char buf[128];
            int k = snprintf(buf, sizeof buf, "[");
            for (int i = 0; i < n && k < (int)sizeof buf; i++)
                k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%lld", i ? "," : "", (long long)shape[i]);
            if (k < (int)sizeof buf) snprintf(buf + k, sizeof buf - (size_t)k, "]");
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Reshape: cannot reshape %lld elements into %s",
                               (long long)numel, buf);
        }
    }
    for (int i = 0; i < n; i++)
        if (shape[i] < 0) shape[i] = -1;
    sqz_op_set_shape(y, x->dtype, n, shape);
    return SQZ_OK;
}

const sqz_op sqz_op_reshape = {"Reshape", 1, 2, 1, 1, 1u << 1, reshape_infer, same_bytes_forward, NULL, NULL, NULL, 0, NULL, 1};

/* ---- Flatten ---- */

static sqz_status flatten_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Flatten", x, &esz, c->err);
    if (st) return st;
    if (x->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, 2);
        return SQZ_OK;
    }
    int64_t axis = sqz_node_attr_int(c->node, "axis", 1);
    int r = x->ndim;
    if (axis < -r || axis > r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Flatten: axis %lld out of range for rank %d", (long long)axis, r);
    int a = (int)(axis < 0 ? axis + r : axis);
    int64_t d[2] = {sqz_shp_prod(x->dims, 0, a), sqz_shp_prod(x->dims, a, r)};
    sqz_op_set_shape(y, x->dtype, 2, d);
    return SQZ_OK;
}

const sqz_op sqz_op_flatten = {"Flatten", 1, 1, 1, 1, 0, flatten_infer, same_bytes_forward, NULL, NULL, NULL, 0, NULL, 1};

/* ---- Squeeze / Unsqueeze ---- */

/* Reads axes from the attribute (opset < 13) or input 1; *have = 0 when absent,
 * *n = -1 when given but not yet known (then *n_hint is its count if known, else -1). */
static sqz_status read_axes(sqz_opctx *c, const char *op, int64_t *axes, int *n, int *have, int *n_hint) {
    *have = 0;
    *n = 0;
    *n_hint = -1;
    if (c->opset < 13) {
        const int64_t *v;
        int64_t k = sqz_node_attr_ints(c->node, "axes", &v);
        if (k < 0) return SQZ_OK;
        if (k > SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: too many axes (%lld)", op, (long long)k);
        *have = 1;
        *n = (int)k;
        if (k) memcpy(axes, v, sizeof(int64_t) * (size_t)k);
        return SQZ_OK;
    }
    sqz_tensor *a = sqz_shp_in(c, 1);
    if (!a) return SQZ_OK;
    *have = 1;
    if (!sqz_shp_known(a)) {
        *n = -1;
        if (a->ndim == 1 && a->dims[0] >= 0) *n_hint = (int)(a->dims[0] > 64 ? 64 : a->dims[0]);
        if (a->ndim == 0) *n_hint = 1;
        return SQZ_OK;
    }
    return sqz_shp_read_ints(op, "axes", a, axes, SQZ_MAX_DIMS, n, c->err);
}

/* Normalizes axes against rank r into a mark array; SQZ_ERR_DATA on range or repeats. */
static sqz_status mark_axes(const char *op, const int64_t *axes, int n, int r, uint8_t *mark, sqz_err *err) {
    memset(mark, 0, SQZ_MAX_DIMS);
    for (int i = 0; i < n; i++) {
        if (axes[i] < -r || axes[i] >= r)
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: axis %lld out of range for rank %d", op, (long long)axes[i], r);
        int a = (int)(axes[i] < 0 ? axes[i] + r : axes[i]);
        if (mark[a]) return sqz_err_set(err, SQZ_ERR_DATA, "%s: axis %lld repeated", op, (long long)axes[i]);
        mark[a] = 1;
    }
    return SQZ_OK;
}

static sqz_status squeeze_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Squeeze", x, &esz, c->err);
    if (st) return st;
    int64_t axes[SQZ_MAX_DIMS];
    int n, have, hint;
    st = read_axes(c, "Squeeze", axes, &n, &have, &hint);
    if (st) return st;
    if (x->ndim < 0 || (have && n < 0)) {
        int r = (x->ndim >= 0 && hint >= 0 && hint <= x->ndim) ? x->ndim - hint : -1;
        sqz_shp_set_unknown(y, x->dtype, r);
        return SQZ_OK;
    }
    int r = x->ndim;
    uint8_t mark[SQZ_MAX_DIMS];
    if (have) {
        st = mark_axes("Squeeze", axes, n, r, mark, c->err);
        if (st) return st;
        for (int i = 0; i < r; i++)
            if (mark[i] && x->dims[i] != 1 && x->dims[i] >= 0)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "Squeeze: dimension %d is %lld, not 1", i,
                                   (long long)x->dims[i]);
    } else {
        for (int i = 0; i < r; i++) {
            if (x->dims[i] < 0) { /* which dims are 1 is not known yet */
                sqz_shp_set_unknown(y, x->dtype, -1);
                return SQZ_OK;
            }
            mark[i] = x->dims[i] == 1;
        }
    }
    int64_t d[SQZ_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < r; i++)
        if (!mark[i]) d[k++] = x->dims[i];
    sqz_op_set_shape(y, x->dtype, k, d);
    return SQZ_OK;
}

const sqz_op sqz_op_squeeze = {"Squeeze", 1, 2, 1, 1, 1u << 1, squeeze_infer, same_bytes_forward, NULL, NULL, NULL, 0, NULL, 1};

static sqz_status unsqueeze_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Unsqueeze", x, &esz, c->err);
    if (st) return st;
    int64_t axes[SQZ_MAX_DIMS];
    int n, have, hint;
    st = read_axes(c, "Unsqueeze", axes, &n, &have, &hint);
    if (st) return st;
    if (!have) return sqz_err_set(c->err, SQZ_ERR_DATA, "Unsqueeze: missing axes");
    if (x->ndim < 0 || n < 0) {
        int r = (x->ndim >= 0 && hint >= 0) ? x->ndim + hint : -1;
        sqz_shp_set_unknown(y, x->dtype, r);
        return SQZ_OK;
    }
    int r = x->ndim + n;
    if (r > SQZ_MAX_DIMS)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Unsqueeze: output rank %d exceeds %d", r, SQZ_MAX_DIMS);
    uint8_t mark[SQZ_MAX_DIMS];
    st = mark_axes("Unsqueeze", axes, n, r, mark, c->err);
    if (st) return st;
    int64_t d[SQZ_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < r; i++) d[i] = mark[i] ? 1 : x->dims[k++];
    sqz_op_set_shape(y, x->dtype, r, d);
    return SQZ_OK;
}

const sqz_op sqz_op_unsqueeze = {"Unsqueeze", 1, 2, 1, 1, 1u << 1, unsqueeze_infer, same_bytes_forward, NULL, NULL, NULL, 0, NULL, 1};

/* ---- Identity ---- */

static sqz_status identity_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size(c->node->op_type, x, &esz, c->err);
    if (st) return st;
    sqz_op_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return SQZ_OK;
}

const sqz_op sqz_op_identity = {"Identity", 1, 1, 1, 1, 0, identity_infer, same_bytes_forward, NULL, NULL, NULL, 0, NULL, 1};

/* ---- Dropout (inference: output = input, mask all true) ---- */

/* 1 when the node asks for training-mode dropout that changes values; -1 when not yet known. */
static int dropout_training(const sqz_opctx *c) {
    sqz_tensor *tm = c->opset >= 12 ? sqz_shp_in(c, 2) : NULL;
    if (!tm) return 0;
    if (!sqz_shp_known(tm) || sqz_tensor_numel(tm) < 1 || tm->nbytes < sqz_dtype_size(tm->dtype)) return -1;
    if (sqz_tensor_get_f64(tm, 0) == 0.0) return 0;
    sqz_tensor *r = sqz_shp_in(c, 1);
    if (!r) return 1; /* default ratio 0.5 */
    if (!sqz_shp_known(r) || sqz_tensor_numel(r) < 1 || r->nbytes < sqz_dtype_size(r->dtype)) return -1;
    return sqz_tensor_get_f64(r, 0) != 0.0;
}

static sqz_dtype dropout_mask_dtype(const sqz_opctx *c) { return c->opset >= 10 ? SQZ_DT_BOOL : c->in[0]->dtype; }

static sqz_status dropout_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_status st = identity_infer(c);
    if (st) return st;
    if (dropout_training(c) == 1)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Dropout: training_mode with a nonzero ratio is not supported");
    sqz_tensor *m = sqz_shp_out(c, 1);
    if (m) sqz_op_set_shape(m, dropout_mask_dtype(c), c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}

static sqz_status dropout_forward(sqz_opctx *c) {
    if (dropout_training(c) != 0)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Dropout: training_mode with a nonzero ratio is not supported");
    sqz_status st = same_bytes_forward(c);
    if (st) return st;
    sqz_tensor *m = sqz_shp_out(c, 1);
    if (!m) return SQZ_OK;
    st = sqz_shp_check_out("Dropout", m, c->err);
    if (st) return st;
    int64_t n = sqz_tensor_numel(m);
    size_t esz = sqz_dtype_size(m->dtype);
    if (!esz) return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Dropout: mask dtype %s", sqz_dtype_name(m->dtype));
    for (int64_t i = 0; i < n; i++) sqz_shp_store_f64(m->dtype, (char *)m->data + (size_t)i * esz, 1.0);
    return SQZ_OK;
}

const sqz_op sqz_op_dropout = {"Dropout", 1, 3, 1, 2, 0, dropout_infer, dropout_forward, NULL, NULL};
