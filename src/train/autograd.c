/* train/autograd.c - the tape: a training forward that keeps every activation and a reverse
 * pass through the per-operator gradients of grad_table.c.
 *
 * Every graph tensor has a runtime descriptor in t->vals (same index). Activations own a
 * buffer each (t->act) that keeps its capacity across steps, so a steady-state step does not
 * allocate. Gradients: parameters accumulate into their own buffers (t->pgrad, kept until
 * sqz_tape_zero_grad); every other tensor that needs one gets a buffer (t->gbuf) that backward
 * zeroes the first time something flows into it. req[] marks the tensors that lead from a
 * parameter or a wanted input; backward visits only nodes with such an input and with an output
 * that received a gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "graph/passes.h"
#include "sqz/analysis.h"
#include "train/autograd.h"
#include "train/fake_quant.h"
#include "train/grad.h"

struct sqz_tape {
    sqz_graph *g;
    int threads, training, poison;
    uint64_t seed, step;
    int *order;                 /* (n_nodes) topological order */
    const sqz_op **ops;         /* (n_nodes) */
    const sqz_grad_op **gops;   /* (n_nodes) NULL where the op has no gradient */
    sqz_tensor *vals;           /* (n_tensors) runtime descriptors */
    uint8_t *avail;             /* (n_tensors) value present */
    sqz_grad_buf *act;          /* (n_tensors) activation buffers */
    int n_params;
    int *param_t;               /* (n_params) tensor index */
    int *param_of;              /* (n_tensors) parameter index or -1 */
    float **pgrad;              /* (n_params) numel floats */
    float **fq;                 /* (n_params) fake-quantized weights, NULL unless quantized */
    sqz_grad_buf *gbuf;         /* (n_tensors) */
    float **grad;               /* (n_tensors) current gradient buffer */
    uint8_t *req, *has_grad;    /* (n_tensors) */
    uint8_t *want_in;           /* (n_inputs) */
    sqz_grad_buf *state;        /* (n_nodes * SQZ_GRAD_STATE_SLOTS) */
    sqz_grad_buf scratch[SQZ_GRAD_SCRATCH_SLOTS];
    sqz_grad_buf op_scratch;    /* scratch of inference ops */
    sqz_tensor **args;          /* (max_args) */
    float **din, **dout;        /* (max_args) */
    int max_args;
    int forwarded;
    int *act_of;                /* (n_nodes) BatchNormalization / Add: the fused Relu/Clip node, else -1 */
    uint8_t *absorbed;          /* (n_nodes) 1: a Relu/Clip run by its producer */
    uint8_t *deferred;          /* (n_tensors) 1: a fused producer's output, computed only on request */
    int *bn_add;                /* (n_nodes) BatchNormalization: the fused Add that alone reads its output, else -1 */
    uint8_t *has_bn;            /* (n_nodes) Add: 1 when some operand is such a BatchNormalization's */
    int *bn_live;               /* (n_nodes) Add: its last forward read those operands fused (gctx bn_live) */
    uint8_t *bn_direct;         /* (n_nodes) Add: in this backward its BatchNormalizations read its mask and
                                 * the activation's gradient directly (set by the Add's backward) */
    double *prof;               /* (4 * n_nodes) seconds in forward / backward per node, total and
                                 * fastest pass, when SQZ_TAPE_PROFILE is set (printed to stderr by
                                 * sqz_tape_free) */
    uint64_t prof_bwd;          /* backward passes profiled */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void prof_add(sqz_tape *t, int i, double dt) {
    double *mn = t->prof + 2 * t->g->n_nodes;
    t->prof[i] += dt;
    if (dt < mn[i]) mn[i] = dt;
}

/* The per-node profile, heaviest first: ms per step in forward and backward. */
static void print_profile(const sqz_tape *t) {
    const sqz_graph *g = t->g;
    const int nn = g->n_nodes;
    int *idx = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    if (!idx) return;
    double total = 0;
    for (int k = 0; k < nn; k++) idx[k] = k, total += t->prof[2 * k] + t->prof[2 * k + 1];
    for (int a = 1; a < nn; a++) /* insertion sort by total time */
        for (int b = a; b > 0; b--) {
            const int p = idx[b - 1], q = idx[b];
            if (t->prof[2 * p] + t->prof[2 * p + 1] >= t->prof[2 * q] + t->prof[2 * q + 1]) break;
            idx[b - 1] = q, idx[b] = p;
        }
    const double fs = t->step ? 1e3 / (double)t->step : 0, bs = t->prof_bwd ? 1e3 / (double)t->prof_bwd : 0;
    const double *mn = t->prof + 2 * nn;
    fprintf(stderr, "# tape profile: %llu forward, %llu backward passes; ms per pass (mean, fastest); fused "
                    "activations count in their producer\n",
            (unsigned long long)t->step, (unsigned long long)t->prof_bwd);
    fprintf(stderr, "# %-28s %-20s %9s %9s %9s %9s %6s\n", "node", "op", "forward", "fastest", "backward", "fastest",
            "share");
    for (int i = 0; i < nn; i++) {
        const int k = idx[i];
        const double f = t->prof[2 * k], b = t->prof[2 * k + 1];
        if (f + b <= 0 || t->absorbed[k]) continue; /* (a fused activation counts in its producer) */
        fprintf(stderr, "  %-28.28s %-20.20s %9.3f %9.3f %9.3f %9.3f %5.1f%%\n", g->nodes[k]->name,
                g->nodes[k]->op_type, f * fs, mn[2 * k] * 1e3, b * bs, mn[2 * k + 1] * 1e3,
                total > 0 ? 100.0 * (f + b) / total : 0.0);
    }
    free(idx);
}

