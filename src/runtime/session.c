/* runtime/session.c - the session: bind inputs, run nodes in order, plan memory.
 *
 * Every graph tensor has a runtime descriptor in s->vals (same index): initializers
 * point at the graph's data, graph inputs at the caller's, activations at planner
 * blocks. Before each node, infer() runs again on the descriptors, now with every
 * input value present, so data-dependent and dynamic shapes resolve; the outputs are
 * then allocated and forward() called. A buffer goes back to the planner right after
 * the last node that reads it (never for graph outputs, or with keep_all).
 *
 * Activation fusion (runtime/fuse.h; off with no_fuse or keep_all): a producer that
 * honours c->act runs with the Relu/Clip bounds, and the activation node is a no-op
 * whose output takes over the producer's buffer (block ownership moves to it, so the
 * buffer is released after the activation output's last reader).
 *
 * Chains (runtime/fuse.h, ops/nn_conv.h; off with no_fuse or keep_all): an expand 1x1 Conv, a
 * depthwise Conv and a project 1x1 Conv whose intermediate tensors are large run as one at the
 * project node's step, by bands of rows. The chain's inner nodes only infer their outputs'
 * shapes (descriptors without data); the chain's input lives until the project step.
 *
 * Slices (runtime/microbatch.h; off with keep_all or microbatch = -1): a graph whose every node
 * is per-sample runs a batch whose activations would outgrow the cache as a few runs of a few
 * samples each, each slice's outputs copied into session-owned buffers of the whole batch.
 *
 * Shape inference is cached per node: when a node's inputs have the same dtypes and shapes as
 * in its last successful run and every input whose values decide output shapes is a constant,
 * the outputs take the descriptors infer() produced then (infer_cached).
 *
 * With opts.profile, each node's time (CLOCK_MONOTONIC; shape inference, allocation and
 * forward) adds up per node.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cpu.h"
#include "graph/passes.h"
#include "ops/nn_conv.h"
#include "runtime/fuse.h"
#include "runtime/microbatch.h"
#include "runtime/planner.h"
#include "sqz/analysis.h"
#include "sqz/session.h"

struct sqz_session {
    const sqz_graph *g;
    int threads, keep_all;
    int *order;             /* (n_nodes) topological order of node indices */
    const sqz_op **ops;     /* (n_nodes) operator of each node */
    sqz_tensor *vals;       /* (n_tensors) runtime descriptors */
    int *last_use;          /* (n_tensors) last step reading the tensor; INT_MAX = kept */
    int *block;             /* (n_tensors) planner block, -1 if none */
    uint8_t *avail;         /* (n_tensors) value readable now */
    uint8_t *is_act;        /* (n_tensors) produced by a node */
    sqz_tensor **args;      /* max_args pointers for in[] and out[] */
    int max_args;
    sqz_planner plan;
    void *scratch;
    size_t scratch_cap;
    void **state;           /* (n_nodes) per-node op state (packed weights), see op.h */
    uint8_t *fuse;          /* (n_nodes) SQZ_FUSE_* */
    float *act_lo, *act_hi; /* (n_nodes) bounds for SQZ_FUSE_PRODUCER nodes */
    int *chain_e, *chain_d; /* (n_nodes) for a chain's project node: its expand (or -1) and depthwise node */
    uint8_t *in_chain;      /* (n_nodes) computed by a later chain step */
    uint8_t *xl;            /* (n_nodes) SQZ_XL_OUT_T: a Gemm pair's producer (runtime/fuse.h) */
    uint8_t *xposed;        /* (n_tensors) this run's value is stored transposed (by such a producer) */
    /* Shape-inference cache: a node whose inputs have the dtypes and shapes of its last
     * successful run, and whose shape-determining inputs (op->shape_inputs) are constants,
     * reuses the output descriptors infer() gave then instead of inferring again. */
    uint8_t *ic_ok;         /* (n_nodes) cache entry valid */
    int *ic_in, *ic_out;    /* (n_nodes) first slot of the node in ic_shape / ic_desc */
    struct ic_shape { int present; sqz_dtype dtype; int ndim; int64_t dims[SQZ_MAX_DIMS]; } *ic_shape;
    sqz_tensor *ic_desc;    /* output descriptors after infer() */
    size_t mb_sample;       /* bytes of one sample's largest activation when slices are possible, else 0 */
    int mb_force;           /* opts.microbatch */
    int mb_auto;            /* memory-bound enough to slice automatically */
    void **mb_out;          /* (n_outputs) whole-batch outputs of a sliced run */
    size_t *mb_cap;
    int mb_cut;             /* > 0: steps [mb_cut, n_nodes) run once on the whole batch after the slices */
    int mb_cut_t;           /* the one tensor the slices hand to those steps */
    size_t mb_cut_max;      /* bytes of one sample's largest activation after the cut */
    void *mb_cut_buf;       /* mb_cut_t of the whole batch */
    size_t mb_cut_cap;
    int profile;
    double *prof_ms;        /* (n_nodes) summed forward time, when profiling */
    int prof_runs;          /* runs summed into prof_ms */
};

void sqz_session_free(sqz_session *s) {
    if (!s) return;
    if (s->state && s->ops)
        for (int k = 0; k < s->g->n_nodes; k++)
            if (s->state[k] && s->ops[k] && s->ops[k]->release_state) s->ops[k]->release_state(s->state[k]);
    free(s->state);
    sqz_planner_free(&s->plan);
    free(s->order);
    free(s->ops);
    free(s->vals);
    free(s->last_use);
    free(s->block);
    free(s->avail);
    free(s->is_act);
    free(s->args);
    free(s->scratch);
    free(s->fuse);
    for (int i = 0; s->mb_out && i < s->g->n_outputs; i++) free(s->mb_out[i]);
    free(s->mb_out);
    free(s->mb_cap);
    free(s->mb_cut_buf);
    free(s->chain_e);
    free(s->chain_d);
    free(s->in_chain);
    free(s->xl);
    free(s->xposed);
    free(s->act_lo);
    free(s->act_hi);
    free(s->prof_ms);
    free(s->ic_ok);
    free(s->ic_in);
    free(s->ic_out);
    free(s->ic_shape);
    free(s->ic_desc);
    free(s);
}

