/* ops/shape_concat_split.c - Concat (join along an axis) and Split (cut along an axis). */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_util.h"

/* ---- Concat ---- */

static sqz_status concat_axis(const sqz_opctx *c, int r, int *axis) {
    const sqz_attr *a = sqz_node_attr(c->node, "axis");
    int64_t v;
    if (a && a->type == SQZ_ATTR_INT) v = a->i;
    else if (c->opset < 4) v = 1;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: missing 'axis' attribute");
    sqz_status st = sqz_norm_axis(v, r, axis, c->err);
    if (st) sqz_err_prefix(c->err, "Concat");
    return st;
}

static sqz_status concat_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 0, 1);
    if (need_st) return need_st;
    if (c->n_in < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: no inputs");
    sqz_tensor *y = c->out[0];
    int r = -1;
    sqz_dtype dt = SQZ_DT_UNDEF;
    for (int i = 0; i < c->n_in; i++) {
        sqz_tensor *t = c->in[i];
        if (!t) return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: input %d is missing", i);
        size_t esz;
        sqz_status st = sqz_shp_elem_size("Concat", t, &esz, c->err);
        if (st) return st;
        if (i == 0) dt = t->dtype;
        else if (t->dtype != dt)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: input %d is %s, input 0 is %s", i,
                               sqz_dtype_name(t->dtype), sqz_dtype_name(dt));
        if (t->ndim >= 0) {
            if (r >= 0 && t->ndim != r)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: input %d has rank %d, expected %d", i, t->ndim, r);
            r = t->ndim;
        }
    }
    if (r < 0) {
        sqz_shp_set_unknown(y, dt, -1);
        return SQZ_OK;
    }
    if (r == 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: inputs are scalars");
    int axis;
    sqz_status st = concat_axis(c, r, &axis);
    if (st) return st;
    int64_t d[SQZ_MAX_DIMS];
    for (int k = 0; k < r; k++) d[k] = -1;
    int64_t sum = 0;
    for (int i = 0; i < c->n_in; i++) {
        sqz_tensor *t = c->in[i];
        if (t->ndim < 0) {
            sum = -1;
            continue;
        }
        for (int k = 0; k < r; k++) {
            int64_t v = t->dims[k];
            if (k == axis) {
                if (v < 0 || sum < 0) sum = -1;
                else sum += v;
            } else if (v >= 0) {
                if (d[k] >= 0 && d[k] != v)
                    return sqz_err_set(c->err, SQZ_ERR_DATA, "Concat: input %d has dimension %d = %lld, expected %lld",
                                       i, k, (long long)v, (long long)d[k]);
                d[k] = v;
            }
        }
    }
    d[axis] = sum;
    sqz_op_set_shape(y, dt, r, d);
    return SQZ_OK;
}

