/* data/loader.c - seeded shuffling, batching, augmentation and train/validation splits. */
#include "data/loader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

/* Independent streams for (seed, purpose, a, b). */
static void stream(sqz_rng *r, uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
    uint64_t h = seed ^ (purpose * 0x9E3779B97F4A7C15ull);
    h = (h ^ (a + 0x632BE59BD9B4E019ull)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 31) ^ (b + 0x85EBCA77C2B2AE63ull)) * 0x94D049BB133111EBull;
    sqz_rng_seed(r, h ^ (h >> 29));
}

void sqz_loader_free(sqz_loader *l) {
    if (!l) return;
    free(l->subset);
    free(l->order);
    free(l->x);
    free(l->tmp);
    free(l->y);
    free(l);
}

sqz_status sqz_loader_new(const sqz_dataset *ds, const int32_t *subset, int64_t n, const sqz_loader_cfg *cfg,
                          sqz_loader **out, sqz_err *err) {
    *out = NULL;
    if (!subset) n = ds->n;
    if (cfg->batch < 1 || cfg->batch > (1 << 20))
        return sqz_err_set(err, SQZ_ERR_ARG, "loader: batch size %lld (want 1..1048576)", (long long)cfg->batch);
    if (n < 0 || n > INT32_MAX) return sqz_err_set(err, SQZ_ERR_ARG, "loader: %lld examples", (long long)n);
    if (cfg->crop_pad < 0 || cfg->crop_pad > 64)
        return sqz_err_set(err, SQZ_ERR_ARG, "loader: crop padding %d (want 0..64)", cfg->crop_pad);
    int64_t per = ds->c * ds->h * ds->w;
    if (per <= 0 || per > ((int64_t)1 << 28) / cfg->batch)
        return sqz_err_set(err, SQZ_ERR_ARG, "loader: %lld floats per image times batch %lld is too large",
                           (long long)per, (long long)cfg->batch);
    sqz_loader *l = calloc(1, sizeof *l);
    if (!l) return sqz_err_set(err, SQZ_ERR_NOMEM, "loader: out of memory");
    l->ds = ds;
    l->cfg = *cfg;
    l->n = n;
    l->per = per;
    l->subset = malloc(sizeof(int32_t) * (size_t)(n + 1));
    l->order = malloc(sizeof(int32_t) * (size_t)(n + 1));
    l->x = malloc(sizeof(float) * (size_t)(per * cfg->batch));
    l->tmp = malloc(sizeof(float) * (size_t)per);
    l->y = malloc(sizeof(int64_t) * (size_t)cfg->batch);
    if (!l->subset || !l->order || !l->x || !l->tmp || !l->y) {
        sqz_loader_free(l);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "loader: out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t j = subset ? subset[i] : (int32_t)i;
        if (j < 0 || j >= ds->n) {
            sqz_loader_free(l);
            return sqz_err_set(err, SQZ_ERR_ARG, "loader: example index %d outside the data set (%lld examples)",
                               (int)j, (long long)ds->n);
        }
        l->subset[i] = j;
    }
    sqz_loader_start_epoch(l, 0);
    *out = l;
    return SQZ_OK;
}

int64_t sqz_loader_batches(const sqz_loader *l) {
    int64_t b = l->cfg.batch;
    return l->cfg.drop_last ? l->n / b : (l->n + b - 1) / b;
}

void sqz_loader_start_epoch(sqz_loader *l, int64_t epoch) {
    l->epoch = epoch;
    l->pos = 0;
    l->batch_i = 0;
    memcpy(l->order, l->subset, sizeof(int32_t) * (size_t)l->n);
    if (l->cfg.shuffle) {
        sqz_rng r;
        stream(&r, l->cfg.seed, 1, (uint64_t)epoch, 0);
        sqz_rng_shuffle_i32(&r, l->order, l->n);
    }
}

void sqz_loader_skip(sqz_loader *l, int64_t k) {
    for (int64_t i = 0; i < k && l->pos < l->n; i++) {
        int64_t c = l->n - l->pos < l->cfg.batch ? l->n - l->pos : l->cfg.batch;
        l->pos += c;
        l->batch_i++;
    }
}

/* Shifts image o (c planes, or interleaved for NHWC) by (dy, dx) with fill per channel,
 * then flips it horizontally when flip is set. */
