/* graph/qdq.c - load-time rewrite of QDQ-format int8 models to sqz's integer operators.
 *
 * ONNX int8 models are usually stored in "QDQ" form: a quantized tensor is dequantized
 * (DequantizeLinear, DQ) in front of an ordinary fp32 operator whose result is quantized again
 * (QuantizeLinear, Q). Run literally that is dequantize, fp32 compute, quantize, and the int8
 * kernels are never used. Like ONNX Runtime's QDQ fusions, this pass rewrites
 *
 *   DQ(x) -> Conv(DQ(w), [b]) [-> Relu|Clip] -> Q      => QLinearConv(x_q, ..., [b_i32])
 *   DQ(a) -> MatMul(DQ(b)) [-> Relu|Clip] -> Q         => QLinearMatMul(a_q, ...)
 *   DQ(a) -> Gemm(DQ(b), [c]) [-> Relu|Clip] -> Q      => QLinearMatMul(a_q, ..., [c_i32])
 *   DQ(a), DQ(b) -> Add [-> Relu|Clip] -> Q            => com.microsoft:QLinearAdd
 *   DQ(x) -> GlobalAveragePool -> Q                    => com.microsoft:QLinearGlobalAveragePool
 *   DQ(x) -> MaxPool|Reshape|Flatten|Squeeze|Unsqueeze|Transpose -> Q, the same scale and
 *            zero point on both sides                  => the same op on x_q (exact)
 *
 * when every condition holds:
 *  - scales are constant f32 initializers, finite, normal and > 0; zero points constant u8/i8
 *    initializers (or absent); activations (x, a, the output) are quantized per tensor;
 *  - w / b are constant u8/i8 initializers, quantized per tensor or per output channel (Conv:
 *    axis 0; MatMul and Gemm with transB = 0: axis 1; Gemm with transB = 1: axis 0);
 *  - the bias is DQ(i32 initializer) with zero point 0 and scale x_scale * w_scale (used as is),
 *    or a f32 initializer (or a DQ(i32) with another scale): quantized to i32 with scale
 *    x_scale * w_scale, rounding half to even; a value beyond +-2^30 blocks the rewrite, as int32
 *    accumulation could then wrap where fp32 does not;
 *  - Gemm: transA = 0, alpha = 1, beta = 1, a bias of N values or one (broadcast);
 *  - Conv: 1-D or 2-D (QLinearConv's reach); the rewritten node must pass its operator's shape
 *    inference, or the graph is left as it was;
 *  - the fp32 tensors inside the pattern (operator output, Relu/Clip output) are read by nothing
 *    else and are no graph outputs. A DQ output may have other readers: the DQ then stays for
 *    them (ONNX Runtime duplicates such DQ nodes for the same purpose).
 * A Relu, or a Clip with constant bounds a <= b (not NaN), before Q is exact in the quantized
 * domain: quantization is monotone, so Q(clip(v, a, b)) = clip(Q(v), Q(a), Q(b)) and Q(relu(v)) =
 * max(Q(v), y_zero_point). The clamp goes into the internal attributes sqz_y_min / sqz_y_max of
 * ops/q_util.h (none when it is the output dtype's range anyway).
 *
 * The QDQ graph rounds once, at Q, a fp32 result; the integer operators round the exact integer
 * accumulator times a float multiplier. Outputs therefore agree except where the fp32 result lies
 * within float rounding of a rounding boundary, and there by one quantization step. The
 * value-moving ops (MaxPool, Reshape, ...) are exact. DQ nodes left without readers are removed, and the tensor table is compacted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/passes.h"
#include "ops/q_util.h"
#include "sqz/analysis.h"

#define QDQ_BIAS_MAX 1073741824.0 /* 2^30 */

typedef struct qdq_ctx {
    sqz_graph *g;
    int *uses;     /* (cap) reads by live nodes + graph output slots */
    int cap;
    uint8_t *dead; /* (n_nodes) node removed */
    int added;     /* tensors were added (compact even when nothing was rewritten) */
    sqz_err *err;
} qdq_ctx;

static int is_op(const sqz_node *n, const char *type) {
    return !strcmp(n->op_type, type) && (!n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx"));
}

static int is_graph_output(const sqz_graph *g, int t) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t) return 1;
    return (g->tensors[t]->flags & SQZ_TF_OUTPUT) != 0;
}

