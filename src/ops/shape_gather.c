/* ops/shape_gather.c - Gather, GatherElements, ScatterElements (and the older Scatter). */
#include <string.h>

#include "ops/shape_util.h"

static sqz_status check_indices(const char *op, const sqz_tensor *t, sqz_err *err) {
    if (!sqz_shp_is_int(t->dtype))
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: indices must be integers, not %s", op, sqz_dtype_name(t->dtype));
    return SQZ_OK;
}

/* Normalizes index k against a dimension of length n; SQZ_ERR_DATA when outside [-n, n-1]. */
static sqz_status norm_index(const char *op, int64_t k, int64_t n, int64_t *out, sqz_err *err) {
    if (k < -n || k >= n)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: index %lld out of range for dimension %lld", op, (long long)k,
                           (long long)n);
    *out = k < 0 ? k + n : k;
    return SQZ_OK;
}

/* ---- Gather ---- */

static sqz_status gather_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Gather", x, &esz, c->err);
    if (!st) st = check_indices("Gather", ix, c->err);
    if (st) return st;
    if (x->ndim < 0 || ix->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, -1);
        return SQZ_OK;
    }
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (st) {
        sqz_err_prefix(c->err, "Gather");
        return st;
    }
    int r = x->ndim - 1 + ix->ndim;
    if (r > SQZ_MAX_DIMS)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Gather: output rank %d exceeds %d", r, SQZ_MAX_DIMS);
    int64_t d[SQZ_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < axis; i++) d[k++] = x->dims[i];
    for (int i = 0; i < ix->ndim; i++) d[k++] = ix->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) d[k++] = x->dims[i];
    sqz_op_set_shape(y, x->dtype, r, d);
    return SQZ_OK;
}

static sqz_status gather_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Gather", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Gather", x, c->err);
    if (!st) st = sqz_shp_check_in("Gather", ix, c->err);
    if (!st) st = sqz_shp_check_out("Gather", y, c->err);
    if (st) return st;
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (st) return st;
    if (sqz_tensor_numel(y) != sqz_shp_prod(x->dims, 0, axis) * sqz_tensor_numel(ix) *
                                   sqz_shp_prod(x->dims, axis + 1, x->ndim))
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Gather: output shape changed after inference");
    int64_t outer = sqz_shp_prod(x->dims, 0, axis), n = x->dims[axis], m = sqz_tensor_numel(ix);
    size_t inner = (size_t)sqz_shp_prod(x->dims, axis + 1, x->ndim) * esz;
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < m; j++) {
            int64_t k = 0;
            st = norm_index("Gather", sqz_tensor_get_i64(ix, j), n, &k, c->err);
            if (st) return st;
            if (inner) memcpy(dst, src + ((size_t)o * (size_t)n + (size_t)k) * inner, inner);
            dst += inner;
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_gather = {"Gather", 2, 2, 1, 1, 0, gather_infer, gather_forward, NULL, NULL};

/* ---- GatherElements ---- */

static sqz_status elements_check(const char *op, const sqz_tensor *x, const sqz_tensor *ix, int axis, sqz_err *err) {
    for (int i = 0; i < x->ndim; i++)
        if (i != axis && ix->dims[i] >= 0 && x->dims[i] >= 0 && ix->dims[i] > x->dims[i])
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: indices dimension %d is %lld, data has only %lld", op, i,
                               (long long)ix->dims[i], (long long)x->dims[i]);
    return SQZ_OK;
}

static sqz_status gather_elements_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("GatherElements", x, &esz, c->err);
    if (!st) st = check_indices("GatherElements", ix, c->err);
    if (st) return st;
    if (x->ndim >= 0 && ix->ndim >= 0) {
        if (x->ndim != ix->ndim)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "GatherElements: indices rank %d differs from data rank %d",
                               ix->ndim, x->ndim);
        int axis;
        st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
        if (!st) st = elements_check("GatherElements", x, ix, axis, c->err);
        if (st) return st;
    }
    sqz_op_set_shape(y, x->dtype, ix->ndim, ix->dims);
    return SQZ_OK;
}

