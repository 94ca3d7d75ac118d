/* tests/unit/shape_harness.h - a tiny harness for shape-op unit tests: one node with
 * attributes in a small graph, owned input and output tensors, infer + allocate + forward. */
#ifndef SQZ_SHAPE_HARNESS_H
#define SQZ_SHAPE_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"

extern const sqz_op sqz_op_reshape, sqz_op_flatten, sqz_op_squeeze, sqz_op_unsqueeze, sqz_op_identity,
    sqz_op_dropout, sqz_op_transpose, sqz_op_concat, sqz_op_split, sqz_op_slice, sqz_op_gather,
    sqz_op_gather_elements, sqz_op_scatter_elements, sqz_op_constant, sqz_op_constant_of_shape, sqz_op_shape,
    sqz_op_size, sqz_op_range, sqz_op_eyelike, sqz_op_pad, sqz_op_expand, sqz_op_tile, sqz_op_depth_to_space,
    sqz_op_space_to_depth, sqz_op_onehot, sqz_op_trilu, sqz_op_resize, sqz_op_upsample, sqz_op_gather_nd,
    sqz_op_scatter_nd, sqz_op_compress, sqz_op_reverse_sequence;

/* ---- a tiny harness: one node with attributes, owned input/output tensors ---- */

#define TMAX 8
typedef struct tc {
    const sqz_op *op;
    sqz_graph *g;
    sqz_node *node;
    sqz_tensor in[TMAX], out[TMAX];
    sqz_tensor *inp[TMAX], *outp[TMAX];
    int n_in, n_out;
    int64_t opset;
    sqz_err err;
} tc;

static inline void tc_init(tc *t, const sqz_op *op, int64_t opset) {
    memset(t, 0, sizeof *t);
    t->op = op;
    t->opset = opset;
    t->g = sqz_graph_new();
    int k = sqz_graph_add_node(t->g, op->name, "n0", 0, NULL, 0, NULL, &t->err);
    t->node = k >= 0 ? t->g->nodes[k] : NULL;
}

static inline void tc_free(tc *t) {
    for (int i = 0; i < TMAX; i++) {
        sqz_tensor_release(&t->in[i]);
        sqz_tensor_release(&t->out[i]);
    }
    sqz_graph_free(t->g);
}

static inline void attr_int(tc *t, const char *name, int64_t v) { sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INT)->i = v; }
static inline void attr_float(tc *t, const char *name, float v) {
    sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_FLOAT)->f = v;
}
static inline void attr_str(tc *t, const char *name, const char *s) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_STRING);
    a->s = sqz_arena_strdup(t->g->arena, s);
    a->s_len = strlen(s);
}
static inline void attr_ints(tc *t, const char *name, int n, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INTS);
    a->n = n;
    a->ints = sqz_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)(n ? n : 1), 8);
    if (n) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}
static inline sqz_tensor *attr_tensor(tc *t, const char *name, sqz_dtype dt, int ndim, const int64_t *dims, const double *v) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_TENSOR);
    sqz_tensor *x = sqz_arena_alloc(t->g->arena, sizeof *x, 8);
    x->dtype = dt;
    x->ndim = ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= x->dims[i] = dims[i];
    x->nbytes = (size_t)n * sqz_dtype_size(dt);
    x->data = sqz_arena_alloc(t->g->arena, x->nbytes ? x->nbytes : 1, 8);
    for (int64_t i = 0; i < n; i++) sqz_tensor_set_f64(x, i, v[i]);
    a->t = x;
    return x;
}

/* Input i with values v (NULL: zeros); dtype any byte-addressable type. */
static inline sqz_tensor *tc_in(tc *t, int i, sqz_dtype dt, int ndim, const int64_t *dims, const double *v) {
    sqz_tensor_release(&t->in[i]);
    sqz_tensor_init_owned(&t->in[i], "x", dt, ndim, dims, &t->err);
    int64_t n = sqz_tensor_numel(&t->in[i]);
    for (int64_t k = 0; v && k < n; k++) sqz_tensor_set_f64(&t->in[i], k, v[k]);
    t->inp[i] = &t->in[i];
    if (i + 1 > t->n_in) t->n_in = i + 1;
    return &t->in[i];
}
static inline void tc_in_f(tc *t, int i, int ndim, const int64_t *dims, const double *v) { tc_in(t, i, SQZ_DT_F32, ndim, dims, v); }
static inline void tc_in_ints(tc *t, int i, int n, const int64_t *v) {
    int64_t d = n;
    sqz_tensor *x = tc_in(t, i, SQZ_DT_I64, 1, &d, NULL);
    if (n) memcpy(x->data, v, sizeof(int64_t) * (size_t)n);
}
/* Input i with a known shape but no value yet. */
static inline void tc_in_unknown(tc *t, int i, sqz_dtype dt, int ndim, const int64_t *dims) {
    int64_t zero[SQZ_MAX_DIMS] = {0};
    tc_in(t, i, dt, ndim, zero, NULL);
    for (int k = 0; k < ndim; k++) t->in[i].dims[k] = dims[k];
    free(t->in[i].data);
    t->in[i].data = NULL;
    t->in[i].nbytes = 0;
}
static inline void tc_skip(tc *t, int i) {
    t->inp[i] = NULL;
    if (i + 1 > t->n_in) t->n_in = i + 1;
}

static inline sqz_opctx tc_ctx(tc *t) {
    sqz_opctx c = {t->node, t->inp, t->n_in, t->outp, t->n_out, t->opset, 1, NULL, &t->err};
    return c;
}

static inline sqz_status tc_infer(tc *t, int n_out) {
    t->n_out = n_out;
    for (int i = 0; i < n_out; i++) {
        sqz_tensor_release(&t->out[i]);
        t->outp[i] = &t->out[i];
    }
    sqz_err_clear(&t->err);
    sqz_opctx c = tc_ctx(t);
    return t->op->infer(&c);
}

/* infer, allocate outputs, forward. */
static inline sqz_status tc_run(tc *t, int n_out) {
    sqz_status st = tc_infer(t, n_out);
    if (st) return st;
    for (int i = 0; i < n_out; i++) {
        sqz_tensor o = t->out[i];
        if (o.ndim < 0 || sqz_tensor_numel(&o) < 0) return sqz_err_set(&t->err, SQZ_ERR_INTERNAL, "test: unknown out shape");
        st = sqz_tensor_init_owned(&t->out[i], "y", o.dtype, o.ndim, o.dims, &t->err);
        if (st) return st;
    }
    sqz_opctx c = tc_ctx(t);
    return t->op->forward(&c);
}

static inline int shape_is(const sqz_tensor *x, int ndim, const int64_t *dims) {
    if (x->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (x->dims[i] != dims[i]) return 0;
    return 1;
}
static inline int values_are(const sqz_tensor *x, int n, const double *v) {
    if (sqz_tensor_numel(x) != n) return 0;
    for (int i = 0; i < n; i++)
        if (sqz_tensor_get_f64(x, i) != v[i]) return 0;
    return 1;
}
static inline void iota(double *v, int n) {
    for (int i = 0; i < n; i++) v[i] = i;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define V(...) ((const double[]){__VA_ARGS__})
#define SHAPE(x, n, ...) CHECK_MSG(shape_is((x), n, D(__VA_ARGS__)), "shape of %s", #x)

#endif
