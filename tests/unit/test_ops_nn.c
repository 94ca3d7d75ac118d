/* Unit tests for the nn operators (conv, conv-transpose, gemm, matmul, pools, norms, softmax):
 * each op runs through its infer + forward on hand-built contexts and is compared with literal
 * ONNX examples or with naive loops written here. */
#include <stdlib.h>

#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"

/* ---- a tiny harness around one node ---- */
typedef struct tnode {
    sqz_graph *g;
    sqz_node *node;
    sqz_tensor in[6], out[3];
    sqz_tensor *inp[6], *outp[3];
    int n_in, n_out;
    int64_t opset;
    sqz_err err;
} tnode;

static void t_begin(tnode *t, const char *op_type, int64_t opset) {
    memset(t, 0, sizeof *t);
    t->g = sqz_graph_new();
    int idx = sqz_graph_add_node(t->g, op_type, "n0", 0, NULL, 0, NULL, &t->err);
    t->node = idx >= 0 ? t->g->nodes[idx] : NULL;
    t->opset = opset;
}

/* Input i with the given shape; values from vals (doubles) or zeros. dt may be f32/f64/u8... */
static sqz_tensor *t_in(tnode *t, int i, sqz_dtype dt, int ndim, const int64_t *dims, const double *vals) {
    sqz_tensor_init_owned(&t->in[i], "x", dt, ndim, dims, &t->err);
    if (vals)
        for (int64_t k = 0; k < sqz_tensor_numel(&t->in[i]); k++) sqz_tensor_set_f64(&t->in[i], k, vals[k]);
    t->inp[i] = &t->in[i];
    if (i + 1 > t->n_in) t->n_in = i + 1;
    return &t->in[i];
}

static void t_omit(tnode *t, int i) {
    t->inp[i] = NULL;
    if (i + 1 > t->n_in) t->n_in = i + 1;
}

static void t_int(tnode *t, const char *name, int64_t v) { sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INT)->i = v; }
static void t_float(tnode *t, const char *name, float v) { sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_FLOAT)->f = v; }
static void t_str(tnode *t, const char *name, const char *s) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_STRING);
    a->s = sqz_arena_strdup(t->g->arena, s);
    a->s_len = strlen(s);
}
static void t_ints(tnode *t, const char *name, int n, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INTS);
    a->n = n;
    a->ints = sqz_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)(n ? n : 1), 8);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static sqz_opctx t_ctx(tnode *t) {
    sqz_opctx c = {.node = t->node, .in = t->inp, .n_in = t->n_in, .out = t->outp, .n_out = t->n_out,
                   .opset = t->opset, .threads = 1, .scratch = NULL, .err = &t->err};
    return c;
}

/* Runs infer; n_out outputs (mask bit k clear = omitted). Returns the status of infer. */
static sqz_status t_infer(tnode *t, int n_out, unsigned mask) {
    t->n_out = n_out;
    for (int k = 0; k < 3; k++) {
        if (t->out[k].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->out[k]);
        memset(&t->out[k], 0, sizeof t->out[k]);
    }
    for (int k = 0; k < n_out; k++) {
        t->outp[k] = (mask >> k) & 1 ? &t->out[k] : NULL;
    }
    const sqz_op *op = sqz_op_find("", t->node->op_type);
    if (!op) return sqz_err_set(&t->err, SQZ_ERR_UNSUPPORTED, "no op %s", t->node->op_type);
    sqz_opctx c = t_ctx(t);
    return op->infer(&c);
}

/* infer + allocate outputs + forward (with runtime-provided scratch when the op asks). */
static sqz_status t_run(tnode *t, int n_out, unsigned mask) {
    sqz_status st = t_infer(t, n_out, mask);
    if (st) return st;
    for (int k = 0; k < n_out; k++) {
        if (!t->outp[k]) continue;
        sqz_tensor s = t->out[k];
        if ((st = sqz_tensor_init_owned(&t->out[k], "y", s.dtype, s.ndim, s.dims, &t->err))) return st;
    }
    const sqz_op *op = sqz_op_find("", t->node->op_type);
    sqz_opctx c = t_ctx(t);
    size_t sb = op->scratch_bytes ? op->scratch_bytes(&c) : 0;
    void *scratch = sb ? malloc(sb) : NULL;
    c.scratch = scratch;
    st = op->forward(&c);
    free(scratch);
    return st;
}

static int64_t t_macs(tnode *t) {
    const sqz_op *op = sqz_op_find("", t->node->op_type);
    sqz_opctx c = t_ctx(t);
    return op->macs ? op->macs(&c) : -1;
}

static void t_end(tnode *t) {
    for (int i = 0; i < 6; i++) sqz_tensor_release(&t->in[i]);
    for (int k = 0; k < 3; k++)
        if (t->out[k].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->out[k]);
    sqz_graph_free(t->g);
}

static double outv(tnode *t, int k, int64_t i) { return sqz_tensor_get_f64(&t->out[k], i); }

static int shape_is(const sqz_tensor *s, int ndim, const int64_t *dims) {
    if (s->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (s->dims[i] != dims[i]) return 0;
    return 1;
}

/* max |out - want| over n values */
static double max_err(tnode *t, int k, const double *want, int64_t n) {
    double e = 0;
    if (sqz_tensor_numel(&t->out[k]) != n) return 1e30;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(outv(t, k, i) - want[i]);
        if (!(d <= e)) e = d; /* NaN counts as large */
    }
    return e;
}

static uint64_t rng_state = 0x12345678u;
static double rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)((rng_state >> 33) % 2001) / 1000.0 - 1.0;
}
static double *rnd_vec(int64_t n) {
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) v[i] = rnd();
    return v;
}

