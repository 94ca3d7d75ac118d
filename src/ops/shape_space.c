/* ops/shape_space.c - DepthToSpace (DCR / CRD) and SpaceToDepth on NCHW tensors. */
#include <string.h>

#include "ops/shape_util.h"

static sqz_status space_check(sqz_opctx *c, int64_t *b) {
    const char *op = c->node->op_type;
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size(op, x, &esz, c->err);
    if (st) return st;
    *b = sqz_node_attr_int(c->node, "blocksize", 0);
    if (*b < 1 || *b > (1 << 20))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: 'blocksize' must be a positive integer (got %lld)", op, (long long)*b);
    if (x->ndim >= 0 && x->ndim != 4)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: input must be 4-D NCHW (rank %d)", op, x->ndim);
    return SQZ_OK;
}

static int d2s_crd(const sqz_opctx *c) { return !strcmp(sqz_node_attr_str(c->node, "mode", "DCR"), "CRD"); }

static sqz_status d2s_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    int64_t b;
    sqz_status st = space_check(c, &b);
    if (st) return st;
    const char *m = sqz_node_attr_str(c->node, "mode", "DCR");
    if (strcmp(m, "DCR") && strcmp(m, "CRD"))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "DepthToSpace: unknown mode '%s'", m);
    sqz_tensor *x = c->in[0];
    if (x->ndim < 0) {
        sqz_shp_set_unknown(c->out[0], x->dtype, 4);
        return SQZ_OK;
    }
    int64_t C = x->dims[1], d[4] = {x->dims[0], -1, -1, -1};
    if (C >= 0) {
        if (C % (b * b))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "DepthToSpace: %lld channels do not divide by blocksize^2 = %lld",
                               (long long)C, (long long)(b * b));
        d[1] = C / (b * b);
    }
    for (int i = 2; i < 4; i++) d[i] = x->dims[i] < 0 ? -1 : x->dims[i] * b;
    sqz_op_set_shape(c->out[0], x->dtype, 4, d);
    return SQZ_OK;
}

static sqz_status d2s_forward(sqz_opctx *c) {
    int64_t b;
    sqz_status st = space_check(c, &b);
    sqz_tensor *x = c->in[0], *y = c->out[0];
    if (!st) st = sqz_shp_check_in("DepthToSpace", x, c->err);
    if (!st) st = sqz_shp_check_out("DepthToSpace", y, c->err);
    if (st) return st;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], Co = C / (b * b);
    if (y->dims[0] != N || y->dims[1] != Co || y->dims[2] != H * b || y->dims[3] != W * b)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "DepthToSpace: output shape changed after inference");
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    int64_t HW = H * W;
    /* output viewed as [N, Co, H, b, W, b] */
    int64_t d[6] = {N, Co, H, b, W, b}, s[6];
    s[0] = C * HW;
    s[2] = W;
    s[4] = 1;
    if (d2s_crd(c)) { /* input channel = co*b*b + i*b + j */
        s[1] = b * b * HW;
        s[3] = b * HW;
        s[5] = HW;
    } else {          /* DCR: input channel = (i*b + j)*Co + co */
        s[1] = HW;
        s[3] = b * Co * HW;
        s[5] = Co * HW;
    }
    sqz_shp_strided_copy(y->data, x->data, sqz_dtype_size(x->dtype), 6, d, s, 0);
    return SQZ_OK;
}

const sqz_op sqz_op_depth_to_space = {"DepthToSpace", 1, 1, 1, 1, 0, d2s_infer, d2s_forward, NULL, NULL};

static sqz_status s2d_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    int64_t b;
    sqz_status st = space_check(c, &b);
    if (st) return st;
    sqz_tensor *x = c->in[0];
    if (x->ndim < 0) {
        sqz_shp_set_unknown(c->out[0], x->dtype, 4);
        return SQZ_OK;
    }
    int64_t d[4] = {x->dims[0], x->dims[1] < 0 ? -1 : x->dims[1] * b * b, -1, -1};
    for (int i = 2; i < 4; i++) {
        if (x->dims[i] < 0) continue;
        if (x->dims[i] % b)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "SpaceToDepth: dimension %d (%lld) does not divide by blocksize %lld",
                               i, (long long)x->dims[i], (long long)b);
        d[i] = x->dims[i] / b;
    }
    sqz_op_set_shape(c->out[0], x->dtype, 4, d);
    return SQZ_OK;
}

static sqz_status s2d_forward(sqz_opctx *c) {
    int64_t b;
    sqz_status st = space_check(c, &b);
    sqz_tensor *x = c->in[0], *y = c->out[0];
    if (!st) st = sqz_shp_check_in("SpaceToDepth", x, c->err);
    if (!st) st = sqz_shp_check_out("SpaceToDepth", y, c->err);
    if (st) return st;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (H % b || W % b || y->dims[0] != N || y->dims[1] != C * b * b || y->dims[2] != H / b || y->dims[3] != W / b)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "SpaceToDepth: output shape changed after inference");
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    /* output viewed as [N, b(i), b(j), C, H/b, W/b]; output channel = (i*b + j)*C + c */
    int64_t d[6] = {N, b, b, C, H / b, W / b};
    int64_t s[6] = {C * H * W, W, 1, H * W, b * W, b};
    sqz_shp_strided_copy(y->data, x->data, sqz_dtype_size(x->dtype), 6, d, s, 0);
    return SQZ_OK;
}

const sqz_op sqz_op_space_to_depth = {"SpaceToDepth", 1, 1, 1, 1, 0, s2d_infer, s2d_forward, NULL, NULL};
