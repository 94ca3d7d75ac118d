/* Unit tests for ONNX import/export (formats/onnx) and model format dispatch (formats/model.c).
 * Uses Debian's libonnx-testdata models; models with external data and broken
 * models are built in memory with the protobuf-c types. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/rng.h"
#include "onnx.pb-c.h"
#include "sqz/sqz.h"
#include "test.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"

static char tmpdir[256];

static void tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

static int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int contains(const char *hay, const char *needle) {
    return strstr(hay, needle) != NULL;
}

/* ---- graph comparison ---- */

static int same_tensor(const sqz_tensor *a, const sqz_tensor *b, int check_flags) {
    if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] != b->dims[i]) return 0;
        if (!a->dim_names[i] != !b->dim_names[i]) return 0;
        if (a->dim_names[i] && strcmp(a->dim_names[i], b->dim_names[i])) return 0;
    }
    uint32_t mask = SQZ_TF_INIT | SQZ_TF_INPUT | SQZ_TF_OUTPUT;
    if (check_flags && (a->flags & mask) != (b->flags & mask)) return 0;
    if (!!a->data != !!b->data || a->nbytes != b->nbytes) return 0;
    return !a->data || memcmp(a->data, b->data, a->nbytes) == 0;
}

static int same_attr(const sqz_attr *a, const sqz_attr *b) {
    if (strcmp(a->name, b->name) || a->type != b->type) return 0;
    switch (a->type) {
    case SQZ_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case SQZ_ATTR_INT: return a->i == b->i;
    case SQZ_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case SQZ_ATTR_TENSOR: return same_tensor(a->t, b->t, 0);
    case SQZ_ATTR_FLOATS: return a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, sizeof(float) * a->n));
    case SQZ_ATTR_INTS: return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, sizeof(int64_t) * a->n));
    case SQZ_ATTR_STRINGS:
        if (a->n != b->n) return 0;
        for (int64_t i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i])) return 0;
        return 1;
    default: return 0;
    }
}

static const char *tname(const sqz_graph *g, int i) {
    return i < 0 ? "" : g->tensors[i]->name;
}

/* Returns NULL when equal, else what differs. */
static const char *graph_diff(const sqz_graph *a, const sqz_graph *b) {
    if (strcmp(a->name, b->name)) return "name";
    if (a->opset != b->opset) return "opset";
    if (a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) return "counts";
    for (int i = 0; i < a->n_inputs; i++)
        if (strcmp(tname(a, a->inputs[i]), tname(b, b->inputs[i]))) return "inputs";
    for (int i = 0; i < a->n_outputs; i++)
        if (strcmp(tname(a, a->outputs[i]), tname(b, b->outputs[i]))) return "outputs";
    for (int i = 0; i < a->n_tensors; i++) {
        const sqz_tensor *ta = a->tensors[i];
        int j = sqz_graph_find_tensor(b, ta->name);
        if (j < 0) {
            /* a tensor nobody uses (declared only in value_info) may vanish */
            if (ta->flags & (SQZ_TF_INIT | SQZ_TF_INPUT | SQZ_TF_OUTPUT) || ta->producer >= 0) return "tensor missing";
            continue;
        }
        if (!same_tensor(ta, b->tensors[j], 1)) return ta->name;
    }
    for (int k = 0; k < a->n_nodes; k++) {
        const sqz_node *x = a->nodes[k], *y = b->nodes[k];
        if (strcmp(x->name, y->name) || strcmp(x->op_type, y->op_type) || strcmp(x->domain, y->domain)) return "node";
        if (x->n_in != y->n_in || x->n_out != y->n_out || x->n_attrs != y->n_attrs) return "node arity";
        for (int i = 0; i < x->n_in; i++)
            if (strcmp(tname(a, x->in[i]), tname(b, y->in[i]))) return "node input";
        for (int i = 0; i < x->n_out; i++)
            if (strcmp(tname(a, x->out[i]), tname(b, y->out[i]))) return "node output";
        for (int i = 0; i < x->n_attrs; i++)
            if (!same_attr(&x->attrs[i], &y->attrs[i])) return x->attrs[i].name;
    }
    return NULL;
}