/* ---- Conv ---- */
static void test_conv_literal(void) {
    /* ONNX Conv example: 5x5 input 0..24, 3x3 kernel of ones */
    tnode t;
    double x[25], w[9];
    for (int i = 0; i < 25; i++) x[i] = i;
    for (int i = 0; i < 9; i++) w[i] = 1;
    const int64_t xd[4] = {1, 1, 5, 5}, wd[4] = {1, 1, 3, 3}, pads[4] = {1, 1, 1, 1};
    const double want_pad[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, xd, x);
    t_in(&t, 1, SQZ_DT_F32, 4, wd, w);
    t_ints(&t, "pads", 4, pads);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(max_err(&t, 0, want_pad, 25) < 1e-5);
    CHECK(t_macs(&t) == 25 * 9);
    t_end(&t);

    /* ONNX example: 7x5 input 0..34, strides 2, pads 1 0 1 0 (asymmetric) */
    double x7[35];
    for (int i = 0; i < 35; i++) x7[i] = i;
    const int64_t xd7[4] = {1, 1, 7, 5}, pads2[4] = {1, 0, 1, 0}, str[2] = {2, 2};
    t_begin(&t, "Conv", 11);
    t_in(&t, 0, SQZ_DT_F32, 4, xd7, x7);
    t_in(&t, 1, SQZ_DT_F32, 4, wd, w);
    t_ints(&t, "pads", 4, pads2);
    t_ints(&t, "strides", 2, str);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    const int64_t yd[4] = {1, 1, 4, 2};
    CHECK(shape_is(&t.out[0], 4, yd));
    const double want_asym[8] = {21, 33, 99, 117, 189, 207, 171, 183};
    CHECK(max_err(&t, 0, want_asym, 8) < 1e-5);
    t_end(&t);
}

/* naive N-D conv (nsp <= 3) in double; dims padded to 3 spatial with 1s */
typedef struct convcfg {
    int nsp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    const char *auto_pad;
    int bias;
    sqz_dtype dt;
} convcfg;

static void out_extent(const convcfg *g, int i, int64_t *o, int64_t *pb) {
    const int64_t span = (g->k[i] - 1) * g->d[i] + 1;
    if (g->auto_pad && strncmp(g->auto_pad, "SAME", 4) == 0) {
        *o = (g->in[i] + g->s[i] - 1) / g->s[i];
        int64_t tot = (*o - 1) * g->s[i] + span - g->in[i];
        if (tot < 0) tot = 0;
        *pb = strcmp(g->auto_pad, "SAME_UPPER") == 0 ? tot / 2 : tot - tot / 2;
    } else if (g->auto_pad && strcmp(g->auto_pad, "VALID") == 0) {
        *o = (g->in[i] - span) / g->s[i] + 1;
        *pb = 0;
    } else {
        *o = (g->in[i] + g->pb[i] + g->pe[i] - span) / g->s[i] + 1;
        *pb = g->pb[i];
    }
}

static void naive_conv(const convcfg *g, const double *x, const double *w, const double *b, double *y,
                       int64_t *o) {
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    o[0] = o[1] = o[2] = 1;
    for (int i = 0; i < g->nsp; i++) {
        int j = 3 - g->nsp + i;
        in[j] = g->in[i], k[j] = g->k[i], s[j] = g->s[i], d[j] = g->d[i];
        out_extent(g, i, &o[j], &pb[j]);
    }
    const int64_t cg = g->c / g->group, mg = g->m / g->group;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t m = 0; m < g->m; m++)
            for (int64_t z = 0; z < o[0]; z++)
                for (int64_t yy = 0; yy < o[1]; yy++)
                    for (int64_t xx = 0; xx < o[2]; xx++) {
                        double acc = b ? b[m] : 0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t a = 0; a < k[0]; a++)
                                for (int64_t bb = 0; bb < k[1]; bb++)
                                    for (int64_t cc = 0; cc < k[2]; cc++) {
                                        int64_t iz = z * s[0] - pb[0] + a * d[0], iy = yy * s[1] - pb[1] + bb * d[1],
                                                ix = xx * s[2] - pb[2] + cc * d[2];
                                        if (iz < 0 || iz >= in[0] || iy < 0 || iy >= in[1] || ix < 0 || ix >= in[2])
                                            continue;
                                        int64_t c = (m / mg) * cg + ci;
                                        acc += x[(((n * g->c + c) * in[0] + iz) * in[1] + iy) * in[2] + ix] *
                                               w[(((m * cg + ci) * k[0] + a) * k[1] + bb) * k[2] + cc];
                                    }
                        y[(((n * g->m + m) * o[0] + z) * o[1] + yy) * o[2] + xx] = acc;
                    }
}

static void run_conv_cfg(const convcfg *g, int idx) {
    tnode t;
    int64_t xd[5] = {g->n, g->c}, wd[5] = {g->m, g->c / g->group}, nx = g->n * g->c, nw = g->m * (g->c / g->group);
    for (int i = 0; i < g->nsp; i++) {
        xd[2 + i] = g->in[i];
        wd[2 + i] = g->k[i];
        nx *= g->in[i];
        nw *= g->k[i];
    }
    double *x = rnd_vec(nx), *w = rnd_vec(nw), *b = rnd_vec(g->m);
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, g->dt, 2 + g->nsp, xd, x);
    t_in(&t, 1, g->dt, 2 + g->nsp, wd, w);
    if (g->bias) t_in(&t, 2, g->dt, 1, &g->m, b);
    else if (idx & 1) t_omit(&t, 2); /* bias given as an empty (omitted) input */
    if (g->group != 1) t_int(&t, "group", g->group);
    t_ints(&t, "strides", g->nsp, g->s);
    t_ints(&t, "dilations", g->nsp, g->d);
    if (g->auto_pad) t_str(&t, "auto_pad", g->auto_pad);
    else {
        int64_t pads[6];
        for (int i = 0; i < g->nsp; i++) pads[i] = g->pb[i], pads[g->nsp + i] = g->pe[i];
        t_ints(&t, "pads", 2 * g->nsp, pads);
    }
    if (idx % 2) t_ints(&t, "kernel_shape", g->nsp, g->k);
    sqz_status st = t_run(&t, 1, 1);
    CHECK_MSG(st == SQZ_OK, "conv cfg %d: %s", idx, t.err.msg);
    if (st == SQZ_OK) {
        int64_t ny = sqz_tensor_numel(&t.out[0]), o[3];
        double *want = malloc(sizeof(double) * (size_t)ny);
        naive_conv(g, x, w, g->bias ? b : NULL, want, o);
        int ok = t.out[0].ndim == 2 + g->nsp;
        for (int i = 0; i < g->nsp; i++) ok = ok && t.out[0].dims[2 + i] == o[3 - g->nsp + i];
        CHECK_MSG(ok, "conv cfg %d: output shape", idx);
        double e = max_err(&t, 0, want, ny);
        CHECK_MSG(e < 1e-4, "conv cfg %d: max error %g", idx, e);
        free(want);
    }
    t_end(&t);
    free(x);
    free(w);
    free(b);
}

