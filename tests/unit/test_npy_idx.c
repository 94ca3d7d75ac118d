/* Unit tests for NPY and IDX files: round trips of every dtype, numpy's exact header
 * bytes, header variants (v2.0, v3.0, spacing, tuple forms), rejected inputs
 * (truncated, bad magic, big-endian, Fortran order), gzip IDX, and the real
 * Fashion-MNIST test set when Debian's dataset-fashion-mnist is installed. */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "sqz/sqz.h"
#include "test.h"
#include "tmpdir.h"

static void fill(sqz_tensor *t) {
    for (int64_t i = 0; i < sqz_tensor_numel(t); i++) {
        double v = (double)((i * 7919) % 97) - 40.0 + (i % 3) * 0.25;
        if (t->dtype == SQZ_DT_U8 || t->dtype == SQZ_DT_U16 || t->dtype == SQZ_DT_U32 || t->dtype == SQZ_DT_U64)
            v = (double)((i * 7919) % 251);
        if (t->dtype == SQZ_DT_BOOL) v = (double)(i % 3 == 0);
        sqz_tensor_set_f64(t, i, v);
    }
}

static int same_tensor(const sqz_tensor *a, const sqz_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return !a->nbytes || !memcmp(a->data, b->data, a->nbytes);
}

/* magic + version + header length + dict padded with spaces to a multiple of 64, + data */
static int write_npy_raw(const char *path, int major, const char *dict, const void *data, size_t n, int pad) {
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = dl + 1;
    if (pad) hl = (pre + dl + 1 + 63) / 64 * 64 - pre;
    size_t total = pre + hl + n;
    unsigned char *b = malloc(total);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', hl - dl - 1);
    b[pre + hl - 1] = '\n';
    if (n) memcpy(b + pre + hl, data, n);
    int r = write_bytes(path, b, total);
    free(b);
    return r;
}

static void test_npy_round_trip(void) {
    static const sqz_dtype dts[] = {SQZ_DT_F32, SQZ_DT_F64, SQZ_DT_F16, SQZ_DT_U8,  SQZ_DT_I8,  SQZ_DT_I16,
                                    SQZ_DT_U16, SQZ_DT_I32, SQZ_DT_U32, SQZ_DT_I64, SQZ_DT_U64, SQZ_DT_BOOL};
    static const int64_t shapes[4][3] = {{0}, {5}, {2, 3, 4}, {0, 3}};
    static const int ranks[4] = {0, 1, 3, 2};
    char path[512];
    tmpdir_path(path, sizeof path, "a.npy");
    sqz_err e;
    int ok = 0, total = 0;
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
        for (int s = 0; s < 4; s++) {
            sqz_tensor t, u;
            total++;
            if (sqz_tensor_init_owned(&t, "t", dts[d], ranks[s], shapes[s], &e)) continue;
            fill(&t);
            if (sqz_npy_write(path, &t, &e) == SQZ_OK && sqz_npy_read(path, &u, &e) == SQZ_OK) {
                if (same_tensor(&t, &u)) ok++;
                else fprintf(stderr, "npy %s rank %d differs\n", sqz_dtype_name(dts[d]), ranks[s]);
                sqz_tensor_release(&u);
            } else {
                fprintf(stderr, "npy %s rank %d: %s\n", sqz_dtype_name(dts[d]), ranks[s], e.msg);
            }
            sqz_tensor_release(&t);
        }
    CHECK_MSG(ok == total, "%d of %d npy round trips", ok, total);
    /* the header is byte for byte what numpy writes */
    int64_t dims[2] = {2, 3};
    sqz_tensor t;
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_F32, 2, dims, &e), &e);
    CHECK_OK(sqz_npy_write(path, &t, &e), &e);
    FILE *f = fopen(path, "rb");
    unsigned char head[128];
    CHECK(f && fread(head, 1, 128, f) == 128);
    if (f) fclose(f);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(!memcmp(head, "\x93NUMPY\x01\x00\x76\x00", 10));
    CHECK(!memcmp(head + 10, dict, strlen(dict)) && head[127] == '\n' && head[126] == ' ');
    sqz_tensor_release(&t);
    int64_t one[1] = {3};
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_U8, 1, one, &e), &e);
    CHECK_OK(sqz_npy_write(path, &t, &e), &e);
    f = fopen(path, "rb");
    CHECK(f && fread(head, 1, 128, f) == 128);
    if (f) fclose(f);
    const char *d1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    CHECK(!memcmp(head + 10, d1, strlen(d1)) && head[127] == '\n');
    /* unsupported dtypes and unwritable places */
    t.dtype = SQZ_DT_I4;
    CHECK(sqz_npy_write(path, &t, &e) == SQZ_ERR_UNSUPPORTED);
    t.dtype = SQZ_DT_U8;
    CHECK(sqz_npy_write("/nonexistent-dir/a.npy", &t, &e) == SQZ_ERR_WRITE);
    sqz_tensor_release(&t);
    unlink(path);
}