static int is_graph_input(const sqz_graph *g, int t) {
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == t) return 1;
    return 0;
}

static int is_graph_output(const sqz_graph *g, int t) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t) return 1;
    return 0;
}

/* An Add of two f32 operands whose shapes can only be the output's (dims equal or both unknown,
 * as a batch dimension; grad_arith.c checks at run time and falls back to broadcasting). */
static int same_shape_add(const sqz_graph *g, const sqz_grad_op *gop, const sqz_node *n) {
    if (gop != &sqz_grad_add || n->n_in != 2 || n->n_out != 1 || n->out[0] < 0) return 0;
    const sqz_tensor *y = g->tensors[n->out[0]];
    if (y->dtype != SQZ_DT_F32 || y->ndim < 0) return 0;
    for (int i = 0; i < 2; i++) {
        const sqz_tensor *a = n->in[i] >= 0 ? g->tensors[n->in[i]] : NULL;
        if (!a || a->dtype != SQZ_DT_F32 || a->ndim != y->ndim) return 0;
        for (int d = 0; d < y->ndim; d++)
            if (a->dims[d] != y->dims[d]) return 0;
    }
    return 1;
}

/* BatchNormalization (or a same-shape Add) -> Relu / Clip pairs run as one op: the producer's
 * forward writes the activation's output and a byte mask of where the activation passes
 * gradient in one pass; its backward applies that mask to the activation's output gradient as it
 * reads it, so the activation's backward (and the gradient buffer between the two) disappears.
 * Taken when the producer's output is read by that one node only (and is no graph output) and
 * Clip's bounds are constants. Nothing reads the producer's own output afterwards, so it is not
 * written either (deferred): sqz_tape_value recomputes it on request from what the forward kept
 * (an Add with a parameter operand still writes it: the optimizer changes that operand). */
/* The one node that reads node n's output 0, when n has no other output and that output is
 * no graph output; else -1. */
static int sole_reader(const sqz_graph *g, const sqz_node *n) {
    if (n->n_out < 1 || n->out[0] < 0 || is_graph_output(g, n->out[0])) return -1;
    for (int o = 1; o < n->n_out; o++)
        if (n->out[o] >= 0) return -1;
    int uses = 0, j = -1;
    for (int q = 0; q < g->n_nodes; q++)
        for (int i = 0; i < g->nodes[q]->n_in; i++)
            if (g->nodes[q]->in[i] == n->out[0]) uses++, j = q;
    return uses == 1 ? j : -1;
}

static void find_fusions(sqz_tape *t, int on) {
    const sqz_graph *g = t->g;
    for (int k = 0; k < g->n_nodes; k++) t->act_of[k] = t->bn_add[k] = -1;
    for (int k = 0; on && k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if (t->gops[k] != &sqz_grad_batchnorm && !same_shape_add(g, t->gops[k], n)) continue;
        const int j = sole_reader(g, n);
        if (j < 0 || t->absorbed[j]) continue;
        const int y = n->out[0];
        const sqz_node *a = g->nodes[j];
        if (a->n_in < 1 || a->in[0] != y || a->n_out != 1 || a->out[0] < 0) continue;
        int ok = t->gops[j] == &sqz_grad_relu;
        if (t->gops[j] == &sqz_grad_clip) {
            ok = 1;
            for (int i = 1; i < a->n_in; i++) {
                const sqz_tensor *b = a->in[i] >= 0 ? g->tensors[a->in[i]] : NULL;
                if (b && (!(b->flags & SQZ_TF_INIT) || b->producer >= 0 || !b->data || b->dtype != SQZ_DT_F32 ||
                          sqz_tensor_numel(b) != 1 || t->param_of[a->in[i]] >= 0 || is_graph_input(g, a->in[i])))
                    ok = 0;
            }
        }
        if (!ok) continue;
        t->act_of[k] = j;
        t->absorbed[j] = 1;
        int param_in = 0;
        for (int i = 0; i < n->n_in && t->gops[k] == &sqz_grad_add; i++) param_in |= n->in[i] >= 0 && t->param_of[n->in[i]] >= 0;
        t->deferred[y] = !param_in;
    }
    /* BatchNormalization -> such a fused Add (ResNet's residual: conv -> BN -> Add -> Relu): the
     * BN's forward keeps only its statistics and coefficients, the Add reads the BN's input
     * through them (its output is deferred too), and the BN's backward reads the Add's mask and
     * the activation's output gradient, so the Add writes no gradient for it */
    for (int k = 0; on && k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if (t->gops[k] != &sqz_grad_batchnorm || t->act_of[k] >= 0 || n->n_in < 1 || n->in[0] < 0) continue;
        const int j = sole_reader(g, n);
        if (j < 0 || t->gops[j] != &sqz_grad_add || t->act_of[j] < 0 || !t->deferred[g->nodes[j]->out[0]]) continue;
        t->bn_add[k] = j;
        t->has_bn[j] = 1;
        t->deferred[n->out[0]] = 1;
    }
}

