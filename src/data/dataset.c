/* data/dataset.c - opening labelled image data sets (data/dataset.h).
 *
 * A spec names either Fashion-MNIST as Debian installs it, or two files (images,
 * labels), each IDX (raw or gzip) or NPY, recognised by their first bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "data/dataset.h"
#include "sqz/io.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Reads an IDX or NPY file, deciding by its magic. */
static sqz_status read_array(const char *path, sqz_tensor *t, sqz_err *err) {
    FILE *f;
    uint64_t size;
    sqz_status st = sqz_file_open_read(path, &f, &size, err);
    if (st) return st;
    unsigned char m[6] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    if (n == 6 && !memcmp(m, "\x93NUMPY", 6)) return sqz_npy_read(path, t, err);
    if (n >= 2 && ((m[0] == 0x1f && m[1] == 0x8b) || (m[0] == 0 && m[1] == 0))) return sqz_idx_read(path, t, err);
    return sqz_err_set(err, SQZ_ERR_DATA, "%s: neither an IDX nor an NPY file (bad magic)", path);
}

static int is_integer_dtype(sqz_dtype dt) {
    switch (dt) {
    case SQZ_DT_U8: case SQZ_DT_I8: case SQZ_DT_U16: case SQZ_DT_I16: case SQZ_DT_U32: case SQZ_DT_I32:
    case SQZ_DT_U64: case SQZ_DT_I64: return 1;
    default: return 0;
    }
}

static int is_numeric_dtype(sqz_dtype dt) {
    return is_integer_dtype(dt) || dt == SQZ_DT_F32 || dt == SQZ_DT_F64 || dt == SQZ_DT_F16 || dt == SQZ_DT_BF16 ||
           dt == SQZ_DT_BOOL;
}

/* Shape and label checks once both tensors are loaded. */
static sqz_status check_pair(sqz_dataset *ds, const char *ipath, const char *lpath, sqz_err *err) {
    sqz_tensor *im = &ds->images, *lb = &ds->labels;
    if (!is_numeric_dtype(im->dtype))
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: images of dtype %s are not supported", ipath, sqz_dtype_name(im->dtype));
    if (im->ndim == 3) {
        ds->h = im->dims[1], ds->w = im->dims[2], ds->c = 1;
    } else if (im->ndim == 4) {
        if (im->dims[3] <= 4) {
            ds->h = im->dims[1], ds->w = im->dims[2], ds->c = im->dims[3];
        } else {
            ds->c = im->dims[1], ds->h = im->dims[2], ds->w = im->dims[3];
            ds->channels_first = 1;
        }
    } else {
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: images must have rank 3 (n, h, w) or 4 (n, h, w, c / n, c, h, w), not %d",
                           ipath, im->ndim);
    }
    ds->n = im->dims[0];
    if (ds->c < 1 || ds->h < 1 || ds->w < 1)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: empty image shape (%lld x %lld x %lld)", ipath, (long long)ds->h,
                           (long long)ds->w, (long long)ds->c);
    if (!is_integer_dtype(lb->dtype))
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: labels must be integers, not %s", lpath, sqz_dtype_name(lb->dtype));
    int64_t nl = lb->ndim == 1 ? lb->dims[0] : (lb->ndim == 2 && lb->dims[1] == 1) ? lb->dims[0] : -1;
    if (nl < 0)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: labels must be a vector (n) or (n, 1), not rank %d", lpath, lb->ndim);
    if (nl != ds->n)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s has %lld images but %s has %lld labels", ipath, (long long)ds->n, lpath,
                           (long long)nl);
    int64_t maxl = -1;
    for (int64_t i = 0; i < nl; i++) {
        int64_t v;
        if (lb->dtype == SQZ_DT_I64) v = ((const int64_t *)lb->data)[i];
        else if (lb->dtype == SQZ_DT_U64) {
            uint64_t u = ((const uint64_t *)lb->data)[i];
            v = u > INT32_MAX ? INT64_MAX : (int64_t)u;
        } else v = (int64_t)sqz_tensor_get_f64(lb, i);
        if (v < 0 || v >= INT32_MAX)
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: label %lld of example %lld is not a class index", lpath, (long long)v,
                               (long long)i);
        if (v > maxl) maxl = v;
    }
    ds->n_classes = (int)(maxl + 1);
    return SQZ_OK;
}

