/* cli/cmd_run.c - `sqz run MODEL --input [NAME=]FILE ... [--output [NAME=]FILE ...]`. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_outset.h"
#include "cli/cli_tensor.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/file.h"

enum { OPT_INPUT = 1, OPT_OUTPUT, OPT_THREADS, OPT_JSON };

static const cli_opt run_opts[] = {
    {"input", 1, OPT_INPUT}, {"output", 1, OPT_OUTPUT}, {"threads", 1, OPT_THREADS},
    {"json", 0, OPT_JSON},   {NULL, 0, 0},
};

#define MAX_ARGS 256

/* A NAME=FILE or FILE argument resolved against a list of graph tensors. */
typedef struct binding {
    const char *spec;
    const char *file;
    int slot; /* index into the graph's inputs/outputs, -1 = positional for now */
} binding;

static int find_slot(const sqz_graph *g, const int *ids, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++) {
        const char *tn = g->tensors[ids[i]]->name;
        if (strlen(tn) == len && strncmp(tn, name, len) == 0) return i;
    }
    return -1;
}

static void list_names(const sqz_graph *g, const int *ids, int n, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", g->tensors[ids[i]]->name);
}

/* Splits "NAME=FILE" when NAME is one of the tensors; a spec with '=' whose prefix is not
 * a tensor name and that is not an existing file is a usage error. Then positional specs
 * fill the remaining slots in order. slot_of[i] receives the binding for slot i or -1. */
static int resolve(const cli_cmd *cmd, const char *what, const sqz_graph *g, const int *ids, int n,
                   binding *b, int nb, int *slot_of) {
    char names[1024];
    list_names(g, ids, n, names, sizeof names);
    for (int i = 0; i < n; i++) slot_of[i] = -1;
    for (int i = 0; i < nb; i++) {
        b[i].slot = -1;
        b[i].file = b[i].spec;
        const char *eq = strchr(b[i].spec, '=');
        if (!eq) continue;
        int s = find_slot(g, ids, n, b[i].spec, (size_t)(eq - b[i].spec));
        if (s < 0) {
            if (sqz_file_exists(b[i].spec)) continue;
            return cli_usage_error(cmd, "model has no %s named '%.*s' (%ss: %s)", what, (int)(eq - b[i].spec),
                                   b[i].spec, what, names);
        }
        if (slot_of[s] >= 0) return cli_usage_error(cmd, "%s '%s' given twice", what, g->tensors[ids[s]]->name);
        b[i].slot = s;
        b[i].file = eq + 1;
        slot_of[s] = i;
    }
    int next = 0;
    for (int i = 0; i < nb; i++) {
        if (b[i].slot >= 0) continue;
        while (next < n && slot_of[next] >= 0) next++;
        if (next >= n)
            return cli_usage_error(cmd, "too many --%s files: the model has %d %s%s (%s)", what, n, what,
                                   n == 1 ? "" : "s", names);
        b[i].slot = next;
        slot_of[next] = i;
    }
    return 0;
}

/* Checks a loaded input against the graph input it feeds. */
static sqz_status check_input(const char *file, const sqz_tensor *x, const sqz_tensor *want, sqz_err *err) {
    char a[160], b[160];
    if (x->dtype != want->dtype)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: dtype %s, but model input '%s' is %s", file,
                           sqz_dtype_name(x->dtype), want->name, sqz_dtype_name(want->dtype));
    if (want->ndim < 0) return SQZ_OK;
    sqz_shape_str(x, a, sizeof a);
    sqz_shape_str(want, b, sizeof b);
    if (x->ndim != want->ndim)
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: shape %s has rank %d, but model input '%s' is %s", file, a,
                           x->ndim, want->name, b);
    for (int d = 0; d < x->ndim; d++)
        if (want->dims[d] >= 0 && x->dims[d] != want->dims[d])
            return sqz_err_set(err, SQZ_ERR_DATA, "%s: shape %s does not match model input '%s' %s (dimension %d)",
                               file, a, want->name, b, d);
    return SQZ_OK;
}

