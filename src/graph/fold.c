/* graph/fold.c - constant folding and dead-node removal.
 *
 * Three kinds of node become initializers:
 *  - any deterministic node whose inputs are all initializers: evaluated with the
 *    operator's own infer() and forward(), the result stored in the graph arena;
 *  - Shape of a tensor whose shape is fully static;
 *  - Gather/Slice of a Shape output that only picks static dimensions (PyTorch's
 *    x.size(1) chains next to a dynamic batch dimension).
 * The pass repeats (shape inference, fold) until nothing changes, then removes nodes
 * whose outputs nobody uses and compacts the tensor table. sqz_graph_prepare_inference first
 * folds everything but DequantizeLinear, so that the QDQ rewrite (graph/qdq.c) still sees the
 * int8 weights, and folds what that rewrite left afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "graph/passes.h"
#include "sqz/analysis.h"

#define FOLD_MAX_NODE_BYTES ((size_t)64 << 20)  /* one fold never creates more than this */
#define FOLD_MAX_TOTAL_BYTES ((size_t)1 << 30) /* nor all folds together */

static const char *const nondeterministic[] = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                               "RandomUniformLike", "Multinomial", "Bernoulli"};

static int is_default_domain(const sqz_node *n) {
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static int is_const(const sqz_graph *g, int t) {
    if (t < 0) return 1;
    const sqz_tensor *x = g->tensors[t];
    /* a graph input with an initializer is only a default the caller may override */
    return (x->flags & SQZ_TF_INIT) && !(x->flags & SQZ_TF_INPUT) && (x->data || !x->nbytes);
}

/* Stores vals (n int64 values, shape [n] or scalar when scalar) as initializer t. */
static sqz_status set_i64(sqz_graph *g, sqz_tensor *t, const int64_t *vals, int n, int ndim, const int64_t *dims,
                          sqz_err *err) {
    t->dtype = SQZ_DT_I64;
    t->ndim = ndim;
    for (int i = 0; i < SQZ_MAX_DIMS; i++) {
        t->dims[i] = i < ndim ? dims[i] : 0;
        t->dim_names[i] = NULL;
    }
    return sqz_graph_set_data(g, t, vals, sizeof(int64_t) * (size_t)n, err);
}

/* The value of Shape node n as far as it is known: vals[*len], -1 where dynamic.
 * Returns 0 when the input's rank is unknown. */
static int shape_value(const sqz_graph *g, const sqz_node *n, int64_t *vals, int *len) {
    if (n->n_in < 1 || n->in[0] < 0) return 0;
    const sqz_tensor *x = g->tensors[n->in[0]];
    if (x->ndim < 0) return 0;
    int64_t r = x->ndim, s = sqz_node_attr_int(n, "start", 0), e = sqz_node_attr_int(n, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *len = 0;
    for (int64_t i = s; i < e; i++) vals[(*len)++] = x->dims[i];
    return 1;
}

static int all_known(const int64_t *v, int n) {
    for (int i = 0; i < n; i++)
        if (v[i] < 0) return 0;
    return 1;
}

/* Gather(axis 0) or Slice of a partially known Shape value; 1 if folded. */
static sqz_status fold_shape_pick(sqz_graph *g, const sqz_node *n, int *folded, sqz_err *err) {
    int src = n->in[0];
    if (src < 0 || is_const(g, src) || n->n_out != 1 || n->out[0] < 0) return SQZ_OK;
    int p = g->tensors[src]->producer;
    if (p < 0 || strcmp(g->nodes[p]->op_type, "Shape") || !is_default_domain(g->nodes[p])) return SQZ_OK;
    int64_t sv[SQZ_MAX_DIMS], out[SQZ_MAX_DIMS];
    int len, m = 0;
    if (!shape_value(g, g->nodes[p], sv, &len)) return SQZ_OK;
    sqz_tensor *t = g->tensors[n->out[0]];
    if (!strcmp(n->op_type, "Gather")) {
        if (n->n_in != 2 || !is_const(g, n->in[1])) return SQZ_OK;
        int64_t axis = sqz_node_attr_int(n, "axis", 0);
        if (axis != 0 && axis != -1) return SQZ_OK;
        const sqz_tensor *ix = g->tensors[n->in[1]];
        int64_t cnt = sqz_tensor_numel(ix);
        if ((ix->dtype != SQZ_DT_I64 && ix->dtype != SQZ_DT_I32) || cnt < 0 || cnt > SQZ_MAX_DIMS || ix->ndim > 1)
            return SQZ_OK;
        for (int64_t i = 0; i < cnt; i++) {
            int64_t k = sqz_tensor_get_i64(ix, i);
            if (k < 0) k += len;
            if (k < 0 || k >= len || sv[k] < 0) return SQZ_OK;
            out[m++] = sv[k];
        }
        *folded = 1;
        return set_i64(g, t, out, m, ix->ndim, ix->dims, err);
    }
    /* Slice: opset >= 10 takes starts/ends/axes/steps as inputs, older ones as attributes */
    int64_t start, end, step = 1, axis = 0;
    if (n->n_in >= 3) {
        for (int i = 1; i < n->n_in; i++) {
            if (!is_const(g, n->in[i])) return SQZ_OK;
            if (n->in[i] >= 0 && sqz_tensor_numel(g->tensors[n->in[i]]) != 1) return SQZ_OK;
        }
        start = sqz_tensor_get_i64(g->tensors[n->in[1]], 0);
        end = sqz_tensor_get_i64(g->tensors[n->in[2]], 0);
        if (n->n_in > 3 && n->in[3] >= 0) axis = sqz_tensor_get_i64(g->tensors[n->in[3]], 0);
        if (n->n_in > 4 && n->in[4] >= 0) step = sqz_tensor_get_i64(g->tensors[n->in[4]], 0);
    } else if (n->n_in == 1) {
        const int64_t *st, *en, *ax;
        if (sqz_node_attr_ints(n, "starts", &st) != 1 || sqz_node_attr_ints(n, "ends", &en) != 1) return SQZ_OK;
        int64_t na = sqz_node_attr_ints(n, "axes", &ax);
        if (na > 1) return SQZ_OK;
        start = st[0];
        end = en[0];
        if (na == 1) axis = ax[0];
    } else {
        return SQZ_OK;
    }
    if ((axis != 0 && axis != -1) || step == 0 || step == INT64_MIN) return SQZ_OK;
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (step > 0) {
        start = start < 0 ? 0 : start > len ? len : start;
        end = end < 0 ? 0 : end > len ? len : end;
        for (int64_t i = start; i < end && m < SQZ_MAX_DIMS; i += step) {
            out[m++] = sv[i];
            if (step >= end - i) break; /* no overflow on huge steps */
        }
    } else {
        start = start < 0 ? 0 : start > len - 1 ? len - 1 : start;
        end = end < -1 ? -1 : end > len - 1 ? len - 1 : end;
        for (int64_t i = start; i > end && m < SQZ_MAX_DIMS; i += step) {
            out[m++] = sv[i];
            if (-step >= i - end) break;
        }
    }
    if (!all_known(out, m)) return SQZ_OK;
    int64_t d = m;
    *folded = 1;
    return set_i64(g, t, out, m, 1, &d, err);
}

/* Evaluates node n (all inputs constant) into new initializers. */
static sqz_status fold_eval(sqz_graph *g, const sqz_node *n, const sqz_op *op, size_t *total, int *folded,
                            sqz_err *err) {
    sqz_tensor *in[64], *outp[16], tmp[16];
    if (n->n_in > 64 || n->n_out > 16) return SQZ_OK;
    for (int i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? g->tensors[n->in[i]] : NULL;
    for (int i = 0; i < n->n_out; i++) {
        outp[i] = NULL;
        if (n->out[i] < 0) continue;
        tmp[i] = *g->tensors[n->out[i]];
        outp[i] = &tmp[i];
    }
    sqz_opctx c = {.node = n, .in = in, .n_in = n->n_in, .out = outp, .n_out = n->n_out,
                   .opset = g->opset, .threads = 1, .scratch = NULL, .err = err};
    sqz_status st = op->infer(&c);
    if (st) goto fail;
    size_t need = 0;
    for (int i = 0; i < n->n_out; i++) {
        if (!outp[i]) continue;
        int64_t numel = sqz_tensor_numel(outp[i]);
        size_t nb;
        if (numel < 0 || sqz_dtype_nbytes(outp[i]->dtype, numel, &nb, NULL) || sqz_dtype_bits(outp[i]->dtype) == 0)
            return SQZ_OK; /* left to the runtime */
        need += nb;
        if (nb > FOLD_MAX_NODE_BYTES || need > FOLD_MAX_NODE_BYTES) return SQZ_OK;
    }
    if (*total + need > FOLD_MAX_TOTAL_BYTES) return SQZ_OK;
    for (int i = 0; i < n->n_out; i++)
        if (outp[i] && (st = sqz_graph_alloc_data(g, outp[i], err))) goto fail;
    void *scratch = NULL;
    size_t sb = op->scratch_bytes ? op->scratch_bytes(&c) : 0;
    if (sb) {
        scratch = aligned_alloc(64, (sb + 63) & ~(size_t)63);
        if (!scratch) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory folding node '%s'", n->name);
        c.scratch = scratch;
    }
    st = op->forward(&c);
    free(scratch);
    if (st) goto fail;
    for (int i = 0; i < n->n_out; i++) {
        if (!outp[i]) continue;
        sqz_tensor *t = g->tensors[n->out[i]];
        t->dtype = tmp[i].dtype;
        t->ndim = tmp[i].ndim;
        memcpy(t->dims, tmp[i].dims, sizeof t->dims);
        t->data = tmp[i].data;
        t->nbytes = tmp[i].nbytes;
        t->flags = (t->flags & ~(uint32_t)SQZ_TF_EXTERNAL) | SQZ_TF_INIT;
    }
    *total += need;
    *folded = 1;
    return SQZ_OK;
fail:
    sqz_err_prefix(err, "folding node '%s' (%s)", n->name, n->op_type);
    return st;
}

static int is_dequantize(const sqz_node *n) { return is_default_domain(n) && !strcmp(n->op_type, "DequantizeLinear"); }

static sqz_status fold_node(sqz_graph *g, const sqz_node *n, int keep_dq, size_t *total, int *folded,
                            sqz_err *err) {
    const sqz_op *op;
    *folded = 0;
    if (sqz_node_resolve(n, &op, NULL) || n->n_out < 1) return SQZ_OK;
    if (keep_dq && is_dequantize(n)) return SQZ_OK;
    for (size_t i = 0; i < sizeof nondeterministic / sizeof *nondeterministic; i++)
        if (!strcmp(n->op_type, nondeterministic[i])) return SQZ_OK;
    int all_const = 1;
    for (int i = 0; i < n->n_in; i++) all_const &= is_const(g, n->in[i]);
    if (all_const) return fold_eval(g, n, op, total, folded, err);
    if (!is_default_domain(n)) return SQZ_OK;
    if (!strcmp(n->op_type, "Shape") && n->n_out == 1 && n->out[0] >= 0) {
        int64_t sv[SQZ_MAX_DIMS], d;
        int len;
        if (!shape_value(g, n, sv, &len) || !all_known(sv, len)) return SQZ_OK;
        d = len;
        *folded = 1;
        return set_i64(g, g->tensors[n->out[0]], sv, len, 1, &d, err);
    }
    if (!strcmp(n->op_type, "Gather") || !strcmp(n->op_type, "Slice")) return fold_shape_pick(g, n, folded, err);
    return SQZ_OK;
}

/* Removes nodes none of whose outputs is used by a live node or is a graph output. */
static sqz_status remove_dead(sqz_graph *g, int *removed, sqz_err *err) {
    int nt = g->n_tensors, nn = g->n_nodes;
    int *uses = calloc((size_t)(nt ? nt : 1), sizeof(int));
    uint8_t *dead = calloc((size_t)(nn ? nn : 1), 1);
    if (!uses || !dead) {
        free(uses);
        free(dead);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory removing dead nodes");
    }
    for (int k = 0; k < nn; k++)
        for (int j = 0; j < g->nodes[k]->n_in; j++)
            if (g->nodes[k]->in[j] >= 0) uses[g->nodes[k]->in[j]]++;
    for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;
    int changed = 1, count = 0;
    while (changed) {
        changed = 0;
        for (int k = nn - 1; k >= 0; k--) {
            const sqz_node *n = g->nodes[k];
            if (dead[k]) continue;
            int used = 0;
            for (int j = 0; j < n->n_out; j++) used |= n->out[j] >= 0 && uses[n->out[j]] > 0;
            if (used) continue;
            dead[k] = 1;
            count++;
            changed = 1;
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j] >= 0) uses[n->in[j]]--;
        }
    }
    if (count) sqz_graph_remove_nodes(g, dead);
    *removed += count;
    free(uses);
    free(dead);
    return SQZ_OK;
}

static sqz_status fold_run(sqz_graph *g, int keep_dq, int *n_folded, sqz_err *err) {
    int removed = 0;
    size_t total = 0;
    sqz_status st = SQZ_OK;
    if (n_folded) *n_folded = 0;
    int *order = NULL;
    uint8_t *dead = NULL;
    for (;;) {
        if ((st = sqz_graph_infer_shapes_ex(g, 1, err))) goto done;
        free(order);
        free(dead);
        order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
        dead = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
        if (!order || !dead) {
            st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory folding constants");
            goto done;
        }
        if ((st = sqz_graph_topo_order(g, order, err))) goto done;
        int count = 0;
        for (int s = 0; s < g->n_nodes; s++) {
            int folded;
            if ((st = fold_node(g, g->nodes[order[s]], keep_dq, &total, &folded, err))) goto done;
            if (folded) {
                dead[order[s]] = 1;
                count++;
            }
        }
        if (!count) break;
        sqz_graph_remove_nodes(g, dead);
        removed += count;
    }
    if ((st = remove_dead(g, &removed, err))) goto done;
    st = sqz_graph_compact(g, NULL, err);
done:
    free(order);
    free(dead);
    if (n_folded) *n_folded = removed;
    return st;
}

sqz_status sqz_graph_fold_constants(sqz_graph *g, int *n_folded, sqz_err *err) {
    return fold_run(g, 0, n_folded, err);
}

sqz_status sqz_graph_fold_constants_keep_dq(sqz_graph *g, sqz_err *err) { return fold_run(g, 1, NULL, err); }

sqz_status sqz_graph_prepare(sqz_graph *g, sqz_err *err) {
    sqz_status st;
    if ((st = sqz_graph_resolve_ops(g, err))) return st;
    if ((st = sqz_graph_verify(g, err))) return st;
    if ((st = sqz_graph_fold_constants(g, NULL, err))) return st;
    return sqz_graph_infer_shapes(g, err);
}

sqz_status sqz_graph_prepare_inference(sqz_graph *g, sqz_err *err) {
    sqz_status st;
    if ((st = sqz_graph_resolve_ops(g, err))) return st;
    if ((st = sqz_graph_verify(g, err))) return st;
    /* DequantizeLinear nodes of constant int8 weights stay until the QDQ rewrite (in optimize) has
     * seen them; the ones it leaves are folded afterwards */
    if ((st = sqz_graph_fold_constants_keep_dq(g, err))) return st;
    if ((st = sqz_graph_optimize(g, err))) return st;
    int dq = 0;
    for (int k = 0; k < g->n_nodes; k++) dq |= is_dequantize(g->nodes[k]);
    if (dq) { /* and once more what needed those constants (BatchNorm after a DQ-weight Conv) */
        if ((st = sqz_graph_fold_constants(g, NULL, err)) || (st = sqz_graph_optimize(g, err))) return st;
    }
    return sqz_graph_infer_shapes(g, err);
}
