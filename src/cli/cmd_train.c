/* cli/cmd_train.c - `sqz train`: trains a zoo architecture (--arch) or a model file (--init)
 * on an image data set, with per-epoch checkpoints and exact resume. */
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_outset.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/file.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

enum {
    OPT_ARCH = 1, OPT_INIT, OPT_DATA, OPT_TEST_DATA, OPT_EPOCHS, OPT_BATCH, OPT_OPTIM, OPT_LR, OPT_MOMENTUM,
    OPT_NESTEROV, OPT_WD, OPT_SCHED, OPT_WARMUP, OPT_WARMUP_STEPS, OPT_STEP_SIZE, OPT_GAMMA, OPT_MIN_LR, OPT_LS,
    OPT_CLIP, OPT_AUGMENT, OPT_CROP, OPT_FLIP, OPT_WIDTH, OPT_CLASSES, OPT_SEED, OPT_THREADS, OPT_VAL, OPT_LIMIT,
    OPT_TEST_LIMIT, OPT_STOP, OPT_CKPT, OPT_RESUME, OPT_JSON, OPT_OUT, OPT_MEAN, OPT_STD, OPT_BENCH_STEPS,
    OPT_BENCH_SECONDS
};

static const cli_opt train_opts[] = {
    {"arch", 1, OPT_ARCH}, {"init", 1, OPT_INIT}, {"data", 1, OPT_DATA}, {"test-data", 1, OPT_TEST_DATA},
    {"epochs", 1, OPT_EPOCHS}, {"batch", 1, OPT_BATCH}, {"optimizer", 1, OPT_OPTIM}, {"lr", 1, OPT_LR},
    {"momentum", 1, OPT_MOMENTUM}, {"nesterov", 0, OPT_NESTEROV}, {"weight-decay", 1, OPT_WD},
    {"schedule", 1, OPT_SCHED}, {"warmup", 1, OPT_WARMUP}, {"warmup-steps", 1, OPT_WARMUP_STEPS},
    {"step-size", 1, OPT_STEP_SIZE}, {"gamma", 1, OPT_GAMMA}, {"min-lr", 1, OPT_MIN_LR},
    {"label-smoothing", 1, OPT_LS}, {"clip-grad", 1, OPT_CLIP}, {"augment", 0, OPT_AUGMENT},
    {"crop-pad", 1, OPT_CROP}, {"flip", 0, OPT_FLIP}, {"width", 1, OPT_WIDTH}, {"classes", 1, OPT_CLASSES},
    {"seed", 1, OPT_SEED}, {"threads", 1, OPT_THREADS}, {"val-split", 1, OPT_VAL}, {"limit", 1, OPT_LIMIT},
    {"test-limit", 1, OPT_TEST_LIMIT}, {"stop-after", 1, OPT_STOP}, {"checkpoint", 1, OPT_CKPT}, {"resume", 0, OPT_RESUME},
    {"json", 0, OPT_JSON}, {"output", 1, OPT_OUT}, {"mean", 1, OPT_MEAN}, {"std", 1, OPT_STD},
    {"bench-steps", 1, OPT_BENCH_STEPS}, {"bench-seconds", 1, OPT_BENCH_SECONDS}, {NULL, 0, 0},
};

typedef struct train_args {
    const char *arch, *init, *data, *test_data, *ckpt, *out;
    int resume, json, augment, classes;
    double width, val_split;
    int64_t limit, test_limit, stop_after;
    int64_t bench_steps;  /* > 0: benchmark mode (see the help) */
    double bench_seconds;
    sqz_train_cfg cfg;
} train_args;

/* Number of untimed steps before a benchmark's timed ones. */
#define BENCH_WARMUP 5

/* progress bar state for the batch callback */
typedef struct bar {
    int tty;
    double start, last;
    int64_t total_images;
    /* benchmark mode: timing starts after BENCH_WARMUP steps and stops after `steps` more
     * or `seconds` of them */
    sqz_trainer *t;
    int64_t steps;
    double seconds, t0, t1;
    int64_t images0, images1;
} bar;

