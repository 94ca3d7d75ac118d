/* ops/shape_resize.c - Resize (opset 10-17) and Upsample (opset 7-9).
 *
 * Separable N-D interpolation: for every axis and output coordinate a small
 * table of taps (input index, weight) is built once, then each output element
 * sums the product of weights over the taps of all axes. Modes: nearest (any
 * byte-addressable dtype, pure data movement), linear and cubic (numeric dtypes).
 * Coordinate transformations: half_pixel, pytorch_half_pixel, align_corners,
 * asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize (with extrapolation_value).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/shape_util.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF, CT_PYTORCH, CT_ALIGN, CT_ASYM, CT_TF_NN, CT_TF_CROP };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

#define RS_TAPS 4

typedef struct rs_attrs {
    int mode, ct, nm, exclude;
    double a, extrap;
} rs_attrs;

typedef struct rs_params {
    int known;                  /* 0: scales / sizes not known yet */
    int64_t out[SQZ_MAX_DIMS];
    double scale[SQZ_MAX_DIMS]; /* the scale used by the coordinate transformation */
    double roi[2 * SQZ_MAX_DIMS];
} rs_params;

static int is_upsample(const sqz_opctx *c) { return !strcmp(c->node->op_type, "Upsample"); }
static int old_form(const sqz_opctx *c) { return is_upsample(c) || c->opset < 11; }

static sqz_status rs_read_attrs(const sqz_opctx *c, rs_attrs *a) {
    const char *op = c->node->op_type;
    const char *m = sqz_node_attr_str(c->node, "mode", "nearest");
    if (!strcmp(m, "nearest")) a->mode = RS_NEAREST;
    else if (!strcmp(m, "linear") || !strcmp(m, "bilinear")) a->mode = RS_LINEAR;
    else if (!strcmp(m, "cubic") && !old_form(c)) a->mode = RS_CUBIC;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: unknown mode '%s'", op, m);
    a->exclude = (int)sqz_node_attr_int(c->node, "exclude_outside", 0);
    a->a = sqz_node_attr_float(c->node, "cubic_coeff_a", -0.75f);
    a->extrap = sqz_node_attr_float(c->node, "extrapolation_value", 0.0f);
    if (old_form(c)) { /* Upsample and Resize-10: asymmetric coordinates, nearest rounds down */
        a->ct = CT_ASYM;
        a->nm = NM_FLOOR;
        return SQZ_OK;
    }
    const char *t = sqz_node_attr_str(c->node, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(t, "half_pixel")) a->ct = CT_HALF;
    else if (!strcmp(t, "pytorch_half_pixel")) a->ct = CT_PYTORCH;
    else if (!strcmp(t, "align_corners")) a->ct = CT_ALIGN;
    else if (!strcmp(t, "asymmetric")) a->ct = CT_ASYM;
    else if (!strcmp(t, "tf_half_pixel_for_nn")) a->ct = CT_TF_NN;
    else if (!strcmp(t, "tf_crop_and_resize")) a->ct = CT_TF_CROP;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: unknown coordinate_transformation_mode '%s'", op, t);
    const char *n = sqz_node_attr_str(c->node, "nearest_mode", "round_prefer_floor");
    if (!strcmp(n, "round_prefer_floor")) a->nm = NM_ROUND_FLOOR;
    else if (!strcmp(n, "round_prefer_ceil")) a->nm = NM_ROUND_CEIL;
    else if (!strcmp(n, "floor")) a->nm = NM_FLOOR;
    else if (!strcmp(n, "ceil")) a->nm = NM_CEIL;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: unknown nearest_mode '%s'", op, n);
    if (sqz_node_attr(c->node, "axes"))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: the 'axes' attribute is not supported", op);
    const char *k = sqz_node_attr_str(c->node, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(k, "stretch"))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: keep_aspect_ratio_policy '%s' is not supported", op, k);
    return SQZ_OK;
}

