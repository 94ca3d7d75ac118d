/* train/grad_arith.c - Add, Sub, Mul, Div and PRelu backward with numpy broadcasting: the
 * gradient of an operand that was broadcast is summed over the broadcast dimensions. The
 * broadcast iterator collapses the shapes so each row is contiguous (stride 1) or one
 * repeated element (stride 0) per operand. f32; legacy (opset < 7) broadcasting is not
 * differentiated. */
#include <string.h>

#include "core/cpu.h"
#include "ops/elem_util.h"
#include "train/grad.h"
#include "train/grad_vec.h"

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


/* Forward: the inference op, except when the tape fused the Relu / Clip that alone reads this
 * same-shape sum (c->act): then y = a + b, the activation's output and its gradient mask (state
 * 0) in one pass, in fixed index ranges per thread. */
/* Both operands have the output's shape (at run time). */
static int same_shapes(const sqz_gctx *c) {
    const int64_t n = sqz_tensor_numel(c->out[0]);
    return sqz_tensor_numel(c->in[0]) == n && sqz_tensor_numel(c->in[1]) == n;
}

/* Channel count and elements per channel plane of a BatchNormalization input (N, C, ...). */
static void bn_planes(const sqz_tensor *x, int64_t *C, int64_t *inner) {
    *C = x->ndim > 1 ? x->dims[1] : 1;
    *inner = 1;
    for (int d = 2; d < x->ndim; d++) *inner *= x->dims[d];
}

/* A fused BatchNormalization operand as a tensor of its own (runtime broadcast: the unfused
 * forward reads it): x * a + b per channel into scratch slot. */
static sqz_status bn_operand(sqz_gctx *c, int i, int slot, sqz_tensor *dst) {
    const sqz_tensor *x = c->bn_x[i];
    const int64_t n = sqz_tensor_numel(x);
    int64_t C, inner;
    bn_planes(x, &C, &inner);
    float *v = sqz_grad_scratch(c, slot, sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!v) return SQZ_ERR_NOMEM;
    const float *xs = x->data, *a = c->bn_ab[i];
    for (int64_t p = 0; C > 0 && inner > 0 && p < n / inner; p++) sqz_tv_affine(v + p * inner, xs + p * inner, inner, a[p % C], a[C + p % C]);
    *dst = *c->in[i];
    dst->data = v;
    dst->nbytes = sizeof(float) * (size_t)n;
    return SQZ_OK;
}

static sqz_status add_fwd(sqz_gctx *c) {
    const int64_t n = sqz_tensor_numel(c->out[0]);
    uint8_t *m = c->act ? sqz_grad_state(c, 0, (size_t)n + 1) : NULL;
    if (c->act && !m) return SQZ_ERR_NOMEM;
    const int bn = c->bn_x[0] || c->bn_x[1], same = c->act && same_shapes(c);
    if (c->bn_live) *c->bn_live = bn && same;
    if (!c->act || !same) {
        const sqz_op *op = c->node->op;
        if (!op || !op->forward || op->scratch_bytes)
            return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Add: no inference forward");
        /* a deferred sum (data NULL) goes to scratch: the activation below still needs it */
        sqz_tensor yt = *c->out[0];
        sqz_tensor *outs[1] = {&yt};
        if (!yt.data && !(yt.data = sqz_grad_scratch(c, SQZ_GS_A, sizeof(float) * (size_t)(n > 0 ? n : 1))))
            return SQZ_ERR_NOMEM;
        if (!c->out[0]->data) yt.nbytes = sizeof(float) * (size_t)n;
        /* fused BatchNormalization operands, computed as their own tensors */
        sqz_tensor bt[2], *ins[2] = {c->in[0], c->in[1]};
        for (int i = 0; i < 2 && c->n_in == 2; i++) {
            if (!c->bn_x[i]) continue;
            sqz_status st = bn_operand(c, i, i ? SQZ_GS_C : SQZ_GS_B, &bt[i]);
            if (st) return st;
            ins[i] = &bt[i];
        }
        sqz_opctx oc = {.node = c->node, .in = bn ? ins : c->in, .n_in = c->n_in, .out = c->n_out == 1 ? outs : c->out,
                        .n_out = c->n_out, .opset = c->opset, .threads = c->threads, .err = c->err};
        sqz_status st = op->forward(&oc);
        if (st || !c->act) return st;
        /* broadcast after all: the activation as its own pass */
        const float *y = yt.data;
        float *z = c->act_out->data;
        for (int64_t i = 0; i < n; i++) {
            const float v = y[i];
            if (c->act == 1) {
                z[i] = (v > 0 || v != v) ? v : 0.0f;
                m[i] = v > 0;
            } else {
                const float u = v < c->act_lo ? c->act_lo : v;
                z[i] = u > c->act_hi ? c->act_hi : u;
                m[i] = v >= c->act_lo && v <= c->act_hi;
            }
        }
        return SQZ_OK;
    }
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data, *z = c->act_out->data;
    const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512, relu = c->act == 1, nt = sqz_tv_threads(c->threads, n);
    if (bn) { /* by channel planes: the BatchNormalization operands' coefficients are per channel */
        const float *x0 = c->bn_x[0] ? c->bn_x[0]->data : a, *x1 = c->bn_x[1] ? c->bn_x[1]->data : b;
        int64_t C, inner;
        bn_planes(c->bn_x[0] ? c->bn_x[0] : c->bn_x[1], &C, &inner);
        const int64_t planes = inner > 0 && C > 0 ? n / inner : 0;
        const int ntp = sqz_tv_threads(c->threads, planes > 1 ? n : 0);
#ifdef _OPENMP
#pragma omp parallel for num_threads(ntp) schedule(static) if (ntp > 1)
#endif
        for (int64_t p = 0; p < planes; p++) {
            const int64_t o = p * inner, ch = p % C;
            const float a0 = c->bn_x[0] ? c->bn_ab[0][ch] : 1.0f, b0 = c->bn_x[0] ? c->bn_ab[0][C + ch] : 0.0f;
            const float a1 = c->bn_x[1] ? c->bn_ab[1][ch] : 1.0f, b1 = c->bn_x[1] ? c->bn_ab[1][C + ch] : 0.0f;
            (avx512 ? sqz_tv_add_bn_act__avx512 : sqz_tv_add_bn_act)(y ? y + o : NULL, z + o, m + o, x0 + o, a0, b0,
                                                                    c->bn_x[0] != NULL, x1 + o, a1, b1,
                                                                    c->bn_x[1] != NULL, inner, relu, c->act_lo, c->act_hi);
        }
        return SQZ_OK;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        int64_t lo, hi;
        sqz_tv_part(n, t, nt, &lo, &hi);
        float *yo = y ? y + lo : NULL; /* NULL: deferred (the tape's fused pairs) */
        if (avx512) sqz_tv_add_act__avx512(yo, z + lo, m + lo, a + lo, b + lo, hi - lo, relu, c->act_lo, c->act_hi);
        else sqz_tv_add_act(yo, z + lo, m + lo, a + lo, b + lo, hi - lo, relu, c->act_lo, c->act_hi);
    }
    return SQZ_OK;
}