static void augment(sqz_loader *l, float *o, int dy, int dx, int flip, const float *fill) {
    const sqz_dataset *ds = l->ds;
    int64_t c = ds->c, h = ds->h, w = ds->w;
    int nhwc = l->cfg.nm.layout == SQZ_LAYOUT_NHWC && c > 1;
    memcpy(l->tmp, o, sizeof(float) * (size_t)l->per);
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y + dy, sx0 = flip ? w - 1 - x : x, sx = sx0 + dx;
                float v = fill[ch < 4 ? ch : 0];
                if (sy >= 0 && sy < h && sx >= 0 && sx < w)
                    v = nhwc ? l->tmp[(sy * w + sx) * c + ch] : l->tmp[(ch * h + sy) * w + sx];
                if (nhwc)
                    o[(y * w + x) * c + ch] = v;
                else
                    o[(ch * h + y) * w + x] = v;
            }
}

sqz_status sqz_loader_next(sqz_loader *l, const float **x, const int64_t **y, int64_t *count, sqz_err *err) {
    *count = 0;
    *x = l->x;
    *y = l->y;
    int64_t left = l->n - l->pos;
    int64_t c = left < l->cfg.batch ? left : l->cfg.batch;
    if (c <= 0 || (l->cfg.drop_last && c < l->cfg.batch)) return SQZ_OK;
    sqz_status st = sqz_dataset_batch_f32(l->ds, l->order, l->pos, c, &l->cfg.nm, l->x, l->y, err);
    if (st) return st;
    if (l->cfg.crop_pad > 0 || l->cfg.flip) {
        /* the value a zero pixel has after normalization, per channel */
        const sqz_normalize *nm = &l->cfg.nm;
        float fill[4];
        for (int ch = 0; ch < 4; ch++) {
            float m = nm->n_mean ? nm->mean[nm->n_mean == 1 ? 0 : ch] : 0.0f;
            float s = nm->n_std ? nm->std[nm->n_std == 1 ? 0 : ch] : 1.0f;
            fill[ch] = (0.0f - m) / s;
        }
        sqz_rng r;
        stream(&r, l->cfg.seed, 2, (uint64_t)l->epoch, (uint64_t)l->batch_i);
        int p = l->cfg.crop_pad;
        for (int64_t b = 0; b < c; b++) {
            int dy = p ? (int)sqz_rng_below(&r, (uint32_t)(2 * p + 1)) - p : 0;
            int dx = p ? (int)sqz_rng_below(&r, (uint32_t)(2 * p + 1)) - p : 0;
            int flip = l->cfg.flip ? (int)sqz_rng_below(&r, 2) : 0;
            if (dy || dx || flip) augment(l, l->x + b * l->per, dy, dx, flip, fill);
        }
    }
    l->pos += c;
    l->batch_i++;
    *count = c;
    return SQZ_OK;
}

sqz_status sqz_split(int64_t n, double val_frac, uint64_t seed, int32_t **train, int64_t *n_train, int32_t **val,
                     int64_t *n_val, sqz_err *err) {
    *train = *val = NULL;
    *n_train = *n_val = 0;
    if (n < 0 || n > INT32_MAX) return sqz_err_set(err, SQZ_ERR_ARG, "split: %lld examples", (long long)n);
    if (!(val_frac >= 0 && val_frac < 1))
        return sqz_err_set(err, SQZ_ERR_ARG, "split: validation fraction %g outside [0, 1)", val_frac);
    int64_t nv = (int64_t)floor((double)n * val_frac + 0.5);
    if (nv >= n && n > 0) nv = n - 1;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)(n + 1));
    int32_t *v = nv ? malloc(sizeof(int32_t) * (size_t)nv) : NULL;
    if (!perm || (nv && !v)) {
        free(perm);
        free(v);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "split: out of memory");
    }
    for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    if (nv) {
        sqz_rng r;
        stream(&r, seed, 3, 0, 0);
        sqz_rng_shuffle_i32(&r, perm, n);
        memcpy(v, perm + (n - nv), sizeof(int32_t) * (size_t)nv);
    }
    *train = perm;
    *n_train = n - nv;
    *val = v;
    *n_val = nv;
    return SQZ_OK;
}
