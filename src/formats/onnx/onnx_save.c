/* formats/onnx/onnx_save.c - sqz_graph -> ONNX ModelProto, written atomically.
 *
 * The protobuf structures are built in a scratch arena and point at the
 * graph's own strings and tensor data (nothing is copied), packed into one
 * buffer, and written with sqz_afile_* so a failure leaves no partial file.
 * What ONNX cannot express yet (packed sub-byte dtypes, quantization
 * parameters, sparse or codebook encodings) is refused with
 * SQZ_ERR_UNSUPPORTED rather than silently dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "formats/onnx/onnx_internal.h"
#include "sqz/io.h"

#define NEW(ar, type) ((type *)sqz_arena_alloc((ar), sizeof(type), 8))
#define NEW_ARR(ar, type, n) ((type *)sqz_arena_alloc((ar), sizeof(type) * ((n) ? (size_t)(n) : 1), 8))

static sqz_status oom(sqz_err *err) {
    return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory building the ONNX model");
}

static Onnx__ValueInfoProto *value_info(sqz_arena *ar, const sqz_tensor *t) {
    Onnx__ValueInfoProto *vi = NEW(ar, Onnx__ValueInfoProto);
    Onnx__TypeProto *ty = NEW(ar, Onnx__TypeProto);
    Onnx__TypeProto__Tensor *tt = NEW(ar, Onnx__TypeProto__Tensor);
    if (!vi || !ty || !tt) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(ty);
    onnx__type_proto__tensor__init(tt);
    vi->name = t->name;
    vi->type = ty;
    ty->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    ty->tensor_type = tt;
    if (t->dtype != SQZ_DT_UNDEF) {
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)t->dtype;
    }
    if (t->ndim >= 0) {
        Onnx__TensorShapeProto *sh = NEW(ar, Onnx__TensorShapeProto);
        Onnx__TensorShapeProto__Dimension **dims = NEW_ARR(ar, Onnx__TensorShapeProto__Dimension *, t->ndim);
        if (!sh || !dims) return NULL;
        onnx__tensor_shape_proto__init(sh);
        sh->n_dim = (size_t)t->ndim;
        sh->dim = dims;
        for (int i = 0; i < t->ndim; i++) {
            Onnx__TensorShapeProto__Dimension *d = NEW(ar, Onnx__TensorShapeProto__Dimension);
            if (!d) return NULL;
            onnx__tensor_shape_proto__dimension__init(d);
            if (t->dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = t->dims[i];
            } else if (t->dim_names[i] && t->dim_names[i][0]) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = t->dim_names[i];
            }
            dims[i] = d;
        }
        tt->shape = sh;
    }
    return vi;
}

static sqz_status export_attr(sqz_arena *ar, const sqz_node *n, const sqz_attr *a, Onnx__AttributeProto **out,
                              sqz_err *err) {
    Onnx__AttributeProto *pa = NEW(ar, Onnx__AttributeProto);
    if (!pa) return oom(err);
    onnx__attribute_proto__init(pa);
    pa->name = a->name;
    pa->has_type = 1;
    pa->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case SQZ_ATTR_FLOAT: pa->has_f = 1; pa->f = a->f; break;
    case SQZ_ATTR_INT: pa->has_i = 1; pa->i = a->i; break;
    case SQZ_ATTR_STRING:
        pa->has_s = 1;
        pa->s.data = (uint8_t *)a->s;
        pa->s.len = a->s ? a->s_len : 0;
        break;
    case SQZ_ATTR_TENSOR: {
        if (!a->t)
            return sqz_err_set(err, SQZ_ERR_INTERNAL, "node '%s': tensor attribute '%s' has no tensor", n->name, a->name);
        Onnx__TensorProto *tp = NEW(ar, Onnx__TensorProto);
        if (!tp) return oom(err);
        onnx__tensor_proto__init(tp);
        sqz_status st = sqz_onnx_tensor_to_proto(a->t, tp, ar, err);
        if (st) {
            sqz_err_prefix(err, "node '%s' (%s): attribute '%s'", n->name, n->op_type, a->name);
            return st;
        }
        if (!a->t->name || !a->t->name[0]) tp->name = NULL;
        pa->t = tp;
        break;
    }
    case SQZ_ATTR_FLOATS: pa->n_floats = (size_t)a->n; pa->floats = a->floats; break;
    case SQZ_ATTR_INTS: pa->n_ints = (size_t)a->n; pa->ints = a->ints; break;
    case SQZ_ATTR_STRINGS: {
        pa->n_strings = (size_t)a->n;
        pa->strings = NEW_ARR(ar, ProtobufCBinaryData, a->n);
        if (!pa->strings) return oom(err);
        for (int64_t i = 0; i < a->n; i++) {
            pa->strings[i].data = (uint8_t *)a->strings[i];
            pa->strings[i].len = a->strings[i] ? strlen(a->strings[i]) : 0;
        }
        break;
    }
    default:
        return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "node '%s' (%s): attribute '%s' has type %d, which cannot be "
                           "written to ONNX", n->name, n->op_type, a->name, (int)a->type);
    }
    if (a->n < 0 && (a->type == SQZ_ATTR_FLOATS || a->type == SQZ_ATTR_INTS || a->type == SQZ_ATTR_STRINGS))
        return sqz_err_set(err, SQZ_ERR_INTERNAL, "node '%s': attribute '%s' has a negative count", n->name, a->name);
    *out = pa;
    return SQZ_OK;
}

static char *tensor_name(const sqz_graph *g, int idx) {
    static char empty[] = "";
    return idx >= 0 && idx < g->n_tensors ? g->tensors[idx]->name : empty;
}

static sqz_status export_node(sqz_arena *ar, const sqz_graph *g, const sqz_node *n, Onnx__NodeProto **out,
                              sqz_err *err) {
    Onnx__NodeProto *pn = NEW(ar, Onnx__NodeProto);
    if (!pn) return oom(err);
    onnx__node_proto__init(pn);
    pn->name = n->name && n->name[0] ? n->name : NULL;
    pn->op_type = n->op_type;
    pn->domain = n->domain && n->domain[0] ? n->domain : NULL;
    pn->n_input = (size_t)n->n_in;
    pn->input = NEW_ARR(ar, char *, n->n_in);
    pn->n_output = (size_t)n->n_out;
    pn->output = NEW_ARR(ar, char *, n->n_out);
    pn->n_attribute = (size_t)n->n_attrs;
    pn->attribute = NEW_ARR(ar, Onnx__AttributeProto *, n->n_attrs);
    if (!pn->input || !pn->output || !pn->attribute) return oom(err);
    for (int i = 0; i < n->n_in; i++) pn->input[i] = tensor_name(g, n->in[i]);
    for (int i = 0; i < n->n_out; i++) pn->output[i] = tensor_name(g, n->out[i]);
    for (int i = 0; i < n->n_attrs; i++) {
        sqz_status st = export_attr(ar, n, &n->attrs[i], &pn->attribute[i], err);
        if (st) return st;
    }
    *out = pn;
    return SQZ_OK;
}

/* Opset imports: the default domain, then each other domain nodes use (version 1). */
static sqz_status export_opsets(sqz_arena *ar, const sqz_graph *g, Onnx__ModelProto *m, sqz_err *err) {
    m->opset_import = NEW_ARR(ar, Onnx__OperatorSetIdProto *, g->n_nodes + 1);
    if (!m->opset_import) return oom(err);
    static char empty[] = "";
    for (int k = -1; k < g->n_nodes; k++) {
        char *dom = k < 0 ? empty : g->nodes[k]->domain;
        if (k >= 0 && (!dom || !dom[0] || !strcmp(dom, "ai.onnx"))) continue;
        int seen = 0;
        for (size_t j = 0; j < m->n_opset_import; j++)
            if (!strcmp(m->opset_import[j]->domain, dom)) seen = 1;
        if (seen) continue;
        Onnx__OperatorSetIdProto *os = NEW(ar, Onnx__OperatorSetIdProto);
        if (!os) return oom(err);
        onnx__operator_set_id_proto__init(os);
        os->domain = dom;
        os->has_version = 1;
        os->version = k < 0 ? g->opset : 1;
        m->opset_import[m->n_opset_import++] = os;
    }
    return SQZ_OK;
}

