/* tests/unit/test_qdq.c - the load-time QDQ rewrite (src/graph/qdq.c): small QDQ graphs built
 * with the graph API, each built twice: one prepared without the optimizer (the reference: DQ,
 * fp32 operator, Q, run literally) and one prepared for inference (rewritten to QLinearConv,
 * QLinearMatMul, QLinearAdd, ...). Both run on the same inputs; the quantized outputs may differ
 * by at most one step, at under 2% of the elements. Negative cases must leave the graph as the
 * reference has it (same nodes, identical outputs). Also the operator extensions the rewrite
 * uses (QLinearMatMul's bias input, the sqz_y_min / sqz_y_max output clamp) against direct
 * loops, and malformed quantization parameters that must not crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;
static unsigned rng_state = 12345u;

static unsigned rnd_u(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) & 0xffffff;
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd_u() % (unsigned)(hi - lo + 1)); }
static float rnd_f(float lo, float hi) { return lo + (hi - lo) * (float)rnd_u() / 16777216.0f; }

/* ---- graph building ---- */

static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d) {
    int t = sqz_graph_add_tensor(g, name, dt, ndim, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}

static int act(sqz_graph *g, const char *name) { return tens(g, name, SQZ_DT_UNDEF, -1, NULL); }

static int input(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d) {
    int t = tens(g, name, dt, ndim, d);
    if (t >= 0) CHECK_OK(sqz_graph_add_input(g, t, &E), &E);
    return t;
}

/* Initializer of dtype dt from double values v[n]. */
static int init_vals(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d, const double *v) {
    int t = tens(g, name, dt, ndim, d);
    if (t < 0) return t;
    sqz_tensor *x = g->tensors[t];
    CHECK_OK(sqz_graph_alloc_data(g, x, &E), &E);
    x->flags |= SQZ_TF_INIT;
    int64_t n = sqz_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) sqz_tensor_set_f64(x, i, v[i]);
    return t;
}

static int scalar(sqz_graph *g, const char *name, sqz_dtype dt, double v) { return init_vals(g, name, dt, 0, NULL, &v); }

/* Random integer initializer in [lo, hi]. */
static int init_rand(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d, int lo, int hi) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= d[i];
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = rnd_int(lo, hi);
    int t = init_vals(g, name, dt, ndim, d, v);
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
    sqz_attr *a = n ? sqz_node_add_attr(g, n, name, SQZ_ATTR_INT) : NULL;
    if (a) a->i = v;
}

static void attr_float(sqz_graph *g, sqz_node *n, const char *name, float v) {
    sqz_attr *a = n ? sqz_node_add_attr(g, n, name, SQZ_ATTR_FLOAT) : NULL;
    if (a) a->f = v;
}

static void attr_ints(sqz_graph *g, sqz_node *n, const char *name, int cnt, const int64_t *v) {
    sqz_attr *a = n ? sqz_node_add_attr(g, n, name, SQZ_ATTR_INTS) : NULL;
    if (!a) return;
    a->n = cnt;
    a->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * (size_t)cnt, 8);
    if (a->ints) memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

/* out = DequantizeLinear(x, scale, zp) (zp < 0: omitted; axis >= 0: set). */
static int dq(sqz_graph *g, const char *name, int x, int s, int z, int axis) {
    int out = act(g, name);
    sqz_node *n = node(g, "DequantizeLinear", name, z >= 0 ? 3 : 2, (int[]){x, s, z}, 1, &out);
    if (axis >= 0) attr_int(g, n, "axis", axis);
    return out;
}

/* y = QuantizeLinear(v, scale, zp) (zp < 0: omitted, u8) */
static void quant(sqz_graph *g, const char *name, int v, int s, int z, int y) {
    node(g, "QuantizeLinear", name, z >= 0 ? 3 : 2, (int[]){v, s, z}, 1, &y);
}

/* ---- the optional activation between the operator and Q ---- */
enum { ACT_NONE, ACT_RELU, ACT_CLIP6, ACT_CLIP_BAD_ORDER, ACT_CLIP_INPUT_MAX, ACT_RELU_OUT_IS_OUTPUT };

/* Adds the activation after v; returns the tensor Q reads. Graph inputs / outputs it needs are added. */
static int add_act(sqz_graph *g, int kind, int v) {
    if (kind == ACT_NONE) return v;
    int r = act(g, "act_out");
    if (kind == ACT_RELU || kind == ACT_RELU_OUT_IS_OUTPUT) {
        node(g, "Relu", "relu", 1, &v, 1, &r);
        if (kind == ACT_RELU_OUT_IS_OUTPUT) CHECK_OK(sqz_graph_add_output(g, r, &E), &E);
        return r;
    }
    int lo, hi;
    if (kind == ACT_CLIP_INPUT_MAX) {
        lo = scalar(g, "clip_min", SQZ_DT_F32, 0.0);
        hi = input(g, "clip_max", SQZ_DT_F32, 0, NULL);
    } else {
        lo = scalar(g, "clip_min", SQZ_DT_F32, kind == ACT_CLIP_BAD_ORDER ? 1.0 : 0.0);
        hi = scalar(g, "clip_max", SQZ_DT_F32, kind == ACT_CLIP_BAD_ORDER ? 0.5 : 6.0);
    }
    node(g, "Clip", "clip", 3, (int[]){v, lo, hi}, 1, &r);
    return r;
}

