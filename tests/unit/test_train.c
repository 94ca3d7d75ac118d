/* tests/unit/test_train.c - optimizers against hand-computed steps, schedules, the data
 * loader (determinism, shuffling, splits, augmentation), checkpoints (resume gives the same
 * bits as an uninterrupted run) and a short end-to-end training on Fashion-MNIST. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "sqz/sqz.h"
#include "test.h"
#include "tmpdir.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

static sqz_err E;

/* ---- optimizers ---- */

static void run_steps(sqz_optim_cfg cfg, int steps, const float *g0, float *w, float lr) {
    sqz_optim *o = NULL;
    int64_t numel = 3;
    CHECK_OK(sqz_optim_new(&cfg, 1, &numel, NULL, &o, &E), &E);
    if (!o) return;
    for (int s = 0; s < steps; s++) {
        float g[3];
        for (int i = 0; i < 3; i++) g[i] = g0[i] * (float)(s + 1); /* gradient changes per step */
        float *wp[1] = {w};
        const float *gp[1] = {g};
        sqz_optim_step(o, wp, gp, lr);
    }
    sqz_optim_free(o);
}

static void test_sgd(void) {
    const float g0[3] = {0.5f, -1.0f, 2.0f}, w0[3] = {1.0f, 2.0f, -3.0f};
    const double lr = 0.1, mom = 0.9, wd = 0.01;
    for (int variant = 0; variant < 4; variant++) {
        sqz_optim_cfg cfg = {.kind = SQZ_OPTIM_SGD};
        if (variant >= 1) cfg.momentum = (float)mom;
        if (variant == 2) cfg.nesterov = 1;
        if (variant == 3) cfg.weight_decay = (float)wd;
        float w[3];
        memcpy(w, w0, sizeof w);
        run_steps(cfg, 2, g0, w, (float)lr);
        for (int i = 0; i < 3; i++) {
            double x = w0[i], buf = 0;
            for (int s = 0; s < 2; s++) {
                double d = g0[i] * (s + 1) + (variant == 3 ? wd * x : 0);
                if (variant >= 1) {
                    buf = s == 0 ? d : mom * buf + d;
                    d = variant == 2 ? d + mom * buf : buf;
                }
                x -= lr * d;
            }
            CHECK_MSG(fabs(w[i] - x) < 1e-5, "sgd variant %d elem %d: %g vs %g", variant, i, w[i], x);
        }
    }
}

static void test_adam(void) {
    const float g0[3] = {0.5f, -1.0f, 2.0f}, w0[3] = {1.0f, 2.0f, -3.0f};
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    for (int variant = 0; variant < 3; variant++) { /* adam, adam + L2, adamw */
        sqz_optim_cfg cfg = {.kind = variant == 2 ? SQZ_OPTIM_ADAMW : SQZ_OPTIM_ADAM};
        if (variant) cfg.weight_decay = (float)wd;
        float w[3];
        memcpy(w, w0, sizeof w);
        run_steps(cfg, 3, g0, w, (float)lr);
        for (int i = 0; i < 3; i++) {
            double x = w0[i], m = 0, v = 0;
            for (int s = 1; s <= 3; s++) {
                double d = g0[i] * s;
                if (variant == 1) d += wd * x;
                if (variant == 2) x *= 1 - lr * wd;
                m = b1 * m + (1 - b1) * d;
                v = b2 * v + (1 - b2) * d * d;
                x -= lr * (m / (1 - pow(b1, s))) / (sqrt(v / (1 - pow(b2, s))) + eps);
            }
            CHECK_MSG(fabs(w[i] - x) < 1e-5, "adam variant %d elem %d: %g vs %g", variant, i, w[i], x);
        }
    }
    /* first Adam step moves each weight by ~lr against the gradient's sign */
    float w[3] = {0, 0, 0};
    run_steps((sqz_optim_cfg){.kind = SQZ_OPTIM_ADAM}, 1, g0, w, 0.01f);
    CHECK_NEAR(w[0], -0.01, 1e-6);
    CHECK_NEAR(w[1], 0.01, 1e-6);
    /* decay flags: a parameter without the flag is not decayed */
    sqz_optim *o = NULL;
    int64_t numel[2] = {1, 1};
    uint8_t decay[2] = {1, 0};
    CHECK_OK(sqz_optim_new(&(sqz_optim_cfg){.kind = SQZ_OPTIM_SGD, .weight_decay = 0.5f}, 2, numel, decay, &o, &E), &E);
    if (o) {
        float a = 1, b = 1, z = 0;
        float *wp[2] = {&a, &b};
        const float *gp[2] = {&z, &z};
        sqz_optim_step(o, wp, gp, 1.0f);
        CHECK_NEAR(a, 0.5, 1e-7);
        CHECK_NEAR(b, 1.0, 0);
        sqz_optim_free(o);
    }
    CHECK(sqz_optim_new(&(sqz_optim_cfg){.kind = SQZ_OPTIM_ADAM, .nesterov = 1}, 1, numel, NULL, &o, &E) == SQZ_ERR_ARG);
    CHECK(sqz_optim_new(&(sqz_optim_cfg){.kind = SQZ_OPTIM_SGD, .momentum = 1.5f}, 1, numel, NULL, &o, &E) == SQZ_ERR_ARG);
    CHECK(sqz_optim_kind_parse("adamw") == SQZ_OPTIM_ADAMW && sqz_optim_kind_parse("rmsprop") < 0);
}

