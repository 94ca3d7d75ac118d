/* tests/unit/test_runtime.c - sessions: binding, dynamic shapes, memory planning. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "fake_ops.h"
#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;

static int tens(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d) {
    int t = sqz_graph_add_tensor(g, name, dt, ndim, d, &E);
    CHECK_MSG(t >= 0, "add tensor %s: %s", name, E.msg);
    return t;
}

static int act(sqz_graph *g, const char *name) { return tens(g, name, SQZ_DT_UNDEF, -1, NULL); }

static int init(sqz_graph *g, const char *name, sqz_dtype dt, int ndim, const int64_t *d, const void *v) {
    int t = tens(g, name, dt, ndim, d);
    int64_t n = sqz_tensor_numel(g->tensors[t]);
    CHECK_OK(sqz_graph_set_data(g, g->tensors[t], v, sqz_dtype_size(dt) * (size_t)n, &E), &E);
    return t;
}

static int node(sqz_graph *g, const char *op, const char *name, int n_in, const int *in, int out, const sqz_op *f) {
    int k = sqz_graph_add_node(g, op, name, n_in, in, 1, &out, &E);
    CHECK_MSG(k >= 0, "add node %s: %s", name, E.msg);
    if (k >= 0 && f) g->nodes[k]->op = f;
    return k;
}

static sqz_tensor make_input(const char *name, int batch, int width) {
    sqz_tensor x;
    int64_t d[2] = {batch, width};
    sqz_tensor_init_owned(&x, name, SQZ_DT_F32, 2, d, &E);
    for (int i = 0; i < batch * width; i++) ((float *)x.data)[i] = (float)((i * 5) % 9) - 4.0f + 0.25f * (float)i;
    return x;
}

/* x[N,4] -> relu r0 -> +b a1 -> relu r1 -> +b a2 -> relu r2 -> +r0 -> out */
static sqz_graph *fake_chain(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t xd[2] = {-1, 4};
    float bv = -1.5f;
    int x = tens(g, "x", SQZ_DT_F32, 2, xd), b = init(g, "b", SQZ_DT_F32, 0, NULL, &bv);
    sqz_graph_add_input(g, x, &E);
    int r0 = act(g, "r0"), a1 = act(g, "a1"), r1 = act(g, "r1"), a2 = act(g, "a2"), r2 = act(g, "r2");
    int out = act(g, "out");
    node(g, "TRelu", "relu0", 1, &x, r0, &fake_relu);
    node(g, "TAdd", "add1", 2, (int[]){r0, b}, a1, &fake_add);
    node(g, "TRelu", "relu1", 1, &a1, r1, &fake_relu);
    node(g, "TAdd", "add2", 2, (int[]){r1, b}, a2, &fake_add);
    node(g, "TRelu", "relu2", 1, &a2, r2, &fake_relu);
    node(g, "TAdd", "add3", 2, (int[]){r2, r0}, out, &fake_add);
    sqz_graph_add_output(g, out, &E);
    return g;
}

static float relu(float v) { return v > 0 ? v : 0; }

static void test_fake_chain(void) {
    sqz_graph *g = fake_chain();
    sqz_session *s = NULL, *ref = NULL;
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.threads = 2}, &s, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_reuse = 1}, &ref, &E), &E);
    if (!s || !ref) return;
    int batches[3] = {1, 5, 2};
    for (int bi = 0; bi < 3; bi++) {
        int n = batches[bi];
        sqz_tensor x = make_input("", n, 4);
        const sqz_tensor *in[1] = {&x};
        CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
        CHECK_OK(sqz_session_run(ref, 1, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(s, 0), *oref = sqz_session_output(ref, 0);
        CHECK(o && oref && o->dims[0] == n && o->dims[1] == 4 && o->nbytes == (size_t)n * 16);
        if (o && oref) {
            CHECK(!memcmp(o->data, oref->data, o->nbytes));
            int bad = 0;
            for (int i = 0; i < n * 4; i++) {
                float v = ((float *)x.data)[i], r0 = relu(v);
                float want = relu(relu(r0 - 1.5f) - 1.5f) + r0;
                bad += ((float *)o->data)[i] != want;
            }
            CHECK_MSG(!bad, "batch %d: %d wrong values", n, bad);
        }
        CHECK(sqz_session_value(s, "r1") == NULL); /* released, not keep_all */
        CHECK(sqz_session_value(s, "out") == o && sqz_session_value(s, "b") != NULL);
        CHECK_MSG(sqz_session_peak_bytes(s) < sqz_session_peak_bytes(ref), "peak %zu vs %zu",
                  sqz_session_peak_bytes(s), sqz_session_peak_bytes(ref));
        CHECK(sqz_session_peak_bytes(ref) == (size_t)n * 16 * 6);
        sqz_tensor_release(&x);
    }
    CHECK(sqz_session_arena_bytes(s) < sqz_session_arena_bytes(ref));
    CHECK(sqz_session_n_outputs(s) == 1 && sqz_session_output(s, 1) == NULL);
    sqz_session_free(s);
    sqz_session_free(ref);

    /* keep_all: every intermediate is readable */
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.keep_all = 1}, &s, &E), &E);
    sqz_tensor x = make_input("x", 3, 4);
    const sqz_tensor *in[1] = {&x};
    CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    const sqz_tensor *r1 = sqz_session_value(s, "r1");
    CHECK(r1 && r1->dims[0] == 3 && ((float *)r1->data)[0] == relu(relu(((float *)x.data)[0]) - 1.5f));
    sqz_tensor_release(&x);
    sqz_session_free(s);
    sqz_graph_free(g);
}

