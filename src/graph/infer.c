/* graph/infer.c - static shape inference over the graph and per-node cost. */
#include <stdlib.h>
#include <string.h>

#include "graph/passes.h"
#include "sqz/analysis.h"

/* Merges what infer() produced into the shape declared before (value_info, graph
 * outputs): known dims must agree; the more specific of the two is kept. */
static sqz_status merge_declared(const sqz_node *n, sqz_tensor *t, const sqz_tensor *decl, sqz_err *err) {
    char a[160], b[160];
    if (decl->dtype != SQZ_DT_UNDEF && t->dtype != SQZ_DT_UNDEF && decl->dtype != t->dtype)
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): tensor '%s' is declared %s but computes to %s",
                           n->name, n->op_type, t->name, sqz_dtype_name(decl->dtype), sqz_dtype_name(t->dtype));
    if (t->dtype == SQZ_DT_UNDEF) t->dtype = decl->dtype;
    if (decl->ndim < 0) return SQZ_OK;
    if (t->ndim < 0) {
        t->ndim = decl->ndim;
        memcpy(t->dims, decl->dims, sizeof t->dims);
        memcpy(t->dim_names, decl->dim_names, sizeof t->dim_names);
        return SQZ_OK;
    }
    int bad = t->ndim != decl->ndim;
    for (int i = 0; !bad && i < t->ndim; i++)
        if (t->dims[i] >= 0 && decl->dims[i] >= 0 && t->dims[i] != decl->dims[i]) bad = 1;
    if (bad) {
        sqz_shape_str(decl, a, sizeof a);
        sqz_shape_str(t, b, sizeof b);
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): tensor '%s' is declared %s but computes to %s",
                           n->name, n->op_type, t->name, a, b);
    }
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0) t->dims[i] = decl->dims[i];
        t->dim_names[i] = decl->dim_names[i];
    }
    return SQZ_OK;
}

static sqz_status infer_node(sqz_graph *g, const sqz_node *n, const sqz_op *op, sqz_err *err) {
    sqz_tensor *in[64], *out[64];
    sqz_tensor decl[8];
    sqz_tensor **ins = in, **outs = out;
    sqz_tensor *declp = decl;
    sqz_status st = SQZ_OK;
    if (n->n_in > 64) ins = malloc(sizeof(sqz_tensor *) * (size_t)n->n_in);
    if (n->n_out > 64) outs = malloc(sizeof(sqz_tensor *) * (size_t)n->n_out);
    if (n->n_out > 8) declp = malloc(sizeof(sqz_tensor) * (size_t)n->n_out);
    if (!ins || !outs || !declp) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory inferring shapes");
        goto done;
    }
    for (int i = 0; i < n->n_in; i++) ins[i] = n->in[i] >= 0 ? g->tensors[n->in[i]] : NULL;
    for (int i = 0; i < n->n_out; i++) {
        outs[i] = n->out[i] >= 0 ? g->tensors[n->out[i]] : NULL;
        if (outs[i]) declp[i] = *outs[i];
    }
    sqz_opctx c = {.node = n, .in = ins, .n_in = n->n_in, .out = outs, .n_out = n->n_out,
                   .opset = g->opset, .threads = 1, .scratch = NULL, .err = err};
    st = op->infer(&c);
    if (st) {
        /* restore what was declared so a failed pass leaves the graph as it was */
        for (int i = 0; i < n->n_out; i++)
            if (outs[i]) *outs[i] = declp[i];
        sqz_err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
        goto done;
    }
    for (int i = 0; i < n->n_out && !st; i++) {
        if (!outs[i]) continue;
        outs[i]->data = declp[i].data; /* infer never sets data; keep what was there */
        outs[i]->nbytes = declp[i].nbytes;
        st = merge_declared(n, outs[i], &declp[i], err);
    }
done:
    if (ins != in) free(ins);
    if (outs != out) free(outs);
    if (declp != decl) free(declp);
    return st;
}

sqz_status sqz_graph_infer_shapes_ex(sqz_graph *g, int skip_unresolved, sqz_err *err) {
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!order) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory inferring shapes");
    sqz_status st = sqz_graph_topo_order(g, order, err);
    for (int s = 0; s < g->n_nodes && !st; s++) {
        const sqz_node *n = g->nodes[order[s]];
        const sqz_op *op;
        sqz_err e2;
        st = sqz_node_resolve(n, &op, skip_unresolved ? &e2 : err);
        if (st && skip_unresolved) {
            st = SQZ_OK;
            continue;
        }
        if (!st) st = infer_node(g, n, op, err);
    }
    free(order);
    return st;
}

sqz_status sqz_graph_infer_shapes(sqz_graph *g, sqz_err *err) { return sqz_graph_infer_shapes_ex(g, 0, err); }

int64_t sqz_node_macs_batch(const sqz_graph *g, int node, int64_t batch) {
    if (!g || node < 0 || node >= g->n_nodes) return -1;
    const sqz_node *n = g->nodes[node];
    const sqz_op *op;
    if (sqz_node_resolve(n, &op, NULL) || !op->macs || n->n_in > 64 || n->n_out > 64) return -1;
    /* descriptor copies, a symbolic first dimension set to batch (batch < 0: left as it is) */
    sqz_tensor *tin = malloc(sizeof(sqz_tensor) * (size_t)(n->n_in + n->n_out + 1));
    if (!tin) return -1;
    sqz_tensor *in[64], *out[64];
    int64_t r = -1;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        const int t = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        sqz_tensor **slot = i < n->n_in ? &in[i] : &out[i - n->n_in];
        *slot = NULL;
        if (t >= g->n_tensors) goto done;
        if (t < 0) continue;
        tin[i] = *g->tensors[t];
        if (batch >= 0 && tin[i].ndim >= 1 && tin[i].dims[0] < 0) tin[i].dims[0] = batch;
        if (!sqz_tensor_static(&tin[i])) goto done;
        *slot = &tin[i];
    }
    sqz_err e;
    sqz_opctx c = {.node = n, .in = in, .n_in = n->n_in, .out = out, .n_out = n->n_out,
                   .opset = g->opset, .threads = 1, .scratch = NULL, .err = &e};
    r = op->macs(&c);
done:
    free(tin);
    return r;
}

int64_t sqz_node_macs(const sqz_graph *g, int node) { return sqz_node_macs_batch(g, node, -1); }
