/* train/fake_quant.c - quantize-dequantize of parameters and the straight-through estimator's
 * clamp mask. q = round_half_even(w / scale) + zero_point, clamped to [-127, 127] (symmetric
 * int8) when the parameters have no zero points, else to [0, 255] (u8); the forward value is
 * (q - zero_point) * scale. Scale / zero point per tensor (axis -1 or count 1), per channel
 * along axis, or per group of group_size consecutive elements along the LAST axis. */
#include <math.h>

#include "train/fake_quant.h"

typedef struct fq_layout {
    int64_t numel, inner, dim, group;
} fq_layout;

static sqz_status layout(const sqz_tensor *t, fq_layout *L, sqz_err *err) {
    const sqz_qparams *q = t->quant;
    L->numel = sqz_tensor_numel(t);
    L->inner = 1;
    L->dim = 1;
    L->group = 0;
    if (!q->scale || q->count < 1) return sqz_err_set(err, SQZ_ERR_DATA, "parameter '%s': no quantization scale", t->name);
    if (q->axis < 0 || q->count == 1) {
        L->dim = 1;
        L->inner = L->numel;
        return SQZ_OK;
    }
    if (q->axis >= t->ndim)
        return sqz_err_set(err, SQZ_ERR_DATA, "parameter '%s': quantization axis %d outside rank %d", t->name, q->axis,
                           t->ndim);
    for (int i = q->axis + 1; i < t->ndim; i++) L->inner *= t->dims[i];
    L->dim = t->dims[q->axis];
    if (q->group_size > 0) {
        if (q->axis != t->ndim - 1)
            return sqz_err_set(err, SQZ_ERR_UNSUPPORTED,
                               "parameter '%s': group-wise fake quantization needs the last axis", t->name);
        if (q->count * q->group_size < L->numel)
            return sqz_err_set(err, SQZ_ERR_DATA, "parameter '%s': %lld groups of %d do not cover %lld elements",
                               t->name, (long long)q->count, q->group_size, (long long)L->numel);
        L->group = q->group_size;
        return SQZ_OK;
    }
    if (q->count != L->dim)
        return sqz_err_set(err, SQZ_ERR_DATA, "parameter '%s': %lld scales for %lld channels", t->name,
                           (long long)q->count, (long long)L->dim);
    return SQZ_OK;
}

sqz_status sqz_fq_check(const sqz_tensor *t, sqz_err *err) {
    fq_layout L;
    sqz_status st = layout(t, &L, err);
    if (st) return st;
    for (int64_t i = 0; i < t->quant->count; i++)
        if (!(t->quant->scale[i] > 0.0f) || !isfinite(t->quant->scale[i]))
            return sqz_err_set(err, SQZ_ERR_DATA, "parameter '%s': quantization scale %lld is %g", t->name,
                               (long long)i, t->quant->scale[i]);
    return SQZ_OK;
}

void sqz_fq_apply(const sqz_tensor *t, const float *w, float *out, float *ste) {
    const sqz_qparams *q = t->quant;
    fq_layout L;
    if (layout(t, &L, NULL)) return;
    const float qmin = q->zero_point ? 0.0f : -127.0f, qmax = q->zero_point ? 255.0f : 127.0f;
    for (int64_t i = 0; i < L.numel; i++) {
        const int64_t ch = L.group ? i / L.group : L.dim == 1 ? 0 : (i / L.inner) % L.dim;
        const float s = q->scale[ch], z = q->zero_point ? (float)q->zero_point[ch] : 0.0f;
        float v = nearbyintf(w[i] / s) + z;
        if (v < qmin || v > qmax) {
            v = v < qmin ? qmin : qmax;
            if (ste) ste[i] = 0.0f;
        }
        if (out) out[i] = (v - z) * s;
    }
}
