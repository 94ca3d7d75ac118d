/* graph/optimize.c - load-time graph simplifications that keep results (up to float rounding).
 *
 *  - Identity and inference-mode Dropout nodes are removed: their consumers read the input
 *    directly. When the removed node's output is a graph output, the input's producer is made
 *    to write that output instead (so graph output names never change); when that is not
 *    possible (the input is a graph input, an initializer or itself a graph output) the node
 *    stays.
 *  - BatchNormalization (inference) right after a Conv, ConvTranspose or Gemm whose output
 *    feeds only that BN (and is not a graph output) is folded into the producer's weights:
 *        s = gamma / sqrt(var + eps)            per output channel
 *        W' = W * s,   b' = (b - mean) * s + beta
 *    W' and b' are new initializers (the old ones may be shared); the producer then writes
 *    the BN's output tensor and the BN node is removed.
 *  - QDQ int8 patterns (DequantizeLinear -> Conv / MatMul / Gemm / Add / pool [-> Relu|Clip] ->
 *    QuantizeLinear) become the integer operators QLinearConv, QLinearMatMul, ... (graph/qdq.c).
 * Unused tensors are dropped afterwards (sqz_graph_compact).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/passes.h"
#include "sqz/analysis.h"

typedef struct opt_ctx {
    sqz_graph *g;
    int *uses;       /* (n_tensors) reads by live nodes + graph output slots */
    uint8_t *dead;   /* (n_nodes) node removed */
    uint8_t *is_out; /* (n_tensors) graph output */
    sqz_err *err;
} opt_ctx;

static int is_default_domain(const sqz_node *n) {
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static int is_op(const sqz_node *n, const char *type) { return !strcmp(n->op_type, type) && is_default_domain(n); }

/* A constant (initializer that the caller cannot override), dense f32, no quantization. */
static const sqz_tensor *const_f32(const sqz_graph *g, int t) {
    if (t < 0) return NULL;
    const sqz_tensor *x = g->tensors[t];
    if (!(x->flags & SQZ_TF_INIT) || (x->flags & SQZ_TF_INPUT) || x->dtype != SQZ_DT_F32 || x->quant ||
        x->encoding != SQZ_ENC_DENSE || x->ndim < 0)
        return NULL;
    int64_t n = sqz_tensor_numel(x);
    if (n < 0 || (n && (!x->data || x->nbytes < (size_t)n * sizeof(float)))) return NULL;
    return x;
}

static int is_graph_input(const sqz_graph *g, int t) {
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == t) return 1;
    return 0;
}

/* Replaces every read of tensor `from` by live nodes with `to`. */
static void redirect_reads(opt_ctx *o, int from, int to) {
    sqz_graph *g = o->g;
    for (int k = 0; k < g->n_nodes; k++) {
        if (o->dead[k]) continue;
        sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == from) {
                n->in[j] = to;
                o->uses[from]--;
                o->uses[to]++;
            }
    }
}

static void drop_node(opt_ctx *o, int k) {
    const sqz_node *n = o->g->nodes[k];
    o->dead[k] = 1;
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0) o->uses[n->in[j]]--;
}

/* ---- Identity / Dropout ---- */

static int dropout_is_inference(const sqz_graph *g, const sqz_node *n) {
    if (n->n_out > 1 && n->out[1] >= 0) return 0; /* the mask is wanted: leave the node */
    /* (opset < 7 is_test: sqz, like ONNX Runtime, runs Dropout as identity either way) */
    if (g->opset >= 12 && n->n_in > 2 && n->in[2] >= 0) {
        const sqz_tensor *tm = g->tensors[n->in[2]];
        if (!(tm->flags & SQZ_TF_INIT) || (tm->flags & SQZ_TF_INPUT) || sqz_tensor_numel(tm) != 1 || !tm->data ||
            tm->nbytes < sqz_dtype_size(tm->dtype) || !sqz_dtype_size(tm->dtype))
            return 0;
        if (sqz_tensor_get_f64(tm, 0) != 0.0) return 0;
    }
    return 1;
}

/* 1 if node k was removed. */
static int remove_passthrough(opt_ctx *o, int k) {
    sqz_graph *g = o->g;
    sqz_node *n = g->nodes[k];
    if (n->n_in < 1 || n->n_out < 1 || n->in[0] < 0 || n->out[0] < 0) return 0;
    if (is_op(n, "Identity")) {
        if (n->n_in != 1 || n->n_out != 1) return 0;
    } else if (is_op(n, "Dropout")) {
        if (!dropout_is_inference(g, n)) return 0;
    } else {
        return 0;
    }
    int a = n->in[0], b = n->out[0];
    if (a == b) return 0;
    if (!o->is_out[b]) {
        drop_node(o, k);
        redirect_reads(o, b, a);
        return 1;
    }
    /* b is a graph output: make a's producer write b instead */
    int p = g->tensors[a]->producer;
    if (p < 0 || o->dead[p] || o->is_out[a] || is_graph_input(g, a) || (g->tensors[a]->flags & SQZ_TF_INIT))
        return 0;
    sqz_node *pn = g->nodes[p];
    drop_node(o, k);
    redirect_reads(o, a, b);
    for (int j = 0; j < pn->n_out; j++)
        if (pn->out[j] == a) pn->out[j] = b;
    g->tensors[b]->producer = p;
    g->tensors[a]->producer = -1;
    return 1;
}