/* An initializer the caller cannot override: dense, no quantization parameters or mask, all its
 * data present. */
static const sqz_tensor *const_tensor(const sqz_graph *g, int t) {
    if (t < 0) return NULL;
    const sqz_tensor *x = g->tensors[t];
    const size_t es = sqz_dtype_size(x->dtype);
    if (!(x->flags & SQZ_TF_INIT) || (x->flags & SQZ_TF_INPUT) || x->quant || x->mask ||
        x->encoding != SQZ_ENC_DENSE || x->ndim < 0 || !es)
        return NULL;
    const int64_t n = sqz_tensor_numel(x);
    if (n < 0 || (uint64_t)n > SIZE_MAX / es || x->nbytes < (size_t)n * es || (n && !x->data)) return NULL;
    return x;
}

/* A scale: constant f32, scalar or 1-D, every value finite, normal, > 0 and < 1e30 (so that
 * 255 * scale stays finite). *count: its elements. */
static const sqz_tensor *scale_of(const sqz_graph *g, int t, int64_t *count) {
    const sqz_tensor *s = const_tensor(g, t);
    if (!s || s->dtype != SQZ_DT_F32 || s->ndim > 1) return NULL;
    const int64_t n = sqz_tensor_numel(s);
    if (n < 1) return NULL;
    const float *v = s->data;
    for (int64_t i = 0; i < n; i++)
        if (!isnormal(v[i]) || !(v[i] > 0.0f) || !(v[i] < 1e30f)) return NULL;
    *count = n;
    return s;
}

static int is_q8(sqz_dtype dt) { return dt == SQZ_DT_U8 || dt == SQZ_DT_I8; }

/* ---- pattern pieces ---- */

typedef struct dq_info {
    int node;           /* the DequantizeLinear */
    int x, s, z;        /* quantized input, scale, zero point (-1: absent) */
    const sqz_tensor *X, *S, *Z; /* Z NULL when absent */
    int64_t count;      /* scale elements: 1 per tensor */
    int axis;           /* quantization axis of x when count > 1 */
    sqz_dtype dt;       /* of x */
} dq_info;

/* 1 if tensor t is the output of a live DequantizeLinear with constant parameters. */
static int dq_of(const qdq_ctx *o, int t, dq_info *d) {
    const sqz_graph *g = o->g;
    if (t < 0) return 0;
    const int p = g->tensors[t]->producer;
    if (p < 0 || p >= g->n_nodes || o->dead[p]) return 0;
    const sqz_node *n = g->nodes[p];
    if (!is_op(n, "DequantizeLinear") || n->n_in < 2 || n->n_in > 3 || n->n_out != 1 || n->out[0] != t ||
        n->in[0] < 0 || n->in[1] < 0)
        return 0;
    if (sqz_node_attr_int(n, "block_size", 0) != 0) return 0;
    memset(d, 0, sizeof *d);
    d->node = p;
    d->x = n->in[0];
    d->s = n->in[1];
    d->z = n->n_in > 2 ? n->in[2] : -1;
    d->X = g->tensors[d->x];
    d->dt = d->X->dtype;
    if (d->dt != SQZ_DT_U8 && d->dt != SQZ_DT_I8 && d->dt != SQZ_DT_I32) return 0;
    if (!(d->S = scale_of(g, d->s, &d->count))) return 0;
    if (d->z >= 0) {
        d->Z = const_tensor(g, d->z);
        if (!d->Z || d->Z->dtype != d->dt || d->Z->ndim > 1 || sqz_tensor_numel(d->Z) != d->count) return 0;
    }
    if (d->count > 1) {
        const int r = d->X->ndim;
        const int64_t ax = sqz_node_attr_int(n, "axis", 1);
        if (r < 1 || ax < -r || ax >= r) return 0;
        d->axis = (int)(ax < 0 ? ax + r : ax);
        if (d->X->dims[d->axis] != d->count) return 0;
    }
    return 1;
}

/* A quantized activation: DQ of a u8/i8 tensor, per tensor. */
static int act_dq(const qdq_ctx *o, int t, dq_info *d) {
    return dq_of(o, t, d) && is_q8(d->dt) && d->count == 1;
}

