/* runtime/microbatch.c - which graphs may run a batch in slices (runtime/microbatch.h). */
#include "runtime/microbatch.h"

#include <string.h>

#include "sqz/analysis.h"

static int is_default_domain(const sqz_node *n) {
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static int is_const(const sqz_graph *g, int t) {
    return t >= 0 && (g->tensors[t]->flags & SQZ_TF_INIT) && !(g->tensors[t]->flags & SQZ_TF_INPUT);
}

/* A tensor that carries the batch on axis 0: an activation or a graph input, first dim symbolic. */
static int batched(const sqz_graph *g, int t) {
    const sqz_tensor *x = g->tensors[t];
    return x->ndim >= 1 && x->dims[0] < 0;
}

/* A constant operand of a broadcasting op: it must not have a batch axis of its own. */
static int broadcast_const_ok(const sqz_graph *g, int t, int out_rank) {
    const sqz_tensor *x = g->tensors[t];
    return x->ndim >= 0 && (x->ndim < out_rank || x->dims[0] == 1);
}

static int axis_not0(int64_t axis, int rank) { return rank > 0 && (axis < 0 ? axis + rank : axis) != 0; }

/* Constant int64 values of input i of n (NULL when absent or not a constant). */
static const int64_t *const_i64(const sqz_graph *g, const sqz_node *n, int i, int64_t *count) {
    if (i >= n->n_in || !is_const(g, n->in[i])) return NULL;
    const sqz_tensor *x = g->tensors[n->in[i]];
    if (x->dtype != SQZ_DT_I64 || !x->data) return NULL;
    *count = sqz_tensor_numel(x);
    return x->data;
}

static int node_per_sample(const sqz_graph *g, const sqz_node *n) {
    if (!is_default_domain(n) || n->n_out < 1 || n->out[0] < 0) return 0;
    const char *op = n->op_type;
    const int rank = g->tensors[n->out[0]]->ndim;
    /* the first input is the batched activation for every operator below */
    if (n->n_in < 1 || n->in[0] < 0 || !batched(g, n->in[0])) return 0;
    if (!strcmp(op, "BatchNormalization") && sqz_node_attr_int(n, "training_mode", 0)) return 0;
    static const char *const plain[] = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                        "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
                                        "HardSwish", "HardSigmoid", "Identity", "Dropout", "Elu", "Selu",
                                        "Softplus", "Neg", "Abs", "Sqrt", "Exp", "Erf"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!strcmp(op, plain[i])) {
            for (int j = 1; j < n->n_in; j++) /* weights, bias, statistics, bounds */
                if (n->in[j] >= 0 && !is_const(g, n->in[j])) return 0;
            return !(n->n_out > 1 && !strcmp(op, "MaxPool") && n->out[1] >= 0); /* indices are flat */
        }
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
        for (int j = 0; j < n->n_in; j++) {
            const int t = n->in[j];
            if (t < 0) return 0;
            if (is_const(g, t) ? !broadcast_const_ok(g, t, rank) : !(batched(g, t) && g->tensors[t]->ndim == rank))
                return 0;
        }
        return 1;
    }
    if (!strcmp(op, "Flatten")) return sqz_node_attr_int(n, "axis", 1) == 1; /* axis 2: rows of N*C */
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax"))
        return axis_not0(sqz_node_attr_int(n, "axis", g->opset >= 13 ? -1 : 1), rank);
    if (!strcmp(op, "Concat")) {
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] < 0 || !batched(g, n->in[j])) return 0;
        return axis_not0(sqz_node_attr_int(n, "axis", 0), rank);
    }
    if (!strcmp(op, "Gemm")) /* rows of A are samples; B and C constants */
        return sqz_node_attr_int(n, "transA", 0) == 0 && n->n_in >= 2 && is_const(g, n->in[1]) &&
               (n->n_in < 3 || n->in[2] < 0 || is_const(g, n->in[2]));
    if (!strcmp(op, "MatMul"))
        return n->n_in == 2 && is_const(g, n->in[1]) && g->tensors[n->in[0]]->ndim >= 2;
    if (!strcmp(op, "Transpose")) {
        const int64_t *perm;
        return sqz_node_attr_ints(n, "perm", &perm) >= 1 && perm[0] == 0;
    }
    if (!strcmp(op, "Reshape")) { /* shape[0] copies or infers the batch, the rest holds one sample */
        int64_t cnt = 0;
        const int64_t *s = const_i64(g, n, 1, &cnt);
        const sqz_tensor *x = g->tensors[n->in[0]];
        if (!s || cnt < 1 || (s[0] != 0 && s[0] != -1) || sqz_node_attr_int(n, "allowzero", 0)) return 0;
        int64_t per = 1, got = 1;
        for (int d = 1; d < x->ndim; d++) {
            if (x->dims[d] < 0) return 0;
            per *= x->dims[d];
        }
        for (int64_t i = 1; i < cnt; i++) {
            const int64_t v = s[i] == 0 && i < x->ndim ? x->dims[i] : s[i];
            if (v < 0) return 0;
            got *= v;
        }
        return got == per; /* [N, 64, 7, 7] -> [-1, 49] would make rows of N*64: not per-sample */
    }
    return 0;
}

size_t sqz_microbatch_sample_bytes(const sqz_graph *g, double *intensity) {
    if (intensity) *intensity = 0;
    if (g->n_inputs < 1 || g->n_outputs < 1) return 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (!batched(g, g->inputs[i]) || g->tensors[g->inputs[i]]->dtype != SQZ_DT_F32) return 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (!batched(g, g->outputs[i])) return 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (!node_per_sample(g, g->nodes[k])) return 0;
    size_t peak = 0;
    double total = 0, macs = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const int64_t m = sqz_node_macs_batch(g, k, 1);
        macs += m > 0 ? (double)m : 0;
    }
    for (int t = 0; t < g->n_tensors; t++) {
        const sqz_tensor *x = g->tensors[t];
        if (x->producer < 0) continue;
        if (!batched(g, t) || x->dtype == SQZ_DT_UNDEF) return 0;
        size_t b = sqz_dtype_size(x->dtype);
        for (int d = 1; d < x->ndim; d++) {
            if (x->dims[d] < 0) return 0;
            b *= (size_t)x->dims[d];
        }
        if (b > peak) peak = b;
        total += (double)b;
    }
    if (intensity) *intensity = total > 0 ? macs / total : 0;
    return peak;
}

int64_t sqz_microbatch_slice(int64_t n, size_t sample_bytes) {
    if (n < 2 || sample_bytes == 0 || (double)n * (double)sample_bytes <= (double)((size_t)32 << 20)) return 0;
    const int64_t mb = (int64_t)(((size_t)4 << 20) / sample_bytes);
    return mb < 1 ? 1 : mb >= n ? 0 : mb;
}
