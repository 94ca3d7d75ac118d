/* Unit tests for data sets: spec parsing (fashion-mnist splits, SQZ_DATA_DIR,
 * IMAGES,LABELS in IDX/NPY), count and label checks, layouts, and batch conversion
 * with scale, mean, std and NCHW/NHWC output. */
#include <stdint.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "sqz/sqz.h"
#include "test.h"
#include "tmpdir.h"

/* Writes a tensor of the given dtype and shape whose element i is f(i). */
static void write_tensor(const char *path, sqz_dtype dt, int nd, const int64_t *dims, double (*f)(int64_t), int npy) {
    sqz_err e;
    sqz_tensor t;
    if (sqz_tensor_init_owned(&t, "t", dt, nd, dims, &e)) return;
    for (int64_t i = 0; i < sqz_tensor_numel(&t); i++) sqz_tensor_set_f64(&t, i, f(i));
    sqz_status st = npy ? sqz_npy_write(path, &t, &e) : sqz_idx_write(path, &t, &e);
    if (st) fprintf(stderr, "%s\n", e.msg);
    sqz_tensor_release(&t);
}

static double pix(int64_t i) { return (double)((i * 13) % 256); }
static double lab5(int64_t i) { return (double)(i % 5); }
static double neg(int64_t i) { return i == 2 ? -1.0 : 1.0; }
static double frac(int64_t i) { return 0.5 + (double)i; }

static void test_specs(void) {
    char im[512], lb[512], lbn[512], spec[1200];
    tmpdir_path(im, sizeof im, "img.idx.gz");
    tmpdir_path(lb, sizeof lb, "lab.idx");
    tmpdir_path(lbn, sizeof lbn, "lab.npy");
    int64_t idims[3] = {6, 2, 3}, ldims[1] = {6};
    write_tensor(im, SQZ_DT_U8, 3, idims, pix, 0);
    write_tensor(lb, SQZ_DT_U8, 1, ldims, lab5, 0);
    write_tensor(lbn, SQZ_DT_I64, 1, ldims, lab5, 1);
    sqz_err e;
    sqz_dataset ds;
    snprintf(spec, sizeof spec, "%s,%s", im, lb);
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.n == 6 && ds.h == 2 && ds.w == 3 && ds.c == 1 && !ds.channels_first && ds.n_classes == 5);
    CHECK(ds.name && !strcmp(ds.name, spec) && ds.images.dtype == SQZ_DT_U8);
    sqz_dataset_free(&ds);
    snprintf(spec, sizeof spec, "%s,%s", im, lbn); /* IDX images, NPY labels */
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.n == 6 && ds.n_classes == 5 && ds.labels.dtype == SQZ_DT_I64);
    sqz_dataset_free(&ds);

    /* rank 4: NHWC when the last dim is small, else NCHW */
    char im4[512];
    tmpdir_path(im4, sizeof im4, "img4.npy");
    int64_t nhwc[4] = {6, 5, 4, 3}, nchw[4] = {6, 3, 5, 7};
    write_tensor(im4, SQZ_DT_F32, 4, nhwc, pix, 1);
    snprintf(spec, sizeof spec, "%s,%s", im4, lb);
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.h == 5 && ds.w == 4 && ds.c == 3 && !ds.channels_first);
    sqz_dataset_free(&ds);
    write_tensor(im4, SQZ_DT_F32, 4, nchw, pix, 1);
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.h == 5 && ds.w == 7 && ds.c == 3 && ds.channels_first);
    sqz_dataset_free(&ds);

    /* mismatched counts, bad labels, bad files, bad specs */
    char lb7[512];
    tmpdir_path(lb7, sizeof lb7, "lab7.idx");
    int64_t l7[1] = {7};
    write_tensor(lb7, SQZ_DT_U8, 1, l7, lab5, 0);
    snprintf(spec, sizeof spec, "%s,%s", im, lb7);
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_DATA && strstr(e.msg, "6 images") && strstr(e.msg, "7 labels"));
    CHECK(ds.images.data == NULL && ds.name == NULL); /* nothing leaks or dangles */
    write_tensor(lbn, SQZ_DT_I32, 1, ldims, neg, 1);
    snprintf(spec, sizeof spec, "%s,%s", im, lbn);
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_DATA && strstr(e.msg, "label -1"));
    write_tensor(lbn, SQZ_DT_F32, 1, ldims, frac, 1);
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_DATA && strstr(e.msg, "integers"));
    snprintf(spec, sizeof spec, "%s,%s", lb, lb); /* rank-1 "images" */
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_DATA && strstr(e.msg, "rank"));
    char junk[512];
    tmpdir_path(junk, sizeof junk, "junk.bin");
    write_bytes(junk, "hello world", 11);
    snprintf(spec, sizeof spec, "%s,%s", junk, lb);
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_DATA && strstr(e.msg, "bad magic"));
    snprintf(spec, sizeof spec, "%s,%s/missing.idx", im, tmpdir_);
    CHECK(sqz_dataset_open(spec, &ds, &e) == SQZ_ERR_NOTFOUND);
    CHECK(sqz_dataset_open("mnist-of-my-dreams", &ds, &e) == SQZ_ERR_ARG);
    CHECK(sqz_dataset_open("", &ds, &e) == SQZ_ERR_ARG);
    CHECK(sqz_dataset_open("a.idx,", &ds, &e) == SQZ_ERR_ARG);
    CHECK(sqz_dataset_open("fashion-mnist:valid", &ds, &e) == SQZ_ERR_ARG && strstr(e.msg, "valid"));

    /* fashion-mnist with SQZ_DATA_DIR: a fake copy in the temporary folder */
    char fi[512], fl[512];
    tmpdir_path(fi, sizeof fi, "train-images-idx3-ubyte.gz");
    tmpdir_path(fl, sizeof fl, "train-labels-idx1-ubyte"); /* uncompressed is found too */
    write_tensor(fi, SQZ_DT_U8, 3, idims, pix, 0);
    write_tensor(fl, SQZ_DT_U8, 1, ldims, lab5, 0);
    const char *old = getenv("SQZ_DATA_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("SQZ_DATA_DIR", tmpdir_, 1);
    CHECK_OK(sqz_dataset_open("fashion-mnist:train", &ds, &e), &e);
    CHECK(ds.n == 6 && ds.name && !strcmp(ds.name, "fashion-mnist:train"));
    sqz_dataset_free(&ds);
    CHECK(sqz_dataset_open("fashion-mnist", &ds, &e) == SQZ_ERR_NOTFOUND); /* no t10k files there */
    setenv("SQZ_DATA_DIR", "/nonexistent-sqz-data", 1);
    CHECK(sqz_dataset_open("fashion-mnist:test", &ds, &e) == SQZ_ERR_NOTFOUND &&
          strstr(e.msg, "fashion-mnist: /nonexistent-sqz-data not found (install Debian's dataset-fashion-mnist)"));
    if (saved) setenv("SQZ_DATA_DIR", saved, 1);
    else unsetenv("SQZ_DATA_DIR");
    free(saved);
}