/* Weights: DQ of a constant u8/i8 initializer, per tensor or per `axis`. */
static int weight_dq(const qdq_ctx *o, int t, int axis, dq_info *d) {
    return dq_of(o, t, d) && is_q8(d->dt) && const_tensor(o->g, d->x) && (d->count == 1 || d->axis == axis);
}

/* The one live node reading tensor t (once) when t is no graph output; else -1. */
static int sole_reader(const qdq_ctx *o, int t) {
    const sqz_graph *g = o->g;
    if (o->uses[t] != 1 || is_graph_output(g, t)) return -1;
    for (int k = 0; k < g->n_nodes; k++) {
        if (o->dead[k]) continue;
        for (int j = 0; j < g->nodes[k]->n_in; j++)
            if (g->nodes[k]->in[j] == t) return k;
    }
    return -1;
}

typedef struct q_info {
    int node, v, y, s, z; /* the QuantizeLinear, its input and output, scale, zero point (-1: absent) */
    sqz_dtype dt;         /* of y */
    float scale;
    int32_t zp, lo, hi;   /* zero point; clamp of the output (the dtype's range narrowed by Relu/Clip) */
    int act;              /* the Relu/Clip before it, or -1 */
} q_info;

/* Scalar f32 constant. */
/* From tensor v (an fp32 operator output) through an optional Relu/Clip (allow_act) to the
 * QuantizeLinear that quantizes it per tensor with constant parameters. */
static int tail_of(const qdq_ctx *o, int v, int allow_act, q_info *q) {
    const sqz_graph *g = o->g;
    memset(q, 0, sizeof *q);
    q->act = -1;
    int r = sole_reader(o, v);
    if (r < 0) return 0;
    float a = -INFINITY, b = INFINITY;
    if (is_op(g->nodes[r], "Relu") || is_op(g->nodes[r], "Clip")) {
        if (!allow_act || !sqz_node_act_bounds(g, g->nodes[r], v, &a, &b) || a > b) return 0;
        q->act = r;
        v = g->nodes[r]->out[0];
        if ((r = sole_reader(o, v)) < 0) return 0;
    }
    const sqz_node *n = g->nodes[r];
    if (!is_op(n, "QuantizeLinear") || n->n_in < 2 || n->n_in > 3 || n->n_out != 1 || n->out[0] < 0 ||
        n->in[0] != v || n->in[1] < 0)
        return 0;
    if (sqz_node_attr_int(n, "block_size", 0) != 0 || sqz_node_attr_int(n, "output_dtype", 0) != 0) return 0;
    int64_t cnt;
    const sqz_tensor *S = scale_of(g, n->in[1], &cnt);
    if (!S || cnt != 1) return 0;
    q->node = r;
    q->v = v;
    q->y = n->out[0];
    q->s = n->in[1];
    q->z = n->n_in > 2 ? n->in[2] : -1;
    q->scale = *(const float *)S->data;
    q->dt = SQZ_DT_U8;
    if (q->z >= 0) {
        const sqz_tensor *Z = const_tensor(g, q->z);
        if (!Z || !is_q8(Z->dtype) || Z->ndim > 1 || sqz_tensor_numel(Z) != 1) return 0;
        q->dt = Z->dtype;
        q->zp = sqz_q_zp_at(Z, 0);
    }
    const sqz_dtype ydt = g->tensors[q->y]->dtype;
    if (ydt != SQZ_DT_UNDEF && ydt != q->dt) return 0;
    sqz_q_range(q->dt, &q->lo, &q->hi);
    if (q->act >= 0) { /* Q is monotone: Q(clip(v, a, b)) = clip(Q(v), Q(a), Q(b)) */
        const int32_t ql = sqz_quantize_f32(a, q->scale, q->zp, q->lo, q->hi);
        const int32_t qh = sqz_quantize_f32(b, q->scale, q->zp, q->lo, q->hi);
        q->lo = ql;
        q->hi = qh;
    }
    return 1;
}

/* ---- bias ---- */

typedef struct bias_plan {
    int reuse;      /* tensor index of an i32 [C] bias usable as is, or -1 */
    int32_t *vals;  /* (C) new values (malloc'd), or NULL */
    int dq;         /* the bias DequantizeLinear, or -1 */
} bias_plan;