static void test_conv_random(void) {
    const convcfg cfgs[] = {
        /* nsp n c m group in k s d pb pe auto_pad bias dt */
        {2, 1, 3, 4, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, 1, SQZ_DT_F32},
        {2, 2, 5, 7, 1, {11, 10}, {3, 2}, {2, 3}, {1, 1}, {0, 1}, {2, 0}, NULL, 0, SQZ_DT_F32},
        {2, 1, 4, 6, 2, {8, 8}, {3, 3}, {1, 2}, {2, 1}, {2, 1}, {2, 1}, NULL, 1, SQZ_DT_F32},
        {2, 1, 6, 6, 6, {9, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, NULL, 1, SQZ_DT_F32},   /* depthwise */
        {2, 2, 4, 8, 4, {10, 12}, {5, 3}, {1, 1}, {1, 2}, {2, 2}, {2, 2}, NULL, 1, SQZ_DT_F32}, /* mult 2 */
        {2, 1, 3, 5, 1, {9, 10}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, "SAME_UPPER", 1, SQZ_DT_F32},
        {2, 1, 3, 5, 1, {9, 10}, {4, 2}, {2, 3}, {1, 1}, {0, 0}, {0, 0}, "SAME_LOWER", 0, SQZ_DT_F32},
        {2, 1, 3, 2, 1, {9, 10}, {3, 3}, {2, 1}, {1, 2}, {0, 0}, {0, 0}, "VALID", 1, SQZ_DT_F32},
        {2, 2, 19, 13, 1, {6, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, NULL, 1, SQZ_DT_F32}, /* 1x1 */
        {2, 1, 8, 4, 1, {7, 7}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, NULL, 1, SQZ_DT_F32},   /* 1x1 s2 */
        {1, 2, 3, 4, 1, {13}, {3}, {2}, {2}, {1}, {3}, NULL, 1, SQZ_DT_F32},                   /* 1-D */
        {1, 1, 4, 4, 4, {10}, {3}, {1}, {1}, {1}, {1}, NULL, 0, SQZ_DT_F32},                   /* 1-D dw */
        {3, 1, 2, 3, 1, {5, 6, 4}, {3, 2, 3}, {1, 2, 1}, {1, 1, 1}, {1, 0, 1}, {1, 1, 0}, NULL, 1, SQZ_DT_F32},
        {3, 1, 4, 4, 2, {4, 5, 6}, {2, 3, 3}, {2, 1, 1}, {1, 1, 2}, {0, 0, 0}, {0, 0, 0}, "SAME_UPPER", 1, SQZ_DT_F32},
        {2, 1, 3, 4, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, 1, SQZ_DT_F64},
        {2, 1, 5, 5, 5, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, 1, SQZ_DT_F64},
        {2, 1, 70, 9, 1, {12, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, 1, SQZ_DT_F32}, /* K > 256 */
    };
    for (int i = 0; i < (int)(sizeof cfgs / sizeof cfgs[0]); i++) run_conv_cfg(&cfgs[i], i);
}

static void test_conv_errors(void) {
    tnode t;
    const int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {4, 2, 3, 3};
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, xd, NULL);
    t_in(&t, 1, SQZ_DT_F32, 4, wd, NULL);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA); /* 3 channels vs 2 * group 1 */
    CHECK(strstr(t.err.msg, "channels") != NULL);
    t_end(&t);

    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F16, 4, xd, NULL);
    t_in(&t, 1, SQZ_DT_F16, 4, wd, NULL);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_UNSUPPORTED);
    CHECK(strcmp(t.err.msg, "Conv: input dtype f16 is not supported") == 0);
    t_end(&t);

    /* unknown batch and height propagate; group 3 makes channels agree with W [6,1,3,3] */
    const int64_t xu[4] = {-1, 3, -1, 10}, wd2[4] = {6, 1, 3, 3}, str[2] = {2, 2};
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, (const int64_t[]){1, 3, 1, 10}, NULL);
    t.in[0].dims[0] = xu[0];
    t.in[0].dims[2] = xu[2];
    t_in(&t, 1, SQZ_DT_F32, 4, wd2, NULL);
    t_int(&t, "group", 3);
    t_ints(&t, "strides", 2, str);
    CHECK_OK(t_infer(&t, 1, 1), &t.err);
    const int64_t want[4] = {-1, 6, -1, 4};
    CHECK(shape_is(&t.out[0], 4, want));
    t_end(&t);

    /* kernel larger than padded input; bad pads length; kernel_shape disagreeing with W */
    const int64_t xs[4] = {1, 2, 2, 2}, ws[4] = {1, 2, 3, 3}, p3[3] = {0, 0, 0}, ks[2] = {2, 2};
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, xs, NULL);
    t_in(&t, 1, SQZ_DT_F32, 4, ws, NULL);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_ints(&t, "pads", 3, p3);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_end(&t);
    t_begin(&t, "Conv", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, xs, NULL);
    t_in(&t, 1, SQZ_DT_F32, 4, ws, NULL);
    t_ints(&t, "kernel_shape", 2, ks);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_end(&t);
}

