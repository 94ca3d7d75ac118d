/* ops/shape_expand_tile.c - Expand (bidirectional broadcast to a shape) and Tile (repeat). */
#include <string.h>

#include "ops/shape_util.h"

/* ---- Expand ---- */

/* Broadcasts x's shape with the values of the shape input; *r = -1 when not known yet. */
static sqz_status expand_shape(const sqz_opctx *c, int *r, int64_t *d) {
    sqz_tensor *x = c->in[0], *s = c->in[1];
    int64_t v[SQZ_MAX_DIMS];
    int n;
    if (!sqz_shp_known(s)) {
        *r = -1;
        if (x->ndim >= 0 && s->ndim == 1 && s->dims[0] >= 0 && s->dims[0] <= SQZ_MAX_DIMS) {
            *r = x->ndim > (int)s->dims[0] ? x->ndim : (int)s->dims[0];
            for (int i = 0; i < *r; i++) d[i] = -1;
        }
        return SQZ_OK;
    }
    sqz_status st = sqz_shp_read_ints("Expand", "shape", s, v, SQZ_MAX_DIMS, &n, c->err);
    if (st) return st;
    if (x->ndim < 0) {
        *r = -1;
        return SQZ_OK;
    }
    int R = x->ndim > n ? x->ndim : n;
    for (int i = 0; i < R; i++) {
        int ix = i - (R - x->ndim), is = i - (R - n);
        int64_t a = ix >= 0 ? x->dims[ix] : 1, b = is >= 0 ? v[is] : 1;
        if (b < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Expand: negative dimension %lld in shape", (long long)b);
        if (a == b || b == 1) d[i] = a;
        else if (a == 1 || a < 0) d[i] = b;
        else
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Expand: cannot broadcast dimension %d of size %lld to %lld", i,
                               (long long)a, (long long)b);
    }
    *r = R;
    return SQZ_OK;
}

static sqz_status expand_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Expand", x, &esz, c->err);
    if (st) return st;
    int r = -1;
    int64_t d[SQZ_MAX_DIMS];
    st = expand_shape(c, &r, d);
    if (st) return st;
    if (r < 0) sqz_shp_set_unknown(c->out[0], x->dtype, -1);
    else sqz_op_set_shape(c->out[0], x->dtype, r, d);
    return SQZ_OK;
}

static sqz_status expand_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Expand", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Expand", x, c->err);
    if (!st) st = sqz_shp_check_out("Expand", y, c->err);
    if (st) return st;
    int R = y->ndim, r = x->ndim;
    if (R < r) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Expand: output rank below input rank");
    int64_t xs[SQZ_MAX_DIMS], s[SQZ_MAX_DIMS];
    sqz_shp_strides(r, x->dims, xs);
    for (int i = 0; i < R; i++) {
        int ix = i - (R - r);
        int64_t a = ix >= 0 ? x->dims[ix] : 1;
        if (a != 1 && a != y->dims[i])
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Expand: output dimension %d changed after inference", i);
        s[i] = (a == 1) ? 0 : xs[ix];
    }
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    if (R == 0) {
        memcpy(y->data, x->data, esz);
        return SQZ_OK;
    }
    sqz_shp_strided_copy(y->data, x->data, esz, R, y->dims, s, 0);
    return SQZ_OK;
}

const sqz_op sqz_op_expand = {"Expand", 2, 2, 1, 1, 1u << 1, expand_infer, expand_forward, NULL, NULL};

/* ---- Tile ---- */

/* Reads repeats into rep[r]; *known = 0 when not known yet. */
static sqz_status tile_repeats(const sqz_opctx *c, int r, int64_t *rep, int *known) {
    sqz_tensor *t = c->in[1];
    if (!sqz_shp_known(t)) {
        *known = 0;
        return SQZ_OK;
    }
    *known = 1;
    int n;
    sqz_status st = sqz_shp_read_ints("Tile", "repeats", t, rep, SQZ_MAX_DIMS, &n, c->err);
    if (st) return st;
    if (n != r) return sqz_err_set(c->err, SQZ_ERR_DATA, "Tile: %d repeats for a rank-%d input", n, r);
    for (int i = 0; i < r; i++)
        if (rep[i] < 0) return sqz_err_set(c->err, SQZ_ERR_DATA, "Tile: negative repeat %lld", (long long)rep[i]);
    return SQZ_OK;
}

static sqz_status tile_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 2, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Tile", x, &esz, c->err);
    if (st) return st;
    if (x->ndim < 0) {
        sqz_shp_set_unknown(c->out[0], x->dtype, -1);
        return SQZ_OK;
    }
    int64_t rep[SQZ_MAX_DIMS], d[SQZ_MAX_DIMS];
    int known;
    st = tile_repeats(c, x->ndim, rep, &known);
    if (st) return st;
    for (int i = 0; i < x->ndim; i++) {
        if (!known || x->dims[i] < 0) {
            d[i] = -1;
            continue;
        }
        if (rep[i] && x->dims[i] > INT64_MAX / rep[i])
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Tile: dimension %d overflows", i);
        d[i] = x->dims[i] * rep[i];
    }
    sqz_op_set_shape(c->out[0], x->dtype, x->ndim, d);
    return SQZ_OK;
}

static sqz_status tile_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Tile", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Tile", x, c->err);
    if (!st) st = sqz_shp_check_out("Tile", y, c->err);
    if (st) return st;
    int r = x->ndim, known;
    int64_t rep[SQZ_MAX_DIMS], xs[SQZ_MAX_DIMS];
    st = tile_repeats(c, r, rep, &known);
    if (st) return st;
    if (!known || y->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Tile: repeats unknown at run time");
    for (int i = 0; i < r; i++)
        if (y->dims[i] != x->dims[i] * rep[i])
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Tile: output dimension %d changed after inference", i);
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    if (r == 0) {
        memcpy(y->data, x->data, esz);
        return SQZ_OK;
    }
    /* Output index o = t * d + i along each axis: iterate [rep0, d0, rep1, d1, ...]
     * with strides [0, s0, 0, s1, ...], skipping repeats of 1. */
    sqz_shp_strides(r, x->dims, xs);
    int64_t d[SQZ_SHP_MAX_ITER], s[SQZ_SHP_MAX_ITER];
    int k = 0;
    for (int i = 0; i < r; i++) {
        if (rep[i] != 1) {
            d[k] = rep[i];
            s[k++] = 0;
        }
        d[k] = x->dims[i];
        s[k++] = xs[i];
    }
    sqz_shp_strided_copy(y->data, x->data, esz, k, d, s, 0);
    return SQZ_OK;
}

const sqz_op sqz_op_tile = {"Tile", 2, 2, 1, 1, 1u << 1, tile_infer, tile_forward, NULL, NULL};