static sqz_status open_pair(const char *ipath, const char *lpath, const char *name, sqz_dataset *ds, sqz_err *err) {
    sqz_status st = read_array(ipath, &ds->images, err);
    if (!st) st = read_array(lpath, &ds->labels, err);
    if (!st) st = check_pair(ds, ipath, lpath, err);
    if (!st) {
        ds->name = strdup(name);
        if (!ds->name) st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    }
    if (st) sqz_dataset_free(ds);
    return st;
}

/* dir/base.gz, or dir/base when only the uncompressed file is there. Malloc'd. */
static char *data_file(const char *dir, const char *base) {
    size_t n = strlen(dir) + strlen(base) + 8;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s/%s.gz", dir, base);
    if (!sqz_file_exists(p)) snprintf(p, n, "%s/%s", dir, base);
    if (!sqz_file_exists(p)) snprintf(p, n, "%s/%s.gz", dir, base);
    return p;
}

static sqz_status open_fashion(const char *which, sqz_dataset *ds, sqz_err *err) {
    const char *prefix;
    if (!which || !strcmp(which, "test")) prefix = "t10k", which = "test";
    else if (!strcmp(which, "train")) prefix = "train";
    else return sqz_err_set(err, SQZ_ERR_ARG, "fashion-mnist:%s: unknown split (use :test or :train)", which);
    const char *dir = getenv("SQZ_DATA_DIR");
    if (!dir || !dir[0]) dir = FMNIST_DIR;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sqz_err_set(err, SQZ_ERR_NOTFOUND, "fashion-mnist: %s not found (install Debian's dataset-fashion-mnist)", dir);
    char ib[64], lb[64], name[64];
    snprintf(ib, sizeof ib, "%s-images-idx3-ubyte", prefix);
    snprintf(lb, sizeof lb, "%s-labels-idx1-ubyte", prefix);
    snprintf(name, sizeof name, "fashion-mnist:%s", which);
    char *ip = data_file(dir, ib), *lp = data_file(dir, lb);
    sqz_status st = (!ip || !lp) ? sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory") : open_pair(ip, lp, name, ds, err);
    free(ip);
    free(lp);
    return st;
}

sqz_status sqz_dataset_open(const char *spec, sqz_dataset *ds, sqz_err *err) {
    memset(ds, 0, sizeof *ds);
    ds->images.producer = ds->labels.producer = -1;
    if (!spec || !spec[0]) return sqz_err_set(err, SQZ_ERR_ARG, "empty data set spec");
    if (!strcmp(spec, "fashion-mnist")) return open_fashion(NULL, ds, err);
    if (!strncmp(spec, "fashion-mnist:", 14)) return open_fashion(spec + 14, ds, err);
    const char *comma = strchr(spec, ',');
    if (!comma)
        return sqz_err_set(err, SQZ_ERR_ARG,
                           "%s: unknown data set (use fashion-mnist[:test|:train] or IMAGES,LABELS with IDX or NPY files)", spec);
    /* paths may hold commas: prefer the split whose image path exists */
    const char *split = comma;
    for (const char *c = comma; c; c = strchr(c + 1, ',')) {
        char *left = strndup(spec, (size_t)(c - spec));
        int ok = left && sqz_file_exists(left);
        free(left);
        if (ok) {
            split = c;
            break;
        }
    }
    char *ipath = strndup(spec, (size_t)(split - spec));
    const char *lpath = split + 1;
    if (!ipath) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    if (!ipath[0] || !lpath[0]) {
        free(ipath);
        return sqz_err_set(err, SQZ_ERR_ARG, "%s: expected IMAGES,LABELS", spec);
    }
    sqz_status st = open_pair(ipath, lpath, spec, ds, err);
    free(ipath);
    return st;
}

void sqz_dataset_free(sqz_dataset *ds) {
    if (!ds) return;
    sqz_tensor_release(&ds->images);
    sqz_tensor_release(&ds->labels);
    free(ds->name);
    memset(ds, 0, sizeof *ds);
    ds->images.producer = ds->labels.producer = -1;
}