/* Trainable: an f32 initializer with data in a trainable slot (elementwise ops: not a scalar). */
static int is_param_slot(const sqz_graph *g, const sqz_node *n, const sqz_grad_op *gop, int slot) {
    if (!gop || slot >= 32 || !(gop->param_slots & (1u << slot)) || slot >= n->n_in || n->in[slot] < 0) return 0;
    const int ti = n->in[slot];
    const sqz_tensor *t = g->tensors[ti];
    if (!(t->flags & SQZ_TF_INIT) || t->dtype != SQZ_DT_F32 || t->producer >= 0 || !t->data || is_graph_input(g, ti))
        return 0;
    const int64_t numel = sqz_tensor_numel(t);
    if (numel <= 0 || t->nbytes < (size_t)numel * sizeof(float)) return 0;
    const int elementwise = !strcmp(gop->op, "Add") || !strcmp(gop->op, "Sub") || !strcmp(gop->op, "Mul") ||
                            !strcmp(gop->op, "Div") || !strcmp(gop->op, "PRelu");
    return !(elementwise && numel == 1 && strcmp(gop->op, "PRelu"));
}

void sqz_tape_free(sqz_tape *t) {
    if (!t) return;
    const sqz_graph *g = t->g;
    if (t->act)
        for (int i = 0; i < g->n_tensors; i++) sqz_grad_buf_free(&t->act[i]);
    if (t->gbuf)
        for (int i = 0; i < g->n_tensors; i++) sqz_grad_buf_free(&t->gbuf[i]);
    if (t->state)
        for (int i = 0; i < g->n_nodes * SQZ_GRAD_STATE_SLOTS; i++) sqz_grad_buf_free(&t->state[i]);
    for (int i = 0; i < SQZ_GRAD_SCRATCH_SLOTS; i++) sqz_grad_buf_free(&t->scratch[i]);
    sqz_grad_buf_free(&t->op_scratch);
    for (int i = 0; i < t->n_params; i++) {
        if (t->pgrad) free(t->pgrad[i]);
        if (t->fq) free(t->fq[i]);
    }
    free(t->pgrad);
    free(t->fq);
    free(t->order);
    free(t->ops);
    free(t->gops);
    free(t->vals);
    free(t->avail);
    free(t->act);
    free(t->param_t);
    free(t->param_of);
    free(t->gbuf);
    free(t->grad);
    free(t->req);
    free(t->has_grad);
    free(t->want_in);
    free(t->state);
    free(t->args);
    free(t->din);
    free(t->dout);
    if (t->prof) print_profile(t);
    free(t->prof);
    free(t->act_of);
    free(t->absorbed);
    free(t->deferred);
    free(t->bn_add);
    free(t->has_bn);
    free(t->bn_live);
    free(t->bn_direct);
    free(t);
}

static sqz_status find_params(sqz_tape *t, sqz_err *err) {
    sqz_graph *g = t->g;
    for (int i = 0; i < g->n_tensors; i++) t->param_of[i] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        for (int s = 0; s < n->n_in; s++) {
            if (!is_param_slot(g, n, t->gops[k], s) || t->param_of[n->in[s]] >= 0) continue;
            t->param_of[n->in[s]] = t->n_params;
            t->param_t[t->n_params++] = n->in[s];
        }
    }
    size_t np = (size_t)(t->n_params ? t->n_params : 1);
    t->pgrad = calloc(np, sizeof(float *));
    t->fq = calloc(np, sizeof(float *));
    if (!t->pgrad || !t->fq) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory creating tape");
    for (int i = 0; i < t->n_params; i++) {
        const sqz_tensor *p = g->tensors[t->param_t[i]];
        const size_t nb = sizeof(float) * (size_t)sqz_tensor_numel(p);
        t->pgrad[i] = calloc(1, nb);
        if (!t->pgrad[i]) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory for the gradient of '%s'", p->name);
    }
    return SQZ_OK;
}

