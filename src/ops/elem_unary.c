/* ops/elem_unary.c - one-input math ops: Sqrt, Exp, Log, Neg, Abs, Reciprocal, Floor, Ceil,
 * Round (half to even), Sign, trigonometric and hyperbolic functions, Erf, Not, IsNaN, IsInf.
 * Floats use libm (f16/bf16 through f32); Abs, Neg and Sign also take integers. */
#include <math.h>

#include "ops/elem_util.h"

SQZ_UNARY_FLOAT(sqrt, sqrtf(v), sqrt(v))
SQZ_UNARY_FLOAT(exp, expf(v), exp(v))
SQZ_UNARY_FLOAT(log, logf(v), log(v))
SQZ_UNARY_FLOAT(neg, -v, -v)
SQZ_UNARY_FLOAT(abs, fabsf(v), fabs(v))
SQZ_UNARY_FLOAT(reciprocal, 1.0f / v, 1.0 / v)
SQZ_UNARY_FLOAT(floor, floorf(v), floor(v))
SQZ_UNARY_FLOAT(ceil, ceilf(v), ceil(v))
SQZ_UNARY_FLOAT(round, nearbyintf(v), nearbyint(v))
SQZ_UNARY_FLOAT(sign, v > 0 ? 1.0f : v < 0 ? -1.0f : v, v > 0 ? 1.0 : v < 0 ? -1.0 : v)
SQZ_UNARY_FLOAT(sin, sinf(v), sin(v))
SQZ_UNARY_FLOAT(cos, cosf(v), cos(v))
SQZ_UNARY_FLOAT(tan, tanf(v), tan(v))
SQZ_UNARY_FLOAT(asin, asinf(v), asin(v))
SQZ_UNARY_FLOAT(acos, acosf(v), acos(v))
SQZ_UNARY_FLOAT(atan, atanf(v), atan(v))
SQZ_UNARY_FLOAT(sinh, sinhf(v), sinh(v))
SQZ_UNARY_FLOAT(cosh, coshf(v), cosh(v))
SQZ_UNARY_FLOAT(asinh, asinhf(v), asinh(v))
SQZ_UNARY_FLOAT(acosh, acoshf(v), acosh(v))
SQZ_UNARY_FLOAT(atanh, atanhf(v), atanh(v))
SQZ_UNARY_FLOAT(erf, erff(v), erf(v))

/* Integer kernels: signed expression ES, unsigned EU, of v (wrapping through W). */
#define INT_KERNEL(sym, ES, EU)                                                              \
    static void sym##_int(sqz_dtype dt, void *o, const void *x, int64_t n, const float *p) { \
        switch (dt) {                                                                        \
            INT_CASES_S(ES) INT_CASES_U(EU) default : break;                                 \
        }                                                                                    \
    }
#define INT_CASE(E, T, W, EXPR)                                                  \
    case SQZ_DT_##E: {                                                           \
        const T *X_ = (const T *)x;                                              \
        T *O_ = (T *)o;                                                          \
        for (int64_t i = 0; i < n; i++) {                                        \
            T v = X_[i];                                                         \
            O_[i] = (T)(EXPR);                                                   \
        }                                                                        \
        break;                                                                   \
    }
#define INT_CASES_S(EXPR) \
    INT_CASE(I8, int8_t, uint32_t, EXPR) INT_CASE(I16, int16_t, uint32_t, EXPR) \
    INT_CASE(I32, int32_t, uint32_t, EXPR) INT_CASE(I64, int64_t, uint64_t, EXPR)
#define INT_CASES_U(EXPR) \
    INT_CASE(U8, uint8_t, uint32_t, EXPR) INT_CASE(U16, uint16_t, uint32_t, EXPR) \
    INT_CASE(U32, uint32_t, uint32_t, EXPR) INT_CASE(U64, uint64_t, uint64_t, EXPR)

