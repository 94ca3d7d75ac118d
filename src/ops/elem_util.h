/* ops/elem_util.h - helpers shared by the elementwise operator family (private).
 *
 * - dtype masks and checks with clear messages;
 * - a numpy broadcast iterator over up to three inputs that collapses the shape
 *   so that the innermost loop is contiguous (input strides 1) or broadcast (0);
 * - drivers for binary and unary ops: an op supplies per-row kernels, the driver
 *   handles broadcasting, f16/bf16 (computed in f32) and empty tensors;
 * - chunked element loaders/storers through double / 64-bit integers (Cast,
 *   reductions, mixed-type Pow).
 */
#ifndef SQZ_OPS_ELEM_UTIL_H
#define SQZ_OPS_ELEM_UTIL_H

#include <stdint.h>

#include "ops/op.h"

/* ---- dtype masks (bit = dtype number; every dtype here is < 32) ---- */
#define SQZ_EM(dt) (1u << (dt))
#define SQZ_EM_FLOAT (SQZ_EM(SQZ_DT_F32) | SQZ_EM(SQZ_DT_F64) | SQZ_EM(SQZ_DT_F16) | SQZ_EM(SQZ_DT_BF16))
#define SQZ_EM_SINT (SQZ_EM(SQZ_DT_I8) | SQZ_EM(SQZ_DT_I16) | SQZ_EM(SQZ_DT_I32) | SQZ_EM(SQZ_DT_I64))
#define SQZ_EM_UINT (SQZ_EM(SQZ_DT_U8) | SQZ_EM(SQZ_DT_U16) | SQZ_EM(SQZ_DT_U32) | SQZ_EM(SQZ_DT_U64))
#define SQZ_EM_INT (SQZ_EM_SINT | SQZ_EM_UINT)
#define SQZ_EM_NUM (SQZ_EM_FLOAT | SQZ_EM_INT)
#define SQZ_EM_BOOL SQZ_EM(SQZ_DT_BOOL)

static inline int sqz_elem_dt_in(sqz_dtype dt, uint32_t mask) {
    return (int)dt >= 0 && (int)dt < 32 && ((mask >> (unsigned)dt) & 1u);
}
static inline int sqz_elem_is_float(sqz_dtype dt) { return sqz_elem_dt_in(dt, SQZ_EM_FLOAT); }
static inline int sqz_elem_is_uint(sqz_dtype dt) { return sqz_elem_dt_in(dt, SQZ_EM_UINT); }

/* Input i, or NULL when omitted (index past n_in or a NULL slot). */
static inline sqz_tensor *sqz_elem_in(const sqz_opctx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }

/* Checks that input i is present and its dtype is in mask. Missing input or undefined
 * dtype: SQZ_ERR_DATA; a valid dtype outside mask: SQZ_ERR_UNSUPPORTED. */
sqz_status sqz_elem_check_input(const sqz_opctx *c, int i, uint32_t mask);
/* Output 0 present (SQZ_ERR_DATA otherwise). */
sqz_status sqz_elem_check_output(const sqz_opctx *c);
/* Copies t's shape (ndim/dims, -1 kept) into out with dtype dt. */
void sqz_elem_same_shape(sqz_tensor *out, sqz_dtype dt, const sqz_tensor *t);

/* ---- broadcast iterator ---- */
#define SQZ_ELEM_MAX_IN 3

typedef struct sqz_bcast {
    int n_in;
    int ndim;                                  /* collapsed rank, >= 1 */
    int64_t dims[SQZ_MAX_DIMS];                /* collapsed output dims */
    int64_t str[SQZ_ELEM_MAX_IN][SQZ_MAX_DIMS]; /* element strides per input, 0 where broadcast */
    int64_t inner;                             /* dims[ndim - 1]: the row length */
    int64_t rows;                              /* numel / inner; 0 for an empty output */
    int istr[SQZ_ELEM_MAX_IN];                 /* innermost stride of each input: 0 or 1 */
    int64_t idx[SQZ_MAX_DIMS];                 /* iteration state (outer dims) */
    int64_t off[SQZ_ELEM_MAX_IN];              /* element offset of the current row per input */
} sqz_bcast;

