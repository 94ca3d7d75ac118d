/* ops/shape_pad.c - Pad: constant / reflect / edge / wrap padding, negative pads crop.
 * Parameters are attributes before opset 11 ('pads' or 'paddings', 'value'), inputs
 * from 11 (pads, optional constant_value, optional axes of opset 18). */
#include <string.h>

#include "ops/shape_util.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_plan {
    int mode;
    int known;                    /* 0: pads not known yet */
    int64_t begin[SQZ_MAX_DIMS];
    int64_t end[SQZ_MAX_DIMS];
} pad_plan;

static sqz_status pad_plan_make(const sqz_opctx *c, const sqz_tensor *x, pad_plan *p) {
    const char *m = sqz_node_attr_str(c->node, "mode", "constant");
    if (!strcmp(m, "constant")) p->mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect")) p->mode = PAD_REFLECT;
    else if (!strcmp(m, "edge")) p->mode = PAD_EDGE;
    else if (!strcmp(m, "wrap")) p->mode = PAD_WRAP;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: unknown mode '%s'", m);
    int r = x->ndim;
    memset(p->begin, 0, sizeof p->begin);
    memset(p->end, 0, sizeof p->end);
    p->known = 1;
    int64_t pads[2 * SQZ_MAX_DIMS], axes[SQZ_MAX_DIMS];
    int np, na = -1;
    sqz_status st;
    if (c->opset < 11) {
        const int64_t *v;
        int64_t k = sqz_node_attr_ints(c->node, "pads", &v);
        if (k < 0) k = sqz_node_attr_ints(c->node, "paddings", &v);
        if (k < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: missing 'pads' attribute");
        if (k > 2 * SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: 'pads' has %lld values", (long long)k);
        np = (int)k;
        if (np) memcpy(pads, v, sizeof(int64_t) * (size_t)np);
    } else {
        sqz_tensor *t = sqz_shp_in(c, 1), *a = sqz_shp_in(c, 3);
        if (!t) return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: missing 'pads' input");
        if (!sqz_shp_known(t) || (a && !sqz_shp_known(a))) {
            p->known = 0;
            return SQZ_OK;
        }
        st = sqz_shp_read_ints("Pad", "pads", t, pads, 2 * SQZ_MAX_DIMS, &np, c->err);
        if (!st && a) st = sqz_shp_read_ints("Pad", "axes", a, axes, SQZ_MAX_DIMS, &na, c->err);
        if (st) return st;
    }
    if (na < 0) {
        na = r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    if (np != 2 * na)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: %d pads for %d axes (need %d)", np, na, 2 * na);
    uint8_t seen[SQZ_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        if (axes[i] < -r || axes[i] >= r)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: axis %lld out of range for rank %d", (long long)axes[i], r);
        int a = (int)(axes[i] < 0 ? axes[i] + r : axes[i]);
        if (seen[a]) return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: axis %lld repeated", (long long)axes[i]);
        seen[a] = 1;
        int64_t b = pads[i], e = pads[na + i];
        if (b < -INT64_MAX / 4 || b > INT64_MAX / 4 || e < -INT64_MAX / 4 || e > INT64_MAX / 4)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: pad value out of range on axis %d", a);
        p->begin[a] = b;
        p->end[a] = e;
        int64_t d = x->dims[a];
        if (d < 0) continue;
        if (d + b + e < 0)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: pads %lld,%lld leave a negative size on axis %d (dim %lld)",
                               (long long)b, (long long)e, a, (long long)d);
        if (p->mode != PAD_CONSTANT && (b > 0 || e > 0)) {
            int64_t kept = d + (b < 0 ? b : 0) + (e < 0 ? e : 0);
            if (kept <= 0)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: mode '%s' cannot pad axis %d of size %lld", m, a,
                                   (long long)d);
        }
    }
    return SQZ_OK;
}

static sqz_status pad_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Pad", x, &esz, c->err);
    if (st) return st;
    sqz_tensor *cv = c->opset >= 11 ? sqz_shp_in(c, 2) : NULL;
    if (cv && cv->dtype != x->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: constant_value is %s, data is %s", sqz_dtype_name(cv->dtype),
                           sqz_dtype_name(x->dtype));
    if (x->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, -1);
        return SQZ_OK;
    }
    pad_plan p;
    st = pad_plan_make(c, x, &p);
    if (st) return st;
    int64_t d[SQZ_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        d[i] = (!p.known || x->dims[i] < 0) ? -1 : x->dims[i] + p.begin[i] + p.end[i];
    sqz_op_set_shape(y, x->dtype, x->ndim, d);
    return SQZ_OK;
}