static void test_batch(void) {
    char im[512], lb[512], spec[1100];
    tmpdir_path(im, sizeof im, "b_img.npy");
    tmpdir_path(lb, sizeof lb, "b_lab.idx");
    int64_t dims[4] = {3, 2, 2, 3}, ldims[1] = {3}; /* NHWC u8 */
    sqz_err e;
    sqz_tensor t;
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_U8, 4, dims, &e), &e);
    uint8_t *px = t.data;
    for (int i = 0; i < 36; i++) px[i] = (uint8_t)(i * 7);
    CHECK_OK(sqz_npy_write(im, &t, &e), &e);
    write_tensor(lb, SQZ_DT_U8, 1, ldims, lab5, 0);
    snprintf(spec, sizeof spec, "%s,%s", im, lb);
    sqz_dataset ds;
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.c == 3 && ds.h == 2 && ds.w == 2);
    sqz_normalize nm;
    sqz_normalize_default(&nm);
    CHECK_NEAR(nm.scale, 1.0 / 255.0, 1e-9);
    CHECK(nm.n_mean == 0 && nm.n_std == 0 && nm.layout == SQZ_LAYOUT_NCHW);
    nm.n_mean = 3;
    nm.mean[0] = 0.1f, nm.mean[1] = 0.2f, nm.mean[2] = 0.3f;
    nm.n_std = 3;
    nm.std[0] = 0.5f, nm.std[1] = 0.25f, nm.std[2] = 2.0f;
    float out[24];
    int64_t labels[2];
    int32_t order[3] = {2, 0, 1};
    /* NCHW output of examples order[1..2] = {0, 1} */
    CHECK_OK(sqz_dataset_batch_f32(&ds, order, 1, 2, &nm, out, labels, &e), &e);
    int bad = 0;
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 4; p++) {
                int j = order[1 + b];
                double want = (px[j * 12 + p * 3 + c] / 255.0 - nm.mean[c]) / nm.std[c];
                if (fabs(out[b * 12 + c * 4 + p] - want) > 1e-5) bad++;
            }
    CHECK(bad == 0);
    CHECK(labels[0] == 0 && labels[1] == 1);
    /* NHWC output, one mean and std for all channels, contiguous examples */
    nm.layout = SQZ_LAYOUT_NHWC;
    nm.n_mean = 1, nm.n_std = 1;
    nm.scale = 1.0f;
    CHECK_OK(sqz_dataset_batch_f32(&ds, NULL, 1, 2, &nm, out, NULL, &e), &e);
    bad = 0;
    for (int i = 0; i < 24; i++)
        if (fabs(out[i] - (px[12 + i] - 0.1) / 0.5) > 1e-4) bad++;
    CHECK(bad == 0);
    /* refused options */
    CHECK(sqz_dataset_batch_f32(&ds, NULL, 2, 2, &nm, out, NULL, &e) == SQZ_ERR_ARG);
    int32_t wild[1] = {7};
    CHECK(sqz_dataset_batch_f32(&ds, wild, 0, 1, &nm, out, NULL, &e) == SQZ_ERR_ARG);
    nm.n_mean = 2;
    CHECK(sqz_dataset_batch_f32(&ds, NULL, 0, 1, &nm, out, NULL, &e) == SQZ_ERR_ARG);
    nm.n_mean = 1;
    nm.std[0] = 0.0f;
    CHECK(sqz_dataset_batch_f32(&ds, NULL, 0, 1, &nm, out, NULL, &e) == SQZ_ERR_ARG);
    sqz_dataset_free(&ds);
    sqz_tensor_release(&t);

    /* NCHW-stored f32 images to NHWC output */
    int64_t cd[4] = {2, 2, 3, 5}; /* (n, c, h, w): last dim 5 > 4 */
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_F32, 4, cd, &e), &e);
    float *fp = t.data;
    for (int i = 0; i < 60; i++) fp[i] = (float)i;
    CHECK_OK(sqz_npy_write(im, &t, &e), &e);
    int64_t l2[1] = {2};
    write_tensor(lb, SQZ_DT_U8, 1, l2, lab5, 0);
    CHECK_OK(sqz_dataset_open(spec, &ds, &e), &e);
    CHECK(ds.channels_first && ds.c == 2 && ds.h == 3 && ds.w == 5);
    sqz_normalize_default(&nm);
    nm.scale = 2.0f;
    nm.layout = SQZ_LAYOUT_NHWC;
    float o2[60];
    CHECK_OK(sqz_dataset_batch_f32(&ds, NULL, 0, 2, &nm, o2, NULL, &e), &e);
    bad = 0;
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < 15; p++)
                if (o2[b * 30 + p * 2 + c] != 2.0f * fp[b * 30 + c * 15 + p]) bad++;
    CHECK(bad == 0);
    sqz_dataset_free(&ds);
    sqz_tensor_release(&t);
}