static sqz_status add_bwd(sqz_gctx *c) {
    if (!c->act) return arith_bwd(c, K_ADD);
    /* fused: g = mask ? dz : 0 is the sum's gradient; without a seed on the sum it goes straight
     * to both operands, else it is added to the seed first */
    const int64_t n = sqz_tensor_numel(c->out[0]);
    const uint8_t *m = c->state[0].p;
    const float *dz = c->act_dout;
    if (!m) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Add: no activation mask");
    const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512;
    if (c->dout[0] || !same_shapes(c)) { /* g into the sum's gradient (or a scratch copy), then as unfused */
        float *buf = c->dout[0];
        if (!buf && !(buf = sqz_grad_scratch(c, SQZ_GS_A, sizeof(float) * (size_t)(n > 0 ? n : 1)))) return SQZ_ERR_NOMEM;
        if (dz) sqz_tv_mask_acc(buf, dz, m, n, !c->dout[0]);
        else if (!c->dout[0]) memset(buf, 0, sizeof(float) * (size_t)n);
        float *dout[1] = {buf};
        sqz_gctx u = *c;
        u.dout = dout;
        return arith_bwd(&u, K_ADD);
    }
    for (int i = 0; i < 2; i++)
        if (!dz || !(c->fresh >> i & 1u)) sqz_grad_din_zero(c, i);
    if (!dz) return SQZ_OK;
    float *d[2] = {c->din[0], c->din[1]};
    const int set[2] = {(int)(c->fresh & 1u), (int)(c->fresh >> 1 & 1u)};
    const int nt = sqz_tv_threads(c->threads, n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        int64_t lo, hi;
        sqz_tv_part(n, t, nt, &lo, &hi);
        for (int64_t c0 = lo; c0 < hi; c0 += 4096) { /* both operands per chunk: dz and m read from L1 */
            const int64_t len = hi - c0 < 4096 ? hi - c0 : 4096;
            for (int i = 0; i < 2; i++) {
                if (!d[i]) continue;
                if (avx512) sqz_tv_mask_acc__avx512(d[i] + c0, dz + c0, m + c0, len, set[i]);
                else sqz_tv_mask_acc(d[i] + c0, dz + c0, m + c0, len, set[i]);
            }
        }
    }
    return SQZ_OK;
}
static sqz_status sub_bwd(sqz_gctx *c) { return arith_bwd(c, K_SUB); }
static sqz_status mul_bwd(sqz_gctx *c) { return arith_bwd(c, K_MUL); }
static sqz_status div_bwd(sqz_gctx *c) { return arith_bwd(c, K_DIV); }
static sqz_status prelu_bwd(sqz_gctx *c) {
    if (c->opset < 7) return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "PRelu: opset < 7 is not differentiable");
    return arith_bwd(c, K_PRELU);
}

const sqz_grad_op sqz_grad_add = {.op = "Add", .param_slots = 0x3u, .forward = add_fwd, .backward = add_bwd,
                                  .stores = 1};
const sqz_grad_op sqz_grad_sub = {.op = "Sub", .param_slots = 0x3u, .backward = sub_bwd, .stores = 1};
const sqz_grad_op sqz_grad_mul = {.op = "Mul", .param_slots = 0x3u, .backward = mul_bwd};
const sqz_grad_op sqz_grad_div = {.op = "Div", .param_slots = 0x3u, .backward = div_bwd};
const sqz_grad_op sqz_grad_prelu = {.op = "PRelu", .param_slots = 0x2u, .backward = prelu_bwd};
