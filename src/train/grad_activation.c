/* train/grad_activation.c - backward of the activations (Relu, Clip, LeakyRelu, Sigmoid, Tanh,
 * HardSigmoid, HardSwish) and of Softmax / LogSoftmax; f32. Derivatives at kinks follow the
 * forward's branch (Relu: 0 at 0; Clip: 1 on the closed interval). */
#include <math.h>

#include "train/grad.h"
#include "train/grad_vec.h"


/* The inference operator's forward (non-f32 inputs). */
static sqz_status op_forward(sqz_gctx *c) {
    sqz_opctx oc = {.node = c->node, .in = c->in, .n_in = c->n_in, .out = c->out, .n_out = c->n_out,
                    .opset = c->opset, .threads = c->threads, .err = c->err};
    const sqz_op *op = c->node->op;
    if (!op || !op->forward || op->scratch_bytes)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "%s: no inference forward", c->node->op_type);
    return op->forward(&oc);
}

/* Common prologue: x, y, dy, dx and n; returns from the caller when dx is not wanted. */
#define ACT_PROLOGUE                                                         \
    float *dx = c->din[0];                                                   \
    if (!dx) return SQZ_OK;                                                  \
    sqz_status st_ = sqz_grad_check_f32(c, c->in[0], "X");                   \
    if (st_) return st_;                                                     \
    const float *x = c->in[0]->data, *y = c->out[0]->data, *dy = c->dout[0]; \
    const int64_t n = sqz_tensor_numel(c->in[0]);                            \
    (void)x, (void)y;

/* mode 0: y = relu(x); 1: dx += relu'(x) dy; 2: y = clip(x); 3: dx += clip'(x) dy (set: dx = ...).
 * Split in fixed index ranges (elementwise: the bits never depend on the thread count). */
static void act_run(int threads, int mode, float *o, const float *x, const float *dy, int64_t n, float lo,
                    float hi, int set) {
    const int nt = sqz_tv_threads(threads, n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        int64_t a, b;
        sqz_tv_part(n, t, nt, &a, &b);
        if (mode == 0) sqz_tv_relu(o + a, x + a, b - a);
        else if (mode == 1) sqz_tv_relu_bwd(o + a, x + a, dy + a, b - a, set);
        else if (mode == 2) sqz_tv_clip(o + a, x + a, b - a, lo, hi);
        else sqz_tv_clip_bwd(o + a, x + a, dy + a, b - a, lo, hi, set);
    }
}

static sqz_status relu_fwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0];
    if (X->dtype != SQZ_DT_F32 || c->out[0]->dtype != SQZ_DT_F32) return op_forward(c);
    act_run(c->threads, 0, c->out[0]->data, X->data, NULL, sqz_tensor_numel(X), 0, 0, 0);
    return SQZ_OK;
}

static sqz_status relu_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    act_run(c->threads, 1, dx, x, dy, n, 0, 0, c->fresh & 1u);
    return SQZ_OK;
}

void sqz_grad_clip_bounds(const sqz_node *node, int64_t opset, sqz_tensor *const *in, int n_in, float *lo,
                          float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (opset < 11) {
        const sqz_attr *a = sqz_node_attr(node, "min"), *b = sqz_node_attr(node, "max");
        if (a) *lo = a->f;
        if (b) *hi = b->f;
    } else {
        if (n_in > 1 && in[1] && in[1]->data) *lo = ((const float *)in[1]->data)[0];
        if (n_in > 2 && in[2] && in[2]->data) *hi = ((const float *)in[2]->data)[0];
    }
}

static void clip_bounds(const sqz_gctx *c, float *lo, float *hi) {
    sqz_grad_clip_bounds(c->node, c->opset, c->in, c->n_in, lo, hi);
}

static sqz_status clip_fwd(sqz_gctx *c) {
    const sqz_tensor *X = c->in[0];
    for (int i = 1; i < c->n_in; i++)
        if (c->in[i] && (c->in[i]->dtype != SQZ_DT_F32 || !c->in[i]->data || sqz_tensor_numel(c->in[i]) != 1))
            return op_forward(c);
    if (X->dtype != SQZ_DT_F32 || c->out[0]->dtype != SQZ_DT_F32) return op_forward(c);
    float lo, hi;
    clip_bounds(c, &lo, &hi);
    act_run(c->threads, 2, c->out[0]->data, X->data, NULL, sqz_tensor_numel(X), lo, hi, 0);
    return SQZ_OK;
}

