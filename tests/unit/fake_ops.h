/* tests/unit/fake_ops.h - tiny f32 operators for runtime and pass tests that must not
 * depend on the real operator families. Assign them to node->op directly. */
#ifndef SQZ_TEST_FAKE_OPS_H
#define SQZ_TEST_FAKE_OPS_H

#include "ops/op.h"

/* TAdd: out = a + b, b either the same shape as a or one element. */
static sqz_status fake_add_infer(sqz_opctx *c) {
    const sqz_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != SQZ_DT_F32 || b->dtype != SQZ_DT_F32)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "TAdd wants f32");
    sqz_op_set_shape(c->out[0], SQZ_DT_F32, a->ndim, a->dims);
    return SQZ_OK;
}
static sqz_status fake_add_forward(sqz_opctx *c) {
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data;
    int64_t n = sqz_tensor_numel(c->out[0]), nb = sqz_tensor_numel(c->in[1]);
    if (nb != 1 && nb != n) return sqz_err_set(c->err, SQZ_ERR_DATA, "TAdd: b has %lld elements", (long long)nb);
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[nb == 1 ? 0 : i];
    return SQZ_OK;
}
static int64_t fake_add_macs(const sqz_opctx *c) { return sqz_tensor_numel(c->out[0]); }
static const sqz_op fake_add = {"TAdd", 2, 2, 1, 1, 0, fake_add_infer, fake_add_forward, NULL, fake_add_macs};

/* TRelu (uses 16 bytes of scratch to exercise the scratch path). */
static sqz_status fake_relu_infer(sqz_opctx *c) {
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    return SQZ_OK;
}
static sqz_status fake_relu_forward(sqz_opctx *c) {
    const float *a = c->in[0]->data;
    float *y = c->out[0]->data;
    if (!c->scratch) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "no scratch");
    ((float *)c->scratch)[0] = 1.0f;
    int64_t n = sqz_tensor_numel(c->out[0]);
    for (int64_t i = 0; i < n; i++) y[i] = a[i] > 0 ? a[i] : 0;
    return SQZ_OK;
}
static size_t fake_relu_scratch(const sqz_opctx *c) { return 16; }
static const sqz_op fake_relu = {"TRelu", 1, 1, 1, 1, 0, fake_relu_infer, fake_relu_forward, fake_relu_scratch, NULL};

#endif
