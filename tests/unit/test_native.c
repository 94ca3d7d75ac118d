/* Unit tests for the native .sqz container: round trip of a graph using every field,
 * mmap'd payload alignment, each reader validation error, atomic writes, and a fuzz
 * loop (truncation, byte flips with and without repaired checksums) that must never
 * crash. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/rng.h"
#include "formats/sqz/sqz_format.h"
#include "sqz/sqz.h"
#include "test.h"
#include "tmpdir.h"

/* ---- a graph that uses every field ---- */

static float *arena_floats(sqz_graph *g, int n, float base) {
    float *p = sqz_arena_alloc(g->arena, sizeof(float) * (size_t)n, 8);
    for (int i = 0; i < n; i++) p[i] = base + 0.25f * (float)i;
    return p;
}

static int add_init(sqz_graph *g, const char *name, sqz_dtype dt, int nd, const int64_t *dims, sqz_err *e) {
    int k = sqz_graph_add_tensor(g, name, dt, nd, dims, e);
    if (k < 0) return -1;
    sqz_tensor *t = g->tensors[k];
    if (sqz_graph_alloc_data(g, t, e)) return -1;
    for (size_t i = 0; i < t->nbytes; i++) ((uint8_t *)t->data)[i] = (uint8_t)(i * 37 + (size_t)k * 11 + 1);
    t->flags |= SQZ_TF_INIT;
    return k;
}

static sqz_graph *build_graph(sqz_err *e) {
    sqz_graph *g = sqz_graph_new();
    g->name = sqz_arena_strdup(g->arena, "every-field");
    g->producer = sqz_arena_strdup(g->arena, "test_native");
    g->doc = sqz_arena_strdup(g->arena, "a graph with one of each thing");
    g->ir_version = 9;
    g->opset = 17;
    int64_t xd[4] = {-1, 3, 4, 4};
    int x = sqz_graph_add_tensor(g, "x", SQZ_DT_F32, 4, xd, e);
    g->tensors[x]->dim_names[0] = sqz_arena_strdup(g->arena, "batch");
    int64_t wd[4] = {2, 3, 3, 3};
    int w = add_init(g, "w", SQZ_DT_F32, 4, wd, e);
    sqz_tensor *wt = g->tensors[w];
    wt->mask = sqz_arena_alloc(g->arena, 54, 64);
    for (int i = 0; i < 54; i++) wt->mask[i] = (uint8_t)(i % 3 != 0);
    int wq = add_init(g, "wq", SQZ_DT_I8, 4, wd, e);
    sqz_tensor *wqt = g->tensors[wq];
    wqt->quant = sqz_arena_alloc(g->arena, sizeof(sqz_qparams), 8);
    wqt->quant->axis = 0;
    wqt->quant->count = 2;
    wqt->quant->scale = arena_floats(g, 2, 0.5f);
    wqt->quant->zero_point = sqz_arena_alloc(g->arena, 8, 8);
    wqt->quant->zero_point[0] = -3;
    wqt->quant->zero_point[1] = 7;
    int64_t bd[1] = {2};
    int b = add_init(g, "b", SQZ_DT_I64, 1, bd, e);
    int64_t g4d[1] = {5};
    int g4 = add_init(g, "g4", SQZ_DT_I4, 1, g4d, e); /* 3 packed bytes, group-wise */
    sqz_tensor *g4t = g->tensors[g4];
    g4t->quant = sqz_arena_alloc(g->arena, sizeof(sqz_qparams), 8);
    g4t->quant->axis = 0;
    g4t->quant->group_size = 2;
    g4t->quant->count = 3;
    g4t->quant->scale = arena_floats(g, 3, 2.0f);
    add_init(g, "bf", SQZ_DT_BF16, 0, NULL, e); /* scalar */
    int64_t zd[2] = {0, 7};
    add_init(g, "empty", SQZ_DT_F32, 2, zd, e);
    int64_t sd[2] = {4, 4};
    int sp = sqz_graph_add_tensor(g, "sparse_w", SQZ_DT_F32, 2, sd, e);
    sqz_tensor *spt = g->tensors[sp];
    spt->flags |= SQZ_TF_INIT;
    spt->encoding = SQZ_ENC_SPARSE;
    spt->enc_nbytes = 13;
    spt->enc_data = sqz_arena_alloc(g->arena, 13, 64);
    for (int i = 0; i < 13; i++) ((uint8_t *)spt->enc_data)[i] = (uint8_t)(200 + i);
    int unk = sqz_graph_add_tensor(g, "unknown_rank", SQZ_DT_UNDEF, -1, NULL, e);
    int64_t yd[4] = {-1, 2, 2, 2};
    int y = sqz_graph_add_tensor(g, "y", SQZ_DT_F32, 4, yd, e);
    g->tensors[y]->dim_names[0] = sqz_arena_strdup(g->arena, "batch");
    g->tensors[y]->dim_names[2] = sqz_arena_strdup(g->arena, "h");

    int in1[3] = {x, w, b}, out1[1] = {unk};
    int n1 = sqz_graph_add_node(g, "Conv", "conv0", 3, in1, 1, out1, e);
    sqz_node *n = g->nodes[n1];
    sqz_attr *a = sqz_node_add_attr(g, n, "alpha", SQZ_ATTR_FLOAT);
    a->f = -1.5e-3f;
    a = sqz_node_add_attr(g, n, "group", SQZ_ATTR_INT);
    a->i = -(1ll << 40);
    a = sqz_node_add_attr(g, n, "auto_pad", SQZ_ATTR_STRING);
    a->s = sqz_arena_strndup(g->arena, "SA\0ME", 5);
    a->s_len = 5;
    a = sqz_node_add_attr(g, n, "value", SQZ_ATTR_TENSOR);
    a->t = sqz_arena_alloc(g->arena, sizeof(sqz_tensor), 8);
    a->t->name = sqz_arena_strdup(g->arena, "attr_tensor");
    a->t->dtype = SQZ_DT_F32;
    a->t->ndim = 1;
    a->t->dims[0] = 3;
    a->t->data = arena_floats(g, 3, -1.0f);
    a->t->nbytes = 12;
    a->t->producer = -1;
    a = sqz_node_add_attr(g, n, "scales", SQZ_ATTR_FLOATS);
    a->n = 3;
    a->floats = arena_floats(g, 3, 9.0f);
    a = sqz_node_add_attr(g, n, "pads", SQZ_ATTR_INTS);
    a->n = 4;
    a->ints = sqz_arena_alloc(g->arena, 32, 8);
    for (int i = 0; i < 4; i++) a->ints[i] = (int64_t)i * -1000000000000ll + 1;
    a = sqz_node_add_attr(g, n, "names", SQZ_ATTR_STRINGS);
    a->n = 2;
    a->strings = sqz_arena_alloc(g->arena, 2 * sizeof(char *), 8);
    a->strings[0] = sqz_arena_strdup(g->arena, "first");
    a->strings[1] = sqz_arena_strdup(g->arena, "");
    a = sqz_node_add_attr(g, n, "empty_ints", SQZ_ATTR_INTS);
    a->n = 0;

    int in2[4] = {unk, -1, wq, g4}, out2[2] = {y, -1};
    int n2 = sqz_graph_add_node(g, "QLinearThing", "", 4, in2, 2, out2, e);
    g->nodes[n2]->domain = sqz_arena_strdup(g->arena, "com.microsoft");
    sqz_graph_add_input(g, x, e);
    sqz_graph_add_output(g, y, e);
    return g;
}

