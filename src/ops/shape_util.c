/* ops/shape_util.c - helpers shared by the shape / data-movement operators. */
#include <string.h>

#include "ops/shape_util.h"

sqz_status sqz_shp_need(const sqz_opctx *c, int n_in, int need_out0) {
    const char *op = c->node && c->node->op_type ? c->node->op_type : "?";
    for (int i = 0; i < n_in; i++)
        if (i >= c->n_in || !c->in[i]) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: required input %d is missing", op, i);
    if (need_out0 && (c->n_out < 1 || !c->out[0]))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: output 0 is missing", op);
    return SQZ_OK;
}

int sqz_shp_known(const sqz_tensor *t) { return t && t->data && sqz_tensor_numel(t) >= 0; }

sqz_status sqz_shp_elem_size(const char *op, const sqz_tensor *t, size_t *esz, sqz_err *err) {
    size_t s = sqz_dtype_size(t->dtype);
    if (!s || t->dtype == SQZ_DT_STRING)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: dtype %s of tensor %s is not supported", op,
                           sqz_dtype_name(t->dtype), t->name ? t->name : "?");
    *esz = s;
    return SQZ_OK;
}

int sqz_shp_is_int(sqz_dtype dt) {
    switch (dt) {
    case SQZ_DT_I8: case SQZ_DT_U8: case SQZ_DT_I16: case SQZ_DT_U16:
    case SQZ_DT_I32: case SQZ_DT_U32: case SQZ_DT_I64: case SQZ_DT_U64: return 1;
    default: return 0;
    }
}

sqz_status sqz_shp_read_ints(const char *op, const char *what, const sqz_tensor *t, int64_t *vals,
                             int max, int *n, sqz_err *err) {
    if (!sqz_shp_is_int(t->dtype))
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s must be an integer tensor, not %s", op, what,
                           sqz_dtype_name(t->dtype));
    if (t->ndim > 1)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s must be a scalar or 1-D tensor (rank %d)", op, what,
                           t->ndim);
    int64_t cnt = sqz_tensor_numel(t);
    if (cnt < 0 || !t->data)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s has no known value", op, what);
    if (cnt > max)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s has %lld values, at most %d allowed", op, what,
                           (long long)cnt, max);
    if ((uint64_t)cnt * sqz_dtype_size(t->dtype) > t->nbytes)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s holds %zu bytes, fewer than its %lld values need", op,
                           what, t->nbytes, (long long)cnt);
    for (int64_t i = 0; i < cnt; i++) vals[i] = sqz_tensor_get_i64(t, i);
    *n = (int)cnt;
    return SQZ_OK;
}

void sqz_shp_set_unknown(sqz_tensor *t, sqz_dtype dt, int ndim) {
    int64_t dims[SQZ_MAX_DIMS];
    if (ndim > SQZ_MAX_DIMS) ndim = -1;
    for (int i = 0; i < SQZ_MAX_DIMS; i++) dims[i] = -1;
    sqz_op_set_shape(t, dt, ndim < 0 ? -1 : ndim, dims);
}

int64_t sqz_shp_prod(const int64_t *dims, int a, int b) {
    int64_t p = 1;
    for (int i = a; i < b; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] != 0 && p > INT64_MAX / dims[i]) return -1;
        p *= dims[i];
    }
    return p;
}

void sqz_shp_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* Copies n elements of size esz from src with element stride st to contiguous dst. */
static void copy_run(char *dst, const char *src, size_t esz, int64_t n, int64_t st) {
    if (st == 1) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    switch (esz) {
    case 1:
        for (int64_t i = 0; i < n; i++) dst[i] = src[i * st];
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) memcpy(dst + 2 * i, src + 2 * i * st, 2);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, src + 4 * i * st, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++) memcpy(dst + 8 * i, src + 8 * i * st, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + esz * (size_t)i, src + (int64_t)esz * i * st, esz);
        break;
    }
}

void sqz_shp_strided_copy(void *dst, const void *src, size_t esz, int ndim, const int64_t *dims,
                          const int64_t *strides, int64_t offset) {
    const char *s = (const char *)src;
    char *d = (char *)dst;
    if (ndim <= 0) {
        memcpy(d, s + offset * (int64_t)esz, esz);
        return;
    }
    for (int i = 0; i < ndim; i++)
        if (dims[i] == 0) return;
    int64_t inner = dims[ndim - 1], ist = strides[ndim - 1];
    int64_t idx[SQZ_SHP_MAX_ITER] = {0};
    int64_t base = offset;
    size_t run = (size_t)inner * esz;
    for (;;) {
        copy_run(d, s + base * (int64_t)esz, esz, inner, ist);
        d += run;
        int k = ndim - 2;
        while (k >= 0) {
            idx[k]++;
            base += strides[k];
            if (idx[k] < dims[k]) break;
            base -= strides[k] * dims[k];
            idx[k] = 0;
            k--;
        }
        if (k < 0) break;
    }
}

static sqz_status check_buf(const char *op, const char *role, const sqz_tensor *t, sqz_err *err) {
    int64_t n = sqz_tensor_numel(t);
    if (n < 0)
        return sqz_err_set(err, SQZ_ERR_INTERNAL, "%s: %s %s has an unknown shape at run time", op, role,
                           t->name ? t->name : "?");
    size_t nb;
    sqz_status st = sqz_dtype_nbytes(t->dtype, n, &nb, err);
    if (st) return st;
    if (nb && (!t->data || t->nbytes < nb))
        return sqz_err_set(err, SQZ_ERR_INTERNAL, "%s: %s %s holds %zu bytes, its shape needs %zu", op, role,
                           t->name ? t->name : "?", t->data ? t->nbytes : (size_t)0, nb);
    return SQZ_OK;
}

sqz_status sqz_shp_check_out(const char *op, const sqz_tensor *t, sqz_err *err) {
    return check_buf(op, "output", t, err);
}

sqz_status sqz_shp_check_in(const char *op, const sqz_tensor *t, sqz_err *err) {
    return check_buf(op, "input", t, err);
}

void sqz_shp_store_f64(sqz_dtype dt, void *p, double v) {
    sqz_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.dtype = dt;
    tmp.data = p;
    sqz_tensor_set_f64(&tmp, 0, v);
}

void sqz_shp_copy_bytes(void *dst, const void *src, size_t nbytes) {
    if (nbytes && dst != src) memmove(dst, src, nbytes);
}