/* ---- running and comparing ---- */

static int count_ops(const sqz_graph *g, const char *type) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += !strcmp(g->nodes[k]->op_type, type);
    return c;
}

/* Random inputs for every graph input of g (u8/i8 full range, f32 in [0, 8)). */
static int make_inputs(const sqz_graph *g, sqz_tensor *x, int max) {
    int n = 0;
    for (int i = 0; i < g->n_inputs && n < max; i++, n++) {
        const sqz_tensor *d = g->tensors[g->inputs[i]];
        CHECK_OK(sqz_tensor_init_owned(&x[n], "", d->dtype, d->ndim, d->dims, &E), &E);
        int64_t cnt = sqz_tensor_numel(&x[n]);
        for (int64_t j = 0; j < cnt; j++) {
            double v = d->dtype == SQZ_DT_U8 ? rnd_int(0, 255) : d->dtype == SQZ_DT_I8 ? rnd_int(-128, 127)
                                                                                        : rnd_f(0.0f, 8.0f);
            sqz_tensor_set_f64(&x[n], j, v);
        }
    }
    return n;
}

/* Runs ref and opt on the same random inputs. exact: outputs identical; else quantized outputs
 * within one step at < 2% of the elements (and f32 outputs identical). */
static void compare_runs(const sqz_graph *ref, const sqz_graph *opt, int exact, const char *what) {
    sqz_tensor x[8];
    memset(x, 0, sizeof x);
    int nx = make_inputs(ref, x, 8);
    const sqz_tensor *in[8];
    for (int i = 0; i < nx; i++) in[i] = &x[i];
    sqz_session *a = NULL, *b = NULL;
    CHECK_OK(sqz_session_new(ref, NULL, &a, &E), &E);
    CHECK_OK(sqz_session_new(opt, NULL, &b, &E), &E);
    if (!a || !b) goto out;
    CHECK_OK(sqz_session_run(a, nx, in, &E), &E);
    CHECK_OK(sqz_session_run(b, nx, in, &E), &E);
    CHECK_MSG(ref->n_outputs == opt->n_outputs, "%s: output count", what);
    for (int i = 0; i < ref->n_outputs && i < opt->n_outputs; i++) {
        const sqz_tensor *u = sqz_session_output(a, i), *v = sqz_session_output(b, i);
        if (!u || !v) {
            CHECK_MSG(0, "%s: output %d missing", what, i);
            continue;
        }
        int64_t n = sqz_tensor_numel(u);
        CHECK_MSG(n == sqz_tensor_numel(v) && u->dtype == v->dtype && u->ndim == v->ndim, "%s: output %d shape",
                  what, i);
        if (n != sqz_tensor_numel(v) || u->dtype != v->dtype) continue;
        if (exact || (u->dtype != SQZ_DT_U8 && u->dtype != SQZ_DT_I8)) {
            CHECK_MSG(!memcmp(u->data, v->data, u->nbytes), "%s: output %d differs", what, i);
            continue;
        }
        double maxd = 0;
        int64_t off = 0;
        int seen[256] = {0}, distinct = 0;
        for (int64_t j = 0; j < n; j++) {
            double p = sqz_tensor_get_f64(u, j), q = sqz_tensor_get_f64(v, j);
            maxd = fabs(p - q) > maxd ? fabs(p - q) : maxd;
            off += p != q;
            int bucket = (int)p & 255;
            distinct += !seen[bucket]++;
        }
        CHECK_MSG(maxd <= 1, "%s: output %d differs by %g quantization steps", what, i, maxd);
        CHECK_MSG((double)off < 0.02 * (double)n, "%s: output %d: %lld of %lld elements differ", what, i,
                  (long long)off, (long long)n);
        /* a test that would pass on a constant output proves nothing */
        CHECK_MSG(distinct >= (n >= 64 ? 16 : 4), "%s: output %d has only %d distinct values", what, i, distinct);
    }
out:
    sqz_session_free(a);
    sqz_session_free(b);
    for (int i = 0; i < nx; i++) sqz_tensor_release(&x[i]);
}

/* Same op types in the same order. */
static int same_nodes(const sqz_graph *a, const sqz_graph *b) {
    if (a->n_nodes != b->n_nodes) return 0;
    for (int k = 0; k < a->n_nodes; k++)
        if (strcmp(a->nodes[k]->op_type, b->nodes[k]->op_type)) return 0;
    return 1;
}

