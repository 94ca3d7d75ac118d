/* cli/cmd_convert.c - `sqz convert IN OUT`: .onnx <-> .sqz, lossless (the graph is saved as loaded). */
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_outset.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/file.h"

static const cli_opt convert_opts[] = {{NULL, 0, 0}};

static int run_convert(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, convert_opts, argc, argv);
    const char *pos[2] = {NULL, NULL};
    int n = 0, r;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case CLI_POS:
            if (n == 2) return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
            pos[n++] = p.arg;
            break;
        }
    }
    if (n < 2) return cli_usage_error(cmd, n ? "missing OUT" : "missing IN and OUT");
    const char *in = pos[0], *out = pos[1];
    if (!sqz_path_has_suffix(out, ".onnx") && !sqz_path_has_suffix(out, ".sqz"))
        return cli_usage_error(cmd, "cannot tell the format of '%s': name it .onnx or .sqz", out);

    sqz_err err = {0};
    if (cli_check_writable(out, &err)) return cli_error_err(&err);
    sqz_graph *g = NULL;
    if (cli_load_model(in, 0, &g, &err)) return cli_error_err(&err);
    int rc = CLI_OK;
    if (sqz_model_save(g, out, &err)) {
        if (!strstr(err.msg, out)) sqz_err_prefix(&err, "%s", out);
        rc = cli_error_err(&err);
    } else {
        struct stat st;
        long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
        int inits = 0;
        for (int i = 0; i < g->n_tensors; i++) inits += (g->tensors[i]->flags & SQZ_TF_INIT) != 0;
        char b[32];
        cli_fmt_bytes((double)size, b, sizeof b);
        printf("%s -> %s: %d nodes, %d initializers, %s\n", in, out, g->n_nodes, inits, b);
    }
    sqz_graph_free(g);
    return rc;
}

const cli_cmd sqz_cmd_convert = {
    .name = "convert",
    .summary = "Convert a model between ONNX (.onnx) and sqz's native format (.sqz).",
    .usage = "sqz convert IN OUT",
    .help =
        "Formats follow the file names: .onnx is ONNX protobuf, .sqz is sqz's memory-mappable\n"
        "container (docs/format.md). Any direction works, including .onnx -> .onnx. The graph is\n"
        "written exactly as loaded (no folding or other change), so outputs of `sqz run` are\n"
        "bit-identical before and after. OUT is replaced atomically.\n",
    .run = run_convert,
};
