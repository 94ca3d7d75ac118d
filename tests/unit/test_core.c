/* Unit tests for core: status, dtypes, tensors, arena, rng, atomic files. */
#include <stdlib.h>
#include <unistd.h>

#include "core/file.h"
#include "core/rng.h"
#include "sqz/sqz.h"
#include "test.h"

static void test_status(void) {
    sqz_err e;
    sqz_err_clear(&e);
    CHECK(sqz_err_set(&e, SQZ_ERR_DATA, "bad %d\nthing", 3) == SQZ_ERR_DATA);
    CHECK(strcmp(e.msg, "bad 3 thing") == 0);
    sqz_err_prefix(&e, "file.onnx");
    CHECK(strcmp(e.msg, "file.onnx: bad 3 thing") == 0);
    CHECK(sqz_status_exit_code(SQZ_ERR_DATA) == 65);
    CHECK(sqz_status_exit_code(SQZ_ERR_NOTFOUND) == 66);
    CHECK(sqz_status_exit_code(SQZ_ERR_WRITE) == 73);
    CHECK(sqz_status_exit_code(SQZ_ERR_ARG) == 2);
    CHECK(sqz_err_set(NULL, SQZ_ERR_IO, "x") == SQZ_ERR_IO);
}

static void test_dtypes(void) {
    CHECK(sqz_dtype_size(SQZ_DT_F32) == 4);
    CHECK(sqz_dtype_size(SQZ_DT_I4) == 0);
    CHECK(sqz_dtype_bits(SQZ_DT_I4) == 4);
    size_t nb;
    sqz_err e;
    CHECK(sqz_dtype_nbytes(SQZ_DT_I4, 5, &nb, &e) == SQZ_OK && nb == 3);
    CHECK(sqz_dtype_nbytes(SQZ_DT_B1, 9, &nb, &e) == SQZ_OK && nb == 2);
    CHECK(sqz_dtype_nbytes(SQZ_DT_F64, INT64_MAX / 4, &nb, &e) == SQZ_ERR_DATA);
    CHECK(sqz_dtype_from_name("bf16") == SQZ_DT_BF16);
    CHECK(!sqz_dtype_is_valid(99));
    /* f16 round trip of every finite half value */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) continue; /* NaN */
        if (sqz_f32_to_f16(sqz_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK_MSG(bad == 0, "%d f16 values do not round-trip", bad);
    CHECK(sqz_f16_to_f32(0x3c00) == 1.0f);
    CHECK(sqz_f32_to_f16(65520.0f) == 0x7c00); /* rounds to inf */
    CHECK(sqz_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(sqz_bf16_to_f32(0xc000) == -2.0f);
}

static void test_tensor(void) {
    sqz_err e;
    int64_t dims[3] = {2, 3, 4}, n;
    CHECK(sqz_shape_numel(dims, 3, &n, &e) == SQZ_OK && n == 24);
    int64_t huge[3] = {INT64_MAX / 2, 4, 1};
    CHECK(sqz_shape_numel(huge, 3, &n, &e) == SQZ_ERR_DATA);
    int64_t neg[1] = {-3};
    CHECK(sqz_shape_numel(neg, 1, &n, &e) == SQZ_ERR_DATA);
    sqz_tensor t;
    CHECK_OK(sqz_tensor_init_owned(&t, "x", SQZ_DT_I32, 3, dims, &e), &e);
    CHECK(t.nbytes == 96 && sqz_tensor_numel(&t) == 24);
    sqz_tensor_set_f64(&t, 5, -7);
    CHECK(sqz_tensor_get_f64(&t, 5) == -7.0);
    char buf[64];
    sqz_shape_str(&t, buf, sizeof buf);
    CHECK(strcmp(buf, "[2,3,4]") == 0);
    sqz_tensor_release(&t);
    CHECK(t.data == NULL);
}

static void test_arena_graph(void) {
    sqz_err e;
    sqz_graph *g = sqz_graph_new();
    CHECK(g != NULL);
    int64_t d[2] = {4, 4};
    int a = sqz_graph_add_tensor(g, "a", SQZ_DT_F32, 2, d, &e);
    int b = sqz_graph_add_tensor(g, "b", SQZ_DT_F32, 2, d, &e);
    CHECK(a == 0 && b == 1);
    CHECK(sqz_graph_add_tensor(g, "a", SQZ_DT_F32, 2, d, &e) == -1 && e.code == SQZ_ERR_DATA);
    for (int i = 0; i < 2000; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "t%d", i);
        CHECK(sqz_graph_add_tensor(g, nm, SQZ_DT_F32, 0, NULL, &e) == i + 2);
    }
    CHECK(sqz_graph_find_tensor(g, "t1999") == 2001);
    CHECK(sqz_graph_find_tensor(g, "nope") == -1);
    char *u = sqz_graph_unique_name(g, "a");
    CHECK(u && strcmp(u, "a_1") == 0);
    /* a -> n0 -> c -> n1 -> b ; n1 listed first, topo must reorder */
    int c = sqz_graph_add_tensor(g, "c", SQZ_DT_F32, 2, d, &e);
    CHECK_OK(sqz_graph_add_input(g, a, &e), &e);
    int in1[1] = {c}, out1[1] = {b};
    int in0[1] = {a}, out0[1] = {c};
    CHECK(sqz_graph_add_node(g, "Relu", "n1", 1, in1, 1, out1, &e) == 0);
    CHECK(sqz_graph_add_node(g, "Relu", "n0", 1, in0, 1, out0, &e) == 1);
    int order[2];
    CHECK_OK(sqz_graph_topo_order(g, order, &e), &e);
    CHECK(order[0] == 1 && order[1] == 0);
    sqz_attr *at = sqz_node_add_attr(g, g->nodes[0], "alpha", SQZ_ATTR_FLOAT);
    CHECK(at != NULL);
    at->f = 0.5f;
    CHECK(sqz_node_attr_float(g->nodes[0], "alpha", 1.0f) == 0.5f);
    CHECK(sqz_node_attr_int(g->nodes[0], "missing", 7) == 7);
    /* cycle: make n0 consume b */
    g->nodes[1]->in[0] = b;
    CHECK(sqz_graph_topo_order(g, order, &e) == SQZ_ERR_DATA && strstr(e.msg, "cycle"));
    void *big = sqz_arena_alloc(g->arena, 5u << 20, 64);
    CHECK(big && ((uintptr_t)big & 63) == 0);
    sqz_graph_free(g);
}

static void test_rng(void) {
    sqz_rng a, b;
    sqz_rng_seed(&a, 42);
    sqz_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 100; i++) same &= sqz_rng_u64(&a) == sqz_rng_u64(&b);
    CHECK(same);
    double s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        float x = sqz_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    CHECK_NEAR(s / 20000, 0.0, 0.05);
    CHECK_NEAR(s2 / 20000, 1.0, 0.05);
    for (int i = 0; i < 1000; i++) {
        float u = sqz_rng_uniform(&a);
        if (u < 0 || u >= 1) CHECK(0);
        if (sqz_rng_below(&a, 7) >= 7) CHECK(0);
    }
}