/* ---- schedules ---- */

static void test_schedules(void) {
    sqz_schedule s = {.kind = SQZ_SCHED_CONSTANT, .base_lr = 0.1, .total_steps = 100};
    CHECK_NEAR(sqz_schedule_lr(&s, 0), 0.1, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 99), 0.1, 1e-12);
    s.warmup_steps = 10;
    CHECK_NEAR(sqz_schedule_lr(&s, 0), 0.01, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 4), 0.05, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 10), 0.1, 1e-12);
    s = (sqz_schedule){.kind = SQZ_SCHED_STEP, .base_lr = 1, .step_size = 30, .gamma = 0.1, .total_steps = 100};
    CHECK_NEAR(sqz_schedule_lr(&s, 29), 1, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 30), 0.1, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 65), 0.01, 1e-12);
    s = (sqz_schedule){.kind = SQZ_SCHED_COSINE, .base_lr = 1, .min_lr = 0.1, .total_steps = 110, .warmup_steps = 10};
    CHECK_NEAR(sqz_schedule_lr(&s, 10), 1, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 60), 0.55, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 110), 0.1, 1e-12);
    CHECK(sqz_schedule_lr(&s, 30) > sqz_schedule_lr(&s, 31));
    s = (sqz_schedule){.kind = SQZ_SCHED_ONECYCLE, .base_lr = 1, .total_steps = 101};
    CHECK_NEAR(sqz_schedule_lr(&s, 0), 0.04, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 30), 1, 1e-12);
    CHECK_NEAR(sqz_schedule_lr(&s, 100), 0.04 / 1e4, 1e-12);
    CHECK(sqz_sched_kind_parse("cosine") == SQZ_SCHED_COSINE && sqz_sched_kind_parse("linear") < 0);
}

/* ---- loader ---- */

/* n images of 4x4 u8 whose pixels encode the example index; label = index % 7. */
static void fake_dataset(sqz_dataset *ds, int64_t n) {
    memset(ds, 0, sizeof *ds);
    int64_t d[3] = {n, 4, 4};
    sqz_tensor_init_owned(&ds->images, "images", SQZ_DT_U8, 3, d, &E);
    sqz_tensor_init_owned(&ds->labels, "labels", SQZ_DT_I64, 1, d, &E);
    for (int64_t i = 0; i < n; i++) {
        for (int p = 0; p < 16; p++) ((uint8_t *)ds->images.data)[i * 16 + p] = (uint8_t)(i + p);
        ((int64_t *)ds->labels.data)[i] = i % 7;
    }
    ds->n = n;
    ds->h = ds->w = 4;
    ds->c = 1;
    ds->n_classes = 7;
    ds->name = strdup("fake");
}

