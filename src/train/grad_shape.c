/* train/grad_shape.c - backward of the data-movement ops (Concat, Split, Slice, Reshape,
 * Flatten, Squeeze, Unsqueeze, Identity, Transpose), of Dropout (forward draws a seeded mask
 * in training mode and scales kept values by 1/(1-ratio)) and of ReduceMean. f32 gradients;
 * the forward values may be of any dtype only for the pure copies. */
#include <string.h>

#include "core/rng.h"
#include "ops/elem_util.h"
#include "train/grad.h"

/* ---- same-bytes ops: dx += dy ---- */
static sqz_status copy_bwd(sqz_gctx *c) {
    for (int i = 1; i < c->n_in; i++) sqz_grad_din_zero(c, i); /* shapes and axes: no gradient */
    if (c->din[0] && (c->fresh & 1u))
        memcpy(c->din[0], c->dout[0], sizeof(float) * (size_t)sqz_tensor_numel(c->out[0]));
    else if (c->din[0])
        sqz_grad_axpy1(c->din[0], c->dout[0], sqz_tensor_numel(c->out[0]));
    return SQZ_OK;
}

/* ---- Concat / Split: rows of `outer`, each the concatenation of the parts' chunks ---- */
static sqz_status axis_of(sqz_gctx *c, const sqz_tensor *t, int64_t def, int *axis) {
    return sqz_norm_axis(sqz_node_attr_int(c->node, "axis", def), t->ndim, axis, c->err);
}

static int64_t prod(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

static sqz_status concat_bwd(sqz_gctx *c) {
    const sqz_tensor *Y = c->out[0];
    int axis;
    sqz_status st = axis_of(c, Y, 1, &axis);
    if (st) return st;
    const int64_t outer = prod(Y->dims, 0, axis), row = prod(Y->dims, axis, Y->ndim);
    int64_t off = 0;
    for (int k = 0; k < c->n_in; k++) {
        const int64_t chunk = prod(c->in[k]->dims, axis, c->in[k]->ndim);
        float *d = c->din[k];
        if (d)
            for (int64_t o = 0; o < outer; o++) sqz_grad_axpy1(d + o * chunk, c->dout[0] + o * row + off, chunk);
        off += chunk;
    }
    return SQZ_OK;
}

static sqz_status split_bwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0];
    float *d = c->din[0];
    if (!d) return SQZ_OK;
    int axis;
    sqz_status st = axis_of(c, X, 0, &axis);
    if (st) return st;
    const int64_t outer = prod(X->dims, 0, axis), row = prod(X->dims, axis, X->ndim);
    int64_t off = 0;
    for (int k = 0; k < c->n_out; k++) {
        if (!c->out[k]) continue;
        const int64_t chunk = prod(c->out[k]->dims, axis, c->out[k]->ndim);
        if (c->dout[k])
            for (int64_t o = 0; o < outer; o++) sqz_grad_axpy1(d + o * row + off, c->dout[k] + o * chunk, chunk);
        off += chunk;
    }
    return SQZ_OK;
}

