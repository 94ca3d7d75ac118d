/* tests/unit/test_optimize.c - sqz_graph_optimize: BatchNormalization folding into
 * Conv / ConvTranspose / Gemm, Identity and Dropout removal. Each graph is built twice,
 * one prepared without the optimizer (the reference), and both are run on the same input. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;

static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d) {
    int t = sqz_graph_add_tensor(g, name, dt, ndim, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}

static int act(sqz_graph *g, const char *name) { return tens(g, name, SQZ_DT_UNDEF, -1, NULL); }

/* f32 initializer filled with a fixed pseudo-random pattern in [lo, hi). */
static int init_f32(sqz_graph *g, const char *name, int ndim, const int64_t *d, float lo, float hi, unsigned seed) {
    int t = tens(g, name, SQZ_DT_F32, ndim, d);
    if (t < 0) return t;
    int64_t n = sqz_tensor_numel(g->tensors[t]);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    unsigned s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * (float)((s >> 8) & 0xffff) / 65536.0f;
    }
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], v, sizeof(float) * (size_t)n, &E), &E);
    free(v);
    return t;
}

static sqz_node *node(sqz_graph *g, const char *op, const char *name, int n_in, const int *in, int n_out,
                      const int *out) {
    int k = sqz_graph_add_node(g, op, name, n_in, in, n_out, out, &E);
    CHECK_MSG(k >= 0, "add node %s: %s", name, E.msg);
    return k >= 0 ? g->nodes[k] : NULL;
}

static void attr_int(sqz_graph *g, sqz_node *n, const char *name, int64_t v) {
    sqz_attr *a = sqz_node_add_attr(g, n, name, SQZ_ATTR_INT);
    if (a) a->i = v;
}

static void attr_ints(sqz_graph *g, sqz_node *n, const char *name, int cnt, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(g, n, name, SQZ_ATTR_INTS);
    if (!a) return;
    a->n = cnt;
    a->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * (size_t)cnt, 8);
    if (a->ints) memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

/* BN over C channels reading x, writing y; its parameters named after prefix. */
static void bn(sqz_graph *g, const char *prefix, int x, int y, int64_t C, unsigned seed) {
    char nm[4][64];
    const char *part[4] = {"gamma", "beta", "mean", "var"};
    int p[4];
    for (int i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof nm[i], "%s_%s", prefix, part[i]);
        p[i] = init_f32(g, nm[i], 1, &C, i == 3 ? 0.2f : -1.0f, i == 3 ? 2.0f : 1.5f, seed + (unsigned)i);
    }
    sqz_node *n = node(g, "BatchNormalization", prefix, 5, (int[]){x, p[0], p[1], p[2], p[3]}, 1, &y);
    sqz_attr *a = n ? sqz_node_add_attr(g, n, "epsilon", SQZ_ATTR_FLOAT) : NULL;
    if (a) a->f = 1e-3f;
}

/* x[N,3,6,6] -> Identity -> Conv(bias, pad 1) -> BN -> Relu -> out1
 *                        -> Conv(no bias, group 3, stride 2) -> BN -> Dropout -> out2 */
static sqz_graph *conv_graph(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {-1, 3, 6, 6}, w1d[4] = {4, 3, 3, 3}, b1d = 4, w2d[4] = {6, 1, 3, 3};
    int x = tens(g, "x", SQZ_DT_F32, 4, xd);
    sqz_graph_add_input(g, x, &E);
    int xi = act(g, "xi"), c1 = act(g, "c1"), y1 = act(g, "y1"), o1 = act(g, "out1");
    int c2 = act(g, "c2"), y2 = act(g, "y2"), o2 = act(g, "out2");
    int w1 = init_f32(g, "w1", 4, w1d, -0.5f, 0.5f, 1), b1 = init_f32(g, "b1", 1, &b1d, -0.2f, 0.3f, 2);
    int w2 = init_f32(g, "w2", 4, w2d, -0.5f, 0.5f, 3);
    node(g, "Identity", "id", 1, &x, 1, &xi);
    sqz_node *n = node(g, "Conv", "conv1", 3, (int[]){xi, w1, b1}, 1, &c1);
    if (n) attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    bn(g, "bn1", c1, y1, 4, 10);
    node(g, "Relu", "relu1", 1, &y1, 1, &o1);
    n = node(g, "Conv", "conv2", 2, (int[]){xi, w2}, 1, &c2);
    if (n) {
        attr_int(g, n, "group", 3);
        attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
    }
    bn(g, "bn2", c2, y2, 6, 20);
    node(g, "Dropout", "drop", 1, &y2, 1, &o2);
    sqz_graph_add_output(g, o1, &E);
    sqz_graph_add_output(g, o2, &E);
    return g;
}

