/* tests/unit/test_ops_quant.c - the quantized operators through infer + forward: QLinearConv
 * (groups, depthwise, strides, pads, dilations, per-channel weights, u8/i8 both sides, bias) and
 * QLinearMatMul (broadcast batches, per-column b) against direct loops written here; ConvInteger,
 * MatMulInteger; QuantizeLinear / DequantizeLinear per tensor and per axis, rounding and
 * saturation; packed-weight state reused across runs; error messages for bad inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"

static sqz_rng rng;
static int rnd(int lo, int hi) { return lo + (int)sqz_rng_below(&rng, (uint32_t)(hi - lo + 1)); }

/* ---- one node with owned tensors ---- */
#define TMAX_IN 9
typedef struct tq {
    sqz_graph *g;
    sqz_node *node;
    sqz_tensor in[TMAX_IN], out[3];
    sqz_tensor *inp[TMAX_IN], *outp[3];
    int n_in, n_out;
    void *state;
    sqz_err err;
} tq;

static void tq_begin(tq *t, const char *op) {
    memset(t, 0, sizeof *t);
    t->g = sqz_graph_new();
    int idx = sqz_graph_add_node(t->g, op, "n0", 0, NULL, 0, NULL, &t->err);
    t->node = t->g->nodes[idx];
}

static sqz_tensor *tq_in(tq *t, int i, sqz_dtype dt, int ndim, const int64_t *dims) {
    sqz_tensor_init_owned(&t->in[i], "t", dt, ndim, dims, &t->err);
    t->in[i].flags |= SQZ_TF_INIT;
    t->inp[i] = &t->in[i];
    if (i + 1 > t->n_in) t->n_in = i + 1;
    return &t->in[i];
}
static sqz_tensor *tq_scalar_f(tq *t, int i, float v) {
    sqz_tensor *x = tq_in(t, i, SQZ_DT_F32, 0, NULL);
    *(float *)x->data = v;
    return x;
}
static sqz_tensor *tq_scalar_q(tq *t, int i, sqz_dtype dt, int v) {
    sqz_tensor *x = tq_in(t, i, dt, 0, NULL);
    sqz_tensor_set_f64(x, 0, v);
    return x;
}
static void tq_ints(tq *t, const char *name, int n, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INTS);
    a->n = n;
    a->ints = sqz_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)n, 8);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}
static void tq_int(tq *t, const char *name, int64_t v) { sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INT)->i = v; }

/* infer, allocate, forward (twice when twice: the second run reuses the state). */
static sqz_status tq_run(tq *t, int threads, int twice) {
    const sqz_op *op = sqz_op_find(t->node->domain, t->node->op_type);
    if (!op) return sqz_err_set(&t->err, SQZ_ERR_UNSUPPORTED, "no op");
    t->n_out = 1;
    t->outp[0] = &t->out[0];
    if (t->out[0].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->out[0]);
    memset(&t->out[0], 0, sizeof t->out[0]);
    sqz_opctx c = {.node = t->node, .in = t->inp, .n_in = t->n_in, .out = t->outp, .n_out = 1, .opset = 13,
                   .threads = threads, .err = &t->err, .state = &t->state};
    sqz_status st = op->infer(&c);
    if (st) return st;
    sqz_tensor *y = &t->out[0];
    sqz_tensor tmp;
    if ((st = sqz_tensor_init_owned(&tmp, "y", y->dtype, y->ndim, y->dims, &t->err))) return st;
    *y = tmp;
    size_t sb = op->scratch_bytes ? op->scratch_bytes(&c) : 0;
    void *scr = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
    c.scratch = scr;
    for (int r = 0; r <= twice && !st; r++) st = op->forward(&c);
    free(scr);
    return st;
}

