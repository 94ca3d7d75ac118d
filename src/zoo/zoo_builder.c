/* zoo/zoo_builder.c - layer helpers for the zoo: nodes with opset-13 attributes and
 * seeded initializers. */
#include "zoo/zoo_builder.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void zb_fail(zoo_builder *b, sqz_status code, const char *fmt, ...) {
    if (b->st) return;
    va_list ap;
    va_start(ap, fmt);
    b->st = sqz_err_vset(b->err, code, fmt, ap);
    va_end(ap);
    if (!b->st) b->st = SQZ_ERR_INTERNAL;
}

static const zb_feat BAD = {-1, 0, 0, 0};

/* A fresh activation tensor named "<base>_out" (unique). */
static int activation(zoo_builder *b, const char *base) {
    if (b->st) return -1;
    char buf[96];
    snprintf(buf, sizeof buf, "%s_out", base);
    char *nm = sqz_graph_unique_name(b->g, buf);
    if (!nm) {
        zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        return -1;
    }
    int t = sqz_graph_add_tensor(b->g, nm, SQZ_DT_UNDEF, -1, NULL, b->err);
    if (t < 0) b->st = b->err && b->err->code ? b->err->code : SQZ_ERR_NOMEM;
    return t;
}

/* An f32 initializer filled from U(-bound, bound) (bound 0: filled with `fill`). */
static int param(zoo_builder *b, const char *name, int ndim, const int64_t *dims, float bound, float fill) {
    if (b->st) return -1;
    int t = sqz_graph_add_tensor(b->g, name, SQZ_DT_F32, ndim, dims, b->err);
    if (t < 0) {
        b->st = b->err && b->err->code ? b->err->code : SQZ_ERR_NOMEM;
        return -1;
    }
    sqz_tensor *x = b->g->tensors[t];
    sqz_status st = sqz_graph_alloc_data(b->g, x, b->err);
    if (st) {
        b->st = st;
        return -1;
    }
    x->flags |= SQZ_TF_INIT;
    float *d = x->data;
    int64_t n = sqz_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) d[i] = bound > 0 ? (2.0f * sqz_rng_uniform(&b->rng) - 1.0f) * bound : fill;
    return t;
}

static int scalar(zoo_builder *b, const char *name, float v) {
    if (b->st) return -1;
    char *nm = sqz_graph_unique_name(b->g, name);
    if (!nm) {
        zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        return -1;
    }
    return param(b, nm, 0, NULL, 0, v);
}

static sqz_node *add_node(zoo_builder *b, const char *op, const char *name, int n_in, const int *in, int out) {
    if (b->st) return NULL;
    char *nm = NULL;
    if (name) {
        nm = (char *)name;
    } else {
        char buf[64];
        snprintf(buf, sizeof buf, "%s_%d", op, b->n_tmp++);
        nm = buf;
    }
    int k = sqz_graph_add_node(b->g, op, nm, n_in, in, 1, &out, b->err);
    if (k < 0) {
        b->st = b->err && b->err->code ? b->err->code : SQZ_ERR_NOMEM;
        return NULL;
    }
    return b->g->nodes[k];
}

static void attr_ints(zoo_builder *b, sqz_node *n, const char *name, int cnt, int64_t v0, int64_t v1) {
    if (!n || b->st) return;
    sqz_attr *a = sqz_node_add_attr(b->g, n, name, SQZ_ATTR_INTS);
    int64_t *v = a ? sqz_arena_alloc(b->g->arena, sizeof(int64_t) * (size_t)cnt, 8) : NULL;
    if (!v) {
        zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        return;
    }
    for (int i = 0; i < cnt; i++) v[i] = (i % 2 == 0) ? v0 : v1;
    a->n = cnt;
    a->ints = v;
}

static void attr_int(zoo_builder *b, sqz_node *n, const char *name, int64_t v) {
    if (!n || b->st) return;
    sqz_attr *a = sqz_node_add_attr(b->g, n, name, SQZ_ATTR_INT);
    if (!a) {
        zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        return;
    }
    a->i = v;
}

static void attr_float(zoo_builder *b, sqz_node *n, const char *name, float v) {
    if (!n || b->st) return;
    sqz_attr *a = sqz_node_add_attr(b->g, n, name, SQZ_ATTR_FLOAT);
    if (!a) {
        zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        return;
    }
    a->f = v;
}