static void test_real_fashion(void) {
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("skipping real Fashion-MNIST: /usr/share/datasets/fashion-mnist not found (install Debian's "
               "dataset-fashion-mnist)\n");
        return;
    }
    const char *old = getenv("SQZ_DATA_DIR");
    char *saved = old ? strdup(old) : NULL;
    unsetenv("SQZ_DATA_DIR");
    sqz_err e;
    sqz_dataset ds;
    CHECK_OK(sqz_dataset_open("fashion-mnist", &ds, &e), &e);
    CHECK(ds.n == 10000 && ds.h == 28 && ds.w == 28 && ds.c == 1 && ds.n_classes == 10);
    CHECK(ds.name && !strcmp(ds.name, "fashion-mnist:test"));
    sqz_normalize nm;
    sqz_normalize_default(&nm);
    float *out = malloc(sizeof(float) * 4 * 784);
    int64_t labels[4];
    CHECK_OK(sqz_dataset_batch_f32(&ds, NULL, 9996, 4, &nm, out, labels, &e), &e);
    int in_range = 1;
    float mx = 0;
    for (int i = 0; i < 4 * 784; i++) {
        if (out[i] < 0.0f || out[i] > 1.0f) in_range = 0;
        if (out[i] > mx) mx = out[i];
    }
    CHECK(in_range && mx > 0.5f);
    for (int i = 0; i < 4; i++) CHECK(labels[i] >= 0 && labels[i] < 10);
    free(out);
    sqz_dataset_free(&ds);
    if (saved) setenv("SQZ_DATA_DIR", saved, 1);
    free(saved);
}

int main(void) {
    if (!tmpdir_make()) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    test_specs();
    test_batch();
    test_real_fashion();
    tmpdir_remove();
    TEST_MAIN_END();
}