static void expect_run_error(sqz_session *s, const sqz_tensor *x, sqz_status code, const char *words) {
    const sqz_tensor *in[1] = {x};
    sqz_err_clear(&E);
    sqz_status st = sqz_session_run(s, x ? 1 : 0, in, &E);
    CHECK_MSG(st == code, "got %s (%s), want %s", sqz_status_str(st), E.msg, sqz_status_str(code));
    CHECK_MSG(strstr(E.msg, words) != NULL, "message '%s' lacks '%s'", E.msg, words);
}

static void test_errors(void) {
    sqz_graph *g = fake_chain();
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (!s) return;
    sqz_tensor x = make_input("x", 2, 5);
    expect_run_error(s, &x, SQZ_ERR_DATA, "input 'x' has shape [2,5] but the graph expects [?,4]");
    sqz_tensor_release(&x);
    x = make_input("nope", 2, 4);
    expect_run_error(s, &x, SQZ_ERR_ARG, "no input named 'nope'");
    sqz_tensor_release(&x);
    expect_run_error(s, NULL, SQZ_ERR_ARG, "graph input 'x' was not given");
    sqz_tensor xi;
    sqz_tensor_init_owned(&xi, "x", SQZ_DT_I32, 2, (int64_t[]){2, 4}, &E);
    expect_run_error(s, &xi, SQZ_ERR_DATA, "input 'x' is i32 but the graph expects f32");
    sqz_tensor_release(&xi);
    sqz_session_free(s);

    /* an operator's error comes back prefixed with its node */
    float three[3] = {1, 2, 3};
    int bad_b = init(g, "b3", SQZ_DT_F32, 1, (int64_t[]){3}, three);
    g->nodes[1]->in[1] = bad_b;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    x = make_input("x", 2, 4);
    expect_run_error(s, &x, SQZ_ERR_DATA, "node 'add1' (TAdd): TAdd: b has 3 elements");
    /* and the session still works after a failed run once the graph is fixed */
    sqz_session_free(s);
    g->nodes[1]->in[1] = sqz_graph_find_tensor(g, "b");
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    const sqz_tensor *in[1] = {&x};
    CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    sqz_tensor_release(&x);
    sqz_session_free(s);

    /* an operator nobody implements */
    g->nodes[2]->op = NULL;
    g->nodes[2]->op_type = "NoSuchOp";
    sqz_status st = sqz_session_new(g, NULL, &s, &E);
    CHECK_MSG(st == SQZ_ERR_UNSUPPORTED && strstr(E.msg, "'NoSuchOp'") && !s, "%s", E.msg);
    sqz_graph_free(g);
}

/* ---- real operators: MatMul/Add/Relu/Reshape/Concat ---- */
static const float W[4 * 6] = {0.5f, -1, 0.25f, 2, -0.5f, 1, 1, 0.5f, -0.25f, 0, 1, -1,
                               -1, 0.75f, 0.5f, 1, 0, 0.5f, 0.25f, 0, 1, -1, 0.5f, 0.25f};