sqz_status sqz_tape_new(sqz_graph *g, const sqz_tape_opts *opts, sqz_tape **out, sqz_err *err) {
    *out = NULL;
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "tape: no graph");
    sqz_status st = sqz_graph_verify(g, err);
    if (st) return st;
    sqz_tape *t = calloc(1, sizeof *t);
    if (!t) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory creating tape");
    t->g = g;
    t->threads = opts && opts->threads > 0 ? opts->threads : 1;
    t->training = opts ? opts->training : 1;
    t->seed = opts ? opts->seed : 0;
    t->poison = opts ? opts->poison : 0;
    const size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1), nt = (size_t)(g->n_tensors ? g->n_tensors : 1);
    t->order = malloc(sizeof(int) * nn);
    t->ops = calloc(nn, sizeof *t->ops);
    t->gops = calloc(nn, sizeof *t->gops);
    t->vals = calloc(nt, sizeof *t->vals);
    t->avail = calloc(nt, 1);
    t->act = calloc(nt, sizeof *t->act);
    t->param_t = malloc(sizeof(int) * nt);
    t->param_of = malloc(sizeof(int) * nt);
    t->gbuf = calloc(nt, sizeof *t->gbuf);
    t->grad = calloc(nt, sizeof *t->grad);
    t->req = calloc(nt, 1);
    t->has_grad = calloc(nt, 1);
    t->want_in = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), 1);
    t->state = calloc(nn * SQZ_GRAD_STATE_SLOTS, sizeof *t->state);
    t->act_of = malloc(sizeof(int) * nn);
    t->absorbed = calloc(nn, 1);
    t->deferred = calloc(nt, 1);
    t->bn_add = malloc(sizeof(int) * nn);
    t->has_bn = calloc(nn, 1);
    t->bn_live = calloc(nn, sizeof(int));
    t->bn_direct = calloc(nn, 1);
    if (!t->act_of || !t->absorbed || !t->deferred || !t->bn_add || !t->has_bn || !t->bn_live || !t->bn_direct || !t->order || !t->ops || !t->gops || !t->vals || !t->avail || !t->act || !t->param_t || !t->param_of ||
        !t->gbuf || !t->grad || !t->req || !t->has_grad || !t->want_in || !t->state)
        goto oom;
    if ((st = sqz_graph_topo_order(g, t->order, err))) goto fail;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if ((st = sqz_node_resolve(n, &t->ops[k], err))) goto fail;
        if (!n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx")) t->gops[k] = sqz_grad_find(n->op_type);
        if (n->n_in + n->n_out > t->max_args) t->max_args = n->n_in + n->n_out;
    }
    const size_t ma = (size_t)(t->max_args ? t->max_args : 1);
    t->args = malloc(sizeof(sqz_tensor *) * ma);
    t->din = malloc(sizeof(float *) * ma);
    t->dout = malloc(sizeof(float *) * ma);
    if (!t->args || !t->din || !t->dout) goto oom;
    if ((st = find_params(t, err))) goto fail;
    const char *pe = getenv("SQZ_TAPE_PROFILE");
    if (pe && pe[0] && pe[0] != '0') {
        if (!(t->prof = malloc(4 * nn * sizeof(double)))) goto oom;
        for (size_t i = 0; i < 4 * nn; i++) t->prof[i] = i < 2 * nn ? 0.0 : INFINITY;
    }
    const char *fe = getenv("SQZ_TRAIN_FUSE");
    find_fusions(t, !(opts && opts->no_fuse) && !(fe && fe[0] == '0'));
    for (int i = 0; i < t->n_params; i++) {
        const sqz_tensor *p = g->tensors[t->param_t[i]];
        if (!p->quant) continue;
        if ((st = sqz_fq_check(p, err))) goto fail;
        t->fq[i] = malloc(sizeof(float) * (size_t)sqz_tensor_numel(p));
        if (!t->fq[i]) goto oom;
    }
    for (int i = 0; i < g->n_tensors; i++) t->vals[i] = *g->tensors[i];
    *out = t;
    return SQZ_OK;
oom:
    st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory creating tape");
fail:
    sqz_tape_free(t);
    return st;
}

sqz_status sqz_tape_prepare_graph(sqz_graph *g, sqz_err *err) {
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "tape: no graph");
    sqz_status st;
    if ((st = sqz_graph_resolve_ops(g, err)) || (st = sqz_graph_verify(g, err)) ||
        (st = sqz_graph_fold_constants(g, NULL, err)))
        return st;
    return sqz_graph_infer_shapes(g, err);
}

void sqz_tape_set_training(sqz_tape *t, int training) {
    if (t) t->training = training;
}
int sqz_tape_n_params(const sqz_tape *t) { return t ? t->n_params : 0; }
sqz_tensor *sqz_tape_param(const sqz_tape *t, int i) {
    return t && i >= 0 && i < t->n_params ? t->g->tensors[t->param_t[i]] : NULL;
}
float *sqz_tape_grad(const sqz_tape *t, int i) { return t && i >= 0 && i < t->n_params ? t->pgrad[i] : NULL; }

void sqz_tape_zero_grad(sqz_tape *t) {
    if (!t) return;
    for (int i = 0; i < t->n_params; i++)
        memset(t->pgrad[i], 0, sizeof(float) * (size_t)sqz_tensor_numel(t->g->tensors[t->param_t[i]]));
}

void sqz_tape_want_input_grad(sqz_tape *t, int input, int want) {
    if (t && input >= 0 && input < t->g->n_inputs) t->want_in[input] = want != 0;
}

const float *sqz_tape_input_grad(const sqz_tape *t, int input) {
    if (!t || input < 0 || input >= t->g->n_inputs || !t->want_in[input]) return NULL;
    const int ti = t->g->inputs[input];
    return t->has_grad[ti] ? t->grad[ti] : NULL;
}

int sqz_tape_n_outputs(const sqz_tape *t) { return t ? t->g->n_outputs : 0; }

const sqz_tensor *sqz_tape_output(const sqz_tape *t, int i) {
    if (!t || i < 0 || i >= t->g->n_outputs) return NULL;
    const int ti = t->g->outputs[i];
    return t->avail[ti] ? &t->vals[ti] : NULL;
}

static const sqz_tensor *materialize(sqz_tape *t, int ti);

const sqz_tensor *sqz_tape_value(const sqz_tape *t, const char *name) {
    if (!t || !name) return NULL;
    const int ti = sqz_graph_find_tensor(t->g, name);
    if (ti >= 0 && !t->avail[ti] && t->deferred[ti]) return materialize((sqz_tape *)t, ti);
    return ti >= 0 && t->avail[ti] ? &t->vals[ti] : NULL;
}

/* ---- forward ---- */