/* x[N,4,3,3] -> ConvTranspose(group 2, W [4,3,2,2], bias) -> BN(6) -> out */
static sqz_graph *convt_graph(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {-1, 4, 3, 3}, wd[4] = {4, 3, 2, 2}, bd = 6;
    int x = tens(g, "x", SQZ_DT_F32, 4, xd);
    sqz_graph_add_input(g, x, &E);
    int c = act(g, "c"), o = act(g, "out");
    int w = init_f32(g, "w", 4, wd, -0.5f, 0.5f, 4), b = init_f32(g, "b", 1, &bd, -0.2f, 0.2f, 5);
    sqz_node *n = node(g, "ConvTranspose", "convt", 3, (int[]){x, w, b}, 1, &c);
    if (n) attr_int(g, n, "group", 2);
    bn(g, "bn", c, o, 6, 30);
    sqz_graph_add_output(g, o, &E);
    return g;
}

/* x[N,5] -> Gemm(transB, C[3]) -> BN -> out1;  x -> Gemm(W[5,3], no C) -> BN -> Identity -> out2 */
static sqz_graph *gemm_graph(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[2] = {-1, 5}, w1d[2] = {3, 5}, cd = 3, w2d[2] = {5, 3};
    int x = tens(g, "x", SQZ_DT_F32, 2, xd);
    sqz_graph_add_input(g, x, &E);
    int g1 = act(g, "g1"), o1 = act(g, "out1"), g2 = act(g, "g2"), y2 = act(g, "y2"), o2 = act(g, "out2");
    int w1 = init_f32(g, "w1", 2, w1d, -1, 1, 6), cc = init_f32(g, "cc", 1, &cd, -1, 1, 7);
    int w2 = init_f32(g, "w2", 2, w2d, -1, 1, 8);
    sqz_node *n = node(g, "Gemm", "gemm1", 3, (int[]){x, w1, cc}, 1, &g1);
    if (n) attr_int(g, n, "transB", 1);
    bn(g, "bn1", g1, o1, 3, 40);
    node(g, "Gemm", "gemm2", 2, (int[]){x, w2}, 1, &g2);
    bn(g, "bn2", g2, y2, 3, 50);
    node(g, "Identity", "id", 1, &y2, 1, &o2);
    sqz_graph_add_output(g, o1, &E);
    sqz_graph_add_output(g, o2, &E);
    return g;
}

/* Cases that must stay: the conv output is also read elsewhere / is a graph output;
 * an Identity of a graph input that is itself a graph output. */
static sqz_graph *keep_graph(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {-1, 2, 4, 4}, wd[4] = {2, 2, 1, 1};
    int x = tens(g, "x", SQZ_DT_F32, 4, xd);
    sqz_graph_add_input(g, x, &E);
    int c1 = act(g, "c1"), y1 = act(g, "y1"), s1 = act(g, "s1"), c2 = act(g, "c2"), y2 = act(g, "y2");
    int xo = act(g, "xo");
    int w = init_f32(g, "w", 4, wd, -1, 1, 9);
    node(g, "Conv", "conv1", 2, (int[]){x, w}, 1, &c1);
    bn(g, "bn1", c1, y1, 2, 60);
    node(g, "Add", "add", 2, (int[]){y1, c1}, 1, &s1);
    node(g, "Conv", "conv2", 2, (int[]){x, w}, 1, &c2);
    bn(g, "bn2", c2, y2, 2, 70);
    node(g, "Identity", "id", 1, &x, 1, &xo);
    sqz_graph_add_output(g, s1, &E);
    sqz_graph_add_output(g, y2, &E);
    sqz_graph_add_output(g, c2, &E);
    sqz_graph_add_output(g, xo, &E);
    return g;
}