/* ---- ConvTranspose ---- */
typedef struct convtcfg {
    int nsp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], opad[3];
    int64_t oshape[3]; /* 0: not given */
    int bias;
} convtcfg;

static void run_convt_cfg(const convtcfg *g, int idx) {
    tnode t;
    int64_t xd[5] = {g->n, g->c}, wd[5] = {g->c, g->m / g->group}, nx = g->n * g->c, nw = g->c * (g->m / g->group);
    int64_t out[3], pb[3];
    for (int i = 0; i < g->nsp; i++) {
        xd[2 + i] = g->in[i];
        wd[2 + i] = g->k[i];
        nx *= g->in[i];
        nw *= g->k[i];
        int64_t full = g->s[i] * (g->in[i] - 1) + g->opad[i] + (g->k[i] - 1) * g->d[i] + 1;
        if (g->oshape[0]) {
            int64_t tot = full - g->oshape[i];
            if (tot < 0) tot = 0;
            pb[i] = tot - tot / 2;
            out[i] = g->oshape[i];
        } else {
            pb[i] = g->pb[i];
            out[i] = full - g->pb[i] - g->pe[i];
        }
    }
    double *x = rnd_vec(nx), *w = rnd_vec(nw), *b = rnd_vec(g->m);
    t_begin(&t, "ConvTranspose", 13);
    t_in(&t, 0, SQZ_DT_F32, 2 + g->nsp, xd, x);
    t_in(&t, 1, SQZ_DT_F32, 2 + g->nsp, wd, w);
    if (g->bias) t_in(&t, 2, SQZ_DT_F32, 1, &g->m, b);
    if (g->group != 1) t_int(&t, "group", g->group);
    t_ints(&t, "strides", g->nsp, g->s);
    t_ints(&t, "dilations", g->nsp, g->d);
    t_ints(&t, "output_padding", g->nsp, g->opad);
    if (g->oshape[0]) t_ints(&t, "output_shape", g->nsp, g->oshape);
    int64_t pads[6];
    for (int i = 0; i < g->nsp; i++) pads[i] = g->pb[i], pads[g->nsp + i] = g->pe[i];
    t_ints(&t, "pads", 2 * g->nsp, pads);
    sqz_status st = t_run(&t, 1, 1);
    CHECK_MSG(st == SQZ_OK, "convT cfg %d: %s", idx, t.err.msg);
    if (st == SQZ_OK) {
        int64_t osp = 1;
        int ok = t.out[0].ndim == 2 + g->nsp && t.out[0].dims[1] == g->m;
        for (int i = 0; i < g->nsp; i++) {
            ok = ok && t.out[0].dims[2 + i] == out[i];
            osp *= out[i];
        }
        CHECK_MSG(ok, "convT cfg %d: output shape", idx);
        int64_t ny = g->n * g->m * osp;
        double *want = calloc((size_t)ny, sizeof(double));
        int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, p[3] = {0, 0, 0},
                o[3] = {1, 1, 1};
        for (int i = 0; i < g->nsp; i++) {
            int j = 3 - g->nsp + i;
            in[j] = g->in[i], k[j] = g->k[i], s[j] = g->s[i], d[j] = g->d[i], p[j] = pb[i], o[j] = out[i];
        }
        const int64_t cg = g->c / g->group, mg = g->m / g->group;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t m = 0; m < g->m; m++)
                for (int64_t i = 0; i < osp; i++) want[(n * g->m + m) * osp + i] = g->bias ? b[m] : 0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t c = 0; c < g->c; c++)
                for (int64_t ml = 0; ml < mg; ml++)
                    for (int64_t z = 0; z < in[0]; z++)
                        for (int64_t yy = 0; yy < in[1]; yy++)
                            for (int64_t xx = 0; xx < in[2]; xx++)
                                for (int64_t a = 0; a < k[0]; a++)
                                    for (int64_t bb = 0; bb < k[1]; bb++)
                                        for (int64_t cc = 0; cc < k[2]; cc++) {
                                            int64_t oz = z * s[0] - p[0] + a * d[0], oy = yy * s[1] - p[1] + bb * d[1],
                                                    ox = xx * s[2] - p[2] + cc * d[2];
                                            if (oz < 0 || oz >= o[0] || oy < 0 || oy >= o[1] || ox < 0 || ox >= o[2])
                                                continue;
                                            int64_t m = (c / cg) * mg + ml;
                                            want[(((n * g->m + m) * o[0] + oz) * o[1] + oy) * o[2] + ox] +=
                                                x[(((n * g->c + c) * in[0] + z) * in[1] + yy) * in[2] + xx] *
                                                w[(((c * mg + ml) * k[0] + a) * k[1] + bb) * k[2] + cc];
                                        }
        double e = max_err(&t, 0, want, ny);
        CHECK_MSG(e < 1e-4, "convT cfg %d: max error %g", idx, e);
        free(want);
    }
    t_end(&t);
    free(x);
    free(w);
    free(b);
}

