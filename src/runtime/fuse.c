/* runtime/fuse.c - finds producer -> Relu/Clip pairs a session runs as one node. */
#include <math.h>
#include <string.h>

#include "runtime/fuse.h"

#include "graph/passes.h"

static int is_default_domain(const sqz_node *n) {
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
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
        if (!sqz_node_act_bounds(g, a, p, &l, &h)) continue;
        kind[k] = SQZ_FUSE_PRODUCER;
        kind[consumer] = SQZ_FUSE_NOOP;
        lo[k] = l;
        hi[k] = h;
        pairs++;
    }
    return pairs;
}

/* ---- chains ---- */

/* The number of nodes reading tensor t, plus one if it is a graph output. */
static int readers(const sqz_graph *g, int t) {
    int r = 0;
    for (int j = 0; j < g->n_nodes; j++)
        for (int i = 0; i < g->nodes[j]->n_in; i++) r += g->nodes[j]->in[i] == t;
    for (int i = 0; i < g->n_outputs; i++) r += g->outputs[i] == t;
    return r;
}

static int ints_all(const sqz_node *n, const char *name, int64_t v) {
    const sqz_attr *a = sqz_node_attr(n, name);
    if (!a) return 1;
    if (a->type != SQZ_ATTR_INTS) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->ints[i] != v) return 0;
    return 1;
}

/* A 2-D f32 Conv with constant weights of shape (M, cpg, kh, kw) and explicit pads (no
 * auto_pad): 1 and the weight dims, else 0. */
static int conv_node(const sqz_graph *g, const sqz_node *n, int64_t *wd) {
    if (!is_default_domain(n) || strcmp(n->op_type, "Conv") || n->n_in < 2 || n->n_in > 3 || n->n_out != 1 ||
        n->in[0] < 0 || n->in[1] < 0 || n->out[0] < 0)
        return 0;
    const sqz_tensor *w = g->tensors[n->in[1]], *x = g->tensors[n->in[0]];
    if (!(w->flags & SQZ_TF_INIT) || (w->flags & SQZ_TF_INPUT) || w->dtype != SQZ_DT_F32 || w->ndim != 4 || !w->data ||
        w->encoding != SQZ_ENC_DENSE || x->dtype != SQZ_DT_F32)
        return 0;
    if (n->n_in == 3 && n->in[2] >= 0) {
        const sqz_tensor *b = g->tensors[n->in[2]];
        if (!(b->flags & SQZ_TF_INIT) || (b->flags & SQZ_TF_INPUT) || b->dtype != SQZ_DT_F32 || !b->data)
            return 0;
    }
    const sqz_attr *ap = sqz_node_attr(n, "auto_pad");
    if (ap && !(ap->type == SQZ_ATTR_STRING && ap->s && !strcmp(ap->s, "NOTSET"))) return 0;
    for (int i = 0; i < 4; i++) wd[i] = w->dims[i];
    return 1;
}

static int pointwise_node(const sqz_graph *g, const sqz_node *n, int64_t *wd) {
    return conv_node(g, n, wd) && wd[2] == 1 && wd[3] == 1 && sqz_node_attr_int(n, "group", 1) == 1 &&
           ints_all(n, "strides", 1) && ints_all(n, "pads", 0) && ints_all(n, "dilations", 1);
}

/* The producer of tensor t through at most one fused activation (kind NOOP): the node index,
 * *act the activation node or -1; -1 when t has no producer. */
static int through_act(const sqz_graph *g, const uint8_t *kind, int t, int *act) {
    *act = -1;
    int k = g->tensors[t]->producer;
    if (k < 0) return -1;
    if (kind[k] == SQZ_FUSE_NOOP) {
        *act = k;
        k = g->tensors[g->nodes[k]->in[0]]->producer;
        if (k < 0 || kind[k] != SQZ_FUSE_PRODUCER) return -1;
    }
    return k;
}

/* Tensor t and, through activation node act, its source are read only by their one consumer. */
static int private_link(const sqz_graph *g, int t, int act) {
    if (readers(g, t) != 1) return 0;
    return act < 0 || readers(g, g->nodes[act]->in[0]) == 1;
}

