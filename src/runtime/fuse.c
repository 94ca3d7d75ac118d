/* runtime/fuse.c - finds producer -> Relu/Clip pairs a session runs as one node. */
#include <math.h>
#include <string.h>

#include "runtime/fuse.h"

static int is_default_domain(const sqz_node *n) {
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

/* Scalar f32 constant (an initializer the caller cannot override). */
static int const_scalar(const sqz_graph *g, int t, float *v) {
    const sqz_tensor *x = g->tensors[t];
    if (!(x->flags & SQZ_TF_INIT) || (x->flags & SQZ_TF_INPUT) || x->dtype != SQZ_DT_F32 ||
        sqz_tensor_numel(x) != 1 || !x->data || x->nbytes < sizeof(float) || x->encoding != SQZ_ENC_DENSE)
        return 0;
    *v = *(const float *)x->data;
    return 1;
}

/* Bounds of activation node n reading tensor p as its first input; 0 if not fusable. */
static int act_bounds(const sqz_graph *g, const sqz_node *n, int p, float *lo, float *hi) {
    if (!is_default_domain(n) || n->n_in < 1 || n->in[0] != p || n->n_out != 1 || n->out[0] < 0) return 0;
    if (!strcmp(n->op_type, "Relu")) {
        if (n->n_in != 1) return 0;
        *lo = 0.0f;
        *hi = INFINITY;
        return 1;
    }
    if (strcmp(n->op_type, "Clip") != 0) return 0;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (g->opset < 11) {
        if (n->n_in != 1) return 0;
        const sqz_attr *a = sqz_node_attr(n, "min"), *b = sqz_node_attr(n, "max");
        if ((a && a->type != SQZ_ATTR_FLOAT) || (b && b->type != SQZ_ATTR_FLOAT)) return 0;
        if (a) *lo = a->f;
        if (b) *hi = b->f;
    } else {
        if (n->n_in > 3) return 0;
        for (int i = 1; i < n->n_in; i++) {
            if (n->in[i] < 0) continue;
            if (n->in[i] == p || !const_scalar(g, n->in[i], i == 1 ? lo : hi)) return 0;
        }
    }
    return !isnan(*lo) && !isnan(*hi);
}

int sqz_fuse_plan(const sqz_graph *g, const sqz_op *const *ops, uint8_t *kind, float *lo, float *hi) {
    int pairs = 0;
    for (int k = 0; k < g->n_nodes; k++) kind[k] = SQZ_FUSE_NONE;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if (!ops[k] || !ops[k]->fuse_act || kind[k] != SQZ_FUSE_NONE || n->n_out < 1 || n->out[0] < 0) continue;
        int p = n->out[0];
        const sqz_tensor *pt = g->tensors[p];
        if (pt->dtype != SQZ_DT_F32 || (pt->flags & SQZ_TF_OUTPUT)) continue;
        int graph_out = 0;
        for (int i = 0; i < g->n_outputs; i++) graph_out |= g->outputs[i] == p;
        if (graph_out) continue;
        int reads = 0, consumer = -1;
        for (int j = 0; j < g->n_nodes && reads <= 1; j++)
            for (int i = 0; i < g->nodes[j]->n_in; i++)
                if (g->nodes[j]->in[i] == p) {
                    reads++;
                    consumer = j;
                }
        if (reads != 1 || consumer == k || kind[consumer] != SQZ_FUSE_NONE) continue;
        const sqz_node *a = g->nodes[consumer];
        const sqz_tensor *at = g->tensors[a->out[0] >= 0 ? a->out[0] : p];
        if (at->dtype != SQZ_DT_F32 && at->dtype != SQZ_DT_UNDEF) continue;
        float l, h;
        if (!act_bounds(g, a, p, &l, &h)) continue;
        kind[k] = SQZ_FUSE_PRODUCER;
        kind[consumer] = SQZ_FUSE_NOOP;
        lo[k] = l;
        hi[k] = h;
        pairs++;
    }
    return pairs;
}