static void test_conv_transpose(void) {
    const convtcfg cfgs[] = {
        /* nsp n c m group in k s d pb pe opad oshape bias */
        {2, 1, 1, 2, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, {0}, 0},
        {2, 2, 3, 4, 1, {3, 4}, {3, 3}, {3, 2}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, {0}, 1},
        {2, 1, 4, 6, 2, {4, 3}, {3, 2}, {2, 2}, {2, 1}, {1, 2}, {1, 0}, {1, 0}, {0}, 1},
        {2, 1, 2, 2, 1, {3, 3}, {3, 3}, {3, 2}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, {10, 8}, 1},
        {1, 1, 3, 2, 1, {5}, {4}, {2}, {1}, {1}, {2}, {1}, {0}, 1},
        {3, 1, 2, 3, 1, {3, 2, 3}, {2, 3, 2}, {2, 1, 2}, {1, 1, 1}, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {0}, 1},
    };
    for (int i = 0; i < (int)(sizeof cfgs / sizeof cfgs[0]); i++) run_convt_cfg(&cfgs[i], i);

    /* auto_pad SAME_UPPER asks for in * stride */
    tnode t;
    const int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3}, s2[2] = {2, 2};
    t_begin(&t, "ConvTranspose", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, xd, NULL);
    t_in(&t, 1, SQZ_DT_F32, 4, wd, NULL);
    t_str(&t, "auto_pad", "SAME_UPPER");
    t_ints(&t, "strides", 2, s2);
    CHECK_OK(t_infer(&t, 1, 1), &t.err);
    const int64_t want[4] = {1, 2, 6, 6};
    CHECK(shape_is(&t.out[0], 4, want));
    CHECK(t_macs(&t) == 1 * 1 * 9 * 2 * 9);
    t_end(&t);
}
/* ---- Gemm / MatMul ---- */
static void test_gemm(void) {
    const int64_t M = 5, N = 7, K = 9;
    for (int cfg = 0; cfg < 12; cfg++) {
        const int ta = cfg & 1, tb = (cfg >> 1) & 1, cmode = cfg >> 2; /* C: none, [N], [M,1] */
        tnode t;
        const int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
        double *a = rnd_vec(M * K), *b = rnd_vec(K * N), *cv = rnd_vec(M * N);
        t_begin(&t, "Gemm", 13);
        t_in(&t, 0, cfg == 5 ? SQZ_DT_F64 : SQZ_DT_F32, 2, ad, a);
        t_in(&t, 1, cfg == 5 ? SQZ_DT_F64 : SQZ_DT_F32, 2, bd, b);
        const int64_t cN[1] = {N}, cM1[2] = {M, 1};
        if (cmode == 1) t_in(&t, 2, cfg == 5 ? SQZ_DT_F64 : SQZ_DT_F32, 1, cN, cv);
        if (cmode == 2) t_in(&t, 2, SQZ_DT_F32, 2, cM1, cv);
        t_int(&t, "transA", ta);
        t_int(&t, "transB", tb);
        t_float(&t, "alpha", 0.5f);
        t_float(&t, "beta", 2.0f);
        CHECK_OK(t_run(&t, 1, 1), &t.err);
        double want[35];
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
                double c = cmode == 1 ? cv[j] : cmode == 2 ? cv[i] : 0;
                want[i * N + j] = 0.5 * s + 2.0 * c;
            }
        CHECK_MSG(max_err(&t, 0, want, M * N) < 1e-5, "gemm cfg %d", cfg);
        CHECK(t_macs(&t) == M * N * K);
        t_end(&t);
        free(a);
        free(b);
        free(cv);
    }
    /* scalar C and full C with default alpha/beta; inner dim mismatch is an error */
    tnode t;
    const int64_t ad[2] = {2, 3}, bd[2] = {3, 2}, one[1] = {1};
    const double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[1] = {10};
    t_begin(&t, "Gemm", 11);
    t_in(&t, 0, SQZ_DT_F32, 2, ad, a);
    t_in(&t, 1, SQZ_DT_F32, 2, bd, b);
    t_in(&t, 2, SQZ_DT_F32, 1, one, c);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    const double want[4] = {14, 15, 20, 21};
    CHECK(max_err(&t, 0, want, 4) < 1e-6);
    t_end(&t);
    t_begin(&t, "Gemm", 11);
    t_in(&t, 0, SQZ_DT_F32, 2, ad, a);
    t_in(&t, 1, SQZ_DT_F32, 2, ad, b);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_end(&t);
}

static void check_matmul(int ra, const int64_t *ad, int rb, const int64_t *bd, int ry, const int64_t *yd) {
    tnode t;
    int64_t na = 1, nb = 1;
    for (int i = 0; i < ra; i++) na *= ad[i];
    for (int i = 0; i < rb; i++) nb *= bd[i];
    double *a = rnd_vec(na), *b = rnd_vec(nb);
    t_begin(&t, "MatMul", 13);
    t_in(&t, 0, SQZ_DT_F32, ra, ad, a);
    t_in(&t, 1, SQZ_DT_F32, rb, bd, b);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(shape_is(&t.out[0], ry, yd));
    /* naive: promote to 4-D batch */
    const int64_t M = ra == 1 ? 1 : ad[ra - 2], K = ad[ra - 1], N = rb == 1 ? 1 : bd[rb - 1];
    int64_t ab[2] = {1, 1}, bb[2] = {1, 1};
    for (int i = 0; i < ra - 2; i++) ab[2 - (ra - 2) + i] = ad[i];
    for (int i = 0; i < rb - 2; i++) bb[2 - (rb - 2) + i] = bd[i];
    const int64_t ob[2] = {ab[0] > bb[0] ? ab[0] : bb[0], ab[1] > bb[1] ? ab[1] : bb[1]};
    int64_t ny = ob[0] * ob[1] * M * N;
    double *want = malloc(sizeof(double) * (size_t)ny);
    for (int64_t p = 0; p < ob[0]; p++)
        for (int64_t q = 0; q < ob[1]; q++)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    int64_t ia = ((ab[0] == 1 ? 0 : p) * ab[1] + (ab[1] == 1 ? 0 : q)) * M * K;
                    int64_t ib = ((bb[0] == 1 ? 0 : p) * bb[1] + (bb[1] == 1 ? 0 : q)) * K * N;
                    double s = 0;
                    for (int64_t k = 0; k < K; k++) s += a[ia + i * K + k] * b[ib + k * N + j];
                    want[((p * ob[1] + q) * M + i) * N + j] = s;
                }
    CHECK(max_err(&t, 0, want, ny) < 1e-5);
    free(want);
    free(a);
    free(b);
    t_end(&t);
}

