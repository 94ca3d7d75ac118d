/* ops/elem_util.c - input checks, the broadcast iterator and the binary/unary drivers
 * shared by the elementwise operators. */
#include <string.h>

#include "ops/elem_util.h"

sqz_status sqz_elem_check_input(const sqz_opctx *c, int i, uint32_t mask) {
    const sqz_tensor *t = sqz_elem_in(c, i);
    if (!t) return sqz_err_set(c->err, SQZ_ERR_DATA, "required input %d is missing", i);
    if (t->dtype == SQZ_DT_UNDEF || !sqz_dtype_is_valid((int)t->dtype))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "input %d ('%s') has no valid dtype", i,
                           t->name ? t->name : "");
    if (!sqz_elem_dt_in(t->dtype, mask))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "input %d ('%s'): dtype %s is not supported", i,
                           t->name ? t->name : "", sqz_dtype_name(t->dtype));
    return SQZ_OK;
}

sqz_status sqz_elem_check_output(const sqz_opctx *c) {
    if (c->n_out < 1 || !c->out[0]) return sqz_err_set(c->err, SQZ_ERR_DATA, "output 0 is missing");
    return SQZ_OK;
}

void sqz_elem_same_shape(sqz_tensor *out, sqz_dtype dt, const sqz_tensor *t) {
    sqz_op_set_shape(out, dt, t->ndim, t->ndim > 0 ? t->dims : NULL);
}

/* ---- broadcast iterator ---- */

sqz_status sqz_bcast_init(sqz_bcast *b, const sqz_tensor *out, const sqz_tensor *const *in, int n_in,
                          sqz_err *err) {
    memset(b, 0, sizeof *b);
    b->n_in = n_in;
    int r = out->ndim;
    if (r < 0 || r > SQZ_MAX_DIMS) return sqz_err_set(err, SQZ_ERR_DATA, "output rank is not known");
    int64_t d[SQZ_MAX_DIMS], s[SQZ_ELEM_MAX_IN][SQZ_MAX_DIMS];
    int64_t numel = 1;
    for (int i = 0; i < r; i++) {
        if (out->dims[i] < 0) return sqz_err_set(err, SQZ_ERR_DATA, "output dimension %d is not known", i);
        numel = out->dims[i] == 0 ? 0 : numel;
    }
    for (int k = 0; k < n_in; k++) {
        const sqz_tensor *t = in[k];
        if (t->ndim < 0 || t->ndim > r)
            return sqz_err_set(err, SQZ_ERR_DATA, "input %d of rank %d does not broadcast to rank %d", k,
                               t->ndim, r);
        int64_t stride = 1;
        for (int i = r - 1; i >= 0; i--) {
            int ti = i - (r - t->ndim);
            int64_t td = ti >= 0 ? t->dims[ti] : 1;
            if (td != out->dims[i] && td != 1) {
                char sa[96], so[96];
                sqz_shape_str(t, sa, sizeof sa);
                sqz_shape_str(out, so, sizeof so);
                return sqz_err_set(err, SQZ_ERR_DATA, "input %d of shape %s does not broadcast to %s", k, sa,
                                   so);
            }
            s[k][i] = (td == 1) ? 0 : stride;
            stride *= td;
        }
    }
    /* drop output dims of 1, then merge neighbours that are contiguous for every input */
    int n = 0;
    for (int i = 0; i < r; i++) {
        if (out->dims[i] == 1) continue;
        d[n] = out->dims[i];
        for (int k = 0; k < n_in; k++) s[k][n] = s[k][i];
        n++;
    }
    int m = 0; /* merged dims, built from the right into b->dims[SQZ_MAX_DIMS - 1 - ...] */
    int64_t md[SQZ_MAX_DIMS], ms[SQZ_ELEM_MAX_IN][SQZ_MAX_DIMS];
    for (int i = n - 1; i >= 0; i--) {
        int merge = m > 0;
        for (int k = 0; k < n_in && merge; k++)
            if (s[k][i] != ms[k][m - 1] * md[m - 1]) merge = 0;
        if (merge) {
            md[m - 1] *= d[i];
        } else {
            md[m] = d[i];
            for (int k = 0; k < n_in; k++) ms[k][m] = s[k][i];
            m++;
        }
    }
    if (m == 0) {
        b->ndim = 1;
        b->dims[0] = 1;
        for (int k = 0; k < n_in; k++) b->str[k][0] = 0;
    } else {
        b->ndim = m;
        for (int i = 0; i < m; i++) {
            b->dims[i] = md[m - 1 - i];
            for (int k = 0; k < n_in; k++) b->str[k][i] = ms[k][m - 1 - i];
        }
    }
    b->inner = b->dims[b->ndim - 1];
    for (int k = 0; k < n_in; k++) b->istr[k] = b->str[k][b->ndim - 1] != 0;
    b->rows = numel == 0 ? 0 : 1;
    for (int i = 0; i < b->ndim - 1 && b->rows; i++) b->rows *= b->dims[i];
    return SQZ_OK;
}