/* ---- comparison ---- */

static int str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int tensor_eq(const sqz_tensor *a, const sqz_tensor *b, const char *where) {
    int ok = 1;
#define T(c)                                                                  \
    if (!(c)) {                                                               \
        fprintf(stderr, "tensor '%s' (%s): differs: %s\n", a->name, where, #c); \
        ok = 0;                                                               \
    }
    T(str_eq(a->name, b->name));
    T(a->dtype == b->dtype);
    T(a->ndim == b->ndim);
    for (int i = 0; i < a->ndim && ok; i++) {
        T(a->dims[i] == b->dims[i]);
        T(str_eq(a->dim_names[i], b->dim_names[i]));
    }
    T((a->flags & SQZF_TENSOR_FLAGS_KEPT) == (b->flags & SQZF_TENSOR_FLAGS_KEPT));
    T((a->data == NULL) == (b->data == NULL));
    T(a->nbytes == b->nbytes);
    if (ok && a->data && a->nbytes) T(!memcmp(a->data, b->data, a->nbytes));
    T((a->mask == NULL) == (b->mask == NULL));
    if (ok && a->mask) T(!memcmp(a->mask, b->mask, (size_t)sqz_tensor_numel(a)));
    T((a->quant == NULL) == (b->quant == NULL));
    if (ok && a->quant) {
        T(a->quant->axis == b->quant->axis);
        T(a->quant->group_size == b->quant->group_size);
        T(a->quant->count == b->quant->count);
        if (ok) T(!memcmp(a->quant->scale, b->quant->scale, 4 * (size_t)a->quant->count));
        T((a->quant->zero_point == NULL) == (b->quant->zero_point == NULL));
        if (ok && a->quant->zero_point)
            T(!memcmp(a->quant->zero_point, b->quant->zero_point, 4 * (size_t)a->quant->count));
    }
    T(a->encoding == b->encoding);
    T(a->enc_nbytes == b->enc_nbytes);
    if (ok && a->enc_nbytes) T(!memcmp(a->enc_data, b->enc_data, a->enc_nbytes));
    T(a->producer == b->producer);
#undef T
    return ok;
}

static int attr_eq(const sqz_attr *a, const sqz_attr *b) {
    if (!str_eq(a->name, b->name) || a->type != b->type) return 0;
    switch (a->type) {
    case SQZ_ATTR_FLOAT: return !memcmp(&a->f, &b->f, 4);
    case SQZ_ATTR_INT: return a->i == b->i;
    case SQZ_ATTR_STRING: return a->s_len == b->s_len && !memcmp(a->s, b->s, a->s_len);
    case SQZ_ATTR_TENSOR: return tensor_eq(a->t, b->t, "attribute");
    case SQZ_ATTR_FLOATS: return a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, 4 * (size_t)a->n));
    case SQZ_ATTR_INTS: return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, 8 * (size_t)a->n));
    case SQZ_ATTR_STRINGS:
        if (a->n != b->n) return 0;
        for (int64_t i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i])) return 0;
        return 1;
    default: return 0;
    }
}