static const float BIAS[6] = {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
static const float W2[4 * 3] = {1, -1, 0.5f, 0.25f, 0.5f, -0.5f, -0.75f, 1, 0, 0.5f, 0.5f, 1};

static sqz_graph *real_graph(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t xd[2] = {-1, 4};
    int x = tens(g, "x", SQZ_DT_F32, 2, xd);
    sqz_graph_add_input(g, x, &E);
    int w = init(g, "W", SQZ_DT_F32, 2, (int64_t[]){4, 6}, W), b = init(g, "bias", SQZ_DT_F32, 1, (int64_t[]){6}, BIAS);
    int w2 = init(g, "W2", SQZ_DT_F32, 2, (int64_t[]){4, 3}, W2);
    int64_t s1v[3] = {-1, 2, 3}, s2v[3] = {-1, 1, 3};
    int s1 = init(g, "s1", SQZ_DT_I64, 1, (int64_t[]){3}, s1v), s2 = init(g, "s2", SQZ_DT_I64, 1, (int64_t[]){3}, s2v);
    int h1 = act(g, "h1"), h2 = act(g, "h2"), h3 = act(g, "h3"), r1 = act(g, "r1");
    int k1 = act(g, "k1"), k2 = act(g, "k2"), r2 = act(g, "r2"), out = act(g, "out");
    node(g, "MatMul", "mm1", 2, (int[]){x, w}, h1, NULL);
    node(g, "Add", "add", 2, (int[]){h1, b}, h2, NULL);
    node(g, "Relu", "relu1", 1, &h2, h3, NULL);
    node(g, "Reshape", "reshape1", 2, (int[]){h3, s1}, r1, NULL);
    node(g, "MatMul", "mm2", 2, (int[]){x, w2}, k1, NULL);
    node(g, "Relu", "relu2", 1, &k1, k2, NULL);
    node(g, "Reshape", "reshape2", 2, (int[]){k2, s2}, r2, NULL);
    int k = node(g, "Concat", "concat", 2, (int[]){r1, r2}, out, NULL);
    sqz_node_add_attr(g, g->nodes[k], "axis", SQZ_ATTR_INT)->i = 1;
    sqz_graph_add_output(g, out, &E);
    return g;
}

static void test_real_graph(void) {
    const char *names[] = {"MatMul", "Add", "Relu", "Reshape", "Concat"};
    for (int i = 0; i < 5; i++)
        if (!sqz_op_find("", names[i])) {
            CHECK_MSG(0, "operator %s is not registered (yet)", names[i]);
            return;
        }
    sqz_graph *g = real_graph();
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    const sqz_tensor *od = g->tensors[g->outputs[0]];
    CHECK(od->ndim == 3 && od->dims[0] == -1 && od->dims[1] == 3 && od->dims[2] == 3);
    sqz_session *s = NULL, *ref = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_reuse = 1}, &ref, &E), &E);
    if (!s || !ref) goto done;
    int batches[3] = {1, 5, 2};
    for (int bi = 0; bi < 3; bi++) {
        int n = batches[bi];
        sqz_tensor x = make_input("x", n, 4);
        const float *xv = x.data;
        const sqz_tensor *in[1] = {&x};
        CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
        CHECK_OK(sqz_session_run(ref, 1, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(s, 0), *oref = sqz_session_output(ref, 0);
        CHECK(o && oref && o->ndim == 3 && o->dims[0] == n && o->dims[1] == 3 && o->dims[2] == 3);
        if (o && oref && o->nbytes == (size_t)n * 36) {
            CHECK(oref->nbytes == o->nbytes && !memcmp(o->data, oref->data, o->nbytes));
            double maxerr = 0;
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < 6; j++) {
                    float acc = 0;
                    for (int k = 0; k < 4; k++) acc += xv[r * 4 + k] * W[k * 6 + j];
                    double e = fabs(((float *)o->data)[r * 9 + j] - relu(acc + BIAS[j]));
                    maxerr = e > maxerr ? e : maxerr;
                }
                for (int j = 0; j < 3; j++) {
                    float acc = 0;
                    for (int k = 0; k < 4; k++) acc += xv[r * 4 + k] * W2[k * 3 + j];
                    double e = fabs(((float *)o->data)[r * 9 + 6 + j] - relu(acc));
                    maxerr = e > maxerr ? e : maxerr;
                }
            }
            CHECK_MSG(maxerr < 1e-5, "batch %d: max error %g", n, maxerr);
        }
        CHECK_MSG(sqz_session_peak_bytes(s) < sqz_session_peak_bytes(ref), "peak %zu vs %zu",
                  sqz_session_peak_bytes(s), sqz_session_peak_bytes(ref));
        sqz_tensor_release(&x);
    }
done:
    sqz_session_free(s);
    sqz_session_free(ref);
    sqz_graph_free(g);
}

/* Reshape-like ops run as views where that is safe: of a bound input (read in place, the input
 * unchanged), of an activation read by nothing later (buffer taken over); a copy when the
 * activation is read again later, and when the view is itself a graph output (the caller's input
 * buffer is never handed back as an output). */
static void test_views(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t xd[2] = {-1, 4};
    int x = tens(g, "x", SQZ_DT_F32, 2, xd);
    sqz_graph_add_input(g, x, &E);
    int fx = act(g, "fx"), h = act(g, "h"), fh = act(g, "fh"), sum = act(g, "sum"), r = act(g, "r"), fr = act(g, "fr");
    int out_copy = act(g, "out_copy");
    node(g, "Flatten", "flat_input", 1, &x, fx, NULL);       /* view of the bound input */
    node(g, "Relu", "relu", 1, &fx, h, NULL);
    node(g, "Flatten", "flat_live", 1, &h, fh, NULL);        /* h is read again below: copy */
    node(g, "Add", "add", 2, (int[]){fh, h}, sum, NULL);
    int sh = act(g, "sh");
    node(g, "Relu", "relu2", 1, &sum, r, NULL);
    node(g, "Shape", "shape", 1, &r, sh, NULL);
    node(g, "Reshape", "reshape_dying", 2, (int[]){r, sh}, fr, NULL); /* r dies here: buffer taken over;
                                                                      * its shape input is released */
    node(g, "Flatten", "flat_output", 1, &x, out_copy, NULL); /* a graph output: copy */
    sqz_graph_add_output(g, fr, &E);
    sqz_graph_add_output(g, out_copy, &E);
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (s) {
        for (int n = 1; n <= 3; n += 2) {
            sqz_tensor xin = make_input("x", n, 4);
            float keep[12];
            memcpy(keep, xin.data, sizeof(float) * (size_t)(4 * n));
            const sqz_tensor *in[1] = {&xin};
            CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
            const sqz_tensor *o = sqz_session_output(s, 0), *oc = sqz_session_output(s, 1);
            CHECK(o && o->ndim == 2 && o->dims[0] == n && o->dims[1] == 4 && o->nbytes == (size_t)(16 * n));
            CHECK(oc && oc->data != xin.data && oc->nbytes == (size_t)(16 * n));
            CHECK(!memcmp(xin.data, keep, sizeof(float) * (size_t)(4 * n)));
            const sqz_tensor *vfx = sqz_session_value(s, "fx"); /* the view of the input: no copy */
            CHECK(vfx && vfx->data == xin.data);
            /* given back after their last reader, the view (NULL: no value held) */
            CHECK(!sqz_session_value(s, "sh") && !sqz_session_value(s, "r"));
            int bad = 0;
            for (int i = 0; o && oc && i < 4 * n; i++) {
                const float v = ((const float *)xin.data)[i];
                bad += ((const float *)o->data)[i] != 2 * relu(v) || ((const float *)oc->data)[i] != v;
            }
            CHECK_MSG(bad == 0, "batch %d: %d wrong values", n, bad);
            sqz_tensor_release(&xin);
        }
    }
    sqz_session_free(s);
    sqz_graph_free(g);
}

