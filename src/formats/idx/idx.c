/* formats/idx/idx.c - IDX files (MNIST / Fashion-MNIST), raw or gzip-compressed.
 *
 * Layout: two zero bytes, a type code, the rank, rank big-endian u32 dimensions,
 * then the elements, big-endian, row-major. Type codes: 0x08 u8, 0x09 i8,
 * 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. Compression is detected by the gzip
 * magic (1f 8b), never by the name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/file.h"
#include "sqz/io.h"

#define IDX_MAX_PAYLOAD (4ull << 30) /* 4 GiB: far above any IDX data set */
#define GZ_MAX_RATIO 1032ull         /* deflate cannot expand beyond about 1032:1 */

static const struct {
    unsigned char code;
    sqz_dtype dt;
} idx_types[] = {
    {0x08, SQZ_DT_U8}, {0x09, SQZ_DT_I8}, {0x0B, SQZ_DT_I16}, {0x0C, SQZ_DT_I32}, {0x0D, SQZ_DT_F32}, {0x0E, SQZ_DT_F64},
};
#define N_IDX_TYPES ((int)(sizeof idx_types / sizeof idx_types[0]))

/* Reverses the byte order of each element in place (IDX is big-endian; hosts are little). */
static void swap_bytes(void *data, size_t nbytes, size_t esize) {
    if (esize < 2) return;
    unsigned char *p = data;
    for (size_t i = 0; i + esize <= nbytes; i += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

/* A source of bytes: a raw FILE or a gzip stream. */
typedef struct src {
    FILE *f;
    gzFile gz;
} src;

/* Reads up to n bytes; returns bytes read, or -1 on a decompression/read error. */
static int64_t src_read(src *s, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        if (s->gz) {
            size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
            int r = gzread(s->gz, (char *)buf + got, (unsigned)want);
            if (r < 0) return -1;
            if (r == 0) break;
            got += (size_t)r;
        } else {
            size_t r = fread((char *)buf + got, 1, n - got, s->f);
            if (r == 0) {
                if (ferror(s->f)) return -1;
                break;
            }
            got += r;
        }
    }
    return (int64_t)got;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static sqz_status read_err(const char *path, src *s, sqz_err *err) {
    int zerr = 0;
    const char *msg = s->gz ? gzerror(s->gz, &zerr) : NULL;
    if (s->gz && zerr != Z_ERRNO)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: corrupt gzip data: %s", path, msg ? msg : "?");
    return sqz_err_set(err, SQZ_ERR_IO, "%s: read error: %s", path, strerror(errno));
}

static sqz_status idx_read_src(const char *path, src *s, uint64_t fsize, sqz_tensor *out, sqz_err *err) {
    unsigned char head[4];
    int64_t got = src_read(s, head, 4);
    if (got < 0) return read_err(path, s, err);
    if (got < 4 || head[0] || head[1]) return sqz_err_set(err, SQZ_ERR_DATA, "%s: not an IDX file (bad magic)", path);
    sqz_dtype dt = SQZ_DT_UNDEF;
    for (int i = 0; i < N_IDX_TYPES; i++)
        if (idx_types[i].code == head[2]) dt = idx_types[i].dt;
    if (dt == SQZ_DT_UNDEF)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: not an IDX file (bad magic: type code 0x%02x)", path, head[2]);
    int nd = head[3];
    if (nd > SQZ_MAX_DIMS)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: IDX array of rank %d (sqz supports up to %d)", path, nd, SQZ_MAX_DIMS);
    unsigned char db[4 * SQZ_MAX_DIMS];
    got = src_read(s, db, 4 * (size_t)nd);
    if (got < 0) return read_err(path, s, err);
    if (got < 4 * nd) return sqz_err_set(err, SQZ_ERR_DATA, "%s: truncated: IDX header ends inside the dimensions", path);
    int64_t dims[SQZ_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        dims[i] = (int64_t)((uint32_t)db[4 * i] << 24 | (uint32_t)db[4 * i + 1] << 16 | (uint32_t)db[4 * i + 2] << 8 | db[4 * i + 3]);
    int64_t numel;
    size_t nbytes;
    sqz_status st;
    if ((st = sqz_shape_numel(dims, nd, &numel, err)) || (st = sqz_dtype_nbytes(dt, numel, &nbytes, err))) {
        sqz_err_prefix(err, "%s", path);
        return st;
    }
    uint64_t hsize = 4 + 4 * (uint64_t)nd;
    if (!s->gz) {
        uint64_t have = fsize - hsize;
        if (have != nbytes)
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: %s: expected %zu bytes of data, found %llu", path,
                               have < nbytes ? "truncated" : "wrong size", nbytes, (unsigned long long)have);
    } else if (nbytes > IDX_MAX_PAYLOAD || nbytes / GZ_MAX_RATIO > fsize) {
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: header claims %zu bytes of data, implausible for a %llu-byte gzip file",
                           path, nbytes, (unsigned long long)fsize);
    }
    if ((st = sqz_tensor_init_owned(out, base_name(path), dt, nd, dims, err))) {
        sqz_err_prefix(err, "%s", path);
        return st;
    }
    got = src_read(s, out->data, nbytes);
    if (got < 0) {
        sqz_tensor_release(out);
        return read_err(path, s, err);
    }
    if ((uint64_t)got != nbytes) {
        sqz_tensor_release(out);
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: truncated: expected %zu bytes of data, found %lld", path, nbytes,
                           (long long)got);
    }
    if (s->gz) { /* require the end of the stream */
        unsigned char extra[64];
        int64_t more = src_read(s, extra, sizeof extra);
        if (more != 0) {
            sqz_tensor_release(out);
            if (more < 0) return read_err(path, s, err);
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: expected %zu bytes of data, found more", path, nbytes);
        }
        int zerr = Z_OK;
        const char *zmsg = gzerror(s->gz, &zerr);
        if (zerr != Z_OK) { /* e.g. the stream ends before its trailer: "unexpected end of file" */
            sqz_tensor_release(out);
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: truncated or corrupt gzip stream: %s", path, zmsg ? zmsg : "?");
        }
    }
    swap_bytes(out->data, nbytes, sqz_dtype_size(dt));
    return SQZ_OK;
}