static void tq_end(tq *t) {
    const sqz_op *op = sqz_op_find(t->node->domain, t->node->op_type);
    if (t->state && op && op->release_state) op->release_state(t->state);
    for (int i = 0; i < TMAX_IN; i++)
        if (t->in[i].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->in[i]);
    for (int i = 0; i < 3; i++)
        if (t->out[i].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->out[i]);
    sqz_graph_free(t->g);
}

static int32_t requant(int64_t acc, float scale, int32_t zp, int32_t lo, int32_t hi) {
    float f = (float)(int32_t)acc * scale;
    f = fminf(fmaxf(f, (float)(lo - zp)), (float)(hi - zp));
    return (int32_t)nearbyintf(f) + zp;
}

static void fill_q(sqz_tensor *t) {
    const int64_t n = sqz_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = (uint8_t)rnd(0, 255);
}

/* ---- QLinearConv vs direct loops ---- */
/* wide: larger images and kernels (up to 70 x 5x5), strides up to 3, pads that differ at the two
 * ends: im2col segments of more than 16 and 32 bytes, column phases, short last panels. */
static int qconv_case(int integer, int wide) {
    const int nsp = rnd(0, 4) ? 2 : 1;
    const int64_t N = rnd(1, 2);
    int64_t G = 1, Cg = rnd(1, 5), Mg = rnd(1, 6);
    const int kind = rnd(0, 2);
    if (kind == 1) G = rnd(2, 3);
    if (kind == 2) {
        G = rnd(2, 9);
        Cg = Mg = 1; /* depthwise */
    }
    const int64_t C = G * Cg, M = G * Mg;
    int64_t in[2] = {nsp == 2 ? rnd(1, 12) : 1, rnd(1, 19)}, k[2] = {nsp == 2 ? rnd(1, 3) : 1, rnd(1, 3)};
    int64_t s[2] = {nsp == 2 ? rnd(1, 2) : 1, rnd(1, 2)}, d[2] = {nsp == 2 ? rnd(1, 2) : 1, rnd(1, 2)};
    if (wide) {
        in[0] = nsp == 2 ? rnd(1, 20) : 1;
        in[1] = rnd(10, 70);
        k[0] = nsp == 2 ? rnd(1, 5) : 1;
        k[1] = rnd(1, 5);
        s[1] = rnd(1, 3);
        if (nsp == 2) s[0] = rnd(1, 3);
    }
    int64_t p[4] = {nsp == 2 ? rnd(0, (int)k[0]) : 0, rnd(0, (int)k[1]), 0, 0};
    p[2] = wide && nsp == 2 ? rnd(0, (int)k[0]) : p[0];
    p[3] = wide ? rnd(0, (int)k[1]) : p[1];
    int64_t out[2];
    for (int i = 0; i < 2; i++) {
        const int64_t e = (k[i] - 1) * d[i] + 1;
        if (in[i] + p[i] + p[i + 2] < e) in[i] = e;
        out[i] = (in[i] + p[i] + p[i + 2] - e) / s[i] + 1;
    }
    const int x_s8 = rnd(0, 1), w_u8 = rnd(0, 1), y_s8 = rnd(0, 1), per_ch = rnd(0, 1), has_b = rnd(0, 1);
    const sqz_dtype xdt = x_s8 ? SQZ_DT_I8 : SQZ_DT_U8, wdt = w_u8 ? SQZ_DT_U8 : SQZ_DT_I8;
    tq t;
    tq_begin(&t, integer ? "ConvInteger" : "QLinearConv");
    int64_t xd[4] = {N, C, in[0], in[1]}, wd[4] = {M, Cg, k[0], k[1]};
    if (nsp == 1) {
        xd[2] = in[1];
        wd[2] = k[1];
    }
    const int wi = integer ? 1 : 3;
    sqz_tensor *X = tq_in(&t, 0, xdt, 2 + nsp, xd), *W = tq_in(&t, wi, wdt, 2 + nsp, wd);
    X->flags &= ~(uint32_t)SQZ_TF_INIT;
    fill_q(X);
    fill_q(W);
    const int32_t xz = x_s8 ? rnd(-128, 127) : rnd(0, 255);
    int32_t *wz = calloc((size_t)M, 4), *bias = calloc((size_t)M, 4);
    float *ws = calloc((size_t)M, 4);
    for (int64_t m = 0; m < M; m++) {
        wz[m] = per_ch || m == 0 ? (w_u8 ? rnd(0, 255) : rnd(-128, 127)) : wz[0];
        ws[m] = per_ch || m == 0 ? (float)rnd(1, 100) * 1e-3f : ws[0];
        bias[m] = rnd(-3000, 3000);
    }
    const float xs = 0.02f, ys = (float)rnd(1, 50) * 0.05f;
    const int32_t yz = y_s8 ? rnd(-10, 10) : rnd(100, 150);
    const int64_t mdim = M;
    if (integer) {
        tq_scalar_q(&t, 2, xdt, xz);
        if (per_ch) {
            sqz_tensor *z = tq_in(&t, 3, wdt, 1, &mdim);
            for (int64_t m = 0; m < M; m++) sqz_tensor_set_f64(z, m, wz[m]);
        } else tq_scalar_q(&t, 3, wdt, wz[0]);
    } else {
        tq_scalar_f(&t, 1, xs);
        tq_scalar_q(&t, 2, xdt, xz);
        if (per_ch) {
            sqz_tensor *sc = tq_in(&t, 4, SQZ_DT_F32, 1, &mdim), *z = tq_in(&t, 5, wdt, 1, &mdim);
            for (int64_t m = 0; m < M; m++) {
                ((float *)sc->data)[m] = ws[m];
                sqz_tensor_set_f64(z, m, wz[m]);
            }
        } else {
            tq_scalar_f(&t, 4, ws[0]);
            tq_scalar_q(&t, 5, wdt, wz[0]);
        }
        tq_scalar_f(&t, 6, ys);
        tq_scalar_q(&t, 7, y_s8 ? SQZ_DT_I8 : SQZ_DT_U8, yz);
        if (has_b) memcpy(tq_in(&t, 8, SQZ_DT_I32, 1, &mdim)->data, bias, (size_t)M * 4);
    }
    if (G > 1) tq_int(&t, "group", G);
    tq_ints(&t, "strides", nsp, s + 2 - nsp);
    tq_ints(&t, "dilations", nsp, d + 2 - nsp);
    int64_t pads[4] = {p[0], p[1], p[2], p[3]};
    if (nsp == 1) {
        pads[0] = p[1];
        pads[1] = p[3];
    }
    tq_ints(&t, "pads", 2 * nsp, pads);
    const int threads = rnd(1, 2);
    sqz_status st = tq_run(&t, threads, 1);
    int ok = st == SQZ_OK;
    if (!ok) fprintf(stderr, "  qconv: %s\n", t.err.msg);
    const sqz_tensor *Y = &t.out[0];
    for (int64_t n = 0; n < N && ok; n++)
        for (int64_t m = 0; m < M && ok; m++) {
            const int64_t g = m / Mg;
            const int32_t wzm = wz[m];
            for (int64_t oy = 0; oy < out[0] && ok; oy++)
                for (int64_t ox = 0; ox < out[1] && ok; ox++) {
                    int64_t acc = has_b && !integer ? bias[m] : 0;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t ky = 0; ky < k[0]; ky++)
                            for (int64_t kx = 0; kx < k[1]; kx++) {
                                const int64_t iy = oy * s[0] - p[0] + ky * d[0], ix = ox * s[1] - p[1] + kx * d[1];
                                if (iy < 0 || iy >= in[0] || ix < 0 || ix >= in[1]) continue;
                                const int64_t xi = ((n * C + g * Cg + ci) * in[0] + iy) * in[1] + ix;
                                const int64_t wi2 = ((m * Cg + ci) * k[0] + ky) * k[1] + kx;
                                acc += (int64_t)(sqz_tensor_get_f64(X, xi) - xz) * (int64_t)(sqz_tensor_get_f64(W, wi2) - wzm);
                            }
                    const int64_t yi = ((n * M + m) * out[0] + oy) * out[1] + ox;
                    int64_t want;
                    if (integer) want = acc;
                    else {
                        int32_t lo = y_s8 ? -128 : 0, hi = y_s8 ? 127 : 255;
                        want = requant(acc, (float)((double)xs * ws[m] / ys), yz, lo, hi);
                    }
                    const double got = sqz_tensor_get_f64(Y, yi);
                    if (got != (double)want) {
                        fprintf(stderr, "  %s N%lld C%lld M%lld G%lld in %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld "
                                "p%lld,%lld x_s8 %d w_u8 %d per_ch %d: y[%lld] = %g, want %lld\n",
                                integer ? "ConvInteger" : "QLinearConv", (long long)N, (long long)C, (long long)M,
                                (long long)G, (long long)in[0], (long long)in[1], (long long)k[0], (long long)k[1],
                                (long long)s[0], (long long)s[1], (long long)d[0], (long long)d[1], (long long)p[0],
                                (long long)p[1], x_s8, w_u8, per_ch, (long long)yi, got, (long long)want);
                        ok = 0;
                    }
                }
        }
    free(wz);
    free(bias);
    free(ws);
    tq_end(&t);
    return ok;
}