/* Saves g as ONNX in the temp folder, reloads it and compares. */
static int round_trip(const sqz_graph *g, const char *label) {
    char path[512];
    tmp_path(path, sizeof path, "rt.onnx");
    sqz_err e;
    sqz_status st = sqz_onnx_save(g, path, &e);
    if (st) {
        if (st == SQZ_ERR_UNSUPPORTED) return 1;
        fprintf(stderr, "%s: save failed: %s\n", label, e.msg);
        return 0;
    }
    sqz_graph *h = NULL;
    if (sqz_onnx_load(path, &h, &e)) {
        fprintf(stderr, "%s: reload failed: %s\n", label, e.msg);
        return 0;
    }
    const char *d = graph_diff(g, h);
    if (d) fprintf(stderr, "%s: round trip differs at %s\n", label, d);
    sqz_graph_free(h);
    unlink(path);
    return d == NULL;
}

/* ---- real models ---- */

static void test_conv2d(void) {
    sqz_err e;
    sqz_graph *g = NULL;
    CHECK_OK(sqz_onnx_load(TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", &g, &e), &e);
    if (!g) return;
    CHECK(g->n_nodes == 1 && g->n_inputs == 1 && g->n_outputs == 1);
    CHECK(g->opset == 6 && g->ir_version == 3);
    CHECK(!strcmp(g->producer, "pytorch"));
    CHECK(g->base_dir && !strcmp(g->base_dir, TESTDATA "/pytorch-converted/test_Conv2d"));
    const sqz_node *n = g->nodes[0];
    CHECK(!strcmp(n->op_type, "Conv") && n->n_in == 3 && n->n_out == 1 && n->n_attrs == 5);
    CHECK(!strcmp(n->name, "Conv_0")); /* generated: the file has no node names */
    const int64_t *ks;
    CHECK(sqz_node_attr_ints(n, "kernel_shape", &ks) == 2 && ks[0] == 3 && ks[1] == 2);
    CHECK(sqz_node_attr_int(n, "group", 0) == 1);
    const sqz_tensor *x = g->tensors[g->inputs[0]];
    CHECK(!strcmp(x->name, "0") && x->dtype == SQZ_DT_F32 && x->ndim == 4 && x->dims[2] == 7);
    int wi = sqz_graph_find_tensor(g, "1"), bi = sqz_graph_find_tensor(g, "2");
    CHECK(wi >= 0 && bi >= 0);
    if (wi >= 0 && bi >= 0) {
        const sqz_tensor *w = g->tensors[wi], *b = g->tensors[bi];
        CHECK((w->flags & SQZ_TF_INIT) && !(w->flags & SQZ_TF_INPUT));
        CHECK(w->ndim == 4 && w->dims[0] == 4 && w->dims[3] == 2 && w->nbytes == 288);
        CHECK(b->nbytes == 16);
        CHECK_NEAR(((const float *)b->data)[0], -0.17454392, 1e-7);
        CHECK_NEAR(((const float *)b->data)[3], 0.18244947, 1e-7);
    }
    CHECK(round_trip(g, "test_Conv2d"));
    sqz_graph_free(g);
}

static void test_constant_and_if(void) {
    sqz_err e;
    sqz_graph *g = NULL;
    CHECK_OK(sqz_onnx_load(TESTDATA "/node/test_constant/model.onnx", &g, &e), &e);
    if (g) {
        const sqz_attr *a = sqz_node_attr(g->nodes[0], "value");
        CHECK(a && a->type == SQZ_ATTR_TENSOR && a->t);
        if (a && a->t) {
            CHECK(a->t->ndim == 2 && a->t->dims[0] == 5 && a->t->dims[1] == 5 && a->t->nbytes == 100);
            CHECK_NEAR(((const float *)a->t->data)[0], 1.7640524, 1e-6);
            CHECK_NEAR(((const float *)a->t->data)[2], 0.978738, 1e-6);
            CHECK(sqz_graph_find_tensor(g, a->t->name) < 0 || !a->t->name[0]);
        }
        CHECK(g->n_inputs == 0 && g->n_outputs == 1);
        CHECK(round_trip(g, "test_constant"));
        sqz_graph_free(g);
    }
    g = NULL;
    sqz_status st = sqz_onnx_load(TESTDATA "/node/test_if/model.onnx", &g, &e);
    CHECK(st == SQZ_ERR_UNSUPPORTED && !g);
    CHECK_MSG(contains(e.msg, "test_if/model.onnx: node '") && contains(e.msg, "(If): attribute '") &&
                  contains(e.msg, "holds a subgraph, which sqz does not support"),
              "%s", e.msg);
}

/* Loads every model in a test-data folder: each must load or be refused as
 * unsupported, and each loaded model must survive save -> load unchanged. */
static void test_corpus(const char *sub, int min_ok) {
    char dirpath[512];
    snprintf(dirpath, sizeof dirpath, "%s/%s", TESTDATA, sub);
    DIR *d = opendir(dirpath);
    CHECK_MSG(d != NULL, "%s", dirpath);
    if (!d) return;
    int ok = 0, unsup = 0, bad = 0, rt_bad = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model.onnx", dirpath, de->d_name);
        if (!sqz_file_exists(path)) continue;
        sqz_err e;
        sqz_graph *g = NULL;
        sqz_status st = sqz_onnx_load(path, &g, &e);
        if (st == SQZ_OK) {
            ok++;
            if (!round_trip(g, de->d_name)) rt_bad++;
            sqz_graph_free(g);
        } else if (st == SQZ_ERR_UNSUPPORTED) {
            unsup++;
            if (strncmp(e.msg, path, strlen(path))) {
                bad++;
                fprintf(stderr, "message without path: %s\n", e.msg);
            }
        } else {
            bad++;
            fprintf(stderr, "%s\n", e.msg);
        }
    }
    closedir(d);
    printf("%s: %d loaded, %d unsupported, %d failed, %d round-trip failures\n", sub, ok, unsup, bad, rt_bad);
    CHECK(bad == 0);
    CHECK(rt_bad == 0);
    CHECK_MSG(ok >= min_ok, "%d", ok);
}

static void test_load_tensor(void) {
    sqz_err e;
    sqz_tensor in, out;
    CHECK_OK(sqz_onnx_load_tensor(TESTDATA "/node/test_abs/test_data_set_0/input_0.pb", &in, &e), &e);
    CHECK_OK(sqz_onnx_load_tensor(TESTDATA "/node/test_abs/test_data_set_0/output_0.pb", &out, &e), &e);
    CHECK(!strcmp(in.name, "x") && in.dtype == SQZ_DT_F32 && in.ndim == 3 && in.dims[2] == 5 && in.nbytes == 240);
    CHECK(in.flags & SQZ_TF_OWNED);
    int bad = 0;
    for (int64_t i = 0; i < 60 && out.nbytes == 240; i++)
        if (fabs(sqz_tensor_get_f64(&in, i)) != sqz_tensor_get_f64(&out, i)) bad++;
    CHECK(bad == 0 && out.nbytes == 240);
    sqz_tensor_release(&in);
    sqz_tensor_release(&out);
    /* a model file is not a tensor with data for its shape */
    sqz_status st = sqz_onnx_load_tensor(TESTDATA "/node/test_abs/model.onnx", &in, &e);
    CHECK(st != SQZ_OK && in.data == NULL);
    CHECK(sqz_onnx_load_tensor("/nonexistent/x.pb", &in, &e) == SQZ_ERR_NOTFOUND);
    st = sqz_onnx_load_tensor(TESTDATA "/node/test_cast_STRING_to_FLOAT/test_data_set_0/input_0.pb", &in, &e);
    CHECK_MSG(st == SQZ_ERR_UNSUPPORTED && contains(e.msg, "input_0.pb: tensor 'input' holds strings"), "%s", e.msg);
}

/* ---- models built in memory ---- */

/* graph "mini": y = Add(x, w); x: f32 [batch, 4]; w: f32 [4] initializer. */
typedef struct mini {
    Onnx__ModelProto m;
    Onnx__OperatorSetIdProto os, *osp[1];
    Onnx__GraphProto g;
    Onnx__NodeProto n, *np[1];
    char *n_in[2], *n_out[1];
    Onnx__AttributeProto at, *atp[1];
    Onnx__ValueInfoProto vin, vout, *vinp[1], *voutp[1];
    Onnx__TypeProto ty;
    Onnx__TypeProto__Tensor tt;
    Onnx__TensorShapeProto sh;
    Onnx__TensorShapeProto__Dimension d[2], *dp[2];
    Onnx__TensorProto w, *wp[1];
    int64_t wdims[1];
    float wdata[4];
    Onnx__StringStringEntryProto ext[3], *extp[3];
} mini;

static void mini_init(mini *k) {
    memset(k, 0, sizeof *k);
    onnx__model_proto__init(&k->m);
    onnx__operator_set_id_proto__init(&k->os);
    onnx__graph_proto__init(&k->g);
    onnx__node_proto__init(&k->n);
    onnx__attribute_proto__init(&k->at);
    onnx__value_info_proto__init(&k->vin);
    onnx__value_info_proto__init(&k->vout);
    onnx__type_proto__init(&k->ty);
    onnx__type_proto__tensor__init(&k->tt);
    onnx__tensor_shape_proto__init(&k->sh);
    onnx__tensor_proto__init(&k->w);
    k->m.has_ir_version = 1;
    k->m.ir_version = 8;
    k->os.domain = "";
    k->os.has_version = 1;
    k->os.version = 13;
    k->osp[0] = &k->os;
    k->m.n_opset_import = 1;
    k->m.opset_import = k->osp;
    k->m.graph = &k->g;
    k->g.name = "mini";
    k->n.op_type = "Add";
    k->n.name = "add";
    k->n_in[0] = "x";
    k->n_in[1] = "w";
    k->n_out[0] = "y";
    k->n.n_input = 2;
    k->n.input = k->n_in;
    k->n.n_output = 1;
    k->n.output = k->n_out;
    k->np[0] = &k->n;
    k->g.n_node = 1;
    k->g.node = k->np;
    for (int i = 0; i < 2; i++) {
        onnx__tensor_shape_proto__dimension__init(&k->d[i]);
        k->dp[i] = &k->d[i];
    }
    k->d[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    k->d[0].dim_param = "batch";
    k->d[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    k->d[1].dim_value = 4;
    k->sh.n_dim = 2;
    k->sh.dim = k->dp;
    k->tt.has_elem_type = 1;
    k->tt.elem_type = 1;
    k->tt.shape = &k->sh;
    k->ty.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    k->ty.tensor_type = &k->tt;
    k->vin.name = "x";
    k->vin.type = &k->ty;
    k->vinp[0] = &k->vin;
    k->g.n_input = 1;
    k->g.input = k->vinp;
    k->vout.name = "y";
    k->vout.type = &k->ty;
    k->voutp[0] = &k->vout;
    k->g.n_output = 1;
    k->g.output = k->voutp;
    k->w.name = "w";
    k->w.has_data_type = 1;
    k->w.data_type = 1;
    k->wdims[0] = 4;
    k->w.n_dims = 1;
    k->w.dims = k->wdims;
    for (int i = 0; i < 4; i++) k->wdata[i] = 0.5f * (float)(i + 1);
    k->w.has_raw_data = 1;
    k->w.raw_data.data = (uint8_t *)k->wdata;
    k->w.raw_data.len = sizeof k->wdata;
    k->wp[0] = &k->w;
    k->g.n_initializer = 1;
    k->g.initializer = k->wp;
}

/* Switches w to external data at location/offset/length (length NULL: absent). */
static void mini_external(mini *k, const char *loc, const char *offset, const char *length) {
    k->w.has_raw_data = 0;
    k->w.has_data_location = 1;
    k->w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {loc, offset, length};
    k->w.n_external_data = 0;
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        onnx__string_string_entry_proto__init(&k->ext[i]);
        k->ext[i].key = (char *)keys[i];
        k->ext[i].value = (char *)vals[i];
        k->extp[k->w.n_external_data++] = &k->ext[i];
    }
    k->w.external_data = k->extp;
}

static uint8_t *mini_pack(mini *k, size_t *len) {
    *len = onnx__model_proto__get_packed_size(&k->m);
    uint8_t *buf = malloc(*len ? *len : 1);
    onnx__model_proto__pack(&k->m, buf);
    return buf;
}

/* Loads k from memory (base_dir NULL); returns the status, graph freed. */
static sqz_status mini_load(mini *k, sqz_err *e) {
    size_t len;
    uint8_t *buf = mini_pack(k, &len);
    sqz_graph *g = NULL;
    sqz_status st = sqz_onnx_load_buffer(buf, len, NULL, "mini.onnx", &g, e);
    sqz_graph_free(g);
    free(buf);
    return st;
}

/* Writes k as <tmpdir>/<name> and loads it from there. */
static sqz_status mini_load_file(mini *k, const char *name, sqz_graph **out, sqz_err *e) {
    size_t len;
    uint8_t *buf = mini_pack(k, &len);
    char path[512];
    tmp_path(path, sizeof path, name);
    write_file(path, buf, len);
    free(buf);
    sqz_graph *g = NULL;
    sqz_status st = sqz_onnx_load(path, &g, e);
    if (out)
        *out = g;
    else
        sqz_graph_free(g);
    return st;
}

static void test_mini(void) {
    mini k;
    mini_init(&k);
    sqz_err e;
    size_t len;
    uint8_t *buf = mini_pack(&k, &len);
    sqz_graph *g = NULL;
    CHECK_OK(sqz_onnx_load_buffer(buf, len, NULL, "mini.onnx", &g, &e), &e);
    if (g) {
        CHECK(!strcmp(g->name, "mini") && g->opset == 13 && g->base_dir == NULL);
        const sqz_tensor *x = g->tensors[g->inputs[0]];
        CHECK(x->ndim == 2 && x->dims[0] == -1 && x->dim_names[0] && !strcmp(x->dim_names[0], "batch"));
        CHECK(x->dims[1] == 4 && !x->dim_names[1]);
        CHECK(round_trip(g, "mini"));
        sqz_graph_free(g);
    }
    /* every truncation fails cleanly (or parses as a smaller valid message) */
    for (size_t cut = 0; cut < len; cut++) {
        g = NULL;
        sqz_status st = sqz_onnx_load_buffer(buf, cut, NULL, "cut.onnx", &g, &e);
        if (st) CHECK_MSG(!strncmp(e.msg, "cut.onnx: ", 10), "%s", e.msg);
        sqz_graph_free(g);
    }
    free(buf);

    /* typed data: float_data with a wrong count */
    mini_init(&k);
    float fd[3] = {1, 2, 3};
    k.w.has_raw_data = 0;
    k.w.n_float_data = 3;
    k.w.float_data = fd;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA);
    CHECK_MSG(!strcmp(e.msg, "mini.onnx: tensor 'w': shape [4] needs 4 values but the file holds 3"), "%s", e.msg);
    /* raw data with a wrong byte count */
    mini_init(&k);
    k.w.raw_data.len = 12;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA);
    CHECK_MSG(!strcmp(e.msg, "mini.onnx: tensor 'w': shape [4] needs 16 bytes but the file holds 12"), "%s", e.msg);
    /* int8 through int32_data */
    mini_init(&k);
    int32_t i32[4] = {-1, 2, -128, 127};
    k.w.data_type = SQZ_DT_I8;
    k.w.has_raw_data = 0;
    k.w.n_int32_data = 4;
    k.w.int32_data = i32;
    buf = mini_pack(&k, &len);
    CHECK_OK(sqz_onnx_load_buffer(buf, len, NULL, "i8.onnx", &g, &e), &e);
    if (g) {
        const sqz_tensor *w = g->tensors[sqz_graph_find_tensor(g, "w")];
        CHECK(w->dtype == SQZ_DT_I8 && w->nbytes == 4 && ((int8_t *)w->data)[2] == -128);
        CHECK(round_trip(g, "i8"));
        sqz_graph_free(g);
    }
    free(buf);
    /* unknown data type, string tensor, over-rank */
    mini_init(&k);
    k.w.data_type = 77;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA && contains(e.msg, "unknown ONNX data type 77"));
    k.w.data_type = 8;
    CHECK(mini_load(&k, &e) == SQZ_ERR_UNSUPPORTED && contains(e.msg, "'w' holds strings"));
    mini_init(&k);
    int64_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    k.w.n_dims = 9;
    k.w.dims = many;
    CHECK(mini_load(&k, &e) == SQZ_ERR_UNSUPPORTED && contains(e.msg, "rank 9"));
    /* negative dims in a graph input and an initializer */
    mini_init(&k);
    k.d[1].dim_value = -3;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "mini.onnx: graph input 'x': dimension 1 is negative (-3)"), "%s", e.msg);
    mini_init(&k);
    k.wdims[0] = -4;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA && contains(e.msg, "'w': dimension 0 is negative"));
    /* huge shape: overflow is caught before allocating */
    mini_init(&k);
    int64_t huge[3] = {INT64_MAX / 2, 3, 5};
    k.w.n_dims = 3;
    k.w.dims = huge;
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA && contains(e.msg, "tensor 'w'"));
    /* a tensor produced twice */
    mini_init(&k);
    k.n_out[0] = "w";
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "tensor 'w' is produced twice (an initializer and node 'add')"), "%s", e.msg);
    mini_init(&k);
    k.n_out[0] = "x";
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA && contains(e.msg, "produced twice (a graph input and node 'add')"));
    /* a graph attribute */
    mini_init(&k);
    Onnx__GraphProto sub;
    onnx__graph_proto__init(&sub);
    k.at.name = "then_branch";
    k.at.has_type = 1;
    k.at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    k.at.g = &sub;
    k.atp[0] = &k.at;
    k.n.op_type = "If";
    k.n.name = "n";
    k.n.n_attribute = 1;
    k.n.attribute = k.atp;
    CHECK(mini_load(&k, &e) == SQZ_ERR_UNSUPPORTED);
    CHECK_MSG(!strcmp(e.msg, "mini.onnx: node 'n' (If): attribute 'then_branch' holds a subgraph, which sqz does not support"),
              "%s", e.msg);
    /* the same attribute twice */
    {
        Onnx__AttributeProto dup[2], *dupp[2] = {&dup[0], &dup[1]};
        for (int i = 0; i < 2; i++) {
            onnx__attribute_proto__init(&dup[i]);
            dup[i].name = "axis";
            dup[i].has_type = 1;
            dup[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            dup[i].has_i = 1;
        }
        k.n.n_attribute = 2;
        k.n.attribute = dupp;
        CHECK(mini_load(&k, &e) == SQZ_ERR_DATA);
        CHECK_MSG(contains(e.msg, "node 'n' (If): attribute 'axis' appears twice"), "%s", e.msg);
        k.n.n_attribute = 1;
        k.n.attribute = k.atp;
    }
    /* attribute without a type field (old files): inferred */
    k.at.has_type = 0;
    k.at.g = NULL;
    k.at.name = "alpha";
    k.at.has_f = 1;
    k.at.f = 0.25f;
    k.n.op_type = "Add";
    buf = mini_pack(&k, &len);
    CHECK_OK(sqz_onnx_load_buffer(buf, len, NULL, "old.onnx", &g, &e), &e);
    if (g) {
        CHECK(sqz_node_attr(g->nodes[0], "alpha") && sqz_node_attr(g->nodes[0], "alpha")->type == SQZ_ATTR_FLOAT);
        CHECK(sqz_node_attr_float(g->nodes[0], "alpha", 0) == 0.25f);
        sqz_graph_free(g);
    }
    free(buf);
    /* undefined tensors are created for the verifier, not refused */
    mini_init(&k);
    k.n_in[1] = "nowhere";
    buf = mini_pack(&k, &len);
    CHECK_OK(sqz_onnx_load_buffer(buf, len, NULL, "u.onnx", &g, &e), &e);
    if (g) {
        int t = sqz_graph_find_tensor(g, "nowhere");
        CHECK(t >= 0 && g->tensors[t]->dtype == SQZ_DT_UNDEF && g->tensors[t]->ndim == -1);
        sqz_graph_free(g);
    }
    free(buf);
}

