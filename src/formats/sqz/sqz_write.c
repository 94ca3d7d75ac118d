/* formats/sqz/sqz_write.c - sqz_native_save: graph -> .sqz file (docs/format.md).
 *
 * The metadata (string table, graph records) is built in memory first, payloads are
 * given 64-byte aligned places in DATA, and the CRCs are computed before anything is
 * written, so the file goes out front to back in one pass through an atomic file. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "formats/sqz/sqz_format.h"
#include "sqz/io.h"

/* ---- growable byte buffer ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} wbuf;

/* Appends n zero bytes; returns their place (NULL after OOM). Valid until the next append. */
static uint8_t *wb_add(wbuf *b, size_t n) {
    if (b->oom) return NULL;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return NULL;
    }
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n) nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return NULL;
        }
        b->p = np;
        b->cap = nc;
    }
    uint8_t *r = b->p + b->len;
    memset(r, 0, n);
    b->len += n;
    return r;
}

static void wb_u32(wbuf *b, uint32_t v) {
    uint8_t *p = wb_add(b, 4);
    if (p) sqzf_put32(p, v);
}
static void wb_u64(wbuf *b, uint64_t v) {
    uint8_t *p = wb_add(b, 8);
    if (p) sqzf_put64(p, v);
}
static void wb_pad8(wbuf *b) {
    if (b->len % 8) wb_add(b, 8 - b->len % 8);
}

/* ---- writer state ---- */

typedef struct blob {
    const void *p;
    uint64_t n, off;
} blob;

typedef struct writer {
    const char *path;
    sqz_err *err;
    /* string table: lengths, bytes, and a hash of (bytes, len) -> id + 1 */
    wbuf str_bytes;
    uint64_t *str_off; /* (n_str) offsets into str_bytes */
    uint32_t *str_len; /* (n_str) */
    uint32_t n_str, cap_str;
    uint32_t *hash;    /* (hash_cap) id + 1, 0 = empty */
    uint32_t hash_cap;
    wbuf graph;
    blob *blobs;
    size_t n_blobs, cap_blobs;
    uint64_t data_size;
    sqz_status st; /* first error */
} writer;

static sqz_status w_fail(writer *w, sqz_status code, const char *fmt, const char *a, const char *b) {
    if (w->st) return w->st;
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    w->st = sqz_err_set(w->err, code, "%s: %s", w->path, msg);
    return w->st;
}