/* ---- QLinearMatMul / MatMulInteger vs direct loops ---- */
static int qmm_case(int integer) {
    const int bat = rnd(0, 2); /* 0: 2-D; 1: a 3-D, b 2-D; 2: both 3-D (b broadcast over 1) */
    const int64_t B0 = rnd(1, 3), M = rnd(1, 40), K = rnd(1, 70), N = rnd(1, 50);
    const int x_s8 = rnd(0, 1), w_u8 = rnd(0, 1), y_s8 = rnd(0, 1), per_col = rnd(0, 1);
    const sqz_dtype adt = x_s8 ? SQZ_DT_I8 : SQZ_DT_U8, bdt = w_u8 ? SQZ_DT_U8 : SQZ_DT_I8;
    tq t;
    tq_begin(&t, integer ? "MatMulInteger" : "QLinearMatMul");
    const int64_t bb = bat == 2 ? rnd(0, 1) ? B0 : 1 : 1;
    int64_t ad[3] = {B0, M, K}, bd[3] = {bb, K, N};
    sqz_tensor *A = tq_in(&t, 0, adt, bat ? 3 : 2, bat ? ad : ad + 1);
    sqz_tensor *Bt = tq_in(&t, integer ? 1 : 3, bdt, bat == 2 ? 3 : 2, bat == 2 ? bd : bd + 1);
    A->flags &= ~(uint32_t)SQZ_TF_INIT;
    fill_q(A);
    fill_q(Bt);
    const int32_t az = x_s8 ? rnd(-128, 127) : rnd(0, 255);
    int32_t *bz = calloc((size_t)N, 4);
    float *bs = calloc((size_t)N, 4);
    for (int64_t n = 0; n < N; n++) {
        bz[n] = per_col || n == 0 ? (w_u8 ? rnd(0, 255) : rnd(-128, 127)) : bz[0];
        bs[n] = per_col || n == 0 ? (float)rnd(1, 100) * 1e-3f : bs[0];
    }
    const float as = 0.03f, ys = (float)rnd(1, 40) * 0.1f;
    const int32_t yz = y_s8 ? rnd(-10, 10) : rnd(100, 150);
    const int64_t ndim = N;
    if (integer) {
        tq_scalar_q(&t, 2, adt, az);
        if (per_col) {
            sqz_tensor *z = tq_in(&t, 3, bdt, 1, &ndim);
            for (int64_t n = 0; n < N; n++) sqz_tensor_set_f64(z, n, bz[n]);
        } else tq_scalar_q(&t, 3, bdt, bz[0]);
    } else {
        tq_scalar_f(&t, 1, as);
        tq_scalar_q(&t, 2, adt, az);
        if (per_col) {
            sqz_tensor *sc = tq_in(&t, 4, SQZ_DT_F32, 1, &ndim), *z = tq_in(&t, 5, bdt, 1, &ndim);
            for (int64_t n = 0; n < N; n++) {
                ((float *)sc->data)[n] = bs[n];
                sqz_tensor_set_f64(z, n, bz[n]);
            }
        } else {
            tq_scalar_f(&t, 4, bs[0]);
            tq_scalar_q(&t, 5, bdt, bz[0]);
        }
        tq_scalar_f(&t, 6, ys);
        tq_scalar_q(&t, 7, y_s8 ? SQZ_DT_I8 : SQZ_DT_U8, yz);
    }
    sqz_status st = tq_run(&t, rnd(1, 2), 1);
    int ok = st == SQZ_OK;
    if (!ok) fprintf(stderr, "  qmm: %s\n", t.err.msg);
    const int64_t nb = bat ? B0 : 1;
    for (int64_t b = 0; b < nb && ok; b++)
        for (int64_t m = 0; m < M && ok; m++)
            for (int64_t n = 0; n < N && ok; n++) {
                int64_t acc = 0;
                const int64_t boff = bat == 2 && bb > 1 ? b * K * N : 0;
                for (int64_t kk = 0; kk < K; kk++)
                    acc += (int64_t)(sqz_tensor_get_f64(A, (b * M + m) * K + kk) - az) *
                           (int64_t)(sqz_tensor_get_f64(Bt, boff + kk * N + n) - bz[n]);
                int64_t want = integer ? acc
                                       : requant(acc, (float)((double)as * bs[n] / ys), yz, y_s8 ? -128 : 0,
                                                 y_s8 ? 127 : 255);
                const double got = sqz_tensor_get_f64(&t.out[0], (b * M + m) * N + n);
                if (got != (double)want) {
                    fprintf(stderr, "  %s bat %d B%lld/%lld M%lld K%lld N%lld: y = %g, want %lld\n",
                            integer ? "MatMulInteger" : "QLinearMatMul", bat, (long long)B0, (long long)bb,
                            (long long)M, (long long)K, (long long)N, got, (long long)want);
                    ok = 0;
                }
            }
    free(bz);
    free(bs);
    tq_end(&t);
    return ok;
}