/* Example indices of one epoch, recovered from pixel 0 (= index * scale). */
static int epoch_order(sqz_loader *l, int64_t epoch, int32_t *out) {
    sqz_loader_start_epoch(l, epoch);
    int k = 0;
    const float *x;
    const int64_t *y;
    int64_t c;
    while (!sqz_loader_next(l, &x, &y, &c, &E) && c > 0)
        for (int64_t i = 0; i < c; i++) out[k++] = (int32_t)lroundf(x[i * 16] * 255.0f);
    return k;
}

static void test_loader(void) {
    sqz_dataset ds;
    fake_dataset(&ds, 10);
    sqz_loader_cfg cfg = {.batch = 4, .shuffle = 1, .seed = 5};
    sqz_normalize_default(&cfg.nm);
    sqz_loader *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(sqz_loader_new(&ds, NULL, 0, &cfg, &a, &E), &E);
    CHECK_OK(sqz_loader_new(&ds, NULL, 0, &cfg, &b, &E), &E);
    cfg.seed = 6;
    CHECK_OK(sqz_loader_new(&ds, NULL, 0, &cfg, &c, &E), &E);
    if (!a || !b || !c) return;
    CHECK(sqz_loader_batches(a) == 3);
    int32_t o1[10], o2[10], o3[10], o4[10];
    CHECK(epoch_order(a, 0, o1) == 10);
    CHECK(epoch_order(b, 0, o2) == 10);
    CHECK(!memcmp(o1, o2, sizeof o1)); /* same seed, same order */
    int seen[10] = {0}, sorted = 1;
    for (int i = 0; i < 10; i++) {
        if (o1[i] >= 0 && o1[i] < 10) seen[o1[i]]++;
        sorted &= o1[i] == i;
    }
    int all = 1;
    for (int i = 0; i < 10; i++) all &= seen[i] == 1;
    CHECK(all && !sorted); /* a permutation, shuffled */
    epoch_order(a, 1, o3);
    CHECK(memcmp(o1, o3, sizeof o1) != 0); /* new order next epoch */
    epoch_order(c, 0, o4);
    CHECK(memcmp(o1, o4, sizeof o1) != 0); /* another seed, another order */
    epoch_order(b, 1, o4);
    CHECK(!memcmp(o3, o4, sizeof o3)); /* epoch order independent of history */
    /* labels follow their images */
    sqz_loader_start_epoch(a, 2);
    const float *x;
    const int64_t *y;
    int64_t cnt;
    CHECK_OK(sqz_loader_next(a, &x, &y, &cnt, &E), &E);
    int ok = cnt == 4;
    for (int i = 0; i < cnt; i++) ok &= y[i] == lroundf(x[i * 16] * 255.0f) % 7;
    CHECK(ok);
    sqz_loader_free(a);
    sqz_loader_free(b);
    sqz_loader_free(c);

    /* subset + drop_last, no shuffle */
    int32_t sub[5] = {9, 3, 4, 0, 7};
    cfg = (sqz_loader_cfg){.batch = 2, .drop_last = 1};
    sqz_normalize_default(&cfg.nm);
    CHECK_OK(sqz_loader_new(&ds, sub, 5, &cfg, &a, &E), &E);
    if (a) {
        CHECK(sqz_loader_batches(a) == 2);
        CHECK(epoch_order(a, 0, o1) == 4 && o1[0] == 9 && o1[1] == 3 && o1[2] == 4 && o1[3] == 0);
        sqz_loader_free(a);
    }
    sub[2] = 10;
    CHECK(sqz_loader_new(&ds, sub, 5, &cfg, &a, &E) == SQZ_ERR_ARG);

    /* augmentation: flips and shifts are seeded and keep the image's pixels */
    cfg = (sqz_loader_cfg){.batch = 10, .seed = 3, .flip = 1, .crop_pad = 1};
    sqz_normalize_default(&cfg.nm);
    CHECK_OK(sqz_loader_new(&ds, NULL, 0, &cfg, &a, &E), &E);
    CHECK_OK(sqz_loader_new(&ds, NULL, 0, &cfg, &b, &E), &E);
    if (a && b) {
        const float *xa, *xb;
        CHECK_OK(sqz_loader_next(a, &xa, &y, &cnt, &E), &E);
        CHECK_OK(sqz_loader_next(b, &xb, &y, &cnt, &E), &E);
        CHECK(cnt == 10 && !memcmp(xa, xb, sizeof(float) * 160));
        int changed = 0, valid = 1;
        for (int i = 0; i < 10; i++)
            for (int p = 0; p < 16; p++) {
                float v = xa[i * 16 + p] * 255.0f;
                float orig = (float)(i + p);
                if (fabsf(v - orig) > 1e-3f) changed = 1;
                /* every value is 0 (padding) or a pixel of image i (i .. i+15) */
                valid &= fabsf(v) < 1e-3f || (v > (float)i - 0.5f && v < (float)i + 15.5f);
            }
        CHECK(changed && valid);
    }
    sqz_loader_free(a);
    sqz_loader_free(b);

    /* split */
    int32_t *tr = NULL, *va = NULL, *tr2 = NULL, *va2 = NULL;
    int64_t nt = 0, nv = 0, nt2, nv2;
    CHECK_OK(sqz_split(100, 0.2, 9, &tr, &nt, &va, &nv, &E), &E);
    CHECK_OK(sqz_split(100, 0.2, 9, &tr2, &nt2, &va2, &nv2, &E), &E);
    CHECK(nt == 80 && nv == 20 && nt2 == 80 && nv2 == 20);
    if (tr && va && tr2 && va2) {
        CHECK(!memcmp(tr, tr2, 80 * sizeof(int32_t)) && !memcmp(va, va2, 20 * sizeof(int32_t)));
        int cover[100] = {0};
        for (int i = 0; i < 80; i++) cover[tr[i]]++;
        for (int i = 0; i < 20; i++) cover[va[i]] += 2;
        int good = 1;
        for (int i = 0; i < 100; i++) good &= cover[i] == 1 || cover[i] == 2;
        int nval = 0;
        for (int i = 0; i < 100; i++) nval += cover[i] == 2;
        CHECK(good && nval == 20);
    }
    free(tr), free(va), free(tr2), free(va2);
    CHECK_OK(sqz_split(10, 0, 9, &tr, &nt, &va, &nv, &E), &E);
    CHECK(nt == 10 && nv == 0 && va == NULL && tr && tr[3] == 3);
    free(tr);
    CHECK(sqz_split(10, 1.0, 9, &tr, &nt, &va, &nv, &E) == SQZ_ERR_ARG);
    sqz_dataset_free(&ds);
}