static sqz_status bind_inputs(sqz_tape *t, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err) {
    const sqz_graph *g = t->g;
    if (n_inputs < 0 || n_inputs > g->n_inputs)
        return sqz_err_set(err, SQZ_ERR_ARG, "%d inputs given; the graph has %d", n_inputs, g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++) {
        const int ti = g->inputs[i];
        t->vals[ti] = *g->tensors[ti];
        t->avail[ti] = (g->tensors[ti]->flags & SQZ_TF_INIT) != 0;
    }
    for (int i = 0; i < n_inputs; i++) {
        const sqz_tensor *u = inputs ? inputs[i] : NULL;
        if (!u) return sqz_err_set(err, SQZ_ERR_ARG, "input %d is NULL", i);
        int gi = -1;
        if (!u->name || !u->name[0]) gi = i;
        else
            for (int j = 0; j < g->n_inputs && gi < 0; j++)
                if (!strcmp(g->tensors[g->inputs[j]]->name, u->name)) gi = j;
        if (gi < 0) return sqz_err_set(err, SQZ_ERR_ARG, "the graph has no input named '%s'", u->name);
        const int ti = g->inputs[gi];
        const sqz_tensor *d = g->tensors[ti];
        if (t->avail[ti] && !(d->flags & SQZ_TF_INIT))
            return sqz_err_set(err, SQZ_ERR_ARG, "graph input '%s' is given twice", d->name);
        if (u->ndim < 0 || u->ndim > SQZ_MAX_DIMS || (d->dtype != SQZ_DT_UNDEF && u->dtype != d->dtype))
            return sqz_err_set(err, SQZ_ERR_DATA, "input '%s': dtype %s rank %d does not fit the graph", d->name,
                               sqz_dtype_name(u->dtype), u->ndim);
        int bad = d->ndim >= 0 && d->ndim != u->ndim;
        for (int k = 0; !bad && d->ndim >= 0 && k < d->ndim; k++) bad = d->dims[k] >= 0 && d->dims[k] != u->dims[k];
        if (bad) return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' has a shape the graph does not accept", d->name);
        int64_t numel;
        size_t nb;
        sqz_status st = sqz_shape_numel(u->dims, u->ndim, &numel, err);
        if (!st) st = sqz_dtype_nbytes(u->dtype, numel, &nb, err);
        if (st) return st;
        if (nb && (!u->data || u->nbytes < nb))
            return sqz_err_set(err, SQZ_ERR_DATA, "input '%s' holds %zu bytes but its shape needs %zu", d->name,
                               u->data ? u->nbytes : (size_t)0, nb);
        sqz_tensor *v = &t->vals[ti];
        v->dtype = u->dtype;
        v->ndim = u->ndim;
        for (int k = 0; k < SQZ_MAX_DIMS; k++) v->dims[k] = k < u->ndim ? u->dims[k] : 0;
        v->data = u->data;
        v->nbytes = nb;
        v->flags = d->flags & ~(uint32_t)SQZ_TF_INIT;
        t->avail[ti] = 1;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (!t->avail[g->inputs[i]])
            return sqz_err_set(err, SQZ_ERR_ARG, "graph input '%s' was not given", g->tensors[g->inputs[i]]->name);
    return SQZ_OK;
}

/* Parameters: current weights, fake-quantized where they carry quantization parameters. */
static void bind_params(sqz_tape *t) {
    for (int i = 0; i < t->n_params; i++) {
        const int ti = t->param_t[i];
        const sqz_tensor *p = t->g->tensors[ti];
        t->vals[ti] = *p;
        if (t->fq[i]) {
            sqz_fq_apply(p, p->data, t->fq[i], NULL);
            t->vals[ti].data = t->fq[i];
        }
    }
}

/* Which tensors lead from a parameter or a wanted input (float tensors only). */
static void mark_required(sqz_tape *t) {
    const sqz_graph *g = t->g;
    memset(t->req, 0, (size_t)g->n_tensors);
    for (int i = 0; i < t->n_params; i++) t->req[t->param_t[i]] = 1;
    for (int i = 0; i < g->n_inputs; i++)
        if (t->want_in[i] && t->vals[g->inputs[i]].dtype == SQZ_DT_F32) t->req[g->inputs[i]] = 1;
    for (int s = 0; s < g->n_nodes; s++) {
        const sqz_node *n = g->nodes[t->order[s]];
        int any = 0;
        for (int i = 0; i < n->n_in && !any; i++) any = n->in[i] >= 0 && t->req[n->in[i]];
        if (!any) continue;
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0 && t->vals[n->out[o]].dtype == SQZ_DT_F32) t->req[n->out[o]] = 1;
    }
}

