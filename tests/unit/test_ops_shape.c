/* Unit tests for the shape operators: reshape family, transpose, concat/split, slice, gather,
 * plus registry and robustness checks over the whole family. */
#include "shape_harness.h"

static void test_reshape(void) {
    tc t;
    double v[24];
    iota(v, 24);
    tc_init(&t, &sqz_op_reshape, 14);
    tc_in_f(&t, 0, 3, D(2, 3, 4), v);
    tc_in_ints(&t, 1, 2, D(0, -1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 12);
    CHECK(values_are(&t.out[0], 24, v));
    tc_in_ints(&t, 1, 3, D(-1, 2, 2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 6, 2, 2);
    tc_in_ints(&t, 1, 2, D(5, -1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    CHECK_MSG(strstr(t.err.msg, "cannot reshape 24 elements") != NULL, "%s", t.err.msg);
    tc_in_ints(&t, 1, 2, D(5, 5));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA && strstr(t.err.msg, "[5,5]"));
    tc_in_ints(&t, 1, 3, D(-1, -1, 2));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_ints(&t, 1, 4, D(0, 0, 0, 0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* copies a dim the input lacks */
    /* shape not known yet: rank from the shape tensor's length */
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(4));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 4, -1, -1, -1, -1);
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(-1));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    CHECK(t.out[0].ndim == -1);
    CHECK(sqz_op_reshape.shape_inputs == 2u);
    tc_free(&t);

    /* allowzero: 0 is a real zero */
    tc_init(&t, &sqz_op_reshape, 14);
    attr_int(&t, "allowzero", 1);
    tc_in_f(&t, 0, 3, D(0, 3, 4), NULL);
    tc_in_ints(&t, 1, 3, D(3, 4, 0));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 3, 4, 0);
    tc_in_ints(&t, 1, 2, D(0, -1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    /* unknown input dim copied by 0, -1 stays unknown */
    tc_init(&t, &sqz_op_reshape, 13);
    tc_in_unknown(&t, 0, SQZ_DT_F16, 3, D(-1, 3, 4));
    tc_in_ints(&t, 1, 2, D(0, -1));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    CHECK(t.out[0].dtype == SQZ_DT_F16);
    tc_free(&t);

    /* opset 1-4: 'shape' attribute */
    tc_init(&t, &sqz_op_reshape, 4);
    attr_ints(&t, "shape", 2, D(4, -1));
    tc_in_f(&t, 0, 2, D(2, 6), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 4, 3);
    tc_free(&t);
}

static void test_flatten_squeeze(void) {
    tc t;
    double v[24];
    iota(v, 24);
    tc_init(&t, &sqz_op_flatten, 13);
    attr_int(&t, "axis", -1);
    tc_in_f(&t, 0, 3, D(2, 3, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 6, 4);
    CHECK(values_are(&t.out[0], 24, v));
    tc_free(&t);
    tc_init(&t, &sqz_op_flatten, 13);
    attr_int(&t, "axis", 0);
    tc_in_f(&t, 0, 3, D(2, 3, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 1, 24);
    tc_free(&t);

    tc_init(&t, &sqz_op_squeeze, 13);
    tc_in_f(&t, 0, 4, D(3, 1, 4, 1), NULL);
    tc_in_ints(&t, 1, 1, D(-1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 3, 1, 4);
    tc_skip(&t, 1);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 3, 4);
    tc_in_ints(&t, 1, 1, D(0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_in_ints(&t, 1, 2, D(1, -3));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* repeated */
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(2));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    tc_free(&t);
    tc_init(&t, &sqz_op_squeeze, 11);
    attr_ints(&t, "axes", 1, D(1));
    tc_in_f(&t, 0, 4, D(3, 1, 4, 1), NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 3, 4, 1);
    tc_free(&t);

    tc_init(&t, &sqz_op_unsqueeze, 13);
    tc_in_f(&t, 0, 2, D(3, 4), v);
    tc_in_ints(&t, 1, 2, D(-1, 0));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 4, 1, 3, 4, 1);
    CHECK(values_are(&t.out[0], 12, v));
    tc_in_ints(&t, 1, 2, D(4, 0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
    tc_init(&t, &sqz_op_unsqueeze, 11);
    attr_ints(&t, "axes", 2, D(1, 3));
    tc_in_f(&t, 0, 2, D(3, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 4, 3, 1, 4, 1);
    tc_free(&t);
}

static void test_transpose(void) {
    tc t;
    double v[24];
    iota(v, 24);
    tc_init(&t, &sqz_op_transpose, 13);
    attr_ints(&t, "perm", 3, D(1, 2, 0));
    tc_in(&t, 0, SQZ_DT_I64, 3, D(2, 3, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 3, 4, 2);
    int bad = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 2; k++)
                bad += ((int64_t *)t.out[0].data)[(i * 4 + j) * 2 + k] != k * 12 + i * 4 + j;
    CHECK(bad == 0);
    tc_free(&t);

    /* default perm reverses; f16 moves as 2-byte units */
    tc_init(&t, &sqz_op_transpose, 13);
    tc_in(&t, 0, SQZ_DT_F16, 2, D(2, 3), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 3, 2);
    CHECK(values_are(&t.out[0], 6, V(0, 3, 1, 4, 2, 5)));
    tc_free(&t);

    /* merged contiguous runs and size-1 dims */
    tc_init(&t, &sqz_op_transpose, 13);
    attr_ints(&t, "perm", 4, D(0, 3, 1, 2));
    tc_in_f(&t, 0, 4, D(1, 2, 3, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 4, 1, 4, 2, 3);
    bad = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 6; b++) bad += sqz_tensor_get_f64(&t.out[0], a * 6 + b) != b * 4 + a;
    CHECK(bad == 0);
    tc_free(&t);

    tc_init(&t, &sqz_op_transpose, 13);
    attr_ints(&t, "perm", 3, D(0, 0, 1));
    tc_in_f(&t, 0, 3, D(2, 3, 4), v);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA && strstr(t.err.msg, "perm"));
    tc_free(&t);
    tc_init(&t, &sqz_op_transpose, 13);
    attr_ints(&t, "perm", 2, D(1, 0));
    tc_in_f(&t, 0, 3, D(2, 3, 4), v);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);
}

static void test_concat_split(void) {
    tc t;
    tc_init(&t, &sqz_op_concat, 13);
    attr_int(&t, "axis", -1);
    tc_in_f(&t, 0, 2, D(2, 1), V(1, 2));
    tc_in_f(&t, 1, 2, D(2, 3), V(3, 4, 5, 6, 7, 8));
    tc_in_f(&t, 2, 2, D(2, 0), NULL);
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 4);
    CHECK(values_are(&t.out[0], 8, V(1, 3, 4, 5, 2, 6, 7, 8)));
    tc_in_f(&t, 2, 2, D(3, 1), NULL);
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    tc_init(&t, &sqz_op_split, 13);
    attr_int(&t, "axis", 1);
    tc_in_f(&t, 0, 2, D(2, 3), V(1, 2, 3, 4, 5, 6));
    tc_in_ints(&t, 1, 2, D(1, 2));
    CHECK_OK(tc_run(&t, 2), &t.err);
    SHAPE(&t.out[0], 2, 2, 1);
    SHAPE(&t.out[1], 2, 2, 2);
    CHECK(values_are(&t.out[0], 2, V(1, 4)) && values_are(&t.out[1], 4, V(2, 3, 5, 6)));
    tc_in_ints(&t, 1, 2, D(1, 1));
    CHECK(tc_infer(&t, 2) == SQZ_ERR_DATA);
    tc_skip(&t, 1);
    CHECK_OK(tc_run(&t, 3), &t.err);
    CHECK(values_are(&t.out[2], 2, V(3, 6)));
    CHECK(tc_infer(&t, 2) == SQZ_ERR_DATA); /* 3 does not split in 2 */
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(2));
    CHECK_OK(tc_infer(&t, 2), &t.err);
    SHAPE(&t.out[1], 2, 2, -1);
    tc_free(&t);

    tc_init(&t, &sqz_op_split, 11); /* attribute form */
    attr_ints(&t, "split", 3, D(2, 0, 1));
    tc_in(&t, 0, SQZ_DT_BOOL, 1, D(3), V(1, 0, 1));
    CHECK_OK(tc_run(&t, 3), &t.err);
    SHAPE(&t.out[1], 1, 0);
    CHECK(values_are(&t.out[0], 2, V(1, 0)) && values_are(&t.out[2], 1, V(1)));
    tc_free(&t);

    tc_init(&t, &sqz_op_split, 18); /* num_outputs: last chunk smaller */
    attr_int(&t, "num_outputs", 3);
    double v[7];
    iota(v, 7);
    tc_in_f(&t, 0, 1, D(7), v);
    CHECK_OK(tc_run(&t, 3), &t.err);
    SHAPE(&t.out[0], 1, 3);
    SHAPE(&t.out[2], 1, 1);
    CHECK(values_are(&t.out[2], 1, V(6)));
    tc_free(&t);
}

static void test_slice(void) {
    tc t;
    double v[24];
    iota(v, 24);
    tc_init(&t, &sqz_op_slice, 13);
    tc_in_f(&t, 0, 1, D(10), v);
    tc_in_ints(&t, 1, 1, D(-1));
    tc_in_ints(&t, 2, 1, D(-100));
    tc_skip(&t, 3);
    tc_in_ints(&t, 4, 1, D(-2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 5, V(9, 7, 5, 3, 1)));
    tc_in_ints(&t, 1, 1, D(2));
    tc_in_ints(&t, 2, 1, D(1000));
    tc_in_ints(&t, 4, 1, D(3));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 3, V(2, 5, 8)));
    tc_in_ints(&t, 1, 1, D(INT64_MAX));
    tc_in_ints(&t, 2, 1, D(INT64_MIN));
    tc_in_ints(&t, 4, 1, D(INT64_MIN));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 1, V(9)));
    tc_in_ints(&t, 1, 1, D(20)); /* start past the end: empty */
    tc_in_ints(&t, 2, 1, D(30));
    tc_in_ints(&t, 4, 1, D(1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 1, 0);
    tc_in_ints(&t, 4, 1, D(0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    /* 2-D, negative axis, default steps; then unknown starts */
    tc_init(&t, &sqz_op_slice, 13);
    tc_in_f(&t, 0, 2, D(4, 6), v);
    tc_in_ints(&t, 1, 2, D(1, -4));
    tc_in_ints(&t, 2, 2, D(3, -1));
    tc_in_ints(&t, 3, 2, D(0, -1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, 2, 3);
    CHECK(values_are(&t.out[0], 6, V(8, 9, 10, 14, 15, 16)));
    tc_in_ints(&t, 3, 2, D(1, -1));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA); /* repeated axis */
    tc_in_unknown(&t, 1, SQZ_DT_I64, 1, D(2));
    CHECK_OK(tc_infer(&t, 1), &t.err);
    SHAPE(&t.out[0], 2, -1, -1);
    tc_free(&t);

    /* opset 9: attributes, i32 data */
    tc_init(&t, &sqz_op_slice, 9);
    attr_ints(&t, "starts", 2, D(0, 1));
    attr_ints(&t, "ends", 2, D(-1, 1000));
    tc_in(&t, 0, SQZ_DT_I32, 2, D(2, 4), v);
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 3, V(1, 2, 3)));
    tc_free(&t);
}

static void test_gather(void) {
    tc t;
    double v[12];
    iota(v, 12);
    tc_init(&t, &sqz_op_gather, 13);
    attr_int(&t, "axis", 1);
    tc_in_f(&t, 0, 2, D(3, 4), v);
    tc_in(&t, 1, SQZ_DT_I32, 2, D(1, 2), V(-1, 1));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 3, 3, 1, 2);
    CHECK(values_are(&t.out[0], 6, V(3, 1, 7, 5, 11, 9)));
    tc_in(&t, 1, SQZ_DT_I64, 0, NULL, V(-4));
    CHECK_OK(tc_run(&t, 1), &t.err);
    SHAPE(&t.out[0], 1, 3);
    CHECK(values_are(&t.out[0], 3, V(0, 4, 8)));
    tc_in(&t, 1, SQZ_DT_I64, 1, D(1), V(4));
    CHECK(tc_run(&t, 1) == SQZ_ERR_DATA && strstr(t.err.msg, "out of range"));
    tc_in(&t, 1, SQZ_DT_F32, 1, D(1), V(0));
    CHECK(tc_infer(&t, 1) == SQZ_ERR_DATA);
    tc_free(&t);

    tc_init(&t, &sqz_op_gather_elements, 13);
    attr_int(&t, "axis", 1);
    tc_in_f(&t, 0, 2, D(2, 2), V(1, 2, 3, 4));
    tc_in(&t, 1, SQZ_DT_I64, 2, D(2, 2), V(0, 0, -1, 0));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 4, V(1, 1, 4, 3)));
    tc_free(&t);
    tc_init(&t, &sqz_op_gather_elements, 13); /* axis 0, indices smaller than data */
    tc_in_f(&t, 0, 2, D(3, 3), V(1, 2, 3, 4, 5, 6, 7, 8, 9));
    tc_in(&t, 1, SQZ_DT_I32, 2, D(2, 3), V(1, 2, 0, 2, 0, 0));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 6, V(4, 8, 3, 7, 2, 3)));
    tc_free(&t);

    tc_init(&t, &sqz_op_scatter_elements, 16);
    attr_int(&t, "axis", 1);
    attr_str(&t, "reduction", "add");
    tc_in_f(&t, 0, 2, D(1, 5), V(1, 2, 3, 4, 5));
    tc_in(&t, 1, SQZ_DT_I64, 2, D(1, 2), V(1, -4));
    tc_in_f(&t, 2, 2, D(1, 2), V(1.5, 2));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 5, V(1, 5.5, 3, 4, 5)));
    tc_free(&t);
    tc_init(&t, &sqz_op_scatter_elements, 13);
    tc_in_f(&t, 0, 2, D(3, 2), NULL);
    tc_in(&t, 1, SQZ_DT_I64, 2, D(1, 2), V(2, 0));
    tc_in_f(&t, 2, 2, D(1, 2), V(7, 8));
    CHECK_OK(tc_run(&t, 1), &t.err);
    CHECK(values_are(&t.out[0], 6, V(0, 8, 0, 0, 7, 0)));
    tc_free(&t);
}

