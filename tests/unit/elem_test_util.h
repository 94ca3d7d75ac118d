/* tests/unit/elem_test_util.h - helpers shared by the elementwise operator tests: nodes with
 * attributes in a tiny graph, owned tensors from values, and run() = infer + allocate +
 * forward. Functions are static inline so each test uses what it needs. */
#ifndef SQZ_ELEM_TEST_UTIL_H
#define SQZ_ELEM_TEST_UTIL_H

#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"
static sqz_err E;

/* ---- helpers ---- */

static inline sqz_node *mknode(sqz_graph *g, const char *op) {
    int k = sqz_graph_add_node(g, op, "n", 0, NULL, 0, NULL, &E);
    return k >= 0 ? g->nodes[k] : NULL;
}

static inline void attr_i(sqz_graph *g, sqz_node *n, const char *name, int64_t v) {
    sqz_node_add_attr(g, n, name, SQZ_ATTR_INT)->i = v;
}

static inline void attr_f(sqz_graph *g, sqz_node *n, const char *name, float v) {
    sqz_node_add_attr(g, n, name, SQZ_ATTR_FLOAT)->f = v;
}

static inline void attr_s(sqz_graph *g, sqz_node *n, const char *name, const char *v) {
    sqz_attr *a = sqz_node_add_attr(g, n, name, SQZ_ATTR_STRING);
    a->s = sqz_arena_strdup(g->arena, v);
    a->s_len = strlen(v);
}

static inline void attr_ints(sqz_graph *g, sqz_node *n, const char *name, int64_t cnt,
                             const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(g, n, name, SQZ_ATTR_INTS);
    a->n = cnt;
    a->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(cnt ? cnt : 1), 8);
    for (int64_t i = 0; i < cnt; i++) a->ints[i] = v[i];
}

/* Owned tensor of dtype dt and shape dims filled from vals (may be NULL: zeros). */
static inline sqz_tensor mk(sqz_dtype dt, int ndim, const int64_t *dims, const double *vals) {
    sqz_tensor t;
    if (sqz_tensor_init_owned(&t, "t", dt, ndim, dims, &E) != SQZ_OK) {
        fprintf(stderr, "mk: %s\n", E.msg);
        exit(1);
    }
    int64_t n = sqz_tensor_numel(&t);
    for (int64_t i = 0; vals && i < n; i++) sqz_tensor_set_f64(&t, i, vals[i]);
    return t;
}

static inline sqz_tensor mk_i64(int ndim, const int64_t *dims, const int64_t *vals) {
    sqz_tensor t = mk(SQZ_DT_I64, ndim, dims, NULL);
    memcpy(t.data, vals, t.nbytes);
    return t;
}

/* Runs infer, allocates out (owned) and runs forward. Returns the first failing status. */
static inline sqz_status run(const char *opname, int64_t opset, const sqz_node *node, sqz_tensor **in,
                             int n_in, sqz_tensor *out) {
    memset(out, 0, sizeof *out);
    const sqz_op *op = sqz_op_find("", opname);
    if (!op) return sqz_err_set(&E, SQZ_ERR_UNSUPPORTED, "no op %s", opname);
    sqz_tensor desc;
    memset(&desc, 0, sizeof desc);
    sqz_tensor *outs[1] = {&desc};
    sqz_opctx c = {.node = node, .in = in, .n_in = n_in, .out = outs, .n_out = 1, .opset = opset, .threads = 1,
                   .err = &E};
    sqz_status st = op->infer(&c);
    if (st) return st;
    if ((st = sqz_tensor_init_owned(out, "y", desc.dtype, desc.ndim, desc.dims, &E))) return st;
    outs[0] = out;
    void *scratch = NULL;
    if (op->scratch_bytes) {
        size_t n = op->scratch_bytes(&c);
        scratch = n ? malloc(n) : NULL;
        c.scratch = scratch;
    }
    st = op->forward(&c);
    free(scratch);
    return st;
}

static inline int shape_is(const sqz_tensor *t, int ndim, const int64_t *dims) {
    if (t->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

static inline int values_near(const sqz_tensor *t, const double *want, double tol) {
    int64_t n = sqz_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double g = sqz_tensor_get_f64(t, i);
        if (isnan(want[i]) ? !isnan(g) : fabs(g - want[i]) > tol) {
            fprintf(stderr, "  element %lld: got %.9g want %.9g\n", (long long)i, g, want[i]);
            return 0;
        }
    }
    return 1;
}

#endif