static int count_ops(const sqz_graph *g, const char *type) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += !strcmp(g->nodes[k]->op_type, type);
    return c;
}

/* Runs both graphs on the same inputs and compares every graph output by name. */
static void compare_runs(const sqz_graph *ref, const sqz_graph *opt, int n_in, const sqz_tensor *const *in,
                         double tol, const char *what) {
    sqz_session *a = NULL, *b = NULL;
    CHECK_OK(sqz_session_new(ref, NULL, &a, &E), &E);
    CHECK_OK(sqz_session_new(opt, NULL, &b, &E), &E);
    if (!a || !b) goto out;
    CHECK_OK(sqz_session_run(a, n_in, in, &E), &E);
    CHECK_OK(sqz_session_run(b, n_in, in, &E), &E);
    CHECK_MSG(ref->n_outputs == opt->n_outputs, "%s: output count", what);
    for (int i = 0; i < ref->n_outputs && i < opt->n_outputs; i++) {
        const sqz_tensor *x = sqz_session_output(a, i), *y = sqz_session_output(b, i);
        CHECK_MSG(!strcmp(ref->tensors[ref->outputs[i]]->name, opt->tensors[opt->outputs[i]]->name),
                  "%s: output %d renamed", what, i);
        if (!x || !y) {
            CHECK_MSG(0, "%s: output %d missing", what, i);
            continue;
        }
        int64_t n = sqz_tensor_numel(x);
        CHECK_MSG(n == sqz_tensor_numel(y) && x->dtype == y->dtype, "%s: output %d shape", what, i);
        if (n != sqz_tensor_numel(y) || x->dtype != y->dtype) continue;
        if (x->dtype != SQZ_DT_F32) {
            CHECK_MSG(!memcmp(x->data, y->data, x->nbytes), "%s: output %d differs", what, i);
            continue;
        }
        double mx = 0, md = 0;
        for (int64_t j = 0; j < n; j++) {
            double u = ((const float *)x->data)[j], v = ((const float *)y->data)[j];
            mx = fabs(u) > mx ? fabs(u) : mx;
            md = fabs(u - v) > md ? fabs(u - v) : md;
        }
        CHECK_MSG(md <= tol * (mx > 1 ? mx : 1), "%s: output %d differs by %g (max %g)", what, i, md, mx);
    }
out:
    sqz_session_free(a);
    sqz_session_free(b);
}

static void check_builder(sqz_graph *(*build)(void), int batch, int width, int bn_left, int pass_left,
                          const char *what) {
    sqz_graph *ref = build(), *opt = build();
    CHECK_OK(sqz_graph_prepare(ref, &E), &E);
    CHECK_OK(sqz_graph_prepare_inference(opt, &E), &E);
    CHECK_MSG(count_ops(opt, "BatchNormalization") == bn_left, "%s: %d BN left", what,
              count_ops(opt, "BatchNormalization"));
    int pass = count_ops(opt, "Identity") + count_ops(opt, "Dropout");
    CHECK_MSG(pass == pass_left, "%s: %d Identity/Dropout left", what, pass);
    CHECK_OK(sqz_graph_verify(opt, &E), &E);
    const sqz_tensor *xd = ref->tensors[ref->inputs[0]];
    int64_t d[SQZ_MAX_DIMS];
    for (int i = 0; i < xd->ndim; i++) d[i] = xd->dims[i] < 0 ? batch : xd->dims[i];
    sqz_tensor x;
    CHECK_OK(sqz_tensor_init_owned(&x, "", SQZ_DT_F32, xd->ndim, d, &E), &E);
    int64_t n = sqz_tensor_numel(&x);
    for (int64_t i = 0; i < n; i++) ((float *)x.data)[i] = (float)((i * 37 + width) % 23) / 7.0f - 1.5f;
    const sqz_tensor *in[1] = {&x};
    compare_runs(ref, opt, 1, in, 1e-5, what);
    sqz_tensor_release(&x);
    sqz_graph_free(ref);
    sqz_graph_free(opt);
}