/* ---- real models: Debian's libonnx-testdata pytorch-converted set ---- */
#define MODELS_DIR "/usr/share/libonnx-testdata/data/pytorch-converted"

static int load_pb(const char *dir, const char *kind, int i, sqz_tensor *t) {
    char p[600];
    snprintf(p, sizeof p, "%s/test_data_set_0/%s_%d.pb", dir, kind, i);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    fclose(f);
    sqz_err e;
    if (sqz_onnx_load_tensor(p, t, &e)) {
        CHECK_MSG(0, "%s: %s", p, e.msg);
        return 0;
    }
    return 1;
}

/* Runs one model prepared (folded, planner on) and as loaded (planner off): both must
 * give the same bits and match output_N.pb. Returns 1 run, 0 skipped (unsupported), -1 failed. */
static int run_model(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    sqz_graph *g = NULL, *raw = NULL;
    sqz_session *s = NULL, *sr = NULL;
    sqz_tensor in[4], want[4];
    int n_in = 0, n_out = 0, ran = -1;
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    sqz_status st = sqz_onnx_load(path, &g, &E);
    if (!st) st = sqz_graph_prepare(g, &E);
    if (st == SQZ_ERR_UNSUPPORTED) {
        ran = 0;
        printf("models: skip %s: %s\n", strrchr(dir, '/') + 1, E.msg);
        goto done;
    }
    CHECK_MSG(st == SQZ_OK, "%s: %s", dir, E.msg);
    if (st) goto done;
    CHECK_OK(sqz_onnx_load(path, &raw, &E), &E);
    while (n_in < 4 && load_pb(dir, "input", n_in, &in[n_in])) n_in++;
    while (n_out < 4 && load_pb(dir, "output", n_out, &want[n_out])) n_out++;
    const sqz_tensor *args[4];
    sqz_tensor view[4];
    for (int i = 0; i < n_in; i++) {
        view[i] = in[i];
        view[i].name = NULL; /* bind by position */
        args[i] = &view[i];
    }
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    if (raw) CHECK_OK(sqz_session_new(raw, &(sqz_session_opts){.no_reuse = 1}, &sr, &E), &E);
    if (!s || !sr) goto done;
    st = sqz_session_run(s, n_in, args, &E);
    CHECK_MSG(st == SQZ_OK, "%s: %s", dir, E.msg);
    st = st ? st : sqz_session_run(sr, n_in, args, &E);
    CHECK_MSG(st == SQZ_OK, "%s (unprepared): %s", dir, E.msg);
    if (st) goto done;
    ran = 1;
    CHECK_MSG(sqz_session_n_outputs(s) == n_out, "%s: %d outputs, %d expected", dir, sqz_session_n_outputs(s), n_out);
    for (int i = 0; i < n_out && i < sqz_session_n_outputs(s); i++) {
        const sqz_tensor *o = sqz_session_output(s, i), *orw = sqz_session_output(sr, i);
        CHECK(o && orw && o->nbytes == want[i].nbytes && orw->nbytes == o->nbytes);
        if (!o || !orw || o->nbytes != want[i].nbytes || orw->nbytes != o->nbytes) continue;
        CHECK_MSG(!memcmp(o->data, orw->data, o->nbytes), "%s: folded and unfolded runs differ", dir);
        int64_t n = sqz_tensor_numel(o);
        double worst = 0;
        for (int64_t j = 0; j < n; j++) {
            double a = sqz_tensor_get_f64(o, j), b = sqz_tensor_get_f64(&want[i], j);
            double e = fabs(a - b) / (1e-3 + fabs(b));
            worst = e > worst ? e : worst;
        }
        CHECK_MSG(worst < 1e-3, "%s: output %d relative error %g", dir, i, worst);
    }
done:
    for (int i = 0; i < 4; i++) {
        sqz_tensor_release(&in[i]);
        sqz_tensor_release(&want[i]);
    }
    sqz_session_free(s);
    sqz_session_free(sr);
    sqz_graph_free(g);
    sqz_graph_free(raw);
    return ran;
}

static void test_models(void) {
    DIR *d = opendir(MODELS_DIR);
    if (!d) {
        printf("models: %s missing, skipped\n", MODELS_DIR);
        return;
    }
    struct dirent *de;
    int ran = 0, skipped = 0, failed = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5)) continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", MODELS_DIR, de->d_name);
        int r = run_model(dir);
        ran += r == 1;
        skipped += r == 0;
        failed += r < 0;
    }
    closedir(d);
    printf("models: %d run, %d skipped (unsupported operators), %d failed\n", ran, skipped, failed);
}