/* Plans the i32 bias of C channels for fp32 bias tensor t (f32 initializer, or DQ of an i32
 * initializer) of a node whose accumulator scale is x_scale * w_scale[c]. broadcast: a bias of
 * one element applies to every channel (Gemm). 0 when the bias cannot be expressed exactly. */
static int bias_of(const qdq_ctx *o, int t, int64_t C, float xs, const sqz_tensor *ws, int broadcast,
                   bias_plan *bp) {
    const sqz_graph *g = o->g;
    bp->reuse = -1;
    bp->vals = NULL;
    bp->dq = -1;
    const sqz_tensor *B = const_tensor(g, t);
    dq_info d;
    memset(&d, 0, sizeof d);
    if (!B) {
        if (!dq_of(o, t, &d) || d.dt != SQZ_DT_I32 || !(B = const_tensor(g, d.x))) return 0;
        if (d.count > 1 && (d.X->ndim != 1 || d.count != C)) return 0;
        bp->dq = d.node;
    } else if (B->dtype != SQZ_DT_F32) {
        return 0;
    }
    const int64_t n = sqz_tensor_numel(B);
    if (!(n == C || (broadcast && n == 1))) return 0;
    for (int i = 0; i < B->ndim - 1; i++)
        if (B->dims[i] != 1) return 0; /* [C] or [1, C] (or one element) */
    if (bp->dq >= 0 && n == C && B->ndim == 1) { /* DQ(i32) with scale x_scale * w_scale: as is */
        int same = 1;
        for (int64_t c = 0; c < C && same; c++) {
            const double want = (double)xs * sqz_q_scale_at(ws, c), got = sqz_q_scale_at(d.S, c);
            same = sqz_q_zp_at(d.Z, c) == 0 && fabs(got - want) <= 1e-6 * want &&
                   fabs((double)((const int32_t *)B->data)[c]) <= QDQ_BIAS_MAX;
        }
        if (same) {
            bp->reuse = d.x;
            return 1;
        }
    }
    if (!(bp->vals = malloc(sizeof(int32_t) * (size_t)C))) return 0;
    for (int64_t c = 0; c < C; c++) {
        const int64_t i = n == 1 ? 0 : c;
        float f; /* the fp32 value the QDQ graph adds */
        if (bp->dq >= 0)
            f = (float)((int64_t)((const int32_t *)B->data)[i] - sqz_q_zp_at(d.Z, i)) * sqz_q_scale_at(d.S, i);
        else
            f = ((const float *)B->data)[i];
        const double q = nearbyint((double)f / ((double)xs * sqz_q_scale_at(ws, c)));
        if (!(fabs(q) <= QDQ_BIAS_MAX)) { /* also NaN */
            free(bp->vals);
            bp->vals = NULL;
            return 0;
        }
        bp->vals[c] = (int32_t)q;
    }
    return 1;
}

/* ---- graph edits ---- */

/* A new initializer named after node n and what; its data zeroed. -1 on error (err set). */
static int new_init(qdq_ctx *o, const sqz_node *n, const char *what, sqz_dtype dt, int ndim, const int64_t *dims) {
    sqz_graph *g = o->g;
    char base[256];
    snprintf(base, sizeof base, "%.200s_%s", n->name && n->name[0] ? n->name : n->op_type, what);
    char *name = sqz_graph_unique_name(g, base);
    if (!name) {
        sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory rewriting QDQ node '%s'", n->name);
        return -1;
    }
    const int t = sqz_graph_add_tensor(g, name, dt, ndim, dims, o->err);
    if (t < 0) return -1;
    if (sqz_graph_alloc_data(g, g->tensors[t], o->err)) return -1;
    g->tensors[t]->flags |= SQZ_TF_INIT;
    o->added = 1;
    if (t >= o->cap) {
        const int cap = 2 * t + 16;
        int *u = realloc(o->uses, sizeof(int) * (size_t)cap);
        if (!u) {
            sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory rewriting QDQ node '%s'", n->name);
            return -1;
        }
        memset(u + o->cap, 0, sizeof(int) * (size_t)(cap - o->cap));
        o->uses = u;
        o->cap = cap;
    }
    return t;
}

/* zero point z, or a new scalar 0 of dtype dt when it is absent (QLinearConv and friends want
 * their zero points as inputs). */