/* Bytes of one sample of t by its static shape (first dimension the batch), or 0 when unknown. */
static size_t sample_bytes(const sqz_tensor *t) {
    if (t->ndim < 1 || t->dtype == SQZ_DT_UNDEF) return 0;
    size_t b = sqz_dtype_size(t->dtype);
    for (int d = 1; d < t->ndim; d++) {
        if (t->dims[d] <= 0 || (size_t)t->dims[d] > SIZE_MAX / 2 / b) return 0;
        b *= (size_t)t->dims[d];
    }
    return b;
}

/* Where a sliced run may stop slicing: the first step from which one small tensor is all the
 * rest of the graph reads (no graph input, nothing else from before), no graph output comes
 * earlier, every later activation is small per sample (SLICE_TAIL_MAX), and the later nodes
 * read enough weights (SLICE_TAIL_WEIGHTS) that running them once on the whole batch beats
 * streaming those weights once per slice (MobileNetV2: the 7x7 layers and the classifier,
 * whose weights a slice of one image reads for a few multiply-adds each). */
#define SLICE_TAIL_MAX ((size_t)256 << 10)
#define SLICE_TAIL_WEIGHTS ((size_t)256 << 10)
static void find_cut(sqz_session *s) {
    const sqz_graph *g = s->g;
    const int nn = g->n_nodes;
    int *step_of = malloc(sizeof(int) * (size_t)(nn ? nn : 1)), *last_read = malloc(sizeof(int) * (size_t)(g->n_tensors ? g->n_tensors : 1));
    if (!step_of || !last_read) {
        free(step_of), free(last_read);
        return;
    }
    for (int st = 0; st < nn; st++) step_of[s->order[st]] = st;
    for (int t = 0; t < g->n_tensors; t++) last_read[t] = -1;
    for (int st = 0; st < nn; st++) { /* the last step reading each tensor */
        const sqz_node *m = g->nodes[s->order[st]];
        for (int j = 0; j < m->n_in; j++)
            if (m->in[j] >= 0) last_read[m->in[j]] = st;
    }
    size_t tail_max = 0, tail_w = 0;
    int best = 0, best_t = -1;
    size_t best_max = 0;
    /* walk the cut from the end towards the front: the tail grows by one node each time */
    for (int c = nn - 1; c >= 1; c--) {
        const sqz_node *n = g->nodes[s->order[c]];
        int ok = 1;
        for (int j = 0; j < n->n_out; j++) {
            if (n->out[j] < 0) continue;
            const size_t b = sample_bytes(g->tensors[n->out[j]]);
            if (!b || b > SLICE_TAIL_MAX) ok = 0;
            if (b > tail_max) tail_max = b;
        }
        for (int j = 0; j < n->n_in; j++) {
            const int t = n->in[j];
            if (t < 0) continue;
            const sqz_tensor *d = g->tensors[t];
            if (d->producer < 0 && (d->flags & SQZ_TF_INIT) && !(d->flags & SQZ_TF_INPUT) && d->data) tail_w += d->nbytes;
        }
        if (!ok) break; /* a large activation: no cut at or before c */
        /* what crosses between steps c - 1 and c */
        int crossing = -1, count = 0, bad = 0;
        for (int t = 0; t < g->n_tensors && !bad; t++) {
            const sqz_tensor *d = g->tensors[t];
            const int prod = d->producer >= 0 ? step_of[d->producer] : -1, read_after = last_read[t] >= c;
            if (d->producer < 0) {
                if (read_after && (d->flags & SQZ_TF_INPUT)) bad = 1;
                continue;
            }
            if (prod >= c) continue;
            for (int o = 0; o < g->n_outputs; o++) bad |= g->outputs[o] == t;
            if (read_after) crossing = t, count++;
        }
        if (bad || count != 1 || s->in_chain[g->tensors[crossing]->producer]) continue;
        { /* not the link of a Gemm pair (stored transposed: the slices' values would not stack) */
            int pk = g->tensors[crossing]->producer;
            if (s->fuse[pk] == SQZ_FUSE_NOOP && g->nodes[pk]->in[0] >= 0) pk = g->tensors[g->nodes[pk]->in[0]]->producer;
            if (pk >= 0 && (s->xl[pk] & SQZ_XL_OUT_T)) continue;
        }
        /* its readers after the cut run as ordinary nodes: not an activation fused into the
         * producer before the cut, not part of a chain */
        for (int st = c; st < nn && !bad; st++) {
            const int k = s->order[st];
            const sqz_node *m = g->nodes[k];
            for (int j = 0; j < m->n_in; j++)
                if (m->in[j] == crossing && (s->fuse[k] == SQZ_FUSE_NOOP || s->in_chain[k] || s->chain_d[k] >= 0)) bad = 1;
        }
        if (bad) continue;
        const size_t cb = sample_bytes(g->tensors[crossing]);
        if (!cb || cb > SLICE_TAIL_MAX || tail_w < SLICE_TAIL_WEIGHTS) continue;
        best = c, best_t = crossing, best_max = tail_max > cb ? tail_max : cb;
    }
    free(step_of);
    free(last_read);
    s->mb_cut = best;
    s->mb_cut_t = best_t;
    s->mb_cut_max = best_max;
}

