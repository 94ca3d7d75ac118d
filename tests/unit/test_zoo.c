/* tests/unit/test_zoo.c - every zoo architecture builds, prepares, runs batch 2 to the
 * right shape, survives an ONNX round trip; published parameter counts. */
#include <stdlib.h>
#include <string.h>

#include "sqz/sqz.h"
#include "test.h"
#include "tmpdir.h"
#include "zoo/zoo.h"

static sqz_err E;

static int run_batch2(sqz_graph *g, int64_t c, int64_t h, int64_t w, float *out, size_t out_n) {
    sqz_session *s = NULL;
    if (sqz_session_new(g, NULL, &s, &E)) return -1;
    sqz_tensor x;
    int64_t d[4] = {2, c, h, w};
    sqz_tensor_init_owned(&x, "input", SQZ_DT_F32, 4, d, &E);
    for (int64_t i = 0; i < 2 * c * h * w; i++) ((float *)x.data)[i] = (float)((i * 37) % 101) / 101.0f;
    const sqz_tensor *in[1] = {&x};
    int rc = -1;
    if (!sqz_session_run(s, 1, in, &E)) {
        const sqz_tensor *y = sqz_session_output(s, 0);
        if (y->ndim == 2 && y->dims[0] == 2 && (size_t)y->dims[1] * 2 == out_n) {
            memcpy(out, y->data, out_n * sizeof(float));
            rc = 0;
        }
    }
    sqz_tensor_release(&x);
    sqz_session_free(s);
    return rc;
}

static void test_arch(const char *name, int64_t c, int64_t h, int64_t w) {
    sqz_graph *g = NULL;
    CHECK_OK(sqz_zoo_build(name, c, h, w, 10, 1.0f, 42, &g, &E), &E);
    if (!g) return;
    CHECK_OK(sqz_graph_prepare(g, &E), &E);
    float y[20], y2[20];
    int rc = run_batch2(g, c, h, w, y, 20);
    CHECK_MSG(rc == 0, "%s %lldx%lldx%lld forward: %s", name, (long long)c, (long long)h, (long long)w, E.msg);
    int finite = 1;
    for (int i = 0; i < 20; i++) finite &= isfinite(y[i]) != 0;
    CHECK_MSG(finite, "%s: non-finite logits", name);
    /* ONNX round trip gives the same bits */
    char path[512];
    tmpdir_path(path, sizeof path, "zoo.onnx");
    CHECK_OK(sqz_onnx_save(g, path, &E), &E);
    sqz_graph *g2 = NULL;
    CHECK_OK(sqz_onnx_load(path, &g2, &E), &E);
    if (g2) {
        CHECK_OK(sqz_graph_prepare(g2, &E), &E);
        CHECK(run_batch2(g2, c, h, w, y2, 20) == 0);
        CHECK_MSG(memcmp(y, y2, sizeof y) == 0, "%s: ONNX round trip changed the output", name);
        CHECK(sqz_graph_find_tensor(g2, "input") >= 0 && sqz_graph_find_tensor(g2, "logits") >= 0);
        sqz_graph_free(g2);
    }
    unlink(path);
    sqz_graph_free(g);
}

static void test_all(void) {
    for (int i = 0; i < sqz_zoo_count(); i++) {
        const sqz_zoo_info *z = sqz_zoo_at(i);
        CHECK(z && z->name && z->desc && sqz_zoo_find(z->name) == z);
        test_arch(z->name, 1, 28, 28);
        test_arch(z->name, 3, 32, 32);
    }
}