/* Inverted residual blocks (1x1 expand + Clip(0,6), 3x3 depthwise + Relu, 1x1 project, a
 * residual Add; then a stride-2 block without expand) large enough to run as conv chains: the
 * session reports the chains, gives the bits of a session without fusion, and over batch sizes
 * 1 and 3 and two sizes of input (bands reuse rows; the chain's input must live until its end).
 * A third 1x1 reading the expanded tensor too keeps the expand out of the chain (which then
 * starts at the depthwise conv): checked by a variant. */
static float chain_val(int64_t i, int salt) { return (float)((i * 7 + salt * 13) % 17) / 17.0f - 0.45f; }

static int chain_init(sqz_graph *g, const char *name, int nd, const int64_t *d, int salt) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = chain_val(i, salt) * 0.5f;
    int t = init(g, name, SQZ_DT_F32, nd, d, v);
    free(v);
    return t;
}

static sqz_graph *chain_graph(int64_t H, int shared) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    const int64_t C = 8, E6 = 48;
    int x = tens(g, "x", SQZ_DT_F32, 4, (int64_t[]){-1, C, H, H});
    sqz_graph_add_input(g, x, &E);
    int we = chain_init(g, "we", 4, (int64_t[]){E6, C, 1, 1}, 1), be = chain_init(g, "be", 1, (int64_t[]){E6}, 2);
    int wd = chain_init(g, "wd", 4, (int64_t[]){E6, 1, 3, 3}, 3), bd = chain_init(g, "bd", 1, (int64_t[]){E6}, 4);
    int wp = chain_init(g, "wp", 4, (int64_t[]){C, E6, 1, 1}, 5), bp = chain_init(g, "bp", 1, (int64_t[]){C}, 6);
    int wd2 = chain_init(g, "wd2", 4, (int64_t[]){C, 1, 3, 3}, 7), wp2 = chain_init(g, "wp2", 4, (int64_t[]){16, C, 1, 1}, 8);
    float lo = 0.0f, hi = 6.0f;
    int mn = init(g, "mn", SQZ_DT_F32, 0, NULL, &lo), mx = init(g, "mx", SQZ_DT_F32, 0, NULL, &hi);
    int e = act(g, "e"), ec = act(g, "ec"), d = act(g, "d"), dr = act(g, "dr"), p = act(g, "p"), r = act(g, "r");
    int d2 = act(g, "d2"), out = act(g, "out");
    node(g, "Conv", "expand", 3, (int[]){x, we, be}, e, NULL);
    node(g, "Clip", "clip", 3, (int[]){e, mn, mx}, ec, NULL);
    int kd = node(g, "Conv", "dw", 3, (int[]){ec, wd, bd}, d, NULL);
    sqz_node_add_attr(g, g->nodes[kd], "group", SQZ_ATTR_INT)->i = E6;
    sqz_attr *pa = sqz_node_add_attr(g, g->nodes[kd], "pads", SQZ_ATTR_INTS);
    pa->n = 4;
    pa->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * 4, 8);
    for (int i = 0; i < 4; i++) pa->ints[i] = 1;
    node(g, "Relu", "relu", 1, &d, dr, NULL);
    node(g, "Conv", "project", 3, (int[]){dr, wp, bp}, p, NULL);
    node(g, "Add", "residual", 2, (int[]){p, x}, r, NULL);
    int kd2 = node(g, "Conv", "dw2", 2, (int[]){r, wd2}, d2, NULL);
    sqz_node_add_attr(g, g->nodes[kd2], "group", SQZ_ATTR_INT)->i = C;
    sqz_attr *st = sqz_node_add_attr(g, g->nodes[kd2], "strides", SQZ_ATTR_INTS);
    st->n = 2;
    st->ints = sqz_arena_alloc(g->arena, sizeof(int64_t) * 2, 8);
    st->ints[0] = st->ints[1] = 2;
    node(g, "Conv", "project2", 2, (int[]){d2, wp2}, out, NULL);
    sqz_graph_add_output(g, out, &E);
    if (shared) { /* the expanded tensor read a second time: no chain may take it */
        int wq = chain_init(g, "wq", 4, (int64_t[]){4, E6, 1, 1}, 9), q = act(g, "q");
        node(g, "Conv", "side", 2, (int[]){ec, wq}, q, NULL);
        sqz_graph_add_output(g, q, &E);
    }
    return g;
}

/* Runs x through s and through ref (the same graph unfused) and checks that every output of s is
 * there, of ref's size, not empty and has its bits; what names the case in a failure. */
static void run_same_bits(sqz_session *s, sqz_session *ref, const sqz_tensor *x, const char *what) {
    const sqz_tensor *in[1] = {x};
    CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
    CHECK_OK(sqz_session_run(ref, 1, in, &E), &E);
    for (int o = 0; o < sqz_session_n_outputs(s); o++) {
        const sqz_tensor *a = sqz_session_output(s, o), *b = sqz_session_output(ref, o);
        CHECK(a && b && a->nbytes == b->nbytes && a->nbytes > 0);
        if (a && b && a->nbytes == b->nbytes) CHECK_MSG(!memcmp(a->data, b->data, a->nbytes), "%s: output %d differs", what, o);
    }
}

