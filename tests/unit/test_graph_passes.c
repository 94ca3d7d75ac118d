/* tests/unit/test_graph_passes.c - resolve, verify, infer, fold, compact. */
#include <stdlib.h>
#include <string.h>

#include "fake_ops.h"
#include "graph/passes.h"
#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;

static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    int64_t d[3] = {d0, d1, d2};
    int t = sqz_graph_add_tensor(g, name, dt, ndim, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}

static int init_f32(sqz_graph *g, const char *name, int ndim, int64_t d0, int64_t d1, const float *v) {
    int t = tens(g, name, SQZ_DT_F32, ndim, d0, d1, 0);
    int64_t n = sqz_tensor_numel(g->tensors[t]);
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], v, sizeof(float) * (size_t)n, &E), &E);
    return t;
}

static int init_i64(sqz_graph *g, const char *name, int n, const int64_t *v, int scalar) {
    int t = tens(g, name, SQZ_DT_I64, scalar ? 0 : 1, n, 0, 0);
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], v, sizeof(int64_t) * (size_t)n, &E), &E);
    return t;
}

static int node(sqz_graph *g, const char *op, const char *name, int n_in, const int *in, int n_out, const int *out,
                const sqz_op *fake) {
    int k = sqz_graph_add_node(g, op, name, n_in, in, n_out, out, &E);
    CHECK_MSG(k >= 0, "add node %s: %s", name, E.msg);
    if (k >= 0 && fake) g->nodes[k]->op = fake;
    return k;
}

/* x -> TRelu -> y as the base of many verifier cases */
static sqz_graph *small_graph(int *x, int *y) {
    sqz_graph *g = sqz_graph_new();
    *x = tens(g, "x", SQZ_DT_F32, 2, -1, 4, 0);
    *y = tens(g, "y", SQZ_DT_F32, -1, 0, 0, 0);
    sqz_graph_add_input(g, *x, &E);
    sqz_graph_add_output(g, *y, &E);
    int in[1] = {*x}, out[1] = {*y};
    node(g, "TRelu", "relu", 1, in, 1, out, &fake_relu);
    return g;
}

static void expect_verify(sqz_graph *g, const char *words, const char *what) {
    sqz_err_clear(&E);
    sqz_status st = sqz_graph_verify(g, &E);
    CHECK_MSG(st == SQZ_ERR_DATA, "%s: verify gave %s (%s)", what, sqz_status_str(st), E.msg);
    CHECK_MSG(strstr(E.msg, words) != NULL, "%s: message '%s' lacks '%s'", what, E.msg, words);
    sqz_graph_free(g);
}