/* Calls back for each element j of indices (shape ix) with the flat data offset it addresses. */
typedef sqz_status (*elem_fn)(void *ctx, int64_t j, int64_t data_off);

static sqz_status for_each_element(const char *op, const sqz_tensor *x, const sqz_tensor *ix, int axis, elem_fn fn,
                                   void *ctx, sqz_err *err) {
    int r = x->ndim;
    int64_t xs[SQZ_MAX_DIMS], idx[SQZ_MAX_DIMS] = {0};
    sqz_shp_strides(r, x->dims, xs);
    int64_t m = sqz_tensor_numel(ix), base = 0; /* base: data offset of idx with idx[axis] = 0 */
    for (int64_t j = 0; j < m; j++) {
        int64_t k = 0;
        sqz_status st = norm_index(op, sqz_tensor_get_i64(ix, j), x->dims[axis], &k, err);
        if (!st) st = fn(ctx, j, base + k * xs[axis]);
        if (st) return st;
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < ix->dims[d]) {
                if (d != axis) base += xs[d];
                break;
            }
            if (d != axis) base -= xs[d] * (ix->dims[d] - 1);
            idx[d] = 0;
        }
    }
    return SQZ_OK;
}

typedef struct gather_ctx {
    const char *src;
    char *dst;
    size_t esz;
} gather_ctx;

static sqz_status gather_one(void *p, int64_t j, int64_t off) {
    gather_ctx *g = p;
    memcpy(g->dst + (size_t)j * g->esz, g->src + (size_t)off * g->esz, g->esz);
    return SQZ_OK;
}

static sqz_status gather_elements_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("GatherElements", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("GatherElements", x, c->err);
    if (!st) st = sqz_shp_check_in("GatherElements", ix, c->err);
    if (!st) st = sqz_shp_check_out("GatherElements", y, c->err);
    if (st) return st;
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (!st && (ix->ndim != x->ndim || sqz_tensor_numel(y) != sqz_tensor_numel(ix)))
        st = sqz_err_set(c->err, SQZ_ERR_INTERNAL, "GatherElements: shapes changed after inference");
    if (!st) st = elements_check("GatherElements", x, ix, axis, c->err);
    if (st) return st;
    gather_ctx g = {x->data, y->data, esz};
    return for_each_element("GatherElements", x, ix, axis, gather_one, &g, c->err);
}

const sqz_op sqz_op_gather_elements = {"GatherElements", 2, 2, 1, 1, 0, gather_elements_infer, gather_elements_forward,
                                       NULL, NULL};