/* A float tensor's values (scales, roi) into v[max]; SQZ_ERR_DATA if not floating or too many. */
static sqz_status read_floats(const char *op, const char *what, const sqz_tensor *t, double *v, int max, int *n,
                              sqz_err *err) {
    if (t->dtype != SQZ_DT_F32 && t->dtype != SQZ_DT_F64 && t->dtype != SQZ_DT_F16)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s must be floating point, not %s", op, what, sqz_dtype_name(t->dtype));
    int64_t k = sqz_tensor_numel(t);
    if (k > max) return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s has %lld values", op, what, (long long)k);
    if ((size_t)k * sqz_dtype_size(t->dtype) > t->nbytes)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s holds too few bytes", op, what);
    for (int64_t i = 0; i < k; i++) v[i] = sqz_tensor_get_f64(t, i);
    *n = (int)k;
    return SQZ_OK;
}

static sqz_status rs_params_make(const sqz_opctx *c, const rs_attrs *a, const sqz_tensor *x, rs_params *p) {
    const char *op = c->node->op_type;
    int r = x->ndim;
    double sc[SQZ_MAX_DIMS];
    int ns = -1, nz = -1;
    int64_t sizes[SQZ_MAX_DIMS];
    p->known = 1;
    for (int i = 0; i < r; i++) {
        p->roi[i] = 0.0;
        p->roi[r + i] = 1.0;
    }
    const sqz_tensor *ts = NULL, *tz = NULL, *troi = NULL;
    if (is_upsample(c) && c->opset < 9) {
        const float *f;
        int64_t k = sqz_node_attr_floats(c->node, "scales", &f);
        if (k < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Upsample: missing 'scales' attribute");
        if (k > SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_DATA, "Upsample: too many scales");
        for (int i = 0; i < k; i++) sc[i] = f[i];
        ns = (int)k;
    } else if (old_form(c)) {
        ts = sqz_shp_in(c, 1);
        if (!ts) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: missing scales input", op);
    } else {
        troi = sqz_shp_in(c, 1);
        ts = sqz_shp_in(c, 2);
        tz = sqz_shp_in(c, 3);
    }
    if ((ts && !sqz_shp_known(ts)) || (tz && !sqz_shp_known(tz))) {
        p->known = 0;
        return SQZ_OK;
    }
    sqz_status st;
    if (ts && sqz_tensor_numel(ts) > 0) {
        st = read_floats(op, "scales", ts, sc, SQZ_MAX_DIMS, &ns, c->err);
        if (st) return st;
    }
    if (tz && sqz_tensor_numel(tz) > 0) {
        st = sqz_shp_read_ints(op, "sizes", tz, sizes, SQZ_MAX_DIMS, &nz, c->err);
        if (st) return st;
    }
    if ((ns >= 0) == (nz >= 0))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: exactly one of scales and sizes must be given", op);
    if ((ns >= 0 && ns != r) || (nz >= 0 && nz != r))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: %d scales or sizes for a rank-%d input", op, ns >= 0 ? ns : nz, r);
    if (a->ct == CT_TF_CROP && troi && sqz_shp_known(troi) && sqz_tensor_numel(troi) > 0) {
        int nr;
        st = read_floats(op, "roi", troi, p->roi, 2 * SQZ_MAX_DIMS, &nr, c->err);
        if (st) return st;
        if (nr != 2 * r) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: roi has %d values, need %d", op, nr, 2 * r);
    }
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[i];
        if (ns >= 0) {
            if (!(sc[i] > 0) || sc[i] > 1e9) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: invalid scale %g", op, sc[i]);
            p->scale[i] = sc[i];
            p->out[i] = d < 0 ? -1 : (int64_t)floor(sc[i] * (double)d);
        } else {
            if (sizes[i] < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: negative size %lld", op, (long long)sizes[i]);
            p->out[i] = sizes[i];
            p->scale[i] = d > 0 ? (double)sizes[i] / (double)d : 1.0;
        }
    }
    return SQZ_OK;
}

static sqz_status rs_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    rs_attrs a;
    sqz_status st = sqz_shp_elem_size(c->node->op_type, x, &esz, c->err);
    if (!st) st = rs_read_attrs(c, &a);
    if (st) return st;
    if (a.mode != RS_NEAREST && (x->dtype == SQZ_DT_BOOL || sqz_dtype_size(x->dtype) > 8))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: interpolation of %s", c->node->op_type, sqz_dtype_name(x->dtype));
    if (x->ndim < 0) {
        sqz_shp_set_unknown(y, x->dtype, -1);
        return SQZ_OK;
    }
    rs_params p;
    st = rs_params_make(c, &a, x, &p);
    if (st) return st;
    if (!p.known) sqz_shp_set_unknown(y, x->dtype, x->ndim);
    else sqz_op_set_shape(y, x->dtype, x->ndim, p.out);
    return SQZ_OK;
}

