/* formats/onnx/onnx_load.c - ONNX ModelProto -> sqz_graph.
 *
 * The file is unpacked with protobuf-c, then copied into the graph: tensors
 * (initializers, inputs, outputs, value_info), nodes in file order and their
 * attributes. The protobuf is freed before returning; the graph's arena owns
 * everything it keeps. Structural problems the verifier reports better (a
 * tensor used but never defined) are left to sqz_graph_verify; problems that
 * would make the graph ambiguous (a tensor produced twice) are refused here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "formats/onnx/onnx_internal.h"
#include "sqz/io.h"

#define S(x) ((x) ? (x) : "")

/* ---- nesting depth guard ----
 * protobuf-c unpacks nested messages recursively without a depth limit, so a
 * small file of deeply nested subgraphs could exhaust the stack. Walk the wire
 * format first (iteratively, guided by the message descriptors) and refuse
 * nesting deeper than any real model has. Malformed wire data is left for
 * protobuf-c to report. */
#define MAX_NESTING 64

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* 0: fine or malformed (protobuf-c decides); 1: nested too deeply. */
static int too_deep(const uint8_t *buf, size_t len) {
    const uint8_t *ends[MAX_NESTING + 1];
    const ProtobufCMessageDescriptor *descs[MAX_NESTING + 1];
    int depth = 0;
    const uint8_t *p = buf;
    ends[0] = buf + len;
    descs[0] = &onnx__model_proto__descriptor;
    for (;;) {
        while (p >= ends[depth]) {
            if (depth == 0) return 0;
            depth--;
        }
        uint64_t tag, v;
        if (read_varint(&p, ends[depth], &tag)) return 0;
        unsigned wire = (unsigned)(tag & 7);
        uint64_t field = tag >> 3;
        size_t room = (size_t)(ends[depth] - p);
        switch (wire) {
        case 0:
            if (read_varint(&p, ends[depth], &v)) return 0;
            break;
        case 1:
            if (room < 8) return 0;
            p += 8;
            break;
        case 5:
            if (room < 4) return 0;
            p += 4;
            break;
        case 2: {
            if (read_varint(&p, ends[depth], &v)) return 0;
            room = (size_t)(ends[depth] - p);
            if (v > room) return 0;
            const ProtobufCFieldDescriptor *fd =
                field <= 0xffffffffu ? protobuf_c_message_descriptor_get_field(descs[depth], (unsigned)field) : NULL;
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == MAX_NESTING) return 1;
                depth++;
                ends[depth] = p + v;
                descs[depth] = fd->descriptor;
            } else {
                p += v;
            }
            break;
        }
        default:
            return 0;
        }
    }
}

/* ---- tensors ---- */

typedef struct graph_alloc_ctx {
    sqz_graph *g;
    sqz_tensor *t;
    sqz_err *err;
} graph_alloc_ctx;

static void *graph_alloc(void *vctx, size_t nbytes) {
    graph_alloc_ctx *c = vctx;
    if (sqz_graph_alloc_data(c->g, c->t, c->err)) return NULL;
    if (c->t->nbytes != nbytes) return NULL;
    c->t->flags |= SQZ_TF_INIT;
    return c->t->data;
}

/* Header + data of tp into the graph tensor t (already named). */
static sqz_status fill_tensor(sqz_graph *g, const Onnx__TensorProto *tp, sqz_tensor *t, sqz_err *err) {
    size_t nbytes;
    sqz_status st = sqz_onnx_tensor_header(tp, t->name, t, &nbytes, err);
    if (st) return st;
    graph_alloc_ctx c = {g, t, err};
    return sqz_onnx_tensor_data(tp, t, nbytes, g->base_dir, graph_alloc, &c, err);
}