/* Input index for padded position i on an axis of length d (valid region [lo, hi)), or -1 for the constant. */
static int64_t pad_map(int mode, int64_t i, int64_t lo, int64_t hi) {
    if (i >= lo && i < hi) return i;
    int64_t n = hi - lo;
    if (mode == PAD_CONSTANT || n <= 0) return -1;
    int64_t j = i - lo;
    if (mode == PAD_EDGE) return j < 0 ? lo : hi - 1;
    if (mode == PAD_WRAP) return lo + ((j % n) + n) % n;
    if (n == 1) return lo; /* reflect */
    int64_t per = 2 * (n - 1), k = ((j % per) + per) % per;
    return lo + (k < n ? k : per - k);
}

static sqz_status pad_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Pad", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Pad", x, c->err);
    if (!st) st = sqz_shp_check_out("Pad", y, c->err);
    if (st) return st;
    pad_plan p;
    st = pad_plan_make(c, x, &p);
    if (st) return st;
    int r = x->ndim;
    if (!p.known || y->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Pad: pads unknown or output rank changed at run time");
    for (int i = 0; i < r; i++)
        if (y->dims[i] != x->dims[i] + p.begin[i] + p.end[i])
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Pad: output dimension %d changed after inference", i);
    unsigned char cval[16] = {0};
    sqz_tensor *cv = c->opset >= 11 ? sqz_shp_in(c, 2) : NULL;
    if (cv) {
        if (!cv->data || cv->nbytes < esz || cv->dtype != x->dtype || sqz_tensor_numel(cv) < 1)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Pad: constant_value must be a known %s scalar", sqz_dtype_name(x->dtype));
        memcpy(cval, cv->data, esz);
    } else if (c->opset < 11) {
        sqz_shp_store_f64(x->dtype, cval, sqz_node_attr_float(c->node, "value", 0.0f));
    }
    int64_t total = sqz_tensor_numel(y);
    if (total == 0) return SQZ_OK;
    if (r == 0) {
        memcpy(y->data, x->data, esz);
        return SQZ_OK;
    }
    /* valid input region per axis after negative pads crop: [lo, hi) in input coordinates */
    int64_t lo[SQZ_MAX_DIMS], hi[SQZ_MAX_DIMS], xs[SQZ_MAX_DIMS], o[SQZ_MAX_DIMS] = {0};
    for (int i = 0; i < r; i++) {
        lo[i] = p.begin[i] < 0 ? -p.begin[i] : 0;
        hi[i] = x->dims[i] + (p.end[i] < 0 ? p.end[i] : 0);
    }
    sqz_shp_strides(r, x->dims, xs);
    int64_t L = y->dims[r - 1], rows = total / L, bl = p.begin[r - 1];
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t row = 0; row < rows; row++, dst += (size_t)L * esz) {
        int64_t off = 0;
        int is_const = 0;
        for (int k = 0; k < r - 1; k++) {
            int64_t i = pad_map(p.mode, o[k] - p.begin[k], lo[k], hi[k]);
            if (i < 0) is_const = 1;
            else off += i * xs[k];
        }
        const char *srow = src + (size_t)off * esz;
        /* positions [a, b) of the output row copy the input row directly */
        int64_t a = bl > 0 ? bl : 0, b = L - (p.end[r - 1] > 0 ? p.end[r - 1] : 0);
        for (int64_t j = 0; j < L; j++) {
            if (!is_const && j == a && b > a) {
                memcpy(dst + (size_t)j * esz, srow + (size_t)(j - bl) * esz, (size_t)(b - a) * esz);
                j = b - 1;
                continue;
            }
            int64_t i = is_const ? -1 : pad_map(p.mode, j - bl, lo[r - 1], hi[r - 1]);
            memcpy(dst + (size_t)j * esz, i < 0 ? (const char *)cval : srow + (size_t)i * esz, esz);
        }
        for (int k = r - 2; k >= 0; k--) {
            if (++o[k] < y->dims[k]) break;
            o[k] = 0;
        }
    }
    return SQZ_OK;
}

const sqz_op sqz_op_pad = {"Pad", 1, 4, 1, 1, (1u << 1) | (1u << 3), pad_infer, pad_forward, NULL, NULL};