/* Random shapes, permutations and slices against naive index arithmetic. */
static uint64_t lcg_state = 12345;
static int64_t rnd(int64_t n) {
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int64_t)((lcg_state >> 33) % (uint64_t)n);
}

static void test_random_transpose_slice(void) {
    int bad_t = 0, bad_s = 0;
    for (int iter = 0; iter < 200; iter++) {
        int r = 1 + (int)rnd(5);
        int64_t dims[8], n = 1, xs[8];
        for (int i = 0; i < r; i++) n *= dims[i] = 1 + rnd(4);
        for (int i = r - 1, s = 1; i >= 0; s *= (int)dims[i], i--) xs[i] = s;
        double v[1024];
        iota(v, (int)n);
        int64_t perm[8];
        for (int i = 0; i < r; i++) perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)rnd(i + 1);
            int64_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        tc t;
        tc_init(&t, &sqz_op_transpose, 13);
        attr_ints(&t, "perm", r, perm);
        tc_in(&t, 0, iter % 2 ? SQZ_DT_F16 : SQZ_DT_I32, r, dims, v);
        if (tc_run(&t, 1) != SQZ_OK) bad_t++;
        else {
            int64_t o[8] = {0};
            for (int64_t e = 0; e < n; e++) {
                int64_t src = 0;
                for (int i = 0; i < r; i++) src += o[i] * xs[perm[i]];
                if (sqz_tensor_get_f64(&t.out[0], e) != (double)src) bad_t++;
                for (int i = r - 1; i >= 0; i--) {
                    if (++o[i] < dims[perm[i]]) break;
                    o[i] = 0;
                }
            }
        }
        tc_free(&t);
        /* slice every axis with random start/end/step; expected by walking python-style */
        int64_t st[8], en[8], sp[8], ax[8], len[8], first[8];
        for (int i = 0; i < r; i++) {
            ax[i] = i - (rnd(2) ? r : 0);
            st[i] = rnd(2 * dims[i] + 3) - dims[i] - 1;
            en[i] = rnd(2 * dims[i] + 3) - dims[i] - 1;
            sp[i] = rnd(2) ? 1 + rnd(3) : -1 - rnd(3);
            int64_t d = dims[i], s0 = st[i] < 0 ? st[i] + d : st[i], e0 = en[i] < 0 ? en[i] + d : en[i];
            if (sp[i] > 0) {
                s0 = s0 < 0 ? 0 : (s0 > d ? d : s0);
                e0 = e0 < 0 ? 0 : (e0 > d ? d : e0);
            } else {
                s0 = s0 < 0 ? 0 : (s0 > d - 1 ? d - 1 : s0); /* the spec clamps to [0, d-1] */
                e0 = e0 < -1 ? -1 : (e0 > d - 1 ? d - 1 : e0);
            }
            len[i] = 0;
            for (int64_t k = s0; sp[i] > 0 ? k < e0 : k > e0; k += sp[i]) len[i]++;
            first[i] = s0;
        }
        tc_init(&t, &sqz_op_slice, 13);
        tc_in(&t, 0, SQZ_DT_I64, r, dims, v);
        tc_in_ints(&t, 1, r, st);
        tc_in_ints(&t, 2, r, en);
        tc_in_ints(&t, 3, r, ax);
        tc_in_ints(&t, 4, r, sp);
        if (tc_run(&t, 1) != SQZ_OK || !shape_is(&t.out[0], r, len)) bad_s++;
        else {
            int64_t o[8] = {0}, m = sqz_tensor_numel(&t.out[0]);
            for (int64_t e = 0; e < m; e++) {
                int64_t src = 0;
                for (int i = 0; i < r; i++) src += (first[i] + o[i] * sp[i]) * xs[i];
                if (sqz_tensor_get_f64(&t.out[0], e) != (double)src) bad_s++;
                for (int i = r - 1; i >= 0; i--) {
                    if (++o[i] < len[i]) break;
                    o[i] = 0;
                }
            }
        }
        tc_free(&t);
    }
    CHECK_MSG(bad_t == 0, "%d transpose mismatches", bad_t);
    CHECK_MSG(bad_s == 0, "%d slice mismatches", bad_s);
}

