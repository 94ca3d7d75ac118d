/* cli/cmd_info.c - `sqz info MODEL [--json]`: nodes, shapes, parameters, MACs, totals. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "ops/op.h"

#define SHAPE_MAX 160
#define MACS_NONE (-2) /* the operator does no multiply-accumulates (shape ops, activations) */

enum { OPT_JSON = 1, OPT_OPS };

static const cli_opt info_opts[] = {
    {"json", 0, OPT_JSON},
    {"ops", 0, OPT_OPS},
    {NULL, 0, 0},
};

static int is_init(const sqz_tensor *t) { return (t->flags & SQZ_TF_INIT) != 0; }

static int64_t node_params(const sqz_graph *g, const sqz_node *n) {
    int64_t p = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        const sqz_tensor *t = g->tensors[n->in[k]];
        int64_t e = sqz_tensor_numel(t);
        if (is_init(t) && e > 0) p += e;
    }
    return p;
}

static const char *node_label(const sqz_graph *g, const sqz_node *n) {
    if (n->name && n->name[0]) return n->name;
    if (n->n_out > 0 && n->out[0] >= 0) return g->tensors[n->out[0]]->name;
    return "-";
}

/* "[a],[b] -> [c]" with omitted optional tensors as "-". */
static void node_shapes(const sqz_graph *g, const sqz_node *n, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    for (int side = 0; side < 2; side++) {
        int cnt = side ? n->n_out : n->n_in;
        const int *ids = side ? n->out : n->in;
        if (side) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, " -> ");
        for (int i = 0; i < cnt && k < cap; i++) {
            char s[SHAPE_MAX] = "-";
            if (ids[i] >= 0) sqz_shape_str(g->tensors[ids[i]], s, sizeof s);
            k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, "%s%s", i ? "," : "", s);
        }
    }
}

static void json_shape(cli_json *j, const sqz_tensor *t) {
    if (t->ndim < 0) {
        cli_json_null(j);
        return;
    }
    cli_json_arr_compact(j);
    for (int d = 0; d < t->ndim; d++) {
        if (t->dims[d] >= 0)
            cli_json_int(j, t->dims[d]);
        else
            cli_json_str(j, t->dim_names[d]); /* null when unnamed */
    }
    cli_json_arr_end(j);
}

static void json_tensor(cli_json *j, const sqz_tensor *t, int with_init) {
    cli_json_obj(j);
    cli_json_kstr(j, "name", t->name);
    cli_json_kstr(j, "dtype", sqz_dtype_name(t->dtype));
    cli_json_key(j, "shape");
    json_shape(j, t);
    if (with_init) {
        cli_json_key(j, "initializer");
        cli_json_bool(j, is_init(t));
    }
    cli_json_obj_end(j);
}

typedef struct totals {
    int64_t params, macs, init_bytes;
    int macs_unknown;
    int64_t bytes_by_dtype[256];
    int64_t count_by_dtype[256];
} totals;

static void compute_totals(const sqz_graph *g, const int64_t *macs, totals *t) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < g->n_tensors; i++) {
        const sqz_tensor *x = g->tensors[i];
        if (!is_init(x)) continue;
        int64_t e = sqz_tensor_numel(x);
        if (e > 0) t->params += e;
        t->init_bytes += (int64_t)x->nbytes;
        int d = (int)x->dtype & 255;
        t->bytes_by_dtype[d] += (int64_t)x->nbytes;
        t->count_by_dtype[d]++;
    }
    for (int k = 0; k < g->n_nodes; k++) {
        int64_t m = macs[k];
        if (m >= 0)
            t->macs += m;
        else if (m != MACS_NONE)
            t->macs_unknown++;
    }
}

static void print_io(const sqz_graph *g, const char *title, const int *ids, int n) {
    printf("%s:\n", title);
    if (n == 0) printf("  (none)\n");
    for (int i = 0; i < n; i++) {
        const sqz_tensor *t = g->tensors[ids[i]];
        char s[SHAPE_MAX];
        sqz_shape_str(t, s, sizeof s);
        printf("  %-24s %-5s %s\n", t->name, sqz_dtype_name(t->dtype), s);
    }
}

