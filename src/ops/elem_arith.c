/* ops/elem_arith.c - Add, Sub, Mul, Div, Mod, PRelu, BitShift with numpy broadcasting.
 *
 * Integer arithmetic wraps (computed in an unsigned type). Integer Div truncates toward
 * zero (as ONNX Runtime and the ONNX reference); x / 0 and x % 0 give 0 for integers
 * instead of trapping. Mod with fmod=0 takes the divisor's sign (Python), fmod=1 the
 * dividend's (C fmod). f16/bf16 are computed in f32 by the binary driver.
 */
#include <math.h>
#include <string.h>

#include "kernels/elem_f32.h"
#include "ops/elem_util.h"

void sqz_elem_k_add(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, (W)x + (W)y); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X) SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

static void k_sub(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, (W)x - (W)y); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X) SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

static void k_mul(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, (W)x * (W)y); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_UINTS(X) SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

static void k_div(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    switch (dt) {
#define X(E, T, W) \
    case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, y == 0 ? 0 : y == -1 ? (W)0 - (W)x : (W)(x / y)); break;
        SQZ_ELEM_SINTS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, y == 0 ? 0 : x / y); break;
        SQZ_ELEM_UINTS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, x / y); break;
        SQZ_ELEM_FLOATS(X)
#undef X
    default: break;
    }
}

/* ---- Mod ---- */
#define X(E, T, W)                                                          \
    static inline T imod_##E(T x, T y, int f) {                             \
        if (y == 0 || y == -1) return 0;                                    \
        T r = (T)(x % y);                                                   \
        if (!f && r != 0 && ((r < 0) != (y < 0))) r = (T)(r + y);           \
        return r;                                                           \
    }
SQZ_ELEM_SINTS(X)
#undef X

static inline double fmod_py(double x, double y) {
    double r = fmod(x, y);
    if (r != 0) {
        if ((r < 0) != (y < 0)) r += y;
    } else {
        r = copysign(0.0, y);
    }
    return r;
}

static inline float fmodf_py(float x, float y) {
    float r = fmodf(x, y);
    if (r != 0) {
        if ((r < 0) != (y < 0)) r += y;
    } else {
        r = copysignf(0.0f, y);
    }
    return r;
}

static void k_mod(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                  const void *param) {
    int f = *(const int *)param;
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, imod_##E(x, y, f)); break;
        SQZ_ELEM_SINTS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, y == 0 ? 0 : x % y); break;
        SQZ_ELEM_UINTS(X)
#undef X
    case SQZ_DT_F32:
        if (f) SQZ_BIN_LOOP(float, float, fmodf(x, y));
        else SQZ_BIN_LOOP(float, float, fmodf_py(x, y));
        break;
    case SQZ_DT_F64:
        if (f) SQZ_BIN_LOOP(double, double, fmod(x, y));
        else SQZ_BIN_LOOP(double, double, fmod_py(x, y));
        break;
    default: break;
    }
}

/* ---- PRelu: x < 0 ? slope * x : x (slope broadcast to x) ---- */
static void k_prelu(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param) {
    switch (dt) {
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, x < 0 ? (W)x * (W)y : (W)x); break;
        SQZ_ELEM_SINTS(X) SQZ_ELEM_FLOATS(X)
#undef X
#define X(E, T, W) case SQZ_DT_##E: SQZ_BIN_LOOP(T, T, x); break;
        SQZ_ELEM_UINTS(X)
#undef X
    default: break;
    }
}

/* ---- BitShift (unsigned only); shifting by >= the width gives 0 ---- */
static void k_shift(sqz_dtype dt, void *o, const void *a, const void *b, int64_t n, int sa, int sb,
                    const void *param) {
    int right = *(const int *)param;
    switch (dt) {
#define X(E, T, W)                                                                        \
    case SQZ_DT_##E:                                                                      \
        if (right) SQZ_BIN_LOOP(T, T, y >= sizeof(T) * 8 ? 0 : (W)x >> y);               \
        else SQZ_BIN_LOOP(T, T, y >= sizeof(T) * 8 ? 0 : (W)x << y);                      \
        break;
        SQZ_ELEM_UINTS(X)
#undef X
    default: break;
    }
}

/* ---- operator definitions ---- */
#define ARITH_OP(sym, NAME, MASK, KERNEL)                                                      \
    static sqz_status sym##_infer(sqz_opctx *c) { return sqz_elem_binary_infer(c, MASK, SQZ_DT_UNDEF); } \
    static sqz_status sym##_forward(sqz_opctx *c) { return sqz_elem_binary_forward(c, KERNEL, NULL); } \
    const sqz_op sqz_op_##sym = {.name = NAME, .n_in_min = 2, .n_in_max = 2, .n_out_min = 1,   \
                                 .n_out_max = 1, .infer = sym##_infer, .forward = sym##_forward};

/* Add: f32 operands of equal shape take the vectorized kernel, which also applies a Relu/Clip the
 * session fused into it (c->act); other cases run the broadcasting loop, then the clamp. */
