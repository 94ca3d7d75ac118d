/* train/trainer.c - the epoch loop and evaluation. */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/loss.h"

void sqz_train_cfg_default(sqz_train_cfg *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 1;
    c->batch = 64;
    c->lr = 1e-3;
    c->optim.kind = SQZ_OPTIM_ADAM;
    c->sched = SQZ_SCHED_CONSTANT;
    c->seed = 1;
    c->threads = 1;
    sqz_normalize_default(&c->nm);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sqz_trainer_free(sqz_trainer *t) {
    if (!t) return;
    sqz_tape_free(t->tape);
    sqz_optim_free(t->opt);
    sqz_loader_free(t->loader);
    free(t->params);
    free(t->w);
    free(t->grads);
    free(t->dlogits);
    free(t);
}

static int fits(int64_t model_dim, int64_t v) { return model_dim < 0 || model_dim == v; }

/* Checks that the images fit the graph input and the output is (N, classes) float. */
static sqz_status check_io(sqz_trainer *t, sqz_err *err) {
    const sqz_graph *g = t->g;
    const sqz_dataset *ds = t->ds;
    if (g->n_inputs != 1 || g->n_outputs < 1)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "train: the model needs one input and an output (has %d and %d)",
                           g->n_inputs, g->n_outputs);
    const sqz_tensor *x = g->tensors[g->inputs[0]], *y = g->tensors[g->outputs[0]];
    int ok = x->dtype == SQZ_DT_F32;
    if (x->ndim == 4)
        ok = ok && fits(x->dims[1], ds->c) && fits(x->dims[2], ds->h) && fits(x->dims[3], ds->w);
    else if (x->ndim == 3)
        ok = ok && ds->c == 1 && fits(x->dims[1], ds->h) && fits(x->dims[2], ds->w);
    else if (x->ndim == 2)
        ok = ok && fits(x->dims[1], ds->c * ds->h * ds->w);
    else
        ok = 0;
    if (!ok) {
        char s[128];
        sqz_shape_str(x, s, sizeof s);
        return sqz_err_set(err, SQZ_ERR_DATA, "train: model input '%s' %s (%s) does not take %lldx%lldx%lld images",
                           x->name, s, sqz_dtype_name(x->dtype), (long long)ds->c, (long long)ds->h,
                           (long long)ds->w);
    }
    t->in_rank = x->ndim;
    if (y->dtype != SQZ_DT_F32 || y->ndim != 2 || y->dims[1] < 1) {
        char s[128];
        sqz_shape_str(y, s, sizeof s);
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "train: model output '%s' %s is not (N, classes) float32",
                           y->name, s);
    }
    t->classes = y->dims[1];
    if (t->classes < ds->n_classes)
        return sqz_err_set(err, SQZ_ERR_DATA, "train: the model gives %lld scores per image but %s has %d classes",
                           (long long)t->classes, ds->name, ds->n_classes);
    return SQZ_OK;
}

static sqz_status check_cfg(const sqz_train_cfg *c, sqz_err *err) {
    if (c->epochs < 1) return sqz_err_set(err, SQZ_ERR_ARG, "train: %d epochs (want >= 1)", c->epochs);
    if (c->batch < 1) return sqz_err_set(err, SQZ_ERR_ARG, "train: batch size %lld", (long long)c->batch);
    if (!(c->lr > 0 && isfinite(c->lr))) return sqz_err_set(err, SQZ_ERR_ARG, "train: learning rate %g", c->lr);
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 1))
        return sqz_err_set(err, SQZ_ERR_ARG, "train: label smoothing %g outside [0, 1)", c->label_smoothing);
    if (!(c->clip_grad >= 0)) return sqz_err_set(err, SQZ_ERR_ARG, "train: gradient clip %g", c->clip_grad);
    if (!(c->warmup_epochs >= 0) || c->warmup_steps < 0 || !(c->step_epochs >= 0) || !(c->gamma >= 0) ||
        !(c->min_lr >= 0))
        return sqz_err_set(err, SQZ_ERR_ARG, "train: negative warmup, step size, gamma or minimum lr");
    if (c->threads < 1) return sqz_err_set(err, SQZ_ERR_ARG, "train: %d threads", c->threads);
    return SQZ_OK;
}

static void setup_schedule(sqz_trainer *t) {
    const sqz_train_cfg *c = &t->cfg;
    int64_t per = sqz_loader_batches(t->loader);
    if (per < 1) per = 1;
    sqz_schedule *s = &t->sched;
    s->kind = c->sched;
    s->base_lr = c->lr;
    s->min_lr = c->min_lr;
    s->total_steps = per * c->epochs;
    s->warmup_steps = c->warmup_steps > 0 ? c->warmup_steps : (int64_t)llround(c->warmup_epochs * (double)per);
    double se = c->step_epochs > 0 ? c->step_epochs : (c->epochs >= 3 ? c->epochs / 3.0 : 1.0);
    s->step_size = (int64_t)llround(se * (double)per);
    if (s->step_size < 1) s->step_size = 1;
    s->gamma = c->gamma > 0 ? c->gamma : 0.1;
}