static void test_bad_buffers(void) {
    sqz_err e;
    sqz_graph *g = NULL;
    const char magic[] = "SQZMODEL\x01\x00\x00\x00garbage";
    CHECK(sqz_onnx_load_buffer(magic, sizeof magic - 1, NULL, "m.onnx", &g, &e) == SQZ_ERR_DATA && !g);
    CHECK_MSG(contains(e.msg, "m.onnx: not a valid ONNX model"), "%s", e.msg);
    CHECK(sqz_onnx_load_buffer("", 0, NULL, "empty.onnx", &g, &e) == SQZ_ERR_DATA);
    CHECK(contains(e.msg, "empty.onnx: not a valid ONNX model"));
    /* deeply nested subgraphs are refused before protobuf-c recurses */
    size_t depth = 20000, len = 0;
    uint8_t *deep = malloc(depth * 12 + 16);
    /* innermost first is awkward; build outermost-first with known lengths instead */
    /* message chain: Model.graph(7) -> Graph.node(1) -> Node.attribute(5) -> Attribute.g(6) -> Graph ... */
    size_t *sizes = calloc(depth + 1, sizeof *sizes);
    const uint8_t tags[4] = {(1 << 3) | 2, (5 << 3) | 2, (6 << 3) | 2, (1 << 3) | 2};
    /* level i (from the inside) has tag tags[...] and length sizes[i-1] */
    for (size_t i = 1; i <= depth; i++) {
        size_t inner = sizes[i - 1], v = inner, vl = 1;
        while (v >= 0x80) {
            v >>= 7;
            vl++;
        }
        sizes[i] = 1 + vl + inner;
    }
    /* outermost is Model.graph (tag 7<<3|2) */
    uint8_t *p = deep;
    for (size_t i = depth; i >= 1; i--) {
        size_t lvl = depth - i; /* 0 = Model.graph */
        uint8_t tag = lvl == 0 ? (uint8_t)((7 << 3) | 2) : tags[(lvl - 1) % 3];
        *p++ = tag;
        size_t v = sizes[i - 1];
        while (v >= 0x80) {
            *p++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *p++ = (uint8_t)v;
    }
    len = (size_t)(p - deep);
    CHECK(sqz_onnx_load_buffer(deep, len, NULL, "deep.onnx", &g, &e) == SQZ_ERR_DATA && !g);
    CHECK_MSG(contains(e.msg, "nested"), "%s", e.msg);
    free(sizes);
    free(deep);
    /* random byte flips in a real model never crash */
    void *orig;
    size_t olen;
    const char *path = TESTDATA "/node/test_layer_normalization_3d_axis_negative_1_epsilon_expanded/model.onnx";
    CHECK_OK(sqz_file_read_all(path, 0, &orig, &olen, &e), &e);
    if (!orig) return;
    uint8_t *copy = malloc(olen);
    sqz_rng r;
    sqz_rng_seed(&r, 7);
    int loaded = 0, refused = 0;
    for (int it = 0; it < 600; it++) {
        memcpy(copy, orig, olen);
        int flips = 1 + (int)sqz_rng_below(&r, 4);
        for (int f = 0; f < flips; f++) copy[sqz_rng_below(&r, (uint32_t)olen)] = (uint8_t)sqz_rng_u64(&r);
        g = NULL;
        if (sqz_onnx_load_buffer(copy, olen, NULL, "fuzz.onnx", &g, &e) == SQZ_OK) {
            loaded++;
            sqz_graph_free(g);
        } else {
            refused++;
            if (strncmp(e.msg, "fuzz.onnx: ", 11)) CHECK_MSG(0, "%s", e.msg);
        }
    }
    for (size_t cut = 0; cut < olen; cut += 97) {
        g = NULL;
        if (sqz_onnx_load_buffer(orig, cut, NULL, "cut.onnx", &g, &e) == SQZ_OK) sqz_graph_free(g);
    }
    CHECK(loaded + refused == 600);
    free(copy);
    free(orig);
}

static void test_external(void) {
    sqz_err e;
    mini k;
    float vals[4] = {1.5f, -2.0f, 3.25f, 8.0f};
    uint8_t blob[8 + sizeof vals];
    memset(blob, 0xee, 8);
    memcpy(blob + 8, vals, sizeof vals);
    char p[512], q[512];
    tmp_path(p, sizeof p, "w.bin");
    CHECK(write_file(p, blob, sizeof blob) == 0);

    mini_init(&k);
    mini_external(&k, "w.bin", "8", "16");
    sqz_graph *g = NULL;
    CHECK_OK(mini_load_file(&k, "ext.onnx", &g, &e), &e);
    if (g) {
        const sqz_tensor *w = g->tensors[sqz_graph_find_tensor(g, "w")];
        CHECK(w->nbytes == 16 && !memcmp(w->data, vals, 16) && (w->flags & SQZ_TF_INIT));
        CHECK(round_trip(g, "external")); /* saved inline */
        sqz_graph_free(g);
    }
    /* no length: the rest of the file from offset */
    mini_external(&k, "./w.bin", "8", NULL);
    CHECK_OK(mini_load_file(&k, "ext.onnx", NULL, &e), &e);
    /* from memory there is no folder */
    mini_external(&k, "w.bin", "8", "16");
    CHECK(mini_load(&k, &e) == SQZ_ERR_DATA && contains(e.msg, "mini.onnx: external data for 'w'"));
    /* offset past the end */
    mini_external(&k, "w.bin", "100", NULL);
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "ext.onnx: external data for 'w': offset 100 is past the end of 'w.bin'"), "%s", e.msg);
    /* offset + length past the end, and overflow */
    mini_external(&k, "w.bin", "16", "16");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "runs past the end"));
    mini_external(&k, "w.bin", "8", "18446744073709551615");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "runs past the end"));
    mini_external(&k, "w.bin", "8", "99999999999999999999999");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "not a number"));
    /* length that does not match the shape */
    mini_external(&k, "w.bin", "8", "12");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "tensor 'w': shape [4] needs 16 bytes but the file holds 12"), "%s", e.msg);
    /* escaping the folder */
    mini_external(&k, "../w.bin", "8", "16");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "ext.onnx: external data for 'w': location '../w.bin' escapes the model folder"), "%s",
              e.msg);
    mini_external(&k, "sub/../../w.bin", "8", "16");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "escapes the model folder"));
    mini_external(&k, "/etc/passwd", NULL, NULL);
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "escapes the model folder"));
    /* symbolic links: to the file, and a folder on the way */
    tmp_path(q, sizeof q, "link.bin");
    CHECK(symlink("w.bin", q) == 0);
    mini_external(&k, "link.bin", "8", "16");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "location 'link.bin' is a symbolic link"), "%s", e.msg);
    tmp_path(q, sizeof q, "real");
    CHECK(mkdir(q, 0700) == 0);
    tmp_path(q, sizeof q, "real/w.bin");
    CHECK(write_file(q, blob, sizeof blob) == 0);
    tmp_path(q, sizeof q, "sub");
    CHECK(symlink("real", q) == 0);
    mini_external(&k, "real/w.bin", "8", "16");
    CHECK_OK(mini_load_file(&k, "ext.onnx", NULL, &e), &e);
    mini_external(&k, "sub/w.bin", "8", "16");
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA);
    CHECK_MSG(contains(e.msg, "is a symbolic link (at 'sub')"), "%s", e.msg);
    /* missing file, folder as location */
    mini_external(&k, "nothere.bin", NULL, NULL);
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_NOTFOUND && contains(e.msg, "nothere.bin"));
    mini_external(&k, "real", NULL, NULL);
    CHECK(mini_load_file(&k, "ext.onnx", NULL, &e) == SQZ_ERR_DATA && contains(e.msg, "not a regular file"));
}