/* Prepares g and opens a session with the load-time fusions (s) and one without (ref); on a
 * failure (checked) frees both and g and returns 0. */
static int fused_and_plain(sqz_graph *g, sqz_session **s, sqz_session **ref) {
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    CHECK_OK(sqz_session_new(g, NULL, s, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.no_fuse = 1}, ref, &E), &E);
    if (*s && *ref) return 1;
    sqz_session_free(*s), sqz_session_free(*ref), sqz_graph_free(g);
    return 0;
}

static void test_conv_chains(void) {
    for (int shared = 0; shared < 2; shared++) {
        sqz_graph *g = chain_graph(112, shared);
        sqz_session *s = NULL, *ref = NULL;
        if (!fused_and_plain(g, &s, &ref)) return;
        int chains = 0, inner = 0, ce = -2, cd = -2, expand = -2;
        for (int k = 0; k < g->n_nodes; k++) {
            const int c = sqz_session_chain(s, k, &ce, &cd);
            chains += c == 2;
            inner += c == 1;
            if (c == 2) expand = ce;
            CHECK(sqz_session_chain(ref, k, NULL, NULL) == 0);
        }
        const int avx2 = sqz_cpu_isa() >= SQZ_ISA_AVX2;
        /* expand -> dw -> project (4 inner nodes with the Clip and Relu; shared: dw and Relu) and
         * dw2 -> project2: the second's input is 112x112x8 floats = 392 KiB, under the 512 KiB
         * bar, so only the first */
        CHECK_MSG(chains == avx2 && inner == (avx2 ? (shared ? 2 : 4) : 0), "shared %d: %d chains, %d inner", shared,
                  chains, inner);
        if (avx2) CHECK((expand == -1) == shared);
        for (int run = 0; run < 3; run++) {
            const int64_t n = run == 1 ? 3 : 1;
            sqz_tensor x;
            sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 4, (int64_t[]){n, 8, 112, 112}, &E);
            for (int64_t i = 0; i < n * 8 * 112 * 112; i++) ((float *)x.data)[i] = chain_val(i, run);
            char what[64];
            snprintf(what, sizeof what, "chains: shared %d run %d", shared, run);
            run_same_bits(s, ref, &x, what);
            sqz_tensor_release(&x);
        }
        sqz_session_free(s);
        sqz_session_free(ref);
        sqz_graph_free(g);
    }
}

/* Gemm pairs (runtime/fuse.h): x -> Gemm(+bias) -> Relu -> Gemm(+bias row) -> Gemm -> y, all
 * transB = 1. From 32 rows on, the first two store their outputs transposed (kernel "gemm-t")
 * and the next Gemm reads them so; the outputs keep the bits of a session without fusion at
 * every batch size, under and over the bar. Variants: the middle tensor also a graph output (that
 * link stays row-major), and the last Gemm reading its input with transA (no pair into it). */
static sqz_graph *gemm_pair_graph(int variant) {
    sqz_graph *g = sqz_graph_new();
    g->opset = 13;
    int x = tens(g, "x", SQZ_DT_F32, 2, (int64_t[]){-1, 40});
    sqz_graph_add_input(g, x, &E);
    int w1 = chain_init(g, "w1", 2, (int64_t[]){24, 40}, 1), b1 = chain_init(g, "b1", 1, (int64_t[]){24}, 2);
    int w2 = chain_init(g, "w2", 2, (int64_t[]){16, 24}, 3), b2 = chain_init(g, "b2", 2, (int64_t[]){1, 16}, 4);
    int w3 = chain_init(g, "w3", 2, (int64_t[]){5, 16}, 5);
    int h = act(g, "h"), hr = act(g, "hr"), z = act(g, "z"), y = act(g, "y");
    int k1 = node(g, "Gemm", "fc1", 3, (int[]){x, w1, b1}, h, NULL);
    node(g, "Relu", "relu", 1, &h, hr, NULL);
    int k2 = node(g, "Gemm", "fc2", 3, (int[]){hr, w2, b2}, z, NULL);
    int k3;
    if (variant == 2) { /* z read as z^T: fc3 computes z^T^T w3^T with transA */
        int w3t = chain_init(g, "w3t", 2, (int64_t[]){5, 16}, 6), zt = act(g, "zt");
        int kt = node(g, "Transpose", "t", 1, &z, zt, NULL);
        (void)kt;
        k3 = node(g, "Gemm", "fc3", 2, (int[]){zt, w3t}, y, NULL);
        sqz_node_add_attr(g, g->nodes[k3], "transA", SQZ_ATTR_INT)->i = 1;
    } else {
        k3 = node(g, "Gemm", "fc3", 2, (int[]){z, w3}, y, NULL);
    }
    sqz_node_add_attr(g, g->nodes[k1], "transB", SQZ_ATTR_INT)->i = 1;
    sqz_node_add_attr(g, g->nodes[k2], "transB", SQZ_ATTR_INT)->i = 1;
    sqz_node_add_attr(g, g->nodes[k3], "transB", SQZ_ATTR_INT)->i = 1;
    sqz_graph_add_output(g, y, &E);
    if (variant == 1) sqz_graph_add_output(g, z, &E);
    return g;
}

