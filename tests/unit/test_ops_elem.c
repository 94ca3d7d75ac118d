/* Unit tests for the elementwise operator family (src/ops/elem_*.c): broadcasting, integer
 * division and modulo, Pow types, comparisons, variadic ops, unary math and activations,
 * Clip, Cast, Where. Reductions and ArgMax: test_ops_elem_reduce.c. */
#include "elem_test_util.h"

/* ---- binary broadcasting ---- */

static void check_add(int na, const int64_t *da, int nb, const int64_t *db, int nw, const int64_t *dw) {
    int64_t n1, n2;
    sqz_shape_numel(da, na, &n1, &E);
    sqz_shape_numel(db, nb, &n2, &E);
    double va[256], vb[256];
    for (int i = 0; i < n1; i++) va[i] = i + 1;
    for (int i = 0; i < n2; i++) vb[i] = 100 * (i + 1);
    sqz_tensor a = mk(SQZ_DT_F32, na, da, va), b = mk(SQZ_DT_F32, nb, db, vb), y;
    sqz_tensor *in[2] = {&a, &b};
    CHECK_OK(run("Add", 17, NULL, in, 2, &y), &E);
    CHECK(shape_is(&y, nw, dw));
    /* naive reference through multi-indices */
    int64_t n = sqz_tensor_numel(&y);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[SQZ_MAX_DIMS], rem = i;
        for (int d = nw - 1; d >= 0; d--) {
            idx[d] = rem % dw[d];
            rem /= dw[d];
        }
        int64_t ia = 0, ib = 0;
        for (int d = 0; d < na; d++) ia = ia * da[d] + (da[d] == 1 ? 0 : idx[d + nw - na]);
        for (int d = 0; d < nb; d++) ib = ib * db[d] + (db[d] == 1 ? 0 : idx[d + nw - nb]);
        if (((float *)y.data)[i] != (float)(va[ia] + vb[ib])) bad++;
    }
    CHECK_MSG(bad == 0, "%d wrong elements", bad);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    sqz_tensor_release(&y);
}