static void on_batch(void *ud, const sqz_train_progress *p) {
    bar *b = ud;
    if (b->steps > 0) {
        double now = cli_now();
        if (p->batch == BENCH_WARMUP) {
            b->t0 = now;
            b->images0 = p->images;
        } else if (p->batch > BENCH_WARMUP) {
            b->t1 = now;
            b->images1 = p->images;
            if (p->batch - BENCH_WARMUP >= b->steps || now - b->t0 >= b->seconds) b->t->stop = 1;
        }
        return;
    }
    if (!b->tty) return;
    double now = cli_now();
    if (p->batch < p->batches && now - b->last < 0.1) return;
    b->last = now;
    double el = now - b->start, rate = el > 0 ? (double)p->images / el : 0;
    double eta = rate > 0 ? (double)(b->total_images - p->images) / rate : 0;
    enum { W = 24 };
    char s[W + 1];
    int fill = (int)((double)W * (double)p->batch / (double)(p->batches ? p->batches : 1));
    for (int i = 0; i < W; i++) s[i] = i < fill ? '#' : '.';
    s[W] = '\0';
    fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %.0fs   ", p->epoch + 1,
            p->epochs, s, (long long)p->images, (long long)b->total_images, p->loss, 100 * p->acc, rate, eta);
    fflush(stderr);
}

