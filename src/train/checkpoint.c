/* train/checkpoint.c - checkpoint folder: native model + state.bin with CRC-32. */
#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/file.h"
#include "sqz/io.h"

#define CK_MAGIC "SQZCKPT1"
#define CK_VERSION 1u
#define CK_MAX_BYTES ((size_t)1 << 34)

/* ---- a growable little-endian byte buffer ---- */
typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *d, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, c, 4);
}

static void put_u64(wbuf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32s(wbuf *b, const float *f, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &f[i], 4);
        put_u32(b, u);
    }
}

/* ---- a bounds-checked reader ---- */
typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    int bad;
} rbuf;

static const unsigned char *take(rbuf *r, size_t n) {
    if (r->bad || n > r->n - r->at) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *q = r->p + r->at;
    r->at += n;
    return q;
}

static uint32_t get_u32(rbuf *r) {
    const unsigned char *c = take(r, 4);
    return c ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24 : 0;
}

static uint64_t get_u64(rbuf *r) {
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

int sqz_checkpoint_exists(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/state.bin", dir);
    return sqz_file_exists(p);
}

/* Removes model-e*.sqz files in dir other than keep. */
static void remove_old_models(const char *dir, const char *keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "model-e", 7) || n < 11 || strcmp(e->d_name + n - 4, ".sqz") || !strcmp(e->d_name, keep))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    closedir(d);
}

sqz_status sqz_checkpoint_save(const sqz_trainer *t, const char *dir, sqz_err *err) {
    if (strlen(dir) > 3000) return sqz_err_set(err, SQZ_ERR_ARG, "checkpoint: folder name too long");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: cannot create the checkpoint folder: %s", dir, strerror(errno));
    char model[32], path[4096];
    snprintf(model, sizeof model, "model-e%04d.sqz", t->epoch);
    snprintf(path, sizeof path, "%s/%s", dir, model);
    sqz_status st = sqz_native_save(t->g, path, err);
    if (st) return st;

    const sqz_optim *o = t->opt;
    wbuf b = {0};
    put(&b, CK_MAGIC, 8);
    put_u32(&b, CK_VERSION);
    put_u32(&b, (uint32_t)o->cfg.kind);
    put_u64(&b, (uint64_t)t->epoch);
    put_u64(&b, (uint64_t)t->step);
    put_u64(&b, t->cfg.seed);
    put_u64(&b, (uint64_t)t->cfg.batch);
    put_u64(&b, (uint64_t)o->t);
    put_u32(&b, (uint32_t)o->n_slots);
    put_u32(&b, (uint32_t)t->n_params);
    put_u32(&b, (uint32_t)strlen(model));
    put(&b, model, strlen(model));
    for (int i = 0; i < t->n_params; i++) {
        const char *nm = t->params[i]->name;
        put_u32(&b, (uint32_t)strlen(nm));
        put(&b, nm, strlen(nm));
        put_u64(&b, (uint64_t)o->numel[i]);
        for (int s = 0; s < o->n_slots; s++) put_f32s(&b, o->slot[i * o->n_slots + s], o->numel[i]);
    }
    put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.n));
    if (b.oom) {
        free(b.p);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "checkpoint: out of memory");
    }
    snprintf(path, sizeof path, "%s/state.bin", dir);
    sqz_afile af;
    st = sqz_afile_open(&af, path, err);
    if (!st) st = sqz_afile_write(&af, b.p, b.n, err);
    if (!st) st = sqz_afile_commit(&af, err);
    if (st) sqz_afile_abort(&af);
    free(b.p);
    if (!st) remove_old_models(dir, model);
    return st;
}

/* Reads and checks state.bin; *buf is malloc'd, r set up past the header fields. */
static sqz_status read_state(const char *dir, void **buf, rbuf *r, sqz_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    size_t len = 0;
    sqz_status st = sqz_file_read_all(path, CK_MAX_BYTES, buf, &len, err);
    if (st) return st;
    if (len < 8 + 4 + 4 || memcmp(*buf, CK_MAGIC, 8) != 0)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: not an sqz checkpoint state file", path);
    uint32_t want = 0;
    const unsigned char *q = (const unsigned char *)*buf + len - 4;
    want = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    if ((uint32_t)crc32(0L, *buf, (uInt)(len - 4)) != want)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: checksum mismatch (file damaged)", path);
    *r = (rbuf){*buf, len - 4, 8, 0};
    if (get_u32(r) != CK_VERSION) return sqz_err_set(err, SQZ_ERR_DATA, "%s: unsupported checkpoint version", path);
    return SQZ_OK;
}