static sqz_status concat_forward(sqz_opctx *c) {
    sqz_tensor *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Concat", y, &esz, c->err);
    if (!st) st = sqz_shp_check_out("Concat", y, c->err);
    if (st) return st;
    int r = y->ndim, axis;
    st = concat_axis(c, r, &axis);
    if (st) return st;
    int64_t outer = sqz_shp_prod(y->dims, 0, axis);
    char *dst = y->data;
    int64_t total = 0;
    for (int i = 0; i < c->n_in; i++) {
        st = sqz_shp_check_in("Concat", c->in[i], c->err);
        if (st) return st;
        if (c->in[i]->ndim != r)
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Concat: input %d rank changed after inference", i);
        total += c->in[i]->dims[axis];
    }
    if (total != y->dims[axis])
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Concat: output dimension %lld, inputs sum to %lld",
                           (long long)y->dims[axis], (long long)total);
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < c->n_in; i++) {
            sqz_tensor *t = c->in[i];
            size_t chunk = (size_t)sqz_shp_prod(t->dims, axis, r) * esz;
            if (chunk) memcpy(dst, (const char *)t->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_concat = {"Concat", 1, 1 << 20, 1, 1, 0, concat_infer, concat_forward, NULL, NULL};

/* ---- Split ---- */

/* Fills sizes[n_out] along an axis of length dim (-1 unknown); a size is -1 when not yet known. */
static sqz_status split_sizes(const sqz_opctx *c, int64_t dim, int64_t *sizes) {
    int n = c->n_out;
    const int64_t *v = NULL;
    int64_t cnt = -1;
    sqz_tensor *s = c->opset >= 13 ? sqz_shp_in(c, 1) : NULL;
    if (c->opset < 13) {
        cnt = sqz_node_attr_ints(c->node, "split", &v);
    } else if (s) {
        if (!sqz_shp_known(s)) {
            for (int k = 0; k < n; k++) sizes[k] = -1;
            return SQZ_OK;
        }
        cnt = sqz_tensor_numel(s);
        if (cnt != n)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: 'split' has %lld values for %d outputs", (long long)cnt, n);
        int got;
        sqz_status st = sqz_shp_read_ints("Split", "split", s, sizes, n, &got, c->err);
        if (st) return st;
    }
    if (cnt >= 0) {
        if (cnt != n)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: 'split' has %lld values for %d outputs", (long long)cnt, n);
        int64_t sum = 0;
        for (int k = 0; k < n; k++) {
            if (v) sizes[k] = v[k];
            if (sizes[k] < 0 || sizes[k] > INT64_MAX / 2 - sum)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: invalid split size %lld", (long long)sizes[k]);
            sum += sizes[k];
        }
        if (dim >= 0 && sum != dim)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: split sizes sum to %lld, dimension is %lld", (long long)sum,
                               (long long)dim);
        return SQZ_OK;
    }
    int64_t num = c->opset >= 18 ? sqz_node_attr_int(c->node, "num_outputs", -1) : -1;
    if (num >= 0 && num != n)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: num_outputs = %lld but the node has %d outputs", (long long)num, n);
    if (dim < 0) {
        for (int k = 0; k < n; k++) sizes[k] = -1;
        return SQZ_OK;
    }
    if (num >= 0) { /* opset 18: chunks of ceil(dim / n), the last one smaller */
        int64_t chunk = (dim + n - 1) / n, left = dim;
        for (int k = 0; k < n; k++) {
            sizes[k] = left < chunk ? left : chunk;
            left -= sizes[k];
        }
        return SQZ_OK;
    }
    if (dim % n)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: dimension %lld does not split into %d equal parts", (long long)dim, n);
    for (int k = 0; k < n; k++) sizes[k] = dim / n;
    return SQZ_OK;
}

static sqz_status split_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 0);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Split", x, &esz, c->err);
    if (st) return st;
    if (c->n_out < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "Split: no outputs");
    if (x->ndim < 0) {
        for (int k = 0; k < c->n_out; k++)
            if (c->out[k]) sqz_shp_set_unknown(c->out[k], x->dtype, -1);
        return SQZ_OK;
    }
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (st) {
        sqz_err_prefix(c->err, "Split");
        return st;
    }
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)c->n_out);
    if (!sizes) return sqz_err_set(c->err, SQZ_ERR_NOMEM, "Split: out of memory");
    st = split_sizes(c, x->dims[axis], sizes);
    if (!st) {
        for (int k = 0; k < c->n_out; k++) {
            if (!c->out[k]) continue;
            sqz_op_set_shape(c->out[k], x->dtype, x->ndim, x->dims);
            c->out[k]->dims[axis] = sizes[k];
        }
    }
    free(sizes);
    return st;
}

static sqz_status split_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Split", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Split", x, c->err);
    if (st) return st;
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (st) return st;
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)c->n_out);
    if (!sizes) return sqz_err_set(c->err, SQZ_ERR_NOMEM, "Split: out of memory");
    st = split_sizes(c, x->dims[axis], sizes);
    for (int k = 0; !st && k < c->n_out; k++) {
        if (sizes[k] < 0) st = sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Split: sizes unknown at run time");
        else if (c->out[k]) st = sqz_shp_check_out("Split", c->out[k], c->err);
        if (!st && c->out[k] && c->out[k]->dims[axis] != sizes[k])
            st = sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Split: output %d shape changed after inference", k);
    }
    if (!st) {
        int64_t outer = sqz_shp_prod(x->dims, 0, axis);
        size_t inner = (size_t)sqz_shp_prod(x->dims, axis + 1, x->ndim) * esz;
        const char *src = x->data;
        for (int64_t o = 0; o < outer; o++) {
            for (int k = 0; k < c->n_out; k++) {
                size_t chunk = (size_t)sizes[k] * inner;
                if (c->out[k] && chunk) memcpy((char *)c->out[k]->data + (size_t)o * chunk, src, chunk);
                src += chunk;
            }
        }
    }
    free(sizes);
    return st;
}

const sqz_op sqz_op_split = {"Split", 1, 2, 1, 1 << 20, 1u << 1, split_infer, split_forward, NULL, NULL};
