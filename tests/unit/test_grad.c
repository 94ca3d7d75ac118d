/* tests/unit/test_grad.c - finite-difference checks of every gradient the tape knows, on small
 * random graphs: L = sum(Y .* R) for a fixed random R, central differences in double with the
 * tape's own f32 forward, relative error ||num - ana|| / max(||num||, ||ana||). Inputs of ops
 * with kinks (Relu, Clip, MaxPool, HardSwish) are drawn away from the kinks. Also: BatchNorm
 * running statistics, Dropout masks, masks and fake quantization (STE), determinism and buffer
 * reuse across steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "sqz/analysis.h"
#include "sqz/graph.h"
#include "test.h"
#include "train/autograd.h"
#include "train/grad_vec.h"

static sqz_err E;
static sqz_rng R;

/* ---- graph building ---- */
static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int nd, const int64_t *d) {
    int t = sqz_graph_add_tensor(g, name, dt, nd, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}
static int act(sqz_graph *g, const char *name) { return tens(g, name, SQZ_DT_UNDEF, -1, NULL); }
static int input(sqz_graph *g, const char *name, int nd, const int64_t *d) {
    int t = tens(g, name, SQZ_DT_F32, nd, d);
    sqz_graph_add_input(g, t, &E);
    return t;
}
static int init_vals(sqz_graph *g, const char *name, sqz_dtype dt, int nd, const int64_t *d, const void *v) {
    int t = tens(g, name, dt, nd, d);
    int64_t n = sqz_tensor_numel(g->tensors[t]);
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], v, sqz_dtype_size(dt) * (size_t)n, &E), &E);
    return t;
}
/* f32 initializer uniform in [lo, hi) */
static int param(sqz_graph *g, const char *name, int nd, const int64_t *d, float lo, float hi) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * sqz_rng_uniform(&R);
    int t = init_vals(g, name, SQZ_DT_F32, nd, d, v);
    free(v);
    return t;
}
static int i64s(sqz_graph *g, const char *name, int n, const int64_t *v) {
    int64_t d = n;
    return init_vals(g, name, SQZ_DT_I64, 1, &d, v);
}
static sqz_node *node(sqz_graph *g, const char *op, int n_in, const int *in, int n_out, const int *out) {
    char name[64];
    snprintf(name, sizeof name, "n%d_%s", g->n_nodes, op);
    int k = sqz_graph_add_node(g, op, name, n_in, in, n_out, out, &E);
    CHECK_MSG(k >= 0, "add node %s: %s", op, E.msg);
    return k >= 0 ? g->nodes[k] : NULL;
}
static void attr_i(sqz_graph *g, sqz_node *n, const char *name, int64_t v) { sqz_node_add_attr(g, n, name, SQZ_ATTR_INT)->i = v; }
static void attr_f(sqz_graph *g, sqz_node *n, const char *name, float v) { sqz_node_add_attr(g, n, name, SQZ_ATTR_FLOAT)->f = v; }
static void attr_ints(sqz_graph *g, sqz_node *n, const char *name, int cnt, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(g, n, name, SQZ_ATTR_INTS);
    a->n = cnt;
    a->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * (size_t)cnt, 8);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}
static sqz_graph *new_graph(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 17;
    return g;
}

/* ---- the checker ---- */
typedef enum { X_UNIFORM, X_AWAY0, X_DISTINCT, X_CLIP6, X_SWISH } xkind;

static sqz_tensor make_x(int nd, const int64_t *d, xkind k) {
    sqz_tensor x;
    sqz_tensor_init_owned(&x, "", SQZ_DT_F32, nd, d, &E);
    int64_t n = sqz_tensor_numel(&x);
    float *v = x.data;
    for (int64_t i = 0; i < n; i++) {
        float u = sqz_rng_uniform(&R);
        switch (k) {
        case X_UNIFORM: v[i] = 2.0f * u - 1.0f; break;
        case X_AWAY0: v[i] = (u < 0.5f ? -1.0f : 1.0f) * (0.1f + 0.9f * sqz_rng_uniform(&R)); break;
        case X_DISTINCT: v[i] = 0.01f * (float)i - 0.005f * (float)n; break;
        case X_CLIP6: v[i] = -2.0f + 10.0f * u; if (fabsf(v[i]) < 0.1f || fabsf(v[i] - 6.0f) < 0.1f) v[i] += 0.25f; break;
        case X_SWISH: v[i] = -5.0f + 10.0f * u; if (fabsf(fabsf(v[i]) - 3.0f) < 0.1f) v[i] += 0.25f; break;
        }
    }
    if (k == X_DISTINCT) /* shuffle so windows see maxima anywhere */
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)sqz_rng_below(&R, (uint32_t)(i + 1));
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
    return x;
}

static int g_training = 1;

static double eval_loss(sqz_graph *g, const sqz_tensor *x, const float *r) {
    sqz_tape_opts o = {.threads = 1, .training = g_training, .seed = 99, .poison = 1};
    sqz_tape *t = NULL;
    double L = NAN;
    if (sqz_tape_new(g, &o, &t, &E)) return NAN;
    const sqz_tensor *in[1] = {x};
    if (!sqz_tape_forward(t, 1, in, &E)) {
        const sqz_tensor *y = sqz_tape_output(t, 0);
        int64_t n = sqz_tensor_numel(y);
        L = 0;
        for (int64_t i = 0; i < n; i++) L += (double)((const float *)y->data)[i] * r[i];
    }
    sqz_tape_free(t);
    return L;
}

/* Compares ana[idx] with central differences of eval_loss while perturbing v[idx]. */
static double compare(sqz_graph *g, const sqz_tensor *x, const float *r, float *v, const float *ana, int64_t n,
                      double eps) {
    double num2 = 0, ana2 = 0, diff2 = 0;
    int64_t step = n > 48 ? n / 48 : 1;
    for (int64_t i = 0; i < n; i += step) {
        const float keep = v[i];
        v[i] = keep + (float)eps;
        const double lp = eval_loss(g, x, r);
        v[i] = keep - (float)eps;
        const double lm = eval_loss(g, x, r);
        v[i] = keep;
        const double num = (lp - lm) / (2 * eps);
        num2 += num * num;
        ana2 += (double)ana[i] * ana[i];
        diff2 += (num - ana[i]) * (num - ana[i]);
    }
    double den = sqrt(num2 > ana2 ? num2 : ana2);
    return sqrt(diff2) / (den > 1e-3 ? den : 1e-3); /* gradients that vanish (a bias before BN) compare absolutely */
}

/* Prepares g, runs forward/backward on x and checks the input gradient and every parameter's. */
static void gradcheck(const char *label, sqz_graph *g, sqz_tensor *x, int expect_params) {
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    /* poison: a fresh gradient buffer an op fails to write whole shows up as NaN */
    sqz_tape_opts o = {.threads = 1, .training = g_training, .seed = 99, .poison = 1};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    if (!t) return;
    CHECK_MSG(sqz_tape_n_params(t) == expect_params, "%s: %d params, expected %d", label, sqz_tape_n_params(t),
              expect_params);
    sqz_tape_want_input_grad(t, 0, 1);
    const sqz_tensor *in[1] = {x};
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    const sqz_tensor *y = sqz_tape_output(t, 0);
    if (!y) {
        sqz_tape_free(t);
        return;
    }
    const int64_t ny = sqz_tensor_numel(y), nx = sqz_tensor_numel(x);
    float *r = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < ny; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
    sqz_tape_zero_grad(t);
    const float *dout[1] = {r};
    CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    const double tol = 1e-2, eps = 1e-3;
    const float *gx = sqz_tape_input_grad(t, 0);
    CHECK_MSG(gx != NULL, "%s: no input gradient", label);
    if (gx) {
        float *gxc = malloc(sizeof(float) * (size_t)nx);
        memcpy(gxc, gx, sizeof(float) * (size_t)nx);
        double e = compare(g, x, r, x->data, gxc, nx, eps);
        CHECK_MSG(e < tol, "%s: input gradient relative error %g", label, e);
        free(gxc);
    }
    for (int p = 0; p < sqz_tape_n_params(t); p++) {
        sqz_tensor *pt = sqz_tape_param(t, p);
        const int64_t n = sqz_tensor_numel(pt);
        float *gp = malloc(sizeof(float) * (size_t)n);
        memcpy(gp, sqz_tape_grad(t, p), sizeof(float) * (size_t)n);
        double e = compare(g, x, r, pt->data, gp, n, eps);
        CHECK_MSG(e < tol, "%s: gradient of '%s' relative error %g", label, pt->name, e);
        free(gp);
    }
    free(r);
    sqz_tape_free(t);
}

/* One-op graph: X -> op(X, extra inputs...) -> Y, checked. */
static void check_unary(const char *label, const char *op, int nd, const int64_t *d, xkind k,
                        void (*attrs)(sqz_graph *, sqz_node *)) {
    sqz_graph *g = new_graph();
    int x = input(g, "x", nd, d), y = act(g, "y");
    sqz_node *n = node(g, op, 1, &x, 1, &y);
    if (attrs) attrs(g, n);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(nd, d, k);
    gradcheck(label, g, &xv, 0);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

static void a_leaky(sqz_graph *g, sqz_node *n) { attr_f(g, n, "alpha", 0.1f); }
static void a_hsig(sqz_graph *g, sqz_node *n) { attr_f(g, n, "alpha", 0.25f); attr_f(g, n, "beta", 0.4f); }
static void a_axis1(sqz_graph *g, sqz_node *n) { attr_i(g, n, "axis", 1); }
static void a_axism1(sqz_graph *g, sqz_node *n) { attr_i(g, n, "axis", -1); }
static void a_pool2(sqz_graph *g, sqz_node *n) {
    attr_ints(g, n, "kernel_shape", 2, (int64_t[]){2, 2});
    attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
}
static void a_pool3p(sqz_graph *g, sqz_node *n) {
    attr_ints(g, n, "kernel_shape", 2, (int64_t[]){3, 3});
    attr_ints(g, n, "strides", 2, (int64_t[]){2, 1});
    attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 0});
}
static void a_pool3p_cip(sqz_graph *g, sqz_node *n) {
    a_pool3p(g, n);
    attr_i(g, n, "count_include_pad", 1);
}
static void a_perm(sqz_graph *g, sqz_node *n) { attr_ints(g, n, "perm", 3, (int64_t[]){2, 0, 1}); }
static void a_flat2(sqz_graph *g, sqz_node *n) { attr_i(g, n, "axis", 2); }
static void a_rm(sqz_graph *g, sqz_node *n) {
    attr_ints(g, n, "axes", 2, (int64_t[]){0, 2});
    attr_i(g, n, "keepdims", 0);
}