static sqz_status build_model(sqz_arena *ar, const sqz_graph *g, Onnx__ModelProto *m, sqz_err *err) {
    sqz_status st;
    static char producer[] = "sqz", version[] = "0.1.0", default_name[] = "graph";
    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *t = g->tensors[i];
        const char *why = sqz_onnx_export_blocker(t);
        if (why)
            return sqz_err_set(err, SQZ_ERR_UNSUPPORTED, "tensor '%s' is %s, which cannot be expressed in ONNX yet",
                               t->name, why);
    }
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = g->ir_version < 7 ? 7 : g->ir_version;
    m->producer_name = producer;
    m->producer_version = version;
    if ((st = export_opsets(ar, g, m, err))) return st;

    Onnx__GraphProto *pg = NEW(ar, Onnx__GraphProto);
    if (!pg) return oom(err);
    onnx__graph_proto__init(pg);
    m->graph = pg;
    pg->name = g->name && g->name[0] ? g->name : default_name;
    pg->doc_string = g->doc && g->doc[0] ? g->doc : NULL;

    pg->node = NEW_ARR(ar, Onnx__NodeProto *, g->n_nodes);
    if (!pg->node) return oom(err);
    for (int k = 0; k < g->n_nodes; k++) {
        if ((st = export_node(ar, g, g->nodes[k], &pg->node[k], err))) return st;
        pg->n_node++;
    }

    /* tensors a node produces: candidates for value_info */
    uint8_t *produced = NEW_ARR(ar, uint8_t, g->n_tensors);
    pg->initializer = NEW_ARR(ar, Onnx__TensorProto *, g->n_tensors);
    pg->input = NEW_ARR(ar, Onnx__ValueInfoProto *, g->n_inputs);
    pg->output = NEW_ARR(ar, Onnx__ValueInfoProto *, g->n_outputs);
    pg->value_info = NEW_ARR(ar, Onnx__ValueInfoProto *, g->n_tensors);
    if (!produced || !pg->initializer || !pg->input || !pg->output || !pg->value_info) return oom(err);
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k]->n_out; j++)
            if (g->nodes[k]->out[j] >= 0 && g->nodes[k]->out[j] < g->n_tensors) produced[g->nodes[k]->out[j]] = 1;

    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *t = g->tensors[i];
        if (!(t->flags & SQZ_TF_INIT)) continue;
        Onnx__TensorProto *tp = NEW(ar, Onnx__TensorProto);
        if (!tp) return oom(err);
        onnx__tensor_proto__init(tp);
        if ((st = sqz_onnx_tensor_to_proto(t, tp, ar, err))) return st;
        pg->initializer[pg->n_initializer++] = tp;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        if (g->inputs[i] < 0 || g->inputs[i] >= g->n_tensors) return sqz_err_set(err, SQZ_ERR_INTERNAL, "bad input index");
        if (!(pg->input[pg->n_input++] = value_info(ar, g->tensors[g->inputs[i]]))) return oom(err);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        if (g->outputs[i] < 0 || g->outputs[i] >= g->n_tensors)
            return sqz_err_set(err, SQZ_ERR_INTERNAL, "bad output index");
        if (!(pg->output[pg->n_output++] = value_info(ar, g->tensors[g->outputs[i]]))) return oom(err);
    }
    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *t = g->tensors[i];
        if (!produced[i] || t->dtype == SQZ_DT_UNDEF) continue;
        if (t->flags & (SQZ_TF_INIT | SQZ_TF_INPUT | SQZ_TF_OUTPUT)) continue;
        if (!(pg->value_info[pg->n_value_info++] = value_info(ar, t))) return oom(err);
    }
    return SQZ_OK;
}