/* Taps for one axis: n taps per output coordinate (n = 1 nearest, 2 linear, 4 cubic). */
typedef struct rs_axis {
    int n;
    int64_t *idx;     /* (out, n) taps with nonzero weight first */
    double *w;        /* (out, n) */
    uint8_t *cnt;     /* (out) taps with nonzero weight */
    uint8_t *outside; /* (out) tf_crop_and_resize: coordinate outside the input */
} rs_axis;

static void cubic_coeffs(double r, double A, double *c) {
    double s = 1 - r;
    c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    c[2] = ((A + 2) * s - (A + 3)) * s * s + 1;
    c[3] = ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A;
}

static void rs_axis_fill(const rs_attrs *a, int64_t in, int64_t out, double scale, double roi0, double roi1,
                         rs_axis *ax) {
    double outw = scale * (double)in; /* the reference uses the unrounded output length */
    for (int64_t o = 0; o < out; o++) {
        double x, xo = (double)o;
        ax->outside[o] = 0;
        switch (a->ct) {
        case CT_ALIGN: x = outw == 1 ? 0.0 : xo * (double)(in - 1) / (outw - 1); break;
        case CT_ASYM: x = xo / scale; break;
        case CT_PYTORCH: x = outw == 1 ? -0.5 : (xo + 0.5) / scale - 0.5; break;
        case CT_TF_NN: x = (xo + 0.5) / scale; break;
        case CT_TF_CROP:
            x = outw == 1 ? (roi1 - roi0) * (double)(in - 1) / 2 : xo * (roi1 - roi0) * (double)(in - 1) / (outw - 1);
            x += roi0 * (double)(in - 1);
            if (x < 0 || x > (double)(in - 1)) ax->outside[o] = 1;
            break;
        default: x = (xo + 0.5) / scale - 0.5; break;
        }
        int64_t *idx = ax->idx + o * ax->n;
        double *w = ax->w + o * ax->n;
        /* i0: left neighbour, r in (0, 1]: an integral x counts as ratio 1 from x - 1 */
        double fl = floor(x);
        int64_t i0 = (int64_t)fl;
        double r = x - fl;
        if (r == 0) {
            i0 -= 1;
            r = 1;
        }
        if (a->mode == RS_NEAREST) {
            int up;
            if (r == 1) up = 1;
            else if (a->nm == NM_ROUND_FLOOR) up = r > 0.5;
            else if (a->nm == NM_ROUND_CEIL) up = r >= 0.5;
            else up = a->nm == NM_CEIL;
            int64_t k = i0 + up;
            idx[0] = k < 0 ? 0 : (k >= in ? in - 1 : k);
            w[0] = 1;
            ax->cnt[o] = 1;
            continue;
        }
        double cw[RS_TAPS];
        int64_t first;
        if (a->mode == RS_LINEAR) {
            cw[0] = 1 - r;
            cw[1] = r;
            first = i0;
        } else {
            cubic_coeffs(r, a->a, cw);
            first = i0 - 1;
        }
        double sum = 0;
        for (int t = 0; t < ax->n; t++) {
            int64_t k = first + t;
            if (a->exclude && (k < 0 || k >= in)) cw[t] = 0;
            sum += cw[t];
            idx[t] = k < 0 ? 0 : (k >= in ? in - 1 : k);
        }
        int m = 0; /* keep only taps that contribute */
        for (int t = 0; t < ax->n; t++) {
            double wt = (a->exclude && sum != 0) ? cw[t] / sum : cw[t];
            if (wt == 0) continue;
            w[m] = wt;
            idx[m++] = idx[t];
        }
        ax->cnt[o] = (uint8_t)m;
    }
}