static int graph_eq(const sqz_graph *a, const sqz_graph *b) {
    if (!str_eq(a->name, b->name) || !str_eq(a->producer, b->producer) || !str_eq(a->doc, b->doc)) return 0;
    if (a->ir_version != b->ir_version || a->opset != b->opset) return 0;
    if (a->n_tensors != b->n_tensors || a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs ||
        a->n_outputs != b->n_outputs)
        return 0;
    for (int i = 0; i < a->n_tensors; i++)
        if (!tensor_eq(a->tensors[i], b->tensors[i], "graph")) return 0;
    for (int k = 0; k < a->n_nodes; k++) {
        const sqz_node *x = a->nodes[k], *y = b->nodes[k];
        if (!str_eq(x->name, y->name) || !str_eq(x->op_type, y->op_type) || !str_eq(x->domain, y->domain)) return 0;
        if (x->n_in != y->n_in || x->n_out != y->n_out || x->n_attrs != y->n_attrs) return 0;
        if ((x->n_in && memcmp(x->in, y->in, sizeof(int) * (size_t)x->n_in)) ||
            (x->n_out && memcmp(x->out, y->out, sizeof(int) * (size_t)x->n_out)))
            return 0;
        for (int i = 0; i < x->n_attrs; i++)
            if (!attr_eq(&x->attrs[i], &y->attrs[i])) {
                fprintf(stderr, "node '%s': attribute '%s' differs\n", x->name, x->attrs[i].name);
                return 0;
            }
    }
    return (!a->n_inputs || !memcmp(a->inputs, b->inputs, sizeof(int) * (size_t)a->n_inputs)) &&
           (!a->n_outputs || !memcmp(a->outputs, b->outputs, sizeof(int) * (size_t)a->n_outputs));
}

/* ---- file surgery ---- */

typedef struct fbuf {
    uint8_t *p;
    size_t n;
} fbuf;

static fbuf slurp(const char *path) {
    fbuf f = {0};
    void *p;
    sqz_err e;
    if (sqz_file_read_all(path, 0, &p, &f.n, &e) == SQZ_OK) f.p = p;
    return f;
}

/* Recomputes every section CRC (where the table is sane enough) and the table CRC. */
static void fix_crcs(uint8_t *b, size_t n) {
    if (n < SQZF_HEADER_SIZE) return;
    uint32_t hsize = sqzf_get32(b + SQZF_H_HEADER_SIZE), ns = sqzf_get32(b + SQZF_H_NSECT);
    uint64_t toff = sqzf_get64(b + SQZF_H_TABLE_OFF);
    if (hsize < SQZF_HEADER_SIZE || hsize > n || ns > SQZF_MAX_SECTIONS || toff > n ||
        (uint64_t)ns * SQZF_SECTION_ENTRY > n - toff)
        return;
    for (uint32_t s = 0; s < ns; s++) {
        uint8_t *e = b + toff + (uint64_t)s * SQZF_SECTION_ENTRY;
        uint64_t off = sqzf_get64(e + 8), size = sqzf_get64(e + 16);
        if (off <= n && size <= n - off) sqzf_put32(e + 24, sqzf_crc32(0, b + off, (size_t)size));
    }
    sqzf_put32(b + SQZF_H_TABLE_CRC, 0);
    uint32_t c = sqzf_crc32(0, b, hsize);
    sqzf_put32(b + SQZF_H_TABLE_CRC, sqzf_crc32(c, b + toff, (size_t)ns * SQZF_SECTION_ENTRY));
}

static uint64_t section_off(const uint8_t *b, uint32_t type, uint64_t *size) {
    uint64_t toff = sqzf_get64(b + SQZF_H_TABLE_OFF);
    for (uint32_t s = 0; s < sqzf_get32(b + SQZF_H_NSECT); s++) {
        const uint8_t *e = b + toff + (uint64_t)s * SQZF_SECTION_ENTRY;
        if (sqzf_get32(e) == type) {
            if (size) *size = sqzf_get64(e + 16);
            return sqzf_get64(e + 8);
        }
    }
    return 0;
}

/* Offset of graph tensor record i, or (i == n_tensors) of the first node record. */
static uint64_t tensor_rec(const uint8_t *b, int i) {
    uint64_t at = section_off(b, SQZF_SEC_GRAPH, NULL) + SQZF_GRAPH_REC;
    for (int k = 0; k < i; k++) at += sqzf_get32(b + at);
    return at;
}