/* ---- Slice: dx[start + k*step] += dy[k] ---- */
static sqz_status slice_list(sqz_gctx *c, const char *name, int input, int64_t *v, int *n) {
    *n = -1;
    if (c->opset < 10) {
        const int64_t *a;
        const int64_t k = sqz_node_attr_ints(c->node, name, &a);
        if (k > SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: too many %s", name);
        for (int64_t i = 0; i < k; i++) v[i] = a[i];
        *n = (int)k;
        return SQZ_OK;
    }
    const sqz_tensor *t = input < c->n_in ? c->in[input] : NULL;
    if (!t) return SQZ_OK;
    const int64_t k = sqz_tensor_numel(t);
    if (k < 0 || k > SQZ_MAX_DIMS || !t->data || (t->dtype != SQZ_DT_I64 && t->dtype != SQZ_DT_I32))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: bad %s", name);
    for (int64_t i = 0; i < k; i++) v[i] = sqz_tensor_get_i64(t, i);
    *n = (int)k;
    return SQZ_OK;
}

static sqz_status slice_bwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0], *Y = c->out[0];
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    int64_t starts[SQZ_MAX_DIMS], ends[SQZ_MAX_DIMS], axes[SQZ_MAX_DIMS], steps[SQZ_MAX_DIMS];
    int ns, ne, na, nst;
    sqz_status st;
    if ((st = slice_list(c, "starts", 1, starts, &ns)) || (st = slice_list(c, "ends", 2, ends, &ne)) ||
        (st = slice_list(c, "axes", 3, axes, &na)) || (st = slice_list(c, "steps", 4, steps, &nst)))
        return st;
    const int r = X->ndim;
    int64_t start[SQZ_MAX_DIMS], step[SQZ_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        start[i] = 0;
        step[i] = 1;
    }
    for (int i = 0; i < ns; i++) {
        int64_t av = na >= 0 ? axes[i] : i;
        if (av < 0) av += r;
        if (av < 0 || av >= r) return sqz_err_set(c->err, SQZ_ERR_DATA, "Slice: bad axis");
        const int a = (int)av;
        const int64_t d = X->dims[a], sp = nst >= 0 ? steps[i] : 1;
        int64_t s = starts[i];
        if (s < 0) s += d;
        if (sp > 0) s = s < 0 ? 0 : (s > d ? d : s);
        else s = s < 0 ? 0 : (s > d - 1 ? d - 1 : s);
        start[a] = s;
        step[a] = sp;
    }
    (void)ne;
    const int64_t n = sqz_tensor_numel(Y);
    int64_t xs[SQZ_MAX_DIMS], base = 0;
    for (int i = r - 1; i >= 0; i--) xs[i] = i == r - 1 ? 1 : xs[i + 1] * X->dims[i + 1];
    for (int i = 0; i < r; i++) base += start[i] * xs[i];
    int64_t pos[SQZ_MAX_DIMS] = {0};
    const float *dy = c->dout[0];
    for (int64_t k = 0; k < n; k++) {
        int64_t at = base;
        for (int i = 0; i < r; i++) at += pos[i] * step[i] * xs[i];
        dx[at] += dy[k];
        for (int i = r - 1; i >= 0; i--) {
            if (++pos[i] < Y->dims[i]) break;
            pos[i] = 0;
        }
    }
    return SQZ_OK;
}

/* ---- Transpose: y dim i is x dim perm[i] ---- */
static sqz_status transpose_bwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0], *Y = c->out[0];
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    const int r = X->ndim;
    int perm[SQZ_MAX_DIMS];
    const int64_t *pv;
    const int64_t np = sqz_node_attr_ints(c->node, "perm", &pv);
    for (int i = 0; i < r; i++) perm[i] = np == r ? (int)pv[i] : r - 1 - i;
    int64_t xs[SQZ_MAX_DIMS], s[SQZ_MAX_DIMS], m = 1;
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = m;
        m *= X->dims[i];
    }
    for (int i = 0; i < r; i++) s[i] = xs[perm[i]];
    const int64_t n = sqz_tensor_numel(Y), L = r ? Y->dims[r - 1] : 1, sl = r ? s[r - 1] : 1;
    const float *dy = c->dout[0];
    int64_t pos[SQZ_MAX_DIMS] = {0};
    for (int64_t k = 0; k < n; k += L) {
        int64_t at = 0;
        for (int i = 0; i < r - 1; i++) at += pos[i] * s[i];
        for (int64_t j = 0; j < L; j++) dx[at + j * sl] += dy[k + j];
        for (int i = r - 2; i >= 0; i--) {
            if (++pos[i] < Y->dims[i]) break;
            pos[i] = 0;
        }
    }
    return SQZ_OK;
}

/* ---- Dropout ---- */
static float dropout_ratio(const sqz_gctx *c) {
    if (c->opset < 12) return sqz_node_attr_float(c->node, "ratio", 0.5f);
    const sqz_tensor *r = c->n_in > 1 ? c->in[1] : NULL;
    if (!r || !r->data || sqz_tensor_numel(r) < 1) return 0.5f;
    return (float)sqz_tensor_get_f64(r, 0);
}

static sqz_status dropout_infer(sqz_opctx *c) {
    const sqz_tensor *X = c->in[0];
    sqz_op_set_shape(c->out[0], X->dtype, X->ndim, X->dims);
    if (c->n_out > 1 && c->out[1])
        sqz_op_set_shape(c->out[1], c->opset >= 10 ? SQZ_DT_BOOL : X->dtype, X->ndim, X->dims);
    return SQZ_OK;
}