sqz_status zb_begin(zoo_builder *b, const char *model_name, int64_t c, int64_t h, int64_t w, int64_t classes,
                    uint64_t seed, zb_feat *x, sqz_err *err) {
    memset(b, 0, sizeof *b);
    b->err = err;
    b->classes = classes;
    *x = BAD;
    sqz_rng_seed(&b->rng, seed);
    if (c < 1 || h < 1 || w < 1 || c > 4096 || h > 65536 || w > 65536)
        return sqz_err_set(err, SQZ_ERR_ARG, "zoo: input %lldx%lldx%lld is not a valid CxHxW", (long long)c,
                           (long long)h, (long long)w);
    if (classes < 1 || classes > 1000000)
        return sqz_err_set(err, SQZ_ERR_ARG, "zoo: %lld classes (want 1..1000000)", (long long)classes);
    b->g = sqz_graph_new();
    if (!b->g) return sqz_err_set(err, SQZ_ERR_NOMEM, "zoo: out of memory");
    b->g->name = sqz_arena_strdup(b->g->arena, model_name);
    b->g->producer = sqz_arena_strdup(b->g->arena, "sqz");
    int64_t d[4] = {-1, c, h, w};
    int t = sqz_graph_add_tensor(b->g, "input", SQZ_DT_F32, 4, d, err);
    if (t < 0) {
        sqz_graph_free(b->g);
        b->g = NULL;
        return err && err->code ? err->code : SQZ_ERR_NOMEM;
    }
    b->g->tensors[t]->dim_names[0] = sqz_arena_strdup(b->g->arena, "N");
    sqz_status st = sqz_graph_add_input(b->g, t, err);
    if (st || !b->g->name || !b->g->producer || !b->g->tensors[t]->dim_names[0]) {
        sqz_graph_free(b->g);
        b->g = NULL;
        return st ? st : sqz_err_set(err, SQZ_ERR_NOMEM, "zoo: out of memory");
    }
    *x = (zb_feat){t, c, h, w};
    return SQZ_OK;
}

sqz_status zb_finish(zoo_builder *b, zb_feat f, sqz_graph **out) {
    *out = NULL;
    if (!b->st && f.t < 0) zb_fail(b, SQZ_ERR_INTERNAL, "zoo: network produced no output");
    if (!b->st) {
        /* rename the last activation to "logits" through the name index */
        sqz_tensor *t = b->g->tensors[f.t];
        t->name = sqz_arena_strdup(b->g->arena, "logits");
        if (!t->name || sqz_graph_reindex(b->g) < 0) zb_fail(b, SQZ_ERR_NOMEM, "zoo: out of memory");
        /* declared output type (N, classes) float32, as an exporter writes it */
        t->dtype = SQZ_DT_F32;
        t->ndim = 2;
        t->dims[0] = -1;
        t->dims[1] = f.c;
        t->dim_names[0] = sqz_arena_strdup(b->g->arena, "N");
    }
    if (!b->st) b->st = sqz_graph_add_output(b->g, f.t, b->err);
    if (b->st) {
        sqz_graph_free(b->g);
        b->g = NULL;
        return b->st;
    }
    *out = b->g;
    return SQZ_OK;
}

int64_t zb_scale(int64_t ch, float m, int64_t divisor) {
    if (!(m > 0)) m = 1;
    double v = (double)ch * m;
    if (divisor <= 1) return v < 1 ? 1 : (int64_t)floor(v + 0.5);
    int64_t r = (int64_t)((v + divisor / 2.0) / divisor) * divisor;
    if (r < divisor) r = divisor;
    if ((double)r < 0.9 * v) r += divisor;
    return r;
}

