/* ops/shape_select.c - Compress (keep slices where a condition holds) and
 * ReverseSequence (reverse the first len[b] steps of each batch entry). */
#include <string.h>

#include "ops/shape_util.h"

/* ---- Compress ---- */

/* axis (-1 when absent: the input is flattened); SQZ_ERR_DATA when out of range. */
static sqz_status compress_axis(const sqz_opctx *c, int r, int *axis) {
    const sqz_attr *a = sqz_node_attr(c->node, "axis");
    *axis = -1;
    if (!a || a->type != SQZ_ATTR_INT) return SQZ_OK;
    sqz_status st = sqz_norm_axis(a->i, r, axis, c->err);
    if (st) sqz_err_prefix(c->err, "Compress");
    return st;
}

/* Count of true entries; checks the condition is no longer than n (the length it selects from). */
static sqz_status compress_count(const sqz_opctx *c, int64_t n, int64_t *count) {
    sqz_tensor *cond = c->in[1];
    int64_t m = sqz_tensor_numel(cond);
    if (n >= 0 && m > n)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Compress: condition has %lld entries, more than the %lld it selects from",
                           (long long)m, (long long)n);
    if ((size_t)m * sqz_dtype_size(cond->dtype) > cond->nbytes)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Compress: condition holds too few bytes");
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++) k += sqz_tensor_get_f64(cond, i) != 0;
    *count = k;
    return SQZ_OK;
}

static sqz_status compress_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *cond = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Compress", x, &esz, c->err);
    if (st) return st;
    if (cond->dtype != SQZ_DT_BOOL && !sqz_shp_is_int(cond->dtype))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Compress: condition must be bool, not %s", sqz_dtype_name(cond->dtype));
    if (cond->ndim > 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "Compress: condition must be 1-D");
    if (x->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, sqz_node_attr(c->node, "axis") ? -1 : 1);
        return SQZ_OK;
    }
    int axis;
    st = compress_axis(c, x->ndim, &axis);
    if (st) return st;
    int64_t count = -1;
    if (sqz_shp_known(cond)) {
        st = compress_count(c, axis < 0 ? sqz_tensor_numel(x) : x->dims[axis], &count);
        if (st) return st;
    }
    if (axis < 0) {
        sqz_op_set_shape(y, x->dtype, 1, &count);
    } else {
        sqz_op_set_shape(y, x->dtype, x->ndim, x->dims);
        y->dims[axis] = count;
    }
    return SQZ_OK;
}

static sqz_status compress_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *cond = c->in[1], *y = c->out[0];
    size_t esz;
    int axis;
    int64_t count;
    sqz_status st = sqz_shp_elem_size("Compress", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Compress", x, c->err);
    if (!st) st = sqz_shp_check_in("Compress", cond, c->err);
    if (!st) st = sqz_shp_check_out("Compress", y, c->err);
    if (!st) st = compress_axis(c, x->ndim, &axis);
    if (st) return st;
    int64_t outer = axis < 0 ? 1 : sqz_shp_prod(x->dims, 0, axis);
    int64_t n = axis < 0 ? sqz_tensor_numel(x) : x->dims[axis];
    size_t inner = axis < 0 ? esz : (size_t)sqz_shp_prod(x->dims, axis + 1, x->ndim) * esz;
    st = compress_count(c, n, &count);
    if (st) return st;
    if (sqz_tensor_numel(y) != outer * count * (int64_t)(inner / esz))
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Compress: output shape changed after inference");
    int64_t m = sqz_tensor_numel(cond);
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < m; j++) {
            if (sqz_tensor_get_f64(cond, j) == 0) continue;
            if (inner) memcpy(dst, src + (size_t)(o * n + j) * inner, inner);
            dst += inner;
        }
    return SQZ_OK;
}

const sqz_op sqz_op_compress = {"Compress", 2, 2, 1, 1, 1u << 1, compress_infer, compress_forward, NULL, NULL};

/* ---- ReverseSequence ---- */

static sqz_status revseq_axes(const sqz_opctx *c, int *ta, int *ba) {
    int64_t t = sqz_node_attr_int(c->node, "time_axis", 0), b = sqz_node_attr_int(c->node, "batch_axis", 1);
    if (!((t == 0 && b == 1) || (t == 1 && b == 0)))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ReverseSequence: time_axis %lld and batch_axis %lld must be 0 and 1",
                           (long long)t, (long long)b);
    *ta = (int)t;
    *ba = (int)b;
    return SQZ_OK;
}

static sqz_status revseq_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *l = c->in[1];
    size_t esz;
    int ta, ba;
    sqz_status st = sqz_shp_elem_size("ReverseSequence", x, &esz, c->err);
    if (!st) st = revseq_axes(c, &ta, &ba);
    if (st) return st;
    if (!sqz_shp_is_int(l->dtype) || (l->ndim >= 0 && l->ndim != 1))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ReverseSequence: sequence_lens must be a 1-D integer tensor");
    if (x->ndim >= 0 && x->ndim < 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "ReverseSequence: input rank must be >= 2");
    if (x->ndim >= 0 && l->ndim == 1 && x->dims[ba] >= 0 && l->dims[0] >= 0 && x->dims[ba] != l->dims[0])
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ReverseSequence: %lld sequence_lens for a batch of %lld",
                           (long long)l->dims[0], (long long)x->dims[ba]);
    sqz_op_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return SQZ_OK;
}

static sqz_status revseq_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *l = c->in[1], *y = c->out[0];
    size_t esz;
    int ta, ba;
    sqz_status st = sqz_shp_elem_size("ReverseSequence", x, &esz, c->err);
    if (!st) st = revseq_axes(c, &ta, &ba);
    if (!st) st = sqz_shp_check_in("ReverseSequence", x, c->err);
    if (!st) st = sqz_shp_check_in("ReverseSequence", l, c->err);
    if (!st) st = sqz_shp_check_out("ReverseSequence", y, c->err);
    if (st) return st;
    int64_t B = x->dims[ba], T = x->dims[ta], d1 = x->dims[1];
    if (sqz_tensor_numel(l) != B || sqz_tensor_numel(y) != sqz_tensor_numel(x))
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "ReverseSequence: shapes changed after inference");
    size_t inner = (size_t)sqz_shp_prod(x->dims, 2, x->ndim) * esz;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = sqz_tensor_get_i64(l, b);
        if (len < 0 || len > T)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "ReverseSequence: sequence length %lld outside [0, %lld]",
                               (long long)len, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t s = t < len ? len - 1 - t : t;
            int64_t od = ta == 0 ? t * d1 + b : b * d1 + t, sd = ta == 0 ? s * d1 + b : b * d1 + s;
            if (inner) memcpy((char *)y->data + (size_t)od * inner, (const char *)x->data + (size_t)sd * inner, inner);
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_reverse_sequence = {"ReverseSequence", 2, 2, 1, 1, 0, revseq_infer, revseq_forward, NULL, NULL};