sqz_status sqz_trainer_new(sqz_graph *g, const sqz_dataset *ds, const int32_t *subset, int64_t n,
                           const sqz_train_cfg *cfg, sqz_trainer **out, sqz_err *err) {
    *out = NULL;
    sqz_status st = check_cfg(cfg, err);
    if (st) return st;
    sqz_trainer *t = calloc(1, sizeof *t);
    if (!t) return sqz_err_set(err, SQZ_ERR_NOMEM, "train: out of memory");
    t->g = g;
    t->cfg = *cfg;
    t->ds = ds;
    if ((st = check_io(t, err))) goto fail;
    sqz_loader_cfg lc = {.batch = cfg->batch, .shuffle = 1, .drop_last = 0, .seed = cfg->seed,
                         .crop_pad = cfg->crop_pad, .flip = cfg->flip, .nm = cfg->nm};
    if ((st = sqz_loader_new(ds, subset, n, &lc, &t->loader, err))) goto fail;
    if (t->loader->n < 1) {
        st = sqz_err_set(err, SQZ_ERR_ARG, "train: no training examples");
        goto fail;
    }
    sqz_tape_opts to = {.threads = cfg->threads, .training = 1, .seed = cfg->seed ^ 0x7A9Eull};
    if ((st = sqz_tape_new(g, &to, &t->tape, err))) goto fail;
    t->n_params = sqz_tape_n_params(t->tape);
    int np = t->n_params;
    t->params = calloc((size_t)np + 1, sizeof *t->params);
    t->w = calloc((size_t)np + 1, sizeof *t->w);
    t->grads = calloc((size_t)np + 1, sizeof *t->grads);
    int64_t *numel = calloc((size_t)np + 1, sizeof *numel);
    uint8_t *decay = calloc((size_t)np + 1, 1);
    t->dlogits = malloc(sizeof(float) * (size_t)(cfg->batch * t->classes));
    if (!t->params || !t->w || !t->grads || !numel || !decay || !t->dlogits) {
        free(numel);
        free(decay);
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "train: out of memory");
        goto fail;
    }
    for (int i = 0; i < np; i++) {
        sqz_tensor *p = sqz_tape_param(t->tape, i);
        t->params[i] = p;
        t->w[i] = p->data;
        t->grads[i] = sqz_tape_grad(t->tape, i);
        numel[i] = sqz_tensor_numel(p);
        decay[i] = p->ndim >= 2; /* no weight decay on biases and BatchNorm scale/shift */
    }
    st = sqz_optim_new(&cfg->optim, np, numel, decay, &t->opt, err);
    free(numel);
    free(decay);
    if (st) goto fail;
    setup_schedule(t);
    *out = t;
    return SQZ_OK;
fail:
    sqz_trainer_free(t);
    return st;
}

/* A non-owning input tensor over count images at x. */
static sqz_tensor input_view(const sqz_trainer *t, const sqz_dataset *ds, const float *x, int64_t count) {
    sqz_tensor in;
    memset(&in, 0, sizeof in);
    in.dtype = SQZ_DT_F32;
    in.ndim = t->in_rank;
    in.dims[0] = count;
    if (t->in_rank == 4) {
        in.dims[1] = ds->c, in.dims[2] = ds->h, in.dims[3] = ds->w;
    } else if (t->in_rank == 3) {
        in.dims[1] = ds->h, in.dims[2] = ds->w;
    } else {
        in.dims[1] = ds->c * ds->h * ds->w;
    }
    in.data = (void *)x;
    in.nbytes = sizeof(float) * (size_t)(count * ds->c * ds->h * ds->w);
    in.producer = -1;
    return in;
}

/* Runs the forward pass and returns the logits (count, classes), checking labels. */
static sqz_status forward(sqz_trainer *t, const sqz_dataset *ds, const float *x, const int64_t *y, int64_t count,
                          const float **logits, sqz_err *err) {
    sqz_tensor in = input_view(t, ds, x, count);
    const sqz_tensor *ins[1] = {&in};
    sqz_status st = sqz_tape_forward(t->tape, 1, ins, err);
    if (st) return st;
    const sqz_tensor *o = sqz_tape_output(t->tape, 0);
    if (!o || o->dtype != SQZ_DT_F32 || o->ndim != 2 || o->dims[0] != count || o->dims[1] != t->classes)
        return sqz_err_set(err, SQZ_ERR_DATA, "train: the model output is not (%lld, %lld) float32", (long long)count,
                           (long long)t->classes);
    for (int64_t i = 0; i < count; i++)
        if (y[i] < 0 || y[i] >= t->classes)
            return sqz_err_set(err, SQZ_ERR_DATA, "train: label %lld but the model gives %lld scores per image",
                               (long long)y[i], (long long)t->classes);
    *logits = o->data;
    return SQZ_OK;
}

