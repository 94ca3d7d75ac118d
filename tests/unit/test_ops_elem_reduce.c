/* Unit tests for the elementwise reductions (ReduceSum ... ReduceLogSumExp) and ArgMax/ArgMin. */
#include "elem_test_util.h"

/* ---- reductions ---- */

/* x[2,3,4] = 0..23; the reference reduces with sum over a mask of axes. */
static void test_reduce(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t s234[3] = {2, 3, 4};
    double xv[24];
    for (int i = 0; i < 24; i++) xv[i] = i;
    sqz_tensor x = mk(SQZ_DT_F32, 3, s234, xv), y;

    /* ReduceSum opset 13, axes input [0, 2], keepdims 1 -> [1,3,1] */
    int64_t ax02[2] = {0, -1}, s2[1] = {2};
    sqz_tensor axes = mk_i64(1, s2, ax02);
    sqz_tensor *in[2] = {&x, &axes};
    CHECK_OK(run("ReduceSum", 13, NULL, in, 2, &y), &E);
    int64_t k131[3] = {1, 3, 1};
    double w1[3] = {0, 0, 0};
    for (int i = 0; i < 24; i++) w1[(i / 4) % 3] += i;
    CHECK(shape_is(&y, 3, k131) && values_near(&y, w1, 1e-4));
    sqz_tensor_release(&y);

    /* keepdims 0 -> [3] */
    sqz_node *n0 = mknode(g, "ReduceSum");
    attr_i(g, n0, "keepdims", 0);
    CHECK_OK(run("ReduceSum", 13, n0, in, 2, &y), &E);
    int64_t k3[1] = {3};
    CHECK(shape_is(&y, 1, k3) && values_near(&y, w1, 1e-4));
    sqz_tensor_release(&y);

    /* empty axes input: all axes, or identity with noop_with_empty_axes */
    sqz_tensor empty = mk(SQZ_DT_I64, 1, (int64_t[1]){0}, NULL);
    in[1] = &empty;
    CHECK_OK(run("ReduceSum", 13, n0, in, 2, &y), &E);
    double w276[1] = {276};
    CHECK(y.ndim == 0 && values_near(&y, w276, 1e-4));
    sqz_tensor_release(&y);
    CHECK_OK(run("ReduceSum", 13, NULL, in, 1, &y), &E); /* omitted axes, keepdims 1 */
    int64_t k111[3] = {1, 1, 1};
    CHECK(shape_is(&y, 3, k111) && values_near(&y, w276, 1e-4));
    sqz_tensor_release(&y);
    sqz_node *nn = mknode(g, "ReduceSum");
    attr_i(g, nn, "noop_with_empty_axes", 1);
    CHECK_OK(run("ReduceSum", 13, nn, in, 2, &y), &E);
    CHECK(shape_is(&y, 3, s234) && values_near(&y, xv, 0));
    sqz_tensor_release(&y);

    /* axes values unknown at infer: rank kept with keepdims, unknown otherwise */
    {
        const sqz_op *op = sqz_op_find("", "ReduceSum");
        CHECK(op->shape_inputs == (1u << 1));
        sqz_tensor ax = {0}, o = {0};
        ax.dtype = SQZ_DT_I64, ax.ndim = 1, ax.dims[0] = 1;
        sqz_tensor *uin[2] = {&x, &ax}, *uout[1] = {&o};
        sqz_opctx c = {.in = uin, .n_in = 2, .out = uout, .n_out = 1, .opset = 13, .threads = 1, .err = &E};
        CHECK_OK(op->infer(&c), &E);
        CHECK(o.ndim == 3 && o.dims[0] == -1);
        c.node = n0;
        CHECK_OK(op->infer(&c), &E);
        CHECK(o.ndim == -1);
    }

    /* attribute axes (opset 11), negative axis, Mean / Max / Min / Prod / L1 / L2 / SumSquare */
    sqz_node *na = mknode(g, "ReduceMean");
    int64_t axm[1] = {-2};
    attr_ints(g, na, "axes", 1, axm);
    attr_i(g, na, "keepdims", 0);
    double mean[8], mx[8], mn[8], l2[8], ss[8], lse[8];
    for (int a = 0; a < 2; a++)
        for (int c = 0; c < 4; c++) {
            double s = 0, q = 0, hi = -1e9, lo = 1e9, e = 0;
            for (int b = 0; b < 3; b++) {
                double v = xv[a * 12 + b * 4 + c];
                s += v, q += v * v, hi = v > hi ? v : hi, lo = v < lo ? v : lo, e += exp(v);
            }
            mean[a * 4 + c] = s / 3, mx[a * 4 + c] = hi, mn[a * 4 + c] = lo, l2[a * 4 + c] = sqrt(q);
            ss[a * 4 + c] = q, lse[a * 4 + c] = log(e);
        }
    int64_t k24[2] = {2, 4};
    const struct {
        const char *op;
        const double *want;
    } cases[] = {{"ReduceMean", mean}, {"ReduceMax", mx},         {"ReduceMin", mn},
                 {"ReduceL2", l2},     {"ReduceSumSquare", ss},   {"ReduceLogSumExp", lse}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK_OK(run(cases[k].op, 11, na, in, 1, &y), &E);
        CHECK_MSG(shape_is(&y, 2, k24) && values_near(&y, cases[k].want, 1e-3), "%s", cases[k].op);
        sqz_tensor_release(&y);
    }
    /* duplicate / out-of-range axes */
    sqz_node *nd = mknode(g, "ReduceMax");
    int64_t dup[2] = {1, -2};
    attr_ints(g, nd, "axes", 2, dup);
    CHECK(run("ReduceMax", 11, nd, in, 1, &y) == SQZ_ERR_DATA);
    sqz_node *nr = mknode(g, "ReduceMax");
    int64_t oor[1] = {3};
    attr_ints(g, nr, "axes", 1, oor);
    CHECK(run("ReduceMax", 11, nr, in, 1, &y) == SQZ_ERR_DATA);
    sqz_tensor_release(&x);

    /* integers: i32 Max, i64 Sum exact, Prod, L1, LogSumExp of large values stays finite */
    double iv[6] = {-5, 3, -7, 2, 9, -1};
    int64_t s23[2] = {2, 3};
    x = mk(SQZ_DT_I32, 2, s23, iv);
    sqz_node *n1 = mknode(g, "ReduceMax");
    int64_t ax1[1] = {1};
    attr_ints(g, n1, "axes", 1, ax1);
    CHECK_OK(run("ReduceMax", 13, n1, in, 1, &y), &E);
    double imw[2] = {3, 9};
    int64_t k21[2] = {2, 1};
    CHECK(y.dtype == SQZ_DT_I32 && shape_is(&y, 2, k21) && values_near(&y, imw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("ReduceProd", 13, n1, in, 1, &y), &E);
    double ipw[2] = {105, -18};
    CHECK(values_near(&y, ipw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("ReduceL1", 13, n1, in, 1, &y), &E);
    double ilw[2] = {15, 12};
    CHECK(values_near(&y, ilw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("ReduceMean", 13, n1, in, 1, &y), &E);
    double imn[2] = {-3, 3}; /* -9/3, 10/3 truncated */
    CHECK(values_near(&y, imn, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    int64_t bigv[2] = {INT64_MAX - 10, 3};
    x = mk_i64(1, s2, bigv);
    CHECK_OK(run("ReduceSum", 11, NULL, in, 1, &y), &E);
    CHECK(((int64_t *)y.data)[0] == INT64_MAX - 7);
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    double lv[2] = {1000, 1000};
    x = mk(SQZ_DT_F64, 1, s2, lv);
    CHECK_OK(run("ReduceLogSumExp", 13, NULL, in, 1, &y), &E);
    CHECK_NEAR(((double *)y.data)[0], 1000 + log(2.0), 1e-9);
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);

    /* reducing an empty axis gives the identity */
    int64_t s03[2] = {0, 3};
    x = mk(SQZ_DT_F32, 2, s03, NULL);
    sqz_node *ne = mknode(g, "ReduceSum");
    int64_t ax0[1] = {0};
    attr_ints(g, ne, "axes", 1, ax0);
    CHECK_OK(run("ReduceSum", 11, ne, in, 1, &y), &E);
    double zw[3] = {0, 0, 0};
    CHECK(sqz_tensor_numel(&y) == 3 && values_near(&y, zw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("ReduceProd", 11, ne, in, 1, &y), &E);
    double ow[3] = {1, 1, 1};
    CHECK(values_near(&y, ow, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    sqz_tensor_release(&axes);
    sqz_tensor_release(&empty);
    sqz_graph_free(g);
}

/* ---- ArgMax / ArgMin ---- */

static void test_argmax(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t s23[2] = {2, 3};
    double xv[6] = {2, 5, 5, 7, 1, 7};
    sqz_tensor x = mk(SQZ_DT_F32, 2, s23, xv), y;
    sqz_tensor *in[1] = {&x};
    sqz_node *n = mknode(g, "ArgMax");
    attr_i(g, n, "axis", -1);
    CHECK_OK(run("ArgMax", 13, n, in, 1, &y), &E);
    int64_t k21[2] = {2, 1};
    double w1[2] = {1, 0};
    CHECK(y.dtype == SQZ_DT_I64 && shape_is(&y, 2, k21) && values_near(&y, w1, 0));
    sqz_tensor_release(&y);
    sqz_node *nl = mknode(g, "ArgMax");
    attr_i(g, nl, "axis", 1);
    attr_i(g, nl, "keepdims", 0);
    attr_i(g, nl, "select_last_index", 1);
    CHECK_OK(run("ArgMax", 13, nl, in, 1, &y), &E);
    int64_t k2[1] = {2};
    double w2[2] = {2, 2};
    CHECK(shape_is(&y, 1, k2) && values_near(&y, w2, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("ArgMin", 13, NULL, in, 1, &y), &E); /* axis 0, keepdims 1 */
    int64_t k13[2] = {1, 3};
    double w3[3] = {0, 1, 0};
    CHECK(shape_is(&y, 2, k13) && values_near(&y, w3, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    /* i64 beyond 2^53 compares exactly */
    int64_t iv[3] = {((int64_t)1 << 60) + 1, ((int64_t)1 << 60) + 3, ((int64_t)1 << 60) + 2};
    int64_t s3[1] = {3};
    x = mk_i64(1, s3, iv);
    CHECK_OK(run("ArgMax", 13, NULL, in, 1, &y), &E);
    CHECK(((int64_t *)y.data)[0] == 1);
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    sqz_graph_free(g);
}

int main(void) {
    test_reduce();
    test_argmax();
    TEST_MAIN_END();
}
