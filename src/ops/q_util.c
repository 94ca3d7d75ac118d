/* ops/q_util.c - helpers shared by the quantized operators (see q_util.h). */
#include "ops/q_util.h"

#include <stdlib.h>

static sqz_status check_count(const sqz_tensor *t, const char *what, int64_t per_axis, int64_t *count,
                              sqz_err *err) {
    const int64_t n = sqz_tensor_numel(t);
    if (t->ndim < 0 || n < 0) {
        *count = -1;
        return SQZ_OK;
    }
    if (n == 1 && t->ndim <= 1) {
        *count = 1;
        return SQZ_OK;
    }
    if (per_axis >= 0 && t->ndim == 1 && (per_axis == SQZ_Q_ANY || n == per_axis)) {
        *count = n;
        return SQZ_OK;
    }
    if (per_axis < 0)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s must be a scalar here (it has %lld elements)", what,
                           (long long)n);
    return sqz_err_set(err, SQZ_ERR_DATA, "%s must be a scalar or a 1-D tensor of %lld elements, not %lld elements",
                       what, (long long)per_axis, (long long)n);
}

sqz_status sqz_q_check_scale(const sqz_tensor *s, const char *what, int64_t per_axis, int64_t *count,
                             sqz_err *err) {
    if (!s) return sqz_err_set(err, SQZ_ERR_DATA, "%s is missing", what);
    if (s->dtype != SQZ_DT_F32)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s has dtype %s; only f32 scales are supported", what,
                           sqz_dtype_name(s->dtype));
    return check_count(s, what, per_axis, count, err);
}

sqz_status sqz_q_check_zp(const sqz_tensor *z, const char *what, int64_t per_axis, sqz_dtype want_dt,
                          int allow_i32, int64_t *count, sqz_err *err) {
    *count = 1;
    if (!z) return SQZ_OK;
    const int ok = z->dtype == SQZ_DT_U8 || z->dtype == SQZ_DT_I8 || (allow_i32 && z->dtype == SQZ_DT_I32);
    if (!ok)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s has dtype %s; u8 or i8 expected", what,
                           sqz_dtype_name(z->dtype));
    if (want_dt != SQZ_DT_UNDEF && z->dtype != want_dt)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s has dtype %s but the data it describes is %s", what,
                           sqz_dtype_name(z->dtype), sqz_dtype_name(want_dt));
    return check_count(z, what, per_axis, count, err);
}

int32_t sqz_q_zp_at(const sqz_tensor *z, int64_t i) {
    if (!z || !z->data) return 0;
    if (sqz_tensor_numel(z) == 1) i = 0;
    switch (z->dtype) {
    case SQZ_DT_U8: return ((const uint8_t *)z->data)[i];
    case SQZ_DT_I8: return ((const int8_t *)z->data)[i];
    case SQZ_DT_I32: return ((const int32_t *)z->data)[i];
    default: return 0;
    }
}

int sqz_q_zp_fill(const sqz_tensor *z, int64_t n, int32_t *out) {
    int any = 0;
    if (z && z->data && sqz_tensor_numel(z) > 1) {
        for (int64_t i = 0; i < n; i++) {
            const int32_t v = z->dtype == SQZ_DT_U8   ? ((const uint8_t *)z->data)[i]
                              : z->dtype == SQZ_DT_I8 ? ((const int8_t *)z->data)[i]
                                                      : sqz_q_zp_at(z, i);
            any |= (out[i] = v) != 0;
        }
        return any;
    }
    const int32_t v = sqz_q_zp_at(z, 0);
    for (int64_t i = 0; i < n; i++) out[i] = v;
    return v != 0 && n > 0;
}

float sqz_q_scale_at(const sqz_tensor *s, int64_t i) {
    if (sqz_tensor_numel(s) == 1) i = 0;
    return ((const float *)s->data)[i];
}

void sqz_q_range(sqz_dtype dt, int32_t *lo, int32_t *hi) {
    if (dt == SQZ_DT_I8) {
        *lo = -128;
        *hi = 127;
    } else {
        *lo = 0;
        *hi = 255;
    }
}

sqz_status sqz_q_out_range(const sqz_node *n, sqz_dtype dt, int32_t *lo, int32_t *hi, sqz_err *err) {
    sqz_q_range(dt, lo, hi);
    const char *names[2] = {SQZ_Q_ATTR_Y_MIN, SQZ_Q_ATTR_Y_MAX};
    for (int i = 0; i < 2; i++) {
        const sqz_attr *a = sqz_node_attr(n, names[i]);
        if (!a) continue;
        if (a->type != SQZ_ATTR_INT)
            return sqz_err_set(err, SQZ_ERR_DATA, "attribute %s must be an int", names[i]);
        if (i == 0 && a->i > *lo) *lo = a->i > *hi ? *hi + 1 : (int32_t)a->i;
        if (i == 1 && a->i < *hi) *hi = a->i < *lo ? *lo - 1 : (int32_t)a->i;
    }
    if (*lo > *hi)
        return sqz_err_set(err, SQZ_ERR_DATA, "attributes %s / %s leave no output value", SQZ_Q_ATTR_Y_MIN,
                           SQZ_Q_ATTR_Y_MAX);
    return SQZ_OK;
}

sqz_qkind sqz_q_kind(void) { return sqz_qkind_for(sqz_cpu_isa()); }

void *sqz_q_scratch(sqz_opctx *c, size_t bytes, void **owned) {
    *owned = NULL;
    if (bytes == 0) return NULL;
    if (c->scratch && !((uintptr_t)c->scratch & 63)) return c->scratch;
    if (bytes > SIZE_MAX - 128) {
        sqz_err_set(c->err, SQZ_ERR_NOMEM, "scratch of %zu bytes", bytes);
        return NULL;
    }
    *owned = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!*owned) sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", bytes);
    return *owned;
}

void sqz_q_scratch_release(void *owned) { free(owned); }
