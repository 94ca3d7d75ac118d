/* ops/q_linear.c - QuantizeLinear, DequantizeLinear (opset 10-19: per tensor, or per axis with the
 * `axis` attribute of opset 13) and DynamicQuantizeLinear (opset 11).
 *   QuantizeLinear:   y = saturate(round_half_even(x / y_scale) + y_zero_point), u8 or i8 (the zero
 *                     point's dtype; u8 when it is omitted). x f32.
 *   DequantizeLinear: y = (x - x_zero_point) * x_scale, x u8, i8 or i32 (i32: zero point 0), y f32.
 *   DynamicQuantizeLinear: u8 with scale (max(0,max x) - min(0,min x)) / 255 and the zero point
 *                     that maps 0 exactly. */
#include <math.h>

#include "kernels/q8.h"
#include "ops/q_util.h"

/* Per-axis geometry: outer x count x inner, count == dims[axis]; count 1 for per-tensor. */
typedef struct qaxis {
    int64_t outer, count, inner;
} qaxis;

static sqz_status q_axis(const sqz_opctx *c, const sqz_tensor *x, int64_t scount, qaxis *a) {
    const int64_t n = sqz_tensor_numel(x);
    if (scount <= 1) {
        *a = (qaxis){1, 1, n};
        return SQZ_OK;
    }
    int ax;
    sqz_status st = sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 1), x->ndim, &ax, c->err);
    if (st) return st;
    if (x->dims[ax] != scount)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "the scale has %lld elements but axis %d of the input has %lld",
                           (long long)scount, ax, (long long)x->dims[ax]);
    a->outer = 1;
    a->inner = 1;
    for (int d = 0; d < ax; d++) a->outer *= x->dims[d];
    for (int d = ax + 1; d < x->ndim; d++) a->inner *= x->dims[d];
    a->count = scount;
    return SQZ_OK;
}

/* Count the scale may have per axis: dims[axis] when known, else -1 (any). */
static int64_t axis_len(const sqz_opctx *c, const sqz_tensor *x) {
    if (x->ndim <= 0) return -1;
    int ax;
    sqz_err e;
    if (sqz_norm_axis(sqz_node_attr_int(c->node, "axis", 1), x->ndim, &ax, &e)) return -1;
    return x->dims[ax];
}

static sqz_status check_params(const sqz_opctx *c, const sqz_tensor *x, const char *sname, const char *zname,
                               sqz_dtype zdt, int allow_i32, int64_t *scount) {
    const sqz_tensor *s = c->in[1], *z = sqz_q_in(c, 2);
    int64_t per = axis_len(c, x), zc;
    sqz_status st = sqz_q_check_scale(s, sname, per < 0 ? SQZ_Q_ANY : per, scount, c->err);
    if (st) return st;
    if ((st = sqz_q_check_zp(z, zname, per < 0 ? SQZ_Q_ANY : per, zdt, allow_i32, &zc, c->err))) return st;
    if (z && *scount >= 0 && zc >= 0 && zc != *scount)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s has %lld elements but %s has %lld", zname, (long long)zc, sname,
                           (long long)*scount);
    return SQZ_OK;
}

/* ---- QuantizeLinear ---- */

static sqz_status quant_infer(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0], *z = sqz_q_in(c, 2);
    if (x->dtype != SQZ_DT_F32)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "QuantizeLinear: input dtype %s is not supported (f32 only)",
                           sqz_dtype_name(x->dtype));
    int64_t sc;
    sqz_status st = check_params(c, x, "y_scale", "y_zero_point", SQZ_DT_UNDEF, 0, &sc);
    if (st) return st;
    sqz_op_set_shape(c->out[0], z ? z->dtype : SQZ_DT_U8, x->ndim, x->dims);
    return SQZ_OK;
}

static sqz_status quant_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0], *s = c->in[1], *z = sqz_q_in(c, 2);
    sqz_tensor *y = c->out[0];
    qaxis a;
    sqz_status st = q_axis(c, x, sqz_tensor_numel(s), &a);
    if (st) return st;
    const float *xp = x->data;
    const sqz_q8path path = sqz_q8path_for(sqz_cpu_isa());
    for (int64_t o = 0; o < a.outer; o++)
        for (int64_t k = 0; k < a.count; k++) {
            const int64_t base = (o * a.count + k) * a.inner;
            sqz_quantize_q8(path, y->dtype == SQZ_DT_I8, a.inner, xp + base, sqz_q_scale_at(s, k), sqz_q_zp_at(z, k),
                            (uint8_t *)y->data + base);
        }
    return SQZ_OK;
}