typedef struct ck_head {
    uint32_t kind, n_slots, n_params;
    uint64_t epoch, step, seed, batch, opt_t;
    char model[64];
} ck_head;

static sqz_status read_head(const char *dir, void **buf, rbuf *r, ck_head *h, sqz_err *err) {
    sqz_status st = read_state(dir, buf, r, err);
    if (st) return st;
    h->kind = get_u32(r);
    h->epoch = get_u64(r);
    h->step = get_u64(r);
    h->seed = get_u64(r);
    h->batch = get_u64(r);
    h->opt_t = get_u64(r);
    h->n_slots = get_u32(r);
    h->n_params = get_u32(r);
    uint32_t mn = get_u32(r);
    const unsigned char *m = mn < sizeof h->model ? take(r, mn) : NULL;
    if (r->bad || !m)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s/state.bin: truncated or malformed header at byte %zu", dir, r->at);
    memcpy(h->model, m, mn);
    h->model[mn] = '\0';
    if (strncmp(h->model, "model-e", 7) || strchr(h->model, '/'))
        return sqz_err_set(err, SQZ_ERR_DATA, "%s/state.bin: bad model file name", dir);
    return SQZ_OK;
}

sqz_status sqz_checkpoint_load_graph(const char *dir, sqz_graph **g, sqz_err *err) {
    *g = NULL;
    void *buf = NULL;
    rbuf r;
    ck_head h;
    sqz_status st = read_head(dir, &buf, &r, &h, err);
    free(buf);
    if (st) return st;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, h.model);
    return sqz_native_load(path, g, err);
}

sqz_status sqz_checkpoint_restore(sqz_trainer *t, const char *dir, sqz_err *err) {
    void *buf = NULL;
    rbuf r;
    ck_head h;
    sqz_status st = read_head(dir, &buf, &r, &h, err);
    if (st) goto done;
    sqz_optim *o = t->opt;
    if (h.seed != t->cfg.seed || h.batch != (uint64_t)t->cfg.batch || h.kind != (uint32_t)o->cfg.kind ||
        h.n_slots != (uint32_t)o->n_slots || h.n_params != (uint32_t)t->n_params) {
        st = sqz_err_set(err, SQZ_ERR_ARG,
                         "%s: checkpoint was made with seed %llu, batch %llu, optimizer %s and %u parameters; this run "
                         "has seed %llu, batch %lld, %s, %d (resume with the same settings)",
                         dir, (unsigned long long)h.seed, (unsigned long long)h.batch,
                         sqz_optim_kind_name((sqz_optim_kind)h.kind), h.n_params, (unsigned long long)t->cfg.seed,
                         (long long)t->cfg.batch, sqz_optim_kind_name(o->cfg.kind), t->n_params);
        goto done;
    }
    if (h.epoch > (uint64_t)t->cfg.epochs || h.step > ((uint64_t)1 << 62)) {
        st = sqz_err_set(err, SQZ_ERR_ARG, "%s: checkpoint is at epoch %llu, past the %d epochs asked for", dir,
                         (unsigned long long)h.epoch, t->cfg.epochs);
        goto done;
    }
    for (int i = 0; i < t->n_params; i++) {
        uint32_t nl = get_u32(&r);
        const unsigned char *nm = take(&r, nl);
        uint64_t numel = get_u64(&r);
        if (r.bad) break;
        if (nl != strlen(t->params[i]->name) || memcmp(nm, t->params[i]->name, nl) || numel != (uint64_t)o->numel[i]) {
            st = sqz_err_set(err, SQZ_ERR_DATA, "%s/state.bin: parameter %d is not '%s' of %lld elements", dir, i,
                             t->params[i]->name, (long long)o->numel[i]);
            goto done;
        }
        if (o->n_slots && numel > (r.n - r.at) / 4 / o->n_slots) {
            r.bad = 1;
            break;
        }
        for (int s = 0; s < o->n_slots; s++) {
            float *dst = o->slot[i * o->n_slots + s];
            for (uint64_t k = 0; k < numel; k++) {
                uint32_t u = get_u32(&r);
                memcpy(&dst[k], &u, 4);
            }
        }
    }
    if (r.bad || r.at != r.n) {
        st = sqz_err_set(err, SQZ_ERR_DATA, "%s/state.bin: truncated or malformed at byte %zu", dir, r.at);
        goto done;
    }
    o->t = (int64_t)h.opt_t;
    t->step = (int64_t)h.step;
    t->epoch = (int)h.epoch;
done:
    free(buf);
    return st;
}