/* ---- ScatterElements / Scatter ---- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static sqz_status scatter_reduction(const sqz_opctx *c, int *red) {
    const char *s = sqz_node_attr_str(c->node, "reduction", "none");
    if (!strcmp(s, "none")) *red = RED_NONE;
    else if (!strcmp(s, "add")) *red = RED_ADD;
    else if (!strcmp(s, "mul")) *red = RED_MUL;
    else if (!strcmp(s, "max")) *red = RED_MAX;
    else if (!strcmp(s, "min")) *red = RED_MIN;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: unknown reduction '%s'", c->node->op_type, s);
    return SQZ_OK;
}

static sqz_status scatter_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 3, 1);
    if (need_st) return need_st;
    const char *op = c->node->op_type;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2], *y = c->out[0];
    size_t esz;
    int red;
    sqz_status st = sqz_shp_elem_size(op, x, &esz, c->err);
    if (!st) st = check_indices(op, ix, c->err);
    if (!st) st = scatter_reduction(c, &red);
    if (st) return st;
    if (u->dtype != x->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: updates are %s, data %s", op, sqz_dtype_name(u->dtype),
                           sqz_dtype_name(x->dtype));
    if (red != RED_NONE && (x->dtype == SQZ_DT_BOOL || sqz_dtype_size(x->dtype) > 8))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: reduction on %s", op, sqz_dtype_name(x->dtype));
    if (ix->ndim >= 0 && u->ndim >= 0) {
        if (ix->ndim != u->ndim)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: indices and updates differ in rank", op);
        for (int i = 0; i < ix->ndim; i++)
            if (ix->dims[i] >= 0 && u->dims[i] >= 0 && ix->dims[i] != u->dims[i])
                return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: indices and updates differ in dimension %d", op, i);
    }
    if (x->ndim >= 0 && ix->ndim >= 0) {
        if (x->ndim != ix->ndim)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: indices rank %d differs from data rank %d", op, ix->ndim,
                               x->ndim);
        int axis;
        st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
        if (!st) st = elements_check(op, x, ix, axis, c->err);
        if (st) return st;
    }
    sqz_op_set_shape(y, x->dtype, x->ndim, x->dims);
    return SQZ_OK;
}

typedef struct scatter_ctx {
    char *dst;
    const char *upd;
    size_t esz;
    sqz_dtype dt;
    int red;
} scatter_ctx;

static double reduce_f64(int red, double a, double b) {
    switch (red) {
    case RED_ADD: return a + b;
    case RED_MUL: return a * b;
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static int64_t reduce_i64(int red, int64_t a, int64_t b) {
    switch (red) {
    case RED_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case RED_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static sqz_status scatter_one(void *p, int64_t j, int64_t off) {
    scatter_ctx *s = p;
    char *d = s->dst + (size_t)off * s->esz;
    const char *u = s->upd + (size_t)j * s->esz;
    if (s->red == RED_NONE) {
        memcpy(d, u, s->esz);
    } else if (s->dt == SQZ_DT_I64) {
        int64_t a, b;
        memcpy(&a, d, 8);
        memcpy(&b, u, 8);
        a = reduce_i64(s->red, a, b);
        memcpy(d, &a, 8);
    } else {
        sqz_tensor ta, tb;
        memset(&ta, 0, sizeof ta);
        memset(&tb, 0, sizeof tb);
        ta.dtype = tb.dtype = s->dt;
        ta.data = d;
        tb.data = (void *)u;
        sqz_tensor_set_f64(&ta, 0, reduce_f64(s->red, sqz_tensor_get_f64(&ta, 0), sqz_tensor_get_f64(&tb, 0)));
    }
    return SQZ_OK;
}

static sqz_status scatter_forward(sqz_opctx *c) {
    const char *op = c->node->op_type;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2], *y = c->out[0];
    size_t esz;
    int red;
    sqz_status st = sqz_shp_elem_size(op, x, &esz, c->err);
    if (!st) st = scatter_reduction(c, &red);
    if (!st) st = sqz_shp_check_in(op, x, c->err);
    if (!st) st = sqz_shp_check_in(op, ix, c->err);
    if (!st) st = sqz_shp_check_in(op, u, c->err);
    if (!st) st = sqz_shp_check_out(op, y, c->err);
    if (st) return st;
    int axis;
    st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 0), x->ndim, &axis, c->err);
    if (!st && (ix->ndim != x->ndim || sqz_tensor_numel(u) != sqz_tensor_numel(ix) ||
                sqz_tensor_numel(y) != sqz_tensor_numel(x)))
        st = sqz_err_set(c->err, SQZ_ERR_INTERNAL, "%s: shapes changed after inference", op);
    if (!st) st = elements_check(op, x, ix, axis, c->err);
    if (st) return st;
    sqz_shp_copy_bytes(y->data, x->data, (size_t)sqz_tensor_numel(x) * esz);
    scatter_ctx s = {y->data, u->data, esz, x->dtype, red};
    return for_each_element(op, x, ix, axis, scatter_one, &s, c->err);
}

const sqz_op sqz_op_scatter_elements = {"ScatterElements", 3, 3, 1, 1, 0, scatter_infer, scatter_forward, NULL, NULL};
const sqz_op sqz_op_scatter = {"Scatter", 3, 3, 1, 1, 0, scatter_infer, scatter_forward, NULL, NULL};

/* ---- GatherND ---- */