const sqz_op sqz_op_quantize_linear = {
    .name = "QuantizeLinear", .n_in_min = 2, .n_in_max = 3, .n_out_min = 1, .n_out_max = 1,
    .infer = quant_infer, .forward = quant_forward,
};

/* ---- DequantizeLinear ---- */

static sqz_status dequant_infer(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0];
    if (x->dtype != SQZ_DT_U8 && x->dtype != SQZ_DT_I8 && x->dtype != SQZ_DT_I32)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "DequantizeLinear: input dtype %s is not supported",
                           sqz_dtype_name(x->dtype));
    int64_t sc;
    sqz_status st = check_params(c, x, "x_scale", "x_zero_point", x->dtype, 1, &sc);
    if (st) return st;
    sqz_op_set_shape(c->out[0], SQZ_DT_F32, x->ndim, x->dims);
    return SQZ_OK;
}

static sqz_status dequant_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0], *s = c->in[1], *z = sqz_q_in(c, 2);
    float *y = c->out[0]->data;
    qaxis a;
    sqz_status st = q_axis(c, x, sqz_tensor_numel(s), &a);
    if (st) return st;
    const sqz_q8path path = sqz_q8path_for(sqz_cpu_isa());
    for (int64_t o = 0; o < a.outer; o++)
        for (int64_t k = 0; k < a.count; k++) {
            const float sk = sqz_q_scale_at(s, k);
            const int32_t zk = sqz_q_zp_at(z, k);
            const int64_t base = (o * a.count + k) * a.inner;
            if (x->dtype == SQZ_DT_I32)
                for (int64_t i = 0; i < a.inner; i++)
                    y[base + i] = (float)((int64_t)((const int32_t *)x->data)[base + i] - zk) * sk;
            else
                sqz_dequantize_q8(path, x->dtype == SQZ_DT_I8, a.inner, (const uint8_t *)x->data + base, sk, zk,
                                  y + base);
        }
    return SQZ_OK;
}

const sqz_op sqz_op_dequantize_linear = {
    .name = "DequantizeLinear", .n_in_min = 2, .n_in_max = 3, .n_out_min = 1, .n_out_max = 1,
    .infer = dequant_infer, .forward = dequant_forward,
};

/* ---- DynamicQuantizeLinear ---- */

static sqz_status dynq_infer(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0];
    if (x->dtype != SQZ_DT_F32)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "DynamicQuantizeLinear: input dtype %s is not supported",
                           sqz_dtype_name(x->dtype));
    sqz_op_set_shape(c->out[0], SQZ_DT_U8, x->ndim, x->dims);
    if (c->n_out > 1 && c->out[1]) sqz_op_set_shape(c->out[1], SQZ_DT_F32, 0, NULL);
    if (c->n_out > 2 && c->out[2]) sqz_op_set_shape(c->out[2], SQZ_DT_U8, 0, NULL);
    return SQZ_OK;
}

static sqz_status dynq_forward(sqz_opctx *c) {
    const sqz_tensor *x = c->in[0];
    const float *xp = x->data;
    const int64_t n = sqz_tensor_numel(x);
    float mn = 0.0f, mx = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (xp[i] < mn) mn = xp[i];
        if (xp[i] > mx) mx = xp[i];
    }
    const float scale = (mx - mn) / 255.0f;
    int32_t zp = 0;
    if (scale > 0.0f) {
        float z = nearbyintf((0.0f - mn) / scale);
        zp = z < 0.0f ? 0 : z > 255.0f ? 255 : (int32_t)z;
    }
    uint8_t *y = c->out[0]->data;
    if (scale > 0.0f) sqz_quantize_q8(sqz_q8path_for(sqz_cpu_isa()), 0, n, xp, scale, zp, y);
    else
        for (int64_t i = 0; i < n; i++) y[i] = 0;
    if (c->n_out > 1 && c->out[1]) *(float *)c->out[1]->data = scale;
    if (c->n_out > 2 && c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
    return SQZ_OK;
}

const sqz_op sqz_op_dynamic_quantize_linear = {
    .name = "DynamicQuantizeLinear", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 3,
    .infer = dynq_infer, .forward = dynq_forward,
};