typedef struct expect {
    const char *op; /* the integer op it must become, NULL: the graph must stay as it is */
    int dq_left;    /* DequantizeLinear nodes left in the optimized graph */
    int q_left;     /* QuantizeLinear nodes left */
    const char *attr; /* an attribute the rewritten node must carry, or NULL */
} expect;

static void check_case(sqz_graph *(*build)(const void *), const void *cfg, expect ex, const char *what) {
    unsigned seed = rng_state;
    sqz_graph *ref = build(cfg);
    rng_state = seed; /* the same initializers */
    sqz_graph *opt = build(cfg);
    if (!ref || !opt) {
        CHECK_MSG(0, "%s: build failed", what);
        sqz_graph_free(ref);
        sqz_graph_free(opt);
        return;
    }
    CHECK_OK(sqz_graph_prepare(ref, &E), &E);
    CHECK_OK(sqz_graph_prepare_inference(opt, &E), &E);
    CHECK_OK(sqz_graph_verify(opt, &E), &E);
    if (ex.op) {
        CHECK_MSG(count_ops(opt, ex.op) == 1, "%s: %d %s nodes", what, count_ops(opt, ex.op), ex.op);
        const char *fp[] = {"Conv", "MatMul", "Gemm", "Add", "GlobalAveragePool", "Relu", "Clip"};
        for (int i = 0; i < 7; i++)
            if (strcmp(fp[i], ex.op)) CHECK_MSG(count_ops(opt, fp[i]) == 0, "%s: a %s is left", what, fp[i]);
        CHECK_MSG(count_ops(opt, "DequantizeLinear") == ex.dq_left, "%s: %d DequantizeLinear left", what,
                  count_ops(opt, "DequantizeLinear"));
        CHECK_MSG(count_ops(opt, "QuantizeLinear") == ex.q_left, "%s: %d QuantizeLinear left", what,
                  count_ops(opt, "QuantizeLinear"));
        if (ex.attr) {
            int found = 0;
            for (int k = 0; k < opt->n_nodes; k++)
                if (!strcmp(opt->nodes[k]->op_type, ex.op)) found = sqz_node_attr(opt->nodes[k], ex.attr) != NULL;
            CHECK_MSG(found, "%s: no attribute %s", what, ex.attr);
        }
        compare_runs(ref, opt, 0, what);
        /* optimizing again changes nothing */
        int nn = opt->n_nodes, nt = opt->n_tensors;
        CHECK_OK(sqz_graph_optimize(opt, &E), &E);
        CHECK_MSG(opt->n_nodes == nn && opt->n_tensors == nt, "%s: second optimize changed the graph", what);
    } else {
        CHECK_MSG(same_nodes(ref, opt), "%s: the graph was rewritten (%d nodes, %d before)", what, opt->n_nodes,
                  ref->n_nodes);
        CHECK_MSG(count_ops(opt, "QLinearConv") + count_ops(opt, "QLinearMatMul") + count_ops(opt, "QLinearAdd") ==
                      0,
                  "%s: an integer op appeared", what);
        compare_runs(ref, opt, 1, what);
    }
    sqz_graph_free(ref);
    sqz_graph_free(opt);
}

/* ---- Conv ---- */

enum { BIAS_NONE, BIAS_DQ_I32, BIAS_F32, BIAS_DQ_I32_OTHER_SCALE, BIAS_F32_HUGE };

typedef struct conv_case {
    sqz_dtype xdt, wdt, ydt;
    int rank; /* 4: 2-D, 3: 1-D, 5: 3-D */
    int64_t N, C, H, W, M, k;
    int group, stride, pad, dil;
    int per_channel, w_zp; /* w_zp: weights have a nonzero zero point */
    int bias, act, y_zp;
    /* negative cases */
    int conv_out_twice, xscale_input, w_axis1, dq_shared, yscale_bad;
} conv_case;