static void expect_npy(const char *path, int major, const char *dict, const void *data, size_t n, sqz_status want,
                       const char *needle) {
    sqz_err e;
    sqz_err_clear(&e);
    sqz_tensor t;
    write_npy_raw(path, major, dict, data, n, 1);
    sqz_status st = sqz_npy_read(path, &t, &e);
    CHECK_MSG(st == want && (!needle || strstr(e.msg, needle)), "%s: want %s '%s', got %s: %s", dict,
              sqz_status_str(want), needle ? needle : "", sqz_status_str(st), e.msg);
    if (!st) sqz_tensor_release(&t);
}

static void test_npy_headers(void) {
    char path[512];
    tmpdir_path(path, sizeof path, "h.npy");
    int32_t v[6] = {1, -2, 3, -4, 5, -6};
    sqz_err e;
    sqz_tensor t;
    /* versions 2.0 and 3.0, spacing, quotes, no trailing comma, key order */
    write_npy_raw(path, 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", v, 24, 1);
    CHECK_OK(sqz_npy_read(path, &t, &e), &e);
    CHECK(t.dtype == SQZ_DT_I32 && t.ndim == 2 && t.dims[0] == 2 && t.dims[1] == 3 && ((int32_t *)t.data)[5] == -6);
    sqz_tensor_release(&t);
    write_npy_raw(path, 3, "{\"shape\":(6,),\"descr\":\"<i4\",\"fortran_order\":False}", v, 24, 1);
    CHECK_OK(sqz_npy_read(path, &t, &e), &e);
    CHECK(t.ndim == 1 && t.dims[0] == 6 && ((int32_t *)t.data)[1] == -2);
    sqz_tensor_release(&t);
    write_npy_raw(path, 1, "{ 'descr' : '<i4' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }", v, 24, 0);
    CHECK_OK(sqz_npy_read(path, &t, &e), &e);
    CHECK(t.ndim == 2 && t.dims[1] == 3);
    sqz_tensor_release(&t);
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", v, 4, SQZ_OK, NULL);
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 2L), }", v, 24, SQZ_OK, NULL);
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (6,), }", v, 24, SQZ_OK, NULL);
    expect_npy(path, 1, "{'descr': '=i4', 'fortran_order': False, 'shape': (6,), }", v, 24, SQZ_OK, NULL);
    expect_npy(path, 1, "{'descr': '>u1', 'fortran_order': False, 'shape': (6,), }", v, 6, SQZ_OK, NULL);
    expect_npy(path, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\1\0", 2, SQZ_OK, NULL);
    /* refused */
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", v, 24, SQZ_ERR_UNSUPPORTED, "Fortran");
    expect_npy(path, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (6,), }", v, 24, SQZ_ERR_UNSUPPORTED, "big-endian");
    expect_npy(path, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", v, 24, SQZ_ERR_UNSUPPORTED, "'<c8'");
    expect_npy(path, 1, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (6,), }", v, 24, SQZ_ERR_UNSUPPORTED,
               "structured");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", v, 20, SQZ_ERR_DATA,
               "truncated: header says 24 bytes of data, file has 20");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", v, 24, SQZ_ERR_DATA, "16 bytes");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", v, 24,
               SQZ_ERR_DATA, "overflow");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", v, 4,
               SQZ_ERR_UNSUPPORTED, "dimensions");
    expect_npy(path, 1, "{'descr': '<i4', 'shape': (6,), }", v, 24, SQZ_ERR_DATA, "missing");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': Maybe, 'shape': (6,), }", v, 24, SQZ_ERR_DATA, "fortran_order");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (-6,), }", v, 24, SQZ_ERR_DATA, "shape");
    expect_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,) ", v, 24, SQZ_ERR_DATA, "bad .npy header");
    expect_npy(path, 1, "{'descr': '<i4, 'fortran_order': False, 'shape': (6,), }", v, 24, SQZ_ERR_DATA, "bad .npy header");
    expect_npy(path, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\1\2", 2, SQZ_ERR_DATA, "bool");
    expect_npy(path, 4, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", v, 24, SQZ_ERR_UNSUPPORTED, "version 4");
    write_bytes(path, "PK\3\4not npy", 11);
    CHECK(sqz_npy_read(path, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "bad magic"));
    write_bytes(path, "\x93NUMPY\x01\x00\xff\x00{'descr'", 17);
    CHECK(sqz_npy_read(path, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated"));
    write_bytes(path, "\x93NUMPY\x02\x00", 8);
    CHECK(sqz_npy_read(path, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated"));
    CHECK(sqz_npy_read("/nonexistent/x.npy", &t, &e) == SQZ_ERR_NOTFOUND);
    /* truncation at every length of a good file never crashes and is always refused */
    int64_t dims[2] = {3, 5};
    sqz_tensor g;
    CHECK_OK(sqz_tensor_init_owned(&g, "g", SQZ_DT_F64, 2, dims, &e), &e);
    fill(&g);
    CHECK_OK(sqz_npy_write(path, &g, &e), &e);
    FILE *f = fopen(path, "rb");
    unsigned char buf[512];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    int accepted = 0;
    for (size_t k = 0; k < n; k++) {
        write_bytes(path, buf, k);
        if (sqz_npy_read(path, &t, &e) == SQZ_OK) {
            accepted++;
            sqz_tensor_release(&t);
        }
    }
    CHECK(n == 128 + 120 && accepted == 0);
    sqz_tensor_release(&g);
    unlink(path);
}

static void test_idx(void) {
    static const sqz_dtype dts[] = {SQZ_DT_U8, SQZ_DT_I8, SQZ_DT_I16, SQZ_DT_I32, SQZ_DT_F32, SQZ_DT_F64};
    char raw[512], gz[512];
    tmpdir_path(raw, sizeof raw, "a.idx");
    tmpdir_path(gz, sizeof gz, "a.idx.gz");
    sqz_err e;
    int ok = 0, total = 0;
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
        for (int z = 0; z < 2; z++) {
            int64_t dims[3] = {3, 7, 5};
            sqz_tensor t, u;
            total++;
            CHECK_OK(sqz_tensor_init_owned(&t, "t", dts[d], 3, dims, &e), &e);
            fill(&t);
            const char *p = z ? gz : raw;
            if (sqz_idx_write(p, &t, &e) == SQZ_OK && sqz_idx_read(p, &u, &e) == SQZ_OK) {
                if (same_tensor(&t, &u)) ok++;
                sqz_tensor_release(&u);
            } else {
                fprintf(stderr, "idx %s %s: %s\n", sqz_dtype_name(dts[d]), z ? "gz" : "raw", e.msg);
            }
            sqz_tensor_release(&t);
        }
    CHECK_MSG(ok == total, "%d of %d idx round trips", ok, total);
    /* the .gz file really is gzip, and the raw one is big-endian */
    FILE *f = fopen(gz, "rb");
    unsigned char m[2] = {0};
    CHECK(f && fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b);
    if (f) fclose(f);
    sqz_tensor t;
    write_bytes(raw, "\0\0\x0b\x01\0\0\0\x02\x01\x02\xff\xfe", 12);
    CHECK_OK(sqz_idx_read(raw, &t, &e), &e);
    CHECK(t.dtype == SQZ_DT_I16 && t.ndim == 1 && t.dims[0] == 2 && ((int16_t *)t.data)[0] == 258 &&
          ((int16_t *)t.data)[1] == -2);
    sqz_tensor_release(&t);
    /* errors */
    write_bytes(raw, "\1\0\x08\x01\0\0\0\x01\x05", 9);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "not an IDX file (bad magic)") && strstr(e.msg, raw));
    write_bytes(raw, "\0\0\x0a\x01\0\0\0\x01\x05", 9);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "bad magic"));
    write_bytes(raw, "\0\0\x08\x09", 4);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_UNSUPPORTED);
    write_bytes(raw, "\0\0\x08\x02\0\0\0\x02\0\0", 10);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated"));
    write_bytes(raw, "\0\0\x0c\x01\0\0\0\x02\0\0\0\1\0\0", 14);
    CHECK_MSG(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated: expected 8 bytes of data, found 6"),
              "%s", e.msg);
    write_bytes(raw, "\0\0\x08\x01\0\0\0\x02\1\2\3", 11);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "expected 2 bytes"));
    write_bytes(raw, "\0\0", 2);
    CHECK(sqz_idx_read(raw, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "bad magic"));
    CHECK(sqz_idx_read("/nonexistent/x.idx", &t, &e) == SQZ_ERR_NOTFOUND);
    /* gzip: truncated, extra data, corrupt, and an implausible size claim */
    gzFile z = gzopen(gz, "wb");
    gzwrite(z, "\0\0\x08\x01\0\0\0\x03\1\2\3\4", 12);
    gzclose(z);
    CHECK(sqz_idx_read(gz, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "found more"));
    z = gzopen(gz, "wb");
    gzwrite(z, "\0\0\x08\x01\0\0\0\x05\1\2\3", 11);
    gzclose(z);
    CHECK_MSG(sqz_idx_read(gz, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated: expected 5 bytes of data, found 3"),
              "%s", e.msg);
    z = gzopen(gz, "wb");
    gzwrite(z, "\0\0\x08\x02\0\x01\0\0\0\0\x80\0", 12); /* claims 2 GiB */
    gzclose(z);
    CHECK(sqz_idx_read(gz, &t, &e) == SQZ_ERR_DATA && strstr(e.msg, "implausible"));
    int64_t dims[2] = {50, 40};
    sqz_tensor big;
    CHECK_OK(sqz_tensor_init_owned(&big, "b", SQZ_DT_F32, 2, dims, &e), &e);
    fill(&big);
    CHECK_OK(sqz_idx_write(gz, &big, &e), &e);
    sqz_tensor_release(&big);
    f = fopen(gz, "rb");
    unsigned char buf[16384];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    int accepted = 0;
    for (size_t k = 0; k < n; k += (k < 64 ? 1 : 37)) { /* cut short anywhere */
        write_bytes(gz, buf, k);
        if (sqz_idx_read(gz, &t, &e) == SQZ_OK) {
            accepted++;
            sqz_tensor_release(&t);
        }
    }
    CHECK(n > 64 && accepted == 0);
    buf[n / 2] ^= 0x5a; /* corrupt the middle */
    write_bytes(gz, buf, n);
    CHECK(sqz_idx_read(gz, &t, &e) == SQZ_ERR_DATA);
    int64_t d1[1] = {2};
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_U16, 1, d1, &e), &e);
    CHECK(sqz_idx_write(raw, &t, &e) == SQZ_ERR_UNSUPPORTED);
    sqz_tensor_release(&t);
    unlink(raw);
    unlink(gz);
}

