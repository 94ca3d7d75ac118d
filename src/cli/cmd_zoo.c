/* cli/cmd_zoo.c - `sqz zoo`: the built-in architectures (name, parameters, MACs), and
 * `sqz zoo NAME -o FILE` to write one, freshly initialized, as ONNX or .sqz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "zoo/zoo.h"

enum { OPT_INPUT = 1, OPT_CLASSES, OPT_WIDTH, OPT_SEED, OPT_OUT, OPT_JSON };

static const cli_opt zoo_opts[] = {
    {"input", 1, OPT_INPUT}, {"classes", 1, OPT_CLASSES}, {"width", 1, OPT_WIDTH}, {"seed", 1, OPT_SEED},
    {"output", 1, OPT_OUT},  {"json", 0, OPT_JSON},       {NULL, 0, 0},
};

/* "CxHxW" -> c, h, w. */
static int parse_chw(const char *s, int64_t *c, int64_t *h, int64_t *w) {
    long long a, b, d;
    char tail;
    if (sscanf(s, "%lldx%lldx%lld%c", &a, &b, &d, &tail) != 3 || a < 1 || b < 1 || d < 1 || a > 4096 ||
        b > 65536 || d > 65536)
        return -1;
    *c = a, *h = b, *w = d;
    return 0;
}

static int zoo_main(const cli_cmd *cmd, int argc, char **argv);

static int run_zoo(const cli_cmd *cmd, int argc, char **argv) { return cli_run_with_o(cmd, argc, argv, zoo_main); }

static int zoo_main(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, zoo_opts, argc, argv);
    const char *name = NULL, *out = NULL;
    int64_t c = 1, h = 28, w = 28, classes = 10, seed = 1;
    double width = 1;
    int json = 0, r;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case OPT_INPUT:
            if (parse_chw(p.arg, &c, &h, &w)) return cli_usage_error(cmd, "--input: '%s' is not CxHxW", p.arg);
            break;
        case OPT_CLASSES:
            if (cli_parse_int(&p, p.arg, 1, 1000000, &classes)) return CLI_USAGE;
            break;
        case OPT_WIDTH:
            if (cli_parse_float(&p, p.arg, &width)) return CLI_USAGE;
            if (!(width > 0.01 && width <= 64)) return cli_usage_error(cmd, "--width must be in (0.01, 64]");
            break;
        case OPT_SEED:
            if (cli_parse_int(&p, p.arg, 0, INT64_MAX, &seed)) return CLI_USAGE;
            break;
        case OPT_OUT: out = p.arg; break;
        case OPT_JSON: json = 1; break;
        case CLI_POS:
            if (name) return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
            name = p.arg;
            break;
        }
    }
    sqz_err err = {0};
    if (name && !sqz_zoo_find(name)) return cli_usage_error(cmd, "unknown architecture '%s' (see `sqz zoo`)", name);
    if (out && !name) return cli_usage_error(cmd, "-o needs an architecture NAME");
    if (out) {
        sqz_graph *g = NULL;
        if (sqz_zoo_build(name, c, h, w, classes, (float)width, (uint64_t)seed, &g, &err)) return cli_error_err(&err);
        sqz_status st = sqz_model_save(g, out, &err);
        sqz_graph_free(g);
        if (st) return cli_error_err(&err);
        if (!json) printf("wrote %s (%s for %lldx%lldx%lld, seed %lld)\n", out, name, (long long)c, (long long)h,
                          (long long)w, (long long)seed);
        return CLI_OK;
    }
    cli_json j;
    if (json) {
        cli_json_init(&j, stdout, 1);
        cli_json_obj(&j);
        char in[64];
        snprintf(in, sizeof in, "%lldx%lldx%lld", (long long)c, (long long)h, (long long)w);
        cli_json_kstr(&j, "input", in);
        cli_json_kint(&j, "classes", classes);
        cli_json_knum(&j, "width", width);
        cli_json_key(&j, "architectures");
        cli_json_arr(&j);
    } else {
        printf("Architectures for %lldx%lldx%lld inputs, %lld classes, width %g:\n\n", (long long)c, (long long)h,
               (long long)w, (long long)classes, width);
        printf("  %-13s %11s %13s  %s\n", "name", "params", "MACs", "description");
    }
    for (int i = 0; i < sqz_zoo_count(); i++) {
        const sqz_zoo_info *z = sqz_zoo_at(i);
        if (name && strcmp(name, z->name)) continue;
        int64_t params = 0, macs = 0;
        sqz_status st = sqz_zoo_stats(z->name, c, h, w, classes, (float)width, &params, &macs, &err);
        char ps[32] = "-", ms[32] = "-";
        if (!st) {
            cli_fmt_count(params, ps, sizeof ps);
            cli_fmt_count(macs, ms, sizeof ms);
        }
        if (json) {
            cli_json_obj(&j);
            cli_json_kstr(&j, "name", z->name);
            cli_json_kstr(&j, "description", z->desc);
            if (st) {
                cli_json_kstr(&j, "error", err.msg);
            } else {
                cli_json_kint(&j, "params", params);
                cli_json_kint(&j, "macs", macs);
            }
            cli_json_obj_end(&j);
        } else {
            printf("  %-13s %11s %13s  %s\n", z->name, ps, ms, st ? err.msg : z->desc);
        }
    }
    if (json) {
        cli_json_arr_end(&j);
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        printf("\nsqz zoo NAME -o FILE writes one (untrained); sqz train --arch NAME trains one.\n");
    }
    return CLI_OK;
}

const cli_cmd sqz_cmd_zoo = {
    .name = "zoo",
    .summary = "list the built-in architectures, or write one as a model file",
    .usage = "sqz zoo [NAME] [--input CxHxW] [--classes N] [--width M] [--json]\n"
             "       sqz zoo NAME -o OUT.onnx|OUT.sqz [--input CxHxW] [--classes N] [--width M] [--seed S]",
    .help = "Lists the architectures sqz builds and trains (sqz train --arch NAME) with their parameter\n"
            "count and multiply-accumulates per image, for 1x28x28 inputs unless --input says otherwise.\n"
            "With -o, writes NAME freshly initialized (seeded He/PyTorch-default init): input 'input'\n"
            "(N, C, H, W), output 'logits' (N, classes).\n"
            "\n"
            "  --input CxHxW   image shape (default 1x28x28)\n"
            "  --classes N     outputs (default 10)\n"
            "  --width M       width multiplier (default 1)\n"
            "  --seed S        initialization seed (default 1)\n"
            "  -o, --output F  write the model (.onnx or .sqz)\n"
            "  --json          machine-readable listing\n",
    .run = run_zoo,
};
