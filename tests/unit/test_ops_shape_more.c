/* Unit tests for the shape operators: pad, expand/tile/range, depth/space, constants and
 * shape queries, identity/dropout, onehot/trilu/gathernd, resize. */
#include "shape_harness.h"

static void test_pad(void) {
    static const struct {
        const char *mode;
        double want[24];
    } cases[] = {
        {"reflect", {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2}},
        {"edge", {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6, 4, 4, 4, 5, 6, 6}},
        {"wrap", {5, 6, 4, 5, 6, 4, 2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4, 2, 3, 1, 2, 3, 1}},
        {"constant", {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0}},
    };
    for (int k = 0; k < 4; k++) {
        tc t;
        tc_init(&t, &sqz_op_pad, 19);
        attr_str(&t, "mode", cases[k].mode);
        tc_in_f(&t, 0, 2, D(2, 3), V(1, 2, 3, 4, 5, 6));
        tc_in_ints(&t, 1, 4, D(1, 2, 1, 1));
        CHECK_OK(tc_run(&t, 1), &t.err);
        SHAPE(&t.out[0], 2, 4, 6);
        CHECK_MSG(values_are(&t.out[0], 24, cases[k].want), "mode %s", cases[k].mode);
        tc_free(&t);
    }
    tc t;
    tc_init(&t, &sqz_op_pad, 13); /* reflect further than the axis is long */
    attr_str(&t, "mode", "reflect");
    tc_in(&t, 0, SQZ_DT_I64, 1, D(3), V(1, 2, 3));
    tc_in_ints(&t, 1, 2, D(5, 4));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 12, V(2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3)));
    tc_free(&t);

    tc_init(&t, &sqz_op_pad, 13); /* constant_value, negative pads crop */
    tc_in_f(&t, 0, 2, D(2, 3), V(1, 2, 3, 4, 5, 6));
    tc_in_ints(&t, 1, 4, D(0, -1, 1, 0));
    tc_in_f(&t, 2, 0, NULL, V(9));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 3, 2);
    CHECK(values_are(&t.out[0], 6, V(2, 3, 5, 6, 9, 9)));
    tc_in_ints(&t, 1, 2, D(0, 1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(4));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    tc_free(&t);

    tc_init(&t, &sqz_op_pad, 18); /* axes input */
    tc_in_f(&t, 0, 2, D(2, 2), V(1, 2, 3, 4));
    tc_in_ints(&t, 1, 2, D(1, 0));
    tc_skip(&t, 2);
    tc_in_ints(&t, 3, 1, D(-1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 6, V(0, 1, 2, 0, 3, 4)));
    tc_free(&t);

    tc_init(&t, &sqz_op_pad, 2); /* attribute form */
    attr_ints(&t, "pads", 2, D(1, 1));
    attr_float(&t, "value", 1.5f);
    tc_in_f(&t, 0, 1, D(1), V(7));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 3, V(1.5, 7, 1.5)));
    tc_free(&t);

    tc_init(&t, &sqz_op_pad, 13); /* edge needs a non-empty axis */
    attr_str(&t, "mode", "edge");
    tc_in_f(&t, 0, 1, D(0), NULL);
    tc_in_ints(&t, 1, 2, D(1, 1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}

static void test_expand_tile_range(void) {
    tc t;
    tc_init(&t, &sqz_op_expand, 13);
    tc_in(&t, 0, SQZ_DT_I64, 2, D(3, 1), V(1, 2, 3));
    tc_in_ints(&t, 1, 3, D(2, 1, 4));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 2, 3, 4);
    int bad = 0;
    for (int i = 0; i < 24; i++) bad += ((int64_t *)t.out[0].data)[i] != (i / 4) % 3 + 1;
    CHECK(bad == 0);
    tc_in_ints(&t, 1, 1, D(1)); /* shape smaller than input: input wins */
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 3, 1);
    tc_in_ints(&t, 1, 2, D(2, 4));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(3));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, -1, -1, -1);
    tc_free(&t);

    tc_init(&t, &sqz_op_tile, 13);
    tc_in_f(&t, 0, 2, D(2, 2), V(1, 2, 3, 4));
    tc_in_ints(&t, 1, 2, D(2, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 4, 6);
    CHECK(values_are(&t.out[0], 24, V(1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4)));
    tc_in_ints(&t, 1, 2, D(1, 0));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 0);
    tc_in_ints(&t, 1, 1, D(2));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(2));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    tc_free(&t);

    tc_init(&t, &sqz_op_range, 13);
    tc_in(&t, 0, SQZ_DT_I32, 0, NULL, V(10));
    tc_in(&t, 1, SQZ_DT_I32, 0, NULL, V(4));
    tc_in(&t, 2, SQZ_DT_I32, 0, NULL, V(-3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 1, 2);
    CHECK(t.out[0].dtype == SQZ_DT_I32 && values_are(&t.out[0], 2, V(10, 7)));
    tc_in(&t, 2, SQZ_DT_I32, 0, NULL, V(0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_unknown(&t, 2, SQZ_DT_I32, 0, NULL);
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 1, -1);
    tc_in(&t, 2, SQZ_DT_I64, 0, NULL, V(1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* mixed dtypes */
    tc_free(&t);
    tc_init(&t, &sqz_op_range, 13);
    tc_in_f(&t, 0, 0, NULL, V(1));
    tc_in_f(&t, 1, 0, NULL, V(5.5));
    tc_in_f(&t, 2, 0, NULL, V(2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 3, V(1, 3, 5)));
    tc_free(&t);
}

/* Reference DepthToSpace by the spec's reshape + transpose. */
static double d2s_ref(const double *x, int crd, int64_t C, int64_t H, int64_t W, int64_t b, int64_t n, int64_t c,
                      int64_t h, int64_t w) {
    int64_t Co = C / (b * b), i = h % b, j = w % b;
    int64_t ch = crd ? c * b * b + i * b + j : (i * b + j) * Co + c;
    return x[((n * C + ch) * H + h / b) * W + w / b];
}

static void test_space(void) {
    double v[2 * 8 * 2 * 3];
    iota(v, 96);
    for (int crd = 0; crd < 2; crd++) {
        tc t;
        tc_init(&t, &sqz_op_depth_to_space, 13);
        attr_int(&t, "blocksize", 2);
        attr_str(&t, "mode", crd ? "CRD" : "DCR");
        tc_in_f(&t, 0, 4, D(2, 8, 2, 3), v);
        CHECK_OK(tc_run(&t, 1), &t.err);
        SHAPE(&t.out[0], 4, 2, 2, 4, 6);
        int bad = 0, k = 0;
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 2; c++)
                for (int h = 0; h < 4; h++)
                    for (int w = 0; w < 6; w++)
                        bad += sqz_tensor_get_f64(&t.out[0], k++) != d2s_ref(v, crd, 8, 2, 3, 2, n, c, h, w);
        CHECK_MSG(bad == 0, "DepthToSpace %s", crd ? "CRD" : "DCR");
        if (!crd) { /* SpaceToDepth undoes DCR */
            tc s;
            tc_init(&s, &sqz_op_space_to_depth, 13);
            attr_int(&s, "blocksize", 2);
            tc_in_f(&s, 0, 4, D(2, 2, 4, 6), t.out[0].data ? NULL : NULL);
            memcpy(s.in[0].data, t.out[0].data, t.out[0].nbytes);
            CHECK_OK(tc_run(&s, 1), &s.err);
            SHAPE(&s.out[0], 4, 2, 8, 2, 3);
            CHECK(values_are(&s.out[0], 96, v));
            tc_free(&s);
        }
        tc_free(&t);
    }
    tc t;
    tc_init(&t, &sqz_op_depth_to_space, 13);
    attr_int(&t, "blocksize", 3);
    tc_in_f(&t, 0, 4, D(1, 8, 2, 2), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}

static void test_const_shape(void) {
    tc t;
    tc_init(&t, &sqz_op_constant, 13);
    attr_tensor(&t, "value", SQZ_DT_I8, 2, D(2, 2), V(1, -2, 3, -4));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_I8 && values_are(&t.out[0], 4, V(1, -2, 3, -4)));
    tc_free(&t);
    tc_init(&t, &sqz_op_constant, 13);
    attr_ints(&t, "value_ints", 3, D(4, 5, 6));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_I64 && values_are(&t.out[0], 3, V(4, 5, 6)));
    tc_free(&t);
    tc_init(&t, &sqz_op_constant, 13);
    attr_float(&t, "value_float", 2.5f);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].ndim == 0 && values_are(&t.out[0], 1, V(2.5)));
    tc_free(&t);
    tc_init(&t, &sqz_op_constant, 13);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    tc_init(&t, &sqz_op_constant_of_shape, 13);
    tc_in_ints(&t, 0, 2, D(2, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 3);
    CHECK(t.out[0].dtype == SQZ_DT_F32 && values_are(&t.out[0], 6, V(0, 0, 0, 0, 0, 0)));
    tc_in_unknown(&t, 0, SQZ_DT_I64, 1, D(3));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, -1, -1, -1);
    tc_in_ints(&t, 0, 1, D(-2));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
    tc_init(&t, &sqz_op_constant_of_shape, 13);
    attr_tensor(&t, "value", SQZ_DT_I64, 1, D(1), V(7));
    tc_in_ints(&t, 0, 0, NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].ndim == 0 && t.out[0].dtype == SQZ_DT_I64 && values_are(&t.out[0], 1, V(7)));
    tc_free(&t);

    tc_init(&t, &sqz_op_shape, 15);
    attr_int(&t, "start", 1);
    attr_int(&t, "end", -1);
    tc_in_f(&t, 0, 4, D(2, 3, 4, 5), NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_I64 && values_are(&t.out[0], 2, V(3, 4)));
    tc_free(&t);
    tc_init(&t, &sqz_op_shape, 13);
    tc_in_unknown(&t, 0, SQZ_DT_F32, 3, D(-1, 3, 4));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 1, 3);
    tc_free(&t);
    tc_init(&t, &sqz_op_size, 13);
    tc_in_f(&t, 0, 3, D(2, 3, 4), NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].ndim == 0 && values_are(&t.out[0], 1, V(24)));
    tc_free(&t);

    tc_init(&t, &sqz_op_eyelike, 13);
    attr_int(&t, "k", 1);
    attr_int(&t, "dtype", SQZ_DT_I32);
    tc_in_f(&t, 0, 2, D(3, 4), NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_I32 && values_are(&t.out[0], 12, V(0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1)));
    tc_free(&t);
}