static int zero_point(qdq_ctx *o, const sqz_node *n, const char *what, int z, sqz_dtype dt) {
    return z >= 0 ? z : new_init(o, n, what, dt, 0, NULL);
}

static void drop_node(qdq_ctx *o, int k) {
    const sqz_node *n = o->g->nodes[k];
    o->dead[k] = 1;
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0) o->uses[n->in[j]]--;
}

/* Drops DQ node k when nothing reads its output any more. */
static void drop_if_unread(qdq_ctx *o, int k) {
    if (k < 0 || o->dead[k]) return;
    const int t = o->g->nodes[k]->out[0];
    if (t >= 0 && o->uses[t] == 0 && !is_graph_output(o->g, t)) drop_node(o, k);
}

/* Turns node k into domain:type reading in[n_in] and writing q->y, with n's attributes (keep_attrs)
 * plus the output clamp of q; removes the Relu/Clip and the QuantizeLinear. *done = 0 when the
 * operator's shape inference refuses the new node (the graph is then unchanged). */
static sqz_status retarget(qdq_ctx *o, int k, const char *type, const char *domain, const int *in, int n_in,
                           int keep_attrs, const q_info *q, int *done) {
    sqz_graph *g = o->g;
    sqz_node *n = g->nodes[k];
    *done = 0;
    const sqz_op *op = sqz_op_find(domain, type);
    if (!op) return sqz_err_set(o->err, SQZ_ERR_INTERNAL, "QDQ rewrite: operator %s is not registered", type);
    int32_t dlo, dhi;
    sqz_q_range(q->dt, &dlo, &dhi);
    const int n_attrs = keep_attrs ? n->n_attrs : 0;
    sqz_attr *attrs = sqz_arena_alloc(g->arena, sizeof(sqz_attr) * (size_t)(n_attrs + 2), 8);
    int *nin = sqz_arena_alloc(g->arena, sizeof(int) * (size_t)n_in, 8);
    char *t = sqz_arena_strdup(g->arena, type), *d = sqz_arena_strdup(g->arena, domain);
    if (!attrs || !nin || !t || !d)
        return sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory rewriting QDQ node '%s'", n->name);
    if (n_attrs) memcpy(attrs, n->attrs, sizeof(sqz_attr) * (size_t)n_attrs);
    int na = n_attrs;
    for (int i = 0; i < 2; i++) {
        const int32_t v = i ? q->hi : q->lo;
        if (v == (i ? dhi : dlo)) continue;
        attrs[na] = (sqz_attr){.name = sqz_arena_strdup(g->arena, i ? SQZ_Q_ATTR_Y_MAX : SQZ_Q_ATTR_Y_MIN),
                               .type = SQZ_ATTR_INT, .i = v};
        if (!attrs[na++].name) return sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory rewriting QDQ node");
    }
    memcpy(nin, in, sizeof(int) * (size_t)n_in);
    /* the node as it would be: its operator must accept it with the shapes known now */
    sqz_node trial = *n;
    trial.op_type = t;
    trial.domain = d;
    trial.op = op;
    trial.in = nin;
    trial.n_in = n_in;
    trial.attrs = attrs;
    trial.n_attrs = na;
    int yout[1] = {q->y};
    trial.out = yout;
    trial.n_out = 1;
    const sqz_op *rop;
    if (n_in > 16 || sqz_node_resolve(&trial, &rop, NULL)) return SQZ_OK;
    sqz_tensor *tin[16], yt = *g->tensors[q->y], *tout[1] = {&yt};
    for (int j = 0; j < n_in; j++) tin[j] = in[j] >= 0 ? g->tensors[in[j]] : NULL;
    sqz_err e;
    sqz_opctx c = {.node = &trial, .in = tin, .n_in = n_in, .out = tout, .n_out = 1, .opset = g->opset,
                   .threads = 1, .err = &e};
    if (op->infer(&c) || yt.dtype != q->dt) return SQZ_OK;
    /* commit */
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0) o->uses[n->in[j]]--;
    for (int j = 0; j < n_in; j++)
        if (in[j] >= 0) o->uses[in[j]]++;
    const int v = n->out[0];
    int *out = n->out;
    *n = trial;
    n->out = out;
    n->out[0] = q->y;
    g->tensors[v]->producer = -1;
    g->tensors[q->y]->producer = k;
    if (q->act >= 0) drop_node(o, q->act);
    drop_node(o, q->node);
    *done = 1;
    return SQZ_OK;
}