static void test_gemm_pairs(void) {
    for (int variant = 0; variant < 3; variant++) {
        sqz_graph *g = gemm_pair_graph(variant);
        sqz_session *s = NULL, *ref = NULL;
        if (!fused_and_plain(g, &s, &ref)) return;
        static const int64_t batches[] = {1, 31, 32, 64, 77, 3};
        for (int run = 0; run < 6; run++) {
            const int64_t n = batches[run];
            sqz_tensor x;
            sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 2, (int64_t[]){n, 40}, &E);
            for (int64_t i = 0; i < n * 40; i++) ((float *)x.data)[i] = chain_val(i, run + 1);
            char what[64];
            snprintf(what, sizeof what, "gemm pairs: variant %d batch %lld", variant, (long long)n);
            run_same_bits(s, ref, &x, what);
            int xposed = 0;
            for (int k = 0; k < g->n_nodes; k++) {
                const char *kn = sqz_session_kernel(s, k);
                xposed += kn && !strcmp(kn, "gemm-t");
            }
            /* fc1 -> fc2 always a pair; fc2 -> fc3 unless z is a graph output or read via Transpose */
            const int want = n < 32 ? 0 : variant == 0 ? 2 : 1;
            CHECK_MSG(xposed == want, "variant %d batch %lld: %d transposed Gemm outputs, want %d", variant,
                      (long long)n, xposed, want);
            sqz_tensor_release(&x);
        }
        sqz_session_free(s);
        sqz_session_free(ref);
        sqz_graph_free(g);
    }
}

/* A batch run in slices (forced to 2 samples: this graph's batch of 5 stays under the cache bar)
 * gives the bits of the whole-batch run, outputs in place and of the batch's shape; a graph with
 * a node that mixes samples (Softmax over axis 0) never runs in slices. */
static void test_slices(void) {
    sqz_graph *g = chain_graph(40, 0);
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    sqz_session *s = NULL, *ref = NULL, *aut = NULL;
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = 2}, &s, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = -1}, &ref, &E), &E);
    CHECK_OK(sqz_session_new(g, NULL, &aut, &E), &E);
    if (s && ref && aut) {
        CHECK(sqz_session_sliced(s, 5) == 2 && sqz_session_sliced(s, 2) == 0 && sqz_session_sliced(ref, 5) == 0);
        CHECK(sqz_session_sliced(aut, 5) == 0); /* 5 x 48 x 40 x 40 floats: well under 32 MiB */
        CHECK(sqz_session_sliced(aut, 4096) > 0);
        for (int run = 0; run < 2; run++) {
            const int64_t n = run ? 5 : 3;
            sqz_tensor x;
            sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 4, (int64_t[]){n, 8, 40, 40}, &E);
            for (int64_t i = 0; i < n * 8 * 40 * 40; i++) ((float *)x.data)[i] = chain_val(i, run + 5);
            const sqz_tensor *in[1] = {&x};
            CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
            CHECK_OK(sqz_session_run(ref, 1, in, &E), &E);
            const sqz_tensor *a = sqz_session_output(s, 0), *b = sqz_session_output(ref, 0);
            CHECK(a && b && a->ndim == 4 && a->dims[0] == n && a->nbytes == b->nbytes);
            if (a && b && a->nbytes == b->nbytes) CHECK_MSG(!memcmp(a->data, b->data, a->nbytes), "sliced run %d differs", run);
            sqz_tensor_release(&x);
        }
    }
    sqz_session_free(s), sqz_session_free(ref), sqz_session_free(aut);
    /* the same graph ending in Softmax: over axis 1 still sliced, over the batch axis never */
    const int y = g->outputs[0];
    int sm = act(g, "sm");
    int k = node(g, "Softmax", "softmax0", 1, &y, sm, NULL);
    sqz_attr *ax = sqz_node_add_attr(g, g->nodes[k], "axis", SQZ_ATTR_INT);
    ax->i = 1;
    g->outputs[0] = sm;
    g->tensors[y]->flags &= ~(uint32_t)SQZ_TF_OUTPUT;
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    for (int axis = 1; axis >= 0; axis--) {
        ax->i = axis;
        CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = 2}, &s, &E), &E);
        if (s) CHECK_MSG(sqz_session_sliced(s, 5) == (axis ? 2 : 0), "softmax axis %d", axis);
        sqz_session_free(s);
        s = NULL;
    }
    sqz_graph_free(g);
}

/* A sliced run whose graph ends in a small tensor read by layers with many weights (pooling and
 * a 16 x 5000 fully connected layer, 320 KB) runs those last nodes once on the whole batch: the
 * same bits as the whole-batch run, for a full last slice and a short one, and no such tail when
 * the whole batch's tail would not fit the cache. */