static void test_activations(void) {
    const int64_t d[2] = {3, 7}, d3[3] = {2, 5, 3};
    check_unary("Relu", "Relu", 2, d, X_AWAY0, NULL);
    check_unary("LeakyRelu", "LeakyRelu", 2, d, X_AWAY0, a_leaky);
    check_unary("Sigmoid", "Sigmoid", 2, d, X_UNIFORM, NULL);
    check_unary("Tanh", "Tanh", 2, d, X_UNIFORM, NULL);
    check_unary("HardSigmoid", "HardSigmoid", 2, d, X_SWISH, a_hsig);
    check_unary("HardSwish", "HardSwish", 2, d, X_SWISH, NULL);
    check_unary("Softmax axis1", "Softmax", 3, d3, X_UNIFORM, a_axis1);
    check_unary("Softmax last", "Softmax", 3, d3, X_UNIFORM, NULL);
    check_unary("LogSoftmax axis1", "LogSoftmax", 3, d3, X_UNIFORM, a_axis1);
    check_unary("LogSoftmax last", "LogSoftmax", 3, d3, X_UNIFORM, a_axism1);
    /* Clip as ReLU6 with min/max inputs */
    sqz_graph *g = new_graph();
    float lo = 0.0f, hi = 6.0f;
    int x = input(g, "x", 2, d), y = act(g, "y");
    int mn = init_vals(g, "mn", SQZ_DT_F32, 0, NULL, &lo), mx = init_vals(g, "mx", SQZ_DT_F32, 0, NULL, &hi);
    node(g, "Clip", 3, (int[]){x, mn, mx}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(2, d, X_CLIP6);
    gradcheck("Clip", g, &xv, 0);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

static void test_pool_shape(void) {
    const int64_t d4[4] = {2, 3, 6, 5}, d3[3] = {2, 3, 4}, d2[2] = {4, 6};
    check_unary("MaxPool 2x2", "MaxPool", 4, d4, X_DISTINCT, a_pool2);
    check_unary("MaxPool 3x3 pad", "MaxPool", 4, d4, X_DISTINCT, a_pool3p);
    const int64_t wide[4] = {1, 2, 4, 37}; /* 18 outputs a row: the 16-wide path and a tail */
    check_unary("MaxPool 2x2 wide", "MaxPool", 4, wide, X_DISTINCT, a_pool2);
    check_unary("AveragePool", "AveragePool", 4, d4, X_UNIFORM, a_pool3p);
    check_unary("AveragePool cip", "AveragePool", 4, d4, X_UNIFORM, a_pool3p_cip);
    check_unary("GlobalAveragePool", "GlobalAveragePool", 4, d4, X_UNIFORM, NULL);
    check_unary("Transpose", "Transpose", 3, d3, X_UNIFORM, a_perm);
    check_unary("Flatten", "Flatten", 4, d4, X_UNIFORM, a_flat2);
    check_unary("Identity", "Identity", 2, d2, X_UNIFORM, NULL);
    check_unary("ReduceMean", "ReduceMean", 3, d3, X_UNIFORM, a_rm);
    check_unary("ReduceMean all", "ReduceMean", 3, d3, X_UNIFORM, NULL);
    /* Reshape, Squeeze, Unsqueeze (opset 13 inputs) and Slice, then a multiply by a parameter */
    sqz_graph *g = new_graph();
    int x = input(g, "x", 2, d2), a = act(g, "a"), b = act(g, "b"), c = act(g, "c"), s = act(g, "s"), y = act(g, "y");
    int shp = i64s(g, "shp", 3, (int64_t[]){2, 1, 12}), ax = i64s(g, "ax", 1, (int64_t[]){1});
    int ax0 = i64s(g, "ax0", 1, (int64_t[]){0});
    node(g, "Reshape", 2, (int[]){x, shp}, 1, &a);
    node(g, "Squeeze", 2, (int[]){a, ax}, 1, &b);
    node(g, "Unsqueeze", 2, (int[]){b, ax0}, 1, &c);
    int st = i64s(g, "st", 2, (int64_t[]){1, -1}), en = i64s(g, "en", 2, (int64_t[]){2, 0});
    int axs = i64s(g, "axs", 2, (int64_t[]){1, 2}), sp = i64s(g, "sp", 2, (int64_t[]){1, -3});
    node(g, "Slice", 5, (int[]){c, st, en, axs, sp}, 1, &s); /* (1,1,4) */
    int p = param(g, "p", 3, (int64_t[]){1, 1, 4}, 0.5f, 1.5f);
    node(g, "Mul", 2, (int[]){s, p}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(2, d2, X_UNIFORM);
    gradcheck("Reshape/Squeeze/Unsqueeze/Slice/Mul", g, &xv, 1);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
    /* Split then Concat in the other order, with a parameter joined in */
    g = new_graph();
    x = input(g, "x", 2, (int64_t[]){3, 6});
    int p0 = act(g, "p0"), p1 = act(g, "p1");
    y = act(g, "y");
    int spl = i64s(g, "spl", 1 + 1, (int64_t[]){2, 4});
    sqz_node *n = node(g, "Split", 2, (int[]){x, spl}, 2, (int[]){p0, p1});
    attr_i(g, n, "axis", 1);
    int q = param(g, "q", 2, (int64_t[]){3, 2}, -1.0f, 1.0f), m = act(g, "m");
    node(g, "Mul", 2, (int[]){p0, q}, 1, &m);
    n = node(g, "Concat", 3, (int[]){p1, m, q}, 1, &y);
    attr_i(g, n, "axis", 1);
    sqz_graph_add_output(g, y, &E);
    xv = make_x(2, (int64_t[]){3, 6}, X_UNIFORM);
    gradcheck("Split/Concat", g, &xv, 1);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* X op P (or P op X) with broadcasting */
static void check_binary(const char *op, int nd, const int64_t *dx, int np, const int64_t *dp, int p_first,
                         float lo, float hi) {
    char label[96];
    snprintf(label, sizeof label, "%s %s rank %d vs %d", op, p_first ? "P,X" : "X,P", nd, np);
    sqz_graph *g = new_graph();
    int x = input(g, "x", nd, dx), y = act(g, "y");
    int p = param(g, "p", np, dp, lo, hi);
    node(g, op, 2, p_first ? (int[]){p, x} : (int[]){x, p}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(nd, dx, !strcmp(op, "Div") && p_first ? X_AWAY0 : !strcmp(op, "PRelu") ? X_AWAY0 : X_UNIFORM);
    if (!strcmp(op, "Div") && p_first)
        for (int64_t i = 0; i < sqz_tensor_numel(&xv); i++) ((float *)xv.data)[i] += ((float *)xv.data)[i] > 0 ? 1 : -1;
    gradcheck(label, g, &xv, 1);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

static void test_arith(void) {
    const int64_t d[3] = {2, 3, 4}, c31[2] = {3, 1}, c4[1] = {4}, full[3] = {2, 3, 4}, b1[3] = {2, 1, 4};
    const char *ops[4] = {"Add", "Sub", "Mul", "Div"};
    for (int k = 0; k < 4; k++) {
        check_binary(ops[k], 3, d, 2, c31, 0, 1.0f, 2.0f);
        check_binary(ops[k], 3, d, 1, c4, 1, 1.0f, 2.0f);
        check_binary(ops[k], 3, d, 3, b1, 0, 1.0f, 2.0f);
    }
    check_binary("Mul", 3, d, 3, full, 0, -1.0f, 1.0f);
    check_binary("PRelu", 3, d, 2, c31, 0, 0.1f, 0.5f);
    /* both operands activations, broadcast both ways: (x * s) + relu(x)[.., :1] style */
    sqz_graph *g = new_graph();
    int x = input(g, "x", 3, d), a = act(g, "a"), y = act(g, "y");
    int rm = act(g, "rm"), axes = i64s(g, "axes", 1, (int64_t[]){2});
    node(g, "Sigmoid", 1, &x, 1, &a);
    sqz_node *n = node(g, "ReduceMean", 2, (int[]){a, axes}, 1, &rm); /* (2,3,1) */
    (void)n;
    g->opset = 18;
    node(g, "Mul", 2, (int[]){x, rm}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(3, d, X_UNIFORM);
    gradcheck("Mul of two activations with broadcast", g, &xv, 0);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* Gradient buffers handed to a backward unzeroed (ops that store): a tensor read by two such ops
 * (the first stores, the second accumulates) and through both inputs of one node (zeroed: both
 * slots accumulate), with NaN-poisoned fresh buffers (gradcheck), so a missed write shows. */
static void test_fresh_grads(void) {
    const int64_t d[4] = {2, 3, 4, 5};
    sqz_graph *g = new_graph();
    int x = input(g, "x", 4, d), a = act(g, "a"), s = act(g, "s"), u = act(g, "u"), y = act(g, "y");
    node(g, "Relu", 1, &x, 1, &a);
    node(g, "Add", 2, (int[]){a, a}, 1, &s);
    node(g, "Sub", 2, (int[]){s, a}, 1, &u);
    node(g, "Flatten", 1, &u, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(4, d, X_AWAY0);
    gradcheck("Relu read by Add(a, a) and Sub(s, a), Flatten", g, &xv, 0);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

typedef struct conv_case {
    const char *label;
    int nsp;
    int64_t N, C, M, group;
    int64_t in[3], k[3], stride[3], dil[3], pads[6];
    int bias;
} conv_case;

static void check_conv(const conv_case *cc) {
    sqz_graph *g = new_graph();
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->group};
    for (int i = 0; i < cc->nsp; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
    }
    int x = input(g, "x", 2 + cc->nsp, xd), y = act(g, "y");
    int w = param(g, "w", 2 + cc->nsp, wd, -0.5f, 0.5f);
    int b = cc->bias ? param(g, "b", 1, &cc->M, -0.5f, 0.5f) : -1;
    sqz_node *n = node(g, "Conv", cc->bias ? 3 : 2, (int[]){x, w, b}, 1, &y);
    attr_i(g, n, "group", cc->group);
    attr_ints(g, n, "strides", cc->nsp, cc->stride);
    attr_ints(g, n, "dilations", cc->nsp, cc->dil);
    attr_ints(g, n, "pads", 2 * cc->nsp, cc->pads);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(2 + cc->nsp, xd, X_UNIFORM);
    gradcheck(cc->label, g, &xv, cc->bias ? 2 : 1);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

static void test_conv(void) {
    static const conv_case cases[] = {
        {"conv 3x3 pad1", 2, 2, 3, 4, 1, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv groups=2 stride2 asym pad", 2, 2, 4, 6, 2, {7, 6}, {3, 2}, {2, 2}, {1, 1}, {1, 0, 0, 1}, 1},
        {"conv depthwise dil2", 2, 2, 4, 8, 4, {7, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, 1},
        {"conv depthwise stride2", 2, 1, 3, 3, 3, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0},
        /* stride 2, wide enough for whole 16-column chunks: AVX-512 dW and dx at stride 2 */
        {"conv depthwise 3x3 stride2 wide", 2, 2, 3, 3, 3, {9, 45}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv depthwise 5x5 stride2 asym pad", 2, 1, 2, 2, 2, {8, 38}, {5, 5}, {2, 2}, {1, 1}, {2, 1, 1, 2}, 0},
        {"conv depthwise 3x3 pad1 (flipped-kernel dx)", 2, 2, 3, 3, 3, {6, 19}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv depthwise 5x5 asym pad, multiplier 2", 2, 2, 2, 4, 2, {7, 6}, {5, 5}, {1, 1}, {1, 1}, {2, 1, 0, 2}, 1},
        /* dW from shifted windows, 3 images in one call, each image's dot products shorter than a vector */
        {"conv 2x2 few-channel tiny (dW dot products < 16)", 2, 3, 2, 5, 1, {3, 4}, {2, 2}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},
        {"conv pointwise", 2, 2, 5, 3, 1, {4, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},
        {"conv 1d", 1, 2, 3, 2, 1, {9}, {3}, {2}, {2}, {1, 2}, 1},
        {"conv 3d", 3, 1, 2, 2, 1, {4, 3, 4}, {2, 2, 3}, {1, 2, 1}, {1, 1, 1}, {0, 1, 1, 1, 0, 1}, 0},
        {"conv 1d depthwise (generic path)", 1, 2, 2, 4, 2, {8}, {3}, {1}, {1}, {1, 1}, 1},
        /* wide enough for the implicit-GEMM kernels (AVX-512) in forward and in dx */
        {"conv 3x3 pad1 (implicit GEMM)", 2, 2, 6, 7, 1, {9, 12}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv groups=2 dil2 asym pad (implicit GEMM)", 2, 1, 10, 12, 2, {10, 16}, {3, 3}, {1, 1}, {2, 2}, {2, 1, 1, 3}, 0},
        {"conv 3x3 pad3 (implicit dx with negative pads)", 2, 1, 5, 6, 1, {8, 10}, {3, 3}, {1, 1}, {1, 1}, {3, 3, 3, 3}, 1},
        /* at least 8 input channels per group: dW by kernel taps on a channels-last copy (AVX-512) */
        {"conv 3x3 cg=20 (dW by taps)", 2, 2, 20, 9, 1, {8, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv groups=2 cg=8 dil asym pad (dW by taps)", 2, 2, 16, 6, 2, {9, 11}, {3, 2}, {1, 1}, {2, 1}, {1, 2, 2, 0}, 0},
        /* strided: dW taps on phase planes */
        {"conv 3x3 stride2 cg=12 (dW by taps, phases)", 2, 2, 12, 10, 1, {15, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
        {"conv 3x3 stride2 cg=17 wide rows (dW by taps, phases)", 2, 1, 17, 9, 1, {7, 45}, {3, 3}, {2, 2}, {1, 1}, {2, 1, 0, 2}, 0},
        {"conv groups=2 cg=8 stride (2,1) dil2 (dW by taps, phases)", 2, 1, 16, 6, 2, {13, 12}, {3, 3}, {2, 1}, {2, 2}, {2, 1, 1, 2}, 0},
        {"conv 1x1 stride2 cg=9 (dW by taps, phases)", 2, 2, 9, 7, 1, {12, 16}, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1},
        /* strided 1x1, odd sizes: dx written whole into a fresh buffer, zeros between */
        {"conv 1x1 stride (2,3) odd sizes (strided dx)", 2, 3, 4, 5, 1, {13, 11}, {1, 1}, {2, 3}, {1, 1}, {0, 0, 0, 0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_conv(&cases[i]);
}

/* A conv's input also read by an Add (a residual): the input gradient of the conv must be added
 * to the Add's, not written over it (x = z * s, y = conv(x) + x; the grad of s sees both); 16
 * channels, so dx runs through the implicit GEMM's transposed tiles on AVX-512 */
static void test_conv_residual(void) {
    sqz_graph *g = new_graph();
    const int64_t zd[4] = {2, 16, 9, 10}, sd[4] = {1, 16, 1, 1}, wd[4] = {16, 16, 3, 3};
    int z = input(g, "z", 4, zd), x = act(g, "x"), c = act(g, "c"), y = act(g, "y");
    int s = param(g, "s", 4, sd, 0.5f, 1.5f), w = param(g, "w", 4, wd, -0.3f, 0.3f);
    node(g, "Mul", 2, (int[]){z, s}, 1, &x);
    sqz_node *n = node(g, "Conv", 2, (int[]){x, w}, 1, &c);
    attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    node(g, "Add", 2, (int[]){c, x}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor zv = make_x(4, zd, X_UNIFORM);
    gradcheck("conv + residual (dx accumulates)", g, &zv, 2);
    sqz_tensor_release(&zv);
    sqz_graph_free(g);
}

static void test_gemm_matmul(void) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t M = 3, K = 5, N = 4;
            sqz_graph *g = new_graph();
            int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
            int64_t cd[2] = {M, N};
            int a = input(g, "a", 2, ad), y = act(g, "y");
            int b = param(g, "b", 2, bd, -1.0f, 1.0f);
            int c = ta ? param(g, "c", 1, &cd[1], -1.0f, 1.0f) : param(g, "c", 2, (int64_t[]){M, 1}, -1.0f, 1.0f);
            sqz_node *n = node(g, "Gemm", 3, (int[]){a, b, c}, 1, &y);
            attr_i(g, n, "transA", ta);
            attr_i(g, n, "transB", tb);
            attr_f(g, n, "alpha", 0.7f);
            attr_f(g, n, "beta", tb ? 1.0f : 1.3f);
            sqz_graph_add_output(g, y, &E);
            sqz_tensor xv = make_x(2, ad, X_UNIFORM);
            char label[64];
            snprintf(label, sizeof label, "Gemm transA=%d transB=%d", ta, tb);
            gradcheck(label, g, &xv, 2);
            sqz_tensor_release(&xv);
            sqz_graph_free(g);
        }
    /* MatMul: (3,2,5) x (5,4) shared; (2,3,5) x (2,5,4) batched; (1,2,3) x (2,3,4) broadcast A; 1-D B */
    struct {
        int na, nb;
        int64_t ad[3], bd[3];
        int x_is_a;
    } mm[] = {
        {3, 2, {3, 2, 5}, {5, 4}, 1},
        {3, 3, {2, 3, 5}, {2, 5, 4}, 1},
        {3, 3, {1, 2, 3}, {2, 3, 4}, 0},
        {2, 1, {3, 5}, {5}, 1},
        {1, 2, {5}, {5, 3}, 0},
    };
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        sqz_graph *g = new_graph();
        int a, b, y = act(g, "y");
        if (mm[i].x_is_a) {
            a = input(g, "a", mm[i].na, mm[i].ad);
            b = param(g, "b", mm[i].nb, mm[i].bd, -1.0f, 1.0f);
        } else {
            b = input(g, "b", mm[i].nb, mm[i].bd);
            a = param(g, "a", mm[i].na, mm[i].ad, -1.0f, 1.0f);
        }
        node(g, "MatMul", 2, (int[]){a, b}, 1, &y);
        sqz_graph_add_output(g, y, &E);
        sqz_tensor xv = mm[i].x_is_a ? make_x(mm[i].na, mm[i].ad, X_UNIFORM) : make_x(mm[i].nb, mm[i].bd, X_UNIFORM);
        char label[64];
        snprintf(label, sizeof label, "MatMul case %zu", i);
        gradcheck(label, g, &xv, 1);
        sqz_tensor_release(&xv);
        sqz_graph_free(g);
    }
}

/* BatchNormalization graph: x (N,C,H,W) -> BN -> y; returns the tensor indices of mean and var. */
static sqz_graph *bn_graph(const int64_t *d, int *mean_t, int *var_t, float momentum) {
    sqz_graph *g = new_graph();
    int x = input(g, "x", 4, d), y = act(g, "y");
    int64_t C = d[1];
    int s = param(g, "scale", 1, &C, 0.5f, 1.5f), b = param(g, "bias", 1, &C, -0.5f, 0.5f);
    int m = param(g, "mean", 1, &C, -0.2f, 0.2f), v = param(g, "var", 1, &C, 0.5f, 1.5f);
    sqz_node *n = node(g, "BatchNormalization", 5, (int[]){x, s, b, m, v}, 1, &y);
    attr_f(g, n, "momentum", momentum);
    attr_f(g, n, "epsilon", 1e-3f);
    sqz_graph_add_output(g, y, &E);
    *mean_t = m;
    *var_t = v;
    return g;
}

static void test_batchnorm(void) {
    const int64_t d[4] = {3, 4, 3, 2};
    int mt, vt;
    for (int tr = 1; tr >= 0; tr--) {
        g_training = tr;
        sqz_graph *g = bn_graph(d, &mt, &vt, 0.9f);
        sqz_tensor xv = make_x(4, d, X_UNIFORM);
        gradcheck(tr ? "BatchNorm training" : "BatchNorm inference", g, &xv, 2);
        sqz_tensor_release(&xv);
        sqz_graph_free(g);
    }
    g_training = 1;
    /* running statistics: running = m * running + (1 - m) * batch, unbiased variance */
    sqz_graph *g = bn_graph(d, &mt, &vt, 0.8f);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    float m0[4], v0[4];
    memcpy(m0, g->tensors[mt]->data, sizeof m0);
    memcpy(v0, g->tensors[vt]->data, sizeof v0);
    sqz_tensor xv = make_x(4, d, X_UNIFORM);
    sqz_tape_opts o = {.threads = 1, .training = 1, .seed = 1};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    const sqz_tensor *in[1] = {&xv};
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    const float *xs = xv.data, *rm = g->tensors[mt]->data, *rv = g->tensors[vt]->data;
    for (int c = 0; c < 4; c++) {
        double s = 0, s2 = 0;
        int m = 0;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 6; i++, m++) s += xs[(n * 4 + c) * 6 + i];
        double mu = s / m;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 6; i++) s2 += (xs[(n * 4 + c) * 6 + i] - mu) * (xs[(n * 4 + c) * 6 + i] - mu);
        CHECK_NEAR(rm[c], 0.8 * m0[c] + 0.2 * mu, 1e-5);
        CHECK_NEAR(rv[c], 0.8 * v0[c] + 0.2 * s2 / (m - 1), 1e-5);
    }
    /* inference mode leaves them alone */
    float m1[4];
    memcpy(m1, rm, sizeof m1);
    sqz_tape_set_training(t, 0);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    CHECK(memcmp(m1, rm, sizeof m1) == 0);
    sqz_tape_free(t);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* ---- BatchNormalization -> Relu / Clip, fused by the tape ---- */
/* y = Relu(b), or Clip(b) to [-0.25, 0.8] (constant bounds), as the graph's output. */
static void act_output(sqz_graph *g, int b, int y, int clip) {
    if (clip) {
        const float lo = -0.25f, hi = 0.8f;
        int tl = init_vals(g, "lo", SQZ_DT_F32, 0, NULL, &lo), th = init_vals(g, "hi", SQZ_DT_F32, 0, NULL, &hi);
        node(g, "Clip", 3, (int[]){b, tl, th}, 1, &y);
    } else {
        node(g, "Relu", 1, &b, 1, &y);
    }
    sqz_graph_add_output(g, y, &E);
}

static sqz_graph *bn_act_graph(const int64_t *d, int clip) {
    sqz_graph *g = new_graph();
    int x = input(g, "x", 4, d), b = act(g, "b"), y = act(g, "y");
    int64_t C = d[1];
    int s = param(g, "scale", 1, &C, 0.5f, 1.5f), bi = param(g, "bias", 1, &C, -0.5f, 0.5f);
    int m = param(g, "mean", 1, &C, -0.2f, 0.2f), v = param(g, "var", 1, &C, 0.5f, 1.5f);
    sqz_node *n = node(g, "BatchNormalization", 5, (int[]){x, s, bi, m, v}, 1, &b);
    attr_f(g, n, "epsilon", 1e-3f);
    act_output(g, b, y, clip);
    return g;
}

/* Runs one step of g (fused or not) and appends to out: the output y, the values named in vals
 * (NULL-terminated; deferred ones recomputed on request), dx of input 0 and the parameter
 * gradients; with seed_name also seeds that value's gradient with rs. Every
 * BatchNormalization's running statistics are put back afterwards. */
static int64_t fused_step(sqz_graph *g, int no_fuse, int training, int n_in, const sqz_tensor *const *in,
                          const char *const *vals, const float *r, const char *seed_name, const float *rs, float *out) {
    sqz_tape_opts o = {.threads = 1, .training = training, .seed = 5, .no_fuse = no_fuse, .poison = 1};
    sqz_tape *t = NULL;
    int64_t k = 0;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    if (!t) return 0;
    enum { MAXRUN = 8 };
    float keep[MAXRUN][64];
    sqz_tensor *run[MAXRUN];
    int nrun = 0;
    for (int q = 0; q < g->n_nodes; q++) {
        const sqz_node *bn = g->nodes[q];
        if (strcmp(bn->op_type, "BatchNormalization") || bn->n_in < 5) continue;
        for (int i = 3; i < 5 && nrun < MAXRUN; i++) {
            run[nrun] = g->tensors[bn->in[i]];
            memcpy(keep[nrun], run[nrun]->data, run[nrun]->nbytes);
            nrun++;
        }
    }
    sqz_tape_want_input_grad(t, 0, 1);
    CHECK_OK(sqz_tape_forward(t, n_in, in, &E), &E);
    const sqz_tensor *y = sqz_tape_output(t, 0);
    CHECK(y != NULL);
    if (!y) goto done;
    const int64_t n = sqz_tensor_numel(y);
    memcpy(out + k, y->data, sizeof(float) * (size_t)n), k += n;
    for (int v = 0; vals[v]; v++) {
        const sqz_tensor *b = sqz_tape_value(t, vals[v]);
        CHECK_MSG(b != NULL, "no value '%s'", vals[v]);
        if (!b) goto done;
        memcpy(out + k, b->data, sizeof(float) * (size_t)n), k += n;
    }
    sqz_tape_zero_grad(t);
    if (seed_name) {
        const char *names[2] = {"y", seed_name};
        const float *seeds[2] = {r, rs};
        CHECK_OK(sqz_tape_backward_seeds(t, 2, names, seeds, &E), &E);
    } else {
        const float *dout[1] = {r};
        CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    }
    const float *gx = sqz_tape_input_grad(t, 0);
    CHECK(gx != NULL);
    if (gx) memcpy(out + k, gx, sizeof(float) * (size_t)n), k += n;
    for (int p = 0; p < sqz_tape_n_params(t); p++) {
        const int64_t np = sqz_tensor_numel(sqz_tape_param(t, p));
        memcpy(out + k, sqz_tape_grad(t, p), sizeof(float) * (size_t)np), k += np;
    }
done:
    for (int q = 0; q < nrun; q++) memcpy(run[q]->data, keep[q], run[q]->nbytes);
    sqz_tape_free(t);
    return k;
}

/* A BN (or Add) -> activation pair: y, the producer's output b, dx, the parameter gradients;
 * with rb also b seeded. */
static int64_t bn_act_step(sqz_graph *g, int no_fuse, int training, const sqz_tensor *x, const float *r,
                           const float *rb, float *out) {
    const sqz_tensor *in[1] = {x};
    return fused_step(g, no_fuse, training, 1, in, (const char *const[]){"b", NULL}, r, rb ? "b" : NULL, rb, out);
}

/* Redraws x channel by channel until every BN output (batch or running statistics) lies at least
 * 0.05 from the activation's kinks (Relu: 0; Clip: its bounds), so central differences never step
 * across one. */
static void bn_act_kink_free(sqz_graph *g, sqz_tensor *xv, int clip, int training) {
    const int64_t N = xv->dims[0], C = xv->dims[1], inner = xv->dims[2] * xv->dims[3];
    const float *sc = g->tensors[sqz_graph_find_tensor(g, "scale")]->data;
    const float *bi = g->tensors[sqz_graph_find_tensor(g, "bias")]->data;
    const float *rm = g->tensors[sqz_graph_find_tensor(g, "mean")]->data;
    const float *rv = g->tensors[sqz_graph_find_tensor(g, "var")]->data;
    const double kinks[3] = {clip ? -0.25 : 0.0, 0.8, 0.0};
    float *x = xv->data;
    for (int64_t c = 0; c < C; c++)
        for (int tries = 0; tries < 10000; tries++) {
            double s = 0, s2 = 0;
            for (int64_t n = 0; n < N; n++)
                for (int64_t i = 0; i < inner; i++) {
                    const float v = 2.0f * sqz_rng_uniform(&R) - 1.0f;
                    x[(n * C + c) * inner + i] = v;
                    s += v;
                }
            const double m = (double)(N * inner), mu0 = s / m;
            for (int64_t n = 0; n < N; n++)
                for (int64_t i = 0; i < inner; i++) s2 += pow(x[(n * C + c) * inner + i] - mu0, 2);
            const double mu = training ? mu0 : rm[c], is = 1.0 / sqrt((training ? s2 / m : rv[c]) + 1e-3);
            int ok = 1;
            for (int64_t k = 0; k < N * inner && ok; k++) {
                const double y = sc[c] * (x[(k / inner * C + c) * inner + k % inner] - mu) * is + bi[c];
                for (int q = 0; q < (clip ? 2 : 1); q++) ok &= fabs(y - kinks[q]) >= 0.05;
            }
            if (ok) break;
        }
}

static void test_bn_act_fused(void) {
    const int64_t d[4] = {3, 5, 4, 3}, n = 3 * 5 * 4 * 3;
    for (int clip = 0; clip < 2; clip++) {
        for (int tr = 1; tr >= 0; tr--) {
            g_training = tr;
            sqz_graph *g = bn_act_graph(d, clip);
            sqz_tensor xv = make_x(4, d, X_UNIFORM);
            bn_act_kink_free(g, &xv, clip, tr);
            gradcheck(clip ? "BatchNorm + Clip fused" : "BatchNorm + Relu fused", g, &xv, 2);
            /* fused against two ops, with and without a gradient seeded at the BN output */
            float *r = malloc(sizeof(float) * (size_t)n), *rb = malloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
            for (int64_t i = 0; i < n; i++) rb[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
            const size_t cap = (size_t)(3 * n + 64);
            float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
            for (int seeded = 0; seeded < 2; seeded++) {
                const int64_t ka = bn_act_step(g, 0, tr, &xv, r, seeded ? rb : NULL, a);
                const int64_t kb = bn_act_step(g, 1, tr, &xv, r, seeded ? rb : NULL, b);
                CHECK_MSG(ka == kb && ka == 3 * n + 10, "clip %d training %d: %lld vs %lld values", clip, tr,
                          (long long)ka, (long long)kb);
                double e2 = 0, r2 = 0;
                for (int64_t i = 0; i < ka && ka == kb; i++) {
                    e2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
                    r2 += (double)b[i] * b[i];
                }
                CHECK_MSG(sqrt(e2) <= 1e-6 * sqrt(r2), "clip %d training %d seeded %d: fused differs by %g", clip, tr,
                          seeded, sqrt(e2 / (r2 > 0 ? r2 : 1)));
            }
            free(r), free(rb), free(a), free(b);
            sqz_tensor_release(&xv);
            sqz_graph_free(g);
        }
    }
    g_training = 1;
    /* Add (same shapes) -> Relu / Clip: b = x + p, fused against two ops, and by finite differences
     * on inputs whose sums stay off the kinks */
    for (int clip = 0; clip < 2; clip++) {
        sqz_graph *g = new_graph();
        int x = input(g, "x", 4, d), b = act(g, "b"), y = act(g, "y");
        int pp = param(g, "p", 4, d, -0.5f, 0.5f);
        node(g, "Add", 2, (int[]){x, pp}, 1, &b);
        act_output(g, b, y, clip);
        sqz_tensor xv = make_x(4, d, X_UNIFORM);
        const float *pv = g->tensors[pp]->data;
        float *xs = xv.data;
        for (int64_t i = 0; i < n; i++) {
            const float kinks[2] = {clip ? -0.25f : 0.0f, 0.8f};
            for (int q = 0; q < (clip ? 2 : 1); q++)
                if (fabsf(xs[i] + pv[i] - kinks[q]) < 0.05f) xs[i] += 0.12f;
        }
        gradcheck(clip ? "Add + Clip fused" : "Add + Relu fused", g, &xv, 1);
        float *r = malloc(sizeof(float) * (size_t)n), *rb = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f, rb[i] = sqz_rng_uniform(&R) - 0.5f;
        const size_t cap = (size_t)(4 * n + 64);
        float *a = malloc(sizeof(float) * cap), *bb = malloc(sizeof(float) * cap);
        for (int seeded = 0; seeded < 2; seeded++) {
            const int64_t ka = bn_act_step(g, 0, 1, &xv, r, seeded ? rb : NULL, a);
            const int64_t kb = bn_act_step(g, 1, 1, &xv, r, seeded ? rb : NULL, bb);
            CHECK_MSG(ka == kb && ka == 4 * n, "Add clip %d: %lld vs %lld values", clip, (long long)ka, (long long)kb);
            int same = ka == kb;
            for (int64_t i = 0; i < ka && same; i++) same = a[i] == bb[i];
            CHECK_MSG(same, "Add clip %d seeded %d: fused differs from two ops", clip, seeded);
        }
        free(r), free(rb), free(a), free(bb);
        sqz_tensor_release(&xv);
        sqz_graph_free(g);
    }
    /* an Add whose operands' shapes are unknown until run time and then broadcast: the fused
     * pair falls back to separate passes and must still match two ops */
    {
        sqz_graph *g = new_graph();
        const int64_t dd[2] = {-1, 4};
        int x = input(g, "x", 2, dd), u = input(g, "u", 2, dd), b = act(g, "b"), y = act(g, "y");
        node(g, "Add", 2, (int[]){x, u}, 1, &b);
        node(g, "Relu", 1, &b, 1, &y);
        sqz_graph_add_output(g, y, &E);
        CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
        const int64_t xd[2] = {3, 4}, ud[2] = {1, 4};
        sqz_tensor xv = make_x(2, xd, X_UNIFORM), uv = make_x(2, ud, X_UNIFORM);
        const float r[12] = {1, -2, 3, 0.5f, -1, 2, 0.25f, 4, -3, 1, 1, -0.5f};
        float got[2][12 + 12 + 4];
        for (int nf = 0; nf < 2; nf++) {
            sqz_tape_opts o = {.threads = 1, .training = 1, .no_fuse = nf, .poison = 1};
            sqz_tape *t = NULL;
            CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
            if (!t) break;
            sqz_tape_want_input_grad(t, 0, 1);
            sqz_tape_want_input_grad(t, 1, 1);
            const sqz_tensor *in[2] = {&xv, &uv};
            CHECK_OK(sqz_tape_forward(t, 2, in, &E), &E);
            const float *dout[1] = {r};
            CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
            const sqz_tensor *yv = sqz_tape_output(t, 0);
            const float *gx = sqz_tape_input_grad(t, 0), *gu = sqz_tape_input_grad(t, 1);
            CHECK(yv && gx && gu);
            if (yv && gx && gu) {
                memcpy(got[nf], yv->data, sizeof(float) * 12);
                memcpy(got[nf] + 12, gx, sizeof(float) * 12);
                memcpy(got[nf] + 24, gu, sizeof(float) * 4);
            }
            sqz_tape_free(t);
        }
        CHECK_MSG(memcmp(got[0], got[1], sizeof got[0]) == 0, "Add (broadcast at run time) + Relu: fused differs");
        sqz_tensor_release(&xv);
        sqz_tensor_release(&uv);
        sqz_graph_free(g);
    }
    /* the loops: AVX-512 copies against the portable ones, lengths around the 16-lane step, with
     * values exactly at the kinks and NaN */
    const int copies = sqz_cpu_isa() >= SQZ_ISA_AVX512 ? 2 : 1;
    for (int64_t len = 1; len <= 41; len += 4)
        for (int relu = 0; relu < 2; relu++) {
            float x[48], xs[48], dz[48], y[2][48], z[2][48], dx[2][48];
            uint8_t m[2][48];
            for (int64_t i = 0; i < len; i++) {
                const uint32_t u = sqz_rng_below(&R, 8);
                x[i] = u == 0 ? 0.0f : u == 1 ? -0.5f : u == 2 ? 1.5f : 4.0f * sqz_rng_uniform(&R) - 2.0f;
                dz[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
            }
            x[len / 2] = NAN;
            for (int64_t i = 0; i < len; i++) xs[i] = isnan(x[i]) ? 0.5f : x[i]; /* the BN input of the backward */
            float sd[2], sdx[2];
            const int set = (int)(len & 1);
            for (int c = 0; c < copies; c++) {
                for (int64_t i = 0; i < len; i++) dx[c][i] = set ? NAN : (float)i;
                if (c) sqz_tv_affine_act__avx512(y[c], z[c], m[c], x, len, 1.0f, 0.0f, relu, -0.5f, 1.5f);
                else sqz_tv_affine_act(y[c], z[c], m[c], x, len, 1.0f, 0.0f, relu, -0.5f, 1.5f);
                sdx[c] = c ? sqz_tv_dot_dev_m__avx512(dz, m[c], xs, len, 0.25f, &sd[c])
                           : sqz_tv_dot_dev_m(dz, m[c], xs, len, 0.25f, &sd[c]);
                if (c) sqz_tv_bn_dx_m__avx512(dx[c], dz, m[c], xs, len, 2.0f, 0.1f, 0.25f, 0.3f, set);
                else sqz_tv_bn_dx_m(dx[c], dz, m[c], xs, len, 2.0f, 0.1f, 0.25f, 0.3f, set);
            }
            int bad = 0;
            double ra = 0, rb = 0;
            for (int64_t i = 0; i < len; i++) {
                const float v = x[i];
                const int pass = relu ? v > 0 : (v >= -0.5f && v <= 1.5f);
                const float want = relu ? (v > 0 || v != v ? v : 0.0f) : (v < -0.5f ? -0.5f : v > 1.5f ? 1.5f : v);
                const double g = pass ? dz[i] : 0.0;
                const double dv = 2.0 * (g - 0.1 - ((double)xs[i] - 0.25) * 0.3) + (set ? 0.0 : (double)i);
                for (int c = 0; c < copies; c++) {
                    if ((m[c][i] != 0) != pass) bad++;
                    if (!(z[c][i] == want || (isnan(want) && isnan(z[c][i])))) bad++;
                    if (!(y[c][i] == v || (isnan(v) && isnan(y[c][i])))) bad++;
                    if (!(fabs(dx[c][i] - dv) <= 1e-5 * (1.0 + fabs(dv)))) bad++;
                }
                ra += g;
                rb += g * ((double)xs[i] - 0.25);
            }
            for (int c = 0; c < copies; c++)
                if (!(fabs(sd[c] - ra) <= 1e-5 * (1 + fabs(ra))) || !(fabs(sdx[c] - rb) <= 1e-5 * (1 + fabs(rb)))) bad++;
            CHECK_MSG(bad == 0, "fused BN loops, length %lld relu %d: %d wrong", (long long)len, relu, bad);
        }
}

/* BatchNormalization -> Add (same shapes) -> Relu / Clip, ResNet's residual end: kind 0 adds the
 * BN's own input x (identity shortcut), kind 1 a second BN of x (projection shortcut: both
 * operands fused), kind 2 a plain second input u. */
static sqz_graph *bn_add_graph(const int64_t *d, int kind, int clip) {
    sqz_graph *g = new_graph();
    int x = input(g, "x", 4, d), b = act(g, "b"), s = act(g, "s"), y = act(g, "y"), other = x;
    int64_t C = d[1];
    for (int q = 0; q < (kind == 1 ? 2 : 1); q++) {
        char nm[4][16];
        snprintf(nm[0], 16, "scale%d", q), snprintf(nm[1], 16, "bias%d", q);
        snprintf(nm[2], 16, "mean%d", q), snprintf(nm[3], 16, "var%d", q);
        int sc = param(g, nm[0], 1, &C, 0.5f, 1.5f), bi = param(g, nm[1], 1, &C, -0.5f, 0.5f);
        int m = param(g, nm[2], 1, &C, -0.2f, 0.2f), v = param(g, nm[3], 1, &C, 0.5f, 1.5f);
        int out = q ? act(g, "b2") : b;
        sqz_node *n = node(g, "BatchNormalization", 5, (int[]){x, sc, bi, m, v}, 1, &out);
        attr_f(g, n, "epsilon", 1e-3f);
        if (q) other = out;
    }
    if (kind == 2) other = input(g, "u", 4, d);
    node(g, "Add", 2, (int[]){b, other}, 1, &s);
    act_output(g, s, y, clip);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    return g;
}

static void test_bn_add_fused(void) {
    const int64_t d[4] = {3, 5, 4, 3}, n = 3 * 5 * 4 * 3;
    float *r = malloc(sizeof(float) * (size_t)n), *rs = malloc(sizeof(float) * (size_t)n);
    const size_t cap = (size_t)(4 * n + 64);
    float *a = malloc(sizeof(float) * cap), *b = malloc(sizeof(float) * cap);
    for (int64_t i = 0; i < n; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f, rs[i] = sqz_rng_uniform(&R) - 0.5f;
    for (int kind = 0; kind < 3; kind++)
        for (int clip = 0; clip < 2; clip++)
            for (int tr = 1; tr >= 0; tr--) {
                g_training = tr;
                sqz_graph *g = bn_add_graph(d, kind, clip);
                sqz_tensor xv = make_x(4, d, X_UNIFORM), uv = make_x(4, d, X_UNIFORM);
                const sqz_tensor *in[2] = {&xv, &uv};
                for (int seed = 0; seed < 3; seed++) {
                    /* y, b, s, dx and the parameter gradients; seed 1 / 2 also seeds b / s */
                    const char *const vals[] = {"b", "s", NULL}, *sn = seed == 1 ? "b" : seed == 2 ? "s" : NULL;
                    const int64_t ka = fused_step(g, 0, tr, kind == 2 ? 2 : 1, in, vals, r, sn, rs, a);
                    const int64_t kb = fused_step(g, 1, tr, kind == 2 ? 2 : 1, in, vals, r, sn, rs, b);
                    const int64_t want = 4 * n + 10 * (kind == 1 ? 2 : 1);
                    CHECK_MSG(ka == kb && ka == want, "BN -> Add kind %d: %lld vs %lld values", kind, (long long)ka,
                              (long long)kb);
                    double e2 = 0, r2 = 0;
                    for (int64_t i = 0; i < ka && ka == kb; i++) {
                        e2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
                        r2 += (double)b[i] * b[i];
                    }
                    CHECK_MSG(sqrt(e2) <= 1e-6 * sqrt(r2), "BN -> Add kind %d clip %d training %d seed %d: fused differs by %g",
                              kind, clip, tr, seed, sqrt(e2 / (r2 > 0 ? r2 : 1)));
                }
                sqz_tensor_release(&xv);
                sqz_tensor_release(&uv);
                sqz_graph_free(g);
            }
    g_training = 1;
    free(r), free(rs), free(a), free(b);
    /* shapes unknown until run time that then broadcast: the fused pair falls back to separate
     * passes (the BN output computed, its gradient through the Add), and matches two ops */
    sqz_graph *g = new_graph();
    const int64_t dd[2] = {-1, 4}, C = 4;
    int x = input(g, "x", 2, dd), u = input(g, "u", 2, dd), bt = act(g, "b"), st = act(g, "s"), y = act(g, "y");
    int sc = param(g, "scale0", 1, &C, 0.5f, 1.5f), bi = param(g, "bias0", 1, &C, -0.5f, 0.5f);
    int m = param(g, "mean0", 1, &C, -0.2f, 0.2f), v = param(g, "var0", 1, &C, 0.5f, 1.5f);
    node(g, "BatchNormalization", 5, (int[]){x, sc, bi, m, v}, 1, &bt);
    node(g, "Add", 2, (int[]){u, bt}, 1, &st);
    node(g, "Relu", 1, &st, 1, &y);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    const int64_t xd[2] = {1, 4}, ud[2] = {3, 4};
    sqz_tensor xv = make_x(2, xd, X_UNIFORM), uv = make_x(2, ud, X_UNIFORM);
    const sqz_tensor *in[2] = {&xv, &uv};
    const float rr[12] = {1, -2, 3, 0.5f, -1, 2, 0.25f, 4, -3, 1, 1, -0.5f};
    float got[2][64];
    int64_t k[2] = {0, 0};
    g_training = 0; /* one row: running statistics (batch statistics of one value would be 0 / 0) */
    for (int nf = 0; nf < 2; nf++) {
        sqz_tape_opts o = {.threads = 1, .training = 0, .no_fuse = nf, .poison = 1};
        sqz_tape *t = NULL;
        CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
        if (!t) break;
        sqz_tape_want_input_grad(t, 0, 1);
        CHECK_OK(sqz_tape_forward(t, 2, in, &E), &E);
        const float *dout[1] = {rr};
        CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
        const sqz_tensor *yv = sqz_tape_output(t, 0), *bv = sqz_tape_value(t, "b");
        const float *gx = sqz_tape_input_grad(t, 0);
        CHECK(yv && bv && gx);
        if (yv && bv && gx) {
            memcpy(got[nf], yv->data, sizeof(float) * 12), k[nf] += 12;
            memcpy(got[nf] + k[nf], bv->data, sizeof(float) * 4), k[nf] += 4;
            memcpy(got[nf] + k[nf], gx, sizeof(float) * 4), k[nf] += 4;
            for (int p = 0; p < sqz_tape_n_params(t); p++) {
                memcpy(got[nf] + k[nf], sqz_tape_grad(t, p), sizeof(float) * 4);
                k[nf] += 4;
            }
        }
        sqz_tape_free(t);
    }
    g_training = 1;
    CHECK_MSG(k[0] == k[1] && k[0] >= 20 && memcmp(got[0], got[1], sizeof(float) * (size_t)k[0]) == 0,
              "BN -> Add (broadcast at run time) + Relu: fused differs");
    sqz_tensor_release(&xv);
    sqz_tensor_release(&uv);
    sqz_graph_free(g);
}

static void test_layernorm_dropout(void) {
    for (int axis = -1; axis <= 1; axis += 2) {
        const int64_t d[3] = {3, 2, 5};
        sqz_graph *g = new_graph();
        int x = input(g, "x", 3, d), y = act(g, "y");
        const int64_t *pd = axis == -1 ? d + 2 : d + 1;
        int s = param(g, "scale", axis == -1 ? 1 : 2, pd, 0.5f, 1.5f), b = param(g, "b", axis == -1 ? 1 : 2, pd, -0.5f, 0.5f);
        sqz_node *n = node(g, "LayerNormalization", 3, (int[]){x, s, b}, 1, &y);
        attr_i(g, n, "axis", axis);
        sqz_graph_add_output(g, y, &E);
        sqz_tensor xv = make_x(3, d, X_UNIFORM);
        gradcheck(axis == -1 ? "LayerNorm last axis" : "LayerNorm axis 1", g, &xv, 2);
        sqz_tensor_release(&xv);
        sqz_graph_free(g);
    }
    /* Dropout (ratio 0.3) between two parameters: mask fixed by the seed */
    const int64_t d[2] = {4, 8};
    sqz_graph *g = new_graph();
    float ratio = 0.3f;
    int x = input(g, "x", 2, d), a = act(g, "a"), dr = act(g, "dr"), y = act(g, "y");
    int p = param(g, "p", 1, d + 1, 0.5f, 1.5f), r = init_vals(g, "ratio", SQZ_DT_F32, 0, NULL, &ratio);
    node(g, "Mul", 2, (int[]){x, p}, 1, &a);
    node(g, "Dropout", 2, (int[]){a, r}, 1, &dr);
    node(g, "Tanh", 1, &dr, 1, &y);
    sqz_graph_add_output(g, y, &E);
    sqz_tensor xv = make_x(2, d, X_AWAY0);
    gradcheck("Dropout training", g, &xv, 1);
    /* some values dropped, kept ones scaled by 1/(1-p) */
    sqz_tape_opts o = {.threads = 1, .training = 1, .seed = 5};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    const sqz_tensor *in[1] = {&xv};
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    const sqz_tensor *av = sqz_tape_value(t, "a"), *dv = sqz_tape_value(t, "dr");
    int zeros = 0, scaled = 0;
    for (int i = 0; i < 32 && av && dv; i++) {
        const float u = ((const float *)av->data)[i], w = ((const float *)dv->data)[i];
        zeros += w == 0.0f;
        scaled += fabsf(w - u / 0.7f) < 1e-5f;
    }
    CHECK_MSG(zeros > 2 && zeros < 20 && zeros + scaled == 32, "dropout: %d zeros, %d scaled", zeros, scaled);
    /* inference: identity */
    sqz_tape_set_training(t, 0);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    av = sqz_tape_value(t, "a");
    dv = sqz_tape_value(t, "dr");
    CHECK(av && dv && memcmp(av->data, dv->data, 32 * sizeof(float)) == 0);
    sqz_tape_free(t);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* Conv-BN-Relu-MaxPool-Flatten-Gemm end to end */
static sqz_graph *small_net(int with_dropout) {
    sqz_graph *g = new_graph();
    const int64_t xd[4] = {2, 2, 6, 6}, wd[4] = {3, 2, 3, 3}, C = 3, gd[2] = {4, 27}, gc = 4;
    int x = input(g, "x", 4, xd);
    int w = param(g, "w", 4, wd, -0.5f, 0.5f);
    int s = param(g, "s", 1, &C, 0.5f, 1.5f), b = param(g, "b", 1, &C, -0.1f, 0.1f);
    int m = param(g, "m", 1, &C, -0.1f, 0.1f), v = param(g, "v", 1, &C, 0.5f, 1.5f);
    int gw = param(g, "gw", 2, gd, -0.3f, 0.3f), gb = param(g, "gb", 1, &gc, -0.1f, 0.1f);
    int c1 = act(g, "c1"), b1 = act(g, "b1"), r1 = act(g, "r1"), p1 = act(g, "p1"), f1 = act(g, "f1"),
        y = act(g, "y");
    sqz_node *n = node(g, "Conv", 2, (int[]){x, w}, 1, &c1);
    attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    node(g, "BatchNormalization", 5, (int[]){c1, s, b, m, v}, 1, &b1);
    node(g, "Relu", 1, &b1, 1, &r1);
    n = node(g, "MaxPool", 1, &r1, 1, &p1);
    attr_ints(g, n, "kernel_shape", 2, (int64_t[]){2, 2});
    attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
    int fin = p1;
    if (with_dropout) {
        float ratio = 0.25f;
        int r = init_vals(g, "ratio", SQZ_DT_F32, 0, NULL, &ratio), dp = act(g, "dp");
        node(g, "Dropout", 2, (int[]){p1, r}, 1, &dp);
        fin = dp;
    }
    node(g, "Flatten", 1, &fin, 1, &f1);
    n = node(g, "Gemm", 3, (int[]){f1, gw, gb}, 1, &y);
    attr_i(g, n, "transB", 1);
    sqz_graph_add_output(g, y, &E);
    return g;
}

static void test_end_to_end(void) {
    sqz_graph *g = small_net(0);
    const int64_t xd[4] = {2, 2, 6, 6};
    sqz_tensor xv = make_x(4, xd, X_UNIFORM);
    gradcheck("Conv-BN-Relu-MaxPool-Flatten-Gemm", g, &xv, 5);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* Runs forward + backward of small_net(1) twice on one tape; copies all gradients into out. */
static size_t run_twice(uint64_t seed, float *out, size_t cap, void **act_ptr) {
    sqz_rng keep = R;
    sqz_rng_seed(&R, 1234);
    sqz_graph *g = small_net(1);
    const int64_t xd[4] = {2, 2, 6, 6};
    sqz_tensor xv = make_x(4, xd, X_UNIFORM);
    R = keep;
    size_t used = 0;
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    sqz_tape_opts o = {.threads = 2, .training = 1, .seed = seed};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    const sqz_tensor *in[1] = {&xv};
    float r[8] = {0.5f, -1, 0.25f, 2, -0.5f, 1, 0.75f, -0.25f};
    const float *dout[1] = {r};
    sqz_tape_zero_grad(t);
    for (int step = 0; step < 2; step++) {
        CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
        if (step == 0) *act_ptr = sqz_tape_output(t, 0)->data;
        else CHECK_MSG(*act_ptr == sqz_tape_output(t, 0)->data, "output buffer reallocated between steps");
        CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    }
    for (int p = 0; p < sqz_tape_n_params(t); p++) {
        size_t n = (size_t)sqz_tensor_numel(sqz_tape_param(t, p));
        if (used + n <= cap) memcpy(out + used, sqz_tape_grad(t, p), n * sizeof(float));
        used += n;
    }
    sqz_tape_free(t);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
    return used;
}

static void test_determinism(void) {
    static float a[4096], b[4096], c[4096];
    void *pa, *pb, *pc;
    size_t na = run_twice(42, a, 4096, &pa), nb = run_twice(42, b, 4096, &pb), nc = run_twice(43, c, 4096, &pc);
    CHECK(na == nb && na == nc && na > 0 && na <= 4096);
    CHECK_MSG(memcmp(a, b, na * sizeof(float)) == 0, "same seed, different gradients");
    CHECK_MSG(memcmp(a, c, na * sizeof(float)) != 0, "different seeds, same dropout");
}

/* Conv backward on 2 threads and a batch of 4, so images are split over threads (private dW
 * sums, per-thread padded copies in the implicit GEMM): the gradients of the weights, of a scale
 * in front of the conv (through dx) and the bias agree with 1 thread to float rounding, for a
 * unit-stride 3x3 (dW taps, dx by implicit GEMM), a strided one and a few-channel one (dW from
 * shifted windows). */
static void test_conv_threads(void) {
    static const struct {
        int64_t C, M, H, W, k, s;
    } cs[] = {{16, 16, 9, 12, 3, 1}, {12, 24, 11, 13, 3, 2}, {3, 8, 10, 9, 5, 1}};
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        sqz_graph *g = new_graph();
        const int64_t zd[4] = {4, cs[ci].C, cs[ci].H, cs[ci].W}, sd[4] = {1, cs[ci].C, 1, 1};
        const int64_t wd[4] = {cs[ci].M, cs[ci].C, cs[ci].k, cs[ci].k};
        int z = input(g, "z", 4, zd), x = act(g, "x"), y = act(g, "y");
        int sc = param(g, "s", 4, sd, 0.5f, 1.5f), w = param(g, "w", 4, wd, -0.3f, 0.3f);
        int b = param(g, "b", 1, &cs[ci].M, -0.5f, 0.5f);
        node(g, "Mul", 2, (int[]){z, sc}, 1, &x);
        sqz_node *n = node(g, "Conv", 3, (int[]){x, w, b}, 1, &y);
        const int64_t pd = cs[ci].k / 2;
        attr_ints(g, n, "pads", 4, (int64_t[]){pd, pd, pd, pd});
        attr_ints(g, n, "strides", 2, (int64_t[]){cs[ci].s, cs[ci].s});
        sqz_graph_add_output(g, y, &E);
        CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
        sqz_tensor zv = make_x(4, zd, X_UNIFORM);
        const int64_t OH = (cs[ci].H + 2 * pd - cs[ci].k) / cs[ci].s + 1, OW = (cs[ci].W + 2 * pd - cs[ci].k) / cs[ci].s + 1;
        const int64_t ny = 4 * cs[ci].M * OH * OW;
        float *r = malloc(sizeof(float) * (size_t)ny);
        for (int64_t i = 0; i < ny; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
        const float *dout[1] = {r};
        const sqz_tensor *in[1] = {&zv};
        float *grads[2][3] = {{0}};
        int64_t sizes[3] = {cs[ci].C, cs[ci].M * cs[ci].C * cs[ci].k * cs[ci].k, cs[ci].M};
        for (int th = 0; th < 2; th++) {
            sqz_tape_opts o = {.threads = th + 1, .training = 1, .seed = 1};
            sqz_tape *t = NULL;
            CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
            if (!t) continue;
            CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
            sqz_tape_zero_grad(t);
            CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
            for (int q = 0; q < 3; q++) {
                grads[th][q] = malloc(sizeof(float) * (size_t)sizes[q]);
                memcpy(grads[th][q], sqz_tape_grad(t, q), sizeof(float) * (size_t)sizes[q]);
            }
            sqz_tape_free(t);
        }
        for (int q = 0; q < 3; q++) {
            if (!grads[0][q] || !grads[1][q]) continue;
            double maxd = 0, maxv = 0;
            for (int64_t i = 0; i < sizes[q]; i++) {
                maxd = fmax(maxd, fabs((double)grads[0][q][i] - grads[1][q][i]));
                maxv = fmax(maxv, fabs((double)grads[0][q][i]));
            }
            CHECK_MSG(maxd <= 1e-5 * (maxv + 1e-3), "conv case %zu param %d: 1 vs 2 threads differ by %g (max %g)", ci, q,
                      maxd, maxv);
            free(grads[0][q]), free(grads[1][q]);
        }
        free(r);
        sqz_tensor_release(&zv);
        sqz_graph_free(g);
    }
}

/* IEEE semantics of dW: an Inf in x makes +Inf exactly the weight gradients whose tap reads it (dy
 * positive), and NaN none: the padded columns the fast paths walk past are never multiplied
 * (0 * Inf). 16 channels, so dW runs by kernel taps on AVX-512; the Inf sits in the last
 * column, next to the padded ones. */
static void test_conv_dw_inf(void) {
    const int64_t N = 1, C = 16, M = 8, H = 6, W = 7, K = 3; /* no padding: OH = 4, OW = 5 */
    sqz_graph *g = new_graph();
    const int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, K, K};
    int x = input(g, "x", 4, xd), y = act(g, "y");
    int w = param(g, "w", 4, wd, -0.3f, 0.3f);
    node(g, "Conv", 2, (int[]){x, w}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    sqz_tensor xv = make_x(4, xd, X_UNIFORM);
    const int64_t ci_inf = 3, iy_inf = 2, ix_inf = W - 1;
    ((float *)xv.data)[(ci_inf * H + iy_inf) * W + ix_inf] = INFINITY;
    const int64_t OH = H - K + 1, OW = W - K + 1;
    float dy[8 * 4 * 5];
    for (int64_t i = 0; i < M * OH * OW; i++) dy[i] = 0.5f + sqz_rng_uniform(&R);
    const float *dout[1] = {dy};
    const sqz_tensor *in[1] = {&xv};
    sqz_tape_opts o = {.threads = 1, .training = 1, .seed = 1};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    if (t) {
        CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
        sqz_tape_zero_grad(t);
        CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
        const float *gw = sqz_tape_grad(t, 0);
        int bad = 0;
        for (int64_t co = 0; co < M; co++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t kh = 0; kh < K; kh++)
                    for (int64_t kw = 0; kw < K; kw++) {
                        /* the tap reads the Inf iff some output (oy, ox) has oy + kh = iy, ox + kw = ix */
                        const int64_t oy = iy_inf - kh, ox = ix_inf - kw;
                        const int hits = ci == ci_inf && oy >= 0 && oy < OH && ox >= 0 && ox < OW;
                        const float v = gw[((co * C + ci) * K + kh) * K + kw];
                        bad += hits ? !(isinf(v) && v > 0) : !isfinite(v);
                    }
        CHECK_MSG(bad == 0, "%d weight gradients break IEEE semantics next to an Inf", bad);
        sqz_tape_free(t);
    }
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* Gemm with a masked, then a fake-quantized weight. */
static void test_mask_quant(void) {
    const int64_t ad[2] = {3, 4}, bd[2] = {4, 5};
    sqz_graph *g = new_graph();
    int a = input(g, "a", 2, ad), y = act(g, "y");
    int b = param(g, "b", 2, bd, -1.0f, 1.0f);
    node(g, "Gemm", 2, (int[]){a, b}, 1, &y);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    sqz_tensor xv = make_x(2, ad, X_UNIFORM);
    float r[15], g0[20], g1[20];
    for (int i = 0; i < 15; i++) r[i] = 2.0f * sqz_rng_uniform(&R) - 1.0f;
    const float *dout[1] = {r};
    const sqz_tensor *in[1] = {&xv};
    sqz_tape_opts o = {.threads = 1, .training = 1, .seed = 1};
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    sqz_tape_zero_grad(t);
    CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    memcpy(g0, sqz_tape_grad(t, 0), sizeof g0);
    sqz_tape_free(t);
    /* mask: pruned weights get zero gradient, kept ones are unchanged */
    sqz_tensor *bt = g->tensors[b];
    uint8_t mask[20];
    for (int i = 0; i < 20; i++) mask[i] = (uint8_t)(i % 3 != 0);
    bt->mask = mask;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    sqz_tape_zero_grad(t);
    CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    memcpy(g1, sqz_tape_grad(t, 0), sizeof g1);
    sqz_tape_free(t);
    int ok = 1;
    for (int i = 0; i < 20; i++) ok &= mask[i] ? g1[i] == g0[i] : g1[i] == 0.0f;
    CHECK_MSG(ok, "mask did not zero exactly the pruned gradients");
    bt->mask = NULL;
    /* fake quant per output column: axis 1 of B (5 channels), symmetric int8; two weights clipped */
    float *w = bt->data, scale[5] = {0.010f, 0.012f, 0.009f, 0.011f, 0.013f}; /* |w| <= 1 stays in range */
    w[3] = 2.0f;   /* column 3: 2.0 / 0.011 = 182 > 127: clipped */
    w[6] = -2.0f;  /* column 1: -167 < -127: clipped */
    sqz_qparams q = {.axis = 1, .group_size = 0, .count = 5, .scale = scale, .zero_point = NULL};
    bt->quant = &q;
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    float y_fq[15];
    memcpy(y_fq, sqz_tape_output(t, 0)->data, sizeof y_fq);
    sqz_tape_zero_grad(t);
    CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    memcpy(g1, sqz_tape_grad(t, 0), sizeof g1);
    sqz_tape_free(t);
    /* reference: the same graph with the dequantized weights baked in and no quant */
    float wq[20], wkeep[20];
    memcpy(wkeep, w, sizeof wkeep);
    for (int i = 0; i < 20; i++) {
        const float s = scale[i % 5];
        float v = nearbyintf(w[i] / s);
        v = v < -127 ? -127 : v > 127 ? 127 : v;
        wq[i] = v * s;
    }
    bt->quant = NULL;
    memcpy(w, wq, sizeof wq);
    CHECK_OK(sqz_tape_new(g, &o, &t, &E), &E);
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    CHECK(memcmp(y_fq, sqz_tape_output(t, 0)->data, sizeof y_fq) == 0);
    sqz_tape_zero_grad(t);
    CHECK_OK(sqz_tape_backward(t, dout, &E), &E);
    memcpy(g0, sqz_tape_grad(t, 0), sizeof g0);
    sqz_tape_free(t);
    ok = 1;
    for (int i = 0; i < 20; i++) ok &= (i == 3 || i == 6) ? g1[i] == 0.0f : g1[i] == g0[i];
    CHECK_MSG(ok && g0[3] != 0.0f, "fake quant: STE gradient wrong: %g %g %g %g %g", g1[3], g1[6], g0[3], g1[0], g0[0]);
    memcpy(w, wkeep, sizeof wkeep);
    /* a bad scale is an error, not a crash */
    scale[2] = 0.0f;
    bt->quant = &q;
    CHECK(sqz_tape_new(g, &o, &t, &E) == SQZ_ERR_DATA && t == NULL);
    bt->quant = NULL;
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

static void test_errors(void) {
    /* an op without a gradient on the path is a clear error at backward */
    const int64_t d[2] = {2, 3};
    sqz_graph *g = new_graph();
    int x = input(g, "x", 2, d), a = act(g, "a"), y = act(g, "y");
    int p = param(g, "p", 2, d, -1.0f, 1.0f);
    node(g, "Mul", 2, (int[]){x, p}, 1, &a);
    node(g, "Erf", 1, &a, 1, &y);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_tape_prepare_graph(g, &E), &E);
    sqz_tensor xv = make_x(2, d, X_UNIFORM);
    sqz_tape *t = NULL;
    CHECK_OK(sqz_tape_new(g, NULL, &t, &E), &E);
    const sqz_tensor *in[1] = {&xv};
    float r[6] = {1, 1, 1, 1, 1, 1};
    const float *dout[1] = {r};
    CHECK(sqz_tape_backward(t, dout, &E) == SQZ_ERR_ARG); /* before any forward */
    CHECK_OK(sqz_tape_forward(t, 1, in, &E), &E);
    CHECK(sqz_tape_backward(t, dout, &E) == SQZ_ERR_UNSUPPORTED && strstr(E.msg, "Erf"));
    /* seeds on an intermediate tensor skip the output */
    const char *names[1] = {"a"};
    const float *seeds[1] = {r};
    sqz_tape_zero_grad(t);
    CHECK_OK(sqz_tape_backward_seeds(t, 1, names, seeds, &E), &E);
    const float *gp = sqz_tape_grad(t, 0);
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= gp[i] == ((float *)xv.data)[i];
    CHECK_MSG(ok, "seeded gradient of Mul parameter");
    const char *bad[1] = {"nope"};
    CHECK(sqz_tape_backward_seeds(t, 1, bad, seeds, &E) == SQZ_ERR_ARG);
    sqz_tape_free(t);
    sqz_tensor_release(&xv);
    sqz_graph_free(g);
}

/* The 2x2 max pool (portable copy, and the AVX-512 copy where the CPU has it) against the scalar
 * rule: the first strict maximum in the order (0,0), (0,1), (1,0), (1,1) wins, so ties keep the
 * earlier place and a NaN in front stays; the backward adds dy to exactly that input and leaves
 * every other one (and the odd column past 2 OW) as it was; in set mode (a fresh dx) it writes dy
 * there and 0 to the window's other inputs, and touches nothing outside the windows. Widths
 * around the 16-output step. */
static void test_maxpool2x2_rule(void) {
    const int copies = sqz_cpu_isa() >= SQZ_ISA_AVX512 ? 2 : 1;
    for (int set = 0; set < 2; set++)
    for (int copy = 0; copy < copies; copy++)
        for (int64_t OW = 1; OW <= 40; OW += 3) {
            const int64_t W = 2 * OW + (OW % 2), OH = 3, H = 2 * OH;
            float *x = malloc(sizeof(float) * (size_t)(H * W)), *y = malloc(sizeof(float) * (size_t)(OH * OW));
            float *dy = malloc(sizeof(float) * (size_t)(OH * OW)), *dx = malloc(sizeof(float) * (size_t)(H * W));
            uint8_t *code = malloc((size_t)(OH * OW));
            for (int64_t i = 0; i < H * W; i++) x[i] = (float)sqz_rng_below(&R, 4); /* many ties */
            for (int64_t i = 0; i < H * W; i++) dx[i] = set ? NAN : (float)i;
            for (int64_t i = 0; i < OH * OW; i++) dy[i] = 1000.0f * (float)(i + 1);
            x[0] = NAN;
            if (W > 5) x[W + 5] = NAN;
            if (copy) {
                sqz_tv_maxpool2x2__avx512(x, W, OH, OW, y, code);
                sqz_tv_maxpool2x2_bwd__avx512(dx, W, OH, OW, dy, code, set);
            } else {
                sqz_tv_maxpool2x2(x, W, OH, OW, y, code);
                sqz_tv_maxpool2x2_bwd(dx, W, OH, OW, dy, code, set);
            }
            int bad = 0;
            char *hit = calloc((size_t)(H * W), 1);
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    const int64_t c[4] = {2 * oy * W + 2 * ox, 2 * oy * W + 2 * ox + 1, (2 * oy + 1) * W + 2 * ox,
                                          (2 * oy + 1) * W + 2 * ox + 1};
                    int q = 0;
                    for (int k = 1; k < 4; k++)
                        if (x[c[k]] > x[c[q]]) q = k;
                    const float got = y[oy * OW + ox];
                    if (code[oy * OW + ox] != q || !(got == x[c[q]] || (isnan(got) && isnan(x[c[q]])))) bad++;
                    if (dx[c[q]] != (set ? 0.0f : (float)c[q]) + dy[oy * OW + ox]) bad++;
                    for (int k = 0; k < 4; k++) hit[c[k]] = k == q ? 1 : 2;
                }
            for (int64_t i = 0; i < H * W; i++) {
                if (hit[i] == 1) continue;
                if (set ? (hit[i] == 2 ? dx[i] != 0.0f : !isnan(dx[i])) : dx[i] != (float)i) bad++;
            }
            CHECK_MSG(bad == 0, "maxpool2x2 set %d copy %d OW %lld: %d wrong", set, copy, (long long)OW, bad);
            free(x), free(y), free(dy), free(dx), free(code), free(hit);
        }
}

/* The AVX-512 col2im of a column stride of 2 against the portable loop (taps in order, so equal
 * bits): widths around the 32-column chunk, every tap offset sign, dilation, row strides. */
static void test_col2im_w2(void) {
    if (sqz_cpu_isa() < SQZ_ISA_AVX512) return;
    int cases = 0, bad = 0;
    for (int64_t W = 1; W <= 70; W += (W < 36 ? 1 : 11))
        for (int KW = 1; KW <= 5; KW += 2)
            for (int64_t dil = 1; dil <= 2; dil++)
                for (int64_t pad = 0; pad <= 2; pad++) {
                    const int64_t span = (KW - 1) * dil + 1, OW = (W + 2 * pad - span) / 2 + 1;
                    if (W + 2 * pad < span || OW < 1 || OW > 40) continue;
                    const int64_t sh = 1 + W % 2, OH = 3, H = (OH - 1) * sh + 2, offy = W % 3 - 1;
                    int64_t offx[16], lo[16], hi[16];
                    for (int kx = 0; kx < KW; kx++) {
                        offx[kx] = kx * dil - pad;
                        lo[kx] = offx[kx] < 0 ? (-offx[kx] + 1) / 2 : 0;
                        hi[kx] = W - 1 - offx[kx] >= 0 ? (W - 1 - offx[kx]) / 2 + 1 : 0;
                        if (hi[kx] > OW) hi[kx] = OW;
                        if (lo[kx] > hi[kx]) lo[kx] = hi[kx];
                    }
                    const int64_t ya = offy < 0 ? 1 : 0, yb = OH;
                    float *col = malloc(sizeof(float) * (size_t)(KW * OH * OW)), *a = malloc(sizeof(float) * (size_t)(H * W));
                    float *b = malloc(sizeof(float) * (size_t)(H * W));
                    for (int64_t i = 0; i < KW * OH * OW; i++) col[i] = sqz_rng_normal(&R) * 3.0f;
                    for (int64_t i = 0; i < H * W; i++) a[i] = b[i] = sqz_rng_normal(&R);
                    a[0] = b[0] = -0.0f; /* a -0 no tap reaches stays -0 */
                    for (int kx = 0; kx < KW; kx++)
                        for (int64_t oy = ya; oy < yb; oy++)
                            for (int64_t p = lo[kx]; p < hi[kx]; p++)
                                a[(oy * sh + offy) * W + 2 * p + offx[kx]] += col[(kx * OH + oy) * OW + p];
                    sqz_tv_col2im_w2__avx512(b, W, sh, offy, ya, yb, col, OH * OW, OW, KW, offx, lo, hi);
                    if (memcmp(a, b, sizeof(float) * (size_t)(H * W))) bad++;
                    cases++;
                    free(col), free(a), free(b);
                }
    CHECK_MSG(bad == 0 && cases > 300, "col2im w2: %d of %d cases differ", bad, cases);
}

/* Each test draws from its own fixed seed: a draw added to one test leaves the others' data as it
 * was (finite differences near a kink of Relu, Clip or MaxPool depend on the exact values). */
#define RUN(fn) (sqz_rng_seed(&R, 20240601), fn())

int main(void) {
    RUN(test_maxpool2x2_rule);
    RUN(test_col2im_w2);
    RUN(test_activations);
    RUN(test_pool_shape);
    RUN(test_arith);
    RUN(test_fresh_grads);
    RUN(test_conv);
    RUN(test_conv_residual);
    RUN(test_gemm_matmul);
    RUN(test_batchnorm);
    RUN(test_bn_act_fused);
    RUN(test_bn_add_fused);
    RUN(test_layernorm_dropout);
    RUN(test_end_to_end);
    RUN(test_determinism);
    RUN(test_conv_threads);
    RUN(test_conv_dw_inf);
    RUN(test_mask_quant);
    RUN(test_errors);
    TEST_MAIN_END();
}
