/* tests/unit/test_fuse.c - activation fusion in sessions (a fake op that honours c->act,
 * followed by real Relu / Clip nodes), fused vs unfused runs bit for bit, memory, and the
 * per-node profile. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;

/* TAffine: y = 1.5 * x - (i % 5) * 0.75, with the fused clamp as its epilogue. */
static sqz_status aff_infer(sqz_opctx *c) {
    if (c->in[0]->dtype != SQZ_DT_F32) return sqz_err_set(c->err, SQZ_ERR_DATA, "TAffine wants f32");
    sqz_op_set_shape(c->out[0], SQZ_DT_F32, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}
static int aff_fused_calls;
static sqz_status aff_forward(sqz_opctx *c) {
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t n = sqz_tensor_numel(c->out[0]);
    for (int64_t i = 0; i < n; i++) {
        float v = 1.5f * x[i] - (float)(i % 5) * 0.75f;
        if (c->act) {
            v = v < c->act_lo ? c->act_lo : v;
            v = v > c->act_hi ? c->act_hi : v;
        }
        y[i] = v;
    }
    aff_fused_calls += c->act != 0;
    return SQZ_OK;
}
static const sqz_op fake_affine = {.name = "TAffine", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1,
                                   .n_out_max = 1, .infer = aff_infer, .forward = aff_forward, .fuse_act = 1};

static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d) {
    int t = sqz_graph_add_tensor(g, name, dt, ndim, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}
static int act(sqz_graph *g, const char *name) { return tens(g, name, SQZ_DT_UNDEF, -1, NULL); }

static int scalar(sqz_graph *g, const char *name, float v) {
    int t = tens(g, name, SQZ_DT_F32, 0, NULL);
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], &v, sizeof v, &E), &E);
    return t;
}

static int node(sqz_graph *g, const char *op, const char *name, int n_in, const int *in, int out,
                const sqz_op *f) {
    int k = sqz_graph_add_node(g, op, name, n_in, in, 1, &out, &E);
    CHECK_MSG(k >= 0, "add node %s: %s", name, E.msg);
    if (k >= 0 && f) g->nodes[k]->op = f;
    return k;
}

/* x -> A1 -> Relu -> A2 -> Clip(-1, 2) -> A3 -> p3 -> Relu -> r3
 *                                              p3 -> Add(r3, p3) -> A4 -> Clip(max only) -> out1
 *   x -> A5 -> Relu -> out2 (graph output: fused, the Relu output is the graph's)
 *   x -> A6 -> p6 (graph output) -> Relu -> out3 (not fused)
 * Node indices: 0 a1, 1 relu1, 2 a2, 3 clip2, 4 a3, 5 relu3, 6 add, 7 a4, 8 clip4,
 * 9 a5, 10 relu5, 11 a6, 12 relu6. */
static sqz_graph *build(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[2] = {-1, 7};
    int x = tens(g, "x", SQZ_DT_F32, 2, xd);
    sqz_graph_add_input(g, x, &E);
    const char *names[] = {"p1", "r1", "p2", "r2", "p3", "r3", "s", "p4", "out1", "p5", "out2", "p6", "out3"};
    int t[13];
    for (int i = 0; i < 13; i++) t[i] = act(g, names[i]);
    int lo = scalar(g, "lo", -1.0f), hi = scalar(g, "hi", 2.0f), hi4 = scalar(g, "hi4", 3.0f);
    node(g, "TAffine", "a1", 1, &x, t[0], &fake_affine);
    node(g, "Relu", "relu1", 1, &t[0], t[1], NULL);
    node(g, "TAffine", "a2", 1, &t[1], t[2], &fake_affine);
    node(g, "Clip", "clip2", 3, (int[]){t[2], lo, hi}, t[3], NULL);
    node(g, "TAffine", "a3", 1, &t[3], t[4], &fake_affine);
    node(g, "Relu", "relu3", 1, &t[4], t[5], NULL);
    node(g, "Add", "add", 2, (int[]){t[5], t[4]}, t[6], NULL);
    node(g, "TAffine", "a4", 1, &t[6], t[7], &fake_affine);
    node(g, "Clip", "clip4", 3, (int[]){t[7], -1, hi4}, t[8], NULL);
    node(g, "TAffine", "a5", 1, &x, t[9], &fake_affine);
    node(g, "Relu", "relu5", 1, &t[9], t[10], NULL);
    node(g, "TAffine", "a6", 1, &x, t[11], &fake_affine);
    node(g, "Relu", "relu6", 1, &t[11], t[12], NULL);
    sqz_graph_add_output(g, t[8], &E);
    sqz_graph_add_output(g, t[10], &E);
    sqz_graph_add_output(g, t[11], &E);
    sqz_graph_add_output(g, t[12], &E);
    CHECK_OK(sqz_graph_resolve_ops(g, &E), &E);
    CHECK_OK(sqz_graph_infer_shapes(g, &E), &E);
    return g;
}

