/* ops/shape_slice.c - Slice: starts/ends/axes/steps per axis, negative and clamped
 * indices and negative steps, as attributes (opset < 10) or inputs (opset >= 10). */
#include <string.h>

#include "ops/shape_util.h"

typedef struct slice_plan {
    int64_t start[SQZ_MAX_DIMS]; /* first input index per dim */
    int64_t step[SQZ_MAX_DIMS];
    int64_t len[SQZ_MAX_DIMS];   /* output dims, -1 unknown */
} slice_plan;

/* Reads a list from attribute (opset < 10) or input; *n = -1 when absent, -2 when not yet known. */
static sqz_status slice_list(const sqz_opctx *c, const char *name, int input, int64_t *vals, int *n) {
    if (c->opset < 10) {
        const int64_t *v;
        int64_t k = sqz_node_attr_ints(c->node, name, &v);
        if (k < 0) {
            *n = -1;
            return SQZ_OK;
        }
        if (k > SQZ_MAX_DIMS)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: '%s' has %lld values, more than any rank", name, (long long)k);
        if (k) memcpy(vals, v, sizeof(int64_t) * (size_t)k);
        *n = (int)k;
        return SQZ_OK;
    }
    sqz_tensor *t = sqz_shp_in(c, input);
    if (!t) {
        *n = -1;
        return SQZ_OK;
    }
    if (!sqz_shp_known(t)) {
        *n = -2;
        return SQZ_OK;
    }
    return sqz_shp_read_ints("Slice", name, t, vals, SQZ_MAX_DIMS, n, c->err);
}

/* Builds the plan for input x; *known = 0 when some parameter values are not known yet. */
static sqz_status slice_plan_make(const sqz_opctx *c, const sqz_tensor *x, slice_plan *p, int *known) {
    int64_t starts[SQZ_MAX_DIMS], ends[SQZ_MAX_DIMS], axes[SQZ_MAX_DIMS], steps[SQZ_MAX_DIMS];
    int ns, ne, na, nst;
    sqz_status st = slice_list(c, "starts", 1, starts, &ns);
    if (!st) st = slice_list(c, "ends", 2, ends, &ne);
    if (!st) st = slice_list(c, "axes", 3, axes, &na);
    if (!st) st = slice_list(c, "steps", 4, steps, &nst);
    if (st) return st;
    *known = !(ns == -2 || ne == -2 || na == -2 || nst == -2);
    int r = x->ndim;
    for (int i = 0; i < r; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
        p->len[i] = *known ? x->dims[i] : -1;
    }
    if (!*known) return SQZ_OK;
    if (ns < 0 || ne < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: missing starts or ends");
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: starts, ends, axes and steps differ in length (%d, %d, %d, %d)",
                           ns, ne, na, nst);
    uint8_t seen[SQZ_MAX_DIMS] = {0};
    for (int i = 0; i < ns; i++) {
        int64_t av = na >= 0 ? axes[i] : i;
        if (av < -r || av >= r)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: axis %lld out of range for rank %d", (long long)av, r);
        int a = (int)(av < 0 ? av + r : av);
        if (seen[a]) return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: axis %lld repeated", (long long)av);
        seen[a] = 1;
        int64_t step = nst >= 0 ? steps[i] : 1;
        if (step == 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: step 0 on axis %d", a);
        if (step < -INT64_MAX) step = -INT64_MAX;
        p->step[a] = step;
        int64_t d = x->dims[a];
        if (d < 0) {
            p->len[a] = -1;
            continue;
        }
        int64_t s = starts[i], e = ends[i];
        if (s < 0) s += d;
        if (e < 0) e += d;
        if (step > 0) {
            s = s < 0 ? 0 : (s > d ? d : s);
            e = e < 0 ? 0 : (e > d ? d : e);
            p->len[a] = e > s ? 1 + (e - s - 1) / step : 0;
        } else {
            s = s < 0 ? 0 : (s > d - 1 ? d - 1 : s);
            e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
            p->len[a] = (d > 0 && s > e) ? 1 + (s - e - 1) / (-step) : 0;
        }
        p->start[a] = s;
        if (p->len[a] <= 1) p->step[a] = 1; /* the step is never applied: keep strides small */
    }
    return SQZ_OK;
}

static sqz_status slice_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Slice", x, &esz, c->err);
    if (st) return st;
    if (x->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, -1);
        return SQZ_OK;
    }
    slice_plan p;
    int known;
    st = slice_plan_make(c, x, &p, &known);
    if (st) return st;
    sqz_op_set_shape(y, x->dtype, x->ndim, p.len);
    return SQZ_OK;
}

static sqz_status slice_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Slice", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Slice", x, c->err);
    if (!st) st = sqz_shp_check_out("Slice", y, c->err);
    if (st) return st;
    slice_plan p;
    int known;
    st = slice_plan_make(c, x, &p, &known);
    if (st) return st;
    int r = x->ndim;
    if (!known || y->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Slice: parameters unknown or output rank changed at run time");
    for (int i = 0; i < r; i++)
        if (p.len[i] != y->dims[i])
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Slice: output dimension %d is %lld, expected %lld", i,
                               (long long)y->dims[i], (long long)p.len[i]);
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    int64_t xs[SQZ_MAX_DIMS], s[SQZ_MAX_DIMS], off = 0;
    sqz_shp_strides(r, x->dims, xs);
    for (int i = 0; i < r; i++) {
        off += p.start[i] * xs[i];
        s[i] = xs[i] * p.step[i];
    }
    sqz_shp_strided_copy(y->data, x->data, esz, r, p.len, s, off);
    return SQZ_OK;
}

const sqz_op sqz_op_slice = {"Slice", 1, 5, 1, 1, 0x1eu, slice_infer, slice_forward, NULL, NULL};