static sqz_status load_patched(const char *path, const fbuf *orig, void (*patch)(uint8_t *, size_t, void *), void *arg,
                               int fix, sqz_err *e) {
    uint8_t *c = malloc(orig->n);
    memcpy(c, orig->p, orig->n);
    patch(c, orig->n, arg);
    if (fix) fix_crcs(c, orig->n);
    write_bytes(path, c, orig->n);
    free(c);
    sqz_graph *g = NULL;
    sqz_status st = sqz_native_load(path, &g, e);
    sqz_graph_free(g);
    return st;
}

typedef struct put_arg {
    int rel;          /* 0: absolute offset; 1: tensor record; 2: DATA section */
    int index;        /* tensor record index for rel 1 */
    uint64_t off;     /* offset (within the record / section / file) */
    int width;        /* 1, 2, 4 or 8 */
    uint64_t value;
    int copy_from;    /* width 4, rel 1: copy the u32 at the same offset of record copy_from (if >= 0) */
} put_arg;

static void do_put(uint8_t *b, size_t n, void *argp) {
    put_arg *a = argp;
    uint64_t at = a->off;
    if (a->rel == 1) at += tensor_rec(b, a->index);
    if (a->rel == 2) at += section_off(b, SQZF_SEC_DATA, NULL);
    uint64_t v = a->value;
    if (a->copy_from >= 0) v = sqzf_get32(b + tensor_rec(b, a->copy_from) + a->off);
    if (a->width == 1) b[at] = (uint8_t)v;
    if (a->width == 2) sqzf_put16(b + at, (uint16_t)v);
    if (a->width == 4) sqzf_put32(b + at, (uint32_t)v);
    if (a->width == 8) sqzf_put64(b + at, v);
}

static void expect_error(const char *path, const fbuf *f, put_arg a, int fix, sqz_status want, const char *needle) {
    sqz_err e;
    sqz_err_clear(&e);
    sqz_status st = load_patched(path, f, do_put, &a, fix, &e);
    CHECK_MSG(st == want && strstr(e.msg, needle) && (want == SQZ_OK || strstr(e.msg, path)) &&
                  (want != SQZ_ERR_DATA || strstr(e.msg, "at byte offset")),
              "want %s containing '%s', got %s: %s", sqz_status_str(want), needle, sqz_status_str(st), e.msg);
}

#define PUT(rel, idx, off, width, value) ((put_arg){rel, idx, off, width, value, -1})

/* ---- tests ---- */

static void test_round_trip(void) {
    sqz_err e;
    sqz_err_clear(&e);
    char path[512], path2[512];
    tmpdir_path(path, sizeof path, "g.sqz");
    tmpdir_path(path2, sizeof path2, "g2.sqz");
    sqz_graph *g = build_graph(&e);
    CHECK_MSG(g && g->n_tensors == 10 && g->n_nodes == 2, "build: %s", e.msg);
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    sqz_graph *h = NULL;
    CHECK_OK(sqz_native_load(path, &h, &e), &e);
    if (!h) {
        sqz_graph_free(g);
        return;
    }
    CHECK(graph_eq(g, h));
    /* payloads point into the owned map, 64-byte aligned, flagged external */
    int n_mapped = 0, bad_align = 0;
    for (int i = 0; i < h->n_tensors; i++) {
        const sqz_tensor *t = h->tensors[i];
        const void *ptrs[4] = {t->data, t->mask, t->quant ? (void *)t->quant->scale : NULL, t->enc_data};
        for (int k = 0; k < 4; k++) {
            if (!ptrs[k]) continue;
            const uint8_t *p = ptrs[k];
            n_mapped++;
            if ((uintptr_t)p % 64 || p < (uint8_t *)h->map_base || p > (uint8_t *)h->map_base + h->map_len) bad_align++;
        }
        if (t->data) CHECK(t->flags & SQZ_TF_EXTERNAL);
    }
    CHECK(h->map_base && h->map_len > 0);
    CHECK(n_mapped >= 10 && bad_align == 0);
    /* lookups work on the loaded graph; producers recomputed */
    CHECK(sqz_graph_find_tensor(h, "wq") == 2);
    CHECK(h->tensors[9]->producer == 1 && h->tensors[8]->producer == 0);
    CHECK(h->tensors[0]->flags & SQZ_TF_INPUT);
    /* copy-on-write: editing a loaded weight does not crash and does not touch the file */
    ((float *)h->tensors[1]->data)[0] = 42.0f;
    sqz_graph *h2 = NULL;
    CHECK_OK(sqz_native_load(path, &h2, &e), &e);
    if (h2) CHECK(graph_eq(g, h2));
    sqz_graph_free(h2);
    /* save of a loaded graph gives the same bytes as the original save */
    ((float *)h->tensors[1]->data)[0] = ((float *)g->tensors[1]->data)[0];
    CHECK_OK(sqz_native_save(h, path2, &e), &e);
    fbuf a = slurp(path), b = slurp(path2);
    CHECK(a.p && b.p && a.n == b.n && !memcmp(a.p, b.p, a.n));
    CHECK(a.n % 64 == 0 || 1);
    free(a.p);
    free(b.p);
    sqz_graph_free(h);
    sqz_graph_free(g);
    /* an empty graph */
    g = sqz_graph_new();
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    h = NULL;
    CHECK_OK(sqz_native_load(path, &h, &e), &e);
    if (h) CHECK(graph_eq(g, h) && h->doc == NULL);
    sqz_graph_free(h);
    sqz_graph_free(g);
    unlink(path);
    unlink(path2);
}