static void print_text(const char *path, const sqz_graph *g, const int64_t *macs, int dyn1, const totals *t) {
    printf("model:    %s\n", path);
    printf("producer: %s (ONNX IR %lld, opset %lld)\n", g->producer && g->producer[0] ? g->producer : "?",
           (long long)g->ir_version, (long long)g->opset);
    printf("\n");
    int wname = 4, wop = 2, wpar = 6, wmac = 4;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        int l = (int)strlen(node_label(g, n));
        if (l > wname) wname = l;
        l = (int)strlen(n->op_type) + (n->domain && n->domain[0] ? (int)strlen(n->domain) + 1 : 0);
        if (l > wop) wop = l;
        char b[32];
        cli_fmt_count(node_params(g, n), b, sizeof b);
        if ((int)strlen(b) > wpar) wpar = (int)strlen(b);
        cli_fmt_count(macs[k], b, sizeof b);
        if ((int)strlen(b) > wmac) wmac = (int)strlen(b);
    }
    if (wname > 40) wname = 40;
    int wnum = snprintf(NULL, 0, "%d", g->n_nodes > 0 ? g->n_nodes - 1 : 0);
    if (wnum < 1) wnum = 1;
    printf("%*s  %-*s  %-*s  %*s  %*s  %s\n", wnum, "#", wname, "node", wop, "op", wpar, "params", wmac,
           dyn1 ? "MACs*" : "MACs", "shapes (inputs -> outputs)");
    char *shapes = malloc(4096);
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        char op[128], par[32], mac[32];
        if (n->domain && n->domain[0])
            snprintf(op, sizeof op, "%s:%s", n->domain, n->op_type);
        else
            snprintf(op, sizeof op, "%s", n->op_type);
        cli_fmt_count(node_params(g, n), par, sizeof par);
        int64_t m = macs[k];
        if (m >= 0)
            cli_fmt_count(m, mac, sizeof mac);
        else
            snprintf(mac, sizeof mac, "%s", m == MACS_NONE ? "-" : "?");
        if (shapes) node_shapes(g, n, shapes, 4096);
        printf("%*d  %-*.*s  %-*s  %*s  %*s  %s\n", wnum, k, wname, wname, node_label(g, n), wop, op, wpar, par,
               wmac, mac, shapes ? shapes : "");
    }
    free(shapes);
    if (dyn1) printf("* MACs with dynamic dimensions taken as 1\n");
    printf("\n");
    print_io(g, "inputs", g->inputs, g->n_inputs);
    print_io(g, "outputs", g->outputs, g->n_outputs);

    char a[32], b[32], c[32];
    cli_fmt_count(g->n_nodes, a, sizeof a);
    cli_fmt_count(t->params, b, sizeof b);
    cli_fmt_count(t->macs, c, sizeof c);
    printf("\ntotals:\n");
    printf("  nodes       %s\n", a);
    printf("  parameters  %s\n", b);
    printf("  MACs        %s%s%s\n", c, dyn1 ? " (dynamic dimensions taken as 1)" : "",
           t->macs_unknown ? " (+ nodes of unknown cost)" : "");
    char by[32];
    cli_fmt_bytes((double)t->init_bytes, by, sizeof by);
    printf("  weights     %s", by);
    int first = 1;
    for (int d = 0; d < 256; d++) {
        if (!t->count_by_dtype[d]) continue;
        cli_fmt_bytes((double)t->bytes_by_dtype[d], by, sizeof by);
        printf("%s%s %s", first ? " (" : ", ", sqz_dtype_name((sqz_dtype)d), by);
        first = 0;
    }
    printf("%s\n", first ? "" : ")");
}

