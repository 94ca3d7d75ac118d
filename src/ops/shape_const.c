/* ops/shape_const.c - ops that make tensors from attributes or shapes:
 * Constant, ConstantOfShape, Shape, Size, Range, EyeLike. */
#include <math.h>
#include <string.h>

#include "ops/shape_util.h"

/* ---- Constant ---- */

static sqz_status constant_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 0, 1);
    if (need_st) return need_st;
    const sqz_node *n = c->node;
    sqz_tensor *y = c->out[0];
    const sqz_attr *a;
    if ((a = sqz_node_attr(n, "value")) && a->type == SQZ_ATTR_TENSOR) {
        const sqz_tensor *t = a->t;
        size_t esz, nb;
        if (!t) return sqz_err_set(c->err, SQZ_ERR_DATA, "Constant: 'value' holds no tensor");
        sqz_status st = sqz_shp_elem_size("Constant", t, &esz, c->err);
        if (st) return st;
        if (t->ndim < 0 || t->ndim > SQZ_MAX_DIMS || sqz_tensor_numel(t) < 0)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Constant: 'value' has an unknown shape");
        st = sqz_dtype_nbytes(t->dtype, sqz_tensor_numel(t), &nb, c->err);
        if (st) return st;
        if (nb && (!t->data || t->nbytes < nb))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Constant: 'value' holds %zu bytes, its shape needs %zu",
                               t->data ? t->nbytes : (size_t)0, nb);
        sqz_op_set_shape(y, t->dtype, t->ndim, t->dims);
        return SQZ_OK;
    }
    if ((a = sqz_node_attr(n, "value_float")) && a->type == SQZ_ATTR_FLOAT) {
        sqz_op_set_shape(y, SQZ_DT_F32, 0, NULL);
        return SQZ_OK;
    }
    if ((a = sqz_node_attr(n, "value_int")) && a->type == SQZ_ATTR_INT) {
        sqz_op_set_shape(y, SQZ_DT_I64, 0, NULL);
        return SQZ_OK;
    }
    if ((a = sqz_node_attr(n, "value_floats")) && a->type == SQZ_ATTR_FLOATS) {
        sqz_op_set_shape(y, SQZ_DT_F32, 1, &a->n);
        return SQZ_OK;
    }
    if ((a = sqz_node_attr(n, "value_ints")) && a->type == SQZ_ATTR_INTS) {
        sqz_op_set_shape(y, SQZ_DT_I64, 1, &a->n);
        return SQZ_OK;
    }
    if (sqz_node_attr(n, "value_string") || sqz_node_attr(n, "value_strings") || sqz_node_attr(n, "sparse_value"))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "Constant: string and sparse values are not supported");
    return sqz_err_set(c->err, SQZ_ERR_DATA, "Constant: no value attribute");
}

static sqz_status constant_forward(sqz_opctx *c) {
    const sqz_node *n = c->node;
    sqz_tensor *y = c->out[0];
    sqz_status st = sqz_shp_check_out("Constant", y, c->err);
    if (st) return st;
    size_t need = (size_t)sqz_tensor_numel(y) * sqz_dtype_size(y->dtype);
    const sqz_attr *a;
    const void *src = NULL;
    if ((a = sqz_node_attr(n, "value")) && a->type == SQZ_ATTR_TENSOR && a->t) {
        if (a->t->dtype != y->dtype || sqz_tensor_numel(a->t) != sqz_tensor_numel(y) || (need && a->t->nbytes < need))
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Constant: output does not match 'value'");
        src = a->t->data;
    } else if ((a = sqz_node_attr(n, "value_float")) && a->type == SQZ_ATTR_FLOAT) {
        src = &a->f;
    } else if ((a = sqz_node_attr(n, "value_int")) && a->type == SQZ_ATTR_INT) {
        src = &a->i;
    } else if ((a = sqz_node_attr(n, "value_floats")) && a->type == SQZ_ATTR_FLOATS) {
        src = a->floats;
    } else if ((a = sqz_node_attr(n, "value_ints")) && a->type == SQZ_ATTR_INTS) {
        src = a->ints;
    } else {
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Constant: no value attribute");
    }
    if (need) memcpy(y->data, src, need);
    return SQZ_OK;
}