static int parse_args(const cli_cmd *cmd, int argc, char **argv, train_args *a) {
    cli_parser p;
    cli_parser_init(&p, cmd, train_opts, argc, argv);
    sqz_train_cfg *c = &a->cfg;
    int r, have_lr = 0;
    int64_t v;
    double d;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return -1;
        case CLI_BAD: return CLI_USAGE;
        case OPT_ARCH: a->arch = p.arg; break;
        case OPT_INIT: a->init = p.arg; break;
        case OPT_DATA: a->data = p.arg; break;
        case OPT_TEST_DATA: a->test_data = p.arg; break;
        case OPT_EPOCHS:
            if (cli_parse_int(&p, p.arg, 1, 100000, &v)) return CLI_USAGE;
            c->epochs = (int)v;
            break;
        case OPT_BATCH:
            if (cli_parse_int(&p, p.arg, 1, 65536, &c->batch)) return CLI_USAGE;
            break;
        case OPT_OPTIM: {
            int k = sqz_optim_kind_parse(p.arg);
            if (k < 0) return cli_usage_error(cmd, "--optimizer: '%s' is not sgd, adam or adamw", p.arg);
            c->optim.kind = (sqz_optim_kind)k;
            break;
        }
        case OPT_LR:
            if (cli_parse_float(&p, p.arg, &c->lr)) return CLI_USAGE;
            if (!(c->lr > 0 && c->lr < 1e3)) return cli_usage_error(cmd, "--lr must be > 0");
            have_lr = 1;
            break;
        case OPT_MOMENTUM:
            if (cli_parse_float(&p, p.arg, &d)) return CLI_USAGE;
            if (!(d >= 0 && d < 1)) return cli_usage_error(cmd, "--momentum must be in [0, 1)");
            c->optim.momentum = (float)d;
            break;
        case OPT_NESTEROV: c->optim.nesterov = 1; break;
        case OPT_WD:
            if (cli_parse_float(&p, p.arg, &d)) return CLI_USAGE;
            if (!(d >= 0 && d < 1)) return cli_usage_error(cmd, "--weight-decay must be in [0, 1)");
            c->optim.weight_decay = (float)d;
            break;
        case OPT_SCHED: {
            int k = sqz_sched_kind_parse(p.arg);
            if (k < 0) return cli_usage_error(cmd, "--schedule: '%s' is not constant, step, cosine or onecycle", p.arg);
            c->sched = (sqz_sched_kind)k;
            break;
        }
        case OPT_WARMUP:
            if (cli_parse_float(&p, p.arg, &c->warmup_epochs)) return CLI_USAGE;
            if (!(c->warmup_epochs >= 0 && c->warmup_epochs < 1e5)) return cli_usage_error(cmd, "--warmup must be >= 0");
            break;
        case OPT_WARMUP_STEPS:
            if (cli_parse_int(&p, p.arg, 0, INT32_MAX, &c->warmup_steps)) return CLI_USAGE;
            break;
        case OPT_STEP_SIZE:
            if (cli_parse_float(&p, p.arg, &c->step_epochs)) return CLI_USAGE;
            if (!(c->step_epochs > 0 && c->step_epochs < 1e5)) return cli_usage_error(cmd, "--step-size must be > 0");
            break;
        case OPT_GAMMA:
            if (cli_parse_float(&p, p.arg, &c->gamma)) return CLI_USAGE;
            if (!(c->gamma > 0 && c->gamma <= 1)) return cli_usage_error(cmd, "--gamma must be in (0, 1]");
            break;
        case OPT_MIN_LR:
            if (cli_parse_float(&p, p.arg, &c->min_lr)) return CLI_USAGE;
            if (!(c->min_lr >= 0)) return cli_usage_error(cmd, "--min-lr must be >= 0");
            break;
        case OPT_LS:
            if (cli_parse_float(&p, p.arg, &d)) return CLI_USAGE;
            if (!(d >= 0 && d < 1)) return cli_usage_error(cmd, "--label-smoothing must be in [0, 1)");
            c->label_smoothing = (float)d;
            break;
        case OPT_CLIP:
            if (cli_parse_float(&p, p.arg, &d)) return CLI_USAGE;
            if (!(d >= 0 && isfinite(d))) return cli_usage_error(cmd, "--clip-grad must be >= 0");
            c->clip_grad = (float)d;
            break;
        case OPT_AUGMENT: a->augment = 1; break;
        case OPT_CROP:
            if (cli_parse_int(&p, p.arg, 0, 64, &v)) return CLI_USAGE;
            c->crop_pad = (int)v;
            break;
        case OPT_FLIP: c->flip = 1; break;
        case OPT_WIDTH:
            if (cli_parse_float(&p, p.arg, &a->width)) return CLI_USAGE;
            if (!(a->width > 0.01 && a->width <= 64)) return cli_usage_error(cmd, "--width must be in (0.01, 64]");
            break;
        case OPT_CLASSES:
            if (cli_parse_int(&p, p.arg, 1, 1000000, &v)) return CLI_USAGE;
            a->classes = (int)v;
            break;
        case OPT_SEED:
            if (cli_parse_int(&p, p.arg, 0, INT64_MAX, &v)) return CLI_USAGE;
            c->seed = (uint64_t)v;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(&p, p.arg, &c->threads)) return CLI_USAGE;
            break;
        case OPT_VAL:
            if (cli_parse_float(&p, p.arg, &a->val_split)) return CLI_USAGE;
            if (!(a->val_split >= 0 && a->val_split < 1)) return cli_usage_error(cmd, "--val-split must be in [0, 1)");
            break;
        case OPT_LIMIT:
            if (cli_parse_int(&p, p.arg, 1, INT64_MAX, &a->limit)) return CLI_USAGE;
            break;
        case OPT_TEST_LIMIT:
            if (cli_parse_int(&p, p.arg, 0, INT64_MAX, &a->test_limit)) return CLI_USAGE;
            break;
        case OPT_STOP:
            if (cli_parse_int(&p, p.arg, 1, 100000, &a->stop_after)) return CLI_USAGE;
            break;
        case OPT_BENCH_STEPS:
            if (cli_parse_int(&p, p.arg, 1, 1000000, &a->bench_steps)) return CLI_USAGE;
            break;
        case OPT_BENCH_SECONDS:
            if (cli_parse_float(&p, p.arg, &a->bench_seconds)) return CLI_USAGE;
            if (!(a->bench_seconds > 0 && a->bench_seconds < 1e6)) return cli_usage_error(cmd, "--bench-seconds must be > 0");
            break;
        case OPT_CKPT: a->ckpt = p.arg; break;
        case OPT_RESUME: a->resume = 1; break;
        case OPT_JSON: a->json = 1; break;
        case OPT_OUT: a->out = p.arg; break;
        case OPT_MEAN:
            if (cli_parse_floats(&p, p.arg, c->nm.mean, 4, &c->nm.n_mean)) return CLI_USAGE;
            break;
        case OPT_STD:
            if (cli_parse_floats(&p, p.arg, c->nm.std, 4, &c->nm.n_std)) return CLI_USAGE;
            for (int i = 0; i < c->nm.n_std; i++)
                if (!(c->nm.std[i] > 0)) return cli_usage_error(cmd, "--std values must be > 0");
            break;
        case CLI_POS: return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
        }
    }
    if (!a->arch == !a->init) return cli_usage_error(cmd, "give exactly one of --arch NAME or --init MODEL");
    if (a->arch && !sqz_zoo_find(a->arch)) return cli_usage_error(cmd, "unknown architecture '%s' (see `sqz zoo`)", a->arch);
    if (!a->data) return cli_usage_error(cmd, "missing --data (fashion-mnist or IMAGES,LABELS)");
    if (!a->out && !a->bench_steps) return cli_usage_error(cmd, "missing -o OUT.onnx|OUT.sqz");
    if (a->bench_steps && (a->resume || a->ckpt || a->val_split > 0))
        return cli_usage_error(cmd, "--bench-steps does not go with --checkpoint, --resume or --val-split");
    if (a->resume && !a->ckpt) return cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    if (c->optim.nesterov && (c->optim.kind != SQZ_OPTIM_SGD || c->optim.momentum <= 0))
        return cli_usage_error(cmd, "--nesterov needs --optimizer sgd with --momentum > 0");
    if (a->augment) {
        if (!c->crop_pad) c->crop_pad = 2;
        c->flip = 1;
    }
    if (!have_lr) c->lr = c->optim.kind == SQZ_OPTIM_SGD ? 0.05 : 1e-3;
    return 0;
}