static sqz_status gnd_check(const sqz_opctx *c, int *b, int *k) {
    sqz_tensor *x = c->in[0], *ix = c->in[1];
    int64_t bd = c->opset >= 12 ? sqz_node_attr_int(c->node, "batch_dims", 0) : 0;
    int r = x->ndim, q = ix->ndim;
    if (r < 1 || q < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "GatherND: data and indices need rank >= 1");
    if (bd < 0 || bd >= r || bd >= q)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "GatherND: batch_dims %lld invalid for ranks %d, %d", (long long)bd, r, q);
    int64_t kk = ix->dims[q - 1];
    if (kk >= 0 && (kk < 1 || kk > r - bd))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "GatherND: index tuples of length %lld for rank %d, batch_dims %lld",
                           (long long)kk, r, (long long)bd);
    for (int i = 0; i < bd; i++)
        if (x->dims[i] >= 0 && ix->dims[i] >= 0 && x->dims[i] != ix->dims[i])
            return sqz_err_set(c->err, SQZ_ERR_DATA, "GatherND: batch dimension %d differs (%lld vs %lld)", i,
                               (long long)x->dims[i], (long long)ix->dims[i]);
    *b = (int)bd;
    *k = (int)kk;
    return SQZ_OK;
}

static sqz_status gather_nd_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("GatherND", x, &esz, c->err);
    if (!st) st = check_indices("GatherND", ix, c->err);
    if (st) return st;
    if (x->ndim < 0 || ix->ndim < 0 || (ix->ndim > 0 && ix->dims[ix->ndim - 1] < 0)) {
        sqz_shp_set_unknown(y, x->dtype, -1);
        return SQZ_OK;
    }
    int b, k;
    st = gnd_check(c, &b, &k);
    if (st) return st;
    int r = ix->ndim - 1 + x->ndim - b - k;
    int64_t d[SQZ_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < ix->ndim - 1; i++) d[n++] = ix->dims[i];
    for (int i = b + k; i < x->ndim; i++) d[n++] = x->dims[i];
    sqz_op_set_shape(y, x->dtype, r, d);
    return SQZ_OK;
}

static sqz_status gather_nd_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *ix = c->in[1], *y = c->out[0];
    size_t esz;
    int b, k;
    sqz_status st = sqz_shp_elem_size("GatherND", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("GatherND", x, c->err);
    if (!st) st = sqz_shp_check_in("GatherND", ix, c->err);
    if (!st) st = sqz_shp_check_out("GatherND", y, c->err);
    if (!st) st = gnd_check(c, &b, &k);
    if (st) return st;
    int r = x->ndim, q = ix->ndim;
    int64_t batches = sqz_shp_prod(x->dims, 0, b), tuples = sqz_shp_prod(ix->dims, b, q - 1);
    int64_t slice = sqz_shp_prod(x->dims, b + k, r), per_batch = sqz_shp_prod(x->dims, b, r);
    if (sqz_tensor_numel(y) != batches * tuples * slice)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "GatherND: output shape changed after inference");
    char *dst = y->data;
    size_t sb = (size_t)slice * esz;
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t t = 0; t < tuples; t++) {
            int64_t off = 0, base = (bi * tuples + t) * k;
            for (int j = 0; j < k; j++) {
                int64_t v = 0;
                st = norm_index("GatherND", sqz_tensor_get_i64(ix, base + j), x->dims[b + j], &v, c->err);
                if (st) return st;
                off = off * x->dims[b + j] + v;
            }
            if (sb) memcpy(dst, (const char *)x->data + (size_t)(bi * per_batch + off * slice) * esz, sb);
            dst += sb;
        }
    return SQZ_OK;
}

const sqz_op sqz_op_gather_nd = {"GatherND", 2, 2, 1, 1, 0, gather_nd_infer, gather_nd_forward, NULL, NULL};

/* ---- ScatterND ---- */