sqz_status sqz_session_new(const sqz_graph *g, const sqz_session_opts *opts, sqz_session **out, sqz_err *err) {
    *out = NULL;
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "session: no graph");
    sqz_status st = sqz_graph_verify(g, err);
    if (st) return st;
    sqz_session *s = calloc(1, sizeof *s);
    if (!s) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory creating session");
    s->g = g;
    s->threads = opts && opts->threads > 0 ? opts->threads : 1;
    s->keep_all = opts ? opts->keep_all : 0;
    sqz_planner_init(&s->plan, opts ? opts->no_reuse : 0);
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1), nt = (size_t)(g->n_tensors ? g->n_tensors : 1);
    s->order = malloc(sizeof(int) * nn);
    s->ops = calloc(nn, sizeof *s->ops);
    s->vals = calloc(nt, sizeof *s->vals);
    s->last_use = malloc(sizeof(int) * nt);
    s->block = malloc(sizeof(int) * nt);
    s->avail = calloc(nt, 1);
    s->is_act = calloc(nt, 1);
    s->state = calloc(nn, sizeof *s->state);
    s->fuse = calloc(nn, 1);
    s->chain_e = malloc(sizeof(int) * nn);
    s->chain_d = malloc(sizeof(int) * nn);
    s->in_chain = calloc(nn, 1);
    s->xl = calloc(nn, 1);
    s->xposed = calloc(nt, 1);
    s->act_lo = calloc(nn, sizeof(float));
    s->act_hi = calloc(nn, sizeof(float));
    s->profile = opts ? opts->profile : 0;
    s->mb_force = opts ? opts->microbatch : 0;
    double intensity = 0;
    s->mb_sample = s->keep_all || s->mb_force < 0 ? 0 : sqz_microbatch_sample_bytes(g, &intensity);
    s->mb_auto = intensity < SQZ_MICROBATCH_MAX_INTENSITY;
    s->mb_out = calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *s->mb_out);
    s->mb_cap = calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *s->mb_cap);
    if (!s->mb_out || !s->mb_cap) goto oom;
    s->prof_ms = calloc(nn, sizeof(double));
    if (!s->fuse || !s->act_lo || !s->act_hi || !s->prof_ms || !s->chain_e || !s->chain_d || !s->in_chain || !s->xl ||
        !s->xposed)
        goto oom;
    for (size_t k = 0; k < nn; k++) s->chain_e[k] = s->chain_d[k] = -1;
    if (!s->state || !s->order || !s->ops || !s->vals || !s->last_use || !s->block || !s->avail || !s->is_act) goto oom;
    if ((st = sqz_graph_topo_order(g, s->order, err))) goto fail;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if ((st = sqz_node_resolve(n, &s->ops[k], err))) goto fail;
        if (n->n_in + n->n_out > s->max_args) s->max_args = n->n_in + n->n_out;
    }
    s->args = malloc(sizeof(sqz_tensor *) * (size_t)(s->max_args ? s->max_args : 1));
    if (!s->args) goto oom;
    {
        size_t nin = 0, nout = 0;
        s->ic_ok = calloc(nn, 1);
        s->ic_in = malloc(sizeof(int) * nn);
        s->ic_out = malloc(sizeof(int) * nn);
        if (!s->ic_ok || !s->ic_in || !s->ic_out) goto oom;
        for (int k = 0; k < g->n_nodes; k++) {
            s->ic_in[k] = (int)nin;
            s->ic_out[k] = (int)nout;
            nin += (size_t)g->nodes[k]->n_in;
            nout += (size_t)g->nodes[k]->n_out;
        }
        s->ic_shape = calloc(nin ? nin : 1, sizeof *s->ic_shape);
        s->ic_desc = calloc(nout ? nout : 1, sizeof *s->ic_desc);
        if (!s->ic_shape || !s->ic_desc) goto oom;
    }
    if (!(opts && opts->no_fuse) && !s->keep_all) {
        sqz_fuse_plan(g, s->ops, s->fuse, s->act_lo, s->act_hi);
        if (sqz_cpu_isa() >= SQZ_ISA_AVX2) sqz_chain_plan(g, s->fuse, s->chain_e, s->chain_d, s->in_chain);
        sqz_gemm_pair_plan(g, s->fuse, s->xl);
    }
    for (int t = 0; t < g->n_tensors; t++) {
        s->vals[t] = *g->tensors[t];
        s->block[t] = -1;
        s->last_use[t] = s->keep_all ? INT_MAX : -1;
        s->is_act[t] = g->tensors[t]->producer >= 0;
        s->avail[t] = !s->is_act[t] && (g->tensors[t]->flags & SQZ_TF_INIT);
    }
    for (int step = 0; step < g->n_nodes; step++) {
        const sqz_node *n = g->nodes[s->order[step]];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && s->last_use[n->in[j]] != INT_MAX) s->last_use[n->in[j]] = step;
        for (int j = 0; j < n->n_out; j++) /* produced but never read: free right away */
            if (n->out[j] >= 0 && s->last_use[n->out[j]] < step) s->last_use[n->out[j]] = step;
    }
    for (int i = 0; i < g->n_outputs; i++) s->last_use[g->outputs[i]] = INT_MAX;
    /* a chain's input is read at its project node's step */
    for (int step = 0; step < g->n_nodes; step++) {
        const int k = s->order[step];
        if (s->chain_d[k] < 0) continue;
        const int head = s->chain_e[k] >= 0 ? s->chain_e[k] : s->chain_d[k], xin = g->nodes[head]->in[0];
        if (s->last_use[xin] != INT_MAX && s->last_use[xin] < step) s->last_use[xin] = step;
    }
    if (s->mb_sample) find_cut(s);
    *out = s;
    return SQZ_OK;
oom:
    st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory creating session");
fail:
    sqz_session_free(s);
    return st;
}