static sqz_status rename_tensor(sqz_tensor *t, const char *name, sqz_err *err) {
    char *n = strdup(name);
    if (!n) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    if (t->flags & SQZ_TF_OWNED) free(t->name);
    t->name = n;
    t->flags |= SQZ_TF_OWNED;
    return SQZ_OK;
}

static int run_run(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, run_opts, argc, argv);
    binding in[MAX_ARGS], out[MAX_ARGS];
    int n_in = 0, n_out = 0, threads = 1, json = 0, r;
    const char *model = NULL;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case OPT_INPUT:
            if (n_in == MAX_ARGS) return cli_usage_error(cmd, "too many --input");
            in[n_in++].spec = p.arg;
            break;
        case OPT_OUTPUT:
            if (n_out == MAX_ARGS) return cli_usage_error(cmd, "too many --output");
            out[n_out++].spec = p.arg;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(&p, p.arg, &threads)) return CLI_USAGE;
            break;
        case OPT_JSON: json = 1; break;
        case CLI_POS:
            if (model) return cli_usage_error(cmd, "unexpected argument '%s' (inputs go after --input)", p.arg);
            model = p.arg;
            break;
        }
    }
    if (!model) return cli_usage_error(cmd, "missing MODEL");

    sqz_err err = {0};
    sqz_graph *g = NULL;
    if (cli_load_model(model, 1, &g, &err)) return cli_error_err(&err);

    int rc = CLI_OK;
    int in_slot[MAX_ARGS], out_slot[MAX_ARGS];
    sqz_tensor *tensors = NULL;
    const sqz_tensor **feeds = NULL;
    sqz_session *s = NULL;
    cli_outset os;
    cli_outset_init(&os);

    if (g->n_inputs > MAX_ARGS || g->n_outputs > MAX_ARGS) {
        rc = cli_error(SQZ_ERR_UNSUPPORTED, "%s: more than %d graph inputs or outputs", model, MAX_ARGS);
        goto done;
    }
    if ((rc = resolve(cmd, "input", g, g->inputs, g->n_inputs, in, n_in, in_slot))) goto done;
    for (int i = 0; i < g->n_inputs; i++) {
        if (in_slot[i] < 0) {
            char names[1024];
            list_names(g, g->inputs, g->n_inputs, names, sizeof names);
            rc = cli_usage_error(cmd, "no --input for model input '%s' (inputs in order: %s)",
                                 g->tensors[g->inputs[i]]->name, names);
            goto done;
        }
    }
    {
        int unnamed = 0;
        for (int i = 0; i < n_out; i++)
            if (!strchr(out[i].spec, '=') || find_slot(g, g->outputs, g->n_outputs, out[i].spec,
                                                       (size_t)(strchr(out[i].spec, '=') - out[i].spec)) < 0)
                unnamed++;
        if (unnamed && g->n_outputs > 1 && unnamed != g->n_outputs) {
            char names[1024];
            list_names(g, g->outputs, g->n_outputs, names, sizeof names);
            rc = cli_usage_error(cmd, "%s has %d outputs (%s): name them with --output NAME=FILE", model,
                                 g->n_outputs, names);
            goto done;
        }
    }
    if ((rc = resolve(cmd, "output", g, g->outputs, g->n_outputs, out, n_out, out_slot))) goto done;
    for (int i = 0; i < n_out; i++) {
        for (int k = 0; k < i; k++)
            if (strcmp(out[i].file, out[k].file) == 0) {
                rc = cli_usage_error(cmd, "two outputs go to the same file %s", out[i].file);
                goto done;
            }
        if (cli_check_writable(out[i].file, &err)) {
            rc = cli_error_err(&err);
            goto done;
        }
    }

    tensors = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *tensors);
    feeds = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *feeds);
    if (!tensors || !feeds) {
        rc = cli_error(SQZ_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const binding *b = &in[in_slot[i]];
        const sqz_tensor *want = g->tensors[g->inputs[i]];
        if (cli_read_tensor(b->file, &tensors[i], &err) || check_input(b->file, &tensors[i], want, &err) ||
            rename_tensor(&tensors[i], want->name, &err)) {
            rc = cli_error_err(&err);
            goto done;
        }
        feeds[i] = &tensors[i];
    }

    sqz_session_opts so = {0};
    so.threads = threads;
    if (sqz_session_new(g, &so, &s, &err)) {
        sqz_err_prefix(&err, "%s", model);
        rc = cli_error_err(&err);
        goto done;
    }
    double t0 = cli_now();
    if (sqz_session_run(s, g->n_inputs, feeds, &err)) {
        sqz_err_prefix(&err, "%s", model);
        rc = cli_error_err(&err);
        goto done;
    }
    double secs = cli_now() - t0;

    /* write every requested output to a temporary, then move them all into place */
    for (int i = 0; i < n_out; i++) {
        const sqz_tensor *y = sqz_session_output(s, out[i].slot);
        const char *tmp;
        if (!y) {
            rc = cli_error(SQZ_ERR_INTERNAL, "%s: output %d missing after the run", model, out[i].slot);
            goto done;
        }
        if (cli_outset_add(&os, out[i].file, &tmp, &err) || sqz_npy_write(tmp, y, &err)) {
            sqz_err_prefix(&err, "cannot write %s", out[i].file);
            rc = cli_error_err(&err);
            goto done;
        }
    }
    if (cli_outset_commit(&os, &err)) {
        rc = cli_error_err(&err);
        goto done;
    }

    if (json) {
        cli_json j;
        cli_json_init(&j, stdout, 1);
        cli_json_obj(&j);
        cli_json_kstr(&j, "model", model);
        cli_json_knum(&j, "seconds", secs);
        cli_json_kint(&j, "threads", threads);
        cli_json_key(&j, "outputs");
        cli_json_arr(&j);
        for (int i = 0; i < g->n_outputs; i++) {
            const sqz_tensor *y = sqz_session_output(s, i);
            if (y) cli_tensor_json(&j, g->tensors[g->outputs[i]]->name, y);
        }
        cli_json_arr_end(&j);
        cli_json_key(&j, "files");
        cli_json_obj(&j);
        for (int i = 0; i < n_out; i++) cli_json_kstr(&j, g->tensors[g->outputs[out[i].slot]]->name, out[i].file);
        cli_json_obj_end(&j);
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        for (int i = 0; i < g->n_outputs; i++) {
            const sqz_tensor *y = sqz_session_output(s, i);
            if (!y) continue;
            cli_tensor_print(stdout, g->tensors[g->outputs[i]]->name, y, n_out ? 0 : 8);
            if (out_slot[i] >= 0) printf("  -> %s\n", out[out_slot[i]].file);
        }
        printf("ran in %.3f ms (%d thread%s)\n", secs * 1e3, threads, threads == 1 ? "" : "s");
    }

done:
    if (os.n) cli_outset_abort(&os);
    cli_outset_free(&os);
    sqz_session_free(s);
    if (tensors)
        for (int i = 0; i < g->n_inputs; i++) sqz_tensor_release(&tensors[i]);
    free(tensors);
    free(feeds);
    sqz_graph_free(g);
    return rc;
}