static void test_quantize_dequantize(void) {
    /* per tensor: rounding half to even and saturation */
    tq t;
    tq_begin(&t, "QuantizeLinear");
    const int64_t d6 = 6;
    float *x = tq_in(&t, 0, SQZ_DT_F32, 1, &d6)->data;
    const float xv[6] = {0.5f, 1.5f, 2.5f, -0.5f, 1000.f, -1000.f};
    memcpy(x, xv, sizeof xv);
    t.in[0].flags &= ~(uint32_t)SQZ_TF_INIT;
    tq_scalar_f(&t, 1, 1.0f);
    tq_scalar_q(&t, 2, SQZ_DT_I8, 1);
    CHECK_OK(tq_run(&t, 1, 0), &t.err);
    const int8_t want[6] = {1, 3, 3, 1, 127, -128};
    CHECK(t.out[0].dtype == SQZ_DT_I8 && !memcmp(t.out[0].data, want, 6));
    tq_end(&t);
    /* per axis 1 of (2, 3) */
    tq_begin(&t, "QuantizeLinear");
    const int64_t d23[2] = {2, 3}, d3 = 3;
    float *x2 = tq_in(&t, 0, SQZ_DT_F32, 2, d23)->data;
    for (int i = 0; i < 6; i++) x2[i] = (float)i;
    float *s = tq_in(&t, 1, SQZ_DT_F32, 1, &d3)->data;
    s[0] = 1.0f;
    s[1] = 2.0f;
    s[2] = 4.0f;
    uint8_t *z = tq_in(&t, 2, SQZ_DT_U8, 1, &d3)->data;
    z[0] = 0;
    z[1] = 10;
    z[2] = 100;
    tq_int(&t, "axis", 1);
    CHECK_OK(tq_run(&t, 1, 0), &t.err);
    const uint8_t want2[6] = {0, 10, 100, 3, 12, 101}; /* 0/1, 1/2=0.5->0, 2/4=.5->0 ; 3/1, 4/2, 5/4=1.25 */
    CHECK(!memcmp(t.out[0].data, want2, 6));
    tq_end(&t);
    /* dequantize per axis 0 */
    tq_begin(&t, "DequantizeLinear");
    const int64_t d2 = 2;
    uint8_t *q = tq_in(&t, 0, SQZ_DT_U8, 2, d23)->data;
    for (int i = 0; i < 6; i++) q[i] = (uint8_t)(10 * i);
    float *ds = tq_in(&t, 1, SQZ_DT_F32, 1, &d2)->data;
    ds[0] = 0.5f;
    ds[1] = 2.0f;
    uint8_t *dz = tq_in(&t, 2, SQZ_DT_U8, 1, &d2)->data;
    dz[0] = 10;
    dz[1] = 0;
    tq_int(&t, "axis", 0);
    CHECK_OK(tq_run(&t, 1, 0), &t.err);
    const float want3[6] = {-5.0f, 0.0f, 5.0f, 60.0f, 80.0f, 100.0f};
    CHECK(t.out[0].dtype == SQZ_DT_F32 && !memcmp(t.out[0].data, want3, sizeof want3));
    tq_end(&t);
    /* errors: wrong scale length (DATA), f64 input (UNSUPPORTED) */
    tq_begin(&t, "DequantizeLinear");
    tq_in(&t, 0, SQZ_DT_U8, 2, d23);
    tq_in(&t, 1, SQZ_DT_F32, 1, &d6);
    tq_int(&t, "axis", 1);
    CHECK(tq_run(&t, 1, 0) == SQZ_ERR_DATA && strstr(t.err.msg, "x_scale"));
    tq_end(&t);
    tq_begin(&t, "QuantizeLinear");
    tq_in(&t, 0, SQZ_DT_F64, 1, &d6);
    tq_scalar_f(&t, 1, 1.0f);
    CHECK(tq_run(&t, 1, 0) == SQZ_ERR_UNSUPPORTED && strstr(t.err.msg, "f64"));
    tq_end(&t);
    tq_begin(&t, "QLinearConv");
    const int64_t xd[4] = {1, 3, 4, 4}, wd[4] = {2, 2, 1, 1};
    tq_in(&t, 0, SQZ_DT_U8, 4, xd);
    tq_scalar_f(&t, 1, 1.0f);
    tq_scalar_q(&t, 2, SQZ_DT_U8, 0);
    tq_in(&t, 3, SQZ_DT_I8, 4, wd);
    tq_scalar_f(&t, 4, 1.0f);
    tq_scalar_q(&t, 5, SQZ_DT_I8, 0);
    tq_scalar_f(&t, 6, 1.0f);
    tq_scalar_q(&t, 7, SQZ_DT_U8, 0);
    CHECK(tq_run(&t, 1, 0) == SQZ_ERR_DATA && strstr(t.err.msg, "channels"));
    tq_end(&t);
}

