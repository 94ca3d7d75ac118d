/* formats/sqz/sqz_read.c - sqz_native_load: .sqz file -> graph (docs/format.md).
 *
 * The file is memory-mapped copy-on-write; initializer payloads, masks, quantization
 * arrays and encoding blocks point straight into the map (64-byte aligned), which the
 * graph owns. Everything is validated before use: header, section table, CRCs, every
 * record size, count, string id, tensor index and payload size. Errors read
 * "<path>: <what>, at byte offset N". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/file.h"
#include "formats/sqz/sqz_format.h"
#include "sqz/io.h"

typedef struct reader {
    const char *path;
    const uint8_t *base;
    uint64_t len;
    sqz_err *err;
    sqz_graph *g;
    uint64_t str_off, str_size;   /* STRINGS section */
    uint64_t data_off, data_size; /* DATA section (size 0 if absent) */
    uint32_t n_str;
    uint64_t *s_off; /* (n_str) absolute offsets of string bytes */
    uint32_t *s_len; /* (n_str) */
} reader;

static sqz_status failc(reader *r, sqz_status code, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sqz_status failc(reader *r, sqz_status code, uint64_t off, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sqz_err_set(r->err, code, "%s: %s, at byte offset %llu", r->path, msg, (unsigned long long)off);
}
#define FAIL(r, off, ...) failc((r), SQZ_ERR_DATA, (off), __VA_ARGS__)

static sqz_status oom(reader *r) { return sqz_err_set(r->err, SQZ_ERR_NOMEM, "%s: out of memory loading the model", r->path); }

/* A bounded window [pos, end) of the file. */
typedef struct cur {
    uint64_t pos, end;
} cur;

static int fits(const cur *c, uint64_t n) { return c->pos <= c->end && n <= c->end - c->pos; }

/* ---- header, section table, strings ---- */

/* Ranges already known to lie inside the file, so the sums cannot overflow. */
static int overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return an && bn && a < b + bn && b < a + an; }