/* ---- BatchNormalization folding ---- */

static sqz_status new_init(opt_ctx *o, const sqz_tensor *like, const char *suffix, int ndim, const int64_t *dims,
                           int *idx, float **data) {
    sqz_graph *g = o->g;
    char base[256];
    snprintf(base, sizeof base, "%.200s%s", like->name, suffix);
    char *name = sqz_graph_unique_name(g, base);
    if (!name) return sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory folding BatchNormalization");
    int t = sqz_graph_add_tensor(g, name, SQZ_DT_F32, ndim, dims, o->err);
    if (t < 0) return o->err ? o->err->code : SQZ_ERR_NOMEM;
    sqz_status st = sqz_graph_alloc_data(g, g->tensors[t], o->err);
    if (st) return st;
    g->tensors[t]->flags |= SQZ_TF_INIT;
    *idx = t;
    *data = g->tensors[t]->data;
    return SQZ_OK;
}

/* Grows n's input list to hold at least `need` entries (new ones -1). */
static sqz_status grow_inputs(opt_ctx *o, sqz_node *n, int need) {
    if (n->n_in >= need) return SQZ_OK;
    int *in = sqz_arena_alloc(o->g->arena, sizeof(int) * (size_t)need, 8);
    if (!in) return sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory folding BatchNormalization");
    for (int j = 0; j < need; j++) in[j] = j < n->n_in ? n->in[j] : -1;
    n->in = in;
    n->n_in = need;
    return SQZ_OK;
}

/* The producer kinds BN folds into, and where their output channels sit in W. */
enum { FOLD_CONV, FOLD_CONVT, FOLD_GEMM_T, FOLD_GEMM_N };

/* Output channel of flat weight element i. */
static int64_t channel_of(int kind, const sqz_tensor *W, int64_t group, int64_t i) {
    int64_t numel = sqz_tensor_numel(W);
    switch (kind) {
    case FOLD_CONV: return i / (numel / W->dims[0]);
    case FOLD_GEMM_T: return i / W->dims[1];
    case FOLD_GEMM_N: return i % W->dims[1];
    default: { /* ConvTranspose W: (C, M/group, k...) */
        int64_t inner = numel / (W->dims[0] * W->dims[1]);
        int64_t c = i / (W->dims[1] * inner), j = (i / inner) % W->dims[1];
        return (c / (W->dims[0] / group)) * W->dims[1] + j;
    }
    }
}