/* Random changes to the headers of good NPY and IDX files: refused or read, never a crash. */
static void test_mutations(void) {
    char path[512];
    tmpdir_path(path, sizeof path, "m.bin");
    sqz_err e;
    int64_t dims[2] = {4, 6};
    sqz_tensor t, u;
    CHECK_OK(sqz_tensor_init_owned(&t, "t", SQZ_DT_I16, 2, dims, &e), &e);
    fill(&t);
    unsigned char good[2][256], buf[256];
    size_t n[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(k ? sqz_idx_write(path, &t, &e) : sqz_npy_write(path, &t, &e), &e);
        FILE *f = fopen(path, "rb");
        n[k] = f ? fread(good[k], 1, sizeof good[k], f) : 0;
        if (f) fclose(f);
    }
    uint64_t x = 88172645463325252ull;
    int accepted = 0;
    for (int it = 0; it < 3000; it++) {
        int k = it & 1;
        size_t hdr = k ? 12 : 128;
        memcpy(buf, good[k], n[k]);
        for (int j = 0; j < 1 + (it / 2) % 3; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % hdr] = (unsigned char)(x >> 32);
        }
        write_bytes(path, buf, n[k]);
        if ((k ? sqz_idx_read(path, &u, &e) : sqz_npy_read(path, &u, &e)) == SQZ_OK) {
            accepted++;
            CHECK(u.nbytes == (size_t)sqz_tensor_numel(&u) * sqz_dtype_size(u.dtype));
            sqz_tensor_release(&u);
        }
    }
    printf("mutations: %d of 3000 changed headers still readable\n", accepted);
    sqz_tensor_release(&t);
    unlink(path);
}