static sqz_status add_initializer(sqz_graph *g, const Onnx__TensorProto *tp, size_t k, sqz_err *err) {
    const char *name = S(tp->name);
    if (!*name) return sqz_err_set(err, SQZ_ERR_DATA, "initializer %zu has no name", k);
    if (sqz_graph_find_tensor(g, name) >= 0)
        return sqz_err_set(err, SQZ_ERR_DATA, "initializer '%s' is defined twice", name);
    /* check the header before creating anything (rank limits) */
    sqz_tensor hdr;
    memset(&hdr, 0, sizeof hdr);
    size_t nbytes;
    sqz_status st = sqz_onnx_tensor_header(tp, name, &hdr, &nbytes, err);
    if (st) return st;
    int idx = sqz_graph_add_tensor(g, name, hdr.dtype, hdr.ndim, hdr.dims, err);
    if (idx < 0) return err ? err->code : SQZ_ERR_DATA;
    return fill_tensor(g, tp, g->tensors[idx], err);
}

/* Type and shape from a ValueInfoProto into t. strict: a non-tensor type is an error. */
static sqz_status apply_value_info(sqz_graph *g, const Onnx__ValueInfoProto *vi, sqz_tensor *t, int strict,
                                   const char *role, sqz_err *err) {
    const Onnx__TypeProto *ty = vi->type;
    if (!ty) return SQZ_OK;
    if (ty->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !ty->tensor_type) {
        if (!strict || ty->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) return SQZ_OK;
        const char *kind = ty->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "a sequence"
                           : ty->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE    ? "a map"
                           : ty->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE ? "an optional"
                           : ty->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE ? "a sparse tensor"
                                                                                          : "not a tensor";
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s '%s' is %s, which sqz does not support", role, t->name, kind);
    }
    const Onnx__TypeProto__Tensor *tt = ty->tensor_type;
    sqz_dtype dt = SQZ_DT_UNDEF;
    if (tt->has_elem_type) {
        sqz_status st = sqz_onnx_dtype_from(tt->elem_type, t->name, &dt, err);
        if (st) return st;
    }
    int ndim = -1;
    int64_t dims[SQZ_MAX_DIMS];
    char *names[SQZ_MAX_DIMS];
    if (tt->shape) {
        if (tt->shape->n_dim > SQZ_MAX_DIMS)
            return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "%s '%s' has rank %zu (sqz supports up to %d)", role, t->name,
                               tt->shape->n_dim, SQZ_MAX_DIMS);
        ndim = (int)tt->shape->n_dim;
        for (int i = 0; i < ndim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            dims[i] = -1;
            names[i] = NULL;
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                if (d->dim_value < 0)
                    return sqz_err_set(err, SQZ_ERR_DATA, "%s '%s': dimension %d is negative (%lld)", role, t->name, i,
                                       (long long)d->dim_value);
                dims[i] = d->dim_value;
            } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
                       d->dim_param[0]) {
                names[i] = sqz_arena_strdup(g->arena, d->dim_param);
                if (!names[i]) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
            }
        }
    }
    /* Initializers keep the type their data has; others take the declared one. */
    if (t->flags & SQZ_TF_INIT) return SQZ_OK;
    if (dt != SQZ_DT_UNDEF) t->dtype = dt;
    if (ndim >= 0) {
        t->ndim = ndim;
        for (int i = 0; i < ndim; i++) {
            t->dims[i] = dims[i];
            t->dim_names[i] = names[i];
        }
    }
    return SQZ_OK;
}

/* Finds name or creates it with unknown type; -1 on error. */
static int find_or_add(sqz_graph *g, const char *name, sqz_err *err) {
    int idx = sqz_graph_find_tensor(g, name);
    if (idx >= 0) return idx;
    return sqz_graph_add_tensor(g, name, SQZ_DT_UNDEF, -1, NULL, err);
}

static sqz_status status_of(sqz_err *err) {
    return err && err->code ? err->code : SQZ_ERR_DATA;
}

/* ---- attributes ---- */