static void test_small_graphs(void) {
    check_builder(conv_graph, 2, 0, 0, 0, "conv");
    check_builder(convt_graph, 3, 1, 0, 0, "convtranspose");
    check_builder(gemm_graph, 4, 2, 0, 0, "gemm");
    check_builder(keep_graph, 2, 3, 2, 1, "keep");
}

/* Optimizing again changes nothing; a graph with nothing to do is left alone. */
static void test_idempotent(void) {
    sqz_graph *g = conv_graph();
    CHECK_OK(sqz_graph_prepare(g, &E), &E); /* keeps BatchNorm, Identity, Dropout */
    CHECK(count_ops(g, "BatchNormalization") == 2 && count_ops(g, "Identity") == 1 && count_ops(g, "Dropout") == 1);
    CHECK_OK(sqz_graph_optimize(g, &E), &E);
    CHECK(count_ops(g, "BatchNormalization") == 0 && count_ops(g, "Identity") == 0 && count_ops(g, "Dropout") == 0);
    int nodes = g->n_nodes, tensors = g->n_tensors;
    CHECK_OK(sqz_graph_optimize(g, &E), &E);
    CHECK(g->n_nodes == nodes && g->n_tensors == tensors);
    CHECK(count_ops(g, "Conv") == 2 && count_ops(g, "Relu") == 1);
    sqz_graph_free(g);
    CHECK(sqz_graph_optimize(NULL, &E) == SQZ_ERR_ARG);
}

/* ONNX conformance models (every suite): prepared with and without the optimizer. */
static int run_suite(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int models = 0;
    char path[1024];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
        sqz_graph *ref = NULL, *opt = NULL;
        sqz_tensor x[8];
        int nx = 0, ok = 1;
        memset(x, 0, sizeof x);
        if (sqz_model_load(path, &ref, &E) || sqz_model_load(path, &opt, &E) || sqz_graph_prepare(ref, &E) ||
            sqz_graph_prepare_inference(opt, &E) || ref->n_inputs > 8)
            ok = 0; /* unsupported models are the conformance runner's business */
        for (; ok && nx < ref->n_inputs; nx++) {
            snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", dir, e->d_name, nx);
            if (sqz_onnx_load_tensor(path, &x[nx], &E)) {
                ok = 0;
                break;
            }
            free(x[nx].name); /* bind by position */
            x[nx].name = NULL;
        }
        if (ok) {
            const sqz_tensor *in[8];
            for (int i = 0; i < nx; i++) in[i] = &x[i];
            sqz_session *probe = NULL; /* inputs the runtime rejects (e.g. sequences) are skipped */
            sqz_err pe;
            if (!sqz_session_new(ref, NULL, &probe, &pe) && !sqz_session_run(probe, nx, in, &pe)) {
                compare_runs(ref, opt, nx, in, 1e-5, e->d_name);
                models++;
            }
            sqz_session_free(probe);
        }
        for (int i = 0; i < nx; i++) sqz_tensor_release(&x[i]);
        sqz_graph_free(ref);
        sqz_graph_free(opt);
    }
    closedir(d);
    return models;
}

static void test_conformance_models(void) {
    const char *root = "/usr/share/libonnx-testdata/data", *suites[] = {"node", "pytorch-converted",
                                                                          "pytorch-operator", "simple"};
    char dir[512];
    int models = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, suites[i]);
        models += run_suite(dir);
    }
    if (!models) {
        printf("skipping conformance models: nothing under %s\n", root);
        return;
    }
    CHECK_MSG(models >= 100, "only %d conformance models ran", models);
    printf("%d conformance models agree with and without the optimizer\n", models);
}

int main(void) {
    test_small_graphs();
    test_idempotent();
    test_conformance_models();
    TEST_MAIN_END();
}