const cli_cmd sqz_cmd_run = {
    .name = "run",
    .summary = "Run a model on input tensors (.npy) and write its outputs (.npy).",
    .usage = "sqz run MODEL --input [NAME=]FILE ... [--output [NAME=]FILE ...] [--threads N] [--json]",
    .help =
        "Inputs are NPY files (or ONNX TensorProto .pb files, as in ONNX test data). Without NAME=\n"
        "they feed the model's inputs in order; NAME=FILE feeds the input called NAME. The dtype\n"
        "must be the one the model input has (exit 65 otherwise); dynamic dimensions such as the\n"
        "batch may take any size.\n"
        "\n"
        "Outputs are written as NPY only after the run succeeded, all or none: a failure leaves no\n"
        "partial file and never touches a file that was there before. A model with several outputs\n"
        "needs --output NAME=FILE for each output wanted. Without --output, a summary of every\n"
        "output (dtype, shape, statistics, first values) is printed.\n"
        "\n"
        "options:\n"
        "  --input [NAME=]FILE    an input tensor (repeat for several inputs)\n"
        "  --output [NAME=]FILE   where to write an output (repeat for several outputs)\n"
        "  --threads N            worker threads (default 1)\n"
        "  --json                 print a JSON object (outputs with statistics, seconds, files)\n",
    .run = run_run,
};
