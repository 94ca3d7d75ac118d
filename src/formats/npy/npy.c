/* formats/npy/npy.c - NumPy .npy files (format versions 1.0, 2.0, 3.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0
 * and 3.0), a Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), } padded with spaces and a newline, then the raw array.
 * We read little-endian (or byte-order-free) numeric arrays in C order and write
 * version 1.0 (2.0 when the header would not fit), 64-byte aligned as numpy does. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "sqz/io.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses headers over 10 KB by default */

static const struct {
    char code[3];
    sqz_dtype dt;
} npy_types[] = {
    {"f4", SQZ_DT_F32}, {"f8", SQZ_DT_F64}, {"f2", SQZ_DT_F16}, {"u1", SQZ_DT_U8},  {"i1", SQZ_DT_I8},
    {"i2", SQZ_DT_I16}, {"u2", SQZ_DT_U16}, {"i4", SQZ_DT_I32}, {"u4", SQZ_DT_U32}, {"i8", SQZ_DT_I64},
    {"u8", SQZ_DT_U64}, {"b1", SQZ_DT_BOOL},
};
#define N_NPY_TYPES ((int)(sizeof npy_types / sizeof npy_types[0]))

/* ---- header dict parser ---- */

typedef struct hdr_parser {
    const char *s, *end;
    const char *path;
    sqz_err *err;
} hdr_parser;