static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char p[512];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
    if (access(p, R_OK) != 0) {
        printf("skipping Fashion-MNIST: %s not found (install Debian's dataset-fashion-mnist)\n", dir);
        return;
    }
    sqz_err e;
    sqz_tensor im, lb;
    CHECK_OK(sqz_idx_read(p, &im, &e), &e);
    CHECK(im.dtype == SQZ_DT_U8 && im.ndim == 3 && im.dims[0] == 10000 && im.dims[1] == 28 && im.dims[2] == 28);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
    CHECK_OK(sqz_idx_read(p, &lb, &e), &e);
    CHECK(lb.dtype == SQZ_DT_U8 && lb.ndim == 1 && lb.dims[0] == 10000);
    int count[10] = {0}, bad = 0;
    for (int64_t i = 0; i < lb.dims[0] && lb.data; i++) {
        int v = ((uint8_t *)lb.data)[i];
        if (v > 9) bad++;
        else count[v]++;
    }
    CHECK(bad == 0);
    for (int c = 0; c < 10; c++) CHECK(count[c] == 1000);
    sqz_tensor_release(&im);
    sqz_tensor_release(&lb);
}

int main(void) {
    if (!tmpdir_make()) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    test_npy_round_trip();
    test_npy_headers();
    test_idx();
    test_mutations();
    test_fashion_mnist();
    tmpdir_remove();
    TEST_MAIN_END();
}