static void print_epoch(const train_args *a, const sqz_epoch_stats *s, const sqz_trainer *t, double vl, double va,
                        int64_t nv, double tl, double ta, int64_t nt) {
    double ips = s->seconds > 0 ? (double)s->images / s->seconds : 0;
    if (a->json) {
        cli_json j;
        cli_json_init(&j, stdout, 0);
        cli_json_obj(&j);
        cli_json_kint(&j, "epoch", s->epoch + 1);
        cli_json_kint(&j, "epochs", t->cfg.epochs);
        cli_json_knum(&j, "train_loss", s->loss);
        cli_json_knum(&j, "train_accuracy", s->acc);
        if (nv) {
            cli_json_knum(&j, "val_loss", vl);
            cli_json_knum(&j, "val_accuracy", va);
        }
        if (nt) {
            cli_json_knum(&j, "test_loss", tl);
            cli_json_knum(&j, "test_accuracy", ta);
        }
        cli_json_knum(&j, "lr", s->lr);
        cli_json_kint(&j, "images", s->images);
        cli_json_knum(&j, "seconds", s->seconds);
        cli_json_knum(&j, "images_per_sec", ips);
        cli_json_obj_end(&j);
        cli_json_end(&j);
        fflush(stdout);
        return;
    }
    printf("epoch %d/%d  train loss %.4f acc %.2f%%", s->epoch + 1, t->cfg.epochs, s->loss, 100 * s->acc);
    if (nv) printf("  val loss %.4f acc %.2f%%", vl, 100 * va);
    if (nt) printf("  test loss %.4f acc %.2f%%", tl, 100 * ta);
    printf("  lr %.3g  %.1fs  %.0f img/s\n", s->lr, s->seconds, ips);
    fflush(stdout);
}

