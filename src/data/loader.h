/* data/loader.h - a batch iterator over a data set for training and evaluation.
 *
 * The loader walks a list of example indices (a subset of the data set, e.g. the
 * training part of a split) in batches, converting only the current batch to float
 * (sqz_dataset_batch_f32). Shuffling and augmentation are seeded by (seed, epoch, batch):
 * epoch e's order and the augmentation of its batch k are the same in every run and do
 * not depend on what ran before, so a resumed run continues exactly. */
#ifndef SQZ_DATA_LOADER_H
#define SQZ_DATA_LOADER_H

#include <stdint.h>

#include "data/dataset.h"
#include "sqz/status.h"

typedef struct sqz_loader_cfg {
    int64_t batch;      /* >= 1 */
    int shuffle;        /* new order each epoch */
    int drop_last;      /* skip a final partial batch */
    uint64_t seed;
    int crop_pad;       /* > 0: random crop with zero padding of this many pixels */
    int flip;           /* random horizontal flip with probability 1/2 */
    sqz_normalize nm;   /* pixel scaling / mean / std / layout */
} sqz_loader_cfg;

typedef struct sqz_loader {
    const sqz_dataset *ds;
    sqz_loader_cfg cfg;
    int32_t *subset;    /* (n) indices into ds */
    int32_t *order;     /* (n) this epoch's order */
    int64_t n;
    int64_t epoch;
    int64_t pos;        /* next position in order */
    int64_t batch_i;    /* batches handed out this epoch */
    float *x;           /* (batch, per-image floats) */
    float *tmp;         /* one image, for augmentation */
    int64_t *y;         /* (batch) */
    int64_t per;        /* floats per image */
} sqz_loader;

/* subset: n indices into ds (copied), or NULL for all of ds. */
sqz_status sqz_loader_new(const sqz_dataset *ds, const int32_t *subset, int64_t n, const sqz_loader_cfg *cfg,
                          sqz_loader **out, sqz_err *err);
void sqz_loader_free(sqz_loader *l);
/* Batches per epoch. */
int64_t sqz_loader_batches(const sqz_loader *l);
/* Starts epoch e (0-based): builds its order and rewinds. */
void sqz_loader_start_epoch(sqz_loader *l, int64_t epoch);
/* Skips the first k batches of the current epoch (resume mid-epoch). */
void sqz_loader_skip(sqz_loader *l, int64_t k);
/* Next batch: *x points at count * per floats (NCHW or NHWC as nm says), *y at count labels,
 * both valid until the next call; *count = 0 at the end of the epoch. */
sqz_status sqz_loader_next(sqz_loader *l, const float **x, const int64_t **y, int64_t *count, sqz_err *err);

/* A fixed split of examples [0, n): a permutation seeded by seed whose last
 * round(n * val_frac) entries are the validation part. Both arrays malloc'd (the caller
 * frees; *val is NULL when n_val is 0). */
sqz_status sqz_split(int64_t n, double val_frac, uint64_t seed, int32_t **train, int64_t *n_train, int32_t **val,
                     int64_t *n_val, sqz_err *err);

#endif