static void test_identity_dropout(void) {
    tc t;
    tc_init(&t, &sqz_op_identity, 13);
    tc_in(&t, 0, SQZ_DT_BOOL, 1, D(3), V(1, 0, 1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(t.out[0].dtype == SQZ_DT_BOOL && values_are(&t.out[0], 3, V(1, 0, 1)));
    tc_in(&t, 0, SQZ_DT_I4, 1, D(4), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_UNSUPPORTED);
    tc_free(&t);

    tc_init(&t, &sqz_op_dropout, 13);
    tc_in_f(&t, 0, 1, D(3), V(1, 2, 3));
    tc_in_f(&t, 1, 0, NULL, V(0.5));
    CHECK_OK(tc_run(&t, 2), &t.err);
    CHECK(values_are(&t.out[0], 3, V(1, 2, 3)));
    CHECK(t.out[1].dtype == SQZ_DT_BOOL && values_are(&t.out[1], 3, V(1, 1, 1)));
    tc_in(&t, 2, SQZ_DT_BOOL, 0, NULL, V(1));
    CHECK(tc_infer(&t, 2) == SQZ_ERR_UNSUPPORTED);
    tc_in_f(&t, 1, 0, NULL, V(0)); /* training with ratio 0 is the identity */
    CHECK_OK(tc_run(&t, 2), &t.err);
    tc_free(&t);
}


static void test_onehot_trilu_gathernd(void) {
    tc t;
    tc_init(&t, &sqz_op_onehot, 11);
    attr_int(&t, "axis", 0);
    tc_in(&t, 0, SQZ_DT_F32, 1, D(3), V(1, -1, 7));
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V(3));
    tc_in(&t, 2, SQZ_DT_I32, 1, D(2), V(-5, 5));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 3, 3);
    CHECK(t.out[0].dtype == SQZ_DT_I32 && values_are(&t.out[0], 9, V(-5, -5, -5, 5, -5, -5, -5, 5, -5)));
    tc_in_unknown(&t, 1, SQZ_DT_I64, 0, NULL);
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, 3);
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V(-2));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    tc_init(&t, &sqz_op_trilu, 14);
    double v[12];
    iota(v, 12);
    tc_in_f(&t, 0, 2, D(3, 4), v);
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V(1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 12, V(0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11)));
    tc_free(&t);
    tc_init(&t, &sqz_op_trilu, 14);
    attr_int(&t, "upper", 0);
    tc_in_f(&t, 0, 3, D(1, 3, 4), v);
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V(-1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 12, V(0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0)));
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V((double)INT64_MIN));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(sqz_tensor_get_f64(&t.out[0], 11) == 0);
    tc_free(&t);

    tc_init(&t, &sqz_op_gather_nd, 13);
    attr_int(&t, "batch_dims", 1);
    tc_in_f(&t, 0, 3, D(2, 2, 2), V(0, 1, 2, 3, 4, 5, 6, 7));
    tc_in(&t, 1, SQZ_DT_I64, 2, D(2, 1), V(1, -2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 2);
    CHECK(values_are(&t.out[0], 4, V(2, 3, 4, 5)));
    tc_in(&t, 1, SQZ_DT_I64, 2, D(2, 3), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}

static void test_resize(void) {
    tc t;
    /* nearest, asymmetric floor (Upsample opset 9) on an i64 tensor */
    tc_init(&t, &sqz_op_upsample, 9);
    tc_in(&t, 0, SQZ_DT_I64, 4, D(1, 1, 2, 2), V(1, 2, 3, 4));
    tc_in_f(&t, 1, 1, D(4), V(1, 1, 2, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 4, 1, 1, 4, 6);
    CHECK(values_are(&t.out[0], 24, V(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4)));
    tc_free(&t);

    /* linear half_pixel 2x upsample of [1, 2]: [1, 1.25, 1.75, 2] */
    tc_init(&t, &sqz_op_resize, 13);
    attr_str(&t, "mode", "linear");
    tc_in_f(&t, 0, 2, D(1, 2), V(1, 2));
    tc_skip(&t, 1);
    tc_in_f(&t, 2, 1, D(2), V(1, 2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 1, 4);
    CHECK(values_are(&t.out[0], 4, V(1, 1.25, 1.75, 2)));
    /* sizes instead of scales; align_corners would give [1, 4/3, 5/3, 2] */
    tc_skip(&t, 2);
    tc_in_ints(&t, 3, 2, D(1, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 1, 3);
    tc_in_unknown(&t, 3, SQZ_DT_I64, 1, D(2));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    tc_in_f(&t, 2, 1, D(2), V(1, 2));
    tc_in_ints(&t, 3, 2, D(1, 3));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* both scales and sizes */
    tc_free(&t);
    tc_init(&t, &sqz_op_resize, 13);
    attr_str(&t, "mode", "bogus");
    tc_in_f(&t, 0, 1, D(2), V(1, 2));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}



static void test_select_scatter_nd(void) {
    tc t;
    tc_init(&t, &sqz_op_scatter_nd, 16);
    attr_str(&t, "reduction", "mul");
    tc_in(&t, 0, SQZ_DT_I64, 2, D(3, 2), V(1, 2, 3, 4, 5, 6));
    tc_in(&t, 1, SQZ_DT_I64, 2, D(2, 1), V(-1, 0));
    tc_in(&t, 2, SQZ_DT_I64, 2, D(2, 2), V(10, 10, 2, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 6, V(2, 6, 3, 4, 50, 60)));
    tc_in(&t, 2, SQZ_DT_I64, 2, D(2, 3), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    tc_init(&t, &sqz_op_compress, 13);
    attr_int(&t, "axis", -1);
    tc_in_f(&t, 0, 2, D(2, 3), V(1, 2, 3, 4, 5, 6));
    tc_in(&t, 1, SQZ_DT_BOOL, 1, D(2), V(0, 1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 1);
    CHECK(values_are(&t.out[0], 2, V(2, 5)));
    tc_in_unknown(&t, 1, SQZ_DT_BOOL, 1, D(2));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, -1);
    tc_in(&t, 1, SQZ_DT_BOOL, 1, D(4), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* longer than the axis */
    tc_free(&t);

    tc_init(&t, &sqz_op_reverse_sequence, 13);
    attr_int(&t, "time_axis", 1);
    attr_int(&t, "batch_axis", 0);
    tc_in_f(&t, 0, 2, D(2, 3), V(1, 2, 3, 4, 5, 6));
    tc_in(&t, 1, SQZ_DT_I64, 1, D(2), V(2, 3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 6, V(2, 1, 3, 6, 5, 4)));
    tc_in(&t, 1, SQZ_DT_I64, 1, D(2), V(4, 1));
    CHECK(tc_run(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}

int main(void) {
    test_pad();
    test_expand_tile_range();
    test_space();
    test_const_shape();
    test_identity_dropout();
    test_onehot_trilu_gathernd();
    test_resize();
    test_select_scatter_nd();
    TEST_MAIN_END();
}