const sqz_op sqz_op_constant = {"Constant", 0, 0, 1, 1, 0, constant_infer, constant_forward, NULL, NULL};

/* ---- ConstantOfShape ---- */

/* The fill value tensor (one element), or NULL for the default f32 0. */
static sqz_status cos_value(const sqz_opctx *c, const sqz_tensor **v) {
    const sqz_attr *a = sqz_node_attr(c->node, "value");
    *v = NULL;
    if (!a) return SQZ_OK;
    if (a->type != SQZ_ATTR_TENSOR || !a->t || sqz_tensor_numel(a->t) != 1 || !a->t->data)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "ConstantOfShape: 'value' must be a one-element tensor");
    size_t esz;
    sqz_status st = sqz_shp_elem_size("ConstantOfShape", a->t, &esz, c->err);
    if (st) return st;
    if (a->t->nbytes < esz) return sqz_err_set(c->err, SQZ_ERR_DATA, "ConstantOfShape: 'value' holds no data");
    *v = a->t;
    return SQZ_OK;
}

static sqz_status cos_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *s = c->in[0], *y = c->out[0];
    const sqz_tensor *v;
    sqz_status st = cos_value(c, &v);
    if (st) return st;
    sqz_dtype dt = v ? v->dtype : SQZ_DT_F32;
    if (!sqz_shp_known(s)) {
        int r = (s->ndim == 1 && s->dims[0] >= 0 && s->dims[0] <= SQZ_MAX_DIMS) ? (int)s->dims[0] : -1;
        sqz_shp_set_unknown(y, dt, r);
        return SQZ_OK;
    }
    int64_t d[SQZ_MAX_DIMS];
    int n;
    st = sqz_shp_read_ints("ConstantOfShape", "shape", s, d, SQZ_MAX_DIMS, &n, c->err);
    if (st) return st;
    if (s->ndim != 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "ConstantOfShape: shape must be 1-D");
    int64_t numel;
    st = sqz_shape_numel(d, n, &numel, c->err);
    if (st) {
        sqz_err_prefix(c->err, "ConstantOfShape");
        return st;
    }
    sqz_op_set_shape(y, dt, n, d);
    return SQZ_OK;
}

static sqz_status cos_forward(sqz_opctx *c) {
    sqz_tensor *y = c->out[0];
    const sqz_tensor *v;
    sqz_status st = cos_value(c, &v);
    if (!st) st = sqz_shp_check_out("ConstantOfShape", y, c->err);
    if (st) return st;
    int64_t n = sqz_tensor_numel(y);
    size_t esz = sqz_dtype_size(y->dtype);
    if (!v) {
        if (n) memset(y->data, 0, (size_t)n * esz);
        return SQZ_OK;
    }
    if (v->dtype != y->dtype) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "ConstantOfShape: dtype changed");
    for (int64_t i = 0; i < n; i++) memcpy((char *)y->data + (size_t)i * esz, v->data, esz);
    return SQZ_OK;
}

const sqz_op sqz_op_constant_of_shape = {"ConstantOfShape", 1, 1, 1, 1, 1u, cos_infer, cos_forward, NULL, NULL};

/* ---- Shape / Size ---- */

static void shape_range(const sqz_opctx *c, int r, int *s, int *e) {
    int64_t a = c->opset >= 15 ? sqz_node_attr_int(c->node, "start", 0) : 0;
    int64_t b = c->opset >= 15 ? sqz_node_attr_int(c->node, "end", r) : r;
    if (a < 0) a += r;
    if (b < 0) b += r;
    a = a < 0 ? 0 : (a > r ? r : a);
    b = b < 0 ? 0 : (b > r ? r : b);
    *s = (int)a;
    *e = (int)(b > a ? b : a);
}

static sqz_status shape_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    int64_t d = -1;
    if (x->ndim >= 0) {
        int s, e;
        shape_range(c, x->ndim, &s, &e);
        d = e - s;
    }
    sqz_op_set_shape(c->out[0], SQZ_DT_I64, 1, &d);
    return SQZ_OK;
}

