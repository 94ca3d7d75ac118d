/* data/dataset.h - labelled image data sets (IDX or NPY files) and batching.
 *
 * A data set is kept in its stored dtype (usually u8) and converted to float per batch,
 * never as a whole. */
#ifndef SQZ_DATA_DATASET_H
#define SQZ_DATA_DATASET_H

#include <stdint.h>

#include "sqz/status.h"
#include "sqz/tensor.h"

typedef struct sqz_dataset {
    sqz_tensor images; /* owned; (n, h, w) or (n, h, w, c) or (n, c, h, w) as stored */
    sqz_tensor labels; /* owned; (n) integer class labels */
    int64_t n;         /* examples */
    int64_t h, w, c;   /* per-image height, width, channels */
    int channels_first;/* 1 if images are stored (n, c, h, w) */
    int n_classes;     /* max label + 1 */
    char *name;        /* malloc'd description, e.g. "fashion-mnist:test" */
} sqz_dataset;

/* spec:
 *   "fashion-mnist" (= ":test"), "fashion-mnist:test", "fashion-mnist:train" ->
 *       Debian's dataset-fashion-mnist under /usr/share/datasets/fashion-mnist
 *       (SQZ_DATA_DIR overrides that folder; tests use it)
 *   "IMAGES,LABELS"  -> two files, each IDX (raw or .gz) or NPY, detected by content.
 * Validates that counts match and labels are integers >= 0. */
sqz_status sqz_dataset_open(const char *spec, sqz_dataset *ds, sqz_err *err);
void sqz_dataset_free(sqz_dataset *ds);

typedef enum { SQZ_LAYOUT_NCHW = 0, SQZ_LAYOUT_NHWC = 1 } sqz_layout;

typedef struct sqz_normalize {
    float scale;       /* pixel * scale first (default 1/255) */
    int n_mean;        /* 0, 1 or c values */
    float mean[4];
    int n_std;
    float std[4];      /* then (x - mean[ch]) / std[ch] */
    sqz_layout layout;
} sqz_normalize;

void sqz_normalize_default(sqz_normalize *nm); /* scale 1/255, no mean/std, NCHW */

/* Converts examples [start, start+count) (indices via idx when non-NULL) into out
 * (count * c * h * w floats in nm->layout) and labels_out (count, may be NULL). */
sqz_status sqz_dataset_batch_f32(const sqz_dataset *ds, const int32_t *idx, int64_t start, int64_t count,
                                 const sqz_normalize *nm, float *out, int64_t *labels_out, sqz_err *err);

#endif
