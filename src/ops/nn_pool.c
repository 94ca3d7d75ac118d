/* ops/nn_pool.c - MaxPool (with optional Indices), AveragePool, GlobalAveragePool and
 * GlobalMaxPool (ONNX opset 1-17): N-D, kernel_shape, strides, pads, dilations, ceil_mode,
 * auto_pad, storage_order, count_include_pad. f32 and f64; MaxPool also u8 and i8. f32, u8 and i8
 * run the fast kernels of the CPU's ISA level (kernels/pool_f32.h, kernels/q8.h) except MaxPool
 * with Indices. */
#include <string.h>

#include "kernels/pool_f32.h"
#include "kernels/q8.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

static sqz_status pool_geometry(const sqz_opctx *c, const char *op, sqz_pool_params *p, int *yndim,
                                int64_t *ydims) {
    const sqz_tensor *X = c->in[0];
    const int is_max = !strcmp(op, "MaxPool");
    if (!(is_max && (X->dtype == SQZ_DT_U8 || X->dtype == SQZ_DT_I8))) {
        sqz_status st = sqz_nn_check_float(op, "input", X, c->err);
        if (st) return st;
    }
    memset(p, 0, sizeof *p);
    if (X->ndim < 0) {
        *yndim = -1;
        return SQZ_OK;
    }
    if (X->ndim < 3)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; %s needs rank >= 3", X->ndim, op);
    const int nsp = X->ndim - 2;
    sqz_nn_window w;
    sqz_status st = sqz_nn_window_read(c->node, nsp, NULL, &w, c->err);
    if (st) return st;
    p->nsp = nsp;
    p->nc = X->dims[0] >= 0 && X->dims[1] >= 0 ? X->dims[0] * X->dims[1] : -1;
    ydims[0] = X->dims[0];
    ydims[1] = X->dims[1];
    for (int d = 0; d < nsp; d++) {
        p->in[d] = X->dims[2 + d];
        if ((st = sqz_nn_window_out(&w, d, p->in[d], &p->out[d], c->err))) return st;
        p->kernel[d] = w.kernel[d];
        p->stride[d] = w.stride[d];
        p->dilation[d] = w.dilation[d];
        p->pad_begin[d] = w.pad_begin[d];
        p->pad_end[d] = w.pad_end[d];
        ydims[2 + d] = p->out[d];
    }
    *yndim = X->ndim;
    return SQZ_OK;
}

static sqz_status maxpool_infer(sqz_opctx *c) {
    sqz_pool_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = pool_geometry(c, "MaxPool", &p, &yndim, ydims);
    if (st) return st;
    const int64_t so = sqz_node_attr_int(c->node, "storage_order", 0);
    if (so != 0 && so != 1)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "storage_order must be 0 or 1, not %lld", (long long)so);
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, yndim, ydims);
    if (sqz_nn_out(c, 1)) sqz_op_set_shape(c->out[1], SQZ_DT_I64, yndim, ydims);
    return SQZ_OK;
}

static sqz_status maxpool_forward(sqz_opctx *c) {
    sqz_pool_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = pool_geometry(c, "MaxPool", &p, &yndim, ydims);
    if (st) return st;
    const sqz_tensor *X = c->in[0];
    const sqz_tensor *I = sqz_nn_out(c, 1);
    int64_t *idx = I ? I->data : NULL;
    const int so = sqz_node_attr_int(c->node, "storage_order", 0) != 0;
    void *y = c->out[0]->data;
    switch (X->dtype) {
    case SQZ_DT_F32:
        if (idx) sqz_maxpool_f32_ref(&p, X->data, y, idx, so);
        else sqz_maxpool_f32(sqz_cpu_isa(), c->threads, &p, X->data, y);
        break;
    case SQZ_DT_F64: sqz_maxpool_f64_ref(&p, X->data, y, idx, so); break;
    case SQZ_DT_U8:
        if (idx) sqz_maxpool_u8_ref(&p, X->data, y, idx, so);
        else sqz_maxpool_q8(sqz_q8path_for(sqz_cpu_isa()), c->threads, &p, 0, X->data, y);
        break;
    default:
        if (idx) sqz_maxpool_i8_ref(&p, X->data, y, idx, so);
        else sqz_maxpool_q8(sqz_q8path_for(sqz_cpu_isa()), c->threads, &p, 1, X->data, y);
        break;
    }
    return SQZ_OK;
}