/* W is not visible inside EXPR, so the wrap is spelt with a 64-bit unsigned negation. */
INT_KERNEL(abs, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v)
INT_KERNEL(neg, (uint64_t)0 - (uint64_t)v, (uint64_t)0 - (uint64_t)v)
INT_KERNEL(sign, (v > 0) - (v < 0), v > 0)

static void not_bool(sqz_dtype dt, void *o, const void *x, int64_t n, const float *p) {
    const uint8_t *X_ = x;
    uint8_t *O_ = o;
    for (int64_t i = 0; i < n; i++) O_[i] = !X_[i];
}

#define F SQZ_EM_FLOAT
#define PLAIN(sym, NAME) SQZ_UNARY_OP(sym, NAME, F, sym##_f32, sym##_f64, NULL, NULL, 0, NULL, 0, NULL, 0)
PLAIN(sqrt, "Sqrt")
PLAIN(exp, "Exp")
PLAIN(log, "Log")
PLAIN(reciprocal, "Reciprocal")
PLAIN(floor, "Floor")
PLAIN(ceil, "Ceil")
PLAIN(round, "Round")
PLAIN(sin, "Sin")
PLAIN(cos, "Cos")
PLAIN(tan, "Tan")
PLAIN(asin, "Asin")
PLAIN(acos, "Acos")
PLAIN(atan, "Atan")
PLAIN(sinh, "Sinh")
PLAIN(cosh, "Cosh")
PLAIN(asinh, "Asinh")
PLAIN(acosh, "Acosh")
PLAIN(atanh, "Atanh")
PLAIN(erf, "Erf")
SQZ_UNARY_OP(neg, "Neg", F | SQZ_EM_SINT, neg_f32, neg_f64, neg_int, NULL, 0, NULL, 0, NULL, 0)
SQZ_UNARY_OP(abs, "Abs", F | SQZ_EM_INT, abs_f32, abs_f64, abs_int, NULL, 0, NULL, 0, NULL, 0)
SQZ_UNARY_OP(sign, "Sign", F | SQZ_EM_INT, sign_f32, sign_f64, sign_int, NULL, 0, NULL, 0, NULL, 0)
SQZ_UNARY_OP(not, "Not", SQZ_EM_BOOL, NULL, NULL, not_bool, NULL, 0, NULL, 0, NULL, 0)
#undef PLAIN
#undef F

/* ---- IsNaN, IsInf: float -> bool ---- */
static sqz_status isx_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_FLOAT)) || (st = sqz_elem_check_output(c))) return st;
    sqz_elem_same_shape(c->out[0], SQZ_DT_BOOL, c->in[0]);
    return SQZ_OK;
}

static sqz_status isx_forward(sqz_opctx *c, int nan, int pos, int neg) {
    const sqz_tensor *x = c->in[0];
    uint8_t *o = c->out[0]->data;
    int64_t n = sqz_tensor_numel(x);
    if (n < 0 || n != sqz_tensor_numel(c->out[0]))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape does not match the input");
    double buf[SQZ_ELEM_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
        int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
        sqz_elem_load_f64(x->dtype, x->data, i0, m, buf);
        for (int64_t i = 0; i < m; i++) {
            double v = buf[i];
            o[i0 + i] = nan ? isnan(v) != 0 : ((pos && v == INFINITY) || (neg && v == -INFINITY));
        }
    }
    return SQZ_OK;
}

static sqz_status isnan_forward(sqz_opctx *c) { return isx_forward(c, 1, 0, 0); }

static sqz_status isinf_forward(sqz_opctx *c) {
    int pos = c->node ? sqz_node_attr_int(c->node, "detect_positive", 1) != 0 : 1;
    int neg = c->node ? sqz_node_attr_int(c->node, "detect_negative", 1) != 0 : 1;
    return isx_forward(c, 0, pos, neg);
}

const sqz_op sqz_op_isnan = {.name = "IsNaN", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
                             .infer = isx_infer, .forward = isnan_forward};
const sqz_op sqz_op_isinf = {.name = "IsInf", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
                             .infer = isx_infer, .forward = isinf_forward};