static void clip_gradients(sqz_trainer *t) {
    double ss = 0;
    for (int i = 0; i < t->n_params; i++) {
        int64_t n = sqz_tensor_numel(t->params[i]);
        const float *g = t->grads[i];
        for (int64_t k = 0; k < n; k++) ss += (double)g[k] * g[k];
    }
    double norm = sqrt(ss), max = t->cfg.clip_grad;
    if (!(norm > max)) return;
    float f = (float)(max / (norm + 1e-6));
    for (int i = 0; i < t->n_params; i++) {
        int64_t n = sqz_tensor_numel(t->params[i]);
        float *g = (float *)t->grads[i];
        for (int64_t k = 0; k < n; k++) g[k] *= f;
    }
}

static void apply_masks(sqz_trainer *t) {
    for (int i = 0; i < t->n_params; i++) {
        const sqz_tensor *p = t->params[i];
        if (!p->mask) continue;
        int64_t n = sqz_tensor_numel(p);
        for (int64_t k = 0; k < n; k++)
            if (!p->mask[k]) t->w[i][k] = 0.0f;
    }
}

sqz_status sqz_trainer_epoch(sqz_trainer *t, sqz_epoch_stats *stats, sqz_err *err) {
    double t0 = now_s();
    sqz_loader *l = t->loader;
    sqz_loader_start_epoch(l, t->epoch);
    sqz_tape_set_training(t->tape, 1);
    t->stop = 0;
    double loss_sum = 0, lr = 0;
    int64_t correct = 0, seen = 0, batches = sqz_loader_batches(l);
    for (int64_t b = 0;; b++) {
        const float *x;
        const int64_t *y;
        int64_t count;
        sqz_status st = sqz_loader_next(l, &x, &y, &count, err);
        if (st) return st;
        if (count == 0) break;
        const float *logits;
        if ((st = forward(t, t->ds, x, y, count, &logits, err))) return st;
        int64_t nc = 0;
        float loss = sqz_loss_softmax_xent(logits, y, count, t->classes, t->cfg.label_smoothing, t->dlogits, &nc);
        if (!isfinite(loss))
            return sqz_err_set(err, SQZ_ERR_DATA,
                               "train: the loss became %g at epoch %d batch %lld (diverged: try a lower --lr or "
                               "--clip-grad)",
                               (double)loss, t->epoch + 1, (long long)b + 1);
        sqz_tape_zero_grad(t->tape);
        const float *dout[1] = {t->dlogits};
        if ((st = sqz_tape_backward(t->tape, dout, err))) return st;
        if (t->cfg.clip_grad > 0) clip_gradients(t);
        lr = sqz_schedule_lr(&t->sched, t->step);
        sqz_optim_step(t->opt, t->w, t->grads, (float)lr);
        apply_masks(t);
        t->step++;
        loss_sum += (double)loss * (double)count;
        correct += nc;
        seen += count;
        if (t->on_batch) {
            sqz_train_progress p = {t->epoch, t->cfg.epochs, b + 1, batches, seen, loss_sum / (double)seen,
                                    (double)correct / (double)seen, lr};
            t->on_batch(t->ud, &p);
        }
        if (t->stop) break;
    }
    if (stats) {
        stats->epoch = t->epoch;
        stats->loss = seen ? loss_sum / (double)seen : 0;
        stats->acc = seen ? (double)correct / (double)seen : 0;
        stats->images = seen;
        stats->seconds = now_s() - t0;
        stats->lr = lr;
    }
    t->epoch++;
    return SQZ_OK;
}

sqz_status sqz_trainer_evaluate(sqz_trainer *t, const sqz_dataset *ds, const int32_t *subset, int64_t n,
                                double *loss, double *acc, sqz_err *err) {
    *loss = *acc = 0;
    if (ds->c != t->ds->c || ds->h != t->ds->h || ds->w != t->ds->w)
        return sqz_err_set(err, SQZ_ERR_DATA, "evaluate: %s has %lldx%lldx%lld images, the model takes %lldx%lldx%lld",
                           ds->name, (long long)ds->c, (long long)ds->h, (long long)ds->w, (long long)t->ds->c,
                           (long long)t->ds->h, (long long)t->ds->w);
    sqz_loader_cfg lc = {.batch = t->cfg.eval_batch > 0 ? t->cfg.eval_batch : 256, .nm = t->cfg.nm};
    sqz_loader *l = NULL;
    sqz_status st = sqz_loader_new(ds, subset, n, &lc, &l, err);
    if (st) return st;
    sqz_tape_set_training(t->tape, 0);
    double sum = 0;
    int64_t correct = 0, seen = 0;
    for (;;) {
        const float *x;
        const int64_t *y;
        int64_t count;
        if ((st = sqz_loader_next(l, &x, &y, &count, err)) || count == 0) break;
        const float *logits;
        if ((st = forward(t, ds, x, y, count, &logits, err))) break;
        int64_t nc = 0;
        float v = sqz_loss_softmax_xent(logits, y, count, t->classes, 0.0f, NULL, &nc);
        sum += (double)v * (double)count;
        correct += nc;
        seen += count;
    }
    sqz_tape_set_training(t->tape, 1);
    sqz_loader_free(l);
    if (st) return st;
    if (seen) {
        *loss = sum / (double)seen;
        *acc = (double)correct / (double)seen;
    }
    return SQZ_OK;
}