static sqz_status shape_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    sqz_status st = sqz_shp_check_out("Shape", y, c->err);
    if (st) return st;
    int s, e;
    if (x->ndim < 0) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Shape: input rank unknown at run time");
    shape_range(c, x->ndim, &s, &e);
    if (y->dtype != SQZ_DT_I64 || y->dims[0] != e - s)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Shape: output shape changed after inference");
    for (int i = s; i < e; i++) {
        if (x->dims[i] < 0) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Shape: input dimension %d unknown", i);
        ((int64_t *)y->data)[i - s] = x->dims[i];
    }
    return SQZ_OK;
}

const sqz_op sqz_op_shape = {"Shape", 1, 1, 1, 1, 0, shape_infer, shape_forward, NULL, NULL};

static sqz_status size_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_op_set_shape(c->out[0], SQZ_DT_I64, 0, NULL);
    return SQZ_OK;
}

static sqz_status size_forward(sqz_opctx *c) {
    sqz_tensor *y = c->out[0];
    int64_t n = sqz_tensor_numel(c->in[0]);
    sqz_status st = sqz_shp_check_out("Size", y, c->err);
    if (st) return st;
    if (n < 0 || y->dtype != SQZ_DT_I64)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Size: input shape unknown at run time");
    memcpy(y->data, &n, sizeof n);
    return SQZ_OK;
}

const sqz_op sqz_op_size = {"Size", 1, 1, 1, 1, 0, size_infer, size_forward, NULL, NULL};

/* ---- Range ---- */

static int range_dtype_ok(sqz_dtype dt) {
    return dt == SQZ_DT_F32 || dt == SQZ_DT_F64 || dt == SQZ_DT_I16 || dt == SQZ_DT_I32 || dt == SQZ_DT_I64;
}

/* Element count of Range; *n = -1 when the inputs are not known yet. */
static sqz_status range_count(const sqz_opctx *c, int64_t *n) {
    *n = -1;
    for (int i = 0; i < 3; i++) {
        sqz_tensor *t = c->in[i];
        if (t->dtype != c->in[0]->dtype || !range_dtype_ok(t->dtype))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Range: inputs must share one of f32, f64, i16, i32, i64 (input %d is %s)",
                               i, sqz_dtype_name(t->dtype));
        if (t->ndim > 1 || (t->ndim >= 0 && sqz_tensor_numel(t) >= 0 && sqz_tensor_numel(t) != 1))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Range: input %d must be a scalar", i);
    }
    for (int i = 0; i < 3; i++)
        if (!sqz_shp_known(c->in[i]) || c->in[i]->nbytes < sqz_dtype_size(c->in[i]->dtype)) return SQZ_OK;
    sqz_dtype dt = c->in[0]->dtype;
    if (dt == SQZ_DT_F32 || dt == SQZ_DT_F64) {
        double a = sqz_tensor_get_f64(c->in[0], 0), b = sqz_tensor_get_f64(c->in[1], 0);
        double d = sqz_tensor_get_f64(c->in[2], 0);
        if (d == 0 || !isfinite(a) || !isfinite(b) || !isfinite(d))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Range: delta must be nonzero and all inputs finite");
        double k = ceil((b - a) / d);
        if (k > 9.0e15) return sqz_err_set(c->err, SQZ_ERR_DATA, "Range: %g elements is too many", k);
        *n = k > 0 ? (int64_t)k : 0;
        return SQZ_OK;
    }
    int64_t a = sqz_tensor_get_i64(c->in[0], 0), b = sqz_tensor_get_i64(c->in[1], 0);
    int64_t d = sqz_tensor_get_i64(c->in[2], 0);
    if (d == 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Range: delta must be nonzero");
    /* values fit in i32 or smaller except for i64; do the span in 128-bit-safe steps */
    if ((d > 0 && b <= a) || (d < 0 && b >= a)) {
        *n = 0;
        return SQZ_OK;
    }
    uint64_t span = d > 0 ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
    uint64_t step = d > 0 ? (uint64_t)d : (uint64_t)0 - (uint64_t)d;
    *n = (int64_t)((span - 1) / step + 1);
    return SQZ_OK;
}