static sqz_status read_header(reader *r) {
    const uint8_t *b = r->base;
    if (r->len < SQZF_HEADER_SIZE || memcmp(b, SQZF_MAGIC, SQZF_MAGIC_LEN)) {
        if (r->len >= SQZF_MAGIC_LEN && !memcmp(b, SQZF_MAGIC, SQZF_MAGIC_LEN))
            return FAIL(r, r->len, "truncated: file has %llu bytes, the header alone needs %d", (unsigned long long)r->len,
                        SQZF_HEADER_SIZE);
        return FAIL(r, 0, "not a .sqz file (bad magic)");
    }
    unsigned major = sqzf_get16(b + SQZF_H_MAJOR), minor = sqzf_get16(b + SQZF_H_MINOR);
    if (major != SQZF_VERSION_MAJOR)
        return failc(r, major > SQZF_VERSION_MAJOR ? SQZ_ERR_UNSUPPORTED : SQZ_ERR_DATA, SQZF_H_MAJOR,
                     "format version %u.%u; this sqz reads version %d.x", major, minor, SQZF_VERSION_MAJOR);
    uint32_t flags = sqzf_get32(b + SQZF_H_FLAGS);
    if (flags & SQZF_FLAGS_REQUIRED_MASK)
        return failc(r, SQZ_ERR_UNSUPPORTED, SQZF_H_FLAGS, "file needs features this sqz lacks (flags 0x%x)",
                     (unsigned)flags);
    uint32_t hsize = sqzf_get32(b + SQZF_H_HEADER_SIZE);
    uint32_t nsect = sqzf_get32(b + SQZF_H_NSECT);
    uint64_t toff = sqzf_get64(b + SQZF_H_TABLE_OFF);
    uint64_t fsize = sqzf_get64(b + SQZF_H_FILE_SIZE);
    if (fsize != r->len)
        return FAIL(r, SQZF_H_FILE_SIZE, "%s: header says %llu bytes, file has %llu",
                    fsize > r->len ? "truncated" : "wrong size", (unsigned long long)fsize, (unsigned long long)r->len);
    if (hsize < SQZF_HEADER_SIZE || hsize > r->len)
        return FAIL(r, SQZF_H_HEADER_SIZE, "header size %u out of range", (unsigned)hsize);
    if (nsect < 2 || nsect > SQZF_MAX_SECTIONS) return FAIL(r, SQZF_H_NSECT, "%u sections", (unsigned)nsect);
    uint64_t tbytes = (uint64_t)nsect * SQZF_SECTION_ENTRY;
    if (toff < hsize || toff > r->len || tbytes > r->len - toff)
        return FAIL(r, SQZF_H_TABLE_OFF, "section table (%u entries at %llu) outside the file", (unsigned)nsect,
                    (unsigned long long)toff);
    uint8_t zero4[4] = {0};
    uint32_t crc = sqzf_crc32(0, b, SQZF_H_TABLE_CRC);
    crc = sqzf_crc32(crc, zero4, 4);
    crc = sqzf_crc32(crc, b + SQZF_H_TABLE_CRC + 4, hsize - SQZF_H_TABLE_CRC - 4);
    crc = sqzf_crc32(crc, b + toff, (size_t)tbytes);
    if (crc != sqzf_get32(b + SQZF_H_TABLE_CRC)) return FAIL(r, SQZF_H_TABLE_CRC, "header or section table checksum mismatch");

    int seen[4] = {0};
    for (uint32_t s = 0; s < nsect; s++) {
        uint64_t e = toff + (uint64_t)s * SQZF_SECTION_ENTRY;
        uint32_t type = sqzf_get32(b + e), sflags = sqzf_get32(b + e + 4);
        uint64_t off = sqzf_get64(b + e + 8), size = sqzf_get64(b + e + 16);
        uint32_t scrc = sqzf_get32(b + e + 24);
        if (off > r->len || size > r->len - off)
            return FAIL(r, e + 8, "section %u (type %u) at %llu, %llu bytes, runs past the end of the file (%llu bytes)",
                        (unsigned)s, (unsigned)type, (unsigned long long)off, (unsigned long long)size,
                        (unsigned long long)r->len);
        if (overlap(off, size, 0, hsize) || overlap(off, size, toff, tbytes))
            return FAIL(r, e + 8, "section %u overlaps the header or the section table", (unsigned)s);
        for (uint32_t s2 = 0; s2 < s; s2++) {
            uint64_t e2 = toff + (uint64_t)s2 * SQZF_SECTION_ENTRY;
            if (overlap(off, size, sqzf_get64(b + e2 + 8), sqzf_get64(b + e2 + 16)))
                return FAIL(r, e + 8, "section %u overlaps section %u", (unsigned)s, (unsigned)s2);
        }
        if (sqzf_crc32(0, b + off, (size_t)size) != scrc)
            return FAIL(r, off, "section %u (type %u) checksum mismatch", (unsigned)s, (unsigned)type);
        if (type < SQZF_SEC_STRINGS || type > SQZF_SEC_DATA) {
            if (type == 0) return FAIL(r, e, "section %u has type 0", (unsigned)s);
            if (sflags & SQZF_SECF_REQUIRED)
                return failc(r, SQZ_ERR_UNSUPPORTED, e, "required section type %u unknown to this sqz", (unsigned)type);
            continue; /* forward compatibility: optional sections we do not know are skipped */
        }
        if (seen[type]++) return FAIL(r, e, "second section of type %u", (unsigned)type);
        if (type == SQZF_SEC_STRINGS) r->str_off = off, r->str_size = size;
        if (type == SQZF_SEC_DATA) {
            if (off % SQZF_ALIGN) return FAIL(r, e + 8, "DATA section at %llu is not %d-byte aligned", (unsigned long long)off, SQZF_ALIGN);
            r->data_off = off, r->data_size = size;
        }
    }
    if (!seen[SQZF_SEC_STRINGS]) return FAIL(r, toff, "no STRINGS section");
    if (!seen[SQZF_SEC_GRAPH]) return FAIL(r, toff, "no GRAPH section");
    return SQZ_OK;
}