static void test_verify(void) {
    int x, y;
    sqz_graph *g = small_graph(&x, &y);
    CHECK_OK(sqz_graph_verify(g, &E), &E);
    sqz_graph_free(g);

    g = small_graph(&x, &y); /* produced twice */
    int in[2] = {x, x}, out[1] = {y};
    node(g, "TRelu", "relu2", 1, in, 1, out, &fake_relu);
    expect_verify(g, "'y' is produced twice", "duplicate producer");

    g = small_graph(&x, &y); /* produced and initializer */
    float one = 1;
    int c = init_f32(g, "c", 0, 0, 0, &one);
    out[0] = c;
    node(g, "TRelu", "relu_c", 1, in, 1, out, &fake_relu);
    expect_verify(g, "'c' is an initializer and also produced by node 'relu_c'", "produced initializer");

    g = small_graph(&x, &y); /* produced and graph input */
    int x2 = tens(g, "x2", SQZ_DT_F32, 1, 3, 0, 0);
    sqz_graph_add_input(g, x2, &E);
    out[0] = x2;
    node(g, "TRelu", "relu_x2", 1, in, 1, out, &fake_relu);
    expect_verify(g, "'x2' is a graph input and also produced", "produced input");

    g = small_graph(&x, &y); /* missing initializer */
    int w = tens(g, "w", SQZ_DT_F32, 1, 4, 0, 0), z = tens(g, "z", SQZ_DT_F32, -1, 0, 0, 0);
    int in2[2] = {y, w};
    out[0] = z;
    node(g, "TAdd", "add", 2, in2, 1, out, &fake_add);
    expect_verify(g, "missing initializer", "missing initializer");

    g = small_graph(&x, &y); /* cycle: add(y, b) -> a; add2(a, x) -> b */
    int a = tens(g, "a", SQZ_DT_F32, -1, 0, 0, 0), b = tens(g, "b", SQZ_DT_F32, -1, 0, 0, 0);
    int ia[2] = {y, b}, oa[1] = {a}, ib[2] = {a, x}, ob[1] = {b};
    node(g, "TAdd", "add1", 2, ia, 1, oa, &fake_add);
    node(g, "TAdd", "add2", 2, ib, 1, ob, &fake_add);
    expect_verify(g, "cycle", "cycle");

    g = small_graph(&x, &y); /* output never produced */
    int q = tens(g, "q", SQZ_DT_F32, 1, 2, 0, 0);
    sqz_graph_add_output(g, q, &E);
    expect_verify(g, "graph output 'q' is never produced", "unproduced output");

    g = small_graph(&x, &y); /* initializer bytes vs shape */
    float v4[4] = {1, 2, 3, 4};
    int i4 = init_f32(g, "w4", 1, 4, 0, v4);
    g->tensors[i4]->dims[0] = 5;
    expect_verify(g, "initializer 'w4' holds 16 bytes of data but its shape needs 20", "initializer size");

    g = small_graph(&x, &y); /* negative static dim */
    g->tensors[x]->dims[1] = -3;
    expect_verify(g, "tensor 'x' has negative dimension -3", "negative dim");

    g = small_graph(&x, &y); /* input without dtype */
    g->tensors[x]->dtype = SQZ_DT_UNDEF;
    expect_verify(g, "graph input 'x' has no dtype", "input dtype");

    g = small_graph(&x, &y); /* index out of range */
    g->nodes[0]->in[0] = 77;
    expect_verify(g, "node 'relu' (TRelu) input 0 refers to tensor index 77", "bad index");
}

static void test_resolve(void) {
    int x, y;
    sqz_graph *g = small_graph(&x, &y);
    int in[1] = {x}, out[1] = {tens(g, "u", SQZ_DT_F32, -1, 0, 0, 0)};
    node(g, "FooBar", "foo", 1, in, 1, out, NULL);
    sqz_err_clear(&E);
    sqz_status st = sqz_graph_resolve_ops(g, &E);
    CHECK_MSG(st == SQZ_ERR_UNSUPPORTED, "%s", E.msg);
    CHECK_MSG(strstr(E.msg, "node 'foo' uses operator 'FooBar'") != NULL, "%s", E.msg);
    g->nodes[1]->domain = "com.example";
    sqz_graph_resolve_ops(g, &E);
    CHECK_MSG(strstr(E.msg, "domain 'com.example'") != NULL, "%s", E.msg);
    sqz_graph_free(g);

    g = small_graph(&x, &y); /* count check against the op */
    g->nodes[0]->n_in = 2;
    g->nodes[0]->in = (int[]){x, x};
    st = sqz_graph_resolve_ops(g, &E);
    CHECK_MSG(st == SQZ_ERR_DATA && strstr(E.msg, "has 2 inputs"), "%s", E.msg);
    sqz_graph_free(g);
}

static void test_infer_and_macs(void) {
    int x, y;
    sqz_graph *g = small_graph(&x, &y);
    float bv = 1;
    int b = init_f32(g, "b", 0, 0, 0, &bv), z = tens(g, "z", SQZ_DT_F32, 2, -1, 4, 0);
    g->tensors[x]->dims[0] = 3;
    int in[2] = {y, b}, out[1] = {z};
    node(g, "TAdd", "add", 2, in, 1, out, &fake_add);
    CHECK_OK(sqz_graph_infer_shapes(g, &E), &E);
    CHECK(g->tensors[y]->ndim == 2 && g->tensors[y]->dims[0] == 3 && g->tensors[y]->dims[1] == 4);
    CHECK(g->tensors[z]->dims[0] == 3);
    CHECK(sqz_node_macs(g, 1) == 12);
    CHECK(sqz_node_macs(g, 0) == -1); /* TRelu defines none */
    g->tensors[z]->dims[1] = 5;       /* declared shape that conflicts */
    sqz_status st = sqz_graph_infer_shapes(g, &E);
    CHECK_MSG(st == SQZ_ERR_DATA && strstr(E.msg, "node 'add' (TAdd): tensor 'z' is declared [3,5]"), "%s", E.msg);
    sqz_graph_free(g);
}