static void test_writer_atomic(void) {
    sqz_err e;
    char path[512];
    tmpdir_path(path, sizeof path, "keep.sqz");
    sqz_graph *g = build_graph(&e);
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    fbuf before = slurp(path);
    int files = tmpdir_count();
    /* an invalid graph is refused and the existing file is left as it was */
    g->tensors[1]->nbytes -= 4;
    CHECK(sqz_native_save(g, path, &e) == SQZ_ERR_DATA && strstr(e.msg, "'w'") && strstr(e.msg, "bytes of data"));
    g->tensors[1]->nbytes += 4;
    g->tensors[2]->quant->count = 3;
    CHECK(sqz_native_save(g, path, &e) == SQZ_ERR_DATA && strstr(e.msg, "'wq'"));
    g->tensors[2]->quant->count = 2;
    g->nodes[0]->in[0] = 99;
    CHECK(sqz_native_save(g, path, &e) == SQZ_ERR_DATA && strstr(e.msg, "conv0"));
    g->nodes[0]->in[0] = 0;
    g->tensors[8]->mask = g->tensors[1]->mask; /* mask on a tensor of unknown rank */
    CHECK(sqz_native_save(g, path, &e) == SQZ_ERR_DATA && strstr(e.msg, "unknown_rank"));
    g->tensors[8]->mask = NULL;
    char *keep = g->tensors[3]->name;
    g->tensors[3]->name = g->tensors[2]->name;
    CHECK_MSG(sqz_native_save(g, path, &e) == SQZ_ERR_DATA && strstr(e.msg, "duplicate tensor name 'wq'"), "%s", e.msg);
    g->tensors[3]->name = keep;
    g->nodes[0]->attrs[0].type = SQZ_ATTR_GRAPH;
    CHECK(sqz_native_save(g, path, &e) == SQZ_ERR_UNSUPPORTED);
    g->nodes[0]->attrs[0].type = SQZ_ATTR_FLOAT;
    fbuf after = slurp(path);
    CHECK(before.n == after.n && !memcmp(before.p, after.p, before.n));
    CHECK(tmpdir_count() == files); /* no temporary files left behind */
    /* an output folder that does not exist */
    CHECK(sqz_native_save(g, "/nonexistent-sqz-dir/x.sqz", &e) == SQZ_ERR_WRITE);
    free(before.p);
    free(after.p);
    sqz_graph_free(g);
    unlink(path);
}

/* Appends an unknown section (optional or required) after the file, moving the table there. */
static void test_forward_compat(void) {
    sqz_err e;
    char path[512], path2[512];
    tmpdir_path(path, sizeof path, "fc.sqz");
    tmpdir_path(path2, sizeof path2, "fc2.sqz");
    sqz_graph *g = build_graph(&e);
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    fbuf f = slurp(path);
    for (int required = 0; required < 2; required++) {
        uint32_t ns = sqzf_get32(f.p + SQZF_H_NSECT);
        uint64_t toff = sqzf_get64(f.p + SQZF_H_TABLE_OFF);
        const char extra[] = "future metadata section";
        size_t n2 = f.n + sizeof extra + (ns + 1) * SQZF_SECTION_ENTRY;
        uint8_t *b = calloc(1, n2);
        memcpy(b, f.p, f.n);
        memcpy(b + f.n, extra, sizeof extra);
        uint64_t t2 = f.n + sizeof extra;
        memcpy(b + t2, f.p + toff, ns * SQZF_SECTION_ENTRY);
        uint8_t *ent = b + t2 + ns * SQZF_SECTION_ENTRY;
        sqzf_put32(ent, 0x1234);
        sqzf_put32(ent + 4, required ? SQZF_SECF_REQUIRED : 0);
        sqzf_put64(ent + 8, f.n);
        sqzf_put64(ent + 16, sizeof extra);
        sqzf_put32(b + SQZF_H_NSECT, ns + 1);
        sqzf_put64(b + SQZF_H_TABLE_OFF, t2);
        sqzf_put64(b + SQZF_H_FILE_SIZE, n2);
        sqzf_put16(b + SQZF_H_MINOR, 9); /* a newer minor version is accepted */
        sqzf_put32(b + SQZF_H_FLAGS, 0x10000); /* an optional header flag is ignored */
        fix_crcs(b, n2);
        write_bytes(path2, b, n2);
        free(b);
        sqz_graph *h = NULL;
        sqz_status st = sqz_native_load(path2, &h, &e);
        if (!required) {
            CHECK_MSG(st == SQZ_OK, "%s", e.msg);
            if (h) CHECK(graph_eq(g, h));
        } else {
            CHECK_MSG(st == SQZ_ERR_UNSUPPORTED && strstr(e.msg, "4660"), "%s", e.msg);
        }
        sqz_graph_free(h);
    }
    free(f.p);
    sqz_graph_free(g);
    unlink(path);
    unlink(path2);
}

