/* train/trainer.h - the training loop: batches from a loader, forward on the tape, softmax
 * cross-entropy (label smoothing), backward, gradient clipping by global norm, optimizer
 * step, masks re-applied (w *= mask), learning rate per step from the schedule; evaluation
 * with the tape in eval mode (BatchNorm running statistics).
 *
 * Determinism: the same graph, data, config, seed and thread count give the same bits; the
 * data order and augmentation of epoch e depend only on (seed, e), so a run resumed from a
 * checkpoint (train/checkpoint.h) continues exactly. */
#ifndef SQZ_TRAIN_TRAINER_H
#define SQZ_TRAIN_TRAINER_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "sqz/graph.h"
#include "sqz/status.h"
#include "train/autograd.h"
#include "train/optim.h"
#include "train/schedule.h"

typedef struct sqz_train_cfg {
    int epochs;             /* >= 1 */
    int64_t batch;          /* >= 1 */
    double lr;
    sqz_optim_cfg optim;
    sqz_sched_kind sched;
    double warmup_epochs;   /* linear warmup length in epochs (fractions allowed) ... */
    int64_t warmup_steps;   /* ... or in steps (wins when > 0) */
    double step_epochs;     /* step schedule: decay every this many epochs (0: epochs/3) */
    double gamma;           /* step schedule factor (0: 0.1) */
    double min_lr;          /* cosine floor */
    float label_smoothing;  /* [0, 1) */
    float clip_grad;        /* > 0: clip the global gradient norm to this */
    int crop_pad;           /* augmentation: random crop with this zero padding */
    int flip;               /* augmentation: random horizontal flip */
    uint64_t seed;
    int threads;            /* >= 1 */
    int64_t eval_batch;     /* 0: 256 */
    sqz_normalize nm;
} sqz_train_cfg;

/* epochs 1, batch 64, Adam lr 1e-3, constant schedule, seed 1, 1 thread, pixels / 255. */
void sqz_train_cfg_default(sqz_train_cfg *c);

typedef struct sqz_train_progress {
    int epoch, epochs;       /* epoch is 0-based */
    int64_t batch, batches;  /* batches done this epoch / per epoch */
    int64_t images;          /* images seen this epoch */
    double loss, acc;        /* running means this epoch */
    double lr;
} sqz_train_progress;

typedef void (*sqz_train_cb)(void *ud, const sqz_train_progress *p);

typedef struct sqz_epoch_stats {
    int epoch;               /* 0-based index of the epoch just run */
    double loss, acc;        /* training means (label-smoothed loss) */
    int64_t images;
    double seconds;
    double lr;               /* learning rate of the last step */
} sqz_epoch_stats;

typedef struct sqz_trainer {
    sqz_graph *g;            /* not owned; its weights are trained in place */
    sqz_train_cfg cfg;
    const sqz_dataset *ds;
    sqz_tape *tape;
    sqz_optim *opt;
    sqz_loader *loader;
    sqz_schedule sched;
    int n_params;
    sqz_tensor **params;     /* (n_params) */
    float **w;               /* (n_params) parameter data */
    const float **grads;     /* (n_params) */
    int64_t classes;         /* logits per image */
    int in_rank;             /* graph input rank: 4 (N,C,H,W), 3 (N,H,W) or 2 (N,C*H*W) */
    float *dlogits;          /* (batch * classes) */
    int64_t step;            /* optimizer steps taken (the schedule position) */
    int epoch;               /* epochs completed */
    sqz_train_cb on_batch;   /* optional, called after every batch */
    void *ud;
    int stop;                /* set (e.g. by on_batch) to end the current epoch after this batch */
} sqz_trainer;

/* g must be prepared (sqz_graph_prepare) with a float input of a layout the images fit and
 * one (N, classes) float output. Trains on the examples `subset` (n indices; NULL = all). */
sqz_status sqz_trainer_new(sqz_graph *g, const sqz_dataset *ds, const int32_t *subset, int64_t n,
                           const sqz_train_cfg *cfg, sqz_trainer **out, sqz_err *err);
void sqz_trainer_free(sqz_trainer *t);
/* Runs epoch t->epoch and counts it. SQZ_ERR_DATA when the loss becomes NaN/Inf. */
sqz_status sqz_trainer_epoch(sqz_trainer *t, sqz_epoch_stats *st, sqz_err *err);
/* Mean cross-entropy (no smoothing) and accuracy on examples of ds (subset NULL = all). */
sqz_status sqz_trainer_evaluate(sqz_trainer *t, const sqz_dataset *ds, const int32_t *subset, int64_t n,
                                double *loss, double *acc, sqz_err *err);

#endif