static void test_matmul(void) {
    check_matmul(2, (const int64_t[]){3, 4}, 2, (const int64_t[]){4, 5}, 2, (const int64_t[]){3, 5});
    check_matmul(1, (const int64_t[]){4}, 2, (const int64_t[]){4, 5}, 1, (const int64_t[]){5});
    check_matmul(2, (const int64_t[]){3, 4}, 1, (const int64_t[]){4}, 1, (const int64_t[]){3});
    check_matmul(1, (const int64_t[]){4}, 1, (const int64_t[]){4}, 0, NULL);
    check_matmul(3, (const int64_t[]){2, 3, 4}, 2, (const int64_t[]){4, 5}, 3, (const int64_t[]){2, 3, 5});
    check_matmul(4, (const int64_t[]){2, 1, 3, 4}, 3, (const int64_t[]){5, 4, 2}, 4, (const int64_t[]){2, 5, 3, 2});
    check_matmul(2, (const int64_t[]){3, 4}, 3, (const int64_t[]){2, 4, 6}, 3, (const int64_t[]){2, 3, 6});
    check_matmul(3, (const int64_t[]){2, 1, 4}, 1, (const int64_t[]){4}, 2, (const int64_t[]){2, 1});
    tnode t;
    t_begin(&t, "MatMul", 13);
    t_in(&t, 0, SQZ_DT_F32, 3, (const int64_t[]){2, 3, 4}, NULL);
    t_in(&t, 1, SQZ_DT_F32, 3, (const int64_t[]){3, 4, 5}, NULL);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA); /* batch 2 vs 3 */
    t_end(&t);
}

/* ---- pooling ---- */
static void test_pools(void) {
    tnode t;
    double x16[16], x25[25];
    for (int i = 0; i < 16; i++) x16[i] = i + 1;
    for (int i = 0; i < 25; i++) x25[i] = i + 1;
    const int64_t d4[4] = {1, 1, 4, 4}, d5[4] = {1, 1, 5, 5}, k3[2] = {3, 3}, k2[2] = {2, 2}, s2[2] = {2, 2};
    const int64_t y22[4] = {1, 1, 2, 2};
    /* ONNX maxpool_2d_ceil / averagepool_2d_ceil */
    t_begin(&t, "MaxPool", 12);
    t_in(&t, 0, SQZ_DT_F32, 4, d4, x16);
    t_ints(&t, "kernel_shape", 2, k3);
    t_ints(&t, "strides", 2, s2);
    t_int(&t, "ceil_mode", 1);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(shape_is(&t.out[0], 4, y22));
    CHECK(max_err(&t, 0, (const double[]){11, 12, 15, 16}, 4) == 0);
    t_end(&t);
    t_begin(&t, "AveragePool", 11);
    t_in(&t, 0, SQZ_DT_F32, 4, d4, x16);
    t_ints(&t, "kernel_shape", 2, k3);
    t_ints(&t, "strides", 2, s2);
    t_int(&t, "ceil_mode", 1);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(max_err(&t, 0, (const double[]){6, 7.5, 12, 13.5}, 4) < 1e-6);
    t_end(&t);
    /* ceil_mode window that would start in the end padding is dropped: in 5, k 2, s 2, pad_end 1 */
    t_begin(&t, "MaxPool", 12);
    t_in(&t, 0, SQZ_DT_F32, 3, (const int64_t[]){1, 1, 5}, x25);
    t_ints(&t, "kernel_shape", 1, k2);
    t_ints(&t, "strides", 1, s2);
    t_ints(&t, "pads", 2, (const int64_t[]){0, 2});
    t_int(&t, "ceil_mode", 1);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(t.out[0].dims[2] == 3);
    CHECK(max_err(&t, 0, (const double[]){2, 4, 5}, 3) == 0);
    t_end(&t);
    /* with argmax and storage_order 1 (ONNX maxpool_with_argmax_2d_precomputed_strides) */
    t_begin(&t, "MaxPool", 12);
    t_in(&t, 0, SQZ_DT_F32, 4, d5, x25);
    t_ints(&t, "kernel_shape", 2, k2);
    t_ints(&t, "strides", 2, s2);
    t_int(&t, "storage_order", 1);
    CHECK_OK(t_run(&t, 2, 3), &t.err);
    CHECK(max_err(&t, 0, (const double[]){7, 9, 17, 19}, 4) == 0);
    CHECK(t.out[1].dtype == SQZ_DT_I64);
    CHECK(max_err(&t, 1, (const double[]){6, 16, 8, 18}, 4) == 0);
    t_end(&t);
    /* pads 2 with 5x5 kernel: count_include_pad 0 and 1 (ONNX precomputed_pads examples) */
    for (int cip = 0; cip < 2; cip++) {
        t_begin(&t, "AveragePool", 11);
        t_in(&t, 0, SQZ_DT_F32, 4, d5, x25);
        t_ints(&t, "kernel_shape", 2, (const int64_t[]){5, 5});
        t_ints(&t, "pads", 4, (const int64_t[]){2, 2, 2, 2});
        t_int(&t, "count_include_pad", cip);
        CHECK_OK(t_run(&t, 1, 1), &t.err);
        /* first output: window rows/cols 0..2 of the input: sum = 1+2+3+6+7+8+11+12+13 = 63 */
        CHECK_NEAR(outv(&t, 0, 0), cip ? 63.0 / 25 : 63.0 / 9, 1e-5);
        CHECK_NEAR(outv(&t, 0, 12), 13, 1e-5);
        t_end(&t);
    }
    /* same_lower / same_upper shapes and values (2x2 kernel, stride 1 on 3x3) */
    const char *modes[2] = {"SAME_UPPER", "SAME_LOWER"};
    const double want_m[2][9] = {{5, 6, 6, 8, 9, 9, 8, 9, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    for (int m = 0; m < 2; m++) {
        t_begin(&t, "MaxPool", 12);
        t_in(&t, 0, SQZ_DT_F32, 4, (const int64_t[]){1, 1, 3, 3}, x25);
        t_ints(&t, "kernel_shape", 2, k2);
        t_str(&t, "auto_pad", modes[m]);
        CHECK_OK(t_run(&t, 1, 1), &t.err);
        CHECK(max_err(&t, 0, want_m[m], 9) == 0);
        t_end(&t);
    }
    /* u8 max pool */
    t_begin(&t, "MaxPool", 12);
    t_in(&t, 0, SQZ_DT_U8, 4, d4, x16);
    t_ints(&t, "kernel_shape", 2, k2);
    t_ints(&t, "strides", 2, s2);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_U8 && max_err(&t, 0, (const double[]){6, 8, 14, 16}, 4) == 0);
    t_end(&t);
    /* missing kernel_shape is an error; f16 unsupported */
    t_begin(&t, "AveragePool", 11);
    t_in(&t, 0, SQZ_DT_F32, 4, d4, x16);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_end(&t);
    /* global pools over a 2x3x4 plane set */
    double xg[24];
    for (int i = 0; i < 24; i++) xg[i] = (i * 7) % 11;
    for (int mx = 0; mx < 2; mx++) {
        t_begin(&t, mx ? "GlobalMaxPool" : "GlobalAveragePool", 13);
        t_in(&t, 0, SQZ_DT_F32, 4, (const int64_t[]){1, 2, 3, 4}, xg);
        CHECK_OK(t_run(&t, 1, 1), &t.err);
        CHECK(shape_is(&t.out[0], 4, (const int64_t[]){1, 2, 1, 1}));
        for (int c = 0; c < 2; c++) {
            double s = 0, m = -1e9;
            for (int i = 0; i < 12; i++) {
                s += xg[c * 12 + i];
                if (xg[c * 12 + i] > m) m = xg[c * 12 + i];
            }
            CHECK_NEAR(outv(&t, 0, c), mx ? m : s / 12, 1e-5);
        }
        t_end(&t);
    }
}

/* ---- normalization ---- */
static void test_batchnorm(void) {
    tnode t;
    const int64_t xd[4] = {2, 3, 2, 2}, cd[1] = {3};
    double *x = rnd_vec(24);
    const double sc[3] = {1, 1.5, -2}, bi[3] = {0, 1, 2}, mn[3] = {0.1, -0.2, 0.3}, vr[3] = {1, 0.5, 2};
    t_begin(&t, "BatchNormalization", 15);
    t_in(&t, 0, SQZ_DT_F32, 4, xd, x);
    t_in(&t, 1, SQZ_DT_F32, 1, cd, sc);
    t_in(&t, 2, SQZ_DT_F32, 1, cd, bi);
    t_in(&t, 3, SQZ_DT_F32, 1, cd, mn);
    t_in(&t, 4, SQZ_DT_F32, 1, cd, vr);
    t_float(&t, "epsilon", 1e-2f);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    double want[24];
    for (int i = 0; i < 24; i++) {
        int c = (i / 4) % 3;
        want[i] = (x[i] - mn[c]) / sqrt(vr[c] + (double)1e-2f) * sc[c] + bi[c];
    }
    CHECK(max_err(&t, 0, want, 24) < 1e-5);
    /* training-mode outputs are not supported */
    CHECK(t_infer(&t, 3, 7) == SQZ_ERR_UNSUPPORTED);
    t_int(&t, "training_mode", 1);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_UNSUPPORTED);
    t_end(&t);
    free(x);
}