static sqz_status w_oom(writer *w) {
    return w_fail(w, SQZ_ERR_NOMEM, "out of memory building the file%s%s", NULL, NULL);
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int str_rehash(writer *w) {
    uint32_t cap = w->hash_cap ? w->hash_cap * 2 : 1024;
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (!tab) return -1;
    for (uint32_t id = 0; id < w->n_str; id++) {
        uint64_t h = hash_bytes((const char *)w->str_bytes.p + w->str_off[id], w->str_len[id]) & (cap - 1);
        while (tab[h]) h = (h + 1) & (cap - 1);
        tab[h] = id + 1;
    }
    free(w->hash);
    w->hash = tab;
    w->hash_cap = cap;
    return 0;
}

/* Id of the string (s, n) in the table, adding it if new; SQZF_NONE32 on error. */
static uint32_t str_id_n(writer *w, const char *s, size_t n) {
    if (w->st) return SQZF_NONE32;
    if (n > UINT32_MAX - 1 || w->n_str >= UINT32_MAX - 1) {
        w_fail(w, SQZ_ERR_DATA, "a string or the string table is too large%s%s", NULL, NULL);
        return SQZF_NONE32;
    }
    if ((uint64_t)(w->n_str + 1) * 2 > w->hash_cap && str_rehash(w)) goto oom;
    uint32_t m = w->hash_cap - 1;
    uint64_t h = hash_bytes(s, n) & m;
    for (; w->hash[h]; h = (h + 1) & m) {
        uint32_t id = w->hash[h] - 1;
        if (w->str_len[id] == n && !memcmp(w->str_bytes.p + w->str_off[id], s, n)) return id;
    }
    if (w->n_str == w->cap_str) {
        uint32_t nc = w->cap_str ? w->cap_str * 2 : 256;
        uint64_t *no = realloc(w->str_off, sizeof *no * nc);
        if (!no) goto oom;
        w->str_off = no;
        uint32_t *nl = realloc(w->str_len, sizeof *nl * nc);
        if (!nl) goto oom;
        w->str_len = nl;
        w->cap_str = nc;
    }
    size_t at = w->str_bytes.len;
    uint8_t *p = wb_add(&w->str_bytes, n);
    if (!p) goto oom;
    if (n) memcpy(p, s, n);
    uint32_t id = w->n_str++;
    w->str_off[id] = at;
    w->str_len[id] = (uint32_t)n;
    w->hash[h] = id + 1;
    return id;
oom:
    w_oom(w);
    return SQZF_NONE32;
}

static uint32_t str_id(writer *w, const char *s) { return s ? str_id_n(w, s, strlen(s)) : SQZF_NONE32; }

/* Places n bytes at p in DATA; returns the offset (relative to DATA). */
static uint64_t add_blob(writer *w, const void *p, uint64_t n) {
    if (w->st) return 0;
    if (w->n_blobs == w->cap_blobs) {
        size_t nc = w->cap_blobs ? w->cap_blobs * 2 : 64;
        blob *nb = realloc(w->blobs, sizeof *nb * nc);
        if (!nb) {
            w_oom(w);
            return 0;
        }
        w->blobs = nb;
        w->cap_blobs = nc;
    }
    uint64_t off = (w->data_size + SQZF_ALIGN - 1) & ~(uint64_t)(SQZF_ALIGN - 1);
    if (off < w->data_size || n > UINT64_MAX / 2 - off) {
        w_fail(w, SQZ_ERR_DATA, "payloads too large%s%s", NULL, NULL);
        return 0;
    }
    w->blobs[w->n_blobs++] = (blob){p, n, off};
    w->data_size = off + n;
    return off;
}

/* ---- records ---- */

/* Appends a tensor record. with_data: 0 graph tensor without payload, 1 graph initializer
 * (t->data stored), 2 attribute tensor (t->data stored, the name may be absent). */
static void put_tensor(writer *w, const sqz_tensor *t, int with_data, const char *what) {
    if (w->st) return;
    const char *tname = t->name ? t->name : "";
    if (with_data != 2 && !tname[0]) { /* graph tensors need names; attribute tensors may lack one */
        w_fail(w, SQZ_ERR_DATA, "%s with an empty name%s", what, NULL);
        return;
    }
    int has[SQZF_N_BLOBS] = {0};
    uint64_t size[SQZF_N_BLOBS] = {0};
    const void *ptr[SQZF_N_BLOBS] = {0};
    if (with_data && t->data) {
        has[SQZF_BLOB_DATA] = 1, size[SQZF_BLOB_DATA] = t->nbytes, ptr[SQZF_BLOB_DATA] = t->data;
    }
    int64_t numel = sqz_tensor_numel(t);
    if (t->mask) {
        if (numel < 0) {
            w_fail(w, SQZ_ERR_DATA, "tensor '%s': mask on a tensor of unknown shape%s", tname, NULL);
            return;
        }
        has[SQZF_BLOB_MASK] = 1, size[SQZF_BLOB_MASK] = (uint64_t)numel, ptr[SQZF_BLOB_MASK] = t->mask;
    }
    if (t->quant) {
        if (t->quant->count < 1 || !t->quant->scale) {
            w_fail(w, SQZ_ERR_DATA, "tensor '%s': quantization parameters without scales%s", tname, NULL);
            return;
        }
        uint64_t qn = (uint64_t)t->quant->count * 4;
        has[SQZF_BLOB_SCALE] = 1, size[SQZF_BLOB_SCALE] = qn, ptr[SQZF_BLOB_SCALE] = t->quant->scale;
        if (t->quant->zero_point)
            has[SQZF_BLOB_ZP] = 1, size[SQZF_BLOB_ZP] = qn, ptr[SQZF_BLOB_ZP] = t->quant->zero_point;
    }
    if (t->enc_data) has[SQZF_BLOB_ENC] = 1, size[SQZF_BLOB_ENC] = t->enc_nbytes, ptr[SQZF_BLOB_ENC] = t->enc_data;
    char why[256];
    if (sqzf_check_tensor(t, has, size, why, sizeof why)) {
        w_fail(w, SQZ_ERR_DATA, "tensor '%s': %s", tname, why);
        return;
    }
    int nd = t->ndim > 0 ? t->ndim : 0;
    size_t rec = SQZF_TENSOR_FIXED + 12 * (size_t)nd;
    rec = (rec + 7) & ~(size_t)7;
    uint32_t name_id = str_id(w, t->name);
    uint32_t dim_ids[SQZ_MAX_DIMS];
    for (int i = 0; i < nd; i++) dim_ids[i] = str_id(w, t->dim_names[i]);
    uint64_t off[SQZF_N_BLOBS];
    for (int b = 0; b < SQZF_N_BLOBS; b++) off[b] = has[b] ? add_blob(w, ptr[b], size[b]) : SQZF_NONE64;
    size_t at = w->graph.len;
    if (!wb_add(&w->graph, rec) || w->st) {
        w_oom(w);
        return;
    }
    uint8_t *p = w->graph.p + at;
    sqzf_put32(p + 0, (uint32_t)rec);
    sqzf_put32(p + 4, name_id);
    sqzf_put32(p + 8, (uint32_t)t->dtype);
    sqzf_put32(p + 12, (uint32_t)t->ndim);
    sqzf_put32(p + 16, t->flags & SQZF_TENSOR_FLAGS_KEPT);
    sqzf_put32(p + 20, (uint32_t)t->encoding);
    sqzf_put32(p + 24, (uint32_t)(t->quant ? t->quant->axis : -1));
    sqzf_put32(p + 28, (uint32_t)(t->quant ? t->quant->group_size : 0));
    sqzf_put64(p + 32, (uint64_t)(t->quant ? t->quant->count : 0));
    for (int b = 0; b < SQZF_N_BLOBS; b++) {
        sqzf_put64(p + 40 + 16 * b, off[b]);
        sqzf_put64(p + 48 + 16 * b, has[b] ? size[b] : 0);
    }
    for (int i = 0; i < nd; i++) sqzf_put64(p + SQZF_TENSOR_FIXED + 8 * i, (uint64_t)t->dims[i]);
    for (int i = 0; i < nd; i++) sqzf_put32(p + SQZF_TENSOR_FIXED + 8 * nd + 4 * i, dim_ids[i]);
}

static void put_attr(writer *w, const sqz_node *n, const sqz_attr *a) {
    if (w->st) return;
    const char *nname = n->name ? n->name : "";
    if (!a->name || !a->name[0]) {
        w_fail(w, SQZ_ERR_DATA, "node '%s': attribute with an empty name%s", nname, NULL);
        return;
    }
    int64_t cnt = 1;
    switch (a->type) {
    case SQZ_ATTR_FLOAT: case SQZ_ATTR_INT: case SQZ_ATTR_STRING: case SQZ_ATTR_TENSOR: break;
    case SQZ_ATTR_FLOATS: case SQZ_ATTR_INTS: case SQZ_ATTR_STRINGS:
        cnt = a->n;
        if (cnt < 0 || (cnt > 0 && !(a->type == SQZ_ATTR_FLOATS ? (void *)a->floats
                                     : a->type == SQZ_ATTR_INTS ? (void *)a->ints : (void *)a->strings))) {
            w_fail(w, SQZ_ERR_DATA, "node '%s': attribute '%s' has a bad element count", nname, a->name);
            return;
        }
        break;
    default:
        w_fail(w, SQZ_ERR_UNSUPPORTED, "node '%s': attribute '%s' has a type the .sqz format cannot store", nname,
               a->name);
        return;
    }
    if (a->type == SQZ_ATTR_TENSOR && !a->t) {
        w_fail(w, SQZ_ERR_DATA, "node '%s': tensor attribute '%s' without a tensor", nname, a->name);
        return;
    }
    size_t at = w->graph.len;
    if (!wb_add(&w->graph, SQZF_ATTR_FIXED)) {
        w_oom(w);
        return;
    }
    uint32_t name_id = str_id(w, a->name);
    switch (a->type) {
    case SQZ_ATTR_FLOAT: {
        uint32_t bits;
        memcpy(&bits, &a->f, 4);
        wb_u32(&w->graph, bits);
        break;
    }
    case SQZ_ATTR_INT: wb_u64(&w->graph, (uint64_t)a->i); break;
    case SQZ_ATTR_STRING:
        wb_u32(&w->graph, a->s ? str_id_n(w, a->s, a->s_len) : str_id_n(w, "", 0));
        break;
    case SQZ_ATTR_TENSOR: put_tensor(w, a->t, 2, "tensor attribute"); break;
    case SQZ_ATTR_FLOATS:
        for (int64_t i = 0; i < cnt; i++) {
            uint32_t bits;
            memcpy(&bits, &a->floats[i], 4);
            wb_u32(&w->graph, bits);
        }
        break;
    case SQZ_ATTR_INTS:
        for (int64_t i = 0; i < cnt; i++) wb_u64(&w->graph, (uint64_t)a->ints[i]);
        break;
    default: /* STRINGS */
        for (int64_t i = 0; i < cnt; i++) wb_u32(&w->graph, str_id(w, a->strings[i] ? a->strings[i] : ""));
        break;
    }
    wb_pad8(&w->graph);
    if (w->graph.oom) {
        w_oom(w);
        return;
    }
    if (w->st) return;
    uint8_t *p = w->graph.p + at;
    size_t rec = w->graph.len - at;
    if (rec > UINT32_MAX) {
        w_fail(w, SQZ_ERR_DATA, "node '%s': attribute '%s' is too large", nname, a->name);
        return;
    }
    sqzf_put32(p + 0, (uint32_t)rec);
    sqzf_put32(p + 4, name_id);
    sqzf_put32(p + 8, (uint32_t)a->type);
    sqzf_put64(p + 16, (uint64_t)cnt);
}

static void put_node(writer *w, const sqz_graph *g, const sqz_node *n) {
    if (w->st) return;
    const char *nname = n->name ? n->name : "";
    if (!n->op_type || !n->op_type[0]) {
        w_fail(w, SQZ_ERR_DATA, "node '%s' has no op type%s", nname, NULL);
        return;
    }
    if (n->n_in < 0 || n->n_out < 0 || n->n_attrs < 0) {
        w_fail(w, SQZ_ERR_DATA, "node '%s' has a negative count%s", nname, NULL);
        return;
    }
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int t = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (t < -1 || t >= g->n_tensors) {
            w_fail(w, SQZ_ERR_DATA, "node '%s' (%s) refers to a tensor that does not exist", nname, n->op_type);
            return;
        }
    }
    size_t at = w->graph.len;
    if (!wb_add(&w->graph, SQZF_NODE_FIXED)) {
        w_oom(w);
        return;
    }
    uint32_t ids[3] = {str_id(w, nname), str_id(w, n->op_type), str_id(w, n->domain ? n->domain : "")};
    for (int i = 0; i < n->n_in; i++) wb_u32(&w->graph, (uint32_t)n->in[i]);
    for (int i = 0; i < n->n_out; i++) wb_u32(&w->graph, (uint32_t)n->out[i]);
    wb_pad8(&w->graph);
    for (int i = 0; i < n->n_attrs; i++) put_attr(w, n, &n->attrs[i]);
    if (w->graph.oom) w_oom(w);
    if (w->st) return;
    size_t rec = w->graph.len - at;
    if (rec > UINT32_MAX) {
        w_fail(w, SQZ_ERR_DATA, "node '%s' is too large%s", nname, NULL);
        return;
    }
    uint8_t *p = w->graph.p + at;
    sqzf_put32(p + 0, (uint32_t)rec);
    sqzf_put32(p + 4, ids[0]);
    sqzf_put32(p + 8, ids[1]);
    sqzf_put32(p + 12, ids[2]);
    sqzf_put32(p + 16, (uint32_t)n->n_in);
    sqzf_put32(p + 20, (uint32_t)n->n_out);
    sqzf_put32(p + 24, (uint32_t)n->n_attrs);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void put_graph(writer *w, const sqz_graph *g) {
    if (!wb_add(&w->graph, SQZF_GRAPH_REC)) {
        w_oom(w);
        return;
    }
    uint32_t hdr[3] = {str_id(w, g->name ? g->name : ""), str_id(w, g->producer ? g->producer : ""),
                       str_id(w, g->doc)};
    for (int i = 0; i < g->n_tensors && !w->st; i++) put_tensor(w, g->tensors[i], (g->tensors[i]->flags & SQZ_TF_INIT) != 0, "tensor");
    if (w->st) return;
    /* tensor names are unique: each name has one string id */
    uint32_t *names = malloc(sizeof *names * (size_t)(g->n_tensors ? g->n_tensors : 1));
    if (!names) {
        w_oom(w);
        return;
    }
    for (int i = 0; i < g->n_tensors; i++) names[i] = str_id(w, g->tensors[i]->name);
    qsort(names, (size_t)g->n_tensors, sizeof *names, cmp_u32);
    for (int i = 1; i < g->n_tensors && !w->st; i++)
        if (names[i] == names[i - 1]) {
            char nm[256]; /* table strings are not NUL-terminated */
            snprintf(nm, sizeof nm, "%.*s", (int)(w->str_len[names[i]] < 255 ? w->str_len[names[i]] : 255),
                     (const char *)w->str_bytes.p + w->str_off[names[i]]);
            w_fail(w, SQZ_ERR_DATA, "duplicate tensor name '%s'%s", nm, NULL);
        }
    free(names);
    for (int k = 0; k < g->n_nodes && !w->st; k++) put_node(w, g, g->nodes[k]);
    for (int i = 0; i < g->n_inputs + g->n_outputs && !w->st; i++) {
        int t = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
        if (t < 0 || t >= g->n_tensors) w_fail(w, SQZ_ERR_DATA, "a graph input or output refers to no tensor%s%s", NULL, NULL);
        wb_u32(&w->graph, (uint32_t)t);
    }
    wb_pad8(&w->graph);
    if (w->graph.oom) w_oom(w);
    if (w->st) return;
    uint8_t *p = w->graph.p;
    sqzf_put32(p + 0, SQZF_GRAPH_REC);
    sqzf_put32(p + 4, hdr[0]);
    sqzf_put32(p + 8, hdr[1]);
    sqzf_put32(p + 12, hdr[2]);
    sqzf_put64(p + 16, (uint64_t)g->ir_version);
    sqzf_put64(p + 24, (uint64_t)g->opset);
    sqzf_put32(p + 32, (uint32_t)g->n_tensors);
    sqzf_put32(p + 36, (uint32_t)g->n_nodes);
    sqzf_put32(p + 40, (uint32_t)g->n_inputs);
    sqzf_put32(p + 44, (uint32_t)g->n_outputs);
}

/* ---- file assembly ---- */

static const uint8_t zeros[SQZF_ALIGN];

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static sqz_status emit(writer *w, const sqz_graph *g) {
    put_graph(w, g);
    if (w->st) return w->st;
    wbuf strs = {0};
    wb_u32(&strs, w->n_str);
    wb_u32(&strs, 0);
    for (uint32_t i = 0; i < w->n_str; i++) wb_u32(&strs, w->str_len[i]);
    uint8_t *sb = wb_add(&strs, w->str_bytes.len);
    if (!sb) {
        free(strs.p);
        return w_oom(w);
    }
    if (w->str_bytes.len) memcpy(sb, w->str_bytes.p, w->str_bytes.len);

    const uint32_t nsec = 3;
    uint64_t table_off = SQZF_HEADER_SIZE;
    uint64_t sec_off[3], sec_size[3] = {strs.len, w->graph.len, w->data_size};
    sec_off[0] = align_up(table_off + nsec * SQZF_SECTION_ENTRY, 8);
    sec_off[1] = align_up(sec_off[0] + sec_size[0], 8);
    sec_off[2] = align_up(sec_off[1] + sec_size[1], SQZF_ALIGN);
    uint64_t file_size = sec_off[2] + sec_size[2];

    uint32_t crc[3];
    crc[0] = sqzf_crc32(0, strs.p, strs.len);
    crc[1] = sqzf_crc32(0, w->graph.p, w->graph.len);
    uint32_t c = 0;
    uint64_t pos = 0;
    for (size_t i = 0; i < w->n_blobs; i++) {
        c = sqzf_crc32(c, zeros, (size_t)(w->blobs[i].off - pos));
        c = sqzf_crc32(c, w->blobs[i].p, (size_t)w->blobs[i].n);
        pos = w->blobs[i].off + w->blobs[i].n;
    }
    crc[2] = c;

    uint8_t head[SQZF_HEADER_SIZE + 3 * SQZF_SECTION_ENTRY] = {0};
    memcpy(head, SQZF_MAGIC, SQZF_MAGIC_LEN);
    sqzf_put16(head + SQZF_H_MAJOR, SQZF_VERSION_MAJOR);
    sqzf_put16(head + SQZF_H_MINOR, SQZF_VERSION_MINOR);
    sqzf_put32(head + SQZF_H_FLAGS, 0);
    sqzf_put32(head + SQZF_H_HEADER_SIZE, SQZF_HEADER_SIZE);
    sqzf_put32(head + SQZF_H_NSECT, nsec);
    sqzf_put64(head + SQZF_H_TABLE_OFF, table_off);
    sqzf_put64(head + SQZF_H_FILE_SIZE, file_size);
    static const uint32_t types[3] = {SQZF_SEC_STRINGS, SQZF_SEC_GRAPH, SQZF_SEC_DATA};
    for (int s = 0; s < 3; s++) {
        uint8_t *e = head + SQZF_HEADER_SIZE + s * SQZF_SECTION_ENTRY;
        sqzf_put32(e + 0, types[s]);
        sqzf_put32(e + 4, SQZF_SECF_REQUIRED);
        sqzf_put64(e + 8, sec_off[s]);
        sqzf_put64(e + 16, sec_size[s]);
        sqzf_put32(e + 24, crc[s]);
    }
    sqzf_put32(head + SQZF_H_TABLE_CRC, sqzf_crc32(0, head, sizeof head));

    sqz_afile af;
    sqz_status st = sqz_afile_open(&af, w->path, w->err);
    if (st) {
        free(strs.p);
        return st;
    }
    const void *parts[2] = {strs.p, w->graph.p};
    uint64_t at = sizeof head;
    st = sqz_afile_write(&af, head, sizeof head, w->err);
    for (int s = 0; s < 2 && !st; s++) {
        st = sqz_afile_write(&af, zeros, (size_t)(sec_off[s] - at), w->err);
        if (!st) st = sqz_afile_write(&af, parts[s], (size_t)sec_size[s], w->err);
        at = sec_off[s] + sec_size[s];
    }
    if (!st) st = sqz_afile_write(&af, zeros, (size_t)(sec_off[2] - at), w->err);
    pos = 0;
    for (size_t i = 0; i < w->n_blobs && !st; i++) {
        st = sqz_afile_write(&af, zeros, (size_t)(w->blobs[i].off - pos), w->err);
        if (!st) st = sqz_afile_write(&af, w->blobs[i].p, (size_t)w->blobs[i].n, w->err);
        pos = w->blobs[i].off + w->blobs[i].n;
    }
    free(strs.p);
    if (st) {
        sqz_afile_abort(&af);
        return st;
    }
    return sqz_afile_commit(&af, w->err);
}

sqz_status sqz_native_save(const sqz_graph *g, const char *path, sqz_err *err) {
    if (!g || !path) return sqz_err_set(err, SQZ_ERR_ARG, "sqz_native_save: no graph or no path");
    if (g->n_tensors < 0 || g->n_nodes < 0 || g->n_inputs < 0 || g->n_outputs < 0)
        return sqz_err_set(err, SQZ_ERR_ARG, "%s: graph with negative counts", path);
    writer w = {0};
    w.path = path;
    w.err = err;
    sqz_status st = emit(&w, g);
    free(w.str_bytes.p);
    free(w.str_off);
    free(w.str_len);
    free(w.hash);
    free(w.graph.p);
    free(w.blobs);
    return st;
}