static sqz_status bind_input(sqz_session *s, int t, const sqz_tensor *u, sqz_err *err) {
    const sqz_tensor *d = s->g->tensors[t];
    char a[160], b[160];
    if (s->avail[t] && !(d->flags & SQZ_TF_INIT))
        return sqz_err_set(err, SQZ_ERR_ARG, "graph input '%s' is given twice", d->name);
    if (u->ndim < 0 || u->ndim > SQZ_MAX_DIMS)
        return sqz_err_set(err, SQZ_ERR_DATA, "input '%s': rank %d outside 0..%d", d->name, u->ndim, SQZ_MAX_DIMS);
    if (d->dtype != SQZ_DT_UNDEF && u->dtype != d->dtype)
        return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' is %s but the graph expects %s", d->name,
                           sqz_dtype_name(u->dtype), sqz_dtype_name(d->dtype));
    int bad = d->ndim >= 0 && d->ndim != u->ndim;
    for (int i = 0; !bad && d->ndim >= 0 && i < d->ndim; i++)
        bad = d->dims[i] >= 0 && d->dims[i] != u->dims[i];
    if (bad) {
        sqz_shape_str(u, a, sizeof a);
        sqz_shape_str(d, b, sizeof b);
        return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' has shape %s but the graph expects %s", d->name, a, b);
    }
    int64_t numel;
    size_t nb;
    sqz_status st = sqz_shape_numel(u->dims, u->ndim, &numel, err);
    if (!st) st = sqz_dtype_nbytes(u->dtype, numel, &nb, err);
    if (st) {
        sqz_err_prefix(err, "input '%s'", d->name);
        return st;
    }
    if (u->encoding != SQZ_ENC_DENSE || (nb && (!u->data || u->nbytes < nb)))
        return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' holds %zu bytes but its shape needs %zu", d->name,
                           u->data ? u->nbytes : (size_t)0, nb);
    sqz_tensor *v = &s->vals[t];
    *v = *d;
    v->dtype = u->dtype;
    v->ndim = u->ndim;
    for (int i = 0; i < SQZ_MAX_DIMS; i++) v->dims[i] = i < u->ndim ? u->dims[i] : 0;
    v->data = u->data;
    v->nbytes = nb;
    v->flags = d->flags & ~(uint32_t)SQZ_TF_INIT;
    v->quant = u->quant ? u->quant : d->quant;
    s->avail[t] = 1;
    return SQZ_OK;
}

static sqz_status bind_inputs(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err) {
    const sqz_graph *g = s->g;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        s->vals[t] = *g->tensors[t];
        s->avail[t] = (g->tensors[t]->flags & SQZ_TF_INIT) != 0; /* a default value */
    }
    for (int i = 0; i < n_inputs; i++) {
        const sqz_tensor *u = inputs ? inputs[i] : NULL;
        if (!u) return sqz_err_set(err, SQZ_ERR_ARG, "input %d is NULL", i);
        int gi = -1;
        if (!u->name || !u->name[0]) {
            gi = i;
        } else {
            for (int j = 0; j < g->n_inputs && gi < 0; j++)
                if (!strcmp(g->tensors[g->inputs[j]]->name, u->name)) gi = j;
            if (gi < 0) return sqz_err_set(err, SQZ_ERR_ARG, "the graph has no input named '%s'", u->name);
        }
        if (gi >= g->n_inputs)
            return sqz_err_set(err, SQZ_ERR_ARG, "input %d given but the graph has %d inputs", i, g->n_inputs);
        sqz_status st = bind_input(s, g->inputs[gi], u, err);
        if (st) return st;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (!s->avail[g->inputs[i]])
            return sqz_err_set(err, SQZ_ERR_ARG, "graph input '%s' was not given", g->tensors[g->inputs[i]]->name);
    return SQZ_OK;
}

/* Checks an output's run-time shape against what the graph states, allocates it. */
static sqz_status alloc_output(sqz_session *s, int t, sqz_err *err) {
    sqz_tensor *v = &s->vals[t];
    const sqz_tensor *d = s->g->tensors[t];
    char a[160], b[160];
    if (!sqz_tensor_static(v) || v->ndim > SQZ_MAX_DIMS) {
        sqz_shape_str(v, a, sizeof a);
        return sqz_err_set(err, SQZ_ERR_DATA, "output '%s' has shape %s that is still unknown at run time", v->name,
                           a);
    }
    int bad = d->ndim >= 0 && d->ndim != v->ndim;
    for (int i = 0; !bad && d->ndim >= 0 && i < d->ndim; i++) bad = d->dims[i] >= 0 && d->dims[i] != v->dims[i];
    if (bad) {
        sqz_shape_str(v, a, sizeof a);
        sqz_shape_str(d, b, sizeof b);
        return sqz_err_set(err, SQZ_ERR_DATA, "output '%s' computes to shape %s but the graph declares %s", v->name,
                           a, b);
    }
    int64_t numel;
    size_t nb;
    sqz_status st = sqz_shape_numel(v->dims, v->ndim, &numel, err);
    if (!st) st = sqz_dtype_nbytes(v->dtype, numel, &nb, err);
    if (st) {
        sqz_err_prefix(err, "output '%s'", v->name);
        return st;
    }
    int blk = sqz_planner_alloc(&s->plan, nb, &v->data);
    if (blk < 0) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for '%s'", nb, v->name);
    v->nbytes = nb;
    s->block[t] = blk;
    s->avail[t] = 1;
    return SQZ_OK;
}

