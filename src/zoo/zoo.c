/* zoo/zoo.c - the architecture table, sqz_zoo_build and sqz_zoo_stats. */
#include "zoo/zoo.h"

#include <stdlib.h>
#include <string.h>

#include "sqz/analysis.h"
#include "zoo/zoo_builder.h"
#include "zoo/zoo_nets.h"

typedef struct zoo_entry {
    sqz_zoo_info info;
    int kind;
} zoo_entry;

enum { Z_MLP300, Z_LENET5, Z_LENET5_CAFFE, Z_RESNET8, Z_RESNET20, Z_MOBILENETV2 };

static const zoo_entry table[] = {
    {{"mlp300", "LeNet-300-100: fully connected 784-300-100-10 (on 28x28) with ReLU"}, Z_MLP300},
    {{"lenet5", "LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, fc 120-84, ReLU"}, Z_LENET5},
    {{"lenet5-caffe", "Caffe LeNet (Deep Compression): conv 20@5x5, pool, conv 50@5x5, pool, fc 500"},
     Z_LENET5_CAFFE},
    {{"resnet8", "ResNet-8 for CIFAR: 3x3 convs + BatchNorm, stages 16/32/64, 1 block each"}, Z_RESNET8},
    {{"resnet20", "ResNet-20 for CIFAR: 3x3 convs + BatchNorm, stages 16/32/64, 3 blocks each"}, Z_RESNET20},
    {{"mobilenetv2", "MobileNetV2 (small CIFAR config): inverted residuals, depthwise 3x3, ReLU6"}, Z_MOBILENETV2},
};
static const int n_table = (int)(sizeof table / sizeof table[0]);

int sqz_zoo_count(void) { return n_table; }
const sqz_zoo_info *sqz_zoo_at(int i) { return i >= 0 && i < n_table ? &table[i].info : NULL; }

static const zoo_entry *find(const char *name) {
    for (int i = 0; name && i < n_table; i++)
        if (strcmp(table[i].info.name, name) == 0) return &table[i];
    return NULL;
}

const sqz_zoo_info *sqz_zoo_find(const char *name) {
    const zoo_entry *e = find(name);
    return e ? &e->info : NULL;
}

sqz_status sqz_zoo_build(const char *name, int64_t c, int64_t h, int64_t w, int64_t classes, float width_mult,
                         uint64_t seed, sqz_graph **out, sqz_err *err) {
    if (!out) return sqz_err_set(err, SQZ_ERR_ARG, "zoo: no output graph");
    *out = NULL;
    const zoo_entry *e = find(name);
    if (!e) {
        char names[256] = "";
        for (int i = 0; i < n_table; i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, table[i].info.name, sizeof names - strlen(names) - 1);
        }
        return sqz_err_set(err, SQZ_ERR_ARG, "zoo: unknown architecture '%s' (known: %s)", name ? name : "",
                           names);
    }
    if (width_mult == 0) width_mult = 1;
    if (!(width_mult > 0.01f && width_mult <= 64))
        return sqz_err_set(err, SQZ_ERR_ARG, "zoo: width multiplier %g outside (0.01, 64]", width_mult);
    zoo_builder b;
    zb_feat x;
    sqz_status st = zb_begin(&b, name, c, h, w, classes, seed, &x, err);
    if (st) return st;
    switch (e->kind) {
    case Z_MLP300: x = zoo_mlp300(&b, x, width_mult); break;
    case Z_LENET5: x = zoo_lenet5(&b, x, width_mult); break;
    case Z_LENET5_CAFFE: x = zoo_lenet5_caffe(&b, x, width_mult); break;
    case Z_RESNET8: x = zoo_resnet(&b, x, width_mult, 1); break;
    case Z_RESNET20: x = zoo_resnet(&b, x, width_mult, 3); break;
    default: x = zoo_mobilenetv2(&b, x, width_mult); break;
    }
    st = zb_finish(&b, x, out);
    if (st) sqz_err_prefix(err, "%s for %lldx%lldx%lld", name, (long long)c, (long long)h, (long long)w);
    return st;
}

sqz_status sqz_zoo_stats(const char *name, int64_t c, int64_t h, int64_t w, int64_t classes, float width_mult,
                         int64_t *params, int64_t *macs, sqz_err *err) {
    sqz_graph *g = NULL;
    sqz_status st = sqz_zoo_build(name, c, h, w, classes, width_mult, 1, &g, err);
    if (st) return st;
    sqz_tensor *in = g->tensors[g->inputs[0]];
    in->dims[0] = 1;
    in->dim_names[0] = NULL;
    st = sqz_graph_prepare(g, err);
    if (st) {
        sqz_graph_free(g);
        return st;
    }
    /* BatchNorm running statistics and Clip bounds are state, not parameters */
    uint8_t *state = calloc((size_t)g->n_tensors + 1, 1);
    if (!state) {
        sqz_graph_free(g);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "zoo: out of memory");
    }
    int64_t p = 0, m = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        if (!strcmp(n->op_type, "BatchNormalization"))
            for (int i = 3; i < n->n_in; i++)
                if (n->in[i] >= 0) state[n->in[i]] = 1;
        int64_t v = sqz_node_macs(g, k);
        if (v > 0) m += v;
    }
    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *t = g->tensors[i];
        if ((t->flags & SQZ_TF_INIT) && t->dtype == SQZ_DT_F32 && t->ndim >= 1 && !state[i])
            p += sqz_tensor_numel(t);
    }
    free(state);
    sqz_graph_free(g);
    if (params) *params = p;
    if (macs) *macs = m;
    return SQZ_OK;
}