static sqz_tensor input(int batch) {
    sqz_tensor x;
    int64_t d[2] = {batch, 7};
    sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 2, d, &E);
    for (int i = 0; i < batch * 7; i++) ((float *)x.data)[i] = (float)((i * 13) % 17) / 4.0f - 2.0f;
    return x;
}

static void test_plan(void) {
    sqz_graph *g = build();
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (!s) return;
    const int want[13] = {1, 2, 1, 2, 0, 0, 0, 1, 2, 1, 2, 0, 0};
    for (int k = 0; k < 13; k++)
        CHECK_MSG(sqz_session_fused(s, k) == want[k], "node %d (%s): fused %d, want %d", k, g->nodes[k]->name,
                  sqz_session_fused(s, k), want[k]);
    CHECK(sqz_session_fused(s, 99) == 0 && sqz_session_fused(NULL, 0) == 0);
    sqz_session_free(s);
    /* keep_all and no_fuse turn fusion off */
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.keep_all = 1}, &s, &E), &E);
    for (int k = 0; s && k < 13; k++) CHECK(sqz_session_fused(s, k) == 0);
    sqz_session_free(s);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_fuse = 1}, &s, &E), &E);
    for (int k = 0; s && k < 13; k++) CHECK(sqz_session_fused(s, k) == 0);
    sqz_session_free(s);
    sqz_graph_free(g);
}

/* Fused and unfused sessions agree bit for bit, across batch sizes and planner modes. */
static void test_same_bits(void) {
    sqz_graph *g = build();
    sqz_session *f = NULL, *u = NULL, *fr = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &f, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_fuse = 1}, &u, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_reuse = 1, .threads = 2}, &fr, &E), &E);
    if (!f || !u || !fr) goto out;
    int batches[4] = {3, 1, 8, 3};
    for (int bi = 0; bi < 4; bi++) {
        sqz_tensor x = input(batches[bi]);
        const sqz_tensor *in[1] = {&x};
        aff_fused_calls = 0;
        CHECK_OK(sqz_session_run(f, 1, in, &E), &E);
        CHECK(aff_fused_calls == 4);
        CHECK_OK(sqz_session_run(u, 1, in, &E), &E);
        CHECK_OK(sqz_session_run(fr, 1, in, &E), &E);
        CHECK(sqz_session_n_outputs(f) == 4);
        for (int i = 0; i < 4; i++) {
            const sqz_tensor *a = sqz_session_output(f, i), *b = sqz_session_output(u, i),
                             *c = sqz_session_output(fr, i);
            CHECK_MSG(a && b && c, "output %d missing", i);
            if (!a || !b || !c) continue;
            CHECK(a->nbytes == b->nbytes && c->nbytes == b->nbytes && a->dims[0] == batches[bi]);
            CHECK_MSG(!memcmp(a->data, b->data, b->nbytes) && !memcmp(c->data, b->data, b->nbytes),
                      "output %d differs at batch %d", i, batches[bi]);
            CHECK(!strcmp(a->name, b->name));
        }
        /* the clip bounds really applied */
        const float *o1 = sqz_session_output(f, 0)->data;
        for (int i = 0; i < batches[bi] * 7; i++) CHECK(o1[i] <= 3.0f);
        sqz_tensor_release(&x);
    }
    /* an alias keeps one buffer where the unfused run needs two */
    CHECK(sqz_session_peak_bytes(f) <= sqz_session_peak_bytes(u));
    CHECK(sqz_session_arena_bytes(f) <= sqz_session_arena_bytes(u));
out:
    sqz_session_free(f);
    sqz_session_free(u);
    sqz_session_free(fr);
    sqz_graph_free(g);
}