static void test_counts(void) {
    int64_t p = 0, m = 0;
    CHECK_OK(sqz_zoo_stats("mlp300", 1, 28, 28, 10, 1, &p, &m, &E), &E);
    CHECK_MSG(p == 266610, "mlp300 params %lld", (long long)p);
    CHECK_MSG(m == 266200, "mlp300 macs %lld", (long long)m);
    CHECK_OK(sqz_zoo_stats("lenet5", 1, 28, 28, 10, 1, &p, &m, &E), &E);
    CHECK_MSG(p == 61706, "lenet5 params %lld", (long long)p);
    CHECK_OK(sqz_zoo_stats("lenet5", 3, 32, 32, 10, 1, &p, &m, &E), &E);
    CHECK_MSG(p == 62006, "lenet5 3x32x32 params %lld", (long long)p);
    CHECK_OK(sqz_zoo_stats("lenet5-caffe", 1, 28, 28, 10, 1, &p, &m, &E), &E);
    CHECK_MSG(p == 431080, "lenet5-caffe params %lld", (long long)p);
    int64_t r8 = 0, r20 = 0;
    CHECK_OK(sqz_zoo_stats("resnet8", 3, 32, 32, 10, 1, &r8, &m, &E), &E);
    CHECK_OK(sqz_zoo_stats("resnet20", 3, 32, 32, 10, 1, &r20, &m, &E), &E);
    /* resnet20 with option-B shortcuts: ~0.27M (option A's 0.27M + two 1x1 projections) */
    CHECK_MSG(r20 > 260000 && r20 < 290000 && r8 < r20 && r8 > 70000, "resnet8 %lld resnet20 %lld", (long long)r8,
              (long long)r20);
    int64_t half = 0, full = 0;
    CHECK_OK(sqz_zoo_stats("mobilenetv2", 1, 28, 28, 10, 0.5f, &half, &m, &E), &E);
    CHECK_OK(sqz_zoo_stats("mobilenetv2", 1, 28, 28, 10, 1.0f, &full, &m, &E), &E);
    CHECK_MSG(half > 0 && half < full, "mobilenetv2 0.5x %lld 1x %lld", (long long)half, (long long)full);
}

static void test_seed_and_errors(void) {
    sqz_graph *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(sqz_zoo_build("lenet5", 1, 28, 28, 10, 1, 7, &a, &E), &E);
    CHECK_OK(sqz_zoo_build("lenet5", 1, 28, 28, 10, 1, 7, &b, &E), &E);
    CHECK_OK(sqz_zoo_build("lenet5", 1, 28, 28, 10, 1, 8, &c, &E), &E);
    if (a && b && c) {
        int ia = sqz_graph_find_tensor(a, "conv1.weight"), ib = sqz_graph_find_tensor(b, "conv1.weight"),
            ic = sqz_graph_find_tensor(c, "conv1.weight");
        CHECK(ia >= 0 && ib >= 0 && ic >= 0);
        if (ia >= 0 && ib >= 0 && ic >= 0) {
            CHECK(!memcmp(a->tensors[ia]->data, b->tensors[ib]->data, a->tensors[ia]->nbytes));
            CHECK(memcmp(a->tensors[ia]->data, c->tensors[ic]->data, a->tensors[ia]->nbytes) != 0);
        }
    }
    sqz_graph_free(a);
    sqz_graph_free(b);
    sqz_graph_free(c);
    sqz_graph *g = NULL;
    CHECK(sqz_zoo_build("nope", 1, 28, 28, 10, 1, 1, &g, &E) == SQZ_ERR_ARG && g == NULL);
    CHECK(strstr(E.msg, "nope") != NULL);
    CHECK(sqz_zoo_build("lenet5-caffe", 1, 8, 8, 10, 1, 1, &g, &E) == SQZ_ERR_ARG && g == NULL);
    CHECK(strstr(E.msg, "too small") != NULL);
    CHECK(sqz_zoo_build("mlp300", 0, 28, 28, 10, 1, 1, &g, &E) == SQZ_ERR_ARG);
    CHECK(sqz_zoo_build("mlp300", 1, 28, 28, 0, 1, 1, &g, &E) == SQZ_ERR_ARG);
    CHECK(sqz_zoo_build("mlp300", 1, 28, 28, 10, -1, 1, &g, &E) == SQZ_ERR_ARG);
    /* small and odd inputs where they make sense */
    CHECK_OK(sqz_zoo_build("resnet8", 1, 9, 11, 3, 0.5f, 1, &g, &E), &E);
    if (g) {
        CHECK_OK(sqz_graph_prepare(g, &E), &E);
        sqz_graph_free(g);
    }
}

int main(void) {
    if (!tmpdir_make()) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_all();
    test_counts();
    test_seed_and_errors();
    tmpdir_remove();
    TEST_MAIN_END();
}