/* An activation fused into its producer: the output takes over the input's buffer. */
static sqz_status run_alias(sqz_session *s, int step, const sqz_node *n, sqz_err *err) {
    int p = n->in[0], r = n->out[0];
    if (!s->avail[p] || s->block[p] < 0)
        return sqz_err_set(err, SQZ_ERR_INTERNAL, "fused input '%s' has no buffer", s->vals[p].name);
    sqz_tensor *v = &s->vals[r];
    const sqz_tensor *src = &s->vals[p];
    *v = *s->g->tensors[r];
    v->dtype = src->dtype;
    v->ndim = src->ndim;
    memcpy(v->dims, src->dims, sizeof v->dims);
    v->data = src->data;
    v->nbytes = src->nbytes;
    s->xposed[r] = s->xposed[p];
    s->block[r] = s->block[p];
    s->avail[r] = 1;
    s->block[p] = -1;
    s->avail[p] = 0;
    s->vals[p].data = NULL;
    if (s->last_use[r] == step) { /* never read */
        sqz_planner_release(&s->plan, s->block[r], v->nbytes);
        s->block[r] = -1;
        s->avail[r] = 0;
        v->data = NULL;
    }
    return SQZ_OK;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* 1 when node k's inputs match its cache entry and no shape-determining input can change. */
static int infer_cached(const sqz_session *s, int k, const sqz_node *n, const sqz_op *op, sqz_tensor *const *in) {
    if (!s->ic_ok[k]) return 0;
    const struct ic_shape *c = s->ic_shape + s->ic_in[k];
    for (int i = 0; i < n->n_in; i++) {
        const sqz_tensor *t = in[i];
        if (!t != !c[i].present) return 0;
        if (!t) continue;
        if (t->dtype != c[i].dtype || t->ndim != c[i].ndim) return 0;
        for (int d = 0; d < t->ndim && d < SQZ_MAX_DIMS; d++)
            if (t->dims[d] != c[i].dims[d]) return 0;
        /* a value that decides output shapes must be a constant the caller did not override */
        if (i < 32 && (op->shape_inputs >> i & 1u) && !(t->flags & SQZ_TF_INIT)) return 0;
    }
    return 1;
}

static void infer_remember(sqz_session *s, int k, const sqz_node *n, sqz_tensor *const *in, sqz_tensor *const *out) {
    struct ic_shape *c = s->ic_shape + s->ic_in[k];
    for (int i = 0; i < n->n_in; i++) {
        c[i].present = in[i] != NULL;
        if (!in[i]) continue;
        c[i].dtype = in[i]->dtype;
        c[i].ndim = in[i]->ndim;
        for (int d = 0; d < SQZ_MAX_DIMS; d++) c[i].dims[d] = d < in[i]->ndim ? in[i]->dims[d] : 0;
        if (in[i]->ndim < 0 || in[i]->ndim > SQZ_MAX_DIMS) return; /* never cache unknown ranks */
    }
    for (int i = 0; i < n->n_out; i++)
        if (out[i]) s->ic_desc[s->ic_out[k] + i] = *out[i];
    s->ic_ok[k] = 1;
}

/* Gives back the buffers of node n's inputs and outputs that nothing reads after this step. */
static void release_dead(sqz_session *s, const sqz_node *n, int step) {
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int t = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (t < 0 || s->last_use[t] != step || s->block[t] < 0) continue;
        sqz_planner_release(&s->plan, s->block[t], s->vals[t].nbytes);
        s->block[t] = -1;
        s->avail[t] = 0;
        s->vals[t].data = NULL;
    }
}

/* The context of chain node k (a Conv: at most 3 inputs, 1 output), for the chain's step. */
static void chain_ctx(sqz_session *s, int k, sqz_tensor **in, sqz_tensor **out, sqz_opctx *c, sqz_err *err) {
    const sqz_node *n = s->g->nodes[k];
    for (int i = 0; i < n->n_in && i < 3; i++) in[i] = n->in[i] >= 0 ? &s->vals[n->in[i]] : NULL;
    out[0] = &s->vals[n->out[0]];
    *c = (sqz_opctx){.node = n, .in = in, .n_in = n->n_in < 3 ? n->n_in : 3, .out = out, .n_out = 1,
                     .opset = s->g->opset, .threads = s->threads, .err = err, .state = &s->state[k]};
    if (s->fuse[k] == SQZ_FUSE_PRODUCER) {
        c->act = 1;
        c->act_lo = s->act_lo[k];
        c->act_hi = s->act_hi[k];
    }
}