static sqz_status clip_bwd(sqz_gctx *c) {
    for (int i = 1; i < c->n_in; i++) sqz_grad_din_zero(c, i); /* min and max get no gradient */
    ACT_PROLOGUE
    float lo, hi;
    clip_bounds(c, &lo, &hi);
    act_run(c->threads, 3, dx, x, dy, n, lo, hi, c->fresh & 1u);
    return SQZ_OK;
}

static sqz_status leakyrelu_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    const float alpha = sqz_node_attr_float(c->node, "alpha", 0.01f);
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] < 0 ? alpha * dy[i] : dy[i];
    return SQZ_OK;
}

static sqz_status sigmoid_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
    return SQZ_OK;
}

static sqz_status tanh_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
    return SQZ_OK;
}

static sqz_status hardsigmoid_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    const float alpha = sqz_node_attr_float(c->node, "alpha", 0.2f), beta = sqz_node_attr_float(c->node, "beta", 0.5f);
    for (int64_t i = 0; i < n; i++) {
        const float v = alpha * x[i] + beta;
        dx[i] += (v > 0 && v < 1) ? alpha * dy[i] : 0.0f;
    }
    return SQZ_OK;
}

static sqz_status hardswish_bwd(sqz_gctx *c) {
    ACT_PROLOGUE
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        dx[i] += v < -3.0f ? 0.0f : v > 3.0f ? dy[i] : dy[i] * (v / 3.0f + 0.5f);
    }
    return SQZ_OK;
}

/* (outer, len, inner) view of Softmax's input as the forward uses it. */
static sqz_status sm_view(sqz_gctx *c, int64_t *outer, int64_t *len, int64_t *inner) {
    const sqz_tensor *X = c->in[0];
    const int legacy = c->opset < 13, r = X->ndim;
    *outer = *len = *inner = 1;
    if (r == 0) return SQZ_OK;
    int64_t a = sqz_node_attr_int(c->node, "axis", legacy ? 1 : -1);
    int axis;
    if (legacy && a == r) axis = r;
    else {
        sqz_status st = sqz_norm_axis(a, r, &axis, c->err);
        if (st) return st;
    }
    for (int i = 0; i < r; i++) *(i < axis ? outer : (legacy || i == axis) ? len : inner) *= X->dims[i];
    return SQZ_OK;
}

static sqz_status softmax_common(sqz_gctx *c, int logsm) {
    ACT_PROLOGUE
    (void)n;
    int64_t O, L, I;
    sqz_status st = sm_view(c, &O, &L, &I);
    if (st) return st;
    for (int64_t o = 0; o < O; o++)
        for (int64_t j = 0; j < I; j++) {
            const int64_t base = o * L * I + j;
            float s = 0;
            if (logsm) {
                for (int64_t k = 0; k < L; k++) s += dy[base + k * I];
                for (int64_t k = 0; k < L; k++) dx[base + k * I] += dy[base + k * I] - expf(y[base + k * I]) * s;
            } else {
                for (int64_t k = 0; k < L; k++) s += dy[base + k * I] * y[base + k * I];
                for (int64_t k = 0; k < L; k++) dx[base + k * I] += y[base + k * I] * (dy[base + k * I] - s);
            }
        }
    return SQZ_OK;
}

static sqz_status softmax_bwd(sqz_gctx *c) { return softmax_common(c, 0); }
static sqz_status logsoftmax_bwd(sqz_gctx *c) { return softmax_common(c, 1); }

const sqz_grad_op sqz_grad_relu = {.op = "Relu", .forward = relu_fwd, .backward = relu_bwd, .stores = 1};
const sqz_grad_op sqz_grad_clip = {.op = "Clip", .forward = clip_fwd, .backward = clip_bwd, .stores = 1};
const sqz_grad_op sqz_grad_leakyrelu = {.op = "LeakyRelu", .backward = leakyrelu_bwd};
const sqz_grad_op sqz_grad_sigmoid = {.op = "Sigmoid", .backward = sigmoid_bwd};
const sqz_grad_op sqz_grad_tanh = {.op = "Tanh", .backward = tanh_bwd};
const sqz_grad_op sqz_grad_hardsigmoid = {.op = "HardSigmoid", .backward = hardsigmoid_bwd};
const sqz_grad_op sqz_grad_hardswish = {.op = "HardSwish", .backward = hardswish_bwd};
const sqz_grad_op sqz_grad_softmax = {.op = "Softmax", .backward = softmax_bwd};
const sqz_grad_op sqz_grad_logsoftmax = {.op = "LogSoftmax", .backward = logsoftmax_bwd};