static sqz_graph *build_conv(const void *p) {
    const conv_case *c = p;
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    const int nsp = c->rank - 2;
    int64_t xd[5] = {c->N, c->C, c->H, c->W, c->W}, wd[5] = {c->M, c->C / c->group, c->k, c->k, c->k};
    if (nsp == 1) xd[2] = c->W;
    const int xq = input(g, "x_q", c->xdt, c->rank, xd);
    const int x_zp = c->xdt == SQZ_DT_U8 ? 121 : -3;
    const float xs = 0.02f;
    const int xs_t = c->xscale_input ? input(g, "x_scale", SQZ_DT_F32, 0, NULL) : scalar(g, "x_scale", SQZ_DT_F32, xs);
    const int xf = dq(g, "x_dq", xq, xs_t, scalar(g, "x_zp", c->xdt, x_zp), -1);
    /* weights */
    const int wq = c->wdt == SQZ_DT_I8 ? init_rand(g, "w_q", SQZ_DT_I8, c->rank, wd, -127, 127)
                                       : init_rand(g, "w_q", SQZ_DT_U8, c->rank, wd, 0, 255);
    const int64_t nch = c->w_axis1 ? wd[1] : c->M;
    double ws[64], wz[64];
    for (int64_t m = 0; m < nch; m++) {
        ws[m] = c->per_channel || c->w_axis1 ? 0.003 + 0.0007 * (double)(m % 7) : 0.004;
        ws[m] = (float)ws[m];
        wz[m] = c->wdt == SQZ_DT_U8 ? (c->w_zp ? 120 + (double)(m % 5) : 128) : (c->w_zp ? (double)(m % 3) - 1 : 0);
    }
    int wf;
    if (c->per_channel || c->w_axis1) {
        const int ws_t = init_vals(g, "w_scale", SQZ_DT_F32, 1, &nch, ws);
        const int wz_t = init_vals(g, "w_zp", c->wdt, 1, &nch, wz);
        wf = dq(g, "w_dq", wq, ws_t, wz_t, c->w_axis1 ? 1 : 0);
    } else {
        wf = dq(g, "w_dq", wq, scalar(g, "w_scale", SQZ_DT_F32, ws[0]), scalar(g, "w_zp", c->wdt, wz[0]), -1);
    }
    /* bias */
    int bf = -1;
    if (c->bias != BIAS_NONE) {
        double bv[64], bs[64];
        for (int64_t m = 0; m < c->M; m++) {
            const double wsm = c->per_channel ? ws[m] : ws[0];
            bs[m] = c->bias == BIAS_DQ_I32_OTHER_SCALE ? (float)(xs * wsm * 2.5) : (float)(xs * (float)wsm);
            bv[m] = c->bias == BIAS_F32 ? rnd_f(-0.6f, 0.6f) : c->bias == BIAS_F32_HUGE ? 1e6 : rnd_int(-3000, 3000);
        }
        if (c->bias == BIAS_F32 || c->bias == BIAS_F32_HUGE) {
            bf = init_vals(g, "b", SQZ_DT_F32, 1, &c->M, bv);
        } else {
            const int bq = init_vals(g, "b_q", SQZ_DT_I32, 1, &c->M, bv);
            const int bs_t = init_vals(g, "b_scale", SQZ_DT_F32, 1, &c->M, bs);
            bf = dq(g, "b_dq", bq, bs_t, -1, 0);
        }
    }
    const int cv = act(g, "conv_out");
    sqz_node *n = node(g, "Conv", "conv", bf >= 0 ? 3 : 2, (int[]){xf, wf, bf}, 1, &cv);
    if (c->group > 1) attr_int(g, n, "group", c->group);
    int64_t v[3] = {c->stride, c->stride, c->stride};
    if (c->stride > 1) attr_ints(g, n, "strides", nsp, v);
    v[0] = v[1] = v[2] = c->dil;
    if (c->dil > 1) attr_ints(g, n, "dilations", nsp, v);
    int64_t pads[6] = {c->pad, c->pad, c->pad, c->pad, c->pad, c->pad};
    if (c->pad) attr_ints(g, n, "pads", 2 * nsp, pads);
    const int r = add_act(g, c->act, cv);
    const int y = act(g, "y_q");
    const double ys = c->yscale_bad == 1 ? 0.0 : c->yscale_bad == 2 ? NAN : c->yscale_bad == 3 ? -0.03 : 0.03;
    quant(g, "q", r, scalar(g, "y_scale", SQZ_DT_F32, ys), scalar(g, "y_zp", c->ydt, c->y_zp), y);
    CHECK_OK(sqz_graph_add_output(g, y, &E), &E);
    if (c->conv_out_twice) { /* the fp32 conv output also feeds a Sigmoid (a graph output) */
        const int s = act(g, "side");
        node(g, "Sigmoid", "side", 1, &cv, 1, &s);
        CHECK_OK(sqz_graph_add_output(g, s, &E), &E);
    }
    if (c->dq_shared) { /* the input's DQ output also feeds an Abs (a graph output) */
        const int s = act(g, "x_abs");
        node(g, "Abs", "abs", 1, &xf, 1, &s);
        CHECK_OK(sqz_graph_add_output(g, s, &E), &E);
    }
    return g;
}

static const conv_case CONV_BASE = {.xdt = SQZ_DT_U8, .wdt = SQZ_DT_I8, .ydt = SQZ_DT_U8, .rank = 4, .N = 2, .C = 3,
                                    .H = 9, .W = 8, .M = 5, .k = 3, .group = 1, .stride = 1, .dil = 1, .y_zp = 128};