/* ---- the patterns ---- */

/* The common end of the QLinearConv and QLinearMatMul rewrites of node k: inputs (x, its scale
 * and zero point, w, its scale and zero point, y's scale and zero point[, bias]) with the zero
 * points named zp[] made where the DequantizeLinears had none, w transposed into a new [K, N]
 * initializer when kn (QLinearMatMul reads b as [K, N]; w is then [N, K]), the bias's nb int32
 * values when bp made new ones; then the node retargeted and the DequantizeLinears nothing else
 * reads dropped. Frees bp's values. */
static sqz_status linear_finish(qdq_ctx *o, int k, const char *type, int keep_attrs, const dq_info *dx,
                                const dq_info *dw, const int64_t *kn, const q_info *q, bias_plan *bp, int64_t nb,
                                const char *const zp[3], int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    sqz_status st = SQZ_OK;
    int in[9] = {dx->x, dx->s, -1, dw->x, dw->s, -1, q->s, -1, bp->reuse}, n_in = 8;
    if ((in[2] = zero_point(o, n, zp[0], dx->z, dx->dt)) < 0 || (in[5] = zero_point(o, n, zp[1], dw->z, dw->dt)) < 0 ||
        (in[7] = zero_point(o, n, zp[2], q->z, q->dt)) < 0)
        goto fail;
    if (kn) {
        if ((in[3] = new_init(o, n, "b_t", dw->dt, 2, kn)) < 0) goto fail;
        const uint8_t *src = dw->X->data;
        uint8_t *dst = g->tensors[in[3]]->data;
        for (int64_t r = 0; r < kn[1]; r++)
            for (int64_t c = 0; c < kn[0]; c++) dst[c * kn[1] + r] = src[r * kn[0] + c];
    }
    if (bp->vals) {
        if ((in[8] = new_init(o, n, "bias_i32", SQZ_DT_I32, 1, &nb)) < 0) goto fail;
        memcpy(g->tensors[in[8]]->data, bp->vals, sizeof(int32_t) * (size_t)nb);
    }
    if (in[8] >= 0) n_in = 9;
    if ((st = retarget(o, k, type, "", in, n_in, keep_attrs, q, done))) goto out;
    if (*done) {
        drop_if_unread(o, dx->node);
        drop_if_unread(o, dw->node);
        drop_if_unread(o, bp->dq);
    }
    goto out;
fail:
    st = o->err ? o->err->code : SQZ_ERR_NOMEM;
out:
    free(bp->vals);
    bp->vals = NULL;
    return st;
}

/* DQ(x) -> Conv(DQ(w), [b]) [-> Relu|Clip] -> Q  =>  QLinearConv */
static sqz_status rewrite_conv(qdq_ctx *o, int k, int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    *done = 0;
    if (n->n_in < 2 || n->n_in > 3 || n->n_out != 1 || n->out[0] < 0) return SQZ_OK;
    dq_info dx, dw;
    if (!act_dq(o, n->in[0], &dx) || const_tensor(g, dx.x) || !weight_dq(o, n->in[1], 0, &dw)) return SQZ_OK;
    const sqz_tensor *W = dw.X;
    if (W->ndim != 3 && W->ndim != 4) return SQZ_OK; /* QLinearConv is 1-D and 2-D */
    const int64_t M = W->dims[0], G = sqz_node_attr_int(n, "group", 1);
    if (M < 1 || G < 1 || M % G || (dw.count != 1 && dw.count != M)) return SQZ_OK;
    q_info q;
    if (!tail_of(o, n->out[0], 1, &q)) return SQZ_OK;
    const float xs = *(const float *)dx.S->data;
    bias_plan bp = {-1, NULL, -1};
    if (n->n_in > 2 && n->in[2] >= 0 && !bias_of(o, n->in[2], M, xs, dw.S, 0, &bp)) return SQZ_OK;
    static const char *const zp[3] = {"x_zero_point", "w_zero_point", "y_zero_point"};
    return linear_finish(o, k, "QLinearConv", 1, &dx, &dw, NULL, &q, &bp, M, zp, done);
}

