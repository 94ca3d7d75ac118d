/* ops/shape_onehot_trilu.c - OneHot (indices -> one-hot along a new axis) and
 * Trilu (keep the upper or lower triangle of the last two dims). */
#include <string.h>

#include "ops/shape_util.h"

/* ---- OneHot ---- */

static int64_t value_as_int(const sqz_tensor *t, int64_t i) {
    if (sqz_shp_is_int(t->dtype)) return sqz_tensor_get_i64(t, i);
    double v = sqz_tensor_get_f64(t, i);
    if (!(v > -9.0e18 && v < 9.0e18)) return INT64_MIN; /* NaN or huge: never a valid index */
    return (int64_t)v;
}

/* depth, or -1 when not known yet */
static sqz_status onehot_depth(const sqz_opctx *c, int64_t *depth) {
    sqz_tensor *d = c->in[1];
    *depth = -1;
    if (d->ndim > 1 || (sqz_tensor_numel(d) >= 0 && sqz_tensor_numel(d) != 1))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "OneHot: depth must hold one value");
    if (!sqz_shp_known(d)) return SQZ_OK;
    size_t esz = sqz_dtype_size(d->dtype);
    if (!esz || d->dtype == SQZ_DT_BOOL || d->nbytes < esz)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "OneHot: depth must be a numeric scalar");
    int64_t v = value_as_int(d, 0);
    if (v < 0 || v > ((int64_t)1 << 40))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "OneHot: invalid depth %lld", (long long)v);
    *depth = v;
    return SQZ_OK;
}

static sqz_status onehot_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 3, 1);
    if (need_st) return need_st;
    sqz_tensor *ix = c->in[0], *vals = c->in[2], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("OneHot", vals, &esz, c->err);
    if (!st) st = sqz_shp_elem_size("OneHot", ix, &esz, c->err);
    if (st) return st;
    if (vals->ndim >= 0 && sqz_tensor_numel(vals) >= 0 && sqz_tensor_numel(vals) != 2)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "OneHot: values must hold [off_value, on_value]");
    int64_t depth;
    st = onehot_depth(c, &depth);
    if (st) return st;
    if (ix->ndim < 0) {
        sqz_shp_set_unknown(y, vals->dtype, -1);
        return SQZ_OK;
    }
    int r = ix->ndim + 1, axis;
    if (r > SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "OneHot: output rank %d exceeds %d", r, SQZ_MAX_DIMS);
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", -1), r, &axis, c->err);
    if (st) {
        sqz_err_prefix(c->err, "OneHot");
        return st;
    }
    int64_t d[SQZ_MAX_DIMS];
    for (int i = 0, k = 0; i < r; i++) d[i] = i == axis ? depth : ix->dims[k++];
    sqz_op_set_shape(y, vals->dtype, r, d);
    return SQZ_OK;
}

static sqz_status onehot_forward(sqz_opctx *c) {
    sqz_tensor *ix = c->in[0], *vals = c->in[2], *y = c->out[0];
    size_t esz = sqz_dtype_size(vals->dtype);
    int64_t depth;
    sqz_status st = onehot_depth(c, &depth);
    if (!st) st = sqz_shp_check_in("OneHot", ix, c->err);
    if (!st) st = sqz_shp_check_in("OneHot", vals, c->err);
    if (!st) st = sqz_shp_check_out("OneHot", y, c->err);
    if (st) return st;
    int r = ix->ndim + 1, axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", -1), r, &axis, c->err);
    if (st) return st;
    if (depth < 0 || y->ndim != r || y->dims[axis] != depth || sqz_tensor_numel(vals) != 2 || y->dtype != vals->dtype)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "OneHot: shapes changed after inference");
    int64_t total = sqz_tensor_numel(y);
    const char *off = vals->data, *on = (const char *)vals->data + esz;
    char *dst = y->data;
    for (int64_t i = 0; i < total; i++) memcpy(dst + (size_t)i * esz, off, esz);
    int64_t outer = sqz_shp_prod(ix->dims, 0, axis), inner = sqz_shp_prod(ix->dims, axis, ix->ndim);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t k = value_as_int(ix, o * inner + i);
            if (k < 0 && k >= -depth) k += depth;
            if (k < 0 || k >= depth) continue;
            memcpy(dst + (size_t)((o * depth + k) * inner + i) * esz, on, esz);
        }
    return SQZ_OK;
}

const sqz_op sqz_op_onehot = {"OneHot", 3, 3, 1, 1, 1u << 1, onehot_infer, onehot_forward, NULL, NULL};

/* ---- Trilu ---- */

static sqz_status trilu_k(const sqz_opctx *c, int64_t *k) {
    sqz_tensor *t = sqz_shp_in(c, 1);
    *k = 0;
    if (!t) return SQZ_OK;
    if (!sqz_shp_is_int(t->dtype) || t->ndim > 1 || (sqz_tensor_numel(t) >= 0 && sqz_tensor_numel(t) != 1))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Trilu: k must be one integer");
    if (!sqz_shp_known(t)) return SQZ_OK;
    if (t->nbytes < sqz_dtype_size(t->dtype)) return sqz_err_set(c->err, SQZ_ERR_DATA, "Trilu: k holds no data");
    *k = sqz_tensor_get_i64(t, 0);
    return SQZ_OK;
}

static sqz_status trilu_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    size_t esz;
    int64_t k;
    sqz_status st = sqz_shp_elem_size("Trilu", x, &esz, c->err);
    if (!st) st = trilu_k(c, &k);
    if (st) return st;
    if (x->ndim >= 0 && x->ndim < 2)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Trilu: input must have rank >= 2 (rank %d)", x->ndim);
    sqz_op_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return SQZ_OK;
}

static sqz_status trilu_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    int64_t k;
    sqz_status st = sqz_shp_elem_size("Trilu", x, &esz, c->err);
    if (!st) st = trilu_k(c, &k);
    if (!st) st = sqz_shp_check_in("Trilu", x, c->err);
    if (!st) st = sqz_shp_check_out("Trilu", y, c->err);
    if (st) return st;
    if (sqz_tensor_numel(y) != sqz_tensor_numel(x) || x->ndim < 2)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Trilu: output shape changed after inference");
    int64_t N = x->dims[x->ndim - 2], M = x->dims[x->ndim - 1], total = sqz_tensor_numel(x);
    if (total == 0) return SQZ_OK;
    int upper = sqz_node_attr_int(c->node, "upper", 1) != 0;
    int64_t lim = N + M + 1;
    if (k > lim) k = lim;
    if (k < -lim) k = -lim;
    sqz_shp_copy_bytes(y->data, x->data, (size_t)total * esz);
    char *d = y->data;
    for (int64_t b = 0; b < total / (N * M); b++)
        for (int64_t i = 0; i < N; i++) {
            char *row = d + (size_t)((b * N + i) * M) * esz;
            /* upper keeps j >= i + k; lower keeps j <= i + k */
            int64_t a = upper ? 0 : i + k + 1, e = upper ? i + k : M;
            if (a < 0) a = 0;
            if (e > M) e = M;
            if (e > a) memset(row + (size_t)a * esz, 0, (size_t)(e - a) * esz);
        }
    return SQZ_OK;
}

const sqz_op sqz_op_trilu = {"Trilu", 1, 2, 1, 1, 0, trilu_infer, trilu_forward, NULL, NULL};