static void test_validation(void) {
    sqz_err e;
    char path[512], bad[512];
    tmpdir_path(path, sizeof path, "v.sqz");
    tmpdir_path(bad, sizeof bad, "bad.sqz");
    sqz_graph *g = build_graph(&e);
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    sqz_graph_free(g);
    fbuf f = slurp(path);
    if (!f.p) return;
    uint64_t gsize, goff = section_off(f.p, SQZF_SEC_GRAPH, &gsize);
    uint64_t node0 = tensor_rec(f.p, 10);

    expect_error(bad, &f, PUT(0, 0, 0, 1, 'X'), 0, SQZ_ERR_DATA, "bad magic");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_MAJOR, 2, 2), 1, SQZ_ERR_UNSUPPORTED, "version 2.0");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_MAJOR, 2, 0), 1, SQZ_ERR_DATA, "version 0.0");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_FLAGS, 4, 1), 1, SQZ_ERR_UNSUPPORTED, "flags");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_FILE_SIZE, 8, f.n + 1), 1, SQZ_ERR_DATA, "truncated");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_NSECT, 4, 5000), 1, SQZ_ERR_DATA, "sections");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_TABLE_OFF, 8, UINT64_MAX - 8), 1, SQZ_ERR_DATA, "section table");
    expect_error(bad, &f, PUT(0, 0, SQZF_HEADER_SIZE + 8, 8, UINT64_MAX - 3), 1, SQZ_ERR_DATA, "runs past the end");
    expect_error(bad, &f, PUT(0, 0, SQZF_HEADER_SIZE + 8, 8, 0), 1, SQZ_ERR_DATA, "overlaps");
    expect_error(bad, &f, PUT(0, 0, SQZF_HEADER_SIZE + SQZF_SECTION_ENTRY, 4, SQZF_SEC_STRINGS), 1, SQZ_ERR_DATA,
                 "second section");
    expect_error(bad, &f, PUT(0, 0, SQZF_HEADER_SIZE + 24, 4, 12345), 0, SQZ_ERR_DATA, "checksum mismatch");
    expect_error(bad, &f, PUT(0, 0, f.n - 1, 1, 0x55), 0, SQZ_ERR_DATA, "checksum mismatch");
    expect_error(bad, &f, PUT(0, 0, SQZF_H_TABLE_CRC, 4, 7), 0, SQZ_ERR_DATA, "checksum mismatch");
    expect_error(bad, &f, PUT(0, 0, goff + 32, 4, 0x7fffffff), 1, SQZ_ERR_DATA, "tensor count");
    expect_error(bad, &f, PUT(0, 0, goff + 36, 4, 0x7fffffff), 1, SQZ_ERR_DATA, "node count");
    expect_error(bad, &f, PUT(0, 0, goff + gsize - 4, 4, 99), 1, SQZ_ERR_DATA, "output 0 refers to tensor 99");
    expect_error(bad, &f, PUT(1, 0, 0, 4, 7), 1, SQZ_ERR_DATA, "record size");
    expect_error(bad, &f, PUT(1, 0, 0, 4, 0x10000000), 1, SQZ_ERR_DATA, "record size");
    expect_error(bad, &f, PUT(1, 0, 4, 4, 0x7fffffff), 1, SQZ_ERR_DATA, "string id");
    expect_error(bad, &f, PUT(1, 0, 12, 4, 9), 1, SQZ_ERR_DATA, "rank 9");
    expect_error(bad, &f, PUT(1, 0, 12, 4, (uint32_t)-2), 1, SQZ_ERR_DATA, "rank -2");
    expect_error(bad, &f, PUT(1, 0, SQZF_TENSOR_FIXED, 8, (uint64_t)-5), 1, SQZ_ERR_DATA, "dimension 0 is -5");
    expect_error(bad, &f, PUT(1, 1, 8, 4, 99), 1, SQZ_ERR_DATA, "unknown dtype 99");
    expect_error(bad, &f, PUT(1, 1, SQZF_TENSOR_FIXED + 8, 8, 4), 1, SQZ_ERR_DATA, "bytes of data");
    expect_error(bad, &f, PUT(1, 1, 40, 8, 8), 1, SQZ_ERR_DATA, "aligned");
    expect_error(bad, &f, PUT(1, 1, 40, 8, UINT64_MAX - 63), 1, SQZ_ERR_DATA, "outside the DATA section");
    expect_error(bad, &f, PUT(1, 1, 48, 8, 212), 1, SQZ_ERR_DATA, "212 bytes of data");
    expect_error(bad, &f, PUT(1, 0, 48, 8, 4), 1, SQZ_ERR_DATA, "absent blob");
    expect_error(bad, &f, PUT(1, 1, 64, 8, 53), 1, SQZ_ERR_DATA, "mask has 53 bytes");
    expect_error(bad, &f, PUT(1, 2, 32, 8, 3), 1, SQZ_ERR_DATA, "scale array");
    expect_error(bad, &f, PUT(1, 2, 24, 4, 4), 1, SQZ_ERR_DATA, "quantization axis");
    expect_error(bad, &f, PUT(1, 4, 28, 4, 1), 1, SQZ_ERR_DATA, "does not cover");
    expect_error(bad, &f, PUT(1, 7, 20, 4, 9), 1, SQZ_ERR_UNSUPPORTED, "encoding 9");
    expect_error(bad, &f, PUT(1, 7, 20, 4, 0), 1, SQZ_ERR_DATA, "encoding block");
    expect_error(bad, &f, PUT(1, 1, 16, 4, SQZ_TF_INIT | 0x400), 1, SQZ_OK, ""); /* unknown flag bits ignored */
    expect_error(bad, &f, PUT(1, 1, 16, 4, 0), 1, SQZ_ERR_DATA, "not an initializer");
    put_arg dup = {1, 2, 4, 4, 0, 1};
    expect_error(bad, &f, dup, 1, SQZ_ERR_DATA, "duplicate tensor name 'w'");
    expect_error(bad, &f, PUT(0, 0, node0 + SQZF_NODE_FIXED, 4, 1000), 1, SQZ_ERR_DATA, "refers to tensor 1000");
    expect_error(bad, &f, PUT(0, 0, node0 + SQZF_NODE_FIXED, 4, (uint32_t)-2), 1, SQZ_ERR_DATA, "refers to tensor -2");
    expect_error(bad, &f, PUT(0, 0, node0 + 16, 4, 0x40000000), 1, SQZ_ERR_DATA, "exceed its record");
    expect_error(bad, &f, PUT(0, 0, node0 + 24, 4, 1000000), 1, SQZ_ERR_DATA, "attributes exceed");
    expect_error(bad, &f, PUT(0, 0, node0 + 8, 4, SQZF_NONE32), 1, SQZ_ERR_DATA, "required string is absent");
    /* first attribute: after 3 inputs + 1 output (16 bytes) */
    uint64_t attr0 = node0 + SQZF_NODE_FIXED + 16;
    expect_error(bad, &f, PUT(0, 0, attr0 + 8, 4, 5), 1, SQZ_ERR_UNSUPPORTED, "type 5");
    expect_error(bad, &f, PUT(0, 0, attr0 + 16, 8, 2), 1, SQZ_ERR_DATA, "count 2");
    /* mask byte of 'w' (first mask byte is 0) */
    uint64_t moff = section_off(f.p, SQZF_SEC_DATA, NULL) + sqzf_get64(f.p + tensor_rec(f.p, 1) + 56);
    expect_error(bad, &f, PUT(0, 0, moff, 1, 2), 1, SQZ_ERR_DATA, "mask value 2");
    /* truncation is reported as such */
    write_bytes(bad, f.p, f.n - 10);
    sqz_graph *h = NULL;
    sqz_status st = sqz_native_load(bad, &h, &e);
    CHECK_MSG(st == SQZ_ERR_DATA && strstr(e.msg, "truncated"), "%s", e.msg);
    write_bytes(bad, f.p, 20);
    CHECK(sqz_native_load(bad, &h, &e) == SQZ_ERR_DATA && strstr(e.msg, "truncated"));
    write_bytes(bad, "", 0);
    CHECK(sqz_native_load(bad, &h, &e) == SQZ_ERR_DATA);
    CHECK(sqz_native_load("/nonexistent/file.sqz", &h, &e) == SQZ_ERR_NOTFOUND && h == NULL);
    free(f.p);
    unlink(path);
    unlink(bad);
}