static int infer_attr_type(const Onnx__AttributeProto *a) {
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    if (a->tp) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    if (a->n_sparse_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS;
    if (a->n_type_protos) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS;
    return 0;
}

static char *arena_bytes(sqz_arena *ar, const ProtobufCBinaryData *b) {
    return sqz_arena_strndup(ar, b->len ? (const char *)b->data : "", b->len);
}

/* Fills slot a (zeroed, in the node's attribute array) from pa. */
static sqz_status add_attr(sqz_graph *g, sqz_node *n, sqz_attr *a, const Onnx__AttributeProto *pa, sqz_err *err) {
    const char *aname = S(pa->name);
    if (!*aname) return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s) has an attribute without a name", n->name,
                                    n->op_type);
    int type = pa->has_type ? (int)pa->type : 0;
    if (type == 0) type = infer_attr_type(pa);
    const char *held = NULL;
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: held = "a subgraph"; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: held = "a sparse tensor"; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: held = "a type"; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: held = "a list of tensors"; break;
    case 0:
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): attribute '%s' has no value", n->name, n->op_type,
                           aname);
    default: break;
    }
    if (held)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "node '%s' (%s): attribute '%s' holds %s, which sqz does not support",
                           n->name, n->op_type, aname, held);
    if (type < SQZ_ATTR_FLOAT || type > SQZ_ATTR_STRINGS)
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): attribute '%s' has unknown type %d", n->name, n->op_type,
                           aname, type);
    sqz_arena *ar = g->arena;
    if (!(a->name = sqz_arena_strdup(ar, aname))) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    a->type = (sqz_attr_type)type;
    switch (type) {
    case SQZ_ATTR_FLOAT: a->f = pa->f; break;
    case SQZ_ATTR_INT: a->i = pa->i; break;
    case SQZ_ATTR_STRING:
        a->s = arena_bytes(ar, &pa->s);
        a->s_len = pa->s.len;
        if (!a->s) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        break;
    case SQZ_ATTR_TENSOR: {
        if (!pa->t)
            return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): attribute '%s' has no tensor", n->name, n->op_type,
                               aname);
        sqz_tensor *t = sqz_arena_alloc(ar, sizeof *t, 8);
        if (!t || !(t->name = sqz_arena_strdup(ar, S(pa->t->name)))) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        t->producer = -1;
        sqz_status st = fill_tensor(g, pa->t, t, err);
        if (st) {
            sqz_err_prefix(err, "node '%s' (%s): attribute '%s'", n->name, n->op_type, aname);
            return st;
        }
        a->t = t;
        break;
    }
    case SQZ_ATTR_FLOATS:
        a->n = (int64_t)pa->n_floats;
        a->floats = sqz_arena_alloc(ar, sizeof(float) * (pa->n_floats ? pa->n_floats : 1), 8);
        if (!a->floats) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        if (pa->n_floats) memcpy(a->floats, pa->floats, sizeof(float) * pa->n_floats);
        break;
    case SQZ_ATTR_INTS:
        a->n = (int64_t)pa->n_ints;
        a->ints = sqz_arena_alloc(ar, sizeof(int64_t) * (pa->n_ints ? pa->n_ints : 1), 8);
        if (!a->ints) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        if (pa->n_ints) memcpy(a->ints, pa->ints, sizeof(int64_t) * pa->n_ints);
        break;
    case SQZ_ATTR_STRINGS:
        a->n = (int64_t)pa->n_strings;
        a->strings = sqz_arena_alloc(ar, sizeof(char *) * (pa->n_strings ? pa->n_strings : 1), 8);
        if (!a->strings) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < pa->n_strings; i++)
            if (!(a->strings[i] = arena_bytes(ar, &pa->strings[i]))) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        break;
    default: break;
    }
    return SQZ_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* All attributes of pn into one arena array (sqz_node_add_attr would copy the
 * array per attribute, quadratic for a crafted node with very many). */
static sqz_status add_attrs(sqz_graph *g, sqz_node *n, const Onnx__NodeProto *pn, sqz_err *err) {
    size_t na = pn->n_attribute;
    if (!na) return SQZ_OK;
    if (na > INT32_MAX / 2) return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' has too many attributes", n->name);
    /* duplicate names, found by sorting */
    const char **names = malloc(sizeof(char *) * na);
    if (!names) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < na; i++) names[i] = S(pn->attribute[i]->name);
    qsort(names, na, sizeof *names, cmp_str);
    for (size_t i = 1; i < na; i++)
        if (names[i][0] && !strcmp(names[i], names[i - 1])) {
            sqz_status st = sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s): attribute '%s' appears twice", n->name,
                                        n->op_type, names[i]);
            free(names);
            return st;
        }
    free(names);
    sqz_attr *arr = sqz_arena_alloc(g->arena, sizeof(sqz_attr) * na, 8);
    if (!arr) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    n->attrs = arr;
    n->n_attrs = 0;
    for (size_t i = 0; i < na; i++) {
        sqz_status st = add_attr(g, n, &arr[i], pn->attribute[i], err);
        if (st) return st;
        n->n_attrs++;
    }
    return SQZ_OK;
}