static void test_layernorm(void) {
    tnode t;
    const int64_t xd[3] = {2, 3, 4};
    double *x = rnd_vec(24), *s = rnd_vec(12), *b = rnd_vec(12);
    for (int axis = -2; axis <= 2; axis += 3) { /* axis -2 (rows of 12) and 2 (rows of 4) */
        const int ax = axis < 0 ? axis + 3 : axis;
        const int64_t d = ax == 1 ? 12 : 4, outer = 24 / d;
        t_begin(&t, "LayerNormalization", 17);
        t_in(&t, 0, SQZ_DT_F32, 3, xd, x);
        t_in(&t, 1, SQZ_DT_F32, 3 - ax, xd + ax, s);
        if (ax == 1) t_in(&t, 2, SQZ_DT_F32, 3 - ax, xd + ax, b);
        t_int(&t, "axis", axis);
        t_float(&t, "epsilon", 1e-3f);
        CHECK_OK(t_run(&t, 3, 7), &t.err);
        int64_t md[3] = {2, ax == 1 ? 1 : 3, 1};
        CHECK(shape_is(&t.out[1], 3, md) && shape_is(&t.out[2], 3, md));
        double want[24], wm[6], wi[6];
        for (int64_t o = 0; o < outer; o++) {
            double m = 0, v = 0;
            for (int64_t i = 0; i < d; i++) m += x[o * d + i];
            m /= d;
            for (int64_t i = 0; i < d; i++) v += (x[o * d + i] - m) * (x[o * d + i] - m);
            v /= d;
            wm[o] = m;
            wi[o] = 1 / sqrt(v + (double)1e-3f);
            for (int64_t i = 0; i < d; i++) want[o * d + i] = (x[o * d + i] - m) * wi[o] * s[i] + (ax == 1 ? b[i] : 0);
        }
        CHECK(max_err(&t, 0, want, 24) < 1e-5);
        CHECK(max_err(&t, 1, wm, outer) < 1e-5);
        CHECK(max_err(&t, 2, wi, outer) < 1e-4);
        t_end(&t);
    }
    /* Scale of shape [1, 4] broadcast over normalized shape [3, 4] */
    t_begin(&t, "LayerNormalization", 17);
    t_in(&t, 0, SQZ_DT_F32, 3, xd, x);
    t_in(&t, 1, SQZ_DT_F32, 2, (const int64_t[]){1, 4}, s);
    t_int(&t, "axis", 1);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    double m = 0, v = 0;
    for (int i = 0; i < 12; i++) m += x[i];
    m /= 12;
    for (int i = 0; i < 12; i++) v += (x[i] - m) * (x[i] - m);
    v /= 12;
    CHECK_NEAR(outv(&t, 0, 5), (x[5] - m) / sqrt(v + (double)1e-5f) * s[1], 1e-5);
    t_end(&t);
    free(x);
    free(s);
    free(b);
}