static sqz_status rs_forward(sqz_opctx *c) {
    const char *op = c->node->op_type;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    rs_attrs a;
    sqz_status st = sqz_shp_elem_size(op, x, &esz, c->err);
    if (!st) st = rs_read_attrs(c, &a);
    if (!st) st = sqz_shp_check_in(op, x, c->err);
    if (!st) st = sqz_shp_check_out(op, y, c->err);
    if (st) return st;
    rs_params p;
    st = rs_params_make(c, &a, x, &p);
    if (st) return st;
    int r = x->ndim;
    if (!p.known || y->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "%s: scales/sizes unknown at run time", op);
    for (int i = 0; i < r; i++)
        if (p.out[i] != y->dims[i])
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "%s: output dimension %d changed after inference", op, i);
    int64_t total = sqz_tensor_numel(y);
    if (total == 0) return SQZ_OK;
    if (sqz_tensor_numel(x) == 0)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: cannot resize an empty input to a non-empty output", op);
    int n = a.mode == RS_NEAREST ? 1 : (a.mode == RS_LINEAR ? 2 : 4);
    size_t cnt = 0;
    for (int i = 0; i < r; i++) cnt += (size_t)p.out[i];
    int64_t *idx = malloc(sizeof(int64_t) * cnt * (size_t)n + 1);
    double *w = malloc(sizeof(double) * cnt * (size_t)n + 1);
    uint8_t *outside = malloc(2 * cnt + 1);
    if (!idx || !w || !outside) {
        free(idx);
        free(w);
        free(outside);
        return sqz_err_set(c->err, SQZ_ERR_NOMEM, "%s: out of memory for interpolation tables", op);
    }
    rs_axis ax[SQZ_MAX_DIMS];
    size_t off = 0;
    for (int i = 0; i < r; i++) {
        ax[i].n = n;
        ax[i].idx = idx + off * (size_t)n;
        ax[i].w = w + off * (size_t)n;
        ax[i].outside = outside + off;
        ax[i].cnt = outside + cnt + off;
        rs_axis_fill(&a, x->dims[i], p.out[i], p.scale[i], p.roi[i], p.roi[r + i], &ax[i]);
        off += (size_t)p.out[i];
    }
    int64_t xs[SQZ_MAX_DIMS], o[SQZ_MAX_DIMS] = {0};
    sqz_shp_strides(r, x->dims, xs);
    const char *src = x->data;
    char *dst = y->data;
    int f32 = x->dtype == SQZ_DT_F32;
    for (int64_t e = 0; e < total; e++) {
        int out_of_roi = 0;
        for (int i = 0; i < r; i++) out_of_roi |= ax[i].outside[o[i]];
        if (a.mode == RS_NEAREST && !out_of_roi) {
            int64_t so = 0;
            for (int i = 0; i < r; i++) so += ax[i].idx[o[i]] * xs[i];
            memcpy(dst + (size_t)e * esz, src + (size_t)so * esz, esz);
        } else if (out_of_roi) {
            sqz_tensor_set_f64(y, e, a.extrap);
        } else {
            /* sum over all combinations of contributing taps */
            int t[SQZ_MAX_DIMS] = {0}, empty = 0;
            double acc = 0;
            for (int i = 0; i < r; i++) empty |= ax[i].cnt[o[i]] == 0;
            while (!empty) {
                double wt = 1;
                int64_t so = 0;
                for (int i = 0; i < r; i++) {
                    size_t k = (size_t)o[i] * (size_t)n + (size_t)t[i];
                    wt *= ax[i].w[k];
                    so += ax[i].idx[k] * xs[i];
                }
                acc += wt * (f32 ? (double)((const float *)src)[so] : sqz_tensor_get_f64(x, so));
                int i = r - 1;
                while (i >= 0 && ++t[i] >= ax[i].cnt[o[i]]) t[i--] = 0;
                if (i < 0) break;
            }
            if (f32) ((float *)dst)[e] = (float)acc;
            else sqz_tensor_set_f64(y, e, acc);
        }
        for (int i = r - 1; i >= 0; i--) {
            if (++o[i] < y->dims[i]) break;
            o[i] = 0;
        }
    }
    free(idx);
    free(w);
    free(outside);
    return SQZ_OK;
}

const sqz_op sqz_op_resize = {"Resize", 1, 4, 1, 1, 0xeu, rs_infer, rs_forward, NULL, NULL};
const sqz_op sqz_op_upsample = {"Upsample", 1, 2, 1, 1, 0x2u, rs_infer, rs_forward, NULL, NULL};