static sqz_status add_infer(sqz_opctx *c) { return sqz_elem_binary_infer(c, SQZ_EM_NUM, SQZ_DT_UNDEF); }
static int same_shape(const sqz_tensor *a, const sqz_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}
static sqz_status add_forward(sqz_opctx *c) {
    const sqz_tensor *a = c->in[0], *b = c->in[1];
    sqz_tensor *y = c->out[0];
    if (a->dtype == SQZ_DT_F32 && b->dtype == SQZ_DT_F32 && y->dtype == SQZ_DT_F32 && same_shape(a, b) &&
        same_shape(a, y)) {
        sqz_add_f32(sqz_cpu_isa(), sqz_tensor_numel(y), a->data, b->data, y->data, c->act, c->act_lo, c->act_hi);
        return SQZ_OK;
    }
    sqz_status st = sqz_elem_binary_forward(c, sqz_elem_k_add, NULL);
    if (!st && c->act && y->dtype == SQZ_DT_F32)
        sqz_clamp_f32(sqz_cpu_isa(), sqz_tensor_numel(y), y->data, y->data, c->act_lo, c->act_hi);
    return st;
}
const sqz_op sqz_op_add = {.name = "Add", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1, .n_out_max = 1,
                           .infer = add_infer, .forward = add_forward, .fuse_act = 1};

ARITH_OP(sub, "Sub", SQZ_EM_NUM, k_sub)
ARITH_OP(mul, "Mul", SQZ_EM_NUM, k_mul)
ARITH_OP(div, "Div", SQZ_EM_NUM, k_div)

/* PRelu before opset 7: a slope of C values applies per channel (axis 1) of X, i.e. it
 * is seen as [C, 1, ..., 1]. From opset 7 the slope broadcasts to X numpy-style. */
static void prelu_view(const sqz_opctx *c, sqz_tensor *view) {
    const sqz_tensor *x = c->in[0], *s = c->in[1];
    *view = *s;
    if (c->opset >= 7 || x->ndim < 3 || s->ndim != 1 || s->dims[0] == 1 || s->dims[0] != x->dims[1]) return;
    view->ndim = x->ndim - 1;
    for (int i = 1; i < view->ndim; i++) view->dims[i] = 1;
}

static sqz_status prelu_infer(sqz_opctx *c) {
    sqz_status st;
    if ((st = sqz_elem_check_input(c, 0, SQZ_EM_NUM)) || (st = sqz_elem_check_input(c, 1, SQZ_EM_NUM)) ||
        (st = sqz_elem_check_output(c)))
        return st;
    if (c->in[0]->dtype != c->in[1]->dtype)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "X has dtype %s, slope has %s", sqz_dtype_name(c->in[0]->dtype),
                           sqz_dtype_name(c->in[1]->dtype));
    sqz_tensor sv;
    prelu_view(c, &sv);
    int nd;
    int64_t dims[SQZ_MAX_DIMS];
    if ((st = sqz_broadcast_shape(c->in[0], &sv, &nd, dims, c->err))) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, nd, dims);
    return SQZ_OK;
}

static sqz_status prelu_forward(sqz_opctx *c) {
    sqz_tensor sv;
    prelu_view(c, &sv);
    return sqz_elem_binary_run(c->in[0], &sv, c->out[0], k_prelu, NULL, c->err);
}

const sqz_op sqz_op_prelu = {.name = "PRelu", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1, .n_out_max = 1,
                             .infer = prelu_infer, .forward = prelu_forward};

static sqz_status mod_infer(sqz_opctx *c) {
    int64_t f = c->node ? sqz_node_attr_int(c->node, "fmod", 0) : 0;
    if (f != 0 && f != 1)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "attribute fmod must be 0 or 1, not %lld", (long long)f);
    return sqz_elem_binary_infer(c, SQZ_EM_NUM, SQZ_DT_UNDEF);
}

static sqz_status mod_forward(sqz_opctx *c) {
    int f = c->node ? (int)sqz_node_attr_int(c->node, "fmod", 0) : 0;
    return sqz_elem_binary_forward(c, k_mod, &f);
}

const sqz_op sqz_op_mod = {.name = "Mod", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1, .n_out_max = 1,
                           .infer = mod_infer, .forward = mod_forward};

static sqz_status shift_dir(const sqz_opctx *c, int *right) {
    const char *d = c->node ? sqz_node_attr_str(c->node, "direction", NULL) : NULL;
    if (d && !strcmp(d, "RIGHT")) *right = 1;
    else if (d && !strcmp(d, "LEFT")) *right = 0;
    else return sqz_err_set(c->err, SQZ_ERR_DATA, "attribute direction must be \"LEFT\" or \"RIGHT\"");
    return SQZ_OK;
}

static sqz_status shift_infer(sqz_opctx *c) {
    int right;
    sqz_status st = shift_dir(c, &right);
    if (st) return st;
    return sqz_elem_binary_infer(c, SQZ_EM_UINT, SQZ_DT_UNDEF);
}

static sqz_status shift_forward(sqz_opctx *c) {
    int right;
    sqz_status st = shift_dir(c, &right);
    if (st) return st;
    return sqz_elem_binary_forward(c, k_shift, &right);
}

const sqz_op sqz_op_bitshift = {.name = "BitShift", .n_in_min = 2, .n_in_max = 2, .n_out_min = 1,
                                .n_out_max = 1, .infer = shift_infer, .forward = shift_forward};