static void test_conv(void) {
    const expect QLC = {"QLinearConv", 0, 0, NULL};
    conv_case c = CONV_BASE;
    check_case(build_conv, &c, QLC, "conv u8 x s8, per tensor");
    c.pad = 1;
    c.per_channel = 1;
    c.bias = BIAS_DQ_I32;
    check_case(build_conv, &c, QLC, "conv per channel, i32 bias, pads");
    c.bias = BIAS_F32;
    c.xdt = SQZ_DT_I8;
    c.ydt = SQZ_DT_I8;
    c.y_zp = -5;
    c.act = ACT_RELU;
    check_case(build_conv, &c, (expect){"QLinearConv", 0, 0, "sqz_y_min"}, "conv s8 x s8, f32 bias, Relu");
    c = CONV_BASE;
    c.wdt = SQZ_DT_U8;
    c.w_zp = 1;
    c.per_channel = 1;
    c.y_zp = 20;
    c.act = ACT_CLIP6;
    check_case(build_conv, &c, (expect){"QLinearConv", 0, 0, "sqz_y_max"}, "conv u8 x u8 (zero points), Clip(0, 6)");
    c = CONV_BASE;
    c.xdt = SQZ_DT_I8;
    c.ydt = SQZ_DT_I8;
    c.y_zp = 0;
    c.C = c.M = c.group = 6;
    c.stride = 2;
    c.pad = 1;
    c.per_channel = 1;
    c.bias = BIAS_DQ_I32_OTHER_SCALE;
    check_case(build_conv, &c, QLC, "depthwise conv s8, stride 2, i32 bias of another scale");
    c = CONV_BASE;
    c.C = 4;
    c.M = 6;
    c.group = 2;
    c.dil = 2;
    c.bias = BIAS_F32;
    c.act = ACT_RELU;
    c.y_zp = 0; /* Relu is free: the u8 range already starts at the zero point */
    check_case(build_conv, &c, QLC, "grouped dilated conv, Relu at zero point 0");
    c = CONV_BASE;
    c.rank = 3;
    c.W = 20;
    c.per_channel = 1;
    check_case(build_conv, &c, QLC, "1-D conv");
    c = CONV_BASE;
    c.dq_shared = 1;
    check_case(build_conv, &c, (expect){"QLinearConv", 1, 0, NULL}, "conv whose input DQ is also read elsewhere");
}

static void test_conv_kept(void) {
    const expect KEEP = {NULL, 0, 0, NULL};
    conv_case c = CONV_BASE;
    c.conv_out_twice = 1;
    check_case(build_conv, &c, KEEP, "conv output read twice");
    c = CONV_BASE;
    c.act = ACT_RELU_OUT_IS_OUTPUT;
    check_case(build_conv, &c, KEEP, "Relu output is a graph output");
    c = CONV_BASE;
    c.xscale_input = 1;
    check_case(build_conv, &c, KEEP, "x_scale is a graph input");
    c = CONV_BASE;
    c.act = ACT_CLIP_INPUT_MAX;
    check_case(build_conv, &c, KEEP, "Clip max is a graph input");
    c = CONV_BASE;
    c.act = ACT_CLIP_BAD_ORDER;
    check_case(build_conv, &c, KEEP, "Clip min > max");
    c = CONV_BASE;
    c.C = c.M = 4;
    c.w_axis1 = 1;
    check_case(build_conv, &c, KEEP, "weights quantized along axis 1");
    c = CONV_BASE;
    c.bias = BIAS_F32_HUGE;
    check_case(build_conv, &c, KEEP, "bias beyond the int32 headroom");
    c = CONV_BASE;
    c.rank = 5;
    c.H = c.W = 5;
    c.k = 2;
    check_case(build_conv, &c, KEEP, "3-D conv (QLinearConv is 1-D and 2-D)");
    c = CONV_BASE;
    c.yscale_bad = 1;
    check_case(build_conv, &c, KEEP, "y_scale 0");
    c.yscale_bad = 3;
    check_case(build_conv, &c, KEEP, "negative y_scale");
}

/* Malformed quantization parameters: prepare fails cleanly or the graph stays as it is. */
static void test_malformed(void) {
    conv_case c = CONV_BASE;
    c.yscale_bad = 2; /* NaN y_scale: nothing to rewrite; both runs give the same (saturated) bytes */
    check_case(build_conv, &c, (expect){NULL, 0, 0, NULL}, "NaN y_scale");
    /* a per-tensor DQ whose zero point has two elements: shape inference reports it */
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {2, 2, 1, 1}, two = 2;
    int xq = input(g, "x_q", SQZ_DT_U8, 4, xd);
    int xf = dq(g, "x_dq", xq, scalar(g, "xs", SQZ_DT_F32, 0.1), init_vals(g, "xz", SQZ_DT_U8, 1, &two, (double[]){1, 2}),
                -1);
    int wf = dq(g, "w_dq", init_rand(g, "w", SQZ_DT_I8, 4, wd, -9, 9), scalar(g, "ws", SQZ_DT_F32, 0.1), -1, -1);
    int cv = act(g, "cv"), y = act(g, "y");
    node(g, "Conv", "conv", 2, (int[]){xf, wf}, 1, &cv);
    quant(g, "q", cv, scalar(g, "ys", SQZ_DT_F32, 0.1), scalar(g, "yz", SQZ_DT_U8, 0), y);
    sqz_graph_add_output(g, y, &E);
    sqz_status st = sqz_graph_prepare_inference(g, &E);
    CHECK_MSG(st == SQZ_ERR_DATA, "malformed zero point: %s (%s)", sqz_status_str(st), E.msg);
    sqz_graph_free(g);
}

