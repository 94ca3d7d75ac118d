/* ops/elem_variadic.c - Max, Min, Sum, Mean over one or more inputs with numpy
 * broadcasting. The output is built in place: out = in0 op in1, then out = out op in_k.
 * Float Max/Min propagate NaN (numpy maximum/minimum). */
#include <math.h>

#include "ops/elem_util.h"

void sqz_elem_k_max(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, x > y ? x : y); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, (x > y || x != x) ? x : y); break;
        SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

void sqz_elem_k_min(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, x < y ? x : y); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, (x < y || x != x) ? x : y); break;
        SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

static sqz_status variadic_infer(sqz_opctx *c, uint32_t mask) {
    sqz_status st;
    if (c->n_in < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "needs at least one input");
    if ((st = sqz_elem_check_output(c))) return st;
    sqz_tensor acc = {0};
    for (int i = 0; i < c->n_in; i++) {
        if ((st = sqz_elem_check_input(c, i, mask))) return st;
        const sqz_tensor *t = c->in[i];
        if (t->dtype != c->in[0]->dtype)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "input %d has dtype %s, input 0 has %s", i,
                               sqz_dtype_name(t->dtype), sqz_dtype_name(c->in[0]->dtype));
        if (i == 0) {
            acc.ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++) acc.dims[d] = t->dims[d];
            continue;
        }
        int nd;
        int64_t dims[SQZ_MAX_DIMS];
        if ((st = sqz_broadcast_shape(&acc, t, &nd, dims, c->err))) return st;
        acc.ndim = nd;
        for (int d = 0; d < nd; d++) acc.dims[d] = dims[d];
    }
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, acc.ndim, acc.dims);
    return SQZ_OK;
}

static sqz_status variadic_forward(sqz_opctx *c, sqz_elem_bin_fn fn) {
    sqz_tensor *out = c->out[0];
    sqz_status st;
    for (int i = 0; i < c->n_in; i++)
        if (!c->in[i]) return sqz_err_set(c->err, SQZ_ERR_DATA, "input %d is missing", i);
    if (c->n_in == 1) return sqz_elem_binary_run(c->in[0], c->in[0], out, sqz_elem_k_copy, NULL, c->err);
    if ((st = sqz_elem_binary_run(c->in[0], c->in[1], out, fn, NULL, c->err))) return st;
    for (int i = 2; i < c->n_in; i++)
        if ((st = sqz_elem_binary_run(out, c->in[i], out, fn, NULL, c->err))) return st;
    return SQZ_OK;
}

static sqz_status max_infer(sqz_opctx *c) { return variadic_infer(c, SQZ_EM_NUM); }
static sqz_status max_forward(sqz_opctx *c) { return variadic_forward(c, sqz_elem_k_max); }
static sqz_status min_forward(sqz_opctx *c) { return variadic_forward(c, sqz_elem_k_min); }
static sqz_status sum_forward(sqz_opctx *c) { return variadic_forward(c, sqz_elem_k_add); }
static sqz_status mean_infer(sqz_opctx *c) { return variadic_infer(c, SQZ_EM_FLOAT); }

static sqz_status mean_forward(sqz_opctx *c) {
    sqz_status st = variadic_forward(c, sqz_elem_k_add);
    if (st) return st;
    sqz_tensor *y = c->out[0];
    int64_t n = sqz_tensor_numel(y);
    double k = (double)c->n_in;
    switch (y->dtype) {
    case SQZ_DT_F32:
        for (int64_t i = 0; i < n; i++) ((float *)y->data)[i] /= (float)k;
        break;
    case SQZ_DT_F64:
        for (int64_t i = 0; i < n; i++) ((double *)y->data)[i] /= k;
        break;
    default: { /* f16 / bf16 */
        double buf[SQZ_ELEM_CHUNK];
        for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
            int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
            sqz_elem_load_f64(y->dtype, y->data, i0, m, buf);
            for (int64_t i = 0; i < m; i++) buf[i] /= k;
            sqz_elem_store_f64(y->dtype, y->data, i0, m, buf);
        }
        break;
    }
    }
    return SQZ_OK;
}

#define VARIADIC_OP(sym, NAME, INFER, FORWARD)                                                      \
    const sqz_op sqz_op_##sym = {.name = NAME, .n_in_min = 1, .n_in_max = 1 << 20, .n_out_min = 1, \
                                 .n_out_max = 1, .infer = INFER, .forward = FORWARD};

VARIADIC_OP(max, "Max", max_infer, max_forward)
VARIADIC_OP(min, "Min", max_infer, min_forward)
VARIADIC_OP(sum, "Sum", max_infer, sum_forward)
VARIADIC_OP(mean, "Mean", mean_infer, mean_forward)