/* Prepares iteration of out's (fully known) shape over inputs that broadcast to it.
 * SQZ_ERR_DATA when an input dimension is neither equal to out's nor 1. */
sqz_status sqz_bcast_init(sqz_bcast *b, const sqz_tensor *out, const sqz_tensor *const *in, int n_in,
                          sqz_err *err);
/* Advances off[] to the next row. */
void sqz_bcast_next(sqz_bcast *b);

/* ---- binary ops ---- */
/* Row kernel: o[i] = f(a[i*sa], b[i*sb]) for i < n, sa/sb in {0,1}. dt is a's dtype. */
typedef void (*sqz_elem_bin_fn)(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa,
                                int sb, const void *param);

/* Shape of B as seen by legacy (opset < 7) broadcasting with attributes broadcast=1 and
 * axis: B's dims placed starting at axis of A. Otherwise *view is a copy of *b. */
sqz_status sqz_elem_legacy_view(const sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b,
                                sqz_tensor *view);
/* Infer for binary ops: inputs 0 and 1 present with the same dtype, in mask;
 * output dtype out_dt (SQZ_DT_UNDEF: input 0's) with the broadcast shape. */
sqz_status sqz_elem_binary_infer(sqz_opctx *c, uint32_t mask, sqz_dtype out_dt);
/* Runs fn over the broadcast of a and b into out. */
sqz_status sqz_elem_binary_run(const sqz_tensor *a, const sqz_tensor *b, sqz_tensor *out,
                               sqz_elem_bin_fn fn, const void *param, sqz_err *err);
/* Forward for a two-input op (legacy broadcast handled). */
sqz_status sqz_elem_binary_forward(sqz_opctx *c, sqz_elem_bin_fn fn, const void *param);

/* Kernels shared by several ops: add (elem_arith.c), max/min (elem_variadic.c). */
void sqz_elem_k_add(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param);
void sqz_elem_k_max(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param);
void sqz_elem_k_min(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param);
/* o[i] = a[i*sa] for any dtype (broadcast copy). */
void sqz_elem_k_copy(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                     const void *param);

/* Per-dtype row loop for a binary kernel: TA input type, TO output type, EXPR of x and y.
 * Specialised for the stride patterns so the compiler can vectorise each. */
#define SQZ_BIN_LOOP(TA, TO, EXPR)                                                    \
    do {                                                                              \
        const TA *A_ = (const TA *)a, *B_ = (const TA *)b;                            \
        TO *O_ = (TO *)o;                                                             \
        if (sa && sb) {                                                               \
            for (int64_t i_ = 0; i_ < n; i_++) {                                      \
                TA x = A_[i_], y = B_[i_];                                            \
                (void)x, (void)y;                                                     \
                O_[i_] = (TO)(EXPR);                                                  \
            }                                                                         \
        } else if (sb) {                                                              \
            TA x = A_[0];                                                             \
            for (int64_t i_ = 0; i_ < n; i_++) {                                      \
                TA y = B_[i_];                                                        \
                (void)x, (void)y;                                                     \
                O_[i_] = (TO)(EXPR);                                                  \
            }                                                                         \
        } else if (sa) {                                                              \
            TA y = B_[0];                                                             \
            for (int64_t i_ = 0; i_ < n; i_++) {                                      \
                TA x = A_[i_];                                                        \
                (void)x, (void)y;                                                     \
                O_[i_] = (TO)(EXPR);                                                  \
            }                                                                         \
        } else {                                                                      \
            TA x = A_[0], y = B_[0];                                                  \
            (void)x, (void)y;                                                         \
            TO v_ = (TO)(EXPR);                                                       \
            for (int64_t i_ = 0; i_ < n; i_++) O_[i_] = v_;                           \
        }                                                                             \
    } while (0)

/* Type lists X(DTYPE_SUFFIX, C type, wrap type): integer arithmetic is done in the
 * unsigned wrap type so overflow wraps instead of being undefined. */
#define SQZ_ELEM_SINTS(X) \
    X(I8, int8_t, uint32_t) X(I16, int16_t, uint32_t) X(I32, int32_t, uint32_t) X(I64, int64_t, uint64_t)