/* ---- MatMul / Gemm ---- */

typedef struct mm_case {
    sqz_dtype xdt, wdt, ydt;
    int gemm, transB, a_rank3, per_channel, bias, act, y_zp;
    int64_t rows, K, N;
    float alpha;
} mm_case;

static sqz_graph *build_mm(const void *p) {
    const mm_case *c = p;
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t ad[3] = {c->rows, c->K, 0};
    if (c->a_rank3) {
        ad[0] = 2;
        ad[1] = c->rows;
        ad[2] = c->K;
    }
    const int aq = input(g, "a_q", c->xdt, c->a_rank3 ? 3 : 2, ad);
    const float as = 0.015f;
    const int af = dq(g, "a_dq", aq, scalar(g, "a_scale", SQZ_DT_F32, as),
                      scalar(g, "a_zp", c->xdt, c->xdt == SQZ_DT_U8 ? 100 : 7), -1);
    int64_t bd[2] = {c->K, c->N};
    if (c->transB) {
        bd[0] = c->N;
        bd[1] = c->K;
    }
    const int bq = c->wdt == SQZ_DT_I8 ? init_rand(g, "b_q", SQZ_DT_I8, 2, bd, -127, 127)
                                       : init_rand(g, "b_q", SQZ_DT_U8, 2, bd, 0, 255);
    double bs[64], bz[64];
    for (int64_t j = 0; j < c->N; j++) {
        bs[j] = (float)(c->per_channel ? 0.002 + 0.0005 * (double)(j % 5) : 0.003);
        bz[j] = c->wdt == SQZ_DT_U8 ? 127 + (double)(j % 3) : 0;
    }
    int bf;
    if (c->per_channel) {
        int64_t n = c->N;
        bf = dq(g, "b_dq", bq, init_vals(g, "b_scale", SQZ_DT_F32, 1, &n, bs), init_vals(g, "b_zp", c->wdt, 1, &n, bz),
                c->transB ? 0 : 1);
    } else {
        bf = dq(g, "b_dq", bq, scalar(g, "b_scale", SQZ_DT_F32, bs[0]), scalar(g, "b_zp", c->wdt, bz[0]), -1);
    }
    int cf = -1;
    if (c->bias) {
        double cv[64], cs[64];
        const int64_t n = c->bias == 3 ? 1 : c->N;
        for (int64_t j = 0; j < n; j++) {
            cv[j] = c->bias == 1 ? rnd_int(-5000, 5000) : rnd_f(-0.5f, 0.5f);
            cs[j] = (float)(as * (float)bs[j]);
        }
        if (c->bias == 1)
            cf = dq(g, "c_dq", init_vals(g, "c_q", SQZ_DT_I32, 1, &n, cv), init_vals(g, "c_scale", SQZ_DT_F32, 1, &n, cs),
                    -1, 0);
        else
            cf = init_vals(g, "c", SQZ_DT_F32, c->bias == 2 ? 2 : 1, c->bias == 2 ? (int64_t[]){1, n} : &n, cv);
    }
    const int mo = act(g, "mm_out");
    if (c->gemm) {
        sqz_node *n = node(g, "Gemm", "gemm", cf >= 0 ? 3 : 2, (int[]){af, bf, cf}, 1, &mo);
        if (c->transB) attr_int(g, n, "transB", 1);
        if (c->alpha != 0.0f) attr_float(g, n, "alpha", c->alpha);
    } else {
        node(g, "MatMul", "matmul", 2, (int[]){af, bf}, 1, &mo);
    }
    const int r = add_act(g, c->act, mo);
    const int y = act(g, "y_q");
    quant(g, "q", r, scalar(g, "y_scale", SQZ_DT_F32, 0.04), scalar(g, "y_zp", c->ydt, c->y_zp), y);
    CHECK_OK(sqz_graph_add_output(g, y, &E), &E);
    return g;
}