static sqz_gctx make_gctx(sqz_tape *t, int k, const sqz_node *n, sqz_err *err) {
    sqz_gctx c = {.node = n, .in = t->args, .n_in = n->n_in, .out = t->args + n->n_in, .n_out = n->n_out,
                  .din = t->din, .dout = t->dout, .opset = t->g->opset, .threads = t->threads,
                  .training = t->training, .state = t->state + (size_t)k * SQZ_GRAD_STATE_SLOTS,
                  .scratch = t->scratch, .err = err};
    /* splitmix64 of (seed, step, node): a fresh, reproducible stream per node and step */
    uint64_t z = t->seed ^ (t->step * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(k + 1) * 0xD1B54A32D192ED03ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    c.seed = z ^ (z >> 31);
    return c;
}

/* Points t->args at node n's input and output descriptors. */
static void bind_args(sqz_tape *t, const sqz_node *n) {
    for (int i = 0; i < n->n_in; i++) t->args[i] = n->in[i] >= 0 ? &t->vals[n->in[i]] : NULL;
    for (int i = 0; i < n->n_out; i++) t->args[n->n_in + i] = n->out[i] >= 0 ? &t->vals[n->out[i]] : NULL;
}

/* Binds node k's arguments, infers its output shapes and gives each output its buffer (not a
 * deferred output 0 when skip0). */
static sqz_status prep_node(sqz_tape *t, int k, sqz_opctx *c, int skip0, sqz_err *err) {
    const sqz_graph *g = t->g;
    const sqz_node *n = g->nodes[k];
    const sqz_op *op = t->ops[k];
    const sqz_grad_op *gop = t->gops[k];
    sqz_tensor **in = t->args, **out = t->args + n->n_in;
    bind_args(t, n);
    for (int i = 0; i < n->n_in; i++)
        if (in[i] && !t->avail[n->in[i]] && !t->deferred[n->in[i]]) /* (a deferred one: shape only) */
            return sqz_err_set(err, SQZ_ERR_INTERNAL, "input '%s' has no value", in[i]->name);
    for (int i = 0; i < n->n_out; i++) {
        if (!out[i]) continue;
        *out[i] = *g->tensors[n->out[i]];
        out[i]->data = NULL;
        out[i]->nbytes = 0;
    }
    *c = (sqz_opctx){.node = n, .in = in, .n_in = n->n_in, .out = out, .n_out = n->n_out, .opset = g->opset,
                     .threads = t->threads, .err = err};
    sqz_status st = gop && gop->infer ? gop->infer(c) : op->infer(c);
    if (st) return st;
    for (int i = 0; i < n->n_out; i++) {
        if (!out[i]) continue;
        int64_t numel;
        size_t nb;
        if (!sqz_tensor_static(out[i]))
            return sqz_err_set(err, SQZ_ERR_DATA, "output '%s' has a shape still unknown at run time", out[i]->name);
        if ((st = sqz_shape_numel(out[i]->dims, out[i]->ndim, &numel, err)) ||
            (st = sqz_dtype_nbytes(out[i]->dtype, numel, &nb, err)))
            return st;
        if (i == 0 && skip0 && t->deferred[n->out[0]]) continue; /* data NULL, not available */
        if (sqz_grad_buf_reserve(&t->act[n->out[i]], nb))
            return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for '%s'", nb, out[i]->name);
        out[i]->data = t->act[n->out[i]].p;
        out[i]->nbytes = nb;
        t->avail[n->out[i]] = 1;
    }
    return SQZ_OK;
}

/* The forward of node k (its arguments bound by prep_node) through its grad op's forward, with
 * the fused activation's output prepared first; recompute: only the deferred output again. */
static sqz_status fused_forward(sqz_tape *t, int k, int recompute, sqz_err *err) {
    const sqz_graph *g = t->g;
    const sqz_node *n = g->nodes[k];
    sqz_gctx gc = make_gctx(t, k, n, err);
    gc.recompute = recompute;
    const int j = t->act_of[k];
    if (j >= 0) { /* the fused activation's output, then this node's arguments again */
        const sqz_node *a = g->nodes[j];
        sqz_opctx ac;
        sqz_status st = prep_node(t, j, &ac, 0, err);
        if (st) return st;
        gc.act = t->gops[j] == &sqz_grad_relu ? 1 : 2;
        if (gc.act == 2) sqz_grad_clip_bounds(a, g->opset, t->args, a->n_in, &gc.act_lo, &gc.act_hi);
        gc.act_out = &t->vals[a->out[0]];
        bind_args(t, n);
    }
    if (t->has_bn[k]) { /* operands from fused BatchNormalizations: their inputs and coefficients */
        gc.bn_live = &t->bn_live[k];
        for (int i = 0; i < 2 && i < n->n_in; i++) {
            const int kb = n->in[i] >= 0 ? g->tensors[n->in[i]]->producer : -1;
            if (kb < 0 || t->bn_add[kb] != k) continue;
            const sqz_tensor *bx = &t->vals[g->nodes[kb]->in[0]];
            const float *st = t->state[(size_t)kb * SQZ_GRAD_STATE_SLOTS].p;
            if (!st) return sqz_err_set(err, SQZ_ERR_INTERNAL, "fused BatchNormalization '%s': no coefficients", g->nodes[kb]->name);
            gc.bn_x[i] = bx;
            gc.bn_ab[i] = st + 2 * (bx->ndim > 1 ? bx->dims[1] : 1);
        }
    }
    return t->gops[k]->forward(&gc);
}

/* A deferred output's value, computed now (after a forward, before the next). */
static const sqz_tensor *materialize(sqz_tape *t, int ti) {
    const int k = t->g->tensors[ti]->producer;
    sqz_err err = {0};
    sqz_opctx c;
    if (k < 0 || !t->forwarded || prep_node(t, k, &c, 0, &err) || fused_forward(t, k, 1, &err)) return NULL;
    return &t->vals[ti];
}

static sqz_status run_node(sqz_tape *t, int step, sqz_err *err) {
    const int k = t->order[step];
    if (t->absorbed[k]) return SQZ_OK; /* run by its producer */
    const sqz_op *op = t->ops[k];
    const sqz_grad_op *gop = t->gops[k];
    sqz_opctx c;
    sqz_status st = prep_node(t, k, &c, 1, err);
    if (st) return st;
    if (gop && gop->forward) return fused_forward(t, k, 0, err);
    const size_t sb = op->scratch_bytes ? op->scratch_bytes(&c) : 0;
    if (sb) {
        if (sb == SIZE_MAX || sqz_grad_buf_reserve(&t->op_scratch, sb))
            return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", sb);
        c.scratch = t->op_scratch.p;
    }
    return op->forward(&c);
}

sqz_status sqz_tape_forward(sqz_tape *t, int n_inputs, const sqz_tensor *const *inputs, sqz_err *err) {
    if (!t) return sqz_err_set(err, SQZ_ERR_ARG, "tape: NULL");
    const sqz_graph *g = t->g;
    t->forwarded = 0;
    t->step++;
    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *d = g->tensors[i];
        t->has_grad[i] = 0;
        if (d->producer >= 0) {
            t->avail[i] = 0;
        } else if (t->param_of[i] < 0) {
            t->vals[i] = *d;
            t->avail[i] = (d->flags & SQZ_TF_INIT) != 0;
        }
    }
    sqz_status st = bind_inputs(t, n_inputs, inputs, err);
    if (st) return st;
    bind_params(t);
    for (int i = 0; i < t->n_params; i++) t->avail[t->param_t[i]] = 1;
    for (int s = 0; s < g->n_nodes; s++) {
        const double t0 = t->prof ? now_s() : 0;
        st = run_node(t, s, err);
        if (t->prof) prof_add(t, 2 * t->order[s], now_s() - t0);
        if (st) {
            const sqz_node *n = g->nodes[t->order[s]];
            sqz_err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
            return st;
        }
    }
    mark_required(t);
    t->forwarded = 1;
    return SQZ_OK;
}

