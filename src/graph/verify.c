/* graph/verify.c - structural checks of a graph before anything runs it. */
#include <stdlib.h>

#include "graph/passes.h"
#include "sqz/analysis.h"

int sqz_tensor_static(const sqz_tensor *t) {
    if (t->ndim < 0) return 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0) return 0;
    return 1;
}

static sqz_status check_tensor(const sqz_tensor *t, int is_input, sqz_err *err) {
    if (t->ndim < -1 || t->ndim > SQZ_MAX_DIMS)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has rank %d (outside 0..%d)", t->name, t->ndim,
                           SQZ_MAX_DIMS);
    int init = (t->flags & SQZ_TF_INIT) != 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < -1 || (init && t->dims[i] < 0))
            return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has negative dimension %lld at axis %d", t->name,
                               (long long)t->dims[i], i);
    if (is_input && t->dtype == SQZ_DT_UNDEF)
        return sqz_err_set(err, SQZ_ERR_DATA, "graph input '%s' has no dtype", t->name);
    if (t->dtype != SQZ_DT_UNDEF && !sqz_dtype_is_valid((int)t->dtype))
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has unknown dtype %d", t->name, (int)t->dtype);
    if (!init || t->encoding != SQZ_ENC_DENSE) return SQZ_OK;
    if (t->ndim < 0)
        return sqz_err_set(err, SQZ_ERR_DATA, "initializer '%s' has no shape", t->name);
    int64_t numel;
    size_t nb;
    sqz_err e2;
    if (sqz_shape_numel(t->dims, t->ndim, &numel, &e2) || sqz_dtype_nbytes(t->dtype, numel, &nb, &e2))
        return sqz_err_set(err, SQZ_ERR_DATA, "initializer '%s': %s", t->name, e2.msg);
    if (sqz_dtype_bits(t->dtype) == 0)
        return sqz_err_set(err, SQZ_ERR_DATA, "initializer '%s' has dtype %s that holds no numeric data", t->name,
                           sqz_dtype_name(t->dtype));
    if (t->nbytes != nb || (nb && !t->data))
        return sqz_err_set(err, SQZ_ERR_DATA, "initializer '%s' holds %zu bytes of data but its shape needs %zu",
                           t->name, t->data ? t->nbytes : (size_t)0, nb);
    return SQZ_OK;
}

sqz_status sqz_graph_verify(const sqz_graph *g, sqz_err *err) {
    int nt = g->n_tensors;
    int *prod = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    uint8_t *is_in = calloc((size_t)(nt ? nt : 1), 1);
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    sqz_status st = SQZ_OK;
    if (!prod || !is_in || !order) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory verifying graph");
        goto done;
    }
    for (int i = 0; i < nt; i++) prod[i] = -1;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (t < 0 || t >= nt) {
            st = sqz_err_set(err, SQZ_ERR_DATA, "graph input %d refers to tensor index %d (graph has %d)", i, t, nt);
            goto done;
        }
        is_in[t] = 1;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= nt) {
            st = sqz_err_set(err, SQZ_ERR_DATA, "graph output %d refers to tensor index %d (graph has %d)", i,
                             g->outputs[i], nt);
            goto done;
        }
    for (int i = 0; i < nt; i++)
        if ((st = check_tensor(g->tensors[i], is_in[i], err))) goto done;

    /* producers: each tensor defined once */
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] < -1 || n->in[j] >= nt) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s) input %d refers to tensor index %d (graph has %d)",
                                 n->name, n->op_type, j, n->in[j], nt);
                goto done;
            }
        for (int j = 0; j < n->n_out; j++) {
            int t = n->out[j];
            if (t < -1 || t >= nt) {
                st = sqz_err_set(err, SQZ_ERR_DATA,
                                 "node '%s' (%s) output %d refers to tensor index %d (graph has %d)", n->name,
                                 n->op_type, j, t, nt);
                goto done;
            }
            if (t < 0) continue;
            const sqz_tensor *tt = g->tensors[t];
            if (prod[t] >= 0) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' is produced twice: by node '%s' and node '%s'",
                                 tt->name, g->nodes[prod[t]]->name, n->name);
                goto done;
            }
            if (tt->flags & SQZ_TF_INIT) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' is an initializer and also produced by node '%s'",
                                 tt->name, n->name);
                goto done;
            }
            if (is_in[t] || (tt->flags & SQZ_TF_INPUT)) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' is a graph input and also produced by node '%s'",
                                 tt->name, n->name);
                goto done;
            }
            prod[t] = k;
        }
    }
    /* every use defined */
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_in; j++) {
            int t = n->in[j];
            if (t < 0 || prod[t] >= 0 || is_in[t] || (g->tensors[t]->flags & (SQZ_TF_INIT | SQZ_TF_INPUT))) continue;
            st = sqz_err_set(err, SQZ_ERR_DATA,
                             "node '%s' (%s) uses tensor '%s' that is never defined (missing initializer or input)",
                             n->name, n->op_type, g->tensors[t]->name);
            goto done;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        if (prod[t] >= 0 || is_in[t] || (g->tensors[t]->flags & (SQZ_TF_INIT | SQZ_TF_INPUT))) continue;
        st = sqz_err_set(err, SQZ_ERR_DATA, "graph output '%s' is never produced", g->tensors[t]->name);
        goto done;
    }
    for (int i = 0; i < nt; i++) /* the producer links topo_order relies on */
        if (g->tensors[i]->producer != prod[i]) {
            st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' records producer %d but is produced by node %d",
                             g->tensors[i]->name, g->tensors[i]->producer, prod[i]);
            goto done;
        }
    st = sqz_graph_topo_order(g, order, err); /* cycles */
done:
    free(prod);
    free(is_in);
    free(order);
    return st;
}