static void test_matmul(void) {
    const expect QMM = {"QLinearMatMul", 0, 0, NULL};
    mm_case c = {.xdt = SQZ_DT_U8, .wdt = SQZ_DT_I8, .ydt = SQZ_DT_U8, .rows = 7, .K = 24, .N = 10, .y_zp = 128};
    check_case(build_mm, &c, QMM, "MatMul u8 x s8, per tensor");
    c.per_channel = 1;
    c.a_rank3 = 1;
    c.xdt = SQZ_DT_I8;
    check_case(build_mm, &c, QMM, "MatMul s8 [2,7,24] x per-column s8");
    c = (mm_case){.xdt = SQZ_DT_U8, .wdt = SQZ_DT_I8, .ydt = SQZ_DT_U8, .rows = 5, .K = 33, .N = 9, .y_zp = 90,
                  .gemm = 1, .transB = 1, .per_channel = 1, .bias = 2, .act = ACT_RELU};
    check_case(build_mm, &c, (expect){"QLinearMatMul", 0, 0, "sqz_y_min"}, "Gemm transB, f32 bias [1,N], Relu");
    c.transB = 0;
    c.bias = 1;
    c.act = ACT_NONE;
    c.wdt = SQZ_DT_U8;
    c.ydt = SQZ_DT_I8;
    c.y_zp = 3;
    check_case(build_mm, &c, QMM, "Gemm u8 weights, i32 bias");
    c.bias = 3;
    c.act = ACT_CLIP6;
    c.per_channel = 0;
    check_case(build_mm, &c, QMM, "Gemm scalar f32 bias, Clip(0, 6)");
    c.alpha = 0.5f;
    check_case(build_mm, &c, (expect){NULL, 0, 0, NULL}, "Gemm alpha 0.5 (kept)");
}

/* QLinearMatMul's bias input and the output clamp attributes against a direct loop. */
static void test_qlinear_extensions(void) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t ad[2] = {3, 4}, bd[2] = {4, 2}, two = 2;
    const int a = input(g, "a", SQZ_DT_U8, 2, ad);
    const double bv[8] = {1, -2, 3, 4, -5, 6, 7, -8}, bias[2] = {50, -70};
    const int in[9] = {a, scalar(g, "as", SQZ_DT_F32, 0.5), scalar(g, "az", SQZ_DT_U8, 10),
                       init_vals(g, "b", SQZ_DT_I8, 2, bd, bv), scalar(g, "bs", SQZ_DT_F32, 0.25),
                       scalar(g, "bz", SQZ_DT_I8, 0), scalar(g, "ys", SQZ_DT_F32, 8.0), scalar(g, "yz", SQZ_DT_U8, 100),
                       init_vals(g, "bias", SQZ_DT_I32, 1, &two, bias)};
    const int y = act(g, "y");
    sqz_node *n = node(g, "QLinearMatMul", "qmm", 9, in, 1, &y);
    attr_int(g, n, "sqz_y_min", 95);
    attr_int(g, n, "sqz_y_max", 104);
    sqz_graph_add_output(g, y, &E);
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    sqz_tensor x;
    CHECK_OK(sqz_tensor_init_owned(&x, "", SQZ_DT_U8, 2, ad, &E), &E);
    for (int i = 0; i < 12; i++) ((uint8_t *)x.data)[i] = (uint8_t)(i * 21 % 256);
    const sqz_tensor *xin[1] = {&x};
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (s && !sqz_session_run(s, 1, xin, &E)) {
        const uint8_t *got = sqz_session_output(s, 0)->data;
        int clamped = 0, biased = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) {
                int acc = 0;
                for (int k = 0; k < 4; k++) acc += (((uint8_t *)x.data)[i * 4 + k] - 10) * (int)bv[k * 2 + j];
                const double f = nearbyint((acc + bias[j]) * 0.5 * 0.25 / 8.0) + 100;
                const double want = f < 95 ? 95 : f > 104 ? 104 : f;
                clamped += want != f;
                biased += want != nearbyint(acc * 0.5 * 0.25 / 8.0) + 100;
                CHECK_MSG(got[i * 2 + j] == want, "qmm[%d,%d] = %d, want %g", i, j, got[i * 2 + j], want);
            }
        /* a test that cannot see a missing clamp or bias proves nothing */
        CHECK_MSG(clamped > 0 && biased > 0, "%d elements clamped, %d changed by the bias", clamped, biased);
    } else {
        CHECK_MSG(0, "QLinearMatMul with bias: %s", E.msg);
    }
    sqz_session_free(s);
    sqz_tensor_release(&x);
    /* a clamp attribute of the wrong type, or an empty range, is an error, not a crash */
    n->attrs[n->n_attrs - 1].type = SQZ_ATTR_FLOAT;
    CHECK(sqz_graph_infer_shapes(g, &E) == SQZ_ERR_DATA);
    n->attrs[n->n_attrs - 1].type = SQZ_ATTR_INT;
    n->attrs[n->n_attrs - 1].i = 90; /* max < min */
    CHECK(sqz_graph_infer_shapes(g, &E) == SQZ_ERR_DATA);
    sqz_graph_free(g);
}