static void test_compact(void) {
    int x, y;
    sqz_graph *g = small_graph(&x, &y);
    float v[4] = {0};
    init_f32(g, "unused", 1, 4, 0, v);
    int z = tens(g, "z", SQZ_DT_F32, -1, 0, 0, 0);
    int in[1] = {y}, out[1] = {z};
    node(g, "TRelu", "relu2", 1, in, 1, out, &fake_relu);
    g->outputs[0] = z; /* y is now only an intermediate */
    int removed = -1;
    CHECK_OK(sqz_graph_compact(g, &removed, &E), &E);
    CHECK(removed == 1 && g->n_tensors == 3);
    CHECK(sqz_graph_find_tensor(g, "unused") < 0);
    int zi = sqz_graph_find_tensor(g, "z");
    CHECK(zi == 2 && g->nodes[1]->out[0] == zi && g->outputs[0] == zi && g->tensors[zi]->producer == 1);
    CHECK(sqz_graph_add_tensor(g, "fresh", SQZ_DT_F32, 0, NULL, &E) == 3);
    CHECK_OK(sqz_graph_verify(g, &E), &E);
    sqz_graph_free(g);
}

/* all-initializer nodes evaluate into initializers (fake ops, no registry needed) */
static void test_fold_fake(void) {
    int x, y;
    sqz_graph *g = small_graph(&x, &y);
    float av[3] = {1, -2, 3}, bv[3] = {10, 20, 30};
    int a = init_f32(g, "a", 1, 3, 0, av), b = init_f32(g, "b", 1, 3, 0, bv);
    int s = tens(g, "s", SQZ_DT_F32, -1, 0, 0, 0), r = tens(g, "r", SQZ_DT_F32, -1, 0, 0, 0);
    int i1[2] = {a, b}, o1[1] = {s}, i2[1] = {s}, o2[1] = {r};
    node(g, "TAdd", "cadd", 2, i1, 1, o1, &fake_add);
    node(g, "TRelu", "crelu", 1, i2, 1, o2, &fake_relu);
    sqz_graph_add_output(g, r, &E);
    int nf = -1;
    CHECK_OK(sqz_graph_fold_constants(g, &nf, &E), &E);
    CHECK(nf == 2 && g->n_nodes == 1);
    int ri = sqz_graph_find_tensor(g, "r");
    CHECK(ri >= 0 && (g->tensors[ri]->flags & SQZ_TF_INIT));
    if (ri >= 0 && g->tensors[ri]->data) {
        const float *rv = g->tensors[ri]->data;
        CHECK(rv[0] == 11 && rv[1] == 18 && rv[2] == 33);
    }
    CHECK(sqz_graph_find_tensor(g, "a") < 0 && sqz_graph_find_tensor(g, "s") < 0); /* dropped */
    CHECK_OK(sqz_graph_verify(g, &E), &E);
    sqz_graph_free(g);
}




static int have_ops(const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!sqz_op_find("", names[i])) {
            CHECK_MSG(0, "operator %s is not registered (yet)", names[i]);
            return 0;
        }
    return 1;
}

/* PyTorch's x.reshape(-1, x.size(1), 12) with a dynamic batch:
 * Shape -> Gather(1) -> Unsqueeze -> Concat([-1], ., [12]) -> Reshape -> Relu */
