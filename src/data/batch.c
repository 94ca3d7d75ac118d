/* data/batch.c - converting examples of a data set to normalized float batches.
 *
 * Per example: read the stored image (any numeric dtype, layout (h, w), (h, w, c)
 * or (c, h, w)), x = pixel * scale, then (x - mean[ch]) / std[ch], and write it in
 * the requested layout (NCHW or NHWC). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

void sqz_normalize_default(sqz_normalize *nm) {
    memset(nm, 0, sizeof *nm);
    nm->scale = 1.0f / 255.0f;
    nm->layout = SQZ_LAYOUT_NCHW;
}

/* n elements of t starting at element `at`, as float. */
static void load_f32(const sqz_tensor *t, int64_t at, int64_t n, float *dst) {
    switch (t->dtype) {
    case SQZ_DT_U8: {
        const uint8_t *s = (const uint8_t *)t->data + at;
        for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
        break;
    }
    case SQZ_DT_F32: memcpy(dst, (const float *)t->data + at, sizeof(float) * (size_t)n); break;
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = (float)sqz_tensor_get_f64(t, at + i);
        break;
    }
}

static int64_t label_at(const sqz_tensor *lb, int64_t i) {
    if (lb->dtype == SQZ_DT_I64) return ((const int64_t *)lb->data)[i];
    if (lb->dtype == SQZ_DT_U64) return (int64_t)((const uint64_t *)lb->data)[i];
    return (int64_t)sqz_tensor_get_f64(lb, i);
}

sqz_status sqz_dataset_batch_f32(const sqz_dataset *ds, const int32_t *idx, int64_t start, int64_t count,
                                 const sqz_normalize *nm, float *out, int64_t *labels_out, sqz_err *err) {
    if (!ds || !nm || (!out && count > 0)) return sqz_err_set(err, SQZ_ERR_ARG, "batch: missing data set, options or output");
    if (start < 0 || count < 0 || (!idx && (start > ds->n || count > ds->n - start)))
        return sqz_err_set(err, SQZ_ERR_ARG, "batch: examples %lld..%lld outside the data set (%lld examples)",
                           (long long)start, (long long)(start + count), (long long)ds->n);
    int64_t c = ds->c, hw = ds->h * ds->w, per = c * hw;
    if (c > 4 && (nm->n_mean > 1 || nm->n_std > 1))
        return sqz_err_set(err, SQZ_ERR_ARG, "batch: per-channel mean/std support up to 4 channels, images have %lld", (long long)c);
    if (nm->n_mean < 0 || (nm->n_mean > 1 && nm->n_mean != c) || nm->n_std < 0 || (nm->n_std > 1 && nm->n_std != c))
        return sqz_err_set(err, SQZ_ERR_ARG, "batch: %d mean and %d std values for %lld channels (give 1 or %lld)",
                           nm->n_mean, nm->n_std, (long long)c, (long long)c);
    if (!isfinite(nm->scale)) return sqz_err_set(err, SQZ_ERR_ARG, "batch: scale is not finite");
    float mean[4] = {0, 0, 0, 0}, inv_std[4] = {1, 1, 1, 1};
    for (int64_t ch = 0; ch < c && ch < 4; ch++) {
        if (nm->n_mean) mean[ch] = nm->mean[nm->n_mean == 1 ? 0 : ch];
        if (nm->n_std) {
            float s = nm->std[nm->n_std == 1 ? 0 : ch];
            if (!(s != 0.0f) || !isfinite(s)) return sqz_err_set(err, SQZ_ERR_ARG, "batch: std of channel %lld is %g", (long long)ch, s);
            inv_std[ch] = 1.0f / s;
        }
    }
    float *tmp = malloc(sizeof(float) * (size_t)(per ? per : 1));
    if (!tmp) return sqz_err_set(err, SQZ_ERR_NOMEM, "batch: out of memory");
    const int src_chw = ds->channels_first || c == 1;
    const int dst_chw = nm->layout == SQZ_LAYOUT_NCHW || c == 1;
    for (int64_t b = 0; b < count; b++) {
        int64_t j = idx ? idx[start + b] : start + b;
        if (j < 0 || j >= ds->n) {
            free(tmp);
            return sqz_err_set(err, SQZ_ERR_ARG, "batch: example index %lld outside the data set (%lld examples)",
                               (long long)j, (long long)ds->n);
        }
        load_f32(&ds->images, j * per, per, tmp);
        float *o = out + b * per;
        for (int64_t ch = 0; ch < c; ch++) {
            int k = ch < 4 ? (int)ch : 0;
            float m = mean[k], is = inv_std[k], sc = nm->scale;
            for (int64_t p = 0; p < hw; p++) {
                float v = src_chw ? tmp[ch * hw + p] : tmp[p * c + ch];
                v = (v * sc - m) * is;
                if (dst_chw) o[ch * hw + p] = v;
                else o[p * c + ch] = v;
            }
        }
        if (labels_out) labels_out[b] = label_at(&ds->labels, j);
    }
    free(tmp);
    return SQZ_OK;
}