static sqz_status avgpool_infer(sqz_opctx *c) {
    sqz_pool_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = pool_geometry(c, "AveragePool", &p, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, yndim, ydims);
    return SQZ_OK;
}

static sqz_status avgpool_forward(sqz_opctx *c) {
    sqz_pool_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = pool_geometry(c, "AveragePool", &p, &yndim, ydims);
    if (st) return st;
    const int cip = sqz_node_attr_int(c->node, "count_include_pad", 0) != 0;
    if (c->in[0]->dtype == SQZ_DT_F32) sqz_avgpool_f32(sqz_cpu_isa(), c->threads, &p, cip, c->in[0]->data, c->out[0]->data);
    else sqz_avgpool_f64_ref(&p, cip, c->in[0]->data, c->out[0]->data);
    return SQZ_OK;
}

/* Global pools: (N, C, D...) -> (N, C, 1...) */
static sqz_status global_infer_named(sqz_opctx *c, const char *op) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_nn_check_float(op, "input", X, c->err);
    if (st) return st;
    if (X->ndim < 0) {
        sqz_op_set_shape(c->out[0], X->dtype, -1, NULL);
        return SQZ_OK;
    }
    if (X->ndim < 3) return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; %s needs rank >= 3", X->ndim, op);
    int64_t dims[SQZ_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++) dims[i] = i < 2 ? X->dims[i] : 1;
    sqz_op_set_shape(c->out[0], X->dtype, X->ndim, dims);
    return SQZ_OK;
}

static sqz_status gavg_infer(sqz_opctx *c) { return global_infer_named(c, "GlobalAveragePool"); }
static sqz_status gmax_infer(sqz_opctx *c) { return global_infer_named(c, "GlobalMaxPool"); }

static sqz_status global_forward(sqz_opctx *c, int is_max) {
    const sqz_tensor *X = c->in[0];
    const int64_t nc = X->dims[0] * X->dims[1];
    int64_t sp = 1;
    for (int i = 2; i < X->ndim; i++) sp *= X->dims[i];
    if (X->dtype == SQZ_DT_F32) {
        if (is_max) sqz_global_maxpool_f32(sqz_cpu_isa(), c->threads, nc, sp, X->data, c->out[0]->data);
        else sqz_global_avgpool_f32(sqz_cpu_isa(), c->threads, nc, sp, X->data, c->out[0]->data);
    } else {
        if (is_max) sqz_global_maxpool_f64_ref(nc, sp, X->data, c->out[0]->data);
        else sqz_global_avgpool_f64_ref(nc, sp, X->data, c->out[0]->data);
    }
    return SQZ_OK;
}

static sqz_status gavg_forward(sqz_opctx *c) { return global_forward(c, 0); }
static sqz_status gmax_forward(sqz_opctx *c) { return global_forward(c, 1); }

const sqz_op sqz_op_maxpool = {
    .name = "MaxPool", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 2,
    .infer = maxpool_infer, .forward = maxpool_forward,
};
const sqz_op sqz_op_averagepool = {
    .name = "AveragePool", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = avgpool_infer, .forward = avgpool_forward,
};
const sqz_op sqz_op_global_averagepool = {
    .name = "GlobalAveragePool", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = gavg_infer, .forward = gavg_forward,
};
const sqz_op sqz_op_global_maxpool = {
    .name = "GlobalMaxPool", .n_in_min = 1, .n_in_max = 1, .n_out_min = 1, .n_out_max = 1,
    .infer = gmax_infer, .forward = gmax_forward,
};