static sqz_status read_strings(reader *r) {
    cur c = {r->str_off, r->str_off + r->str_size};
    if (!fits(&c, 8)) return FAIL(r, c.pos, "STRINGS section too small (%llu bytes)", (unsigned long long)r->str_size);
    uint32_t n = sqzf_get32(r->base + c.pos);
    c.pos += 8;
    if ((uint64_t)n * 4 > c.end - c.pos)
        return FAIL(r, r->str_off, "string count %u exceeds the STRINGS section", (unsigned)n);
    r->s_off = malloc(sizeof *r->s_off * (n ? n : 1));
    r->s_len = malloc(sizeof *r->s_len * (n ? n : 1));
    if (!r->s_off || !r->s_len) return oom(r);
    uint64_t at = c.pos + (uint64_t)n * 4;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = sqzf_get32(r->base + c.pos + 4ull * i);
        if (l > c.end - at) return FAIL(r, c.pos + 4ull * i, "string %u (%u bytes) runs past the STRINGS section", (unsigned)i, (unsigned)l);
        r->s_off[i] = at;
        r->s_len[i] = l;
        at += l;
    }
    r->n_str = n;
    return SQZ_OK;
}

/* String id at file offset `at` -> arena copy. kind 0: a name (no NUL bytes, may not be absent),
 * 1: optional (absent -> NULL), 2: payload (may hold NUL bytes; *len set). */
static sqz_status get_str(reader *r, uint64_t at, int kind, char **out, size_t *len) {
    uint32_t id = sqzf_get32(r->base + at);
    *out = NULL;
    if (id == SQZF_NONE32) {
        if (kind == 1) return SQZ_OK;
        return FAIL(r, at, "required string is absent");
    }
    if (id >= r->n_str) return FAIL(r, at, "string id %u out of range (%u strings)", (unsigned)id, (unsigned)r->n_str);
    const char *s = (const char *)r->base + r->s_off[id];
    if (kind != 2 && memchr(s, 0, r->s_len[id])) return FAIL(r, at, "string %u holds a NUL byte", (unsigned)id);
    *out = sqz_arena_strndup(r->g->arena, s, r->s_len[id]);
    if (!*out) return oom(r);
    if (len) *len = r->s_len[id];
    return SQZ_OK;
}

/* ---- records ---- */

/* Reads a record size at c->pos and checks it against min and the window. */
static sqz_status record(reader *r, const cur *c, uint64_t min, const char *what, uint64_t *size) {
    if (!fits(c, 4)) return FAIL(r, c->pos, "%s record runs past its section", what);
    uint64_t n = sqzf_get32(r->base + c->pos);
    if (n < min || n % 8 || !fits(c, n))
        return FAIL(r, c->pos, "%s record size %llu invalid (at least %llu, multiple of 8, inside the section)", what,
                    (unsigned long long)n, (unsigned long long)min);
    *size = n;
    return SQZ_OK;
}

