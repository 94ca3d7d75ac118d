/* ops/shape_transpose.c - Transpose: out dim i is input dim perm[i] (default: reversed). */
#include <string.h>

#include "ops/shape_util.h"

/* Fills perm[r] from the attribute or the default; SQZ_ERR_DATA when it is not a permutation. */
static sqz_status get_perm(const sqz_opctx *c, int r, int *perm) {
    const int64_t *v;
    int64_t n = sqz_node_attr_ints(c->node, "perm", &v);
    if (n < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        return SQZ_OK;
    }
    if (n != r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "Transpose: perm has %lld entries for a rank-%d input", (long long)n, r);
    uint8_t seen[SQZ_MAX_DIMS] = {0};
    for (int i = 0; i < r; i++) {
        if (v[i] < 0 || v[i] >= r || seen[v[i]])
            return sqz_err_set(c->err, SQZ_ERR_DATA, "Transpose: perm is not a permutation of 0..%d (entry %d = %lld)",
                               r - 1, i, (long long)v[i]);
        seen[v[i]] = 1;
        perm[i] = (int)v[i];
    }
    return SQZ_OK;
}

static sqz_status transpose_infer(sqz_opctx *c) {
    sqz_status need_st = sqz_shp_need(c, 1, 1);
    if (need_st) return need_st;
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Transpose", x, &esz, c->err);
    if (st) return st;
    if (x->ndim < 0) {
        const int64_t *v;
        int64_t n = sqz_node_attr_ints(c->node, "perm", &v);
        sqz_shp_set_unknown(y, x->dtype, n >= 0 && n <= SQZ_MAX_DIMS ? (int)n : -1);
        return SQZ_OK;
    }
    int perm[SQZ_MAX_DIMS];
    st = get_perm(c, x->ndim, perm);
    if (st) return st;
    int64_t d[SQZ_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) d[i] = x->dims[perm[i]];
    sqz_op_set_shape(y, x->dtype, x->ndim, d);
    return SQZ_OK;
}

static sqz_status transpose_forward(sqz_opctx *c) {
    sqz_tensor *x = c->in[0], *y = c->out[0];
    size_t esz;
    sqz_status st = sqz_shp_elem_size("Transpose", x, &esz, c->err);
    if (!st) st = sqz_shp_check_in("Transpose", x, c->err);
    if (!st) st = sqz_shp_check_out("Transpose", y, c->err);
    if (st) return st;
    int r = x->ndim, perm[SQZ_MAX_DIMS];
    st = get_perm(c, r, perm);
    if (st) return st;
    int64_t xs[SQZ_MAX_DIMS], d[SQZ_MAX_DIMS], s[SQZ_MAX_DIMS];
    sqz_shp_strides(r, x->dims, xs);
    /* Drop size-1 dims and merge runs that stay contiguous, so the inner copy is long. */
    int k = 0;
    for (int i = 0; i < r; i++) {
        int64_t dim = x->dims[perm[i]], str = xs[perm[i]];
        if (dim == 1) continue;
        if (k > 0 && s[k - 1] == str * dim) {
            d[k - 1] *= dim;
            s[k - 1] = str;
            continue;
        }
        d[k] = dim;
        s[k] = str;
        k++;
    }
    if (k == 0) {
        d[0] = 1;
        s[0] = 1;
        k = 1;
    }
    if (sqz_tensor_numel(y) == 0) return SQZ_OK;
    sqz_shp_strided_copy(y->data, x->data, esz, k, d, s, 0);
    return SQZ_OK;
}

const sqz_op sqz_op_transpose = {"Transpose", 1, 1, 1, 1, 0, transpose_infer, transpose_forward, NULL, NULL};