#define SQZ_ELEM_UINTS(X) \
    X(U8, uint8_t, uint32_t) X(U16, uint16_t, uint32_t) X(U32, uint32_t, uint32_t) X(U64, uint64_t, uint64_t)
#define SQZ_ELEM_FLOATS(X) X(F32, float, float) X(F64, double, double)

/* ---- unary ops ---- */
typedef struct sqz_elem_unary {
    uint32_t mask; /* accepted dtypes; output dtype = input dtype */
    void (*f32)(float *o, const float *x, int64_t n, const float *p);   /* f32, f16, bf16 */
    void (*f64)(double *o, const double *x, int64_t n, const float *p); /* f64 */
    /* integer / bool dtypes in mask (may be NULL when mask has none) */
    void (*other)(sqz_dtype dt, void *o, const void *x, int64_t n, const float *p);
    const char *attr[3]; /* float attributes read into p[0..2] (NULL: unused) */
    float def[3];        /* their defaults */
} sqz_elem_unary;

sqz_status sqz_elem_unary_infer(sqz_opctx *c, const sqz_elem_unary *u);
sqz_status sqz_elem_unary_forward(sqz_opctx *c, const sqz_elem_unary *u);

/* Float row kernels sym_f32 / sym_f64 computing EF / ED of v (p: the float attributes). */
#define SQZ_UNARY_FLOAT(sym, EF, ED)                                                      \
    static void sym##_f32(float *o, const float *x, int64_t n, const float *p) {          \
        for (int64_t i = 0; i < n; i++) {                                                 \
            float v = x[i];                                                               \
            o[i] = (EF);                                                                  \
        }                                                                                 \
    }                                                                                     \
    static void sym##_f64(double *o, const double *x, int64_t n, const float *p) {        \
        for (int64_t i = 0; i < n; i++) {                                                 \
            double v = x[i];                                                              \
            o[i] = (ED);                                                                  \
        }                                                                                 \
    }

/* Defines `const sqz_op sqz_op_<sym>` for a one-input, same-shape, same-dtype op. */
#define SQZ_UNARY_OP(sym, NAME, MASK, F32, F64, OTHER, A0, D0, A1, D1, A2, D2)                  \
    static const sqz_elem_unary u_##sym = {MASK, F32, F64, OTHER, {A0, A1, A2}, {D0, D1, D2}};  \
    static sqz_status sym##_infer(sqz_opctx *c) { return sqz_elem_unary_infer(c, &u_##sym); }   \
    static sqz_status sym##_forward(sqz_opctx *c) { return sqz_elem_unary_forward(c, &u_##sym); } \
    const sqz_op sqz_op_##sym = {.name = NAME, .n_in_min = 1, .n_in_max = 1, .n_out_min = 1,    \
                                 .n_out_max = 1, .infer = sym##_infer, .forward = sym##_forward};

/* ---- element conversion through double / 64-bit integers (n elements from index off) ---- */
#define SQZ_ELEM_CHUNK 256
/* Any numeric dtype or bool to double (i64/u64 beyond 2^53 round). */
void sqz_elem_load_f64(sqz_dtype dt, const void *src, int64_t off, int64_t n, double *dst);
/* Integer or bool dtype to 64-bit two's complement bits (u64 kept as bits). */
void sqz_elem_load_i64(sqz_dtype dt, const void *src, int64_t off, int64_t n, uint64_t *dst);
/* double to dt: floats round to nearest even (f64 -> f16/bf16 without double rounding),
 * integers truncate toward zero (NaN / out of range: the x86 "indefinite" value, then
 * wrapped to the width), bool = (v != 0). */
void sqz_elem_store_f64(sqz_dtype dt, void *dst, int64_t off, int64_t n, const double *src);
/* 64-bit integers (signed unless src_unsigned) to dt: integers wrap, floats round. */
void sqz_elem_store_i64(sqz_dtype dt, void *dst, int64_t off, int64_t n, const uint64_t *src,
                        int src_unsigned);

/* Double to f16 / bf16 bits, correctly rounded (round-to-odd through f32). */
uint16_t sqz_elem_f64_to_f16(double d);
uint16_t sqz_elem_f64_to_bf16(double d);

#endif