/* DQ(a) -> MatMul(DQ(b)) or Gemm(DQ(b), [c]) [-> Relu|Clip] -> Q  =>  QLinearMatMul */
static sqz_status rewrite_matmul(qdq_ctx *o, int k, int gemm, int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    *done = 0;
    if (n->n_in < 2 || n->n_in > (gemm ? 3 : 2) || n->n_out != 1 || n->out[0] < 0) return SQZ_OK;
    int transB = 0;
    if (gemm) {
        const int64_t tb = sqz_node_attr_int(n, "transB", 0);
        if (sqz_node_attr_int(n, "transA", 0) != 0 || (tb != 0 && tb != 1) ||
            sqz_node_attr_float(n, "alpha", 1.0f) != 1.0f || sqz_node_attr_float(n, "beta", 1.0f) != 1.0f)
            return SQZ_OK;
        transB = (int)tb;
    }
    dq_info da, db;
    if (!act_dq(o, n->in[0], &da) || const_tensor(g, da.x) || !weight_dq(o, n->in[1], transB ? 0 : 1, &db))
        return SQZ_OK;
    const sqz_tensor *Bq = db.X;
    if (Bq->ndim != 2 || (gemm && da.X->ndim >= 0 && da.X->ndim != 2)) return SQZ_OK;
    const int64_t N = transB ? Bq->dims[0] : Bq->dims[1], K = transB ? Bq->dims[1] : Bq->dims[0];
    if (N < 1 || K < 1 || (db.count != 1 && db.count != N)) return SQZ_OK;
    q_info q;
    if (!tail_of(o, n->out[0], 1, &q)) return SQZ_OK;
    const float as = *(const float *)da.S->data;
    bias_plan bp = {-1, NULL, -1};
    if (gemm && n->n_in > 2 && n->in[2] >= 0 && !bias_of(o, n->in[2], N, as, db.S, 1, &bp)) return SQZ_OK;
    static const char *const zp[3] = {"a_zero_point", "b_zero_point", "y_zero_point"};
    const int64_t kn[2] = {K, N};
    return linear_finish(o, k, "QLinearMatMul", 0, &da, &db, transB ? kn : NULL, &q, &bp, N, zp, done);
}

/* DQ(a), DQ(b) -> Add [-> Relu|Clip] -> Q  =>  com.microsoft:QLinearAdd (one dtype throughout) */
static sqz_status rewrite_add(qdq_ctx *o, int k, int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    *done = 0;
    if (n->n_in != 2 || n->n_out != 1 || n->out[0] < 0) return SQZ_OK;
    dq_info da, db;
    if (!act_dq(o, n->in[0], &da) || !act_dq(o, n->in[1], &db) || da.dt != db.dt) return SQZ_OK;
    if (const_tensor(g, da.x) && const_tensor(g, db.x)) return SQZ_OK; /* left to constant folding */
    q_info q;
    if (!tail_of(o, n->out[0], 1, &q) || q.dt != da.dt) return SQZ_OK;
    int in[8] = {da.x, da.s, -1, db.x, db.s, -1, q.s, -1};
    if ((in[2] = zero_point(o, n, "a_zero_point", da.z, da.dt)) < 0 ||
        (in[5] = zero_point(o, n, "b_zero_point", db.z, db.dt)) < 0 ||
        (in[7] = zero_point(o, n, "y_zero_point", q.z, q.dt)) < 0)
        return o->err ? o->err->code : SQZ_ERR_NOMEM;
    sqz_status st = retarget(o, k, "QLinearAdd", "com.microsoft", in, 8, 0, &q, done);
    if (!st && *done) {
        drop_if_unread(o, da.node);
        drop_if_unread(o, db.node);
    }
    return st;
}

/* DQ(x) -> GlobalAveragePool -> Q  =>  com.microsoft:QLinearGlobalAveragePool (one dtype) */
static sqz_status rewrite_gap(qdq_ctx *o, int k, int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    *done = 0;
    if (n->n_in != 1 || n->n_out != 1 || n->out[0] < 0) return SQZ_OK;
    dq_info dx;
    if (!act_dq(o, n->in[0], &dx) || const_tensor(g, dx.x)) return SQZ_OK;
    q_info q;
    if (!tail_of(o, n->out[0], 0, &q) || q.dt != dx.dt) return SQZ_OK;
    int in[5] = {dx.x, dx.s, -1, q.s, -1};
    if ((in[2] = zero_point(o, n, "x_zero_point", dx.z, dx.dt)) < 0 ||
        (in[4] = zero_point(o, n, "y_zero_point", q.z, q.dt)) < 0)
        return o->err ? o->err->code : SQZ_ERR_NOMEM;
    sqz_status st = retarget(o, k, "QLinearGlobalAveragePool", "com.microsoft", in, 5, 0, &q, done);
    if (!st && *done) drop_if_unread(o, dx.node);
    return st;
}