static sqz_status snd_check(const sqz_opctx *c, int *k) {
    sqz_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    int r = x->ndim, q = ix->ndim;
    if (r < 1 || q < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "ScatterND: data and indices need rank >= 1");
    int64_t kk = ix->dims[q - 1];
    if (kk < 0) {
        *k = -1;
        return SQZ_OK;
    }
    if (kk < 1 || kk > r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ScatterND: index tuples of length %lld for rank %d", (long long)kk, r);
    if (u->ndim >= 0) {
        int ur = q - 1 + r - (int)kk;
        if (u->ndim != ur) return sqz_err_set(c->err, SQZ_ERR_DATA, "ScatterND: updates have rank %d, expected %d", u->ndim, ur);
        for (int i = 0; i < ur; i++) {
            int64_t want = i < q - 1 ? ix->dims[i] : x->dims[(int)kk + i - (q - 1)];
            if (want >= 0 && u->dims[i] >= 0 && want != u->dims[i])
                return sqz_err_set(c->err, SQZ_ERR_DATA, "ScatterND: updates dimension %d is %lld, expected %lld", i,
                                   (long long)u->dims[i], (long long)want);
        }
    }
    *k = (int)kk;
    return SQZ_OK;
}

static sqz_status scatter_nd_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 3, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    size_t esz;
    int red, k;
    sqz_status st = sqz_shp_elem_size("ScatterND", x, &esz, c->err);
    if (!st) st = check_indices("ScatterND", ix, c->err);
    if (!st) st = scatter_reduction(c, &red);
    if (st) return st;
    if (u->dtype != x->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ScatterND: updates are %s, data %s", sqz_dtype_name(u->dtype),
                           sqz_dtype_name(x->dtype));
    if (red != RED_NONE && (x->dtype == SQZ_DT_BOOL || sqz_dtype_size(x->dtype) > 8))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "ScatterND: reduction on %s", sqz_dtype_name(x->dtype));
    if (x->ndim >= 0 && ix->ndim >= 0) {
        st = snd_check(c, &k);
        if (st) return st;
    }
    sqz_op_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return SQZ_OK;
}

static sqz_status scatter_nd_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2], *y = c->out[0];
    size_t esz;
    int red, k;
    sqz_status st = sqz_shp_elem_size("ScatterND", x, &esz, c->err);
    if (!st) st = scatter_reduction(c, &red);
    if (!st) st = sqz_shp_check_in("ScatterND", x, c->err);
    if (!st) st = sqz_shp_check_in("ScatterND", ix, c->err);
    if (!st) st = sqz_shp_check_in("ScatterND", u, c->err);
    if (!st) st = sqz_shp_check_out("ScatterND", y, c->err);
    if (!st) st = snd_check(c, &k);
    if (st) return st;
    int64_t tuples = sqz_shp_prod(ix->dims, 0, ix->ndim - 1), slice = sqz_shp_prod(x->dims, k, x->ndim);
    if (k < 1 || sqz_tensor_numel(u) != tuples * slice || sqz_tensor_numel(y) != sqz_tensor_numel(x))
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "ScatterND: shapes changed after inference");
    sqz_shp_copy_bytes(y->data, x->data, (size_t)sqz_tensor_numel(x) * esz);
    scatter_ctx s = {y->data, u->data, esz, x->dtype, red};
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int j = 0; j < k; j++) {
            int64_t v = 0;
            st = norm_index("ScatterND", sqz_tensor_get_i64(ix, t * k + j), x->dims[j], &v, c->err);
            if (st) return st;
            off = off * x->dims[j] + v;
        }
        if (red == RED_NONE) {
            if (slice) memcpy(s.dst + (size_t)(off * slice) * esz, s.upd + (size_t)(t * slice) * esz, (size_t)slice * esz);
            continue;
        }
        for (int64_t e = 0; e < slice; e++) scatter_one(&s, t * slice + e, off * slice + e);
    }
    return SQZ_OK;
}

const sqz_op sqz_op_scatter_nd = {"ScatterND", 3, 3, 1, 1, 0, scatter_nd_infer, scatter_nd_forward, NULL, NULL};