/* ---- training on Fashion-MNIST ---- */

static int have_fmnist(void) {
    const char *d = getenv("SQZ_DATA_DIR");
    char p[512];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", d && *d ? d : "/usr/share/datasets/fashion-mnist");
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int32_t *first_n(int64_t n) {
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; idx && i < n; i++) idx[i] = (int32_t)i;
    return idx;
}

static sqz_graph *build(const char *arch, uint64_t seed) {
    sqz_graph *g = NULL;
    CHECK_OK(sqz_zoo_build(arch, 1, 28, 28, 10, 1, seed, &g, &E), &E);
    if (g && sqz_graph_prepare(g, &E)) {
        CHECK_MSG(0, "prepare %s: %s", arch, E.msg);
        sqz_graph_free(g);
        g = NULL;
    }
    return g;
}

static void train_and_check(const char *arch, const sqz_dataset *train, const sqz_dataset *test, int64_t n_train,
                            const sqz_train_cfg *cfg, double min_acc) {
    sqz_graph *g = build(arch, 1);
    int32_t *idx = first_n(n_train), *tidx = first_n(1000);
    sqz_trainer *t = NULL;
    if (g) CHECK_OK(sqz_trainer_new(g, train, idx, n_train, cfg, &t, &E), &E);
    if (t) {
        double l0, a0, l1, a1;
        CHECK_OK(sqz_trainer_evaluate(t, test, tidx, 1000, &l0, &a0, &E), &E);
        sqz_epoch_stats s[2] = {{0}};
        for (int e = 0; e < cfg->epochs; e++) CHECK_OK(sqz_trainer_epoch(t, &s[e], &E), &E);
        CHECK_OK(sqz_trainer_evaluate(t, test, tidx, 1000, &l1, &a1, &E), &E);
        printf("%s: %lld images x %d epochs: train loss %.3f -> %.3f; test loss %.3f -> %.3f, accuracy %.1f%% -> "
               "%.1f%% (%.1fs/epoch)\n",
               arch, (long long)n_train, cfg->epochs, s[0].loss, s[cfg->epochs - 1].loss, l0, l1, 100 * a0, 100 * a1,
               s[0].seconds);
        CHECK_MSG(l1 < l0 && s[cfg->epochs - 1].loss < s[0].loss, "%s: loss did not fall", arch);
        CHECK_MSG(a1 > min_acc, "%s: test accuracy %.3f <= %.2f", arch, a1, min_acc);
        CHECK(t->step == cfg->epochs * ((n_train + cfg->batch - 1) / cfg->batch));
    }
    sqz_trainer_free(t);
    sqz_graph_free(g);
    free(idx);
    free(tidx);
}

