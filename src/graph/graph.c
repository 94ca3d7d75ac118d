/* graph/graph.c - building and querying the graph IR. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "sqz/graph.h"

sqz_graph *sqz_graph_new(void) {
    sqz_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->arena = sqz_arena_new(0);
    if (!g->arena) {
        free(g);
        return NULL;
    }
    g->name = sqz_arena_strdup(g->arena, "graph");
    g->producer = sqz_arena_strdup(g->arena, "sqz");
    g->ir_version = 8;
    g->opset = 13;
    return g;
}

void sqz_graph_free(sqz_graph *g) {
    if (!g) return;
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name_index);
    if (g->map_base) sqz_file_unmap(g->map_base, g->map_len);
    sqz_arena_free(g->arena);
    free(g);
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int index_insert(sqz_graph *g, int idx) {
    if ((int64_t)(g->n_tensors + 1) * 2 > g->name_index_cap) {
        int cap = g->name_index_cap ? g->name_index_cap * 2 : 256;
        int *tab = malloc(sizeof(int) * (size_t)cap);
        if (!tab) return -1;
        for (int i = 0; i < cap; i++) tab[i] = -1;
        free(g->name_index);
        g->name_index = tab;
        g->name_index_cap = cap;
        for (int i = 0; i < g->n_tensors; i++) {
            if (i == idx) continue;
            uint64_t h = hash_str(g->tensors[i]->name) & (uint64_t)(cap - 1);
            while (tab[h] >= 0) h = (h + 1) & (uint64_t)(cap - 1);
            tab[h] = i;
        }
    }
    uint64_t m = (uint64_t)(g->name_index_cap - 1);
    uint64_t h = hash_str(g->tensors[idx]->name) & m;
    while (g->name_index[h] >= 0) h = (h + 1) & m;
    g->name_index[h] = idx;
    return 0;
}

int sqz_graph_reindex(sqz_graph *g) {
    int cap = 256;
    while ((int64_t)(g->n_tensors + 1) * 2 > cap) cap *= 2;
    int *tab = malloc(sizeof(int) * (size_t)cap);
    if (!tab) return -1;
    for (int i = 0; i < cap; i++) tab[i] = -1;
    for (int i = 0; i < g->n_tensors; i++) {
        uint64_t h = hash_str(g->tensors[i]->name) & (uint64_t)(cap - 1);
        while (tab[h] >= 0) h = (h + 1) & (uint64_t)(cap - 1);
        tab[h] = i;
    }
    free(g->name_index);
    g->name_index = tab;
    g->name_index_cap = cap;
    return 0;
}

int sqz_graph_find_tensor(const sqz_graph *g, const char *name) {
    if (!name || !g->name_index_cap) return -1;
    uint64_t m = (uint64_t)(g->name_index_cap - 1);
    uint64_t h = hash_str(name) & m;
    while (g->name_index[h] >= 0) {
        int i = g->name_index[h];
        if (!strcmp(g->tensors[i]->name, name)) return i;
        h = (h + 1) & m;
    }
    return -1;
}

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *p = realloc(*arr, elem * (size_t)nc);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

int sqz_graph_add_tensor(sqz_graph *g, const char *name, sqz_dtype dt, int ndim,
                         const int64_t *dims, sqz_err *err) {
    if (!name || !name[0]) {
        sqz_err_set(err, SQZ_ERR_DATA, "tensor with an empty name");
        return -1;
    }
    if (ndim > SQZ_MAX_DIMS) {
        sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' has rank %d (sqz supports up to %d)", name, ndim,
                    SQZ_MAX_DIMS);
        return -1;
    }
    if (sqz_graph_find_tensor(g, name) >= 0) {
        sqz_err_set(err, SQZ_ERR_DATA, "duplicate tensor name '%s'", name);
        return -1;
    }
    if (grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof(sqz_tensor *))) goto oom;
    sqz_tensor *t = sqz_arena_alloc(g->arena, sizeof *t, 8);
    if (!t) goto oom;
    t->name = sqz_arena_strdup(g->arena, name);
    if (!t->name) goto oom;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim && dims; i++) t->dims[i] = dims[i];
    t->producer = -1;
    g->tensors[g->n_tensors] = t;
    if (index_insert(g, g->n_tensors)) goto oom;
    return g->n_tensors++;
oom:
    sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    return -1;
}

sqz_status sqz_graph_alloc_data(sqz_graph *g, sqz_tensor *t, sqz_err *err) {
    int64_t numel;
    sqz_status st = sqz_shape_numel(t->dims, t->ndim, &numel, err);
    if (st) {
        sqz_err_prefix(err, "tensor '%s'", t->name);
        return st;
    }
    size_t nb;
    if ((st = sqz_dtype_nbytes(t->dtype, numel, &nb, err))) {
        sqz_err_prefix(err, "tensor '%s'", t->name);
        return st;
    }
    void *p = sqz_arena_alloc(g->arena, nb ? nb : 1, 64);
    if (!p) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes for '%s'", nb, t->name);
    t->data = p;
    t->nbytes = nb;
    t->flags &= ~(uint32_t)SQZ_TF_EXTERNAL;
    return SQZ_OK;
}

sqz_status sqz_graph_set_data(sqz_graph *g, sqz_tensor *t, const void *bytes, size_t nbytes,
                              sqz_err *err) {
    sqz_status st = sqz_graph_alloc_data(g, t, err);
    if (st) return st;
    if (nbytes != t->nbytes)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s': %zu bytes of data for a shape needing %zu", t->name,
                           nbytes, t->nbytes);
    if (nbytes) memcpy(t->data, bytes, nbytes);
    t->flags |= SQZ_TF_INIT;
    return SQZ_OK;
}

char *sqz_graph_unique_name(sqz_graph *g, const char *base) {
    if (sqz_graph_find_tensor(g, base) < 0) return sqz_arena_strdup(g->arena, base);
    size_t n = strlen(base) + 24;
    char *buf = malloc(n);
    if (!buf) return NULL;
    char *res = NULL;
    for (long k = 1;; k++) {
        snprintf(buf, n, "%s_%ld", base, k);
        if (sqz_graph_find_tensor(g, buf) < 0) {
            res = sqz_arena_strdup(g->arena, buf);
            break;
        }
    }
    free(buf);
    return res;
}

int sqz_graph_add_node(sqz_graph *g, const char *op_type, const char *name, int n_in,
                       const int *in, int n_out, const int *out, sqz_err *err) {
    if (n_in < 0 || n_out < 0) {
        sqz_err_set(err, SQZ_ERR_ARG, "node '%s': negative input or output count", name ? name : "");
        return -1;
    }
    for (int i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= g->n_tensors) {
            sqz_err_set(err, SQZ_ERR_ARG, "node '%s': input %d refers to no tensor", name ? name : "", i);
            return -1;
        }
    for (int i = 0; i < n_out; i++)
        if (out[i] < -1 || out[i] >= g->n_tensors) {
            sqz_err_set(err, SQZ_ERR_ARG, "node '%s': output %d refers to no tensor", name ? name : "", i);
            return -1;
        }
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(sqz_node *))) goto oom;
    sqz_node *n = sqz_arena_alloc(g->arena, sizeof *n, 8);
    if (!n) goto oom;
    n->op_type = sqz_arena_strdup(g->arena, op_type);
    n->name = sqz_arena_strdup(g->arena, name ? name : "");
    n->domain = sqz_arena_strdup(g->arena, "");
    n->in = sqz_arena_alloc(g->arena, sizeof(int) * (size_t)(n_in ? n_in : 1), 8);
    n->out = sqz_arena_alloc(g->arena, sizeof(int) * (size_t)(n_out ? n_out : 1), 8);
    if (!n->op_type || !n->name || !n->domain || !n->in || !n->out) goto oom;
    n->n_in = n_in;
    n->n_out = n_out;
    if (n_in) memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    if (n_out) memcpy(n->out, out, sizeof(int) * (size_t)n_out);
    for (int i = 0; i < n_out; i++)
        if (out[i] >= 0) g->tensors[out[i]]->producer = g->n_nodes;
    g->nodes[g->n_nodes] = n;
    return g->n_nodes++;
oom:
    sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory adding node '%s'", name ? name : "");
    return -1;
}

sqz_attr *sqz_node_add_attr(sqz_graph *g, sqz_node *n, const char *name, sqz_attr_type type) {
    sqz_attr *a = sqz_arena_alloc(g->arena, sizeof(sqz_attr) * (size_t)(n->n_attrs + 1), 8);
    if (!a) return NULL;
    if (n->n_attrs) memcpy(a, n->attrs, sizeof(sqz_attr) * (size_t)n->n_attrs);
    sqz_attr *na = &a[n->n_attrs];
    na->name = sqz_arena_strdup(g->arena, name);
    if (!na->name) return NULL;
    na->type = type;
    n->attrs = a;
    n->n_attrs++;
    return na;
}

void sqz_graph_update_producers(sqz_graph *g) {
    for (int i = 0; i < g->n_tensors; i++) g->tensors[i]->producer = -1;
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k]->n_out; j++)
            if (g->nodes[k]->out[j] >= 0) g->tensors[g->nodes[k]->out[j]]->producer = k;
}

void sqz_graph_remove_nodes(sqz_graph *g, const uint8_t *dead) {
    int w = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (!dead[k]) g->nodes[w++] = g->nodes[k];
    g->n_nodes = w;
    sqz_graph_update_producers(g);
}

static sqz_status add_idx(int **arr, int *n, int *cap, int v, sqz_err *err) {
    if (grow((void **)arr, cap, *n + 1, sizeof(int))) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    (*arr)[(*n)++] = v;
    return SQZ_OK;
}

sqz_status sqz_graph_add_input(sqz_graph *g, int tensor, sqz_err *err) {
    if (tensor < 0 || tensor >= g->n_tensors) return sqz_err_set(err, SQZ_ERR_ARG, "input refers to no tensor");
    g->tensors[tensor]->flags |= SQZ_TF_INPUT;
    return add_idx(&g->inputs, &g->n_inputs, &g->cap_inputs, tensor, err);
}

sqz_status sqz_graph_add_output(sqz_graph *g, int tensor, sqz_err *err) {
    if (tensor < 0 || tensor >= g->n_tensors) return sqz_err_set(err, SQZ_ERR_ARG, "output refers to no tensor");
    g->tensors[tensor]->flags |= SQZ_TF_OUTPUT;
    return add_idx(&g->outputs, &g->n_outputs, &g->cap_outputs, tensor, err);
}

const sqz_attr *sqz_node_attr(const sqz_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t sqz_node_attr_int(const sqz_node *n, const char *name, int64_t def) {
    const sqz_attr *a = sqz_node_attr(n, name);
    return (a && a->type == SQZ_ATTR_INT) ? a->i : def;
}

float sqz_node_attr_float(const sqz_node *n, const char *name, float def) {
    const sqz_attr *a = sqz_node_attr(n, name);
    if (a && a->type == SQZ_ATTR_FLOAT) return a->f;
    if (a && a->type == SQZ_ATTR_INT) return (float)a->i;
    return def;
}

const char *sqz_node_attr_str(const sqz_node *n, const char *name, const char *def) {
    const sqz_attr *a = sqz_node_attr(n, name);
    return (a && a->type == SQZ_ATTR_STRING) ? a->s : def;
}

int64_t sqz_node_attr_ints(const sqz_node *n, const char *name, const int64_t **vals) {
    const sqz_attr *a = sqz_node_attr(n, name);
    if (!a || a->type != SQZ_ATTR_INTS) {
        if (vals) *vals = NULL;
        return -1;
    }
    if (vals) *vals = a->ints;
    return a->n;
}

int64_t sqz_node_attr_floats(const sqz_node *n, const char *name, const float **vals) {
    const sqz_attr *a = sqz_node_attr(n, name);
    if (!a || a->type != SQZ_ATTR_FLOATS) {
        if (vals) *vals = NULL;
        return -1;
    }
    if (vals) *vals = a->floats;
    return a->n;
}

sqz_status sqz_graph_topo_order(const sqz_graph *g, int *order, sqz_err *err) {
    /* Kahn's algorithm over tensor dependencies, stable in file order. */
    int nn = g->n_nodes;
    int *indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    int *queue = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    /* consumers as CSR */
    int *cnt = calloc((size_t)g->n_tensors + 1, sizeof(int));
    if (!indeg || !queue || !cnt) {
        free(indeg);
        free(queue);
        free(cnt);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory ordering graph");
    }
    sqz_status st = SQZ_OK;
    int64_t total = 0;
    for (int k = 0; k < nn; k++) {
        const sqz_node *n = g->nodes[k];
        for (int i = 0; i < n->n_in; i++) {
            int t = n->in[i];
            if (t < 0) continue;
            const sqz_tensor *tt = g->tensors[t];
            if (tt->producer >= 0) {
                indeg[k]++;
                cnt[t]++;
                total++;
            } else if (!(tt->flags & (SQZ_TF_INIT | SQZ_TF_INPUT))) {
                st = sqz_err_set(err, SQZ_ERR_DATA,
                                 "node '%s' (%s) uses tensor '%s' that is neither produced, an input nor an initializer",
                                 n->name, n->op_type, tt->name);
                goto done;
            }
        }
    }
    int *start = calloc((size_t)g->n_tensors + 1, sizeof(int));
    int *cons = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!start || !cons) {
        free(start);
        free(cons);
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory ordering graph");
        goto done;
    }
    for (int t = 0; t < g->n_tensors; t++) start[t + 1] = start[t] + cnt[t];
    for (int t = 0; t < g->n_tensors; t++) cnt[t] = start[t];
    for (int k = 0; k < nn; k++)
        for (int i = 0; i < g->nodes[k]->n_in; i++) {
            int t = g->nodes[k]->in[i];
            if (t >= 0 && g->tensors[t]->producer >= 0) cons[cnt[t]++] = k;
        }
    int head = 0, tail = 0;
    for (int k = 0; k < nn; k++)
        if (!indeg[k]) queue[tail++] = k;
    int done_n = 0;
    while (head < tail) {
        int k = queue[head++];
        order[done_n++] = k;
        const sqz_node *n = g->nodes[k];
        for (int j = 0; j < n->n_out; j++) {
            int t = n->out[j];
            if (t < 0) continue;
            for (int c = start[t]; c < start[t + 1]; c++)
                if (--indeg[cons[c]] == 0) queue[tail++] = cons[c];
        }
    }
    if (done_n < nn) {
        for (int k = 0; k < nn; k++)
            if (indeg[k]) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "graph has a cycle through node '%s' (%s)", g->nodes[k]->name,
                                 g->nodes[k]->op_type);
                break;
            }
    }
    free(start);
    free(cons);
done:
    free(indeg);
    free(queue);
    free(cnt);
    return st;
}