/* ---- backward ---- */

/* The gradient buffer of tensor i, zeroed on first use in this pass (parameters accumulate);
 * with *fresh non-NULL a first use is not zeroed and sets *fresh (the caller's op stores). */
static float *ensure_grad_as(sqz_tape *t, int i, int *fresh, sqz_err *err) {
    if (t->param_of[i] >= 0) {
        t->has_grad[i] = 1;
        return t->grad[i] = t->pgrad[t->param_of[i]];
    }
    if (t->has_grad[i]) return t->grad[i];
    const int64_t numel = sqz_tensor_numel(&t->vals[i]);
    const size_t nb = sizeof(float) * (size_t)(numel > 0 ? numel : 1);
    if (sqz_grad_buf_reserve(&t->gbuf[i], nb)) {
        sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory for the gradient of '%s'", t->vals[i].name);
        return NULL;
    }
    if (fresh) {
        *fresh = 1;
        if (t->poison)
            for (int64_t j = 0; j < numel; j++) ((float *)t->gbuf[i].p)[j] = NAN;
    } else {
        memset(t->gbuf[i].p, 0, nb);
    }
    t->has_grad[i] = 1;
    return t->grad[i] = t->gbuf[i].p;
}

static float *ensure_grad(sqz_tape *t, int i, sqz_err *err) { return ensure_grad_as(t, i, NULL, err); }

static sqz_status backward_node(sqz_tape *t, int step, sqz_err *err) {
    const sqz_graph *g = t->g;
    const int k = t->order[step];
    if (t->absorbed[k]) return SQZ_OK; /* its gradient goes through its producer's */
    const sqz_node *n = g->nodes[k];
    /* an Add with fused BatchNormalization operands: they take the activation's gradient through
     * its mask unless it fell back in the forward or a gradient reached the sum itself */
    if (t->has_bn[k]) t->bn_direct[k] = t->bn_live[k] && !t->has_grad[n->out[0]];
    int j = t->act_of[k], z = j >= 0 ? g->nodes[j]->out[0] : -1;
    const uint8_t *amask = NULL;
    const int ja = t->bn_add[k];
    if (ja >= 0 && t->bn_direct[ja]) { /* a BatchNormalization under that Add, as if fused with its activation */
        j = t->act_of[ja];
        z = g->nodes[j]->out[0];
        amask = t->state[(size_t)ja * SQZ_GRAD_STATE_SLOTS].p;
        if (!amask) return sqz_err_set(err, SQZ_ERR_INTERNAL, "fused Add '%s': no activation mask", g->nodes[ja]->name);
    }
    int any_in = 0, any_out = z >= 0 && t->has_grad[z];
    for (int i = 0; i < n->n_in; i++) any_in |= n->in[i] >= 0 && t->req[n->in[i]];
    for (int o = 0; o < n->n_out; o++) any_out |= n->out[o] >= 0 && t->has_grad[n->out[o]];
    if (!any_in || !any_out) return SQZ_OK;
    const sqz_grad_op *gop = t->gops[k];
    if (!gop || !gop->backward)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "no gradient for operator %s", n->op_type);
    uint32_t fresh = 0;
    for (int i = 0; i < n->n_in; i++) {
        t->args[i] = n->in[i] >= 0 ? &t->vals[n->in[i]] : NULL;
        t->din[i] = NULL;
        if (n->in[i] < 0 || !t->req[n->in[i]]) continue;
        if (t->has_bn[k] && t->bn_direct[k]) { /* a fused BatchNormalization's output: it reads the mask itself */
            const int kb = g->tensors[n->in[i]]->producer;
            if (kb >= 0 && t->bn_add[kb] == k) continue;
        }
        /* a tensor read through two inputs of this node is zeroed: both slots accumulate */
        int twice = 0;
        for (int j = 0; j < n->n_in && !twice; j++) twice = j != i && n->in[j] == n->in[i];
        int f = 0;
        if (!(t->din[i] = ensure_grad_as(t, n->in[i], gop->stores && !twice && i < 32 ? &f : NULL, err)))
            return SQZ_ERR_NOMEM;
        if (f) fresh |= 1u << i;
    }
    for (int o = 0; o < n->n_out; o++) {
        const int ti = n->out[o];
        t->args[n->n_in + o] = ti >= 0 ? &t->vals[ti] : NULL;
        t->dout[o] = NULL;
        if (z >= 0) { /* fused: the producer output's own gradient only if one reached it */
            t->dout[o] = ti >= 0 && t->has_grad[ti] ? t->grad[ti] : NULL;
            continue;
        }
        if (ti >= 0 && t->vals[ti].dtype == SQZ_DT_F32 && !(t->dout[o] = ensure_grad(t, ti, err)))
            return SQZ_ERR_NOMEM;
    }
    sqz_gctx c = make_gctx(t, k, n, err);
    c.fresh = fresh;
    if (z >= 0) {
        c.act = t->gops[j] == &sqz_grad_relu ? 1 : 2;
        c.act_dout = t->has_grad[z] ? t->grad[z] : NULL;
        c.act_mask = amask;
    }
    return gop->backward(&c);
}