static void test_broadcast(void) {
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s21[2] = {2, 1}, s213[3] = {2, 1, 3}, s41[2] = {4, 1},
            s243[3] = {2, 4, 3}, s13[2] = {1, 3}, s2345[4] = {2, 3, 4, 5}, s315[3] = {3, 1, 5};
    check_add(2, s23, 0, NULL, 2, s23);       /* scalar */
    check_add(0, NULL, 2, s23, 2, s23);       /* scalar first */
    check_add(2, s23, 1, s3, 2, s23);         /* row */
    check_add(2, s23, 2, s21, 2, s23);        /* column */
    check_add(3, s213, 2, s41, 3, s243);      /* rank mismatch, both broadcast */
    check_add(2, s21, 2, s13, 2, s23);        /* outer product */
    check_add(4, s2345, 3, s315, 4, s2345);   /* channel-like */
    check_add(2, s23, 2, s23, 2, s23);        /* equal */

    /* incompatible -> SQZ_ERR_DATA at infer */
    int64_t s4[1] = {4};
    sqz_tensor a = mk(SQZ_DT_F32, 2, s23, NULL), b = mk(SQZ_DT_F32, 1, s4, NULL), y;
    sqz_tensor *in[2] = {&a, &b};
    CHECK(run("Add", 17, NULL, in, 2, &y) == SQZ_ERR_DATA);
    CHECK(strstr(E.msg, "broadcast") != NULL);
    sqz_tensor_release(&b);
    /* dtype mismatch -> data error; unsupported dtype -> unsupported */
    b = mk(SQZ_DT_F64, 1, s3, NULL);
    CHECK(run("Add", 17, NULL, in, 2, &y) == SQZ_ERR_DATA);
    sqz_tensor_release(&b);
    sqz_tensor_release(&a);
    a = mk(SQZ_DT_BOOL, 1, s3, NULL);
    b = mk(SQZ_DT_BOOL, 1, s3, NULL);
    CHECK(run("Add", 17, NULL, in, 2, &y) == SQZ_ERR_UNSUPPORTED);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* unknown dims propagate through infer */
    const sqz_op *op = sqz_op_find("", "Mul");
    sqz_tensor u = {0}, v = {0}, o = {0};
    u.dtype = v.dtype = SQZ_DT_F32;
    u.ndim = 2, u.dims[0] = -1, u.dims[1] = 3;
    v.ndim = 1, v.dims[0] = 3;
    sqz_tensor *uin[2] = {&u, &v}, *uout[1] = {&o};
    sqz_opctx c = {.in = uin, .n_in = 2, .out = uout, .n_out = 1, .opset = 17, .threads = 1, .err = &E};
    CHECK_OK(op->infer(&c), &E);
    CHECK(o.ndim == 2 && o.dims[0] == -1 && o.dims[1] == 3);
    u.ndim = -1;
    CHECK_OK(op->infer(&c), &E);
    CHECK(o.ndim == -1);

    /* legacy opset 6 broadcast with axis: B [3] aligned at axis 1 of A [2,3,4] */
    sqz_graph *g = sqz_graph_new();
    sqz_node *nd = mknode(g, "Add");
    attr_i(g, nd, "broadcast", 1);
    attr_i(g, nd, "axis", 1);
    int64_t s234[3] = {2, 3, 4};
    double vb[3] = {10, 20, 30};
    a = mk(SQZ_DT_F32, 3, s234, NULL);
    b = mk(SQZ_DT_F32, 1, s3, vb);
    CHECK_OK(run("Add", 6, nd, in, 2, &y), &E);
    CHECK(shape_is(&y, 3, s234));
    CHECK(((float *)y.data)[0] == 10 && ((float *)y.data)[4] == 20 && ((float *)y.data)[11] == 30 &&
          ((float *)y.data)[23] == 30);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    sqz_tensor_release(&y);
    sqz_graph_free(g);

    /* f16 arithmetic goes through f32 */
    double h1[3] = {1.5, -2, 1000}, h2[3] = {0.25, 0.5, 24};
    a = mk(SQZ_DT_F16, 1, s3, h1);
    b = mk(SQZ_DT_F16, 1, s3, h2);
    CHECK_OK(run("Mul", 17, NULL, in, 2, &y), &E);
    double hw[3] = {0.375, -1, 24000};
    CHECK(y.dtype == SQZ_DT_F16 && values_near(&y, hw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Less", 17, NULL, in, 2, &y), &E);
    double lw[3] = {0, 1, 0};
    CHECK(y.dtype == SQZ_DT_BOOL && values_near(&y, lw, 0));
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    sqz_tensor_release(&y);
}

/* ---- integer arithmetic, Mod, Pow, BitShift ---- */

static void test_int_arith(void) {
    int64_t s6[1] = {6};
    double xa[6] = {7, -7, 7, -7, 5, -2147483648.0}, xb[6] = {2, 2, -2, -2, 0, -1};
    sqz_tensor a = mk(SQZ_DT_I32, 1, s6, xa), b = mk(SQZ_DT_I32, 1, s6, xb), y;
    sqz_tensor *in[2] = {&a, &b};
    CHECK_OK(run("Div", 14, NULL, in, 2, &y), &E);
    double dw[6] = {3, -3, -3, 3, 0, -2147483648.0}; /* truncation toward zero; /0 -> 0; wraps */
    CHECK(values_near(&y, dw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Mod", 13, NULL, in, 2, &y), &E); /* fmod = 0: sign of the divisor */
    double mw[6] = {1, 1, -1, -1, 0, 0};
    CHECK(values_near(&y, mw, 0));
    sqz_tensor_release(&y);
    sqz_graph *g = sqz_graph_new();
    sqz_node *nf = mknode(g, "Mod");
    attr_i(g, nf, "fmod", 1);
    CHECK_OK(run("Mod", 13, nf, in, 2, &y), &E); /* fmod = 1: sign of the dividend */
    double fw[6] = {1, -1, 1, -1, 0, 0};
    CHECK(values_near(&y, fw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Mul", 14, NULL, in, 2, &y), &E); /* wraps */
    CHECK(((int32_t *)y.data)[5] == INT32_MIN && ((int32_t *)y.data)[0] == 14);
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* float Mod */
    double fa[4] = {5.5, -5.5, 5.5, -5.5}, fb[4] = {2, 2, -2, -2};
    int64_t s4[1] = {4};
    a = mk(SQZ_DT_F32, 1, s4, fa);
    b = mk(SQZ_DT_F32, 1, s4, fb);
    CHECK_OK(run("Mod", 13, nf, in, 2, &y), &E);
    double ffw[4] = {1.5, -1.5, 1.5, -1.5};
    CHECK(values_near(&y, ffw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Mod", 13, NULL, in, 2, &y), &E);
    double fpw[4] = {1.5, 0.5, -0.5, -1.5};
    CHECK(values_near(&y, fpw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* u8 arithmetic wraps */
    double ua[3] = {250, 3, 16}, ub[3] = {10, 5, 0};
    int64_t s3[1] = {3};
    a = mk(SQZ_DT_U8, 1, s3, ua);
    b = mk(SQZ_DT_U8, 1, s3, ub);
    CHECK_OK(run("Add", 14, NULL, in, 2, &y), &E);
    double uw[3] = {4, 8, 16};
    CHECK(values_near(&y, uw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Sub", 14, NULL, in, 2, &y), &E);
    double sw[3] = {240, 254, 16};
    CHECK(values_near(&y, sw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* i64 stays exact beyond 2^53 */
    int64_t big[2] = {(int64_t)1 << 60, INT64_MAX}, one[2] = {1, -1};
    int64_t s2[1] = {2};
    a = mk_i64(1, s2, big);
    b = mk_i64(1, s2, one);
    CHECK_OK(run("Add", 14, NULL, in, 2, &y), &E);
    CHECK(((int64_t *)y.data)[0] == ((int64_t)1 << 60) + 1 && ((int64_t *)y.data)[1] == INT64_MAX - 1);
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* Pow: f32 ^ i64, i64 ^ i64 (exact), i32 ^ f32 */
    double pa[3] = {2, -3, 0.5}, pb[3] = {3, 2, -1};
    a = mk(SQZ_DT_F32, 1, s3, pa);
    b = mk(SQZ_DT_I64, 1, s3, pb);
    CHECK_OK(run("Pow", 15, NULL, in, 2, &y), &E);
    double pw[3] = {8, 9, 2};
    CHECK(y.dtype == SQZ_DT_F32 && values_near(&y, pw, 1e-6));
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    int64_t ib[3] = {3, 40, 2}, ie[3] = {39, 1, -1};
    a = mk_i64(1, s3, ib);
    b = mk_i64(1, s3, ie);
    CHECK_OK(run("Pow", 15, NULL, in, 2, &y), &E);
    CHECK(((int64_t *)y.data)[0] == 4052555153018976267LL && ((int64_t *)y.data)[1] == 40 &&
          ((int64_t *)y.data)[2] == 0);
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    double qa[3] = {2, 3, 4}, qb[3] = {0.5, 2, 1.5};
    a = mk(SQZ_DT_I32, 1, s3, qa);
    b = mk(SQZ_DT_F32, 1, s3, qb);
    CHECK_OK(run("Pow", 15, NULL, in, 2, &y), &E);
    double qw[3] = {1, 9, 8};
    CHECK(y.dtype == SQZ_DT_I32 && values_near(&y, qw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);

    /* BitShift */
    sqz_node *nsh = mknode(g, "BitShift");
    attr_s(g, nsh, "direction", "LEFT");
    double ba[3] = {16, 4, 1}, bb[3] = {1, 2, 40};
    a = mk(SQZ_DT_U32, 1, s3, ba);
    b = mk(SQZ_DT_U32, 1, s3, bb);
    CHECK_OK(run("BitShift", 11, nsh, in, 2, &y), &E);
    double bw[3] = {32, 16, 0};
    CHECK(values_near(&y, bw, 0));
    sqz_tensor_release(&y);
    CHECK(run("BitShift", 11, NULL, in, 2, &y) == SQZ_ERR_DATA); /* direction missing */
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    sqz_graph_free(g);
}

/* ---- comparisons, logic, Where, variadic ---- */

static void test_compare_where_variadic(void) {
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s21[2] = {2, 1}, s13[2] = {1, 3};
    double va[6] = {1, 2, 3, 4, 5, 6}, vb[3] = {2, 2, 7};
    sqz_tensor a = mk(SQZ_DT_I64, 2, s23, va), b = mk(SQZ_DT_I64, 1, s3, vb), y;
    sqz_tensor *in[3] = {&a, &b, NULL};
    CHECK_OK(run("GreaterOrEqual", 16, NULL, in, 2, &y), &E);
    double gw[6] = {0, 1, 0, 1, 1, 0};
    CHECK(y.dtype == SQZ_DT_BOOL && shape_is(&y, 2, s23) && values_near(&y, gw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Equal", 13, NULL, in, 2, &y), &E);
    double ew[6] = {0, 1, 0, 0, 0, 0};
    CHECK(values_near(&y, ew, 0));
    sqz_tensor_release(&y);

    /* Max / Sum / Mean of three with broadcasting */
    double vc[2] = {3.5, -1};
    sqz_tensor fa = mk(SQZ_DT_F32, 2, s23, va), fb = mk(SQZ_DT_F32, 1, s3, vb), fc = mk(SQZ_DT_F32, 2, s21, vc);
    sqz_tensor *fin[3] = {&fa, &fb, &fc};
    CHECK_OK(run("Max", 13, NULL, fin, 3, &y), &E);
    double mw[6] = {3.5, 3.5, 7, 4, 5, 7};
    CHECK(shape_is(&y, 2, s23) && values_near(&y, mw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Sum", 13, NULL, fin, 3, &y), &E);
    double sw[6] = {6.5, 7.5, 13.5, 5, 6, 12};
    CHECK(values_near(&y, sw, 1e-6));
    sqz_tensor_release(&y);
    CHECK_OK(run("Mean", 13, NULL, fin, 3, &y), &E);
    double aw[6] = {6.5 / 3, 7.5 / 3, 4.5, 5.0 / 3, 2, 4};
    CHECK(values_near(&y, aw, 1e-6));
    sqz_tensor_release(&y);
    CHECK_OK(run("Min", 13, NULL, fin, 1, &y), &E); /* one input: copy */
    CHECK(values_near(&y, va, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&fb);
    sqz_tensor_release(&fc);

    /* And / Xor on bool */
    double ba[4] = {1, 1, 0, 0}, bb[2] = {1, 0};
    int64_t s22[2] = {2, 2}, s2[1] = {2};
    sqz_tensor la = mk(SQZ_DT_BOOL, 2, s22, ba), lb = mk(SQZ_DT_BOOL, 1, s2, bb);
    sqz_tensor *lin[2] = {&la, &lb};
    CHECK_OK(run("Xor", 7, NULL, lin, 2, &y), &E);
    double xw[4] = {0, 1, 1, 0};
    CHECK(values_near(&y, xw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("And", 7, NULL, lin, 2, &y), &E);
    double nw[4] = {1, 0, 0, 0};
    CHECK(values_near(&y, nw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&lb);

    /* Where: cond [2,1], X [1,3], Y scalar -> [2,3] */
    double cv[2] = {1, 0}, xv[3] = {10, 20, 30}, yv[1] = {-1};
    sqz_tensor wc = mk(SQZ_DT_BOOL, 2, s21, cv), wx = mk(SQZ_DT_F32, 2, s13, xv), wy = mk(SQZ_DT_F32, 0, NULL, yv);
    sqz_tensor *win[3] = {&wc, &wx, &wy};
    CHECK_OK(run("Where", 16, NULL, win, 3, &y), &E);
    double ww[6] = {10, 20, 30, -1, -1, -1};
    CHECK(shape_is(&y, 2, s23) && values_near(&y, ww, 0));
    sqz_tensor_release(&y);
    /* Where with i64 values and a full cond */
    sqz_tensor_release(&wx);
    sqz_tensor_release(&wy);
    int64_t xi[3] = {INT64_MAX, 2, 3}, yi[3] = {-5, -6, INT64_MIN};
    wx = mk_i64(1, s3, xi);
    wy = mk_i64(1, s3, yi);
    double cv3[3] = {1, 0, 0};
    sqz_tensor_release(&wc);
    wc = mk(SQZ_DT_BOOL, 1, s3, cv3);
    CHECK_OK(run("Where", 16, NULL, win, 3, &y), &E);
    CHECK(((int64_t *)y.data)[0] == INT64_MAX && ((int64_t *)y.data)[1] == -6 &&
          ((int64_t *)y.data)[2] == INT64_MIN);
    sqz_tensor_release(&y);
    win[0] = &la; /* cond [2,2] vs X [3]: incompatible */
    CHECK(run("Where", 16, NULL, win, 3, &y) == SQZ_ERR_DATA);
    sqz_tensor_release(&wc);
    sqz_tensor_release(&wx);
    sqz_tensor_release(&wy);
    sqz_tensor_release(&la);
    sqz_tensor_release(&fa);
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
}

/* ---- unary ops and activations ---- */

static void test_unary(void) {
    int64_t s8[1] = {8};
    double rv[8] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6};
    sqz_tensor x = mk(SQZ_DT_F32, 1, s8, rv), y;
    sqz_tensor *in[1] = {&x};
    CHECK_OK(run("Round", 11, NULL, in, 1, &y), &E);
    double rw[8] = {0, 2, 2, -0.0, -2, -2, 2, -3};
    CHECK(values_near(&y, rw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Sign", 13, NULL, in, 1, &y), &E);
    double sgw[8] = {1, 1, 1, -1, -1, -1, 1, -1};
    CHECK(values_near(&y, sgw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Relu", 14, NULL, in, 1, &y), &E);
    double rlw[8] = {0.5, 1.5, 2.5, 0, 0, 0, 2.4, 0};
    CHECK(values_near(&y, rlw, 1e-7));
    sqz_tensor_release(&y);
    CHECK_OK(run("Sigmoid", 13, NULL, in, 1, &y), &E);
    CHECK_NEAR(((float *)y.data)[0], 1.0 / (1.0 + exp(-0.5)), 1e-6);
    sqz_tensor_release(&y);
    CHECK_OK(run("Erf", 13, NULL, in, 1, &y), &E);
    CHECK_NEAR(((float *)y.data)[1], erf(1.5), 1e-6);
    sqz_tensor_release(&y);

    sqz_graph *g = sqz_graph_new();
    sqz_node *nl = mknode(g, "LeakyRelu");
    attr_f(g, nl, "alpha", 0.25f);
    CHECK_OK(run("LeakyRelu", 16, nl, in, 1, &y), &E);
    CHECK(((float *)y.data)[4] == -0.375f && ((float *)y.data)[1] == 1.5f);
    sqz_tensor_release(&y);
    CHECK_OK(run("LeakyRelu", 16, NULL, in, 1, &y), &E); /* default alpha 0.01 */
    CHECK_NEAR(((float *)y.data)[4], -0.015, 1e-7);
    sqz_tensor_release(&y);
    sqz_node *nh = mknode(g, "HardSigmoid");
    attr_f(g, nh, "alpha", 0.5f);
    attr_f(g, nh, "beta", 0.6f);
    CHECK_OK(run("HardSigmoid", 6, nh, in, 1, &y), &E);
    double hw[8] = {0.85, 1, 1, 0.35, 0, 0, 1, 0};
    CHECK(values_near(&y, hw, 1e-6));
    sqz_tensor_release(&y);
    CHECK_OK(run("Selu", 6, NULL, in, 1, &y), &E);
    CHECK_NEAR(((float *)y.data)[3], 1.0507009873554805 * 1.6732632423543772 * (exp(-0.5) - 1), 1e-6);
    sqz_tensor_release(&y);
    CHECK_OK(run("Softplus", 1, NULL, in, 1, &y), &E);
    CHECK_NEAR(((float *)y.data)[2], log(1 + exp(2.5)), 1e-6);
    sqz_tensor_release(&y);
    CHECK_OK(run("HardSwish", 14, NULL, in, 1, &y), &E);
    CHECK_NEAR(((float *)y.data)[2], 2.5 * (2.5 / 6 + 0.5), 1e-6);
    sqz_tensor_release(&y);
    CHECK(run("Not", 1, NULL, in, 1, &y) == SQZ_ERR_UNSUPPORTED);
    sqz_tensor_release(&x);

    /* large inputs do not overflow the stable forms */
    double big[2] = {-1000, 1000};
    int64_t s2[1] = {2};
    x = mk(SQZ_DT_F32, 1, s2, big);
    CHECK_OK(run("Sigmoid", 13, NULL, in, 1, &y), &E);
    CHECK(((float *)y.data)[0] == 0.0f && ((float *)y.data)[1] == 1.0f);
    sqz_tensor_release(&y);
    CHECK_OK(run("Softplus", 1, NULL, in, 1, &y), &E);
    CHECK(((float *)y.data)[0] == 0.0f && ((float *)y.data)[1] == 1000.0f);
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);

    /* IsInf detect_negative only, IsNaN */
    double iv[4] = {INFINITY, -INFINITY, NAN, 1};
    int64_t s4[1] = {4};
    x = mk(SQZ_DT_F32, 1, s4, iv);
    sqz_node *ni = mknode(g, "IsInf");
    attr_i(g, ni, "detect_positive", 0);
    CHECK_OK(run("IsInf", 10, ni, in, 1, &y), &E);
    double iw[4] = {0, 1, 0, 0};
    CHECK(y.dtype == SQZ_DT_BOOL && values_near(&y, iw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("IsNaN", 13, NULL, in, 1, &y), &E);
    double nw[4] = {0, 0, 1, 0};
    CHECK(values_near(&y, nw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);

    /* integer Abs / Neg wrap, Not on bool */
    double av[3] = {-5, 7, -2147483648.0};
    int64_t s3[1] = {3};
    x = mk(SQZ_DT_I32, 1, s3, av);
    CHECK_OK(run("Abs", 13, NULL, in, 1, &y), &E);
    double aw[3] = {5, 7, -2147483648.0};
    CHECK(values_near(&y, aw, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Neg", 13, NULL, in, 1, &y), &E);
    double ngw[3] = {5, -7, -2147483648.0};
    CHECK(values_near(&y, ngw, 0));
    sqz_tensor_release(&y);
    CHECK(run("Sqrt", 13, NULL, in, 1, &y) == SQZ_ERR_UNSUPPORTED);
    sqz_tensor_release(&x);
    double bv[3] = {1, 0, 1};
    x = mk(SQZ_DT_BOOL, 1, s3, bv);
    CHECK_OK(run("Not", 1, NULL, in, 1, &y), &E);
    double bw[3] = {0, 1, 0};
    CHECK(values_near(&y, bw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);

    /* f16 and f64 paths */
    double qv[3] = {4, 2.25, 0.0625};
    x = mk(SQZ_DT_F16, 1, s3, qv);
    CHECK_OK(run("Sqrt", 13, NULL, in, 1, &y), &E);
    double qw[3] = {2, 1.5, 0.25};
    CHECK(y.dtype == SQZ_DT_F16 && values_near(&y, qw, 0));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    x = mk(SQZ_DT_F64, 1, s3, qv);
    CHECK_OK(run("Log", 13, NULL, in, 1, &y), &E);
    CHECK(y.dtype == SQZ_DT_F64 && ((double *)y.data)[1] == log(2.25));
    sqz_tensor_release(&y);
    sqz_tensor_release(&x);
    sqz_graph_free(g);
}

/* ---- Clip ---- */

static void test_clip(void) {
    int64_t s5[1] = {5};
    double xv[5] = {-3, -1, 0, 2, 9}, hi[1] = {1.5}, lo[1] = {-2};
    sqz_tensor x = mk(SQZ_DT_F32, 1, s5, xv), y;
    sqz_tensor mx = mk(SQZ_DT_F32, 0, NULL, hi), mn = mk(SQZ_DT_F32, 0, NULL, lo);
    sqz_tensor *in[3] = {&x, NULL, &mx}; /* min omitted */
    CHECK_OK(run("Clip", 13, NULL, in, 3, &y), &E);
    double w1[5] = {-3, -1, 0, 1.5, 1.5};
    CHECK(values_near(&y, w1, 0));
    sqz_tensor_release(&y);
    in[1] = &mn; /* both */
    CHECK_OK(run("Clip", 13, NULL, in, 3, &y), &E);
    double w2[5] = {-2, -1, 0, 1.5, 1.5};
    CHECK(values_near(&y, w2, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Clip", 13, NULL, in, 2, &y), &E); /* max omitted by count */
    double w3[5] = {-2, -1, 0, 2, 9};
    CHECK(values_near(&y, w3, 0));
    sqz_tensor_release(&y);
    CHECK_OK(run("Clip", 13, NULL, in, 1, &y), &E); /* none: identity */
    CHECK(values_near(&y, xv, 0));
    sqz_tensor_release(&y);

    /* opset 6 attributes */
    sqz_graph *g = sqz_graph_new();
    sqz_node *n = mknode(g, "Clip");
    attr_f(g, n, "min", -0.5f);
    CHECK_OK(run("Clip", 6, n, in, 1, &y), &E);
    double w4[5] = {-0.5, -0.5, 0, 2, 9};
    CHECK(values_near(&y, w4, 0));
    sqz_tensor_release(&y);
    sqz_graph_free(g);

    /* int8 with a max only */
    double iv[5] = {-128, -1, 0, 5, 127}, imx[1] = {3};
    sqz_tensor xi = mk(SQZ_DT_I8, 1, s5, iv), mi = mk(SQZ_DT_I8, 0, NULL, imx);
    sqz_tensor *iin[3] = {&xi, NULL, &mi};
    CHECK_OK(run("Clip", 13, NULL, iin, 3, &y), &E);
    double w5[5] = {-128, -1, 0, 3, 3};
    CHECK(y.dtype == SQZ_DT_I8 && values_near(&y, w5, 0));
    sqz_tensor_release(&y);
    iin[2] = &mx; /* dtype mismatch */
    CHECK(run("Clip", 13, NULL, iin, 3, &y) == SQZ_ERR_DATA);
    sqz_tensor_release(&xi);
    sqz_tensor_release(&mi);
    sqz_tensor_release(&x);
    sqz_tensor_release(&mx);
    sqz_tensor_release(&mn);
}

/* ---- Cast ---- */

static sqz_status cast_to(sqz_graph *g, sqz_tensor *x, sqz_dtype to, sqz_tensor *y) {
    sqz_node *n = mknode(g, "Cast");
    attr_i(g, n, "to", to);
    sqz_tensor *in[1] = {x};
    return run("Cast", 13, n, in, 1, y);
}

static void test_cast(void) {
    sqz_graph *g = sqz_graph_new();
    int64_t s6[1] = {6};
    double fv[6] = {1.0, -2.7, 65504, 1e-8, 3.14159265, -0.0};
    sqz_tensor x = mk(SQZ_DT_F32, 1, s6, fv), h, b, r, i;
    /* f32 -> f16 -> f32 */
    CHECK_OK(cast_to(g, &x, SQZ_DT_F16, &h), &E);
    CHECK(h.dtype == SQZ_DT_F16 && ((uint16_t *)h.data)[0] == 0x3c00 && ((uint16_t *)h.data)[2] == 0x7bff);
    CHECK_OK(cast_to(g, &h, SQZ_DT_F32, &r), &E);
    CHECK(((float *)r.data)[0] == 1.0f && ((float *)r.data)[2] == 65504.0f);
    CHECK_NEAR(((float *)r.data)[4], 3.140625, 0);
    sqz_tensor_release(&r);
    /* f32 -> bf16 (round to nearest even) -> f32 */
    CHECK_OK(cast_to(g, &x, SQZ_DT_BF16, &b), &E);
    CHECK(((uint16_t *)b.data)[0] == 0x3f80 && ((uint16_t *)b.data)[4] == 0x4049);
    CHECK_OK(cast_to(g, &b, SQZ_DT_F32, &r), &E);
    CHECK(((float *)r.data)[1] == -2.703125f);
    sqz_tensor_release(&r);
    /* f16 -> bf16 directly */
    CHECK_OK(cast_to(g, &h, SQZ_DT_BF16, &r), &E);
    CHECK(((uint16_t *)r.data)[0] == 0x3f80);
    sqz_tensor_release(&r);
    /* float -> int truncates toward zero */
    CHECK_OK(cast_to(g, &x, SQZ_DT_I32, &i), &E);
    CHECK(((int32_t *)i.data)[0] == 1 && ((int32_t *)i.data)[1] == -2 && ((int32_t *)i.data)[2] == 65504);
    /* i32 -> f64 -> i64 */
    CHECK_OK(cast_to(g, &i, SQZ_DT_F64, &r), &E);
    CHECK(((double *)r.data)[1] == -2.0);
    sqz_tensor_release(&r);
    /* to bool and back */
    CHECK_OK(cast_to(g, &x, SQZ_DT_BOOL, &r), &E);
    CHECK(((uint8_t *)r.data)[0] == 1 && ((uint8_t *)r.data)[3] == 1 && ((uint8_t *)r.data)[5] == 0);
    sqz_tensor b2;
    CHECK_OK(cast_to(g, &r, SQZ_DT_F32, &b2), &E);
    CHECK(((float *)b2.data)[1] == 1.0f && ((float *)b2.data)[5] == 0.0f);
    sqz_tensor_release(&b2);
    sqz_tensor_release(&r);
    sqz_tensor_release(&i);
    sqz_tensor_release(&h);
    sqz_tensor_release(&b);
    sqz_tensor_release(&x);

    /* integers: wrap, i64 exactness, u64 */
    int64_t s4[1] = {4};
    int64_t iv[4] = {300, -1, INT64_MAX, INT64_MIN + 1};
    x = mk_i64(1, s4, iv);
    CHECK_OK(cast_to(g, &x, SQZ_DT_U8, &r), &E);
    CHECK(((uint8_t *)r.data)[0] == 44 && ((uint8_t *)r.data)[1] == 255);
    sqz_tensor_release(&r);
    CHECK_OK(cast_to(g, &x, SQZ_DT_U64, &r), &E);
    CHECK(((uint64_t *)r.data)[1] == UINT64_MAX);
    CHECK_OK(cast_to(g, &r, SQZ_DT_I64, &i), &E);
    CHECK(!memcmp(i.data, iv, sizeof iv));
    sqz_tensor_release(&i);
    CHECK_OK(cast_to(g, &r, SQZ_DT_F64, &i), &E);
    CHECK(((double *)i.data)[1] == 18446744073709551615.0);
    sqz_tensor_release(&i);
    sqz_tensor_release(&r);
    sqz_tensor_release(&x);

    /* f64 -> f16 without double rounding: 1 + 2^-11 + 2^-40 rounds up to 1 + 2^-10 */
    int64_t s1[1] = {1};
    double dv[1] = {1.0 + 1.0 / 2048 + 1.0 / 1099511627776.0};
    x = mk(SQZ_DT_F64, 1, s1, dv);
    CHECK_OK(cast_to(g, &x, SQZ_DT_F16, &r), &E);
    CHECK_MSG(((uint16_t *)r.data)[0] == 0x3c01, "got 0x%04x", ((uint16_t *)r.data)[0]);
    sqz_tensor_release(&r);
    sqz_tensor_release(&x);

    /* CastLike, unsupported targets */
    double cv[2] = {1.5, -1.5};
    int64_t s2[1] = {2};
    x = mk(SQZ_DT_F32, 1, s2, cv);
    sqz_tensor like = mk(SQZ_DT_I16, 0, NULL, NULL);
    sqz_tensor *cin[2] = {&x, &like};
    CHECK_OK(run("CastLike", 15, NULL, cin, 2, &r), &E);
    CHECK(r.dtype == SQZ_DT_I16 && ((int16_t *)r.data)[1] == -1);
    sqz_tensor_release(&r);
    CHECK(cast_to(g, &x, SQZ_DT_STRING, &r) == SQZ_ERR_UNSUPPORTED);
    CHECK(cast_to(g, &x, (sqz_dtype)77, &r) == SQZ_ERR_DATA);
    sqz_tensor_release(&like);
    sqz_tensor_release(&x);
    sqz_graph_free(g);
}

static void test_registry(void) {
    const char *names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "PRelu", "Equal", "Less",
                           "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Min", "Max",
                           "Sum", "Mean", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
                           "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
                           "Asinh", "Acosh", "Atanh", "Erf", "IsNaN", "IsInf", "Relu", "LeakyRelu", "Elu",
                           "Selu", "Celu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Softplus",
                           "Softsign", "ThresholdedRelu", "Mish", "Shrink", "Clip", "Where", "Cast", "CastLike",
                           "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin"};
    int missing = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!sqz_op_find("", names[i])) {
            fprintf(stderr, "  op %s not registered\n", names[i]);
            missing++;
        }
    CHECK(missing == 0);
    CHECK(sqz_ops_elementwise_count == (int)(sizeof names / sizeof names[0]));
}

int main(void) {
    test_registry();
    test_broadcast();
    test_int_arith();
    test_compare_where_variadic();
    test_unary();
    test_clip();
    test_cast();
    TEST_MAIN_END();
}