/* "fashion-mnist" alone means train on :train and test on :test. */
static void data_specs(const train_args *a, const char **train, const char **test) {
    *train = a->data;
    *test = a->test_data;
    if (!strcmp(a->data, "fashion-mnist")) *train = "fashion-mnist:train";
    if (!a->test_data && !strncmp(a->data, "fashion-mnist", 13) && !strchr(a->data, ',')) *test = "fashion-mnist:test";
    if (a->test_data && !strcmp(a->test_data, "none")) *test = NULL;
}

static int run_train(const cli_cmd *cmd, int argc, char **argv);

/* Benchmark mode: one epoch of BENCH_WARMUP + bench_steps steps (or fewer when the time budget
 * ends first); prints the steady-state rate of the timed steps and the peak resident memory. */
static int run_bench(const train_args *a, sqz_trainer *t, bar *b, sqz_err *err) {
    sqz_epoch_stats s;
    if (sqz_trainer_epoch(t, &s, err)) return cli_error_err(err);
    const int64_t steps = b->t1 > b->t0 ? (b->images1 - b->images0 + t->cfg.batch - 1) / t->cfg.batch : 0;
    const double secs = b->t1 - b->t0, ips = secs > 0 ? (double)(b->images1 - b->images0) / secs : 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    if (a->json) {
        cli_json j;
        cli_json_init(&j, stdout, 0);
        cli_json_obj(&j);
        cli_json_kstr(&j, "impl", "sqz");
        cli_json_kstr(&j, "arch", a->arch ? a->arch : a->init);
        cli_json_kint(&j, "threads", t->cfg.threads);
        cli_json_kint(&j, "batch", t->cfg.batch);
        cli_json_kint(&j, "steps", steps);
        cli_json_knum(&j, "seconds", secs);
        cli_json_knum(&j, "images_per_sec", ips);
        cli_json_kint(&j, "peak_rss_kb", (int64_t)ru.ru_maxrss);
        cli_json_knum(&j, "last_loss", s.loss);
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        printf("%s: %lld timed steps of batch %lld after %d warm-up steps, %d thread(s): %.1f images/s, peak RSS %.1f MiB\n",
               a->arch ? a->arch : a->init, (long long)steps, (long long)t->cfg.batch, BENCH_WARMUP, t->cfg.threads,
               ips, (double)ru.ru_maxrss / 1024.0);
    }
    fflush(stdout);
    return steps > 0 ? CLI_OK : cli_error(SQZ_ERR_DATA, "--bench-steps: no timed step ran (too few images)");
}

static int train_main(const cli_cmd *cmd, int argc, char **argv) { return cli_run_with_o(cmd, argc, argv, run_train); }

