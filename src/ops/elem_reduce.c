/* ops/elem_reduce.c - ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
 * ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp.
 *
 * Axes come from the optional input 1 when given (ReduceSum opset >= 13, the others >= 18),
 * else from the `axes` attribute; none or empty: all axes, or the identity when
 * noop_with_empty_axes = 1. The input is read once, contiguously, while an odometer over
 * the collapsed shape tracks the output element each row feeds. Floats accumulate in
 * double; integers in wrapping 64-bit integers (Sum, Mean, Prod, Max, Min, L1, SumSquare;
 * the others through double). Empty reductions give the identity of the operation
 * (0, 1, -inf / type minimum for Max, +inf / type maximum for Min; Mean: NaN, 0 for ints).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elem_util.h"

typedef enum rkind { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LSE } rkind;

typedef struct rplan {
    int known; /* axes known (values available) */
    int noop;  /* identity */
    int keepdims;
    uint8_t red[SQZ_MAX_DIMS];
} rplan;

static sqz_status get_plan(const sqz_opctx *c, rkind k, rplan *p) {
    const sqz_tensor *x = c->in[0];
    memset(p, 0, sizeof *p);
    p->keepdims = c->node ? sqz_node_attr_int(c->node, "keepdims", 1) != 0 : 1;
    int noop_empty = c->node ? sqz_node_attr_int(c->node, "noop_with_empty_axes", 0) != 0 : 0;
    const sqz_tensor *at = sqz_elem_in(c, 1);
    const int64_t *attr_axes = NULL;
    int64_t n = -1;
    if (at) {
        if (at->dtype != SQZ_DT_I64 && at->dtype != SQZ_DT_I32)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "axes input must be int64, not %s",
                               sqz_dtype_name(at->dtype));
        if (at->ndim > 1)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "axes input must be 1-D, has rank %d", at->ndim);
        if (!at->data) return SQZ_OK; /* not known yet */
        n = sqz_tensor_numel(at);
        if (n < 0) return SQZ_OK;
    } else if (c->node) {
        /* the attribute form of older opsets; accepted at any opset */
        n = sqz_node_attr_ints(c->node, "axes", &attr_axes);
    }
    if (x->ndim < 0) return SQZ_OK;
    p->known = 1;
    if (n <= 0) {
        if (noop_empty) p->noop = 1;
        else memset(p->red, 1, sizeof p->red);
        return SQZ_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t a = at ? sqz_tensor_get_i64(at, i) : attr_axes[i];
        int ax;
        sqz_status st = sqz_norm_axis(a, x->ndim, &ax, c->err);
        if (st) return st;
        if (p->red[ax]) return sqz_err_set(c->err, SQZ_ERR_DATA, "axis %lld appears twice", (long long)a);
        p->red[ax] = 1;
    }
    return SQZ_OK;
}

static sqz_status reduce_infer(sqz_opctx *c, rkind k) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_NUM)) || (st = sqz_elem_check_output(c))) return st;
    const sqz_tensor *x = c->in[0];
    rplan p;
    if ((st = get_plan(c, k, &p))) return st;
    sqz_tensor *y = c->out[0];
    if (!p.known) {
        if (p.keepdims && x->ndim >= 0) {
            int64_t dims[SQZ_MAX_DIMS];
            for (int i = 0; i < x->ndim; i++) dims[i] = -1;
            sqz_op_set_shape(y, x->dtype, x->ndim, dims);
        } else {
            sqz_op_set_shape(y, x->dtype, -1, NULL);
        }
        return SQZ_OK;
    }
    if (p.noop) {
        sqz_elem_same_shape(y, x->dtype, x);
        return SQZ_OK;
    }
    int64_t dims[SQZ_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (!p.red[i]) dims[nd++] = x->dims[i];
        else if (p.keepdims) dims[nd++] = 1;
    }
    sqz_op_set_shape(y, x->dtype, nd, dims);
    return SQZ_OK;
}

static size_t reduce_scratch(const sqz_opctx *c, rkind k) {
    int64_t m = c->n_out > 0 && c->out[0] ? sqz_tensor_numel(c->out[0]) : -1;
    if (m <= 0 || (uint64_t)m > SIZE_MAX / 16) return 0;
    return (size_t)m * 8 * (k == R_LSE ? 2 : 1);
}