/* 1 if BN node k was folded into its producer. */
static sqz_status fold_bn(opt_ctx *o, int k, int *done) {
    sqz_graph *g = o->g;
    sqz_node *bn = g->nodes[k];
    *done = 0;
    if (!is_op(bn, "BatchNormalization") || bn->n_in != 5 || bn->n_out < 1 || bn->in[0] < 0 || bn->out[0] < 0)
        return SQZ_OK;
    for (int j = 1; j < bn->n_out; j++)
        if (bn->out[j] >= 0 && o->uses[bn->out[j]] > 0) return SQZ_OK;
    if (sqz_node_attr_int(bn, "training_mode", 0) != 0 || sqz_node_attr_int(bn, "spatial", 1) == 0) return SQZ_OK;
    int x = bn->in[0], y = bn->out[0];
    if (o->is_out[x] || o->uses[x] != 1 || is_graph_input(g, x)) return SQZ_OK;
    int p = g->tensors[x]->producer;
    if (p < 0 || o->dead[p]) return SQZ_OK;
    sqz_node *pn = g->nodes[p];
    if (pn->n_out != 1 || pn->out[0] != x || pn->n_in < 2) return SQZ_OK;
    int kind;
    int64_t group = 1;
    if (is_op(pn, "Conv")) {
        kind = FOLD_CONV;
    } else if (is_op(pn, "ConvTranspose")) {
        kind = FOLD_CONVT;
        group = sqz_node_attr_int(pn, "group", 1);
    } else if (is_op(pn, "Gemm")) {
        if (sqz_node_attr_float(pn, "beta", 1.0f) != 1.0f) return SQZ_OK;
        kind = sqz_node_attr_int(pn, "transB", 0) ? FOLD_GEMM_T : FOLD_GEMM_N;
    } else {
        return SQZ_OK;
    }
    const sqz_tensor *W = const_f32(g, pn->in[1]);
    if (!W || pn->in[0] == pn->in[1]) return SQZ_OK;
    int64_t M; /* output channels */
    if (kind == FOLD_CONV) {
        if (W->ndim < 3 || W->dims[0] < 1) return SQZ_OK;
        M = W->dims[0];
    } else if (kind == FOLD_CONVT) {
        if (W->ndim < 3 || W->dims[0] < 1 || W->dims[1] < 1 || group < 1 || W->dims[0] % group) return SQZ_OK;
        M = W->dims[1] * group;
    } else {
        if (W->ndim != 2 || W->dims[0] < 1 || W->dims[1] < 1) return SQZ_OK;
        M = kind == FOLD_GEMM_T ? W->dims[0] : W->dims[1];
    }
    if (sqz_tensor_numel(W) < 1) return SQZ_OK;
    const sqz_tensor *v[4]; /* gamma, beta, mean, var */
    for (int j = 0; j < 4; j++) {
        v[j] = const_f32(g, bn->in[1 + j]);
        if (!v[j] || v[j]->ndim != 1 || v[j]->dims[0] != M) return SQZ_OK;
    }
    const sqz_tensor *B = NULL;
    if (pn->n_in > 2 && pn->in[2] >= 0) {
        B = const_f32(g, pn->in[2]);
        if (!B || sqz_tensor_numel(B) != M || pn->in[2] == pn->in[1]) return SQZ_OK;
        if (B->ndim == 2 ? (kind < FOLD_GEMM_T || B->dims[0] != 1) : B->ndim != 1) return SQZ_OK;
    }
    double eps = sqz_node_attr_float(bn, "epsilon", 1e-5f);
    double *s = malloc(sizeof(double) * (size_t)M);
    if (!s) return sqz_err_set(o->err, SQZ_ERR_NOMEM, "out of memory folding BatchNormalization '%s'", bn->name);
    const float *gam = v[0]->data, *bet = v[1]->data, *mean = v[2]->data, *var = v[3]->data;
    for (int64_t m = 0; m < M; m++) s[m] = (double)gam[m] / sqrt((double)var[m] + eps);
    int wt, bt;
    float *wd, *bd;
    sqz_status st = new_init(o, W, "_bnfold", W->ndim, W->dims, &wt, &wd);
    if (!st) st = new_init(o, B ? B : W, B ? "_bnfold" : "_bnfold_bias", 1, &M, &bt, &bd);
    if (!st) st = grow_inputs(o, pn, 3);
    if (st) {
        free(s);
        sqz_err_prefix(o->err, "folding BatchNormalization '%s'", bn->name);
        return st;
    }
    W = g->tensors[pn->in[1]]; /* the tensor table may have grown; descriptors do not move */
    const float *w0 = W->data, *b0 = B ? B->data : NULL;
    int64_t nw = sqz_tensor_numel(W);
    for (int64_t i = 0; i < nw; i++) wd[i] = (float)((double)w0[i] * s[channel_of(kind, W, group, i)]);
    for (int64_t m = 0; m < M; m++) bd[m] = (float)(((b0 ? (double)b0[m] : 0.0) - mean[m]) * s[m] + bet[m]);
    free(s);
    if (W->mask) g->tensors[wt]->mask = W->mask; /* same shape: pruned weights stay pruned */
    o->uses[pn->in[1]]--;
    if (pn->in[2] >= 0) o->uses[pn->in[2]]--;
    pn->in[1] = wt;
    pn->in[2] = bt;
    o->uses[wt]++;
    o->uses[bt]++;
    drop_node(o, k);
    pn->out[0] = y;
    g->tensors[y]->producer = p;
    g->tensors[x]->producer = -1;
    o->uses[x] = 0;
    *done = 1;
    return SQZ_OK;
}

sqz_status sqz_graph_optimize(sqz_graph *g, sqz_err *err) {
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "optimize: no graph");
    sqz_status st = sqz_graph_verify(g, err);
    if (st) return st;
    opt_ctx o = {g, NULL, NULL, NULL, err};
    /* new_init adds two tensors per folded BN: room for all of them up front */
    size_t nt = (size_t)g->n_tensors + 2 * (size_t)g->n_nodes + 1;
    o.uses = calloc(nt, sizeof(int));
    o.is_out = calloc(nt, 1);
    o.dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!o.uses || !o.is_out || !o.dead) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory optimizing graph");
        goto done;
    }
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k]->n_in; j++)
            if (g->nodes[k]->in[j] >= 0) o.uses[g->nodes[k]->in[j]]++;
    for (int i = 0; i < g->n_outputs; i++) {
        o.uses[g->outputs[i]]++;
        o.is_out[g->outputs[i]] = 1;
    }
    int changed = 0;
    for (int k = 0; k < g->n_nodes; k++) changed |= remove_passthrough(&o, k);
    for (int k = 0; k < g->n_nodes; k++) {
        if (o.dead[k]) continue;
        int done;
        if ((st = fold_bn(&o, k, &done))) goto done;
        changed |= done;
    }
    if (changed) {
        sqz_graph_remove_nodes(g, o.dead);
        if ((st = sqz_graph_compact(g, NULL, err))) goto done;
    }
    st = sqz_graph_rewrite_qdq(g, NULL, err);
done:
    free(o.uses);
    free(o.is_out);
    free(o.dead);
    return st;
}