static sqz_status run_node(sqz_session *s, int step, sqz_err *err) {
    const sqz_graph *g = s->g;
    int k = s->order[step];
    const sqz_node *n = g->nodes[k];
    const sqz_op *op = s->ops[k];
    if (s->fuse[k] == SQZ_FUSE_NOOP && s->in_chain[k]) { /* a chain's activation: shaped as its input */
        const sqz_tensor *src = &s->vals[n->in[0]];
        sqz_tensor *v = &s->vals[n->out[0]];
        *v = *g->tensors[n->out[0]];
        v->dtype = src->dtype;
        v->ndim = src->ndim;
        memcpy(v->dims, src->dims, sizeof v->dims);
        v->data = NULL;
        v->nbytes = 0;
        s->avail[n->out[0]] = 1;
        s->block[n->out[0]] = -1;
        return SQZ_OK;
    }
    if (s->fuse[k] == SQZ_FUSE_NOOP) return run_alias(s, step, n, err);
    sqz_tensor **in = s->args, **out = s->args + n->n_in;
    for (int i = 0; i < n->n_in; i++) {
        in[i] = n->in[i] >= 0 ? &s->vals[n->in[i]] : NULL;
        if (in[i] && !s->avail[n->in[i]])
            return sqz_err_set(err, SQZ_ERR_INTERNAL, "input '%s' has no value", in[i]->name);
    }
    for (int i = 0; i < n->n_out; i++) {
        out[i] = NULL;
        if (n->out[i] < 0) continue;
        out[i] = &s->vals[n->out[i]];
        *out[i] = *g->tensors[n->out[i]]; /* declared shape; infer() refines it */
        out[i]->data = NULL;
        out[i]->nbytes = 0;
    }
    sqz_opctx c = {.node = n, .in = in, .n_in = n->n_in, .out = out, .n_out = n->n_out,
                   .opset = g->opset, .threads = s->threads, .scratch = NULL, .err = err,
                   .state = &s->state[k], .xlayout = s->xl[k]};
    for (int i = 0; i < n->n_in; i++) { /* a transposed value is read only by its pair's consumer */
        if (n->in[i] < 0 || !s->xposed[n->in[i]]) continue;
        if (i != 0 || strcmp(op->name, "Gemm"))
            return sqz_err_set(err, SQZ_ERR_INTERNAL, "input '%s' is stored transposed", in[i]->name);
        c.xlayout |= SQZ_XL_IN_T;
    }
    if (s->fuse[k] == SQZ_FUSE_PRODUCER) {
        c.act = 1;
        c.act_lo = s->act_lo[k];
        c.act_hi = s->act_hi[k];
    }
    sqz_status st = SQZ_OK;
    if (infer_cached(s, k, n, op, in)) {
        for (int i = 0; i < n->n_out; i++)
            if (out[i]) *out[i] = s->ic_desc[s->ic_out[k] + i];
    } else {
        s->ic_ok[k] = 0;
        st = op->infer(&c);
        if (!st) infer_remember(s, k, n, in, out);
    }
    if (!st && s->in_chain[k]) { /* computed at the chain's step: shapes only */
        for (int i = 0; i < n->n_out; i++) {
            if (!out[i]) continue;
            out[i]->data = NULL;
            out[i]->nbytes = 0;
            s->avail[n->out[i]] = 1;
            s->block[n->out[i]] = -1;
        }
        return SQZ_OK;
    }
    if (!st && op->view && !s->keep_all && n->n_out == 1 && out[0] && n->in[0] >= 0) {
        const int p = n->in[0], r = n->out[0];
        const sqz_tensor *src = &s->vals[p];
        int64_t numel;
        size_t nb;
        const int same = s->avail[p] && src->data && out[0]->dtype == src->dtype &&
                         !sqz_shape_numel(out[0]->dims, out[0]->ndim, &numel, NULL) &&
                         !sqz_dtype_nbytes(out[0]->dtype, numel, &nb, NULL) && nb == src->nbytes;
        if (same && s->block[p] < 0 && s->last_use[r] != INT_MAX) {
            /* a reshape of a buffer the planner does not own (a bound input, a constant), which
             * lives for the whole run: the output reads it in place; never a graph output, so the
             * caller's buffers are not handed back */
            out[0]->data = src->data;
            out[0]->nbytes = src->nbytes;
            s->block[r] = -1;
            s->avail[r] = 1;
            release_dead(s, n, step); /* a shape input read for the last time */
            return SQZ_OK;
        }
        /* a reshape whose input dies here: the output takes over the input's buffer, no copy */
        if (same && s->is_act[p] && s->block[p] >= 0 && s->last_use[p] == step) {
            out[0]->data = src->data;
            out[0]->nbytes = src->nbytes;
            s->block[r] = s->block[p];
            s->avail[r] = 1;
            s->block[p] = -1;
            s->avail[p] = 0;
            s->vals[p].data = NULL;
            release_dead(s, n, step); /* the output if never read, a shape input read for the last time */
            return SQZ_OK;
        }
    }
    for (int i = 0; i < n->n_out && !st; i++)
        if (out[i]) st = alloc_output(s, n->out[i], err);
    if (st) {
        s->ic_ok[k] = 0;
        return st;
    }
    /* a chain's project node: the expand and depthwise nodes' contexts too */
    sqz_tensor *ein[3], *eout[1], *din[3], *dout[1];
    sqz_opctx ce, cd;
    const int chain = s->chain_d[k] >= 0;
    if (chain) {
        if (s->chain_e[k] >= 0) chain_ctx(s, s->chain_e[k], ein, eout, &ce, err);
        chain_ctx(s, s->chain_d[k], din, dout, &cd, err);
    }
    size_t sb = chain ? sqz_conv_chain_scratch(s->chain_e[k] >= 0 ? &ce : NULL, &cd, &c)
                : op->scratch_bytes ? op->scratch_bytes(&c) : 0;
    if (sb > s->scratch_cap) {
        if (sb > SIZE_MAX - 64) return sqz_err_set(err, SQZ_ERR_NOMEM, "scratch of %zu bytes", sb);
        size_t cap = (sb + 63) & ~(size_t)63;
        void *p = aligned_alloc(64, cap);
        if (!p) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", sb);
        free(s->scratch);
        s->scratch = p;
        s->scratch_cap = cap;
    }
    c.scratch = sb ? s->scratch : NULL;
    if ((st = chain ? sqz_conv_chain_forward(s->chain_e[k] >= 0 ? &ce : NULL, &cd, &c) : op->forward(&c))) return st;
    if (n->n_out >= 1 && n->out[0] >= 0) s->xposed[n->out[0]] = c.xlayout_out != 0;
    release_dead(s, n, step);
    if (chain) { /* the chain's input, read here for the last time */
        const int xin = g->nodes[s->chain_e[k] >= 0 ? s->chain_e[k] : s->chain_d[k]]->in[0];
        if (s->last_use[xin] == step && s->block[xin] >= 0) {
            sqz_planner_release(&s->plan, s->block[xin], s->vals[xin].nbytes);
            s->block[xin] = -1;
            s->avail[xin] = 0;
            s->vals[xin].data = NULL;
        }
    }
    return SQZ_OK;
}

/* Forgets every activation (and the planner's blocks). */
static void reset_acts(sqz_session *s) {
    sqz_planner_reset(&s->plan);
    for (int t = 0; t < s->g->n_tensors; t++) {
        if (!s->is_act[t]) continue;
        s->block[t] = -1;
        s->avail[t] = 0;
        s->vals[t].data = NULL;
    }
}