/* ---- nodes ---- */

static const char *producer_desc(const sqz_graph *g, const sqz_tensor *t, char *buf, size_t n) {
    if (t->producer >= 0)
        snprintf(buf, n, "node '%s'", g->nodes[t->producer]->name);
    else if (t->flags & SQZ_TF_INIT)
        snprintf(buf, n, "an initializer");
    else
        snprintf(buf, n, "a graph input");
    return buf;
}

static sqz_status add_node(sqz_graph *g, const Onnx__NodeProto *pn, size_t k, sqz_err *err) {
    const char *op = S(pn->op_type);
    if (!*op) return sqz_err_set(err, SQZ_ERR_DATA, "node %zu ('%s') has no op_type", k, S(pn->name));
    char gen[96];
    const char *name = S(pn->name);
    if (!*name) {
        snprintf(gen, sizeof gen, "%.60s_%zu", op, k);
        name = gen;
    }
    if (pn->n_input > INT32_MAX / 2 || pn->n_output > INT32_MAX / 2)
        return sqz_err_set(err, SQZ_ERR_DATA, "node '%s' (%s) has too many inputs or outputs", name, op);
    int nin = (int)pn->n_input, nout = (int)pn->n_output;
    int *idx = malloc(sizeof(int) * (size_t)(nin + nout + 1));
    if (!idx) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    sqz_status st = SQZ_OK;
    for (int i = 0; i < nin && !st; i++) {
        const char *tn = S(pn->input[i]);
        idx[i] = *tn ? find_or_add(g, tn, err) : -1;
        if (*tn && idx[i] < 0) st = status_of(err);
    }
    for (int j = 0; j < nout && !st; j++) {
        const char *tn = S(pn->output[j]);
        int t = -1;
        if (*tn) {
            t = find_or_add(g, tn, err);
            if (t < 0) {
                st = status_of(err);
                break;
            }
            const sqz_tensor *tt = g->tensors[t];
            char who[128];
            if (tt->producer >= 0 || (tt->flags & (SQZ_TF_INIT | SQZ_TF_INPUT))) {
                st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' is produced twice (%s and node '%s')", tn,
                                 producer_desc(g, tt, who, sizeof who), name);
                break;
            }
            for (int q = 0; q < j; q++)
                if (idx[nin + q] == t) {
                    st = sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' is produced twice (node '%s' and node '%s')", tn,
                                     name, name);
                    break;
                }
        }
        idx[nin + j] = t;
    }
    int ni = -1;
    if (!st) {
        ni = sqz_graph_add_node(g, op, name, nin, idx, nout, idx + nin, err);
        if (ni < 0) st = status_of(err);
    }
    free(idx);
    if (st) return st;
    sqz_node *n = g->nodes[ni];
    if (pn->domain && *pn->domain && !(n->domain = sqz_arena_strdup(g->arena, pn->domain)))
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    return add_attrs(g, n, pn, err);
}

/* ---- graph ---- */