sqz_status sqz_onnx_save(const sqz_graph *g, const char *path, sqz_err *err) {
    if (!g || !path || !*path) return sqz_err_set(err, SQZ_ERR_ARG, "sqz_onnx_save: no graph or no path");
    sqz_arena *ar = sqz_arena_new(0);
    if (!ar) return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
    Onnx__ModelProto m;
    sqz_status st = build_model(ar, g, &m, err);
    uint8_t *buf = NULL;
    size_t size = 0;
    if (!st) {
        size = onnx__model_proto__get_packed_size(&m);
        if (size > (size_t)INT32_MAX) {
            st = sqz_err_set(err, SQZ_ERR_UNSUPPORTED,
                             "model needs %zu bytes, more than the 2 GiB an ONNX protobuf can hold", size);
        } else if (!(buf = malloc(size ? size : 1))) {
            st = oom(err);
        } else if (onnx__model_proto__pack(&m, buf) != size) {
            st = sqz_err_set(err, SQZ_ERR_INTERNAL, "protobuf packing produced an unexpected size");
        }
    }
    sqz_arena_free(ar);
    if (st) {
        free(buf);
        sqz_err_prefix(err, "%s", path);
        return st;
    }
    sqz_afile af;
    st = sqz_afile_open(&af, path, err);
    if (!st) st = sqz_afile_write(&af, buf, size, err);
    if (!st) st = sqz_afile_commit(&af, err);
    if (st) sqz_afile_abort(&af);
    free(buf);
    return st;
}