/* Steps [from, to): from 0 binds the inputs first; a later start finds its inputs bound. */
static sqz_status run_steps(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, int from, int to,
                            sqz_err *err) {
    const sqz_graph *g = s->g;
    sqz_status st = SQZ_OK;
    if (from == 0) {
        reset_acts(s);
        if ((st = bind_inputs(s, n_inputs, inputs, err))) return st;
    }
    for (int step = from; step < to; step++) {
        double t0 = s->profile ? now_ms() : 0;
        st = run_node(s, step, err);
        if (s->profile && s->fuse[s->order[step]] != SQZ_FUSE_NOOP) s->prof_ms[s->order[step]] += now_ms() - t0;
        if (st) {
            const sqz_node *n = g->nodes[s->order[step]];
            sqz_err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
            return st;
        }
    }
    return SQZ_OK;
}

static sqz_status run_once(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err) {
    return run_steps(s, n_inputs, inputs, 0, s->g->n_nodes, err);
}

/* Samples per slice for these inputs (0: run them whole): every graph input given, all with the
 * same first dimension n. */
static int64_t slice_of(const sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, int64_t *n) {
    if (!s->mb_sample || !inputs || n_inputs != s->g->n_inputs) return 0;
    *n = -1;
    for (int i = 0; i < n_inputs; i++) {
        const sqz_tensor *u = inputs[i];
        if (!u || u->ndim < 1 || u->encoding != SQZ_ENC_DENSE || !u->data || (*n >= 0 && u->dims[0] != *n)) return 0;
        *n = u->dims[0];
    }
    if (s->mb_force > 0) return *n > s->mb_force ? s->mb_force : 0;
    return s->mb_auto ? sqz_microbatch_slice(*n, s->mb_sample) : 0;
}

/* The step from which a sliced run of n samples runs the tail once on the whole batch (0: no
 * tail): when the tail's activations of the whole batch still fit the last-level cache. */
static int tail_cut(const sqz_session *s, int64_t n) {
    return s->mb_cut > 0 && (double)n * (double)s->mb_cut_max <= (double)((size_t)32 << 20) ? s->mb_cut : 0;
}

static sqz_status run_sliced(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, int64_t n, int64_t mb,
                             sqz_err *err) {
    const sqz_graph *g = s->g;
    sqz_tensor sl[16];
    const sqz_tensor *ptr[16];
    size_t per_in[16], per_out = 0;
    if (n_inputs > 16) return run_once(s, n_inputs, inputs, err);
    for (int i = 0; i < n_inputs; i++) {
        int64_t numel;
        size_t nb;
        sqz_status st = sqz_shape_numel(inputs[i]->dims + 1, inputs[i]->ndim - 1, &numel, err);
        if (!st) st = sqz_dtype_nbytes(inputs[i]->dtype, numel, &nb, err);
        if (st) return st;
        per_in[i] = nb;
        if (inputs[i]->nbytes < nb * (size_t)n)
            return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' holds %zu bytes but its shape needs %zu",
                               inputs[i]->name ? inputs[i]->name : "", inputs[i]->nbytes, nb * (size_t)n);
    }
    const int cut = tail_cut(s, n);
    size_t per_cut = 0;
    for (int64_t i0 = 0; i0 < n; i0 += mb) {
        const int64_t cnt = n - i0 < mb ? n - i0 : mb;
        for (int i = 0; i < n_inputs; i++) {
            sl[i] = *inputs[i];
            sl[i].dims[0] = cnt;
            sl[i].data = (char *)inputs[i]->data + (size_t)i0 * per_in[i];
            sl[i].nbytes = (size_t)cnt * per_in[i];
            ptr[i] = &sl[i];
        }
        sqz_status st = run_steps(s, n_inputs, ptr, 0, cut ? cut : g->n_nodes, err);
        if (st) {
            sqz_err_prefix(err, "samples %lld..%lld", (long long)i0, (long long)(i0 + cnt - 1));
            return st;
        }
        if (cut) { /* the tensor the tail reads, gathered over the slices */
            const sqz_tensor *v = &s->vals[s->mb_cut_t];
            if (!s->avail[s->mb_cut_t] || v->ndim < 1 || v->dims[0] != cnt || (v->nbytes && !v->data) ||
                v->nbytes % (size_t)cnt)
                return sqz_err_set(err, SQZ_ERR_INTERNAL, "tensor '%s' of a slice is not batch-major", v->name);
            per_cut = v->nbytes / (size_t)cnt;
            const size_t need = per_cut * (size_t)n;
            if (need > s->mb_cut_cap) {
                void *p = realloc(s->mb_cut_buf, need);
                if (!p) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for '%s'", need, v->name);
                s->mb_cut_buf = p;
                s->mb_cut_cap = need;
            }
            if (v->nbytes) memcpy((char *)s->mb_cut_buf + (size_t)i0 * per_cut, v->data, v->nbytes);
            continue;
        }
        for (int o = 0; o < g->n_outputs; o++) {
            const sqz_tensor *v = &s->vals[g->outputs[o]];
            if (v->ndim < 1 || v->dims[0] != cnt || (v->nbytes && !v->data) || v->nbytes % (size_t)cnt)
                return sqz_err_set(err, SQZ_ERR_INTERNAL, "output '%s' of a slice is not batch-major", v->name);
            per_out = v->nbytes / (size_t)cnt;
            const size_t need = per_out * (size_t)n;
            if (need > s->mb_cap[o]) {
                void *p = realloc(s->mb_out[o], need);
                if (!p) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for '%s'", need, v->name);
                s->mb_out[o] = p;
                s->mb_cap[o] = need;
            }
            if (v->nbytes) memcpy((char *)s->mb_out[o] + (size_t)i0 * per_out, v->data, v->nbytes);
        }
    }
    if (cut) { /* the tail on the whole batch: it reads that tensor alone (and constants) */
        sqz_tensor keep = s->vals[s->mb_cut_t];
        reset_acts(s);
        sqz_tensor *v = &s->vals[s->mb_cut_t];
        *v = keep;
        v->dims[0] = n;
        v->data = s->mb_cut_buf;
        v->nbytes = per_cut * (size_t)n;
        s->avail[s->mb_cut_t] = 1;
        s->block[s->mb_cut_t] = -1;
        return run_steps(s, n_inputs, inputs, cut, g->n_nodes, err);
    }
    for (int o = 0; o < g->n_outputs; o++) {
        sqz_tensor *v = &s->vals[g->outputs[o]];
        const size_t per = v->nbytes / (size_t)v->dims[0];
        v->data = s->mb_out[o];
        v->nbytes = per * (size_t)n;
        v->dims[0] = n;
    }
    return SQZ_OK;
}