static sqz_graph *torch_chain(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {-1, 2, 3, 4};
    int x = sqz_graph_add_tensor(g, "x", SQZ_DT_F32, 4, xd, &E);
    sqz_graph_add_input(g, x, &E);
    int64_t one = 1, zero = 0, m1 = -1, twelve = 12;
    int idx = init_i64(g, "idx", 1, &one, 1), ax = init_i64(g, "axes", 1, &zero, 0);
    int cm1 = init_i64(g, "minus1", 1, &m1, 0), c12 = init_i64(g, "c12", 1, &twelve, 0);
    int shp = tens(g, "shp", SQZ_DT_UNDEF, -1, 0, 0, 0), g1 = tens(g, "g1", SQZ_DT_UNDEF, -1, 0, 0, 0);
    int u1 = tens(g, "u1", SQZ_DT_UNDEF, -1, 0, 0, 0), cat = tens(g, "cat", SQZ_DT_UNDEF, -1, 0, 0, 0);
    int y = tens(g, "y", SQZ_DT_UNDEF, -1, 0, 0, 0), out = tens(g, "out", SQZ_DT_UNDEF, -1, 0, 0, 0);
    node(g, "Shape", "shape", 1, &x, 1, &shp, NULL);
    node(g, "Gather", "gather", 2, (int[]){shp, idx}, 1, &g1, NULL);
    node(g, "Unsqueeze", "unsq", 2, (int[]){g1, ax}, 1, &u1, NULL);
    int k = node(g, "Concat", "concat", 3, (int[]){cm1, u1, c12}, 1, &cat, NULL);
    sqz_attr *a = sqz_node_add_attr(g, g->nodes[k], "axis", SQZ_ATTR_INT);
    a->i = 0;
    node(g, "Reshape", "reshape", 2, (int[]){x, cat}, 1, &y, NULL);
    node(g, "Relu", "relu", 1, &y, 1, &out, NULL);
    sqz_graph_add_output(g, out, &E);
    return g;
}

static void run_chain(const sqz_graph *g, int batch, float *res) {
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (!s) return;
    sqz_tensor x;
    int64_t d[4] = {batch, 2, 3, 4};
    sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 4, d, &E);
    for (int i = 0; i < batch * 24; i++) ((float *)x.data)[i] = (float)((i * 7) % 11) - 5.0f;
    const sqz_tensor *in[1] = {&x};
    CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    const sqz_tensor *o = sqz_session_output(s, 0);
    CHECK(o && o->ndim == 3 && o->dims[0] == batch && o->dims[1] == 2 && o->dims[2] == 12);
    if (o && o->nbytes == sizeof(float) * (size_t)batch * 24) memcpy(res, o->data, o->nbytes);
    sqz_tensor_release(&x);
    sqz_session_free(s);
}