static sqz_status dropout_fwd(sqz_gctx *c) {
    sqz_status st = sqz_grad_check_f32(c, c->in[0], "X");
    if (st) return st;
    const int64_t n = sqz_tensor_numel(c->in[0]);
    const float p = dropout_ratio(c);
    if (!(p >= 0.0f && p < 1.0f)) return sqz_err_set(c->err, SQZ_ERR_DATA, "Dropout: ratio %g outside [0, 1)", p);
    /* state 0: per-element factor (0 or 1/(1-p)); state 1: active flag */
    int *active = sqz_grad_state(c, 1, sizeof(int));
    if (!active) return SQZ_ERR_NOMEM;
    *active = c->training && p > 0.0f;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    sqz_tensor *M = c->n_out > 1 ? c->out[1] : NULL;
    if (!*active) {
        memcpy(y, x, sizeof(float) * (size_t)n);
        if (M) for (int64_t i = 0; i < n; i++) sqz_tensor_set_f64(M, i, 1.0);
        return SQZ_OK;
    }
    float *f = sqz_grad_state(c, 0, sizeof(float) * (size_t)(n ? n : 1));
    if (!f) return SQZ_ERR_NOMEM;
    sqz_rng rng;
    sqz_rng_seed(&rng, c->seed);
    const float keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) {
        f[i] = sqz_rng_uniform(&rng) < p ? 0.0f : keep;
        y[i] = x[i] * f[i];
    }
    if (M) for (int64_t i = 0; i < n; i++) sqz_tensor_set_f64(M, i, f[i] != 0.0f);
    return SQZ_OK;
}

static sqz_status dropout_bwd(sqz_gctx *c) {
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    const int64_t n = sqz_tensor_numel(c->in[0]);
    const int *active = c->state[1].p;
    const float *f = c->state[0].p, *dy = c->dout[0];
    if (!active || !*active) {
        sqz_grad_axpy1(dx, dy, n);
        return SQZ_OK;
    }
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * f[i];
    return SQZ_OK;
}

/* ---- ReduceMean: dx += dy (broadcast back) / count ---- */
static sqz_status reducemean_bwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0];
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    uint8_t red[SQZ_MAX_DIMS] = {0};
    const sqz_tensor *at = c->n_in > 1 ? c->in[1] : NULL;
    const int64_t *attr = NULL;
    int64_t na = at ? sqz_tensor_numel(at) : sqz_node_attr_ints(c->node, "axes", &attr);
    if (na <= 0) {
        if (sqz_node_attr_int(c->node, "noop_with_empty_axes", 0)) return copy_bwd(c);
        memset(red, 1, sizeof red);
    }
    for (int64_t i = 0; i < na; i++) {
        int ax;
        sqz_status st = sqz_norm_axis(at ? sqz_tensor_get_i64(at, i) : attr[i], X->ndim, &ax, c->err);
        if (st) return st;
        red[ax] = 1;
    }
    sqz_tensor kept = *X; /* the output seen with kept dims */
    int64_t count = 1;
    for (int i = 0; i < X->ndim; i++)
        if (red[i]) {
            count *= X->dims[i];
            kept.dims[i] = 1;
        }
    sqz_bcast it;
    const sqz_tensor *in[1] = {&kept};
    sqz_status st = sqz_bcast_init(&it, X, in, 1, c->err);
    if (st) return st;
    const float inv = count ? 1.0f / (float)count : 0.0f, *dy = c->dout[0];
    for (int64_t r = 0; r < it.rows; r++) {
        float *d = dx + r * it.inner;
        const float *g = dy + it.off[0];
        if (it.istr[0])
            for (int64_t i = 0; i < it.inner; i++) d[i] += g[i] * inv;
        else
            for (int64_t i = 0; i < it.inner; i++) d[i] += g[0] * inv;
        sqz_bcast_next(&it);
    }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_concat = {.op = "Concat", .backward = concat_bwd};
const sqz_grad_op sqz_grad_split = {.op = "Split", .backward = split_bwd};
const sqz_grad_op sqz_grad_slice = {.op = "Slice", .backward = slice_bwd};
const sqz_grad_op sqz_grad_reshape = {.op = "Reshape", .backward = copy_bwd, .stores = 1};
const sqz_grad_op sqz_grad_flatten = {.op = "Flatten", .backward = copy_bwd, .stores = 1};
const sqz_grad_op sqz_grad_squeeze = {.op = "Squeeze", .backward = copy_bwd, .stores = 1};
const sqz_grad_op sqz_grad_unsqueeze = {.op = "Unsqueeze", .backward = copy_bwd, .stores = 1};
const sqz_grad_op sqz_grad_identity = {.op = "Identity", .backward = copy_bwd, .stores = 1};
const sqz_grad_op sqz_grad_transpose = {.op = "Transpose", .backward = transpose_bwd};
const sqz_grad_op sqz_grad_dropout = {.op = "Dropout", .infer = dropout_infer, .forward = dropout_fwd,
                                      .backward = dropout_bwd};
const sqz_grad_op sqz_grad_reducemean = {.op = "ReduceMean", .backward = reducemean_bwd};
