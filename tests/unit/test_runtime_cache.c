/* tests/unit/test_runtime_cache.c - the session's shape-inference cache: a Reshape whose target
 * shape is a graph INPUT must follow a new shape value on every run even when the data input
 * keeps its shape; one whose shape is a constant initializer, overridden by the caller on a
 * later run, must follow the override; changing batch sizes re-infer. */
#include <stdlib.h>
#include <string.h>

#include "sqz/sqz.h"
#include "test.h"

static sqz_err E;

static sqz_tensor make(const char *name, sqz_dtype dt, int ndim, const int64_t *d, const void *v) {
    sqz_tensor t;
    sqz_tensor_init_owned(&t, name, dt, ndim, d, &E);
    if (v) memcpy(t.data, v, t.nbytes);
    return t;
}

static void test_dynamic_shape_input(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t xd[2] = {2, 6}, sd[1] = {2};
    const int x = sqz_graph_add_tensor(g, "x", SQZ_DT_F32, 2, xd, &E);
    const int sh = sqz_graph_add_tensor(g, "shape", SQZ_DT_I64, 1, sd, &E);
    const int r = sqz_graph_add_tensor(g, "r", SQZ_DT_UNDEF, -1, NULL, &E);
    const int y = sqz_graph_add_tensor(g, "y", SQZ_DT_UNDEF, -1, NULL, &E);
    sqz_graph_add_input(g, x, &E);
    sqz_graph_add_input(g, sh, &E);
    sqz_graph_add_node(g, "Reshape", "reshape", 2, (int[]){x, sh}, 1, &r, &E);
    sqz_graph_add_node(g, "Relu", "relu", 1, &r, 1, &y, &E);
    sqz_graph_add_output(g, y, &E);
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    float xv[12];
    for (int i = 0; i < 12; i++) xv[i] = (float)i - 3.0f;
    sqz_tensor X = make("x", SQZ_DT_F32, 2, xd, xv);
    const int64_t shapes[4][2] = {{3, 4}, {4, 3}, {4, 3}, {12, 1}};
    for (int k = 0; s && k < 4; k++) {
        sqz_tensor S = make("shape", SQZ_DT_I64, 1, sd, shapes[k]);
        const sqz_tensor *in[2] = {&X, &S};
        CHECK_OK(sqz_session_run(s, 2, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(s, 0);
        CHECK(o && o->ndim == 2 && o->dims[0] == shapes[k][0] && o->dims[1] == shapes[k][1]);
        if (o && o->nbytes == 48) CHECK(((const float *)o->data)[11] == 8.0f && ((const float *)o->data)[0] == 0.0f);
        sqz_tensor_release(&S);
    }
    sqz_tensor_release(&X);
    sqz_session_free(s);
    sqz_graph_free(g);
}

static void test_overridden_initializer(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t xd[2] = {-1, 6}, sd[1] = {2}, def[2] = {-1, 2};
    const int x = sqz_graph_add_tensor(g, "x", SQZ_DT_F32, 2, xd, &E);
    const int sh = sqz_graph_add_tensor(g, "shape", SQZ_DT_I64, 1, sd, &E);
    sqz_graph_set_data(g, g->tensors[sh], def, sizeof def, &E);
    const int y = sqz_graph_add_tensor(g, "y", SQZ_DT_UNDEF, -1, NULL, &E);
    sqz_graph_add_input(g, x, &E);
    sqz_graph_add_input(g, sh, &E); /* an input with a default value */
    sqz_graph_add_node(g, "Reshape", "reshape", 2, (int[]){x, sh}, 1, &y, &E);
    sqz_graph_add_output(g, y, &E);
    sqz_session *s = NULL;
    CHECK_OK(sqz_session_new(g, NULL, &s, &E), &E);
    float xv[24] = {0};
    const int64_t batches[4] = {2, 2, 4, 2};
    for (int k = 0; s && k < 4; k++) {
        const int64_t d[2] = {batches[k], 6};
        sqz_tensor X = make("x", SQZ_DT_F32, 2, d, xv);
        const int64_t ov[2] = {-1, 3};
        sqz_tensor S = make("shape", SQZ_DT_I64, 1, sd, ov);
        const sqz_tensor *in[2] = {&X, &S};
        const int override = k == 1;
        CHECK_OK(sqz_session_run(s, override ? 2 : 1, in, &E), &E);
        const sqz_tensor *o = sqz_session_output(s, 0);
        const int64_t cols = override ? 3 : 2;
        CHECK_MSG(o && o->ndim == 2 && o->dims[1] == cols && o->dims[0] == batches[k] * 6 / cols, "run %d", k);
        sqz_tensor_release(&X);
        sqz_tensor_release(&S);
    }
    sqz_session_free(s);
    sqz_graph_free(g);
}

int main(void) {
    test_dynamic_shape_input();
    test_overridden_initializer();
    TEST_MAIN_END();
}