/* Masks and the straight-through estimator's clamp mask on parameter gradients. */
static void finish_param_grads(sqz_tape *t) {
    for (int i = 0; i < t->n_params; i++) {
        const sqz_tensor *p = t->g->tensors[t->param_t[i]];
        const int64_t n = sqz_tensor_numel(p);
        float *gr = t->pgrad[i];
        if (p->mask)
            for (int64_t j = 0; j < n; j++) gr[j] = p->mask[j] ? gr[j] : 0.0f;
        if (p->quant) sqz_fq_apply(p, p->data, NULL, gr);
    }
}

static sqz_status backward_run(sqz_tape *t, int n_seeds, const int *seed_t, const float *const *seeds, sqz_err *err) {
    const sqz_graph *g = t->g;
    if (!t->forwarded) return sqz_err_set(err, SQZ_ERR_ARG, "tape: backward without a successful forward");
    for (int i = 0; i < g->n_tensors; i++) t->has_grad[i] = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (t->want_in[i] && t->req[g->inputs[i]] && !ensure_grad(t, g->inputs[i], err)) return SQZ_ERR_NOMEM;
    for (int s = 0; s < n_seeds; s++) {
        const int ti = seed_t[s];
        if (!seeds[s] || !t->req[ti] || t->param_of[ti] >= 0) continue;
        float *d = ensure_grad(t, ti, err);
        if (!d) return SQZ_ERR_NOMEM;
        sqz_grad_axpy1(d, seeds[s], sqz_tensor_numel(&t->vals[ti]));
    }
    if (t->prof) t->prof_bwd++;
    for (int s = g->n_nodes - 1; s >= 0; s--) {
        const double t0 = t->prof ? now_s() : 0;
        sqz_status st = backward_node(t, s, err);
        if (t->prof) prof_add(t, 2 * t->order[s] + 1, now_s() - t0);
        if (st) {
            const sqz_node *n = g->nodes[t->order[s]];
            sqz_err_prefix(err, "backward of node '%s' (%s)", n->name, n->op_type);
            return st;
        }
    }
    finish_param_grads(t);
    return SQZ_OK;
}

sqz_status sqz_tape_backward(sqz_tape *t, const float *const *dout, sqz_err *err) {
    if (!t) return sqz_err_set(err, SQZ_ERR_ARG, "tape: NULL");
    const int n = t->g->n_outputs;
    int idx[64];
    if (n > 64) return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tape: more than 64 graph outputs");
    for (int i = 0; i < n; i++) idx[i] = t->g->outputs[i];
    return backward_run(t, dout ? n : 0, idx, dout, err);
}

sqz_status sqz_tape_backward_seeds(sqz_tape *t, int n, const char *const *names, const float *const *grads,
                                   sqz_err *err) {
    if (!t) return sqz_err_set(err, SQZ_ERR_ARG, "tape: NULL");
    if (n < 0 || n > 64) return sqz_err_set(err, SQZ_ERR_ARG, "tape: %d seeds (at most 64)", n);
    int idx[64];
    for (int i = 0; i < n; i++) {
        idx[i] = names && names[i] ? sqz_graph_find_tensor(t->g, names[i]) : -1;
        if (idx[i] < 0)
            return sqz_err_set(err, SQZ_ERR_ARG, "tape: no tensor named '%s'", names && names[i] ? names[i] : "");
        if ((!t->avail[idx[i]] && !(t->deferred[idx[i]] && t->forwarded)) || t->vals[idx[i]].dtype != SQZ_DT_F32)
            return sqz_err_set(err, SQZ_ERR_ARG, "tape: tensor '%s' has no f32 value to seed", names[i]);
    }
    return backward_run(t, n, idx, grads, err);
}