static int run_train(const cli_cmd *cmd, int argc, char **argv) {
    train_args a;
    memset(&a, 0, sizeof a);
    a.width = 1;
    a.test_limit = -1;
    sqz_train_cfg_default(&a.cfg);
    a.cfg.batch = 64;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? CLI_OK : rc;

    sqz_err err = {0};
    /* Refuse an output that cannot be written before spending time on training. */
    if (a.out && !sqz_path_has_suffix(a.out, ".onnx") && !sqz_path_has_suffix(a.out, ".sqz"))
        return cli_usage_error(cmd, "cannot tell the format of '%s': name it .onnx or .sqz", a.out);
    if (a.out && cli_check_writable(a.out, &err)) return cli_error_err(&err);
    sqz_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    sqz_graph *g = NULL;
    sqz_trainer *t = NULL;
    int32_t *tr_idx = NULL, *val_idx = NULL;
    int64_t n_tr = 0, n_val = 0, n_test = 0;
    const char *train_spec, *test_spec;
    data_specs(&a, &train_spec, &test_spec);
    if (a.bench_steps) test_spec = NULL;
    int resumed = 0;

    if (sqz_dataset_open(train_spec, &train, &err)) goto fail;
    if (test_spec && sqz_dataset_open(test_spec, &test, &err)) goto fail;
    sqz_train_cfg *c = &a.cfg;
    if ((c->nm.n_mean > 1 && c->nm.n_mean != train.c) || (c->nm.n_std > 1 && c->nm.n_std != train.c)) {
        rc = cli_usage_error(cmd, "--mean/--std take 1 or %lld values (channels of %s)", (long long)train.c, train.name);
        goto done;
    }
    int64_t n = a.limit > 0 && a.limit < train.n ? a.limit : train.n;
    if (a.bench_steps) {
        /* enough images for the warm-up and the timed steps in one epoch */
        const int64_t want = (BENCH_WARMUP + a.bench_steps) * c->batch;
        if (want < n && a.limit <= 0) n = want;
        c->epochs = 1;
    }
    if (sqz_split(n, a.val_split, c->seed, &tr_idx, &n_tr, &val_idx, &n_val, &err)) goto fail;
    if (test_spec) n_test = a.test_limit >= 0 && a.test_limit < test.n ? a.test_limit : test.n;

    if (a.resume && sqz_checkpoint_exists(a.ckpt)) {
        if (sqz_checkpoint_load_graph(a.ckpt, &g, &err)) goto fail;
        resumed = 1;
    } else if (a.init) {
        if (cli_load_model(a.init, 0, &g, &err)) goto fail;
    } else {
        int64_t classes = a.classes ? a.classes : (train.n_classes > 10 ? train.n_classes : 10);
        if (sqz_zoo_build(a.arch, train.c, train.h, train.w, classes, (float)a.width, c->seed, &g, &err)) goto fail;
    }
    if (sqz_graph_prepare(g, &err)) goto fail;
    if (sqz_trainer_new(g, &train, tr_idx, n_tr, c, &t, &err)) goto fail;
    if (resumed && sqz_checkpoint_restore(t, a.ckpt, &err)) goto fail;
    if (!a.json) {
        printf("training %s on %s: %lld images (%lld for validation), %d epochs, batch %lld, %s lr %g %s", a.arch ? a.arch : a.init,
               train.name, (long long)n_tr, (long long)n_val, c->epochs, (long long)c->batch,
               sqz_optim_kind_name(c->optim.kind), c->lr, sqz_sched_kind_name(c->sched));
        if (resumed) printf(", resumed after epoch %d", t->epoch);
        printf("\n");
        fflush(stdout);
    }
    bar b = {.tty = cli_stderr_tty(), .total_images = n_tr, .t = t, .steps = a.bench_steps,
             .seconds = a.bench_seconds > 0 ? a.bench_seconds : 1e9};
    t->on_batch = on_batch;
    t->ud = &b;
    if (a.bench_steps) {
        rc = run_bench(&a, t, &b, &err);
        goto done;
    }
    double last_test_acc = NAN;
    int64_t run_epochs = 0;
    while (t->epoch < c->epochs && (a.stop_after <= 0 || run_epochs < a.stop_after)) {
        run_epochs++;
        sqz_epoch_stats s;
        b.start = cli_now();
        b.last = 0;
        if (sqz_trainer_epoch(t, &s, &err)) {
            if (b.tty) fprintf(stderr, "\r%*s\r", 100, "");
            goto fail;
        }
        if (b.tty) fprintf(stderr, "\r%*s\r", 100, "");
        double vl = 0, va = 0, tl = 0, ta = 0;
        if (n_val && sqz_trainer_evaluate(t, &train, val_idx, n_val, &vl, &va, &err)) goto fail;
        if (n_test) {
            if (n_test < test.n) {
                /* first n_test test images */
                int32_t *idx = malloc(sizeof(int32_t) * (size_t)n_test);
                if (!idx) {
                    rc = cli_error(SQZ_ERR_NOMEM, "out of memory");
                    goto done;
                }
                for (int64_t i = 0; i < n_test; i++) idx[i] = (int32_t)i;
                sqz_status st = sqz_trainer_evaluate(t, &test, idx, n_test, &tl, &ta, &err);
                free(idx);
                if (st) goto fail;
            } else if (sqz_trainer_evaluate(t, &test, NULL, 0, &tl, &ta, &err)) {
                goto fail;
            }
            last_test_acc = ta;
        }
        print_epoch(&a, &s, t, vl, va, n_val, tl, ta, n_test);
        if (a.ckpt && sqz_checkpoint_save(t, a.ckpt, &err)) goto fail;
    }
    if (sqz_model_save(g, a.out, &err)) goto fail;
    if (!a.json) {
        printf("wrote %s", a.out);
        if (!isnan(last_test_acc)) printf(" (test accuracy %.2f%% on %lld images)", 100 * last_test_acc, (long long)n_test);
        printf("\n");
    }
    rc = CLI_OK;
    goto done;
fail:
    rc = cli_error_err(&err);
done:
    sqz_trainer_free(t);
    sqz_graph_free(g);
    free(tr_idx);
    free(val_idx);
    sqz_dataset_free(&train);
    sqz_dataset_free(&test);
    return rc;
}