void sqz_bcast_next(sqz_bcast *b) {
    for (int d = b->ndim - 2; d >= 0; d--) {
        b->idx[d]++;
        for (int k = 0; k < b->n_in; k++) b->off[k] += b->str[k][d];
        if (b->idx[d] < b->dims[d]) return;
        for (int k = 0; k < b->n_in; k++) b->off[k] -= b->str[k][d] * b->dims[d];
        b->idx[d] = 0;
    }
}

/* ---- binary driver ---- */

sqz_status sqz_elem_legacy_view(const sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b,
                                sqz_tensor *view) {
    *view = *b;
    if (c->opset >= 7 || !c->node || !sqz_node_attr_int(c->node, "broadcast", 0)) return SQZ_OK;
    const sqz_attr *ax = sqz_node_attr(c->node, "axis");
    if (!ax || a->ndim < 0 || b->ndim < 0) return SQZ_OK;
    int axis;
    sqz_status st = sqz_norm_axis(ax->i, a->ndim, &axis, c->err);
    if (st) return st;
    if (axis + b->ndim > a->ndim)
        return sqz_err_set(c->err, SQZ_ERR_DATA,
                           "legacy broadcast: B of rank %d does not fit A of rank %d at axis %d", b->ndim,
                           a->ndim, axis);
    int r = a->ndim - axis;
    for (int i = 0; i < r; i++) view->dims[i] = i < b->ndim ? b->dims[i] : 1;
    view->ndim = r;
    return SQZ_OK;
}

sqz_status sqz_elem_binary_infer(sqz_opctx *c, uint32_t mask, sqz_dtype out_dt) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, mask)) || (st = sqz_elem_check_input(c, 1, mask)) ||
        (st = sqz_elem_check_output(c)))
        return st;
    const sqz_tensor *a = c->in[0], *b = c->in[1];
    if (a->dtype != b->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "inputs have different dtypes (%s and %s)",
                           sqz_dtype_name(a->dtype), sqz_dtype_name(b->dtype));
    sqz_tensor bv;
    if ((st = sqz_elem_legacy_view(c, a, b, &bv))) return st;
    int nd;
    int64_t dims[SQZ_MAX_DIMS];
    if ((st = sqz_broadcast_shape(a, &bv, &nd, dims, c->err))) return st;
    sqz_op_set_shape(c->out[0], out_dt == SQZ_DT_UNDEF ? a->dtype : out_dt, nd, dims);
    return SQZ_OK;
}

/* f16/bf16 inputs: rows are converted to f32 in chunks and the kernel runs as F32; the
 * result is converted back when the output has the input's dtype (else e.g. bool). */
static void to_f32(sqz_dtype dt, const uint16_t *s, int64_t n, float *d) {
    if (dt == SQZ_DT_F16)
        for (int64_t i = 0; i < n; i++) d[i] = sqz_f16_to_f32(s[i]);
    else
        for (int64_t i = 0; i < n; i++) d[i] = sqz_bf16_to_f32(s[i]);
}

static void from_f32(sqz_dtype dt, const float *s, int64_t n, uint16_t *d) {
    if (dt == SQZ_DT_F16)
        for (int64_t i = 0; i < n; i++) d[i] = sqz_f32_to_f16(s[i]);
    else
        for (int64_t i = 0; i < n; i++) d[i] = sqz_f32_to_bf16(s[i]);
}

