/* ops/nn_util.c - helpers shared by the nn operators: dtype checks, sliding-window geometry. */
#include <stdlib.h>
#include <string.h>

#include "ops/nn_util.h"

sqz_status sqz_nn_check_float(const char *op, const char *what, const sqz_tensor *t, sqz_err *err) {
    if (t->dtype == SQZ_DT_F32 || t->dtype == SQZ_DT_F64) return SQZ_OK;
    return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: %s dtype %s is not supported", op, what,
                       sqz_dtype_name(t->dtype));
}

sqz_status sqz_nn_check_same_dtype(const char *what, const sqz_tensor *t, sqz_dtype dt, sqz_err *err) {
    if (t->dtype == dt) return SQZ_OK;
    return sqz_err_set(err, SQZ_ERR_DATA, "%s dtype %s does not match input dtype %s", what,
                       sqz_dtype_name(t->dtype), sqz_dtype_name(dt));
}

/* Reads an INTS attribute of exactly n values into v (default def when absent). */
static sqz_status read_ints(const sqz_node *node, const char *name, int n, int64_t def, int64_t min,
                            int64_t *v, sqz_err *err) {
    const int64_t *vals;
    int64_t cnt = sqz_node_attr_ints(node, name, &vals);
    if (cnt < 0) {
        if (sqz_node_attr(node, name))
            return sqz_err_set(err, SQZ_ERR_DATA, "attribute %s must be a list of ints", name);
        for (int i = 0; i < n; i++) v[i] = def;
        return SQZ_OK;
    }
    if (cnt != n)
        return sqz_err_set(err, SQZ_ERR_DATA, "attribute %s has %lld values, expected %d", name, (long long)cnt,
                           n);
    for (int i = 0; i < n; i++) {
        if (vals[i] < min)
            return sqz_err_set(err, SQZ_ERR_DATA, "attribute %s[%d] = %lld is below %lld", name, i,
                               (long long)vals[i], (long long)min);
        v[i] = vals[i];
    }
    return SQZ_OK;
}

sqz_status sqz_nn_window_read(const sqz_node *n, int nsp, const int64_t *kernel, sqz_nn_window *w,
                              sqz_err *err) {
    memset(w, 0, sizeof *w);
    if (nsp < 1 || nsp > SQZ_MAX_DIMS - 2)
        return sqz_err_set(err, SQZ_ERR_DATA, "%d spatial dimensions (expected 1 to %d)", nsp, SQZ_MAX_DIMS - 2);
    w->nsp = nsp;
    const char *ap = sqz_node_attr_str(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET") || !ap[0]) w->auto_pad = SQZ_NN_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER")) w->auto_pad = SQZ_NN_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER")) w->auto_pad = SQZ_NN_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) w->auto_pad = SQZ_NN_VALID;
    else return sqz_err_set(err, SQZ_ERR_DATA, "unknown auto_pad '%s'", ap);
    int64_t ceil_mode = sqz_node_attr_int(n, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1)
        return sqz_err_set(err, SQZ_ERR_DATA, "ceil_mode must be 0 or 1, not %lld", (long long)ceil_mode);
    w->ceil_mode = (int)ceil_mode;

    sqz_status st;
    if (kernel) {
        for (int i = 0; i < nsp; i++) w->kernel[i] = kernel[i];
        int64_t ks[SQZ_MAX_DIMS];
        if (sqz_node_attr(n, "kernel_shape")) {
            if ((st = read_ints(n, "kernel_shape", nsp, 1, 1, ks, err))) return st;
            for (int i = 0; i < nsp; i++) {
                if (w->kernel[i] >= 0 && w->kernel[i] != ks[i])
                    return sqz_err_set(err, SQZ_ERR_DATA, "kernel_shape[%d] = %lld but the weights have %lld", i,
                                       (long long)ks[i], (long long)w->kernel[i]);
                w->kernel[i] = ks[i];
            }
        }
    } else {
        if (!sqz_node_attr(n, "kernel_shape"))
            return sqz_err_set(err, SQZ_ERR_DATA, "attribute kernel_shape is required");
        if ((st = read_ints(n, "kernel_shape", nsp, 1, 1, w->kernel, err))) return st;
    }
    if ((st = read_ints(n, "strides", nsp, 1, 1, w->stride, err))) return st;
    if ((st = read_ints(n, "dilations", nsp, 1, 1, w->dilation, err))) return st;
    int64_t pads[2 * SQZ_MAX_DIMS];
    if ((st = read_ints(n, "pads", 2 * nsp, 0, 0, pads, err))) return st;
    for (int i = 0; i < nsp; i++) {
        w->pad_begin[i] = w->auto_pad == SQZ_NN_NOTSET ? pads[i] : 0;
        w->pad_end[i] = w->auto_pad == SQZ_NN_NOTSET ? pads[nsp + i] : 0;
    }
    return SQZ_OK;
}