/* Copies every float initializer of g into one buffer (compare runs bit for bit). */
static size_t weights_of(const sqz_graph *g, unsigned char **out) {
    size_t n = 0;
    for (int i = 0; i < g->n_tensors; i++)
        if ((g->tensors[i]->flags & SQZ_TF_INIT) && g->tensors[i]->dtype == SQZ_DT_F32) n += g->tensors[i]->nbytes;
    unsigned char *p = malloc(n + 1);
    size_t at = 0;
    for (int i = 0; p && i < g->n_tensors; i++)
        if ((g->tensors[i]->flags & SQZ_TF_INIT) && g->tensors[i]->dtype == SQZ_DT_F32) {
            memcpy(p + at, g->tensors[i]->data, g->tensors[i]->nbytes);
            at += g->tensors[i]->nbytes;
        }
    *out = p;
    return n;
}

static void test_resume(const sqz_dataset *train, const char *arch) {
    sqz_train_cfg cfg;
    sqz_train_cfg_default(&cfg);
    cfg.epochs = 2;
    cfg.batch = 32;
    cfg.lr = 0.05;
    cfg.optim = (sqz_optim_cfg){.kind = SQZ_OPTIM_SGD, .momentum = 0.9f, .nesterov = 1, .weight_decay = 1e-4f};
    cfg.sched = SQZ_SCHED_COSINE;
    cfg.warmup_steps = 3;
    cfg.crop_pad = 2;
    cfg.flip = 1;
    cfg.label_smoothing = 0.1f;
    cfg.clip_grad = 5.0f;
    cfg.seed = 11;
    const int64_t n = 256;
    int32_t *idx = first_n(n);
    char dir[512];
    tmpdir_path(dir, sizeof dir, "ckpt");

    /* straight: 2 epochs */
    sqz_graph *g1 = build(arch, 3);
    sqz_trainer *t1 = NULL;
    if (g1) CHECK_OK(sqz_trainer_new(g1, train, idx, n, &cfg, &t1, &E), &E);
    for (int e = 0; t1 && e < 2; e++) CHECK_OK(sqz_trainer_epoch(t1, NULL, &E), &E);

    /* 1 epoch, checkpoint, throw everything away */
    sqz_graph *g2 = build(arch, 3);
    sqz_trainer *t2 = NULL;
    if (g2) CHECK_OK(sqz_trainer_new(g2, train, idx, n, &cfg, &t2, &E), &E);
    if (t2) {
        CHECK_OK(sqz_trainer_epoch(t2, NULL, &E), &E);
        CHECK_OK(sqz_checkpoint_save(t2, dir, &E), &E);
    }
    sqz_trainer_free(t2);
    sqz_graph_free(g2);
    CHECK(sqz_checkpoint_exists(dir));

    /* resume: graph and state from the folder, 1 more epoch */
    sqz_graph *g3 = NULL;
    sqz_trainer *t3 = NULL;
    CHECK_OK(sqz_checkpoint_load_graph(dir, &g3, &E), &E);
    if (g3) CHECK_OK(sqz_graph_prepare(g3, &E), &E);
    if (g3) CHECK_OK(sqz_trainer_new(g3, train, idx, n, &cfg, &t3, &E), &E);
    if (t3) {
        CHECK_OK(sqz_checkpoint_restore(t3, dir, &E), &E);
        CHECK(t3->epoch == 1 && t3->step == n / 32);
        CHECK_OK(sqz_trainer_epoch(t3, NULL, &E), &E);
        CHECK_OK(sqz_checkpoint_save(t3, dir, &E), &E); /* replaces the epoch-1 model file */
    }
    if (t1 && t3) {
        unsigned char *w1 = NULL, *w3 = NULL;
        size_t n1 = weights_of(g1, &w1), n3 = weights_of(g3, &w3);
        CHECK_MSG(n1 == n3 && n1 > 0 && w1 && w3 && !memcmp(w1, w3, n1), "%s: resumed weights differ", arch);
        free(w1);
        free(w3);
    }
    /* a different seed is refused; a damaged state file is detected */
    if (g3) {
        sqz_train_cfg other = cfg;
        other.seed = 12;
        sqz_trainer *t4 = NULL;
        CHECK_OK(sqz_trainer_new(g3, train, idx, n, &other, &t4, &E), &E);
        if (t4) CHECK(sqz_checkpoint_restore(t4, dir, &E) == SQZ_ERR_ARG);
        sqz_trainer_free(t4);
        char p[600];
        snprintf(p, sizeof p, "%s/state.bin", dir);
        FILE *f = fopen(p, "r+b");
        if (f) {
            fseek(f, 40, SEEK_SET);
            fputc(0x5a, f);
            fclose(f);
        }
        CHECK(sqz_checkpoint_restore(t3, dir, &E) == SQZ_ERR_DATA && strstr(E.msg, "checksum"));
        remove(p);
    }
    /* only the latest model file is kept */
    char p[600];
    snprintf(p, sizeof p, "%s/model-e0002.sqz", dir);
    FILE *mf = fopen(p, "rb");
    CHECK(mf != NULL);
    if (mf) fclose(mf);
    remove(p);
    rmdir(dir);
    sqz_trainer_free(t1);
    sqz_trainer_free(t3);
    sqz_graph_free(g1);
    sqz_graph_free(g3);
    free(idx);
}

int main(void) {
    test_sgd();
    test_adam();
    test_schedules();
    test_loader();
    if (!tmpdir_make()) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (have_fmnist()) {
        sqz_dataset train, test;
        CHECK_OK(sqz_dataset_open("fashion-mnist:train", &train, &E), &E);
        CHECK_OK(sqz_dataset_open("fashion-mnist:test", &test, &E), &E);
        sqz_train_cfg cfg;
        sqz_train_cfg_default(&cfg);
        cfg.epochs = 2;
        cfg.batch = 32;
        cfg.lr = 2e-3;
        cfg.sched = SQZ_SCHED_COSINE;
        train_and_check("mlp300", &train, &test, 2000, &cfg, 0.60);
        train_and_check("lenet5", &train, &test, 2000, &cfg, 0.60);
        test_resume(&train, "lenet5");
        test_resume(&train, "resnet8");
        sqz_dataset_free(&train);
        sqz_dataset_free(&test);
    } else {
        printf("skip: Fashion-MNIST missing (dataset-fashion-mnist); end-to-end training not run\n");
    }
    tmpdir_remove();
    TEST_MAIN_END();
}