/* A tensor record at c->pos (window c). Fills t (name, shape, dtype, flags, blobs). */
static sqz_status read_tensor(reader *r, cur *c, sqz_tensor *t, int in_graph) {
    uint64_t rec, at = c->pos;
    sqz_status st = record(r, c, SQZF_TENSOR_FIXED, "tensor", &rec);
    if (st) return st;
    const uint8_t *p = r->base + at;
    /* graph tensors need a unique non-empty name; attribute tensors may have none */
    if ((st = get_str(r, at + 4, in_graph ? 0 : 1, &t->name, NULL))) return st;
    if (in_graph && !t->name[0]) return FAIL(r, at + 4, "tensor with an empty name");
    const char *tn = t->name ? t->name : "";
    t->dtype = (sqz_dtype)sqzf_get32(p + 8);
    int32_t nd = (int32_t)sqzf_get32(p + 12);
    if (nd < -1 || nd > SQZ_MAX_DIMS) return FAIL(r, at + 12, "tensor '%s': rank %d outside -1..%d", tn, nd, SQZ_MAX_DIMS);
    t->ndim = nd;
    t->flags = sqzf_get32(p + 16) & SQZF_TENSOR_FLAGS_KEPT;
    uint32_t enc = sqzf_get32(p + 20);
    if (enc > SQZF_MAX_KNOWN_ENCODING)
        return failc(r, SQZ_ERR_UNSUPPORTED, at + 20, "tensor '%s' uses encoding %u, unknown to this sqz", tn, (unsigned)enc);
    t->encoding = (sqz_encoding)enc;
    int k = nd > 0 ? nd : 0;
    if ((uint64_t)SQZF_TENSOR_FIXED + 12ull * (uint64_t)k > rec)
        return FAIL(r, at, "tensor '%s': record of %llu bytes too small for rank %d", tn, (unsigned long long)rec, nd);
    for (int i = 0; i < k; i++) {
        t->dims[i] = (int64_t)sqzf_get64(p + SQZF_TENSOR_FIXED + 8 * i);
        if (t->dims[i] < -1)
            return FAIL(r, at + SQZF_TENSOR_FIXED + 8 * i, "tensor '%s': dimension %d is %lld", tn, i, (long long)t->dims[i]);
        if ((st = get_str(r, at + SQZF_TENSOR_FIXED + 8 * (uint64_t)k + 4 * (uint64_t)i, 1, &t->dim_names[i], NULL)))
            return st;
    }
    sqz_qparams q = {(int32_t)sqzf_get32(p + 24), (int32_t)sqzf_get32(p + 28), (int64_t)sqzf_get64(p + 32), NULL, NULL};
    if (q.count != 0) t->quant = &q;
    int has[SQZF_N_BLOBS];
    uint64_t size[SQZF_N_BLOBS], off[SQZF_N_BLOBS];
    for (int b = 0; b < SQZF_N_BLOBS; b++) {
        uint64_t fo = at + 40 + 16 * (uint64_t)b;
        off[b] = sqzf_get64(r->base + fo);
        size[b] = sqzf_get64(r->base + fo + 8);
        has[b] = off[b] != SQZF_NONE64;
        if (!has[b]) {
            if (size[b]) return FAIL(r, fo + 8, "tensor '%s': absent blob with size %llu", tn, (unsigned long long)size[b]);
            continue;
        }
        if (off[b] % SQZF_ALIGN) return FAIL(r, fo, "tensor '%s': payload offset %llu not %d-byte aligned", tn, (unsigned long long)off[b], SQZF_ALIGN);
        if (off[b] > r->data_size || size[b] > r->data_size - off[b])
            return FAIL(r, fo, "tensor '%s': payload (%llu bytes at %llu) outside the DATA section (%llu bytes)", tn,
                        (unsigned long long)size[b], (unsigned long long)off[b], (unsigned long long)r->data_size);
    }
    if (q.count < 0) return FAIL(r, at + 32, "tensor '%s': negative quantization count", tn);
    if (in_graph && has[SQZF_BLOB_DATA] && !(t->flags & SQZ_TF_INIT))
        return FAIL(r, at + 16, "tensor '%s': data for a tensor that is not an initializer", tn);
    char why[256];
    if (sqzf_check_tensor(t, has, size, why, sizeof why)) {
        t->quant = NULL;
        return FAIL(r, at, "tensor '%s': %s", tn, why);
    }
    t->quant = NULL;
    const uint8_t *ptr[SQZF_N_BLOBS];
    for (int b = 0; b < SQZF_N_BLOBS; b++) ptr[b] = has[b] ? r->base + r->data_off + off[b] : NULL;
    if (has[SQZF_BLOB_MASK])
        for (uint64_t i = 0; i < size[SQZF_BLOB_MASK]; i++)
            if (ptr[SQZF_BLOB_MASK][i] > 1)
                return FAIL(r, r->data_off + off[SQZF_BLOB_MASK] + i, "tensor '%s': mask value %u is not 0 or 1", tn,
                            ptr[SQZF_BLOB_MASK][i]);
    if (q.count) {
        t->quant = sqz_arena_alloc(r->g->arena, sizeof *t->quant, 8);
        if (!t->quant) return oom(r);
        *t->quant = q;
        t->quant->scale = (float *)ptr[SQZF_BLOB_SCALE];
        t->quant->zero_point = (int32_t *)ptr[SQZF_BLOB_ZP];
    }
    if (has[SQZF_BLOB_DATA]) {
        t->data = (void *)ptr[SQZF_BLOB_DATA];
        t->nbytes = (size_t)size[SQZF_BLOB_DATA];
        t->flags |= SQZ_TF_EXTERNAL;
    }
    t->mask = (uint8_t *)ptr[SQZF_BLOB_MASK];
    t->enc_data = (void *)ptr[SQZF_BLOB_ENC];
    t->enc_nbytes = (size_t)size[SQZF_BLOB_ENC];
    c->pos += rec;
    return SQZ_OK;
}