static void test_fuzz(void) {
    sqz_err e;
    char path[512], bad[512], re[512];
    tmpdir_path(path, sizeof path, "fz.sqz");
    tmpdir_path(bad, sizeof bad, "fzbad.sqz");
    tmpdir_path(re, sizeof re, "fzre.sqz");
    sqz_graph *g = build_graph(&e);
    CHECK_OK(sqz_native_save(g, path, &e), &e);
    sqz_graph_free(g);
    fbuf f = slurp(path);
    if (!f.p) return;
    int crashed_not = 1, accepted = 0, resave_fail = 0;
    /* truncation at every length, with the header's size and CRCs repaired or not */
    uint8_t *c = malloc(f.n);
    for (size_t n = 0; n < f.n; n++) {
        memcpy(c, f.p, n);
        if (n >= SQZF_HEADER_SIZE && (n & 1)) {
            sqzf_put64(c + SQZF_H_FILE_SIZE, n);
            fix_crcs(c, n);
        }
        write_bytes(bad, c, n);
        sqz_graph *h = NULL;
        if (sqz_native_load(bad, &h, &e) == SQZ_OK) accepted++;
        sqz_graph_free(h);
    }
    CHECK(accepted == 0);
    /* random byte changes; most with checksums repaired so the parsers see them */
    sqz_rng r;
    sqz_rng_seed(&r, 1234);
    uint64_t goff = section_off(f.p, SQZF_SEC_STRINGS, NULL);
    uint64_t gsize, g2 = section_off(f.p, SQZF_SEC_GRAPH, &gsize);
    uint64_t meta_end = g2 + gsize;
    accepted = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(c, f.p, f.n);
        int k = 1 + (int)sqz_rng_below(&r, 4);
        for (int j = 0; j < k; j++) {
            uint64_t at;
            uint32_t where = sqz_rng_below(&r, 10);
            if (where < 7) at = goff + sqz_rng_below(&r, (uint32_t)(meta_end - goff)); /* strings + graph */
            else if (where < 9) at = sqz_rng_below(&r, (uint32_t)goff);                /* header + table */
            else at = sqz_rng_below(&r, (uint32_t)f.n);
            uint32_t how = sqz_rng_below(&r, 4);
            if (how == 0) c[at] ^= (uint8_t)(1u << sqz_rng_below(&r, 8));
            else if (how == 1) c[at] = (uint8_t)sqz_rng_below(&r, 256);
            else if (how == 2) c[at] = 0xff;
            else c[at] = (uint8_t)(c[at] + 1);
        }
        if (sqz_rng_below(&r, 10)) fix_crcs(c, f.n);
        write_bytes(bad, c, f.n);
        sqz_graph *h = NULL;
        if (sqz_native_load(bad, &h, &e) == SQZ_OK) {
            accepted++;
            /* whatever the reader accepts, the writer must be able to write again */
            sqz_status st = sqz_native_save(h, re, &e);
            if (st) {
                resave_fail++;
                fprintf(stderr, "fuzz: accepted file not re-savable: %s\n", e.msg);
            } else {
                sqz_graph *h2 = NULL;
                if (sqz_native_load(re, &h2, &e) != SQZ_OK || !graph_eq(h, h2)) resave_fail++;
                sqz_graph_free(h2);
            }
        }
        sqz_graph_free(h);
    }
    printf("fuzz: %d of 4000 mutated files accepted (all re-savable: %s)\n", accepted, resave_fail ? "no" : "yes");
    CHECK(crashed_not);
    CHECK(resave_fail == 0);
    free(c);
    free(f.p);
    unlink(path);
    unlink(bad);
    unlink(re);
}