/* Integer type limits as 64-bit bits (signed types sign-extended). */
static void int_limits(sqz_dtype dt, uint64_t *lo, uint64_t *hi) {
    switch (dt) {
    case SQZ_DT_I8: *lo = (uint64_t)(int64_t)INT8_MIN, *hi = INT8_MAX; break;
    case SQZ_DT_I16: *lo = (uint64_t)(int64_t)INT16_MIN, *hi = INT16_MAX; break;
    case SQZ_DT_I32: *lo = (uint64_t)(int64_t)INT32_MIN, *hi = INT32_MAX; break;
    case SQZ_DT_I64: *lo = (uint64_t)INT64_MIN, *hi = INT64_MAX; break;
    case SQZ_DT_U8: *lo = 0, *hi = UINT8_MAX; break;
    case SQZ_DT_U16: *lo = 0, *hi = UINT16_MAX; break;
    case SQZ_DT_U32: *lo = 0, *hi = UINT32_MAX; break;
    default: *lo = 0, *hi = UINT64_MAX; break;
    }
}

typedef struct rshape {
    int nd;
    int64_t dims[SQZ_MAX_DIMS];
    int64_t ostr[SQZ_MAX_DIMS]; /* output stride per collapsed dim, 0 where reduced */
    uint8_t red[SQZ_MAX_DIMS];
    int64_t count;              /* elements reduced into each output */
} rshape;

/* Drops size-1 dims and merges neighbours of the same kind (reduced / kept). */
static void collapse(const sqz_tensor *x, const rplan *p, rshape *s) {
    memset(s, 0, sizeof *s);
    s->count = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (p->red[i]) s->count *= x->dims[i];
        if (x->dims[i] == 1) continue;
        if (s->nd > 0 && s->red[s->nd - 1] == p->red[i]) {
            s->dims[s->nd - 1] *= x->dims[i];
        } else {
            s->dims[s->nd] = x->dims[i];
            s->red[s->nd] = p->red[i];
            s->nd++;
        }
    }
    int64_t st = 1;
    for (int i = s->nd - 1; i >= 0; i--) {
        s->ostr[i] = s->red[i] ? 0 : st;
        if (!s->red[i]) st *= s->dims[i];
    }
}

/* Applies UPDATE(acc, v) over m loaded values V[i] into A: element-wise when the innermost
 * dim is kept (as = 1), else into one register accumulator (as = 0). */
#define ACC_LOOP(T, A, V, UPDATE)                                 \
    do {                                                          \
        if (as) {                                                 \
            for (int64_t i = 0; i < m; i++) {                     \
                T v = V[i];                                       \
                UPDATE(A[i], v);                                  \
            }                                                     \
        } else {                                                  \
            T acc_ = A[0];                                        \
            for (int64_t i = 0; i < m; i++) {                     \
                T v = V[i];                                       \
                UPDATE(acc_, v);                                  \
            }                                                     \
            A[0] = acc_;                                          \
        }                                                         \
    } while (0)

#define U_SUM(a, v) a += v
#define U_SQ(a, v) a += v * v
#define U_PROD(a, v) a *= v
#define U_FABS(a, v) a += fabs(v)
#define U_FMAX(a, v) a = (v > a || v != v) ? v : a
#define U_FMIN(a, v) a = (v < a || v != v) ? v : a
#define U_IABS(a, v) a += (!un && (int64_t)v < 0) ? 0 - v : v
#define U_IMAX(a, v) a = (un ? v > a : (int64_t)v > (int64_t)a) ? v : a
#define U_IMIN(a, v) a = (un ? v < a : (int64_t)v < (int64_t)a) ? v : a

/* Combines every input element into acc (double or 64-bit integer accumulators). For
 * R_LSE, shift holds the per-output maximum subtracted before exp. */