sqz_status sqz_idx_read(const char *path, sqz_tensor *out, sqz_err *err) {
    memset(out, 0, sizeof *out);
    out->producer = -1;
    FILE *f;
    uint64_t fsize;
    sqz_status ost = sqz_file_open_read(path, &f, &fsize, err);
    if (ost) return ost;
    unsigned char m[2] = {0};
    size_t nm = fread(m, 1, 2, f);
    src s = {0};
    sqz_status st;
    if (nm == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        fclose(f);
        s.gz = gzopen(path, "rb");
        if (!s.gz) return sqz_err_set(err, SQZ_ERR_IO, "%s: cannot open gzip stream", path);
        gzbuffer(s.gz, 1u << 17);
        st = idx_read_src(path, &s, fsize, out, err);
        gzclose(s.gz);
        return st;
    }
    rewind(f);
    s.f = f;
    st = idx_read_src(path, &s, fsize, out, err);
    fclose(f);
    return st;
}

/* ---- writing ---- */

typedef struct gz_out {
    sqz_afile *af;
    z_stream zs;
    unsigned char buf[1 << 16];
} gz_out;

/* Feeds n bytes to the output: raw when g is NULL, else through deflate. */
static sqz_status put(sqz_afile *af, gz_out *g, const void *p, size_t n, int finish, sqz_err *err) {
    if (!g) return sqz_afile_write(af, p, n, err);
    g->zs.next_in = (Bytef *)(uintptr_t)p;
    g->zs.avail_in = (uInt)n;
    for (;;) {
        g->zs.next_out = g->buf;
        g->zs.avail_out = sizeof g->buf;
        int r = deflate(&g->zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (r == Z_STREAM_ERROR) return sqz_err_set(err, SQZ_ERR_INTERNAL, "%s: deflate failed", af->path);
        sqz_status st = sqz_afile_write(af, g->buf, sizeof g->buf - g->zs.avail_out, err);
        if (st) return st;
        if (finish ? r == Z_STREAM_END : (g->zs.avail_in == 0 && g->zs.avail_out != 0)) break;
    }
    return SQZ_OK;
}

sqz_status sqz_idx_write(const char *path, const sqz_tensor *t, sqz_err *err) {
    unsigned char code = 0;
    for (int i = 0; i < N_IDX_TYPES; i++)
        if (idx_types[i].dt == t->dtype) code = idx_types[i].code;
    if (!code)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: dtype %s cannot be stored in IDX", path, sqz_dtype_name(t->dtype));
    size_t nbytes;
    sqz_status st = sqz_tensor_check_data(t, path, &nbytes, err);
    if (st) return st;
    unsigned char head[4 + 4 * SQZ_MAX_DIMS] = {0, 0, code, (unsigned char)t->ndim};
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] > UINT32_MAX)
            return sqz_err_set(err, SQZ_ERR_ARG, "%s: dimension %lld does not fit IDX", path, (long long)t->dims[i]);
        for (int b = 0; b < 4; b++) head[4 + 4 * i + b] = (unsigned char)(t->dims[i] >> (24 - 8 * b));
    }
    size_t esize = sqz_dtype_size(t->dtype);
    gz_out *g = NULL;
    if (sqz_path_has_suffix(path, ".gz")) {
        g = calloc(1, sizeof *g);
        if (!g) return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
        if (deflateInit2(&g->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(g);
            return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: cannot start gzip compression", path);
        }
    }
    sqz_afile af;
    if ((st = sqz_afile_open(&af, path, err))) goto out;
    st = put(&af, g, head, 4 + 4 * (size_t)t->ndim, 0, err);
    /* data in big-endian chunks */
    unsigned char chunk[1 << 15];
    const unsigned char *d = t->data;
    for (size_t at = 0; at < nbytes && !st; at += sizeof chunk) {
        size_t n = nbytes - at < sizeof chunk ? nbytes - at : sizeof chunk; /* multiple of esize: 2^15 % 8 == 0 */
        memcpy(chunk, d + at, n);
        swap_bytes(chunk, n, esize);
        st = put(&af, g, chunk, n, 0, err);
    }
    if (!st && g) st = put(&af, g, NULL, 0, 1, err);
    if (st) sqz_afile_abort(&af);
    else st = sqz_afile_commit(&af, err);
out:
    if (g) {
        deflateEnd(&g->zs);
        free(g);
    }
    return st;
}