static sqz_status read_attr(reader *r, cur *c, sqz_attr *a, const char *node) {
    uint64_t rec, at = c->pos;
    sqz_status st = record(r, c, SQZF_ATTR_FIXED, "attribute", &rec);
    if (st) return st;
    if ((st = get_str(r, at + 4, 0, &a->name, NULL))) return st;
    uint32_t type = sqzf_get32(r->base + at + 8);
    int64_t n = (int64_t)sqzf_get64(r->base + at + 16);
    cur pc = {at + SQZF_ATTR_FIXED, at + rec}; /* payload window */
    uint64_t esize = type == SQZ_ATTR_INTS ? 8 : 4;
    switch (type) {
    case SQZ_ATTR_FLOAT: case SQZ_ATTR_INT: case SQZ_ATTR_STRING: case SQZ_ATTR_TENSOR:
        if (n != 1) return FAIL(r, at + 16, "node '%s': attribute '%s' has count %lld, expected 1", node, a->name, (long long)n);
        break;
    case SQZ_ATTR_FLOATS: case SQZ_ATTR_INTS: case SQZ_ATTR_STRINGS:
        if (n < 0 || (uint64_t)n > (pc.end - pc.pos) / esize)
            return FAIL(r, at + 16, "node '%s': attribute '%s' count %lld exceeds its record", node, a->name, (long long)n);
        break;
    default:
        return failc(r, SQZ_ERR_UNSUPPORTED, at + 8, "node '%s': attribute '%s' has type %u, unsupported", node, a->name,
                     (unsigned)type);
    }
    a->type = (sqz_attr_type)type;
    a->n = type >= SQZ_ATTR_FLOATS ? n : 0;
    sqz_arena *ar = r->g->arena;
    const uint8_t *p = r->base + pc.pos;
    switch (type) {
    case SQZ_ATTR_FLOAT: {
        if (!fits(&pc, 4)) return FAIL(r, pc.pos, "attribute '%s' truncated", a->name);
        uint32_t bits = sqzf_get32(p);
        memcpy(&a->f, &bits, 4);
        break;
    }
    case SQZ_ATTR_INT:
        if (!fits(&pc, 8)) return FAIL(r, pc.pos, "attribute '%s' truncated", a->name);
        a->i = (int64_t)sqzf_get64(p);
        break;
    case SQZ_ATTR_STRING:
        if (!fits(&pc, 4)) return FAIL(r, pc.pos, "attribute '%s' truncated", a->name);
        if ((st = get_str(r, pc.pos, 2, &a->s, &a->s_len))) return st;
        break;
    case SQZ_ATTR_TENSOR:
        a->t = sqz_arena_alloc(ar, sizeof *a->t, 8);
        if (!a->t) return oom(r);
        a->t->producer = -1;
        if ((st = read_tensor(r, &pc, a->t, 0))) return st;
        break;
    case SQZ_ATTR_FLOATS:
        a->floats = sqz_arena_alloc(ar, sizeof(float) * (size_t)(n ? n : 1), 8);
        if (!a->floats) return oom(r);
        for (int64_t i = 0; i < n; i++) {
            uint32_t bits = sqzf_get32(p + 4 * i);
            memcpy(&a->floats[i], &bits, 4);
        }
        break;
    case SQZ_ATTR_INTS:
        a->ints = sqz_arena_alloc(ar, sizeof(int64_t) * (size_t)(n ? n : 1), 8);
        if (!a->ints) return oom(r);
        for (int64_t i = 0; i < n; i++) a->ints[i] = (int64_t)sqzf_get64(p + 8 * i);
        break;
    default: /* STRINGS */
        a->strings = sqz_arena_alloc(ar, sizeof(char *) * (size_t)(n ? n : 1), 8);
        if (!a->strings) return oom(r);
        for (int64_t i = 0; i < n; i++)
            if ((st = get_str(r, pc.pos + 4 * (uint64_t)i, 0, &a->strings[i], NULL))) return st;
        break;
    }
    c->pos += rec;
    return SQZ_OK;
}

