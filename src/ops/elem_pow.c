/* ops/elem_pow.c - Pow with numpy broadcasting. The output has the base's dtype; the
 * exponent may have any numeric dtype. Same-dtype float inputs use powf/pow directly;
 * mixed dtypes compute in double (float base or exponent, result then rounded or truncated
 * to the base's dtype) or, for integer ^ integer, by exact wrapping integer powers. */
#include <math.h>

#include "ops/elem_util.h"

static void k_pow(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    if (dt == SQZ_DT_F32) SQZ_BIN_LOOP(float, float, powf(x, y));
    else if (dt == SQZ_DT_F64) SQZ_BIN_LOOP(double, double, pow(x, y));
}

/* x^e for integers, wrapping; negative exponents truncate 1 / x^|e| toward zero. */
static uint64_t ipow(int64_t x, int64_t e) {
    if (e < 0) {
        if (x == 1) return 1;
        if (x == -1) return (e & 1) ? (uint64_t)-1 : 1;
        return 0;
    }
    uint64_t r = 1, bx = (uint64_t)x;
    uint64_t ue = (uint64_t)e;
    while (ue) {
        if (ue & 1) r *= bx;
        bx *= bx;
        ue >>= 1;
    }
    return r;
}

static void pow_row_mixed(const sqz_tensor *a, const sqz_tensor *b, sqz_tensor *out, int64_t oa, int64_t ob,
                          int64_t oo, int64_t n, int sa, int sb) {
    int int_base = !sqz_elem_is_float(a->dtype), int_exp = !sqz_elem_is_float(b->dtype);
    int ua = sqz_elem_is_uint(a->dtype), ub = sqz_elem_is_uint(b->dtype);
    double fa[SQZ_ELEM_CHUNK], fb[SQZ_ELEM_CHUNK], fr[SQZ_ELEM_CHUNK];
    uint64_t ia[SQZ_ELEM_CHUNK], ib[SQZ_ELEM_CHUNK], ir[SQZ_ELEM_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += SQZ_ELEM_CHUNK) {
        int64_t m = n - i0 < SQZ_ELEM_CHUNK ? n - i0 : SQZ_ELEM_CHUNK;
        int64_t na = sa ? m : 1, nb = sb ? m : 1;
        int64_t pa = oa + (sa ? i0 : 0), pb = ob + (sb ? i0 : 0);
        if (int_base && int_exp) {
            sqz_elem_load_i64(a->dtype, a->data, pa, na, ia);
            sqz_elem_load_i64(b->dtype, b->data, pb, nb, ib);
            for (int64_t i = 0; i < m; i++) {
                uint64_t e = ib[i * sb];
                /* a u64 exponent beyond INT64_MAX: treat as a huge even power */
                int64_t es = (ub && e > (uint64_t)INT64_MAX) ? INT64_MAX - 1 : (int64_t)e;
                ir[i] = ipow((int64_t)ia[i * sa], es);
            }
            sqz_elem_store_i64(out->dtype, out->data, oo + i0, m, ir, ua);
        } else {
            sqz_elem_load_f64(a->dtype, a->data, pa, na, fa);
            sqz_elem_load_f64(b->dtype, b->data, pb, nb, fb);
            for (int64_t i = 0; i < m; i++) fr[i] = pow(fa[i * sa], fb[i * sb]);
            sqz_elem_store_f64(out->dtype, out->data, oo + i0, m, fr);
        }
    }
}

static sqz_status pow_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_NUM)) || (st = sqz_elem_check_input(c, 1, SQZ_EM_NUM)) ||
        (st = sqz_elem_check_output(c)))
        return st;
    sqz_tensor bv;
    if ((st = sqz_elem_legacy_view(c, c->in[0], c->in[1], &bv))) return st;
    int nd;
    int64_t dims[SQZ_MAX_DIMS];
    if ((st = sqz_broadcast_shape(c->in[0], &bv, &nd, dims, c->err))) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, nd, dims);
    return SQZ_OK;
}

static sqz_status pow_forward(sqz_opctx *c) {
    const sqz_tensor *a = c->in[0];
    sqz_tensor bv;
    sqz_status st = sqz_elem_legacy_view(c, a, c->in[1], &bv);
    if (st) return st;
    if (a->dtype == bv.dtype && sqz_elem_is_float(a->dtype))
        return sqz_elem_binary_run(a, &bv, c->out[0], k_pow, NULL, c->err);
    const sqz_tensor *in[2] = {a, &bv};
    sqz_bcast it;
    if ((st = sqz_bcast_init(&it, c->out[0], in, 2, c->err))) return st;
    for (int64_t r = 0; r < it.rows; r++) {
        pow_row_mixed(a, &bv, c->out[0], it.off[0], it.off[1], r * it.inner, it.inner, it.istr[0], it.istr[1]);
        sqz_bcast_next(&it);
    }
    return SQZ_OK;
}

const sqz_op sqz_op_pow = {.name = "Pow", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1, .n_out_max = 1,
                           .infer = pow_infer, .forward = pow_forward};