/* DQ(x) -> op -> Q with the same scale, zero point and dtype on both sides, where op only selects
 * or moves values (MaxPool, Reshape, Flatten, Squeeze, Unsqueeze, Transpose)  =>  op on x_q.
 * Exact: op commutes with the monotone DQ, and Q(DQ(x)) = x for the same parameters. */
static sqz_status rewrite_passthrough(qdq_ctx *o, int k, int *done) {
    sqz_graph *g = o->g;
    const sqz_node *n = g->nodes[k];
    *done = 0;
    if (n->n_in < 1 || n->n_in > 8 || n->n_out < 1 || n->out[0] < 0) return SQZ_OK;
    if (n->n_out > (is_op(n, "MaxPool") ? 2 : 1) || (n->n_out > 1 && n->out[1] >= 0)) return SQZ_OK; /* Indices */
    for (int j = 1; j < n->n_in; j++)
        if (n->in[j] == n->in[0]) return SQZ_OK;
    dq_info dx;
    if (!act_dq(o, n->in[0], &dx) || const_tensor(g, dx.x)) return SQZ_OK;
    q_info q;
    if (!tail_of(o, n->out[0], 0, &q) || q.dt != dx.dt) return SQZ_OK;
    if (q.scale != *(const float *)dx.S->data || q.zp != sqz_q_zp_at(dx.Z, 0)) return SQZ_OK;
    int in[8];
    memcpy(in, n->in, sizeof(int) * (size_t)n->n_in);
    in[0] = dx.x;
    sqz_status st = retarget(o, k, n->op_type, "", in, n->n_in, 1, &q, done);
    if (!st && *done) drop_if_unread(o, dx.node);
    return st;
}

sqz_status sqz_graph_rewrite_qdq(sqz_graph *g, int *n_rewritten, sqz_err *err) {
    if (n_rewritten) *n_rewritten = 0;
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "QDQ rewrite: no graph");
    qdq_ctx o = {g, NULL, g->n_tensors + 16, NULL, 0, err};
    o.uses = calloc((size_t)o.cap, sizeof(int));
    o.dead = calloc((size_t)g->n_nodes + 1, 1);
    sqz_status st = SQZ_OK;
    if (!o.uses || !o.dead) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory rewriting QDQ patterns");
        goto done;
    }
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k]->n_in; j++)
            if (g->nodes[k]->in[j] >= 0) o.uses[g->nodes[k]->in[j]]++;
    for (int i = 0; i < g->n_outputs; i++) o.uses[g->outputs[i]]++;
    int count = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        if (o.dead[k]) continue;
        const sqz_node *n = g->nodes[k];
        int done = 0;
        if (is_op(n, "Conv")) st = rewrite_conv(&o, k, &done);
        else if (is_op(n, "MatMul")) st = rewrite_matmul(&o, k, 0, &done);
        else if (is_op(n, "Gemm")) st = rewrite_matmul(&o, k, 1, &done);
        else if (is_op(n, "Add")) st = rewrite_add(&o, k, &done);
        else if (is_op(n, "GlobalAveragePool")) st = rewrite_gap(&o, k, &done);
        else if (is_op(n, "MaxPool") || is_op(n, "Reshape") || is_op(n, "Flatten") || is_op(n, "Squeeze") ||
                 is_op(n, "Unsqueeze") || is_op(n, "Transpose"))
            st = rewrite_passthrough(&o, k, &done);
        if (st) {
            sqz_err_prefix(err, "QDQ rewrite of node '%s'", n->name);
            goto done;
        }
        count += done;
    }
    if (count) sqz_graph_remove_nodes(g, o.dead);
    if (count || o.added) st = sqz_graph_compact(g, NULL, err);
    if (n_rewritten) *n_rewritten = count;
done:
    free(o.uses);
    free(o.dead);
    return st;
}