static void test_instancenorm_lrn(void) {
    tnode t;
    const int64_t xd[3] = {1, 2, 3}, cd[1] = {2};
    const double x[6] = {1, 2, 3, -1, 0, 4}, sc[2] = {2, 1}, bi[2] = {0.5, -1};
    t_begin(&t, "InstanceNormalization", 6);
    t_in(&t, 0, SQZ_DT_F32, 3, xd, x);
    t_in(&t, 1, SQZ_DT_F32, 1, cd, sc);
    t_in(&t, 2, SQZ_DT_F32, 1, cd, bi);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    /* channel 0: mean 2, var 2/3; channel 1: mean 1, var 14/3 */
    const double e = (double)1e-5f;
    const double want[6] = {2 * -1 / sqrt(2.0 / 3 + e) + 0.5, 0.5, 2 * 1 / sqrt(2.0 / 3 + e) + 0.5,
                            -2 / sqrt(14.0 / 3 + e) - 1, -1 / sqrt(14.0 / 3 + e) - 1, 3 / sqrt(14.0 / 3 + e) - 1};
    CHECK(max_err(&t, 0, want, 6) < 1e-5);
    t_end(&t);

    /* LRN size 3 over 4 channels of one pixel */
    const double xl[4] = {1, 2, 3, 4};
    t_begin(&t, "LRN", 13);
    t_in(&t, 0, SQZ_DT_F32, 4, (const int64_t[]){1, 4, 1, 1}, xl);
    t_int(&t, "size", 3);
    t_float(&t, "alpha", 0.1f);
    t_float(&t, "beta", 0.5f);
    t_float(&t, "bias", 2.0f);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    const double al = (double)0.1f;
    const double wl[4] = {1 / sqrt(2 + al / 3 * 5), 2 / sqrt(2 + al / 3 * 14), 3 / sqrt(2 + al / 3 * 29),
                          4 / sqrt(2 + al / 3 * 25)};
    CHECK(max_err(&t, 0, wl, 4) < 1e-5);
    t_end(&t);
}

/* ---- softmax family ---- */
static void test_softmax(void) {
    tnode t;
    const int64_t xd[3] = {2, 3, 4};
    double *x = rnd_vec(24);
    for (int v = 0; v < 2; v++) { /* opset 11, axis 1: rows of 12; opset 13, axis 1: along dim 1 */
        t_begin(&t, "Softmax", v ? 13 : 11);
        t_in(&t, 0, SQZ_DT_F32, 3, xd, x);
        t_int(&t, "axis", 1);
        CHECK_OK(t_run(&t, 1, 1), &t.err);
        double want[24];
        for (int n = 0; n < 2; n++) {
            if (!v) {
                double s = 0;
                for (int i = 0; i < 12; i++) s += exp(x[n * 12 + i]);
                for (int i = 0; i < 12; i++) want[n * 12 + i] = exp(x[n * 12 + i]) / s;
            } else {
                for (int k = 0; k < 4; k++) {
                    double s = 0;
                    for (int j = 0; j < 3; j++) s += exp(x[n * 12 + j * 4 + k]);
                    for (int j = 0; j < 3; j++) want[n * 12 + j * 4 + k] = exp(x[n * 12 + j * 4 + k]) / s;
                }
            }
        }
        CHECK_MSG(max_err(&t, 0, want, 24) < 1e-6, "softmax opset %d", v ? 13 : 11);
        t_end(&t);
    }
    /* default axis: opset 13 -> last; LogSoftmax with large numbers stays finite */
    const double big[4] = {1000, 1001, 1002, 1003};
    t_begin(&t, "LogSoftmax", 13);
    t_in(&t, 0, SQZ_DT_F32, 2, (const int64_t[]){1, 4}, big);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    double ls = log(exp(-3.0) + exp(-2.0) + exp(-1.0) + 1);
    CHECK(max_err(&t, 0, (const double[]){-3 - ls, -2 - ls, -1 - ls, -ls}, 4) < 1e-5);
    t_end(&t);
    /* Hardmax: first maximum wins */
    const double hx[6] = {1, 3, 3, 0, -1, -2};
    t_begin(&t, "Hardmax", 13);
    t_in(&t, 0, SQZ_DT_F64, 2, (const int64_t[]){2, 3}, hx);
    CHECK_OK(t_run(&t, 1, 1), &t.err);
    CHECK(max_err(&t, 0, (const double[]){0, 1, 0, 1, 0, 0}, 6) == 0);
    t_end(&t);
    /* axis out of range */
    t_begin(&t, "Softmax", 13);
    t_in(&t, 0, SQZ_DT_F32, 3, xd, x);
    t_int(&t, "axis", 3);
    CHECK(t_infer(&t, 1, 1) == SQZ_ERR_DATA);
    t_end(&t);
    free(x);
}

int main(void) {
    test_conv_literal();
    test_conv_random();
    test_conv_errors();
    test_conv_transpose();
    test_gemm();
    test_matmul();
    test_pools();
    test_batchnorm();
    test_layernorm();
    test_instancenorm_lrn();
    test_softmax();
    TEST_MAIN_END();
}