sqz_status sqz_nn_window_out(sqz_nn_window *w, int d, int64_t in, int64_t *out, sqz_err *err) {
    const int64_t k = w->kernel[d], s = w->stride[d], dil = w->dilation[d];
    if (in < 0 || k < 0) {
        *out = -1;
        return SQZ_OK;
    }
    if (k > (INT64_MAX / 4) / dil || in > INT64_MAX / 4 || w->pad_begin[d] > INT64_MAX / 4 ||
        w->pad_end[d] > INT64_MAX / 4)
        return sqz_err_set(err, SQZ_ERR_DATA, "window too large in spatial dimension %d", d);
    const int64_t span = (k - 1) * dil + 1;
    int64_t o;
    if (w->auto_pad == SQZ_NN_SAME_UPPER || w->auto_pad == SQZ_NN_SAME_LOWER) {
        o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + span - in;
        if (total < 0) total = 0;
        const int64_t small = total / 2, big = total - small;
        w->pad_begin[d] = w->auto_pad == SQZ_NN_SAME_UPPER ? small : big;
        w->pad_end[d] = w->auto_pad == SQZ_NN_SAME_UPPER ? big : small;
    } else {
        if (w->auto_pad == SQZ_NN_VALID) w->pad_begin[d] = w->pad_end[d] = 0;
        const int64_t padded = in + w->pad_begin[d] + w->pad_end[d];
        if (padded < span)
            return sqz_err_set(err, SQZ_ERR_DATA,
                               "spatial dimension %d: window of %lld (kernel %lld, dilation %lld) exceeds padded "
                               "input %lld",
                               d, (long long)span, (long long)k, (long long)dil, (long long)padded);
        o = (padded - span) / s + 1;
        if (w->ceil_mode && (padded - span) % s) {
            o++;
            /* a last window that would start inside the end padding is dropped (as PyTorch) */
            if ((o - 1) * s >= in + w->pad_begin[d]) o--;
        }
    }
    *out = o;
    return SQZ_OK;
}

void *sqz_nn_scratch_get(sqz_opctx *c, size_t bytes, void **owned) {
    *owned = NULL;
    if (bytes == 0) return NULL;
    if (c->scratch) return c->scratch;
    if (bytes == SIZE_MAX) {
        sqz_err_set(c->err, SQZ_ERR_NOMEM, "scratch size overflows");
        return NULL;
    }
    /* kernels take 64-byte aligned scratch (aligned vector loads of what they pack there) */
    *owned = bytes <= SIZE_MAX - 63 ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    if (!*owned) sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", bytes);
    return *owned;
}

void sqz_nn_scratch_release(void *owned) { free(owned); }

void sqz_nn_post_act(const sqz_opctx *c, sqz_tensor *y) {
    if (!c->act) return;
    int64_t n = sqz_tensor_numel(y);
    if (y->dtype == SQZ_DT_F32) {
        float *v = y->data;
        const float lo = c->act_lo, hi = c->act_hi;
        for (int64_t i = 0; i < n; i++) v[i] = v[i] < lo ? lo : (v[i] > hi ? hi : v[i]);
    } else if (y->dtype == SQZ_DT_F64) {
        double *v = y->data;
        const double lo = c->act_lo, hi = c->act_hi;
        for (int64_t i = 0; i < n; i++) v[i] = v[i] < lo ? lo : (v[i] > hi ? hi : v[i]);
    }
}
