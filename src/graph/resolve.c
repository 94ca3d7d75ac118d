/* graph/resolve.c - binding nodes to operators. */
#include "graph/passes.h"
#include "sqz/analysis.h"

sqz_status sqz_node_resolve(const sqz_node *n, const sqz_op **out, sqz_err *err) {
    const sqz_op *op = n->op ? n->op : sqz_op_find(n->domain, n->op_type);
    const char *dom = (n->domain && n->domain[0]) ? n->domain : "ai.onnx";
    if (!op)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED,
                           "node '%s' uses operator '%s' (domain '%s') that sqz does not support", n->name,
                           n->op_type, dom);
    if (n->n_in < op->n_in_min || n->n_in > op->n_in_max)
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s) has %d inputs; %s takes %d to %d", n->name,
                           n->op_type, n->n_in, op->name, op->n_in_min, op->n_in_max);
    if (n->n_out < op->n_out_min || n->n_out > op->n_out_max)
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s) has %d outputs; %s gives %d to %d", n->name,
                           n->op_type, n->n_out, op->name, op->n_out_min, op->n_out_max);
    /* Required inputs (below n_in_min) must be present; omitted ones are optional. */
    for (int i = 0; i < n->n_in && i < op->n_in_min; i++)
        if (n->in[i] < 0)
            return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): required input %d is omitted", n->name,
                               n->op_type, i);
    *out = op;
    return SQZ_OK;
}

sqz_status sqz_graph_resolve_ops(sqz_graph *g, sqz_err *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        sqz_node *n = g->nodes[k];
        const sqz_op *op;
        sqz_status st = sqz_node_resolve(n, &op, err);
        if (st) return st;
        n->op = op;
    }
    return SQZ_OK;
}