static void skip_ws(hdr_parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int accept(hdr_parser *p, char c) {
    skip_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

static sqz_status bad(hdr_parser *p, const char *what) {
    return sqz_err_set(p->err, SQZ_ERR_DATA, "%s: bad .npy header: %s", p->path, what);
}

/* A quoted string into buf (no escapes in the values numpy writes). */
static sqz_status parse_str(hdr_parser *p, char *buf, size_t n) {
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"')) return bad(p, "expected a quoted string");
    char q = *p->s++;
    size_t k = 0;
    while (p->s < p->end && *p->s != q) {
        if (*p->s == '\\') return bad(p, "escape sequences are not supported");
        if (k + 1 < n) buf[k++] = *p->s;
        else return bad(p, "string too long");
        p->s++;
    }
    if (p->s >= p->end) return bad(p, "unterminated string");
    p->s++;
    buf[k] = '\0';
    return SQZ_OK;
}

static int parse_word(hdr_parser *p, const char *w) {
    skip_ws(p);
    size_t n = strlen(w);
    if ((size_t)(p->end - p->s) >= n && !memcmp(p->s, w, n) &&
        ((size_t)(p->end - p->s) == n || !(isalnum((unsigned char)p->s[n]) || p->s[n] == '_'))) {
        p->s += n;
        return 1;
    }
    return 0;
}

static sqz_status parse_int(hdr_parser *p, int64_t *v) {
    skip_ws(p);
    if (p->s >= p->end || !isdigit((unsigned char)*p->s)) return bad(p, "expected a non-negative integer in 'shape'");
    int64_t x = 0;
    while (p->s < p->end && isdigit((unsigned char)*p->s)) {
        int d = *p->s++ - '0';
        if (x > (INT64_MAX - d) / 10) return bad(p, "dimension too large");
        x = x * 10 + d;
    }
    if (p->s < p->end && (*p->s == 'L' || *p->s == 'l')) p->s++; /* Python 2 long */
    *v = x;
    return SQZ_OK;
}

/* "(3, 4)", "(3,)", "()" */
static sqz_status parse_shape(hdr_parser *p, int *ndim, int64_t *dims) {
    if (!accept(p, '(')) return bad(p, "'shape' is not a tuple");
    int n = 0;
    for (;;) {
        if (accept(p, ')')) break;
        int64_t v;
        sqz_status st = parse_int(p, &v);
        if (st) return st;
        if (n >= SQZ_MAX_DIMS)
            return sqz_err_set(p->err, SQZ_ERR_UNSUPPORTED, "%s: array has more than %d dimensions", p->path, SQZ_MAX_DIMS);
        dims[n++] = v;
        if (accept(p, ')')) break;
        if (!accept(p, ',')) return bad(p, "expected ',' or ')' in 'shape'");
    }
    *ndim = n;
    return SQZ_OK;
}

/* Skips a value of a key we do not use: string, True/False/None, integer or flat tuple. */
static sqz_status skip_value(hdr_parser *p) {
    char buf[256];
    skip_ws(p);
    if (p->s < p->end && (*p->s == '\'' || *p->s == '"')) return parse_str(p, buf, sizeof buf);
    if (parse_word(p, "True") || parse_word(p, "False") || parse_word(p, "None")) return SQZ_OK;
    if (p->s < p->end && *p->s == '(') {
        int nd;
        int64_t d[SQZ_MAX_DIMS];
        return parse_shape(p, &nd, d);
    }
    int64_t v;
    return parse_int(p, &v);
}

typedef struct npy_header {
    char descr[64];
    int fortran;
    int ndim;
    int64_t dims[SQZ_MAX_DIMS];
} npy_header;

static sqz_status parse_header(const char *path, const char *s, size_t n, npy_header *h, sqz_err *err) {
    hdr_parser p = {s, s + n, path, err};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    sqz_status st;
    if (!accept(&p, '{')) return bad(&p, "not a dict");
    while (!accept(&p, '}')) {
        char key[64];
        skip_ws(&p);
        if (p.s < p.end && *p.s == '[') return bad(&p, "structured dtypes are not supported");
        if ((st = parse_str(&p, key, sizeof key))) return st;
        if (!accept(&p, ':')) return bad(&p, "expected ':'");
        if (!strcmp(key, "descr")) {
            skip_ws(&p);
            if (p.s < p.end && *p.s == '[')
                return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: structured .npy arrays are not supported", path);
            if ((st = parse_str(&p, h->descr, sizeof h->descr))) return st;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (parse_word(&p, "True")) h->fortran = 1;
            else if (parse_word(&p, "False")) h->fortran = 0;
            else return bad(&p, "'fortran_order' is not True or False");
            have_fortran = 1;
        } else if (!strcmp(key, "shape")) {
            if ((st = parse_shape(&p, &h->ndim, h->dims))) return st;
            have_shape = 1;
        } else if ((st = skip_value(&p))) {
            return st;
        }
        if (!accept(&p, ',')) {
            if (!accept(&p, '}')) return bad(&p, "expected ',' or '}'");
            break;
        }
    }
    skip_ws(&p);
    if (p.s != p.end) return bad(&p, "text after the dict");
    if (!have_descr || !have_fortran || !have_shape) return bad(&p, "missing 'descr', 'fortran_order' or 'shape'");
    return SQZ_OK;
}

static sqz_status descr_dtype(const char *path, const char *d, sqz_dtype *dt, sqz_err *err) {
    size_t n = strlen(d);
    char order = '|';
    const char *code = d;
    if (n == 3 && strchr("<>|=", d[0])) order = d[0], code = d + 1;
    else if (n == 1 && d[0] == '?') code = "b1";
    else if (n != 2) return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: unsupported dtype '%s'", path, d);
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (!strcmp(npy_types[i].code, code)) {
            if (order == '>' && sqz_dtype_size(npy_types[i].dt) > 1)
                return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: big-endian data ('%s') is not supported; save it little-endian",
                                   path, d);
            *dt = npy_types[i].dt;
            return SQZ_OK;
        }
    return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: unsupported dtype '%s'", path, d);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

sqz_status sqz_npy_read(const char *path, sqz_tensor *out, sqz_err *err) {
    memset(out, 0, sizeof *out);
    out->producer = -1;
    FILE *f;
    uint64_t fsize;
    sqz_status ost = sqz_file_open_read(path, &f, &fsize, err);
    if (ost) return ost;
    sqz_status st = SQZ_OK;
    char *hbuf = NULL;
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 8 || memcmp(pre, NPY_MAGIC, 6)) {
        st = sqz_err_set(err, SQZ_ERR_DATA, "%s: not an NPY file (bad magic)", path);
        goto done;
    }
    unsigned major = pre[6], minor = pre[7];
    uint64_t hlen, pre_len;
    if (major == 1) {
        if (got < 10) goto trunc_header;
        hlen = pre[8] | (unsigned)pre[9] << 8;
        pre_len = 10;
    } else if (major == 2 || major == 3) {
        if (got < 10 || fread(pre + 10, 1, 2, f) != 2) goto trunc_header;
        hlen = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        pre_len = 12;
    } else {
        st = sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: NPY format version %u.%u is not supported", path, major, minor);
        goto done;
    }
    if (hlen > NPY_MAX_HEADER) {
        st = sqz_err_set(err, SQZ_ERR_DATA, "%s: NPY header of %llu bytes is implausibly large", path, (unsigned long long)hlen);
        goto done;
    }
    if (hlen > fsize - pre_len) goto trunc_header;
    hbuf = malloc(hlen + 1);
    if (!hbuf) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(hbuf, 1, hlen, f) != hlen) goto trunc_header;
    hbuf[hlen] = '\0';
    npy_header h = {0};
    if ((st = parse_header(path, hbuf, hlen, &h, err))) goto done;
    sqz_dtype dt = SQZ_DT_UNDEF;
    if ((st = descr_dtype(path, h.descr, &dt, err))) goto done;
    if (h.fortran && h.ndim > 1) {
        st = sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported; save with C order", path);
        goto done;
    }
    int64_t numel;
    size_t nbytes;
    if ((st = sqz_shape_numel(h.dims, h.ndim, &numel, err)) || (st = sqz_dtype_nbytes(dt, numel, &nbytes, err))) {
        sqz_err_prefix(err, "%s", path);
        goto done;
    }
    uint64_t have = fsize - pre_len - hlen;
    if (have != nbytes) {
        st = sqz_err_set(err, SQZ_ERR_DATA, "%s: %s: header says %zu bytes of data, file has %llu", path,
                         have < nbytes ? "truncated" : "wrong size", nbytes, (unsigned long long)have);
        goto done;
    }
    if ((st = sqz_tensor_init_owned(out, base_name(path), dt, h.ndim, h.dims, err))) {
        sqz_err_prefix(err, "%s", path);
        goto done;
    }
    if (nbytes && fread(out->data, 1, nbytes, f) != nbytes) {
        sqz_tensor_release(out);
        st = sqz_err_set(err, SQZ_ERR_IO, "%s: read error", path);
        goto done;
    }
    if (dt == SQZ_DT_BOOL) {
        const uint8_t *b = out->data;
        for (size_t i = 0; i < nbytes; i++)
            if (b[i] > 1) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "%s: bool element %zu has value %u", path, i, b[i]);
                sqz_tensor_release(out);
                goto done;
            }
    }
    goto done;