static void print_json(const char *path, const sqz_graph *g, int prepared, const int64_t *macs, int dyn1,
                       const char *error, const totals *t) {
    cli_json j;
    cli_json_init(&j, stdout, 1);
    cli_json_obj(&j);
    cli_json_kstr(&j, "model", path);
    cli_json_kstr(&j, "producer", g->producer);
    cli_json_kint(&j, "ir_version", g->ir_version);
    cli_json_kint(&j, "opset", g->opset);
    cli_json_key(&j, "prepared");
    cli_json_bool(&j, prepared);
    cli_json_kstr(&j, "error", error);
    cli_json_key(&j, "nodes");
    cli_json_arr(&j);
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_node *n = g->nodes[k];
        cli_json_obj(&j);
        cli_json_kstr(&j, "name", n->name ? n->name : "");
        cli_json_kstr(&j, "op", n->op_type);
        cli_json_kstr(&j, "domain", n->domain ? n->domain : "");
        for (int side = 0; side < 2; side++) {
            cli_json_key(&j, side ? "outputs" : "inputs");
            cli_json_arr(&j);
            int cnt = side ? n->n_out : n->n_in;
            const int *ids = side ? n->out : n->in;
            for (int i = 0; i < cnt; i++) {
                if (ids[i] < 0)
                    cli_json_null(&j);
                else
                    json_tensor(&j, g->tensors[ids[i]], !side);
            }
            cli_json_arr_end(&j);
        }
        cli_json_kint(&j, "params", node_params(g, n));
        int64_t m = macs[k];
        cli_json_key(&j, "macs");
        if (m >= 0 || m == MACS_NONE)
            cli_json_int(&j, m >= 0 ? m : 0);
        else
            cli_json_null(&j);
        cli_json_obj_end(&j);
    }
    cli_json_arr_end(&j);
    for (int side = 0; side < 2; side++) {
        cli_json_key(&j, side ? "outputs" : "inputs");
        cli_json_arr(&j);
        int cnt = side ? g->n_outputs : g->n_inputs;
        const int *ids = side ? g->outputs : g->inputs;
        for (int i = 0; i < cnt; i++) json_tensor(&j, g->tensors[ids[i]], 0);
        cli_json_arr_end(&j);
    }
    cli_json_key(&j, "totals");
    cli_json_obj(&j);
    cli_json_kint(&j, "nodes", g->n_nodes);
    cli_json_kint(&j, "parameters", t->params);
    cli_json_kint(&j, "macs", t->macs);
    cli_json_kint(&j, "macs_unknown_nodes", t->macs_unknown);
    cli_json_key(&j, "macs_dynamic_dims_as_1");
    cli_json_bool(&j, dyn1);
    cli_json_kint(&j, "initializer_bytes", t->init_bytes);
    cli_json_key(&j, "bytes_by_dtype");
    cli_json_obj(&j);
    for (int d = 0; d < 256; d++)
        if (t->count_by_dtype[d]) cli_json_kint(&j, sqz_dtype_name((sqz_dtype)d), t->bytes_by_dtype[d]);
    cli_json_obj_end(&j);
    cli_json_obj_end(&j);
    cli_json_obj_end(&j);
    cli_json_end(&j);
}

/* MACs per node. When some are unknown because of dynamic input dimensions (a batch axis),
 * they come from a second copy of the model with those dimensions set to 1 (*dyn1 = 1). */