static void half_row(sqz_dtype dt, sqz_dtype odt, void *o, const uint16_t *a, const uint16_t *b, int64_t n,
                     int sa, int sb, sqz_elem_bin_fn fn, const void *param) {
    float fa[SQZ_ELEM_CHUNK], fb[SQZ_ELEM_CHUNK], fo[SQZ_ELEM_CHUNK];
    size_t osz = sqz_dtype_size(odt);
    for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
        int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
        to_f32(dt, sa ? a + i0 : a, sa ? m : 1, fa);
        to_f32(dt, sb ? b + i0 : b, sb ? m : 1, fb);
        if (odt == dt) {
            fn(SQZ_DT_F32, fo, fa, fb, m, sa, sb, param);
            from_f32(dt, fo, m, (uint16_t *)o + i0);
        } else {
            fn(SQZ_DT_F32, (char *)o + (size_t)i0 * osz, fa, fb, m, sa, sb, param);
        }
    }
}

sqz_status sqz_elem_binary_run(const sqz_tensor *a, const sqz_tensor *b, sqz_tensor *out,
                               sqz_elem_bin_fn fn, const void *param, sqz_err *err) {
    const sqz_tensor *in[2] = {a, b};
    sqz_bcast it;
    sqz_status st = sqz_bcast_init(&it, out, in, 2, err);
    if (st) return st;
    size_t ea = sqz_dtype_size(a->dtype), eb = sqz_dtype_size(b->dtype), eo = sqz_dtype_size(out->dtype);
    int half = a->dtype == SQZ_DT_F16 || a->dtype == SQZ_DT_BF16;
    for (int64_t r = 0; r < it.rows; r++) {
        void *o = (char *)out->data + (size_t)(r * it.inner) * eo;
        const void *pa = (const char *)a->data + (size_t)it.off[0] * ea;
        const void *pb = (const char *)b->data + (size_t)it.off[1] * eb;
        if (half)
            half_row(a->dtype, out->dtype, o, pa, pb, it.inner, it.istr[0], it.istr[1], fn, param);
        else
            fn(a->dtype, o, pa, pb, it.inner, it.istr[0], it.istr[1], param);
        sqz_bcast_next(&it);
    }
    return SQZ_OK;
}

sqz_status sqz_elem_binary_forward(sqz_opctx *c, sqz_elem_bin_fn fn, const void *param) {
    sqz_tensor bv;
    sqz_status st = sqz_elem_legacy_view(c, c->in[0], c->in[1], &bv);
    if (st) return st;
    return sqz_elem_binary_run(c->in[0], &bv, c->out[0], fn, param, c->err);
}

void sqz_elem_k_copy(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                     const void *param) {
    size_t es = sqz_dtype_size(dt);
    if (sa) {
        memcpy(o, a, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy((char *)o + (size_t)i * es, a, es);
}

/* ---- unary driver ---- */

sqz_status sqz_elem_unary_infer(sqz_opctx *c, const sqz_elem_unary *u) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, u->mask)) || (st = sqz_elem_check_output(c))) return st;
    sqz_elem_same_shape(c->out[0], c->in[0]->dtype, c->in[0]);
    return SQZ_OK;
}

sqz_status sqz_elem_unary_forward(sqz_opctx *c, const sqz_elem_unary *u) {
    const sqz_tensor *x = c->in[0];
    sqz_tensor *y = c->out[0];
    int64_t n = sqz_tensor_numel(x);
    if (n < 0 || n != sqz_tensor_numel(y) || x->dtype != y->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape or dtype does not match the input");
    if (!sqz_elem_dt_in(x->dtype, u->mask))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "dtype %s is not supported", sqz_dtype_name(x->dtype));
    float p[3];
    for (int i = 0; i < 3; i++)
        p[i] = u->attr[i] && c->node ? sqz_node_attr_float(c->node, u->attr[i], u->def[i]) : u->def[i];
    switch (x->dtype) {
    case SQZ_DT_F32: u->f32(y->data, x->data, n, p); break;
    case SQZ_DT_F64: u->f64(y->data, x->data, n, p); break;
    case SQZ_DT_F16:
    case SQZ_DT_BF16: {
        float buf[SQZ_ELEM_CHUNK];
        for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
            int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
            to_f32(x->dtype, (const uint16_t *)x->data + i0, m, buf);
            u->f32(buf, buf, m, p);
            from_f32(x->dtype, buf, m, (uint16_t *)y->data + i0);
        }
        break;
    }
    default:
        if (!u->other)
            return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "dtype %s is not supported", sqz_dtype_name(x->dtype));
        u->other(x->dtype, y->data, x->data, n, p);
        break;
    }
    return SQZ_OK;
}