const cli_cmd sqz_cmd_train = {
    .name = "train",
    .summary = "train a built-in architecture or an ONNX/.sqz model on image data",
    .usage = "sqz train (--arch NAME | --init MODEL) --data SPEC -o OUT.onnx|OUT.sqz [options]",
    .help =
        "Trains with softmax cross-entropy. --data fashion-mnist trains on its 60,000 training images\n"
        "and reports the 10,000 test images after each epoch; IMAGES,LABELS (IDX or NPY) works the same\n"
        "with --test-data. Results are reproducible: the same seed and thread count give the same bits.\n"
        "\n"
        "  --arch NAME            a built-in architecture (sqz zoo), or\n"
        "  --init MODEL           an ONNX/.sqz model to train further (float32 input, (N, classes) output)\n"
        "  --data SPEC            fashion-mnist[:train] or IMAGES,LABELS\n"
        "  --test-data SPEC       evaluation set after each epoch ('none' to skip)\n"
        "  --epochs N             (default 1)        --batch B (default 64)\n"
        "  --optimizer sgd|adam|adamw (default adam) --lr LR (default 1e-3; sgd 0.05)\n"
        "  --momentum M, --nesterov, --weight-decay WD (weights only, not biases/BatchNorm)\n"
        "  --schedule constant|step|cosine|onecycle  --warmup EPOCHS | --warmup-steps N\n"
        "  --step-size EPOCHS, --gamma G (step schedule), --min-lr LR (cosine floor)\n"
        "  --label-smoothing EPS  --clip-grad NORM (global gradient norm)\n"
        "  --augment              random crop (zero padding 2) and horizontal flip;\n"
        "                         or --crop-pad P and --flip separately\n"
        "  --width M              width multiplier for --arch      --classes N (default 10)\n"
        "  --mean M[,M..] --std S[,S..]  normalization after scaling pixels to [0, 1]\n"
        "  --val-split F          hold out this fraction of the training images (seeded)\n"
        "  --limit N              train on the first N images only (quick runs)\n"
        "  --test-limit N         evaluate on the first N test images only\n"
        "  --seed S  --threads T\n"
        "  --checkpoint DIR       save model + optimizer state after every epoch (atomically)\n"
        "  --resume               continue from DIR's checkpoint exactly (same options)\n"
        "  --stop-after N         run at most N epochs now (continue later with --resume)\n"
        "  --json                 one JSON object per epoch on stdout\n"
        "  --bench-steps N        benchmark: 5 warm-up steps, then N timed steps (forward, backward,\n"
        "                         optimizer); prints images/s and peak RSS, writes no model (-o optional)\n"
        "  --bench-seconds S      end the timed steps after S seconds\n"
        "  -o, --output FILE      the trained model (.onnx or .sqz)\n",
    .run = train_main,
};