static void accumulate(const sqz_tensor *x, const rshape *s, rkind k, int use_int, int un, double *facc,
                       uint64_t *iacc, const double *shift) {
    int64_t inner = s->nd ? s->dims[s->nd - 1] : 1;
    int as = s->nd ? !s->red[s->nd - 1] : 0;
    int64_t numel = sqz_tensor_numel(x);
    if (numel <= 0) return;
    int64_t rows = numel / inner;
    int64_t idx[SQZ_MAX_DIMS] = {0}, o = 0;
    double fb[SQZ_ELEM_CHUNK];
    uint64_t ib[SQZ_ELEM_CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i0 = 0; i0 < inner; i0 += SQZ_ELEM_CHUNK) {
            int64_t m = inner - i0 < SQZ_ELEM_CHUNK ? inner - i0 : SQZ_ELEM_CHUNK;
            int64_t ob = o + i0 * as;
            if (use_int) {
                sqz_elem_load_i64(x->dtype, x->data, r * inner + i0, m, ib);
                uint64_t *A = iacc + ob;
                switch (k) {
                case R_SUM:
                case R_MEAN: ACC_LOOP(uint64_t, A, ib, U_SUM); break;
                case R_SUMSQ: ACC_LOOP(uint64_t, A, ib, U_SQ); break;
                case R_PROD: ACC_LOOP(uint64_t, A, ib, U_PROD); break;
                case R_L1: ACC_LOOP(uint64_t, A, ib, U_IABS); break;
                case R_MAX: ACC_LOOP(uint64_t, A, ib, U_IMAX); break;
                case R_MIN: ACC_LOOP(uint64_t, A, ib, U_IMIN); break;
                default: break;
                }
            } else {
                sqz_elem_load_f64(x->dtype, x->data, r * inner + i0, m, fb);
                double *A = facc + ob;
                switch (k) {
                case R_SUM:
                case R_MEAN:
                case R_LOGSUM: ACC_LOOP(double, A, fb, U_SUM); break;
                case R_SUMSQ:
                case R_L2: ACC_LOOP(double, A, fb, U_SQ); break;
                case R_L1: ACC_LOOP(double, A, fb, U_FABS); break;
                case R_PROD: ACC_LOOP(double, A, fb, U_PROD); break;
                case R_MAX: ACC_LOOP(double, A, fb, U_FMAX); break;
                case R_MIN: ACC_LOOP(double, A, fb, U_FMIN); break;
                case R_LSE: {
                    const double *S = shift + ob;
                    if (as) {
                        for (int64_t i = 0; i < m; i++) A[i] += exp(fb[i] - S[i]);
                    } else {
                        double acc = A[0];
                        for (int64_t i = 0; i < m; i++) acc += exp(fb[i] - S[0]);
                        A[0] = acc;
                    }
                    break;
                }
                }
            }
        }
        /* advance the odometer over the outer collapsed dims */
        for (int d = s->nd - 2; d >= 0; d--) {
            idx[d]++;
            o += s->ostr[d];
            if (idx[d] < s->dims[d]) break;
            o -= s->ostr[d] * s->dims[d];
            idx[d] = 0;
        }
    }
}