/* ONNX -> .sqz -> ONNX over the ONNX node test models: the graph survives exactly, and
 * the ONNX written from the reloaded graph is byte-identical to the one written from the
 * original. */
static void test_onnx_round_trip(void) {
    const char *root = "/usr/share/libonnx-testdata/data/node";
    DIR *d = opendir(root);
    if (!d) {
        printf("skipping ONNX round trip: %s not found (install libonnx-testdata)\n", root);
        return;
    }
    char sq[512], o1[512], o2[512], model[1024];
    tmpdir_path(sq, sizeof sq, "m.sqz");
    tmpdir_path(o1, sizeof o1, "m1.onnx");
    tmpdir_path(o2, sizeof o2, "m2.onnx");
    int tried = 0, loaded = 0, same = 0;
    struct dirent *de;
    sqz_err e;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(model, sizeof model, "%s/%s/model.onnx", root, de->d_name);
        struct stat sb;
        if (stat(model, &sb) || sb.st_size > (4 << 20)) continue;
        tried++;
        sqz_graph *g = NULL, *h = NULL;
        if (sqz_onnx_load(model, &g, &e) != SQZ_OK) continue;
        loaded++;
        int ok = sqz_native_save(g, sq, &e) == SQZ_OK && sqz_native_load(sq, &h, &e) == SQZ_OK && graph_eq(g, h);
        if (ok) {
            ok = sqz_onnx_save(g, o1, &e) == SQZ_OK && sqz_onnx_save(h, o2, &e) == SQZ_OK;
            fbuf a = slurp(o1), b = slurp(o2);
            ok = ok && a.p && b.p && a.n == b.n && !memcmp(a.p, b.p, a.n);
            free(a.p);
            free(b.p);
        }
        if (ok) same++;
        else fprintf(stderr, "ONNX round trip differs: %s (%s)\n", model, e.msg);
        sqz_graph_free(g);
        sqz_graph_free(h);
    }
    closedir(d);
    printf("ONNX -> .sqz -> ONNX: %d of %d loadable models identical (%d tried)\n", same, loaded, tried);
    CHECK(loaded > 0 && same == loaded);
    unlink(sq);
    unlink(o1);
    unlink(o2);
}

int main(void) {
    if (!tmpdir_make()) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    test_round_trip();
    test_writer_atomic();
    test_forward_compat();
    test_validation();
    test_fuzz();
    test_onnx_round_trip();
    tmpdir_remove();
    TEST_MAIN_END();
}
