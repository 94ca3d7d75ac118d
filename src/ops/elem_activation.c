/* ops/elem_activation.c - activation functions: Relu, LeakyRelu, Elu, Selu, Celu, Sigmoid,
 * Tanh, HardSigmoid, HardSwish, Softplus, Softsign, ThresholdedRelu, Mish, Shrink.
 * Attributes (alpha, beta, gamma) arrive in p[0..2] with the ONNX defaults.
 * Softplus is written to avoid overflow for large |x|. */
#include <math.h>

#include "kernels/elem_f32.h"
#include "ops/elem_util.h"

/* exp(-v) overflowing to inf for very negative v still gives the right limit, 0 */
static inline float sigmoidf_(float v) { return 1.0f / (1.0f + expf(-v)); }
static inline double sigmoid_(double v) { return 1.0 / (1.0 + exp(-v)); }

static inline float softplusf_(float v) { return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)); }
static inline double softplus_(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

static inline float clampf01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
static inline double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

SQZ_UNARY_FLOAT(relu, (v > 0 || v != v) ? v : 0.0f, (v > 0 || v != v) ? v : 0.0)
SQZ_UNARY_FLOAT(leakyrelu, v < 0 ? p[0] * v : v, v < 0 ? (double)p[0] * v : v)
SQZ_UNARY_FLOAT(elu, v < 0 ? p[0] * (expf(v) - 1.0f) : v, v < 0 ? (double)p[0] * (exp(v) - 1.0) : v)
SQZ_UNARY_FLOAT(selu, v <= 0 ? p[1] * (p[0] * expf(v) - p[0]) : p[1] * v,
                v <= 0 ? (double)p[1] * ((double)p[0] * exp(v) - (double)p[0]) : (double)p[1] * v)
SQZ_UNARY_FLOAT(celu, fmaxf(0.0f, v) + fminf(0.0f, p[0] * (expf(v / p[0]) - 1.0f)),
                fmax(0.0, v) + fmin(0.0, (double)p[0] * (exp(v / (double)p[0]) - 1.0)))
SQZ_UNARY_FLOAT(sigmoid, sigmoidf_(v), sigmoid_(v))
SQZ_UNARY_FLOAT(tanh, tanhf(v), tanh(v))
SQZ_UNARY_FLOAT(hardsigmoid, clampf01(p[0] * v + p[1]), clamp01((double)p[0] * v + (double)p[1]))
SQZ_UNARY_FLOAT(hardswish, v * clampf01(v / 6.0f + 0.5f), v * clamp01(v / 6.0 + 0.5))
SQZ_UNARY_FLOAT(softplus, softplusf_(v), softplus_(v))
SQZ_UNARY_FLOAT(softsign, v / (1.0f + fabsf(v)), v / (1.0 + fabs(v)))
SQZ_UNARY_FLOAT(thresholdedrelu, v > p[0] ? v : 0.0f, v > (double)p[0] ? v : 0.0)
SQZ_UNARY_FLOAT(mish, v * tanhf(softplusf_(v)), v * tanh(softplus_(v)))
/* Shrink: p[0] = lambd, p[1] = bias */
SQZ_UNARY_FLOAT(shrink, v < -p[0] ? v + p[1] : v > p[0] ? v - p[1] : 0.0f,
                v < -(double)p[0] ? v + (double)p[1] : v > (double)p[0] ? v - (double)p[1] : 0.0)

/* Relu on signed integers (opset 14). */
static void relu_int(sqz_dtype dt, void *o, const void *x, int64_t n, const float *p) {
    switch (dt) {
#define X(E, T, W)                                                      \
    case SQZ_DT_##E:                                                    \
        for (int64_t i = 0; i < n; i++) {                               \
            T v = ((const T *)x)[i];                                    \
            ((T *)o)[i] = v > 0 ? v : 0;                                \
        }                                                               \
        break;
        SQZ_ELEM_SINTS(X)
#undef X
    default: break;
    }
}

#define F SQZ_EM_FLOAT
#define ACT(sym, NAME, A0, D0, A1, D1) \
    SQZ_UNARY_OP(sym, NAME, F, sym##_f32, sym##_f64, NULL, A0, D0, A1, D1, NULL, 0)
/* Relu f32: the vectorized clamp (kernels/elem_f32.h); the scalar loop under SQZ_ISA=ref. */
static void relu_f32_fast(float *o, const float *x, int64_t n, const float *p) {
    const sqz_isa isa = sqz_cpu_isa();
    if (isa == SQZ_ISA_REF) relu_f32(o, x, n, p);
    else sqz_clamp_f32(isa, n, x, o, 0.0f, INFINITY);
}
SQZ_UNARY_OP(relu, "Relu", F | SQZ_EM_SINT, relu_f32_fast, relu_f64, relu_int, NULL, 0, NULL, 0, NULL, 0)
ACT(leakyrelu, "LeakyRelu", "alpha", 0.01f, NULL, 0)
ACT(elu, "Elu", "alpha", 1.0f, NULL, 0)
ACT(selu, "Selu", "alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f)
ACT(celu, "Celu", "alpha", 1.0f, NULL, 0)
ACT(sigmoid, "Sigmoid", NULL, 0, NULL, 0)
ACT(tanh, "Tanh", NULL, 0, NULL, 0)
ACT(hardsigmoid, "HardSigmoid", "alpha", 0.2f, "beta", 0.5f)
ACT(hardswish, "HardSwish", NULL, 0, NULL, 0)
ACT(softplus, "Softplus", NULL, 0, NULL, 0)
ACT(softsign, "Softsign", NULL, 0, NULL, 0)
ACT(thresholdedrelu, "ThresholdedRelu", "alpha", 1.0f, NULL, 0)
ACT(mish, "Mish", NULL, 0, NULL, 0)
ACT(shrink, "Shrink", "lambd", 0.5f, "bias", 0.0f)
#undef ACT
#undef F