static sqz_status import_graph(sqz_graph *g, const Onnx__ModelProto *m, sqz_err *err) {
    const Onnx__GraphProto *pg = m->graph;
    sqz_status st;
    sqz_arena *ar = g->arena;
    if ((pg->name && *pg->name && !(g->name = sqz_arena_strdup(ar, pg->name))) ||
        (m->producer_name && *m->producer_name && !(g->producer = sqz_arena_strdup(ar, m->producer_name))) ||
        (pg->doc_string && *pg->doc_string && !(g->doc = sqz_arena_strdup(ar, pg->doc_string))))
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    g->ir_version = m->has_ir_version ? m->ir_version : 0;
    g->opset = 1; /* a model without a default-domain opset_import predates opsets */
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = m->opset_import[i];
        const char *d = S(os->domain);
        if ((!*d || !strcmp(d, "ai.onnx")) && os->has_version) g->opset = os->version;
    }
    if (pg->n_sparse_initializer)
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "sparse initializer '%s' is not supported",
                           S(pg->sparse_initializer[0]->values ? pg->sparse_initializer[0]->values->name : NULL));
    for (size_t i = 0; i < pg->n_initializer; i++)
        if ((st = add_initializer(g, pg->initializer[i], i, err))) return st;

    for (size_t i = 0; i < pg->n_input; i++) {
        const Onnx__ValueInfoProto *vi = pg->input[i];
        const char *name = S(vi->name);
        if (!*name) return sqz_err_set(err, SQZ_ERR_DATA, "graph input %zu has no name", i);
        int t = sqz_graph_find_tensor(g, name);
        if (t >= 0 && (g->tensors[t]->flags & SQZ_TF_INIT)) continue; /* old IR lists initializers as inputs */
        if (t >= 0) return sqz_err_set(err, SQZ_ERR_DATA, "graph input '%s' is listed twice", name);
        if ((t = sqz_graph_add_tensor(g, name, SQZ_DT_UNDEF, -1, NULL, err)) < 0) return status_of(err);
        if ((st = apply_value_info(g, vi, g->tensors[t], 1, "graph input", err))) return st;
        if ((st = sqz_graph_add_input(g, t, err))) return st;
    }
    for (size_t i = 0; i < pg->n_output; i++) {
        const Onnx__ValueInfoProto *vi = pg->output[i];
        const char *name = S(vi->name);
        if (!*name) return sqz_err_set(err, SQZ_ERR_DATA, "graph output %zu has no name", i);
        int t = find_or_add(g, name, err);
        if (t < 0) return status_of(err);
        if ((st = apply_value_info(g, vi, g->tensors[t], 1, "graph output", err))) return st;
        if ((st = sqz_graph_add_output(g, t, err))) return st;
    }
    for (size_t i = 0; i < pg->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = pg->value_info[i];
        const char *name = S(vi->name);
        if (!*name) continue;
        int t = find_or_add(g, name, err);
        if (t < 0) return status_of(err);
        sqz_tensor *tt = g->tensors[t];
        if (tt->dtype != SQZ_DT_UNDEF || tt->ndim >= 0) continue; /* inputs/outputs declared already */
        if ((st = apply_value_info(g, vi, tt, 0, "tensor", err))) return st;
    }
    for (size_t k = 0; k < pg->n_node; k++)
        if ((st = add_node(g, pg->node[k], k, err))) return st;
    return SQZ_OK;
}

sqz_status sqz_onnx_load_buffer(const void *buf, size_t len, const char *base_dir, const char *label,
                                sqz_graph **out, sqz_err *err) {
    *out = NULL;
    if (!label) label = "<memory>";
    if (!buf && len) return sqz_err_set(err, SQZ_ERR_ARG, "%s: no buffer", label);
    if (!buf) buf = "";
    if (too_deep(buf, len))
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: not a valid ONNX model (messages nested more than %d deep)", label,
                           MAX_NESTING);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) return sqz_err_set(err, SQZ_ERR_DATA, "%s: not a valid ONNX model (truncated or corrupt protobuf)", label);
    if (!m->graph) {
        onnx__model_proto__free_unpacked(m, NULL);
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: not a valid ONNX model (it has no graph)", label);
    }
    sqz_graph *g = sqz_graph_new();
    sqz_status st = SQZ_OK;
    if (!g) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    } else if (base_dir && !(g->base_dir = sqz_arena_strdup(g->arena, base_dir))) {
        st = sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    } else {
        st = import_graph(g, m, err);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) {
        sqz_err_prefix(err, "%s", label);
        sqz_graph_free(g);
        return st;
    }
    *out = g;
    return SQZ_OK;
}

sqz_status sqz_onnx_load(const char *path, sqz_graph **out, sqz_err *err) {
    *out = NULL;
    void *buf = NULL;
    size_t len = 0;
    sqz_status st = sqz_file_read_all(path, SQZ_ONNX_MAX_FILE, &buf, &len, err);
    if (st) return st;
    char *dir = sqz_path_dirname(path);
    if (!dir) {
        free(buf);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
    }
    st = sqz_onnx_load_buffer(buf, len, dir, path, out, err);
    free(dir);
    free(buf);
    return st;
}