trunc_header:
    st = sqz_err_set(err, SQZ_ERR_DATA, "%s: truncated NPY header", path);
done:
    free(hbuf);
    fclose(f);
    return st;
}

sqz_status sqz_npy_write(const char *path, const sqz_tensor *t, sqz_err *err) {
    const char *code = NULL;
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dt == t->dtype) code = npy_types[i].code;
    if (!code)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: dtype %s cannot be stored in .npy", path, sqz_dtype_name(t->dtype));
    size_t nbytes;
    sqz_status st = sqz_tensor_check_data(t, path, &nbytes, err);
    if (st) return st;
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     sqz_dtype_size(t->dtype) == 1 ? '|' : '<', code);
    for (int i = 0; i < t->ndim; i++) k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld, ", (long long)t->dims[i]);
    if (t->ndim == 1) k -= 1;                /* "(3,)" */
    else if (t->ndim > 1) k -= 2;            /* "(3, 4)" */
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    /* pad with spaces and a newline so magic + length + header is a multiple of 64 */
    size_t pre = 10, hlen = (size_t)k + 1;
    if ((pre + hlen + 63) / 64 * 64 - pre > 65535) pre = 12;
    size_t total = (pre + hlen + 63) / 64 * 64;
    hlen = total - pre;
    unsigned char head[1024];
    if (total > sizeof head) return sqz_err_set(err, SQZ_ERR_INTERNAL, "%s: NPY header too long", path);
    memcpy(head, NPY_MAGIC, 6);
    head[6] = pre == 10 ? 1 : 2;
    head[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) head[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(head + pre, dict, (size_t)k);
    memset(head + pre + k, ' ', hlen - (size_t)k - 1);
    head[total - 1] = '\n';
    sqz_afile af;
    if ((st = sqz_afile_open(&af, path, err))) return st;
    if ((st = sqz_afile_write(&af, head, total, err)) || (st = sqz_afile_write(&af, t->data, nbytes, err))) {
        sqz_afile_abort(&af);
        return st;
    }
    return sqz_afile_commit(&af, err);
}
