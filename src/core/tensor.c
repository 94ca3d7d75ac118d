#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqz/tensor.h"

int64_t sqz_tensor_numel(const sqz_tensor *t) {
    if (t->ndim < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0) return -1;
        if (t->dims[i] != 0 && n > INT64_MAX / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n;
}

sqz_status sqz_shape_numel(const int64_t *dims, int ndim, int64_t *out, sqz_err *err) {
    if (ndim < 0 || ndim > SQZ_MAX_DIMS)
        return sqz_err_set(err, SQZ_ERR_DATA, "rank %d outside 0..%d", ndim, SQZ_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return sqz_err_set(err, SQZ_ERR_DATA, "negative dimension %lld", (long long)dims[i]);
        if (dims[i] != 0 && n > INT64_MAX / dims[i])
            return sqz_err_set(err, SQZ_ERR_DATA, "element count overflows (dimension %d = %lld)", i,
                               (long long)dims[i]);
        n *= dims[i];
    }
    *out = n;
    return SQZ_OK;
}

void sqz_shape_str(const sqz_tensor *t, char *buf, size_t n) {
    if (!n) return;
    if (t->ndim < 0) {
        snprintf(buf, n, "?");
        return;
    }
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < t->ndim && k < n; i++) {
        const char *sep = i ? "," : "";
        if (t->dims[i] >= 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", sep, (long long)t->dims[i]);
        else if (t->dim_names[i])
            k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, t->dim_names[i]);
        else
            k += (size_t)snprintf(buf + k, n - k, "%s?", sep);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
}

sqz_status sqz_tensor_init_owned(sqz_tensor *t, const char *name, sqz_dtype dt, int ndim,
                                 const int64_t *dims, sqz_err *err) {
    memset(t, 0, sizeof *t);
    t->producer = -1;
    int64_t numel;
    sqz_status st = sqz_shape_numel(dims, ndim, &numel, err);
    if (st) return st;
    size_t nb;
    st = sqz_dtype_nbytes(dt, numel, &nb, err);
    if (st) return st;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->flags = SQZ_TF_OWNED;
    t->name = strdup(name ? name : "");
    t->data = calloc(1, nb ? nb : 1);
    if (!t->name || !t->data) {
        sqz_tensor_release(t);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for tensor %s", nb,
                           name ? name : "");
    }
    t->nbytes = nb;
    return SQZ_OK;
}

void sqz_tensor_release(sqz_tensor *t) {
    if (!t) return;
    if (t->flags & SQZ_TF_OWNED) {
        free(t->name);
        free(t->data);
        free(t->mask);
        for (int i = 0; i < SQZ_MAX_DIMS; i++) free(t->dim_names[i]);
        if (t->quant) {
            free(t->quant->scale);
            free(t->quant->zero_point);
            free(t->quant);
        }
        free(t->enc_data);
    }
    memset(t, 0, sizeof *t);
    t->producer = -1;
}

double sqz_tensor_get_f64(const sqz_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case SQZ_DT_F32: return ((const float *)p)[i];
    case SQZ_DT_F64: return ((const double *)p)[i];
    case SQZ_DT_F16: return sqz_f16_to_f32(((const uint16_t *)p)[i]);
    case SQZ_DT_BF16: return sqz_bf16_to_f32(((const uint16_t *)p)[i]);
    case SQZ_DT_U8: return ((const uint8_t *)p)[i];
    case SQZ_DT_BOOL: return ((const uint8_t *)p)[i] != 0;
    case SQZ_DT_I8: return ((const int8_t *)p)[i];
    case SQZ_DT_U16: return ((const uint16_t *)p)[i];
    case SQZ_DT_I16: return ((const int16_t *)p)[i];
    case SQZ_DT_I32: return ((const int32_t *)p)[i];
    case SQZ_DT_U32: return ((const uint32_t *)p)[i];
    case SQZ_DT_I64: return (double)((const int64_t *)p)[i];
    case SQZ_DT_U64: return (double)((const uint64_t *)p)[i];
    default: return 0.0;
    }
}

void sqz_tensor_set_f64(sqz_tensor *t, int64_t i, double v) {
    void *p = t->data;
    switch (t->dtype) {
    case SQZ_DT_F32: ((float *)p)[i] = (float)v; break;
    case SQZ_DT_F64: ((double *)p)[i] = v; break;
    case SQZ_DT_F16: ((uint16_t *)p)[i] = sqz_f32_to_f16((float)v); break;
    case SQZ_DT_BF16: ((uint16_t *)p)[i] = sqz_f32_to_bf16((float)v); break;
    case SQZ_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case SQZ_DT_BOOL: ((uint8_t *)p)[i] = v != 0.0; break;
    case SQZ_DT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case SQZ_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case SQZ_DT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case SQZ_DT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case SQZ_DT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case SQZ_DT_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case SQZ_DT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: break;
    }
}

sqz_status sqz_tensor_check_data(const sqz_tensor *t, const char *label, size_t *nbytes, sqz_err *err) {
    int64_t numel;
    sqz_status st;
    if ((st = sqz_shape_numel(t->dims, t->ndim, &numel, err)) || (st = sqz_dtype_nbytes(t->dtype, numel, nbytes, err))) {
        sqz_err_prefix(err, "%s", label);
        return st;
    }
    if (t->nbytes != *nbytes || (*nbytes && !t->data))
        return sqz_err_set(err, SQZ_ERR_ARG, "%s: tensor '%s' holds %zu bytes, its shape needs %zu", label,
                           t->name ? t->name : "", t->data ? t->nbytes : 0, *nbytes);
    return SQZ_OK;
}