static void test_atomic(void) {
    sqz_err e;
    char dir[] = "/tmp/sqz_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    sqz_afile f;
    CHECK_OK(sqz_afile_open(&f, path, &e), &e);
    CHECK_OK(sqz_afile_write(&f, "hello", 5, &e), &e);
    CHECK(!sqz_file_exists(path)); /* not visible before commit */
    CHECK_OK(sqz_afile_commit(&f, &e), &e);
    void *buf;
    size_t len;
    CHECK_OK(sqz_file_read_all(path, 0, &buf, &len, &e), &e);
    CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
    free(buf);
    /* an aborted write leaves the old file intact and no temporary behind */
    CHECK_OK(sqz_afile_open(&f, path, &e), &e);
    CHECK_OK(sqz_afile_write(&f, "XX", 2, &e), &e);
    sqz_afile_abort(&f);
    CHECK_OK(sqz_file_read_all(path, 0, &buf, &len, &e), &e);
    CHECK(len == 5);
    free(buf);
    CHECK(sqz_file_read_all("/nonexistent/x", 0, &buf, &len, &e) == SQZ_ERR_NOTFOUND);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_status();
    test_dtypes();
    test_tensor();
    test_arena_graph();
    test_rng();
    test_atomic();
    TEST_MAIN_END();
}