static int64_t out_dim(int64_t in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

zb_feat zb_conv(zoo_builder *b, const char *name, zb_feat x, int64_t cout, int k, int s, int p, int64_t groups,
                int bias, int he) {
    if (b->st || x.t < 0) return BAD;
    if (x.h == 0 || x.c % groups || cout % groups) {
        zb_fail(b, SQZ_ERR_INTERNAL, "zoo: conv %s: bad channels", name);
        return BAD;
    }
    int64_t oh = out_dim(x.h, k, s, p), ow = out_dim(x.w, k, s, p);
    if (x.h + 2 * p < k || x.w + 2 * p < k || oh < 1 || ow < 1) {
        zb_fail(b, SQZ_ERR_ARG, "zoo: input too small: layer %s gets %lldx%lld, needs at least %dx%d", name,
                (long long)x.h, (long long)x.w, k - 2 * p, k - 2 * p);
        return BAD;
    }
    char nm[96];
    int64_t cin_g = x.c / groups, fan_in = cin_g * k * k;
    int64_t wd[4] = {cout, cin_g, k, k};
    snprintf(nm, sizeof nm, "%s.weight", name);
    float def = 1.0f / sqrtf((float)fan_in);
    int wt = param(b, nm, 4, wd, he ? sqrtf(6.0f / (float)fan_in) : def, 0);
    int in[3] = {x.t, wt, -1};
    if (bias) {
        snprintf(nm, sizeof nm, "%s.bias", name);
        in[2] = param(b, nm, 1, &cout, def, 0);
    }
    int y = activation(b, name);
    sqz_node *n = add_node(b, "Conv", name, bias ? 3 : 2, in, y);
    attr_ints(b, n, "dilations", 2, 1, 1);
    attr_int(b, n, "group", groups);
    attr_ints(b, n, "kernel_shape", 2, k, k);
    attr_ints(b, n, "pads", 4, p, p);
    attr_ints(b, n, "strides", 2, s, s);
    if (b->st) return BAD;
    return (zb_feat){y, cout, oh, ow};
}

zb_feat zb_bn(zoo_builder *b, const char *name, zb_feat x) {
    if (b->st || x.t < 0) return BAD;
    char nm[96];
    int in[5];
    in[0] = x.t;
    static const char *const part[4] = {"weight", "bias", "running_mean", "running_var"};
    static const float fill[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        snprintf(nm, sizeof nm, "%s.%s", name, part[i]);
        in[i + 1] = param(b, nm, 1, &x.c, 0, fill[i]);
    }
    int y = activation(b, name);
    sqz_node *n = add_node(b, "BatchNormalization", name, 5, in, y);
    attr_float(b, n, "epsilon", 1e-5f);
    attr_float(b, n, "momentum", 0.9f);
    if (b->st) return BAD;
    x.t = y;
    return x;
}

static zb_feat unary(zoo_builder *b, const char *op, zb_feat x) {
    if (b->st || x.t < 0) return BAD;
    char nm[64];
    snprintf(nm, sizeof nm, "%s_%d", op, b->n_tmp++);
    int y = activation(b, nm);
    if (!add_node(b, op, nm, 1, &x.t, y)) return BAD;
    x.t = y;
    return x;
}

zb_feat zb_relu(zoo_builder *b, zb_feat x) { return unary(b, "Relu", x); }

zb_feat zb_relu6(zoo_builder *b, zb_feat x) {
    if (b->st || x.t < 0) return BAD;
    char nm[64];
    snprintf(nm, sizeof nm, "Clip_%d", b->n_tmp++);
    int lo = scalar(b, "relu6_min", 0.0f), hi = scalar(b, "relu6_max", 6.0f);
    int y = activation(b, nm);
    int in[3] = {x.t, lo, hi};
    if (!add_node(b, "Clip", nm, 3, in, y)) return BAD;
    x.t = y;
    return x;
}

zb_feat zb_maxpool(zoo_builder *b, zb_feat x, int k, int s) {
    if (b->st || x.t < 0) return BAD;
    if (x.h < k || x.w < k) {
        zb_fail(b, SQZ_ERR_ARG, "zoo: input too small: a %dx%d pooling gets %lldx%lld", k, k, (long long)x.h,
                (long long)x.w);
        return BAD;
    }
    char nm[64];
    snprintf(nm, sizeof nm, "MaxPool_%d", b->n_tmp++);
    int y = activation(b, nm);
    sqz_node *n = add_node(b, "MaxPool", nm, 1, &x.t, y);
    attr_ints(b, n, "kernel_shape", 2, k, k);
    attr_ints(b, n, "pads", 4, 0, 0);
    attr_ints(b, n, "strides", 2, s, s);
    if (b->st) return BAD;
    return (zb_feat){y, x.c, out_dim(x.h, k, s, 0), out_dim(x.w, k, s, 0)};
}

zb_feat zb_gap(zoo_builder *b, zb_feat x) {
    x = unary(b, "GlobalAveragePool", x);
    if (x.t >= 0) x.h = x.w = 1;
    return x;
}

zb_feat zb_flatten(zoo_builder *b, zb_feat x) {
    if (b->st || x.t < 0) return BAD;
    char nm[64];
    snprintf(nm, sizeof nm, "Flatten_%d", b->n_tmp++);
    int y = activation(b, nm);
    sqz_node *n = add_node(b, "Flatten", nm, 1, &x.t, y);
    attr_int(b, n, "axis", 1);
    if (b->st) return BAD;
    int64_t f = x.h ? x.c * x.h * x.w : x.c;
    return (zb_feat){y, f, 0, 0};
}

zb_feat zb_gemm(zoo_builder *b, const char *name, zb_feat x, int64_t out, int he) {
    if (b->st || x.t < 0) return BAD;
    if (x.h != 0) {
        zb_fail(b, SQZ_ERR_INTERNAL, "zoo: gemm %s on an unflattened input", name);
        return BAD;
    }
    char nm[96];
    int64_t wd[2] = {out, x.c};
    float def = 1.0f / sqrtf((float)x.c);
    snprintf(nm, sizeof nm, "%s.weight", name);
    int wt = param(b, nm, 2, wd, he ? sqrtf(6.0f / (float)x.c) : def, 0);
    snprintf(nm, sizeof nm, "%s.bias", name);
    int bt = param(b, nm, 1, &out, def, 0);
    int y = activation(b, name);
    int in[3] = {x.t, wt, bt};
    sqz_node *n = add_node(b, "Gemm", name, 3, in, y);
    attr_float(b, n, "alpha", 1.0f);
    attr_float(b, n, "beta", 1.0f);
    attr_int(b, n, "transB", 1);
    if (b->st) return BAD;
    return (zb_feat){y, out, 0, 0};
}

zb_feat zb_add(zoo_builder *b, zb_feat a, zb_feat y) {
    if (b->st || a.t < 0 || y.t < 0) return BAD;
    if (a.c != y.c || a.h != y.h || a.w != y.w) {
        zb_fail(b, SQZ_ERR_INTERNAL, "zoo: residual add of mismatched shapes");
        return BAD;
    }
    char nm[64];
    snprintf(nm, sizeof nm, "Add_%d", b->n_tmp++);
    int o = activation(b, nm);
    int in[2] = {a.t, y.t};
    if (!add_node(b, "Add", nm, 2, in, o)) return BAD;
    a.t = o;
    return a;
}
