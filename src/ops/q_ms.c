/* ops/q_ms.c - quantized operators of the com.microsoft domain that QOperator CNNs exported by
 * ONNX Runtime's quantizer use between QLinearConv nodes:
 *   QLinearAdd (A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp): numpy broadcasting,
 *     c = saturate(round((A_scale (a - A_zp) + B_scale (b - B_zp)) / C_scale) + C_zp), clamped further
 *     by the internal output clamp attributes of ops/q_util.h (a Relu the QDQ rewrite absorbed);
 *   QLinearGlobalAveragePool (X, x_scale, x_zp, y_scale, y_zp; channels_last 0 or 1):
 *     y = saturate(round(x_scale / y_scale * mean(x - x_zp)) + y_zp) over the spatial dims.
 * u8 or i8 (all tensors of one node share the dtype). Rounding is half to even. */
#include <math.h>

#include "kernels/q8.h"
#include "ops/elem_util.h"
#include "ops/q_util.h"

static sqz_status check_q8(const sqz_tensor *t, const char *what, sqz_dtype dt, sqz_err *err) {
    if (t->dtype != SQZ_DT_U8 && t->dtype != SQZ_DT_I8)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s has dtype %s; u8 or i8 expected", what,
                           sqz_dtype_name(t->dtype));
    if (dt != SQZ_DT_UNDEF && t->dtype != dt)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s has dtype %s, not %s like the input", what, sqz_dtype_name(t->dtype),
                           sqz_dtype_name(dt));
    return SQZ_OK;
}

/* ---- QLinearAdd ---- */

typedef struct qadd_param {
    sqz_qadd_params k;
    sqz_q8path path;
} qadd_param;

/* Rows of the general broadcast: contiguous pairs take the vector kernel, broadcast rows the
 * reference loop (the same arithmetic). */
static void k_qadd(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb, const void *param) {
    const qadd_param *p = param;
    const int s8 = dt == SQZ_DT_I8;
    if (sa && sb) sqz_qadd_q8(p->path, &p->k, s8, n, a, b, o);
    else sqz_qadd_q8_ref(&p->k, s8, n, a, sa, b, sb, o);
}

static sqz_status qadd_check(const sqz_opctx *c) {
    const sqz_tensor *A = c->in[0], *B = c->in[3];
    sqz_status st = check_q8(A, "A", SQZ_DT_UNDEF, c->err);
    if (st || (st = check_q8(B, "B", A->dtype, c->err))) return st;
    int64_t n;
    if ((st = sqz_q_check_scale(c->in[1], "A_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 2), "A_zero_point", -1, A->dtype, 0, &n, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[4], "B_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 5), "B_zero_point", -1, A->dtype, 0, &n, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[6], "C_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 7), "C_zero_point", -1, A->dtype, 0, &n, c->err))) return st;
    int32_t lo, hi;
    return sqz_q_out_range(c->node, A->dtype, &lo, &hi, c->err);
}

static sqz_status qadd_infer(sqz_opctx *c) {
    sqz_status st = qadd_check(c);
    if (st) return st;
    int nd;
    int64_t dims[SQZ_MAX_DIMS];
    if ((st = sqz_broadcast_shape(c->in[0], c->in[3], &nd, dims, c->err))) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, nd, dims);
    return SQZ_OK;
}

static sqz_status qadd_forward(sqz_opctx *c) {
    sqz_status st = qadd_check(c);
    if (st) return st;
    const double cs = sqz_q_scale_at(c->in[6], 0);
    qadd_param p = {.k = {.sa = (float)(sqz_q_scale_at(c->in[1], 0) / cs),
                          .sb = (float)(sqz_q_scale_at(c->in[4], 0) / cs),
                          .za = sqz_q_zp_at(sqz_q_in(c, 2), 0),
                          .zb = sqz_q_zp_at(sqz_q_in(c, 5), 0),
                          .zc = sqz_q_zp_at(sqz_q_in(c, 7), 0)},
                    .path = sqz_q8path_for(sqz_cpu_isa())};
    sqz_q_out_range(c->node, c->in[0]->dtype, &p.k.lo, &p.k.hi, NULL); /* checked by qadd_check */
    const sqz_tensor *A = c->in[0], *B = c->in[3];
    const int64_t n = sqz_tensor_numel(c->out[0]);
    if (sqz_tensor_numel(A) == n && sqz_tensor_numel(B) == n) { /* same shape (the residual Add) */
        sqz_qadd_q8(p.path, &p.k, A->dtype == SQZ_DT_I8, n, A->data, B->data, c->out[0]->data);
        return SQZ_OK;
    }
    return sqz_elem_binary_run(A, B, c->out[0], k_qadd, &p, c->err);
}

const sqz_op sqz_op_qlinear_add = {
    .name = "QLinearAdd", .domain = "com.microsoft", .n_in_min = 7, .n_in_max = 8, .n_out_min = 1,
    .n_out_max = 1, .infer = qadd_infer, .forward = qadd_forward,
};

/* ---- QLinearGlobalAveragePool ---- */

static sqz_status qgap_check(const sqz_opctx *c) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = check_q8(X, "X", SQZ_DT_UNDEF, c->err);
    if (st) return st;
    if (X->ndim >= 0 && X->ndim < 3)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "X has rank %d; QLinearGlobalAveragePool needs rank >= 3", X->ndim);
    int64_t n;
    if ((st = sqz_q_check_scale(c->in[1], "x_scale", -1, &n, c->err))) return st;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 2), "x_zero_point", -1, X->dtype, 0, &n, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[3], "y_scale", -1, &n, c->err))) return st;
    return sqz_q_check_zp(sqz_q_in(c, 4), "y_zero_point", -1, X->dtype, 0, &n, c->err);
}