/* Opset < 11 Clip takes its bounds from attributes; a Clip with a non-constant bound stays. */
static void test_clip_variants(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 9;
    int64_t xd[2] = {2, 7};
    int x = tens(g, "x", SQZ_DT_F32, 2, xd), p = act(g, "p"), y = act(g, "y");
    sqz_graph_add_input(g, x, &E);
    node(g, "TAffine", "a", 1, &x, p, &fake_affine);
    int k = node(g, "Clip", "clip", 1, &p, y, NULL);
    sqz_attr *a = sqz_node_add_attr(g, g->nodes[k], "min", SQZ_ATTR_FLOAT);
    a->f = 0.5f;
    a = sqz_node_add_attr(g, g->nodes[k], "max", SQZ_ATTR_FLOAT);
    a->f = 1.25f;
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_graph_resolve_ops(g, &E), &E);
    CHECK_OK(sqz_graph_infer_shapes(g, &E), &E);
    sqz_session *f = NULL, *u = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &f, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_fuse = 1}, &u, &E), &E);
    if (f && u) {
        CHECK(sqz_session_fused(f, 0) == 1 && sqz_session_fused(f, 1) == 2);
        sqz_tensor xt = input(2);
        const sqz_tensor *in[1] = {&xt};
        CHECK_OK(sqz_session_run(f, 1, in, &E), &E);
        CHECK_OK(sqz_session_run(u, 1, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(f, 0), *r = sqz_session_output(u, 0);
        CHECK(o && r && o->nbytes == r->nbytes && !memcmp(o->data, r->data, r->nbytes));
        sqz_tensor_release(&xt);
    }
    sqz_session_free(f);
    sqz_session_free(u);
    sqz_graph_free(g);

    /* Clip whose max is a graph input: not fused */
    g = sqz_graph_new();
    g->opset = 13;
    x = tens(g, "x", SQZ_DT_F32, 2, xd);
    int m = tens(g, "m", SQZ_DT_F32, 0, NULL);
    p = act(g, "p");
    y = act(g, "y");
    sqz_graph_add_input(g, x, &E);
    sqz_graph_add_input(g, m, &E);
    node(g, "TAffine", "a", 1, &x, p, &fake_affine);
    node(g, "Clip", "clip", 3, (int[]){p, -1, m}, y, NULL);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_graph_resolve_ops(g, &E), &E);
    CHECK_OK(sqz_graph_infer_shapes(g, &E), &E);
    CHECK_OK(sqz_session_new(g, NULL, &f, &E), &E);
    CHECK(f && sqz_session_fused(f, 0) == 0 && sqz_session_fused(f, 1) == 0);
    sqz_session_free(f);
    sqz_graph_free(g);
}

static void test_profile(void) {
    sqz_graph *g = build();
    sqz_session *s = NULL, *np = NULL;
    double ms = -1;
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.profile = 1}, &s, &E), &E);
    CHECK_OK(sqz_session_new(g, NULL, &np, &E), &E);
    if (!s || !np) goto out;
    CHECK(sqz_session_profile(s, 0, &ms) == SQZ_OK && ms == 0.0);
    sqz_tensor x = input(64);
    const sqz_tensor *in[1] = {&x};
    for (int r = 0; r < 3; r++) CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    CHECK(sqz_session_profile_runs(s) == 3);
    double total = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        CHECK(sqz_session_profile(s, k, &ms) == SQZ_OK && ms >= 0 && ms < 1e4);
        total += ms;
        if (sqz_session_fused(s, k) == 2) CHECK(ms == 0.0);
    }
    CHECK(total > 0);
    sqz_session_profile_reset(s);
    CHECK(sqz_session_profile_runs(s) == 0 && sqz_session_profile(s, 0, &ms) == SQZ_OK && ms == 0.0);
    CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    CHECK(sqz_session_profile_runs(s) == 1);
    CHECK(sqz_session_profile(s, -1, &ms) == SQZ_ERR_ARG);
    CHECK(sqz_session_profile(s, g->n_nodes, &ms) == SQZ_ERR_ARG);
    CHECK(sqz_session_profile(np, 0, &ms) == SQZ_ERR_ARG && sqz_session_profile_runs(np) == 0);
    sqz_tensor_release(&x);
out:
    sqz_session_free(s);
    sqz_session_free(np);
    sqz_graph_free(g);
}

int main(void) {
    test_plan();
    test_same_bits();
    test_clip_variants();
    test_profile();
    TEST_MAIN_END();
}