static int64_t *node_macs(const char *path, const sqz_graph *g, int prepared, int *dyn1) {
    *dyn1 = 0;
    int64_t *m = malloc(sizeof *m * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!m) return NULL;
    int unknown = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const sqz_op *op = g->nodes[k]->op;
        if (prepared && op && !op->macs) {
            m[k] = MACS_NONE;
            continue;
        }
        m[k] = prepared ? sqz_node_macs(g, k) : -1;
        unknown += m[k] < 0;
    }
    int dynamic = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const sqz_tensor *x = g->tensors[g->inputs[i]];
        for (int d = 0; d < x->ndim; d++) dynamic += x->dims[d] < 0;
    }
    if (!prepared || !unknown || !dynamic) return m;
    sqz_graph *g1 = NULL;
    if (sqz_model_load(path, &g1, NULL) != SQZ_OK) return m;
    for (int i = 0; i < g1->n_inputs; i++) {
        sqz_tensor *x = g1->tensors[g1->inputs[i]];
        for (int d = 0; d < x->ndim; d++)
            if (x->dims[d] < 0) x->dims[d] = 1;
    }
    int same = sqz_graph_prepare(g1, NULL) == SQZ_OK && g1->n_nodes == g->n_nodes;
    for (int k = 0; same && k < g->n_nodes; k++) same = strcmp(g1->nodes[k]->op_type, g->nodes[k]->op_type) == 0;
    for (int k = 0; same && k < g->n_nodes; k++) {
        if (m[k] != -1) continue;
        m[k] = sqz_node_macs(g1, k);
        if (m[k] >= 0) *dyn1 = 1;
    }
    sqz_graph_free(g1);
    return m;
}

static int list_ops(int json) {
    int n = sqz_op_count();
    if (json) {
        cli_json j;
        cli_json_init(&j, stdout, 0);
        cli_json_arr(&j);
        for (int i = 0; i < n; i++) cli_json_str(&j, sqz_op_at(i)->name);
        cli_json_arr_end(&j);
        cli_json_end(&j);
    } else {
        for (int i = 0; i < n; i++) printf("%s\n", sqz_op_at(i)->name);
    }
    return CLI_OK;
}

static int run_info(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, info_opts, argc, argv);
    int json = 0, ops = 0, r;
    const char *model = NULL;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case OPT_JSON: json = 1; break;
        case OPT_OPS: ops = 1; break;
        case CLI_POS:
            if (model) return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
            model = p.arg;
            break;
        }
    }
    if (ops) {
        if (model) return cli_usage_error(cmd, "--ops takes no model");
        return list_ops(json);
    }
    if (!model) return cli_usage_error(cmd, "missing MODEL");

    sqz_err err = {0};
    sqz_graph *g = NULL;
    if (cli_load_model(model, 0, &g, &err)) return cli_error_err(&err);
    sqz_err perr = {0};
    sqz_status pst = sqz_graph_prepare(g, &perr);
    if (pst) sqz_err_prefix(&perr, "%s", model);
    int dyn1 = 0;
    int64_t *macs = node_macs(model, g, pst == SQZ_OK, &dyn1);
    totals *t = malloc(sizeof *t);
    if (!t || !macs) {
        free(t);
        free(macs);
        sqz_graph_free(g);
        return cli_error(SQZ_ERR_NOMEM, "out of memory");
    }
    compute_totals(g, macs, t);
    if (json)
        print_json(model, g, pst == SQZ_OK, macs, dyn1, pst ? perr.msg : NULL, t);
    else
        print_text(model, g, macs, dyn1, t);
    fflush(stdout);
    free(t);
    free(macs);
    sqz_graph_free(g);
    if (pst) return cli_error_err(&perr);
    return CLI_OK;
}

const cli_cmd sqz_cmd_info = {
    .name = "info",
    .summary = "Show a model's nodes, shapes, parameters and multiply-accumulates.",
    .usage = "sqz info MODEL [--json]\nsqz info --ops [--json]",
    .help =
        "Loads MODEL (.onnx or .sqz), folds constants and infers shapes, then prints one row per\n"
        "node: name, operator, parameter count (elements of its initializer inputs), MACs, and the\n"
        "shapes of its inputs and outputs. Totals follow: nodes, parameters, MACs, and weight bytes\n"
        "by dtype; then the graph inputs and outputs (dynamic dimensions by name).\n"
        "\n"
        "When the model uses an operator sqz does not support, the graph is still listed (without\n"
        "shapes or MACs) and the command exits with 65.\n"
        "\n"
        "options:\n"
        "  --json   one JSON object: model, producer, opset, nodes[], inputs[], outputs[], totals\n"
        "  --ops    list the operators sqz supports instead\n",
    .run = run_info,
};