static sqz_status range_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 3, 1);
    if (need_st) return need_st;
    int64_t n;
    sqz_status st = range_count(c, &n);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, 1, &n);
    return SQZ_OK;
}

static sqz_status range_forward(sqz_opctx *c) {
    sqz_tensor *y = c->out[0];
    int64_t n;
    sqz_status st = range_count(c, &n);
    if (!st) st = sqz_shp_check_out("Range", y, c->err);
    if (st) return st;
    if (n < 0 || y->dims[0] != n || y->dtype != c->in[0]->dtype)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Range: output shape changed after inference");
    switch (y->dtype) {
    case SQZ_DT_F32: {
        float a = (float)sqz_tensor_get_f64(c->in[0], 0), d = (float)sqz_tensor_get_f64(c->in[2], 0);
        for (int64_t i = 0; i < n; i++) ((float *)y->data)[i] = a + (float)i * d;
        break;
    }
    case SQZ_DT_F64: {
        double a = sqz_tensor_get_f64(c->in[0], 0), d = sqz_tensor_get_f64(c->in[2], 0);
        for (int64_t i = 0; i < n; i++) ((double *)y->data)[i] = a + (double)i * d;
        break;
    }
    default: {
        uint64_t a = (uint64_t)sqz_tensor_get_i64(c->in[0], 0), d = (uint64_t)sqz_tensor_get_i64(c->in[2], 0);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = (int64_t)(a + (uint64_t)i * d);
            if (y->dtype == SQZ_DT_I64) ((int64_t *)y->data)[i] = v;
            else if (y->dtype == SQZ_DT_I32) ((int32_t *)y->data)[i] = (int32_t)v;
            else ((int16_t *)y->data)[i] = (int16_t)v;
        }
        break;
    }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_range = {"Range", 3, 3, 1, 1, 0x7u, range_infer, range_forward, NULL, NULL};

/* ---- EyeLike ---- */

static sqz_status eyelike_dtype(const sqz_opctx *c, sqz_dtype *dt) {
    int64_t v = sqz_node_attr_int(c->node, "dtype", (int64_t)c->in[0]->dtype);
    if (!sqz_dtype_is_valid((int)v) || v != (int)v || !sqz_dtype_size((sqz_dtype)v) || v == SQZ_DT_STRING)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "EyeLike: dtype %lld is not supported", (long long)v);
    *dt = (sqz_dtype)v;
    return SQZ_OK;
}

static sqz_status eyelike_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    sqz_dtype dt = SQZ_DT_UNDEF;
    sqz_status st = eyelike_dtype(c, &dt);
    if (st) return st;
    if (x->ndim >= 0 && x->ndim != 2)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "EyeLike: input must be 2-D (rank %d)", x->ndim);
    if (x->ndim < 0) sqz_shp_set_unknown(c->out[0], dt, 2);
    else sqz_op_set_shape(c->out[0], dt, 2, x->dims);
    return SQZ_OK;
}

static sqz_status eyelike_forward(sqz_opctx *c) {
    sqz_tensor *y = c->out[0];
    sqz_status st = sqz_shp_check_out("EyeLike", y, c->err);
    if (st) return st;
    int64_t rows = y->dims[0], cols = y->dims[1], k = sqz_node_attr_int(c->node, "k", 0);
    size_t esz = sqz_dtype_size(y->dtype);
    if (rows > 0 && cols > 0) memset(y->data, 0, (size_t)(rows * cols) * esz);
    for (int64_t i = 0; i < rows; i++) {
        if (k > cols || k < -rows) break;
        int64_t j = i + k;
        if (j >= 0 && j < cols) sqz_shp_store_f64(y->dtype, (char *)y->data + (size_t)(i * cols + j) * esz, 1.0);
    }
    return SQZ_OK;
}

const sqz_op sqz_op_eyelike = {"EyeLike", 1, 1, 1, 1, 0, eyelike_infer, eyelike_forward, NULL, NULL};