static sqz_status read_node(reader *r, cur *c) {
    uint64_t rec, at = c->pos;
    sqz_status st = record(r, c, SQZF_NODE_FIXED, "node", &rec);
    if (st) return st;
    const uint8_t *p = r->base + at;
    char *name, *op, *domain;
    if ((st = get_str(r, at + 4, 0, &name, NULL)) || (st = get_str(r, at + 8, 0, &op, NULL)) ||
        (st = get_str(r, at + 12, 0, &domain, NULL)))
        return st;
    if (!op[0]) return FAIL(r, at + 8, "node '%s' has an empty op type", name);
    uint32_t n_in = sqzf_get32(p + 16), n_out = sqzf_get32(p + 20), n_attrs = sqzf_get32(p + 24);
    uint64_t io_bytes = 4ull * ((uint64_t)n_in + n_out);
    if (io_bytes > rec - SQZF_NODE_FIXED)
        return FAIL(r, at + 16, "node '%s': %u inputs and %u outputs exceed its record", name, (unsigned)n_in, (unsigned)n_out);
    uint64_t attrs_at = at + ((SQZF_NODE_FIXED + io_bytes + 7) & ~7ull);
    if (attrs_at > at + rec || (uint64_t)n_attrs > (at + rec - attrs_at) / SQZF_ATTR_FIXED)
        return FAIL(r, at + 24, "node '%s': %u attributes exceed its record", name, (unsigned)n_attrs);
    int *idx = malloc(sizeof(int) * (size_t)(n_in + n_out + 1ull));
    if (!idx) return oom(r);
    for (uint32_t i = 0; i < n_in + n_out; i++) {
        int32_t t = (int32_t)sqzf_get32(p + SQZF_NODE_FIXED + 4ull * i);
        if (t < -1 || t >= r->g->n_tensors) {
            free(idx);
            return FAIL(r, at + SQZF_NODE_FIXED + 4ull * i, "node '%s' (%s): %s %u refers to tensor %d of %d", name, op,
                        i < n_in ? "input" : "output", (unsigned)(i < n_in ? i : i - n_in), t, r->g->n_tensors);
        }
        idx[i] = t;
    }
    int k = sqz_graph_add_node(r->g, op, name, (int)n_in, idx, (int)n_out, idx + n_in, r->err);
    free(idx);
    if (k < 0) return oom(r);
    sqz_node *n = r->g->nodes[k];
    n->domain = domain;
    n->attrs = sqz_arena_alloc(r->g->arena, sizeof(sqz_attr) * (n_attrs ? n_attrs : 1), 8);
    if (!n->attrs) return oom(r);
    cur ac = {attrs_at, at + rec};
    for (uint32_t i = 0; i < n_attrs; i++) {
        if ((st = read_attr(r, &ac, &n->attrs[i], name))) return st;
        n->n_attrs = (int)i + 1;
    }
    c->pos += rec;
    return SQZ_OK;
}