static void test_slice_tail(void) {
    sqz_graph *g = chain_graph(40, 0);
    const int y = g->outputs[0];
    const int64_t F = 5000;
    float *wv = malloc(sizeof(float) * (size_t)(16 * F)), *bv = malloc(sizeof(float) * (size_t)F);
    for (int64_t i = 0; i < 16 * F; i++) wv[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (int64_t i = 0; i < F; i++) bv[i] = (float)(i % 13) * 0.01f;
    int w = init(g, "fc_w", SQZ_DT_F32, 2, (int64_t[]){16, F}, wv), b = init(g, "fc_b", SQZ_DT_F32, 1, &F, bv);
    free(wv), free(bv);
    int gp = act(g, "gap"), fl = act(g, "flat"), z = act(g, "logits");
    node(g, "GlobalAveragePool", "gap", 1, &y, gp, NULL);
    node(g, "Flatten", "flatten", 1, &gp, fl, NULL);
    node(g, "Gemm", "fc", 3, (int[]){fl, w, b}, z, NULL);
    g->outputs[0] = z;
    g->tensors[y]->flags &= ~(uint32_t)SQZ_TF_OUTPUT;
    g->tensors[z]->flags |= SQZ_TF_OUTPUT;
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    sqz_session *s = NULL, *ref = NULL;
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = 2}, &s, &E), &E);
    CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = -1}, &ref, &E), &E);
    if (s && ref) {
        CHECK(sqz_session_sliced(s, 5) == 2);
        CHECK_MSG(sqz_session_slice_tail(s, 5) >= 3, "tail of %d nodes", sqz_session_slice_tail(s, 5));
        CHECK(sqz_session_slice_tail(s, 4096) == 0 && sqz_session_slice_tail(ref, 5) == 0);
        for (int run = 0; run < 3; run++) {
            const int64_t n = run == 1 ? 4 : 5;
            sqz_tensor x;
            sqz_tensor_init_owned(&x, "x", SQZ_DT_F32, 4, (int64_t[]){n, 8, 40, 40}, &E);
            for (int64_t i = 0; i < n * 8 * 40 * 40; i++) ((float *)x.data)[i] = chain_val(i, run + 9);
            const sqz_tensor *in[1] = {&x};
            CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
            CHECK_OK(sqz_session_run(ref, 1, in, &E), &E);
            const sqz_tensor *a = sqz_session_output(s, 0), *r = sqz_session_output(ref, 0);
            CHECK(a && r && a->ndim == 2 && a->dims[0] == n && a->dims[1] == F && a->nbytes == r->nbytes);
            if (a && r && a->nbytes == r->nbytes) CHECK_MSG(!memcmp(a->data, r->data, a->nbytes), "tail run %d differs", run);
            sqz_tensor_release(&x);
        }
    }
    sqz_session_free(s), sqz_session_free(ref);
    sqz_graph_free(g);
}

/* Reshapes and Flattens that keep one sample per row allow slices; those that make rows of part
 * of a sample (Reshape to [-1, 4] of [N, 4, 2, 2], Flatten at axis 2) do not. */
static void test_slice_reshapes(void) {
    static const struct {
        const char *op;
        int64_t shape[2], axis;
        int sliced;
    } cs[] = {{"Reshape", {0, 16}, 0, 1}, {"Reshape", {-1, 16}, 0, 1}, {"Reshape", {-1, 4}, 0, 0},
              {"Flatten", {0, 0}, 1, 1}, {"Flatten", {0, 0}, 2, 0}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        sqz_graph *g = sqz_graph_new();
        g->opset = 13;
        int x = tens(g, "x", SQZ_DT_F32, 4, (int64_t[]){-1, 4, 2, 2}), y = act(g, "y"), r = act(g, "r");
        sqz_graph_add_input(g, x, &E);
        node(g, "Relu", "relu", 1, &x, r, NULL);
        if (!strcmp(cs[i].op, "Reshape")) {
            int sh = init(g, "shape", SQZ_DT_I64, 1, (int64_t[]){2}, cs[i].shape);
            node(g, "Reshape", "reshape", 2, (int[]){r, sh}, y, NULL);
        } else {
            int k = node(g, "Flatten", "flatten", 1, &r, y, NULL);
            sqz_node_add_attr(g, g->nodes[k], "axis", SQZ_ATTR_INT)->i = cs[i].axis;
        }
        sqz_graph_add_output(g, y, &E);
        CHECK_OK(sqz_graph_prepare(g, &E), &E);
        sqz_session *s = NULL;
        CHECK_OK(sqz_session_new(g, &(sqz_session_opts){.microbatch = 2}, &s, &E), &E);
        if (s) CHECK_MSG(sqz_session_sliced(s, 5) == (cs[i].sliced ? 2 : 0), "case %zu", i);
        if (s && cs[i].sliced) { /* and the sliced run gives the whole batch's rows in place */
            sqz_tensor xv;
            sqz_tensor_init_owned(&xv, "x", SQZ_DT_F32, 4, (int64_t[]){5, 4, 2, 2}, &E);
            for (int j = 0; j < 80; j++) ((float *)xv.data)[j] = (float)(j % 7) - 3.0f;
            const sqz_tensor *in[1] = {&xv};
            CHECK_OK(sqz_session_run(s, 1, in, &E), &E);
            const sqz_tensor *o = sqz_session_output(s, 0);
            CHECK(o && o->dims[0] == 5 && o->nbytes == 80 * sizeof(float));
            for (int j = 0; o && j < 80; j++) CHECK(((const float *)o->data)[j] == fmaxf((float)(j % 7) - 3.0f, 0.0f));
            sqz_tensor_release(&xv);
        }
        sqz_session_free(s);
        sqz_graph_free(g);
    }
}

int main(void) {
    test_slice_reshapes();
    test_conv_chains();
    test_gemm_pairs();
    test_slices();
    test_slice_tail();
    test_views();
    test_fake_chain();
    test_errors();
    test_real_graph();
    test_models();
    TEST_MAIN_END();
}