sqz_status sqz_session_run(sqz_session *s, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err) {
    if (!s) return sqz_err_set(err, SQZ_ERR_ARG, "session: NULL");
    if (n_inputs < 0 || n_inputs > s->g->n_inputs)
        return sqz_err_set(err, SQZ_ERR_ARG, "%d inputs given; the graph has %d", n_inputs, s->g->n_inputs);
    int64_t n = 0;
    const int64_t mb = slice_of(s, n_inputs, inputs, &n);
    const sqz_status st = mb > 0 ? run_sliced(s, n_inputs, inputs, n, mb, err) : run_once(s, n_inputs, inputs, err);
    if (!st && s->profile) s->prof_runs++;
    return st;
}

int sqz_session_slice_tail(const sqz_session *s, int64_t batch) {
    const int cut = s && sqz_session_sliced(s, batch) > 0 ? tail_cut(s, batch) : 0;
    return cut > 0 ? s->g->n_nodes - cut : 0;
}

int sqz_session_sliced(const sqz_session *s, int64_t batch) {
    if (!s || !s->mb_sample) return 0;
    if (s->mb_force > 0) return batch > s->mb_force ? s->mb_force : 0;
    return s->mb_auto ? (int)sqz_microbatch_slice(batch, s->mb_sample) : 0;
}

int sqz_session_n_outputs(const sqz_session *s) { return s ? s->g->n_outputs : 0; }

const sqz_tensor *sqz_session_output(const sqz_session *s, int i) {
    if (!s || i < 0 || i >= s->g->n_outputs) return NULL;
    int t = s->g->outputs[i];
    return s->avail[t] ? &s->vals[t] : NULL;
}

const sqz_tensor *sqz_session_value(const sqz_session *s, const char *name) {
    if (!s || !name) return NULL;
    int t = sqz_graph_find_tensor(s->g, name);
    return t >= 0 && s->avail[t] ? &s->vals[t] : NULL;
}

size_t sqz_session_arena_bytes(const sqz_session *s) { return s ? sqz_planner_bytes(&s->plan) : 0; }

size_t sqz_session_peak_bytes(const sqz_session *s) { return s ? s->plan.peak : 0; }

sqz_status sqz_session_profile(const sqz_session *s, int node, double *ms) {
    if (ms) *ms = 0;
    if (!s || !ms) return SQZ_ERR_ARG;
    if (!s->profile) return SQZ_ERR_ARG;
    if (node < 0 || node >= s->g->n_nodes) return SQZ_ERR_ARG;
    *ms = s->prof_runs ? s->prof_ms[node] / s->prof_runs : 0.0;
    return SQZ_OK;
}

int sqz_session_profile_runs(const sqz_session *s) { return s && s->profile ? s->prof_runs : 0; }

void sqz_session_profile_reset(sqz_session *s) {
    if (!s) return;
    for (int k = 0; k < s->g->n_nodes; k++) s->prof_ms[k] = 0;
    s->prof_runs = 0;
}

int sqz_session_chain(const sqz_session *s, int node, int *expand, int *depthwise) {
    if (!s || node < 0 || node >= s->g->n_nodes) return 0;
    if (s->chain_d[node] >= 0) {
        if (expand) *expand = s->chain_e[node];
        if (depthwise) *depthwise = s->chain_d[node];
        return 2;
    }
    return s->in_chain[node] ? 1 : 0;
}

const char *sqz_session_kernel(const sqz_session *s, int node) {
    if (s && node >= 0 && node < s->g->n_nodes && s->chain_d[node] >= 0) return "chain";
    if (s && node >= 0 && node < s->g->n_nodes && s->xl[node] && s->g->nodes[node]->out[0] >= 0 &&
        s->xposed[s->g->nodes[node]->out[0]])
        return "gemm-t"; /* the last run stored this Gemm's output transposed (runtime/fuse.h) */
    if (!s || node < 0 || node >= s->g->n_nodes || !s->ops[node] || !s->ops[node]->kernel) return NULL;
    const sqz_node *n = s->g->nodes[node];
    if (n->n_in > 16 || n->n_out > 16) return NULL;
    /* the shapes of the last run stay in vals after the buffers are given back */
    sqz_tensor *in[16] = {0}, *out[16] = {0}; /* QLinearConv with a bias: 9 inputs */
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        in[i] = &s->vals[n->in[i]];
        if (in[i]->ndim < 0) return NULL;
    }
    for (int i = 0; i < n->n_out; i++) out[i] = n->out[i] >= 0 ? &s->vals[n->out[i]] : NULL;
    sqz_err err = {0};
    sqz_opctx c = {.node = n, .in = in, .n_in = n->n_in, .out = out, .n_out = n->n_out, .opset = s->g->opset,
                   .threads = s->threads, .err = &err};
    return s->ops[node]->kernel(&c);
}

int sqz_session_fused(const sqz_session *s, int node) {
    if (!s || node < 0 || node >= s->g->n_nodes) return 0;
    return s->fuse[node];
}