static sqz_status read_graph(reader *r, uint64_t off, uint64_t size) {
    cur c = {off, off + size};
    uint64_t rec;
    sqz_status st = record(r, &c, SQZF_GRAPH_REC, "graph", &rec);
    if (st) return st;
    sqz_graph *g = r->g;
    const uint8_t *p = r->base + off;
    if ((st = get_str(r, off + 4, 0, &g->name, NULL)) || (st = get_str(r, off + 8, 0, &g->producer, NULL)) ||
        (st = get_str(r, off + 12, 1, &g->doc, NULL)))
        return st;
    g->ir_version = (int64_t)sqzf_get64(p + 16);
    g->opset = (int64_t)sqzf_get64(p + 24);
    uint32_t nt = sqzf_get32(p + 32), nn = sqzf_get32(p + 36), ni = sqzf_get32(p + 40), no = sqzf_get32(p + 44);
    uint64_t room = size - rec;
    if (nt > room / SQZF_TENSOR_FIXED) return FAIL(r, off + 32, "tensor count %u exceeds the GRAPH section", (unsigned)nt);
    if (nn > room / SQZF_NODE_FIXED) return FAIL(r, off + 36, "node count %u exceeds the GRAPH section", (unsigned)nn);
    if ((uint64_t)ni + no > room / 4) return FAIL(r, off + 40, "input/output counts exceed the GRAPH section");
    c.pos += rec;
    for (uint32_t i = 0; i < nt; i++) {
        sqz_tensor tmp = {0};
        uint64_t at = c.pos;
        if ((st = read_tensor(r, &c, &tmp, 1))) return st;
        if (sqz_graph_find_tensor(g, tmp.name) >= 0) return FAIL(r, at + 4, "duplicate tensor name '%s'", tmp.name);
        int k = sqz_graph_add_tensor(g, tmp.name, tmp.dtype, tmp.ndim, tmp.dims, r->err);
        if (k < 0) return oom(r);
        sqz_tensor *t = g->tensors[k];
        char *keep_name = t->name;
        *t = tmp;
        t->name = keep_name;
        t->producer = -1;
    }
    for (uint32_t i = 0; i < nn; i++)
        if ((st = read_node(r, &c))) return st;
    if (!fits(&c, 4ull * ((uint64_t)ni + no)))
        return FAIL(r, c.pos, "graph inputs and outputs run past the GRAPH section");
    for (uint32_t i = 0; i < ni + no; i++) {
        uint64_t at = c.pos + 4ull * i;
        uint32_t t = sqzf_get32(r->base + at);
        if (t >= (uint32_t)g->n_tensors)
            return FAIL(r, at, "graph %s %u refers to tensor %u of %d", i < ni ? "input" : "output",
                        (unsigned)(i < ni ? i : i - ni), (unsigned)t, g->n_tensors);
        st = i < ni ? sqz_graph_add_input(g, (int)t, r->err) : sqz_graph_add_output(g, (int)t, r->err);
        if (st) return oom(r);
    }
    return SQZ_OK;
}

static sqz_status load_mapped(reader *r) {
    sqz_status st = read_header(r);
    if (st) return st;
    if ((st = read_strings(r))) return st;
    /* find GRAPH again (read_header validated it) */
    uint64_t toff = sqzf_get64(r->base + SQZF_H_TABLE_OFF);
    uint32_t nsect = sqzf_get32(r->base + SQZF_H_NSECT);
    for (uint32_t s = 0; s < nsect; s++) {
        const uint8_t *e = r->base + toff + (uint64_t)s * SQZF_SECTION_ENTRY;
        if (sqzf_get32(e) == SQZF_SEC_GRAPH) return read_graph(r, sqzf_get64(e + 8), sqzf_get64(e + 16));
    }
    return FAIL(r, toff, "no GRAPH section");
}

sqz_status sqz_native_load(const char *path, sqz_graph **out, sqz_err *err) {
    if (!out || !path) return sqz_err_set(err, SQZ_ERR_ARG, "sqz_native_load: no path or no output");
    *out = NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s: .sqz files are little-endian; this host is not", path);
#endif
    void *base;
    size_t len;
    sqz_status st = sqz_file_map(path, &base, &len, err);
    if (st) return st;
    /* copy-on-write: passes may edit weights in place; the file never changes */
    (void)mprotect(base, len, PROT_READ | PROT_WRITE);
    sqz_graph *g = sqz_graph_new();
    if (!g) {
        sqz_file_unmap(base, len);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
    }
    g->map_base = base;
    g->map_len = len;
    char *dir = sqz_path_dirname(path);
    if (dir) {
        g->base_dir = sqz_arena_strdup(g->arena, dir);
        free(dir);
    }
    reader r = {0};
    r.path = path;
    r.base = base;
    r.len = len;
    r.err = err;
    r.g = g;
    st = load_mapped(&r);
    free(r.s_off);
    free(r.s_len);
    if (st) {
        sqz_graph_free(g);
        return st;
    }
    *out = g;
    return SQZ_OK;
}
