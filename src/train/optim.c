/* train/optim.c - SGD (momentum, Nesterov), Adam and AdamW with per-parameter state. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/grad_vec.h"

int sqz_optim_kind_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "sgd")) return SQZ_OPTIM_SGD;
    if (!strcmp(s, "adam")) return SQZ_OPTIM_ADAM;
    if (!strcmp(s, "adamw")) return SQZ_OPTIM_ADAMW;
    return -1;
}

const char *sqz_optim_kind_name(sqz_optim_kind k) {
    return k == SQZ_OPTIM_SGD ? "sgd" : k == SQZ_OPTIM_ADAM ? "adam" : k == SQZ_OPTIM_ADAMW ? "adamw" : "?";
}

void sqz_optim_free(sqz_optim *o) {
    if (!o) return;
    if (o->slot)
        for (int i = 0; i < o->n * o->n_slots; i++) free(o->slot[i]);
    free(o->slot);
    free(o->numel);
    free(o->decay);
    free(o);
}

sqz_status sqz_optim_new(const sqz_optim_cfg *cfg, int n, const int64_t *numel, const uint8_t *decay,
                         sqz_optim **out, sqz_err *err) {
    *out = NULL;
    sqz_optim_cfg c = *cfg;
    if (c.kind != SQZ_OPTIM_SGD && c.kind != SQZ_OPTIM_ADAM && c.kind != SQZ_OPTIM_ADAMW)
        return sqz_err_set(err, SQZ_ERR_ARG, "optimizer: unknown kind %d", (int)c.kind);
    if (c.beta1 == 0 && c.beta2 == 0) c.beta1 = 0.9f, c.beta2 = 0.999f;
    if (c.eps == 0) c.eps = 1e-8f;
    if (!(c.momentum >= 0 && c.momentum < 1) || !(c.weight_decay >= 0 && isfinite(c.weight_decay)) ||
        !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) || !(c.eps > 0))
        return sqz_err_set(err, SQZ_ERR_ARG,
                           "optimizer: momentum and betas must be in [0, 1), weight decay >= 0, eps > 0");
    if (c.nesterov && (c.kind != SQZ_OPTIM_SGD || c.momentum <= 0))
        return sqz_err_set(err, SQZ_ERR_ARG, "optimizer: Nesterov needs SGD with momentum > 0");
    if (n < 0) return sqz_err_set(err, SQZ_ERR_ARG, "optimizer: %d parameters", n);
    sqz_optim *o = calloc(1, sizeof *o);
    if (!o) return sqz_err_set(err, SQZ_ERR_NOMEM, "optimizer: out of memory");
    o->cfg = c;
    o->n = n;
    o->n_slots = c.kind == SQZ_OPTIM_SGD ? (c.momentum > 0 ? 1 : 0) : 2;
    o->numel = calloc((size_t)n + 1, sizeof *o->numel);
    o->decay = calloc((size_t)n + 1, 1);
    o->slot = calloc((size_t)(n * o->n_slots) + 1, sizeof *o->slot);
    if (!o->numel || !o->decay || !o->slot) goto oom;
    for (int i = 0; i < n; i++) {
        if (numel[i] < 0) {
            sqz_optim_free(o);
            return sqz_err_set(err, SQZ_ERR_ARG, "optimizer: parameter %d has %lld elements", i,
                               (long long)numel[i]);
        }
        o->numel[i] = numel[i];
        o->decay[i] = decay ? decay[i] != 0 : 1;
        for (int s = 0; s < o->n_slots; s++) {
            o->slot[i * o->n_slots + s] = calloc((size_t)numel[i] + 1, sizeof(float));
            if (!o->slot[i * o->n_slots + s]) goto oom;
        }
    }
    *out = o;
    return SQZ_OK;
oom:
    sqz_optim_free(o);
    return sqz_err_set(err, SQZ_ERR_NOMEM, "optimizer: out of memory for its state");
}

static void sgd(const sqz_optim *o, int i, float *w, const float *g, float lr) {
    const float mom = o->cfg.momentum, wd = o->decay[i] ? o->cfg.weight_decay : 0.0f;
    float *buf = o->n_slots ? o->slot[i] : NULL;
    sqz_tv_sgd(w, g, buf, o->numel[i], lr, wd, mom, o->t == 1, o->cfg.nesterov);
}

static void adam(const sqz_optim *o, int i, float *w, const float *g, float lr) {
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const float wd = o->decay[i] ? o->cfg.weight_decay : 0.0f;
    const int decoupled = o->cfg.kind == SQZ_OPTIM_ADAMW;
    float *m = o->slot[2 * i], *v = o->slot[2 * i + 1];
    const double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    const float step = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float shrink = 1.0f - lr * wd;
    for (int64_t k = 0; k < o->numel[i]; k++) {
        float d = g[k];
        if (decoupled)
            w[k] *= shrink;
        else
            d += wd * w[k];
        m[k] = b1 * m[k] + (1.0f - b1) * d;
        v[k] = b2 * v[k] + (1.0f - b2) * d * d;
        w[k] -= step * m[k] / (sqrtf(v[k]) / bc2_sqrt + eps);
    }
}

void sqz_optim_step(sqz_optim *o, float *const *w, const float *const *g, float lr) {
    o->t++;
    for (int i = 0; i < o->n; i++) {
        if (o->cfg.kind == SQZ_OPTIM_SGD)
            sgd(o, i, w[i], g[i], lr);
        else
            adam(o, i, w[i], g[i], lr);
    }
}