/* com.microsoft QLinearAdd (broadcast) and QLinearGlobalAveragePool against direct formulas. */
static void test_ms_ops(void) {
    CHECK(sqz_op_find("com.microsoft", "QLinearAdd") != NULL);
    CHECK(sqz_op_find("", "QLinearAdd") == NULL && sqz_op_find("com.microsoft", "Conv") == NULL);
    CHECK(sqz_op_find("ai.onnx", "QLinearConv") != NULL);
    tq t;
    tq_begin(&t, "QLinearAdd");
    t.node->domain = sqz_arena_strdup(t.g->arena, "com.microsoft");
    const int64_t ad[2] = {3, 4}, bd[1] = {4};
    sqz_tensor *A = tq_in(&t, 0, SQZ_DT_U8, 2, ad), *B = tq_in(&t, 3, SQZ_DT_U8, 1, bd);
    fill_q(A);
    fill_q(B);
    tq_scalar_f(&t, 1, 0.1f);
    tq_scalar_q(&t, 2, SQZ_DT_U8, 100);
    tq_scalar_f(&t, 4, 0.05f);
    tq_scalar_q(&t, 5, SQZ_DT_U8, 128);
    tq_scalar_f(&t, 6, 0.2f);
    tq_scalar_q(&t, 7, SQZ_DT_U8, 120);
    CHECK_OK(tq_run(&t, 1, 0), &t.err);
    int ok = t.out[0].ndim == 2 && t.out[0].dims[1] == 4;
    for (int i = 0; i < 12 && ok; i++) {
        const int a = ((uint8_t *)A->data)[i], b = ((uint8_t *)B->data)[i % 4];
        float f = (float)(0.1 / 0.2) * (float)(a - 100) + (float)(0.05 / 0.2) * (float)(b - 128);
        int q = (int)nearbyintf(fminf(fmaxf(f, -120.0f), 135.0f)) + 120;
        ok = ((uint8_t *)t.out[0].data)[i] == q;
    }
    CHECK_MSG(ok, "QLinearAdd differs");
    tq_end(&t);
    tq_begin(&t, "QLinearGlobalAveragePool");
    t.node->domain = sqz_arena_strdup(t.g->arena, "com.microsoft");
    const int64_t xd[4] = {2, 3, 2, 5};
    sqz_tensor *X = tq_in(&t, 0, SQZ_DT_I8, 4, xd);
    fill_q(X);
    tq_scalar_f(&t, 1, 0.5f);
    tq_scalar_q(&t, 2, SQZ_DT_I8, -3);
    tq_scalar_f(&t, 3, 0.25f);
    tq_scalar_q(&t, 4, SQZ_DT_I8, 7);
    CHECK_OK(tq_run(&t, 1, 0), &t.err);
    ok = t.out[0].ndim == 4 && t.out[0].dims[1] == 3 && t.out[0].dims[2] == 1 && t.out[0].dims[3] == 1;
    for (int nc = 0; nc < 6 && ok; nc++) {
        int64_t s = 0;
        for (int i = 0; i < 10; i++) s += ((int8_t *)X->data)[nc * 10 + i] + 3;
        float f = 2.0f * (float)((double)s / 10.0);
        int q = (int)nearbyintf(fminf(fmaxf(f, -135.0f), 120.0f)) + 7;
        ok = ((int8_t *)t.out[0].data)[nc] == q;
    }
    CHECK_MSG(ok, "QLinearGlobalAveragePool differs");
    tq_end(&t);
}

int main(void) {
    sqz_rng_seed(&rng, 777);
    test_quantize_dequantize();
    test_ms_ops();
    int fails = 0;
    for (int i = 0; i < 150; i++) fails += !qconv_case(0, 0);
    for (int i = 0; i < 40; i++) fails += !qconv_case(0, 1);
    CHECK_MSG(fails == 0, "%d QLinearConv cases differ", fails);
    fails = 0;
    for (int i = 0; i < 60; i++) fails += !qconv_case(1, i % 3 == 0);
    CHECK_MSG(fails == 0, "%d ConvInteger cases differ", fails);
    fails = 0;
    for (int i = 0; i < 100; i++) fails += !qmm_case(0);
    CHECK_MSG(fails == 0, "%d QLinearMatMul cases differ", fails);
    fails = 0;
    for (int i = 0; i < 60; i++) fails += !qmm_case(1);
    CHECK_MSG(fails == 0, "%d MatMulInteger cases differ", fails);
    TEST_MAIN_END();
}
