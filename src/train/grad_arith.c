/* train/grad_arith.c - Add, Sub, Mul, Div and PRelu backward with numpy broadcasting: the
 * gradient of an operand that was broadcast is summed over the broadcast dimensions. The
 * broadcast iterator collapses the shapes so each row is contiguous (stride 1) or one
 * repeated element (stride 0) per operand. f32; legacy (opset < 7) broadcasting is not
 * differentiated. */
#include "ops/elem_util.h"
#include "train/grad.h"

typedef enum { K_ADD, K_SUB, K_MUL, K_DIV, K_PRELU } arith_kind;

/* d[i*s] += EXPR for i < n (SET: = EXPR, for an operand of the output's shape whose gradient
 * buffer is fresh); a running sum when the operand was broadcast along the row. */
#define ACC(D, S, SET, EXPR)                                              \
    do {                                                                  \
        if (!(D)) break;                                                  \
        float *d_ = (D);                                                  \
        if (S && (SET)) {                                                 \
            for (int64_t i = 0; i < n; i++) d_[i] = (EXPR);               \
        } else if (S) {                                                   \
            for (int64_t i = 0; i < n; i++) d_[i] += (EXPR);              \
        } else {                                                          \
            float s_ = 0;                                                 \
            for (int64_t i = 0; i < n; i++) s_ += (EXPR);                 \
            d_[0] += s_;                                                  \
        }                                                                 \
    } while (0)

static sqz_status arith_bwd(sqz_gctx *c, arith_kind k) {
    const sqz_tensor *A = c->in[0], *B = c->in[1];
    sqz_status st;
    if ((st = sqz_grad_check_f32(c, A, "A")) || (st = sqz_grad_check_f32(c, B, "B"))) return st;
    if (c->opset < 7 && sqz_node_attr_int(c->node, "broadcast", 0))
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: legacy broadcasting is not differentiable",
                           c->node->op_type);
    /* a fresh gradient of an operand with the output's shape is written once per element (set);
     * a broadcast operand's sums accumulate into a zeroed buffer */
    const int64_t ny = sqz_tensor_numel(c->out[0]);
    int set[2];
    for (int i = 0; i < 2; i++) {
        set[i] = (c->fresh >> i & 1u) && sqz_tensor_numel(c->in[i]) == ny;
        if (!set[i]) sqz_grad_din_zero(c, i);
    }
    float *da = c->din[0], *db = c->din[1];
    if (!da && !db) return SQZ_OK;
    sqz_bcast it;
    const sqz_tensor *in[2] = {A, B};
    if ((st = sqz_bcast_init(&it, c->out[0], in, 2, c->err))) return st;
    const float *a = A->data, *b = B->data, *dy = c->dout[0];
    const int64_t n = it.inner;
    for (int64_t r = 0; r < it.rows; r++) {
        const float *g = dy + r * n, *ar = a + it.off[0], *br = b + it.off[1];
        const int sa = it.istr[0], sb = it.istr[1];
        float *dar = da ? da + it.off[0] : NULL, *dbr = db ? db + it.off[1] : NULL;
        switch (k) {
        case K_ADD:
            ACC(dar, sa, set[0], g[i]);
            ACC(dbr, sb, set[1], g[i]);
            break;
        case K_SUB:
            ACC(dar, sa, set[0], g[i]);
            ACC(dbr, sb, set[1], -g[i]);
            break;
        case K_MUL:
            ACC(dar, sa, set[0], g[i] * br[i * sb]);
            ACC(dbr, sb, set[1], g[i] * ar[i * sa]);
            break;
        case K_DIV:
            ACC(dar, sa, set[0], g[i] / br[i * sb]);
            ACC(dbr, sb, set[1], -g[i] * ar[i * sa] / (br[i * sb] * br[i * sb]));
            break;
        case K_PRELU:
            ACC(dar, sa, set[0], ar[i * sa] < 0 ? g[i] * br[i * sb] : g[i]);
            ACC(dbr, sb, set[1], ar[i * sa] < 0 ? g[i] * ar[i * sa] : 0.0f);
            break;
        }
        sqz_bcast_next(&it);
    }
    return SQZ_OK;
}

static sqz_status add_bwd(sqz_gctx *c) { return arith_bwd(c, K_ADD); }
static sqz_status sub_bwd(sqz_gctx *c) { return arith_bwd(c, K_SUB); }
static sqz_status mul_bwd(sqz_gctx *c) { return arith_bwd(c, K_MUL); }
static sqz_status div_bwd(sqz_gctx *c) { return arith_bwd(c, K_DIV); }
static sqz_status prelu_bwd(sqz_gctx *c) {
    if (c->opset < 7) return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "PRelu: opset < 7 is not differentiable");
    return arith_bwd(c, K_PRELU);
}

const sqz_grad_op sqz_grad_add = {.op = "Add", .param_slots = 0x3u, .backward = add_bwd, .stores = 1};
const sqz_grad_op sqz_grad_sub = {.op = "Sub", .param_slots = 0x3u, .backward = sub_bwd, .stores = 1};
const sqz_grad_op sqz_grad_mul = {.op = "Mul", .param_slots = 0x3u, .backward = mul_bwd};
const sqz_grad_op sqz_grad_div = {.op = "Div", .param_slots = 0x3u, .backward = div_bwd};
const sqz_grad_op sqz_grad_prelu = {.op = "PRelu", .param_slots = 0x2u, .backward = prelu_bwd};