int sqz_chain_plan(const sqz_graph *g, const uint8_t *kind, int *chain_e, int *chain_d, uint8_t *in_chain) {
    int chains = 0;
    for (int k = 0; k < g->n_nodes; k++) chain_e[k] = chain_d[k] = -1, in_chain[k] = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *c = g->nodes[k];
        int64_t wc[4], wb[4], wa[4];
        if (in_chain[k] || kind[k] == SQZ_FUSE_NOOP || !pointwise_node(g, c, wc)) continue;
        int actb, acta;
        const int b = through_act(g, kind, c->in[0], &actb);
        if (b < 0 || in_chain[b] || chain_d[b] >= 0 || !private_link(g, c->in[0], actb)) continue;
        const sqz_node *bn = g->nodes[b];
        const int64_t ce = wc[1];
        if (!conv_node(g, bn, wb) || wb[0] != ce || wb[1] != 1 || sqz_node_attr_int(bn, "group", 1) != ce) continue;
        const sqz_tensor *u = g->tensors[bn->in[0]];
        if (u->ndim != 4 || u->dims[1] != ce || u->dims[2] <= 0 || u->dims[3] <= 0 ||
            ce * u->dims[2] * u->dims[3] * 4 < ((int64_t)512 << 10))
            continue;
        int a = through_act(g, kind, bn->in[0], &acta);
        if (a >= 0 && (in_chain[a] || chain_d[a] >= 0 || !private_link(g, bn->in[0], acta) ||
                       !pointwise_node(g, g->nodes[a], wa) || wa[0] != ce))
            a = -1;
        chain_d[k] = b;
        chain_e[k] = a;
        in_chain[b] = 1;
        if (actb >= 0) in_chain[actb] = 1;
        if (a >= 0) {
            in_chain[a] = 1;
            if (acta >= 0) in_chain[acta] = 1;
        }
        chains++;
    }
    return chains;
}

/* ---- Gemm pairs with a transposed link ---- */

/* The one node reading tensor t, when t is read by exactly one node and is not a graph output;
 * else -1. */
static int sole_reader(const sqz_graph *g, int t) {
    if (readers(g, t) != 1) return -1;
    for (int j = 0; j < g->n_nodes; j++)
        for (int i = 0; i < g->nodes[j]->n_in; i++)
            if (g->nodes[j]->in[i] == t) return j;
    return -1;
}

/* A default-domain Gemm with transA == 0 whose input 0 is f32 (or of unknown dtype). */
static int gemm_node(const sqz_graph *g, const sqz_node *n) {
    if (!is_default_domain(n) || strcmp(n->op_type, "Gemm") || n->n_in < 2 || n->n_in > 3 || n->n_out != 1 ||
        n->in[0] < 0 || n->in[1] < 0 || n->out[0] < 0 || sqz_node_attr_int(n, "transA", 0) != 0)
        return 0;
    const sqz_tensor *a = g->tensors[n->in[0]];
    return a->dtype == SQZ_DT_F32 || a->dtype == SQZ_DT_UNDEF;
}

int sqz_gemm_pair_plan(const sqz_graph *g, const uint8_t *kind, uint8_t *xl) {
    int pairs = 0;
    for (int k = 0; k < g->n_nodes; k++) xl[k] = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if (!gemm_node(g, n) || kind[k] == SQZ_FUSE_NOOP || sqz_node_attr_int(n, "transB", 0) != 1) continue;
        const sqz_tensor *w = g->tensors[n->in[1]];
        if (!(w->flags & SQZ_TF_INIT) || (w->flags & SQZ_TF_INPUT) || w->dtype != SQZ_DT_F32 || w->ndim != 2 ||
            !w->data || w->encoding != SQZ_ENC_DENSE)
            continue;
        if (n->n_in == 3 && n->in[2] >= 0) { /* a bias row, beta 1: it becomes a bias per row of Y^T */
            const sqz_tensor *b = g->tensors[n->in[2]];
            const int row = b->ndim == 1 || (b->ndim == 2 && b->dims[0] == 1);
            if (!(b->flags & SQZ_TF_INIT) || (b->flags & SQZ_TF_INPUT) || !b->data || !row ||
                b->dims[b->ndim - 1] != w->dims[0] || w->dims[0] < 2 || sqz_node_attr_float(n, "beta", 1.0f) != 1.0f)
                continue;
        }
        /* the link: the output, or the output of the activation fused into this node */
        int t = n->out[0], r = sole_reader(g, t);
        if (r >= 0 && kind[k] == SQZ_FUSE_PRODUCER) {
            if (kind[r] != SQZ_FUSE_NOOP || g->nodes[r]->out[0] < 0) continue;
            t = g->nodes[r]->out[0];
            r = sole_reader(g, t);
        }
        if (r < 0) continue;
        const sqz_node *m = g->nodes[r];
        if (!gemm_node(g, m) || m->in[0] != t || m->in[1] == t || (m->n_in == 3 && m->in[2] == t) ||
            kind[r] == SQZ_FUSE_NOOP)
            continue;
        xl[k] |= SQZ_XL_OUT_T;
        pairs++;
    }
    return pairs;
}