static sqz_status reduce_forward(sqz_opctx *c, rkind k) {
    const sqz_tensor *x = c->in[0];
    sqz_tensor *y = c->out[0];
    rplan p;
    sqz_status st = get_plan(c, k, &p);
    if (st) return st;
    if (!p.known) return sqz_err_set(c->err, SQZ_ERR_DATA, "axes are not known");
    int64_t m = sqz_tensor_numel(y), nx = sqz_tensor_numel(x);
    if (m < 0 || nx < 0 || y->dtype != x->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "output shape or dtype is not known");
    if (p.noop) {
        if (m != nx) return sqz_err_set(c->err, SQZ_ERR_DATA, "output size does not match the input");
        if (nx) memcpy(y->data, x->data, (size_t)nx * sqz_dtype_size(x->dtype));
        return SQZ_OK;
    }
    rshape s;
    collapse(x, &p, &s);
    int64_t expect = 1;
    for (int i = 0; i < s.nd; i++)
        if (!s.red[i]) expect *= s.dims[i];
    if (nx == 0) { /* some dim is 0: count output elements directly */
        expect = 1;
        for (int i = 0; i < x->ndim; i++)
            if (!p.red[i]) expect *= x->dims[i];
    }
    if (expect != m) return sqz_err_set(c->err, SQZ_ERR_DATA, "output has %lld elements, expected %lld",
                                        (long long)m, (long long)expect);
    if (m == 0) return SQZ_OK;
    int is_int = !sqz_elem_is_float(x->dtype), un = sqz_elem_is_uint(x->dtype);
    int use_int = is_int && k != R_L2 && k != R_LOGSUM && k != R_LSE;
    size_t need = (size_t)m * 8 * (k == R_LSE ? 2 : 1);
    void *buf = c->scratch, *owned = NULL;
    if (!buf) {
        buf = owned = malloc(need);
        if (!owned) return sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory (%zu bytes of accumulators)", need);
    }
    double *facc = buf;
    uint64_t *iacc = buf;
    if (use_int) {
        uint64_t lo, hi;
        int_limits(x->dtype, &lo, &hi);
        uint64_t init = k == R_PROD ? 1 : k == R_MAX ? lo : k == R_MIN ? hi : 0;
        for (int64_t i = 0; i < m; i++) iacc[i] = init;
        accumulate(x, &s, k, 1, un, NULL, iacc, NULL);
        if (k == R_MEAN)
            for (int64_t i = 0; i < m; i++)
                iacc[i] = s.count == 0 ? 0 : un ? iacc[i] / (uint64_t)s.count
                                                : (uint64_t)((int64_t)iacc[i] / s.count);
        sqz_elem_store_i64(y->dtype, y->data, 0, m, iacc, un);
    } else {
        double init = k == R_PROD ? 1.0 : k == R_MAX ? -INFINITY : k == R_MIN ? INFINITY : 0.0;
        double *shift = NULL;
        if (k == R_LSE) {
            shift = facc + m;
            for (int64_t i = 0; i < m; i++) shift[i] = -INFINITY;
            accumulate(x, &s, R_MAX, 0, un, shift, NULL, NULL);
            for (int64_t i = 0; i < m; i++) shift[i] = isfinite(shift[i]) ? shift[i] : 0.0;
        }
        for (int64_t i = 0; i < m; i++) facc[i] = init;
        accumulate(x, &s, k, 0, un, facc, NULL, shift);
        for (int64_t i = 0; i < m; i++) {
            switch (k) {
            case R_MEAN: facc[i] /= (double)s.count; break;
            case R_L2: facc[i] = sqrt(facc[i]); break;
            case R_LOGSUM: facc[i] = log(facc[i]); break;
            case R_LSE: facc[i] = log(facc[i]) + shift[i]; break;
            default: break;
            }
        }
        sqz_elem_store_f64(y->dtype, y->data, 0, m, facc);
    }
    free(owned);
    return SQZ_OK;
}

#define REDUCE_OP(sym, NAME, KIND)                                                                 \
    static sqz_status sym##_infer(sqz_opctx *c) { return reduce_infer(c, KIND); }                  \
    static sqz_status sym##_forward(sqz_opctx *c) { return reduce_forward(c, KIND); }              \
    static size_t sym##_scratch(const sqz_opctx *c) { return reduce_scratch(c, KIND); }            \
    const sqz_op sqz_op_##sym = {.name = NAME, .n_in_min = 1, .n_in_max = 2, .n_out_min = 1,       \
                                 .n_out_max = 1, .shape_inputs = 1u << 1, .infer = sym##_infer,    \
                                 .forward = sym##_forward, .scratch_bytes = sym##_scratch};

REDUCE_OP(reduce_sum, "ReduceSum", R_SUM)
REDUCE_OP(reduce_mean, "ReduceMean", R_MEAN)
REDUCE_OP(reduce_max, "ReduceMax", R_MAX)
REDUCE_OP(reduce_min, "ReduceMin", R_MIN)
REDUCE_OP(reduce_prod, "ReduceProd", R_PROD)
REDUCE_OP(reduce_l1, "ReduceL1", R_L1)
REDUCE_OP(reduce_l2, "ReduceL2", R_L2)
REDUCE_OP(reduce_sum_square, "ReduceSumSquare", R_SUMSQ)
REDUCE_OP(reduce_log_sum, "ReduceLogSum", R_LOGSUM)
REDUCE_OP(reduce_log_sum_exp, "ReduceLogSumExp", R_LSE)