/* Every shape op, fed unknown ranks, unknown dims, missing values and odd small values,
 * must answer with a status (never crash); forward runs whenever infer gives known shapes. */
static void test_robustness(void) {
    static const double odd[] = {0, -1, 1, 3, -100, 1e12};
    int calls = 0;
    for (int i = 0; i < sqz_ops_shape_count; i++) {
        const sqz_op *op = sqz_ops_shape[i];
        int nmax = op->n_in_max > 5 ? 5 : op->n_in_max;
        for (int nin = op->n_in_min; nin <= nmax; nin++)
            for (int variant = 0; variant < 4 + 6; variant++) {
                tc t;
                tc_init(&t, op, 13);
                for (int k = 0; k < nin; k++) {
                    if (variant == 0) { /* unknown rank */
                        tc_in_unknown(&t, k, SQZ_DT_F32, 0, NULL);
                        t.in[k].ndim = -1;
                    } else if (variant == 1) {
                        tc_in_unknown(&t, k, SQZ_DT_I64, 1, D(-1));
                    } else if (variant == 2) {
                        tc_in_unknown(&t, k, SQZ_DT_F32, 4, D(2, -1, 3, 4));
                    } else if (variant == 3) {
                        tc_in(&t, k, SQZ_DT_BOOL, 2, D(2, 3), NULL);
                    } else {
                        double v = odd[variant - 4];
                        if (k == 0) tc_in_f(&t, 0, 4, D(1, 2, 3, 4), NULL);
                        else tc_in(&t, k, SQZ_DT_I64, 1, D(1), &v);
                    }
                }
                int nout = op->n_out_min > 0 ? op->n_out_min : 1;
                sqz_status st = tc_infer(&t, nout);
                int known = 1;
                for (int k = 0; k < nout; k++)
                    if (t.out[k].ndim < 0 || sqz_tensor_numel(&t.out[k]) < 0 || sqz_tensor_numel(&t.out[k]) > 1000000)
                        known = 0;
                if (st == SQZ_OK && known) {
                    int have_data = 1;
                    for (int k = 0; k < nin; k++) have_data &= t.in[k].data != NULL;
                    if (have_data) (void)tc_run(&t, nout);
                }
                calls++;
                tc_free(&t);
            }
    }
    CHECK(calls > 100);
}

static void test_registry(void) {
    static const char *names[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose",
                                  "Concat", "Split", "Slice", "Gather", "GatherElements", "ScatterElements",
                                  "Constant", "ConstantOfShape", "Shape", "Size", "Range", "EyeLike", "Pad",
                                  "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "GatherND", "OneHot", "Trilu",
                                  "Resize", "Upsample", "Scatter", "ScatterND", "Compress",
                                  "ReverseSequence"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_MSG(sqz_op_find("", names[i]) != NULL, "%s not registered", names[i]);
}
int main(void) {
    test_reshape();
    test_flatten_squeeze();
    test_transpose();
    test_concat_split();
    test_slice();
    test_gather();
    test_random_transpose_slice();
    test_robustness();
    test_registry();
    TEST_MAIN_END();
}
