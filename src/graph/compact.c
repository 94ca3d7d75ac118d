/* graph/compact.c - dropping tensors nothing refers to and renumbering the rest. */
#include <stdlib.h>

#include "sqz/analysis.h"

sqz_status sqz_graph_compact(sqz_graph *g, int *n_removed, sqz_err *err) {
    int nt = g->n_tensors;
    if (n_removed) *n_removed = 0;
    int *remap = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    sqz_tensor **arr = malloc(sizeof(sqz_tensor *) * (size_t)(g->cap_tensors ? g->cap_tensors : 1));
    if (!remap || !arr) {
        free(remap);
        free(arr);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory compacting graph");
    }
    for (int i = 0; i < nt; i++) remap[i] = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] >= 0 && g->inputs[i] < nt) remap[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0 && g->outputs[i] < nt) remap[g->outputs[i]] = 1;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && n->in[j] < nt) remap[n->in[j]] = 1;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0 && n->out[j] < nt) remap[n->out[j]] = 1;
    }
    int w = 0;
    for (int i = 0; i < nt; i++) {
        if (remap[i]) {
            arr[w] = g->tensors[i];
            remap[i] = w++;
        } else {
            remap[i] = -1;
        }
    }
    if (w == nt) {
        free(remap);
        free(arr);
        return SQZ_OK;
    }
    /* swap in the new array; undo if the name index cannot be rebuilt */
    sqz_tensor **old = g->tensors;
    g->tensors = arr;
    g->n_tensors = w;
    if (sqz_graph_reindex(g)) {
        g->tensors = old;
        g->n_tensors = nt;
        free(remap);
        free(arr);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory compacting graph");
    }
    free(old);
    for (int k = 0; k < g->n_nodes; k++) {
        sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) n->in[j] = n->in[j] < nt ? remap[n->in[j]] : -1;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) n->out[j] = n->out[j] < nt ? remap[n->out[j]] : -1;
    }
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = (g->inputs[i] >= 0 && g->inputs[i] < nt) ? remap[g->inputs[i]] : -1;
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = (g->outputs[i] >= 0 && g->outputs[i] < nt) ? remap[g->outputs[i]] : -1;
    sqz_graph_update_producers(g);
    if (n_removed) *n_removed = nt - w;
    free(remap);
    return SQZ_OK;
}