static sqz_status qgap_infer(sqz_opctx *c) {
    sqz_status st = qgap_check(c);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const int cl = sqz_node_attr_int(c->node, "channels_last", 0) != 0;
    int64_t dims[SQZ_MAX_DIMS];
    for (int d = 0; d < X->ndim; d++) dims[d] = X->dims[d];
    for (int d = 1; d < X->ndim; d++)
        if (cl ? d < X->ndim - 1 : d >= 2) dims[d] = 1;
    sqz_op_set_shape(c->out[0], X->dtype, X->ndim, dims);
    return SQZ_OK;
}

static sqz_status qgap_forward(sqz_opctx *c) {
    sqz_status st = qgap_check(c);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const int cl = sqz_node_attr_int(c->node, "channels_last", 0) != 0;
    const int64_t N = X->dims[0], C = cl ? X->dims[X->ndim - 1] : X->dims[1];
    int64_t sp = 1;
    for (int d = 1; d < X->ndim; d++)
        if (cl ? d < X->ndim - 1 : d >= 2) sp *= X->dims[d];
    const int32_t zx = sqz_q_zp_at(sqz_q_in(c, 2), 0), zy = sqz_q_zp_at(sqz_q_in(c, 4), 0);
    const float mult = (float)((double)sqz_q_scale_at(c->in[1], 0) / sqz_q_scale_at(c->in[3], 0));
    int32_t lo, hi;
    sqz_q_range(X->dtype, &lo, &hi);
    const int s8 = X->dtype == SQZ_DT_I8;
    const sqz_q8path path = sqz_q8path_for(sqz_cpu_isa());
    enum { CHUNK = 256 };
    int64_t sums[CHUNK];
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            int64_t sum = 0;
            if (cl) {
                for (int64_t i = 0; i < sp; i++) {
                    const int64_t idx = (n * sp + i) * C + ch;
                    sum += (s8 ? ((const int8_t *)X->data)[idx] : ((const uint8_t *)X->data)[idx]) - zx;
                }
            } else { /* rows (n, ch) are contiguous: summed CHUNK at a time, exactly */
                const int64_t r = n * C + ch;
                if (ch % CHUNK == 0) {
                    const int64_t rows = C - ch < CHUNK ? C - ch : CHUNK;
                    sqz_rowsum_q8(path, s8, rows, sp, (const uint8_t *)X->data + r * sp, sums);
                }
                sum = sums[ch % CHUNK] - zx * sp;
            }
            float f = sp ? mult * (float)((double)sum / (double)sp) : 0.0f;
            f = fminf(fmaxf(f, (float)(lo - zy)), (float)(hi - zy));
            const int32_t q = (int32_t)nearbyintf(f) + zy;
            if (s8) ((int8_t *)c->out[0]->data)[n * C + ch] = (int8_t)q;
            else ((uint8_t *)c->out[0]->data)[n * C + ch] = (uint8_t)q;
        }
    return SQZ_OK;
}

const sqz_op sqz_op_qlinear_global_averagepool = {
    .name = "QLinearGlobalAveragePool", .domain = "com.microsoft", .n_in_min = 5, .n_in_max = 5,
    .n_out_min = 1, .n_out_max = 1, .infer = qgap_infer, .forward = qgap_forward,
};