static void test_fold_torch_chain(void) {
    const char *ops[] = {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Relu"};
    if (!have_ops(ops, 6)) return;
    sqz_graph *g = torch_chain();
    CHECK_OK(sqz_graph_resolve_ops(g, &E), &E);
    float before[5 * 24], after[5 * 24];
    memset(before, 0, sizeof before);
    memset(after, 1, sizeof after);
    run_chain(g, 5, before);
    int n0 = g->n_nodes, t0 = g->n_tensors, nf = -1;
    CHECK_OK(sqz_graph_fold_constants(g, &nf, &E), &E);
    CHECK_MSG(nf == 4 && g->n_nodes == n0 - 4, "folded %d, %d nodes left", nf, g->n_nodes);
    CHECK(g->n_tensors < t0);
    CHECK(g->n_nodes == 2 && !strcmp(g->nodes[0]->op_type, "Reshape"));
    CHECK_OK(sqz_graph_infer_shapes(g, &E), &E);
    int y = sqz_graph_find_tensor(g, "y");
    CHECK(y >= 0 && g->tensors[y]->ndim == 3 && g->tensors[y]->dims[0] == -1 && g->tensors[y]->dims[2] == 12);
    run_chain(g, 5, after);
    CHECK(!memcmp(before, after, sizeof before));
    sqz_graph_free(g);

    /* prepare does the same in one call */
    g = torch_chain();
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    CHECK(g->n_nodes == 2);
    sqz_graph_free(g);
}

/* Shape of a fully static tensor becomes an initializer; the graph is left with no node */
static void test_fold_static_shape(void) {
    const char *ops[] = {"Shape"};
    if (!have_ops(ops, 1)) return;
    sqz_graph *g = sqz_graph_new();
    int x = tens(g, "x", SQZ_DT_F32, 2, 2, 3, 0), s = tens(g, "s", SQZ_DT_UNDEF, -1, 0, 0, 0);
    sqz_graph_add_input(g, x, &E);
    sqz_graph_add_output(g, s, &E);
    node(g, "Shape", "shape", 1, &x, 1, &s, NULL);
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    CHECK(g->n_nodes == 0);
    const sqz_tensor *t = g->tensors[g->outputs[0]];
    CHECK(t->flags & SQZ_TF_INIT);
    CHECK(t->dtype == SQZ_DT_I64 && t->ndim == 1 && t->dims[0] == 2);
    if (t->data) CHECK(((int64_t *)t->data)[0] == 2 && ((int64_t *)t->data)[1] == 3);
    sqz_session *ss = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &ss, &E), &E);
    sqz_tensor xin;
    sqz_tensor_init_owned(&xin, "x", SQZ_DT_F32, 2, (int64_t[]){2, 3}, &E);
    const sqz_tensor *in[1] = {&xin};
    if (ss) {
        CHECK_OK(sqz_session_run(ss, 1, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(ss, 0);
        CHECK(o && o->data && ((int64_t *)o->data)[1] == 3);
    }
    sqz_tensor_release(&xin);
    sqz_session_free(ss);
    sqz_graph_free(g);
}

/* Slice of a Shape folds only when it picks static dims */
static void test_fold_shape_slice(void) {
    const char *ops[] = {"Shape", "Slice"};
    if (!have_ops(ops, 2)) return;
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int x = tens(g, "x", SQZ_DT_F32, 3, -1, 3, 4);
    sqz_graph_add_input(g, x, &E);
    int64_t one = 1, three = 3, zero = 0, two = 2;
    int st1 = init_i64(g, "st1", 1, &one, 0), en1 = init_i64(g, "en1", 1, &three, 0);
    int st0 = init_i64(g, "st0", 1, &zero, 0), en0 = init_i64(g, "en0", 1, &two, 0);
    int shp = tens(g, "shp", SQZ_DT_UNDEF, -1, 0, 0, 0);
    int tail = tens(g, "tail", SQZ_DT_UNDEF, -1, 0, 0, 0), head = tens(g, "head", SQZ_DT_UNDEF, -1, 0, 0, 0);
    node(g, "Shape", "shape", 1, &x, 1, &shp, NULL);
    node(g, "Slice", "tail_slice", 3, (int[]){shp, st1, en1}, 1, &tail, NULL);
    node(g, "Slice", "head_slice", 3, (int[]){shp, st0, en0}, 1, &head, NULL);
    sqz_graph_add_output(g, tail, &E);
    sqz_graph_add_output(g, head, &E);
    int nf = -1;
    CHECK_OK(sqz_graph_resolve_ops(g, &E), &E);
    CHECK_OK(sqz_graph_fold_constants(g, &nf, &E), &E);
    CHECK_MSG(nf == 1 && g->n_nodes == 2, "folded %d", nf);
    const sqz_tensor *t = g->tensors[g->outputs[0]];
    CHECK(!strcmp(t->name, "tail") && (t->flags & SQZ_TF_INIT) && t->dims[0] == 2);
    if (t->data) CHECK(((int64_t *)t->data)[0] == 3 && ((int64_t *)t->data)[1] == 4);
    CHECK(!(g->tensors[g->outputs[1]]->flags & SQZ_TF_INIT));
    sqz_graph_free(g);
}

/* a graph input with a default value is not a constant */
static void test_fold_input_default(void) {
    float v[4] = {1, 2, 3, 4};
    sqz_graph *g = sqz_graph_new();
    int x = init_f32(g, "x", 1, 4, 0, v), y;
    sqz_graph_add_input(g, x, &E);
    y = tens(g, "y", SQZ_DT_F32, -1, 0, 0, 0);
    node(g, "TRelu", "relu", 1, &x, 1, &y, &fake_relu);
    sqz_graph_add_output(g, y, &E);
    int nf = -1;
    CHECK_OK(sqz_graph_fold_constants(g, &nf, &E), &E);
    CHECK(nf == 0 && g->n_nodes == 1);
    sqz_graph_free(g);
}

int main(void) {
    test_verify();
    test_resolve();
    test_infer_and_macs();
    test_compact();
    test_fold_fake();
    test_fold_torch_chain();
    test_fold_static_shape();
    test_fold_shape_slice();
    test_fold_input_default();
    TEST_MAIN_END();
}
