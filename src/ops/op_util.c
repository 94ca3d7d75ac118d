/* ops/op_util.c - helpers shared by operator implementations. */
#include <string.h>

#include "ops/op.h"

void sqz_op_set_shape(sqz_tensor *t, sqz_dtype dt, int ndim, const int64_t *dims) {
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < SQZ_MAX_DIMS; i++) t->dims[i] = (i < ndim && dims) ? dims[i] : 0;
}

sqz_status sqz_broadcast_shape(const sqz_tensor *a, const sqz_tensor *b, int *ndim,
                               int64_t *dims, sqz_err *err) {
    if (a->ndim < 0 || b->ndim < 0) {
        *ndim = -1;
        return SQZ_OK;
    }
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db) d = da;
        else if (da == 1) d = db;
        else if (db == 1) d = da;
        else if (da < 0) d = db;      /* unknown vs known: the known value (or error at run time) */
        else if (db < 0) d = da;
        else
            return sqz_err_set(err, SQZ_ERR_DATA, "shapes cannot broadcast: dimension %d is %lld vs %lld", i,
                               (long long)da, (long long)db);
        dims[i] = d;
    }
    *ndim = r;
    return SQZ_OK;
}

sqz_status sqz_norm_axis(int64_t axis, int r, int *out, sqz_err *err) {
    if (axis < -(int64_t)r || axis >= (int64_t)r)
        return sqz_err_set(err, SQZ_ERR_DATA, "axis %lld out of range for rank %d", (long long)axis, r);
    *out = (int)(axis < 0 ? axis + r : axis);
    return SQZ_OK;
}

int64_t sqz_tensor_get_i64(const sqz_tensor *t, int64_t i) {
    switch (t->dtype) {
    case SQZ_DT_I64: return ((const int64_t *)t->data)[i];
    case SQZ_DT_I32: return ((const int32_t *)t->data)[i];
    case SQZ_DT_I16: return ((const int16_t *)t->data)[i];
    case SQZ_DT_I8: return ((const int8_t *)t->data)[i];
    case SQZ_DT_U8: return ((const uint8_t *)t->data)[i];
    case SQZ_DT_U16: return ((const uint16_t *)t->data)[i];
    case SQZ_DT_U32: return ((const uint32_t *)t->data)[i];
    case SQZ_DT_U64: return (int64_t)((const uint64_t *)t->data)[i];
    case SQZ_DT_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    default: return (int64_t)sqz_tensor_get_f64(t, i);
    }
}