/* ---- Add, GlobalAveragePool, MaxPool ---- */

typedef struct misc_case {
    int kind; /* 0 Add (+ Relu), 1 GlobalAveragePool, 2 MaxPool, 3 MaxPool with another y_scale,
               * 4 Flatten, 5 Transpose with another zero point */
    sqz_dtype dt;
} misc_case;

static sqz_graph *build_misc(const void *p) {
    const misc_case *c = p;
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int64_t xd[4] = {2, 3, 6, 7};
    const int lo = c->dt == SQZ_DT_U8 ? 0 : -128;
    const int xq = input(g, "x_q", c->dt, 4, xd);
    const int xf = dq(g, "x_dq", xq, scalar(g, "x_scale", SQZ_DT_F32, 0.05), scalar(g, "x_zp", c->dt, lo + 120), -1);
    const int v = act(g, "v"), y = act(g, "y_q");
    int ys = scalar(g, "y_scale", SQZ_DT_F32, c->kind == 0 ? 0.07 : c->kind == 1 ? 0.01 : c->kind == 3 ? 0.06 : 0.05);
    int yz = scalar(g, "y_zp", c->dt, c->kind == 1 ? lo + 128 : c->kind == 5 ? lo + 121 : lo + 120);
    int r = v;
    if (c->kind == 0) {
        int64_t bd[4] = {1, 3, 1, 7};
        const int bq = init_rand(g, "b_q", c->dt, 4, bd, lo, lo + 255);
        const int bf = dq(g, "b_dq", bq, scalar(g, "b_scale", SQZ_DT_F32, 0.03), scalar(g, "b_zp", c->dt, lo + 130), -1);
        node(g, "Add", "add", 2, (int[]){xf, bf}, 1, &v);
        r = add_act(g, ACT_RELU, v);
    } else if (c->kind == 1) {
        node(g, "GlobalAveragePool", "gap", 1, &xf, 1, &v);
    } else if (c->kind == 4) {
        node(g, "Flatten", "flatten", 1, &xf, 1, &v);
    } else if (c->kind == 5) {
        attr_ints(g, node(g, "Transpose", "transpose", 1, &xf, 1, &v), "perm", 4, (int64_t[]){0, 2, 3, 1});
    } else {
        sqz_node *n = node(g, "MaxPool", "pool", 1, &xf, 1, &v);
        attr_ints(g, n, "kernel_shape", 2, (int64_t[]){3, 3});
        attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
        attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    }
    quant(g, "q", r, ys, yz, y);
    CHECK_OK(sqz_graph_add_output(g, y, &E), &E);
    return g;
}

static void test_misc(void) {
    check_case(build_misc, &(misc_case){0, SQZ_DT_U8}, (expect){"QLinearAdd", 0, 0, "sqz_y_min"}, "Add u8 + Relu");
    check_case(build_misc, &(misc_case){0, SQZ_DT_I8}, (expect){"QLinearAdd", 0, 0, "sqz_y_min"}, "Add s8 + Relu");
    check_case(build_misc, &(misc_case){1, SQZ_DT_U8}, (expect){"QLinearGlobalAveragePool", 0, 0, NULL}, "GAP u8");
    check_case(build_misc, &(misc_case){1, SQZ_DT_I8}, (expect){"QLinearGlobalAveragePool", 0, 0, NULL}, "GAP s8");
    for (int i = 0; i < 4; i++) {
        /* MaxPool and Flatten on the int8 tensor: exact */
        misc_case mc = {i < 2 ? 2 : 4, i & 1 ? SQZ_DT_I8 : SQZ_DT_U8};
        const char *op = i < 2 ? "MaxPool" : "Flatten";
        sqz_graph *ref = build_misc(&mc), *opt = build_misc(&mc);
        CHECK_OK(sqz_graph_prepare(ref, &E), &E);
        CHECK_OK(sqz_graph_prepare_inference(opt, &E), &E);
        CHECK_MSG(opt->n_nodes == 1 && count_ops(opt, op) == 1, "int8 %s: %d nodes", op, opt->n_nodes);
        compare_runs(ref, opt, 1, op);
        sqz_graph_free(ref);
        sqz_graph_free(opt);
    }
    check_case(build_misc, &(misc_case){3, SQZ_DT_U8}, (expect){NULL, 0, 0, NULL}, "MaxPool with another y_scale");
    check_case(build_misc, &(misc_case){5, SQZ_DT_I8}, (expect){NULL, 0, 0, NULL},
               "Transpose with another zero point");
}

int main(void) {
    test_conv();
    test_conv_kept();
    test_malformed();
    test_matmul();
    test_qlinear_extensions();
    test_misc();
    TEST_MAIN_END();
}