static void test_save_errors_and_dispatch(void) {
    sqz_err e;
    mini k;
    mini_init(&k);
    sqz_graph *g = NULL;
    CHECK_OK(mini_load_file(&k, "plain.onnx", &g, &e), &e);
    if (!g) return;
    char p[512];
    /* content detection for an unknown extension */
    char src[512];
    tmp_path(src, sizeof src, "plain.onnx");
    tmp_path(p, sizeof p, "plain.model");
    void *buf;
    size_t len;
    CHECK_OK(sqz_file_read_all(src, 0, &buf, &len, &e), &e);
    write_file(p, buf, len);
    free(buf);
    sqz_graph *h = NULL;
    CHECK_OK(sqz_model_load(p, &h, &e), &e);
    CHECK(h && !graph_diff(g, h));
    sqz_graph_free(h);
    CHECK(sqz_model_load("/nonexistent/m.bin", &h, &e) == SQZ_ERR_NOTFOUND);
    /* native container through the same entry points, found by extension and by magic */
    tmp_path(p, sizeof p, "m.sqz");
    CHECK_OK(sqz_model_save(g, p, &e), &e);
    char p2[512];
    tmp_path(p2, sizeof p2, "m.weights");
    CHECK(rename(p, p2) == 0);
    h = NULL;
    CHECK_OK(sqz_model_load(p2, &h, &e), &e);
    CHECK(h && h->n_nodes == 1 && sqz_graph_find_tensor(h, "w") >= 0);
    sqz_graph_free(h);
    unlink(p2);
    tmp_path(p, sizeof p, "out.bin");
    CHECK(sqz_model_save(g, p, &e) == SQZ_ERR_ARG && !sqz_file_exists(p));
    tmp_path(p, sizeof p, "out.onnx");
    CHECK_OK(sqz_model_save(g, p, &e), &e);
    CHECK(sqz_file_exists(p));
    unlink(p);
    /* what ONNX cannot express is refused and leaves no file */
    sqz_tensor *w = g->tensors[sqz_graph_find_tensor(g, "w")];
    sqz_qparams qp = {-1, 0, 1, NULL, NULL};
    w->quant = &qp;
    CHECK(sqz_onnx_save(g, p, &e) == SQZ_ERR_UNSUPPORTED && !sqz_file_exists(p));
    CHECK_MSG(contains(e.msg, "out.onnx: tensor 'w' is quantized") && contains(e.msg, "cannot be expressed in ONNX yet"),
              "%s", e.msg);
    w->quant = NULL;
    w->dtype = SQZ_DT_I4;
    CHECK(sqz_onnx_save(g, p, &e) == SQZ_ERR_UNSUPPORTED && !sqz_file_exists(p));
    w->dtype = SQZ_DT_F32;
    CHECK(sqz_onnx_save(g, "/nonexistent-dir/x.onnx", &e) == SQZ_ERR_WRITE);
    /* no temporary files left behind in the folder */
    int stray = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp")) stray++;
    if (d) closedir(d);
    CHECK(stray == 0);
    sqz_graph_free(g);
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sqz_test_onnx_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_conv2d();
    test_constant_and_if();
    test_load_tensor();
    test_mini();
    test_bad_buffers();
    test_external();
    test_save_errors_and_dispatch();
    test_corpus("node", 700);
    test_corpus("pytorch-converted", 50);
    test_corpus("pytorch-operator", 10);
    remove_tree(tmpdir);
    TEST_MAIN_END();
}
