/* ops/elem_cast.c - Cast (attribute `to`) and CastLike (dtype of input 1) between f32, f64,
 * f16, bf16, i8..i64, u8..u64 and bool.
 * Floats to integers truncate toward zero (NaN / out of range: undefined in ONNX; here the
 * x86 "indefinite" value); integers to narrower integers wrap; to bool is (x != 0); floats
 * round to nearest even (f64 -> f16/bf16 without double rounding). Strings: unsupported. */
#include <string.h>

#include "ops/elem_util.h"

#define CAST_MASK (SQZ_EM_NUM | SQZ_EM_BOOL)

static sqz_status check_to(const sqz_opctx *c, int64_t to) {
    if (to <= 0 || to > 255 || !sqz_dtype_is_valid((int)to))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "cast target %lld is not a known dtype", (long long)to);
    if (!sqz_elem_dt_in((sqz_dtype)to, CAST_MASK))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "cast to %s is not supported",
                           sqz_dtype_name((sqz_dtype)to));
    return SQZ_OK;
}

static sqz_status cast_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, CAST_MASK)) || (st = sqz_elem_check_output(c))) return st;
    const sqz_attr *a = c->node ? sqz_node_attr(c->node, "to") : NULL;
    if (!a || a->type != SQZ_ATTR_INT) return sqz_err_set(c->err, SQZ_ERR_DATA, "attribute 'to' is missing");
    if ((st = check_to(c, a->i))) return st;
    sqz_elem_same_shape(c->out[0], (sqz_dtype)a->i, c->in[0]);
    return SQZ_OK;
}

static sqz_status castlike_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, CAST_MASK)) || (st = sqz_elem_check_input(c, 1, CAST_MASK)) ||
        (st = sqz_elem_check_output(c)))
        return st;
    sqz_elem_same_shape(c->out[0], c->in[1]->dtype, c->in[0]);
    return SQZ_OK;
}

static sqz_status cast_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0];
    sqz_tensor *y = c->out[0];
    int64_t n = sqz_tensor_numel(x);
    if (n < 0 || n != sqz_tensor_numel(y))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape does not match the input");
    if (!sqz_elem_dt_in(x->dtype, CAST_MASK) || !sqz_elem_dt_in(y->dtype, CAST_MASK))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "cast from %s to %s is not supported",
                           sqz_dtype_name(x->dtype), sqz_dtype_name(y->dtype));
    if (x->dtype == y->dtype) {
        if (n) memcpy(y->data, x->data, (size_t)n * sqz_dtype_size(x->dtype));
        return SQZ_OK;
    }
    if (x->dtype == SQZ_DT_F32 && (y->dtype == SQZ_DT_F16 || y->dtype == SQZ_DT_BF16)) {
        const float *s = x->data;
        uint16_t *d = y->data;
        if (y->dtype == SQZ_DT_F16)
            for (int64_t i = 0; i < n; i++) d[i] = sqz_f32_to_f16(s[i]);
        else
            for (int64_t i = 0; i < n; i++) d[i] = sqz_f32_to_bf16(s[i]);
    } else if (y->dtype == SQZ_DT_F32 && (x->dtype == SQZ_DT_F16 || x->dtype == SQZ_DT_BF16)) {
        const uint16_t *s = x->data;
        float *d = y->data;
        if (x->dtype == SQZ_DT_F16)
            for (int64_t i = 0; i < n; i++) d[i] = sqz_f16_to_f32(s[i]);
        else
            for (int64_t i = 0; i < n; i++) d[i] = sqz_bf16_to_f32(s[i]);
    } else if (sqz_elem_is_float(x->dtype)) {
        double buf[SQZ_ELEM_CHUNK];
        for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
            int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
            sqz_elem_load_f64(x->dtype, x->data, i0, m, buf);
            sqz_elem_store_f64(y->dtype, y->data, i0, m, buf);
        }
    } else {
        uint64_t buf[SQZ_ELEM_CHUNK];
        int un = sqz_elem_is_uint(x->dtype);
        for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
            int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
            sqz_elem_load_i64(x->dtype, x->data, i0, m, buf);
            sqz_elem_store_i64(y->dtype, y->data, i0, m, buf, un);
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_cast = {.name = "Cast", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
                            .infer = cast_infer, .forward = cast_forward};
const sqz_op sqz_op_castlike = {.name = "CastLike", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1,
                                .n_out_max = 1, .infer = castlike_infer, .forward = cast_forward};
