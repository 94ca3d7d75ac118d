/* cli/cmd_tensor.c - `sqz tensor FILE`: inspect, convert (to .npy) and compare tensor files. */
#include <math.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_outset.h"
#include "cli/cli_tensor.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/file.h"

enum { OPT_TO = 1, OPT_COMPARE, OPT_ATOL, OPT_RTOL, OPT_JSON, OPT_SHOW };

static const cli_opt tensor_opts[] = {
    {"to", 1, OPT_TO},     {"compare", 1, OPT_COMPARE}, {"atol", 1, OPT_ATOL},
    {"rtol", 1, OPT_RTOL}, {"json", 0, OPT_JSON},       {"show", 1, OPT_SHOW},
    {NULL, 0, 0},
};

typedef struct cmp_result {
    double max_abs, max_rel;
    int64_t mismatches, first_bad;
} cmp_result;

/* 0 when shapes match (then r is filled), else 1. */
static int compare(const sqz_tensor *a, const sqz_tensor *b, double atol, double rtol, cmp_result *r) {
    memset(r, 0, sizeof *r);
    r->first_bad = -1;
    if (a->ndim != b->ndim) return 1;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d]) return 1;
    int64_t n = sqz_tensor_numel(a);
    for (int64_t i = 0; i < n; i++) {
        double x = sqz_tensor_get_f64(a, i), y = sqz_tensor_get_f64(b, i);
        double d = fabs(x - y);
        if (isnan(x) && isnan(y)) d = 0;
        else if (isnan(d)) d = INFINITY;
        double rel = d / (fabs(y) > 0 ? fabs(y) : 1);
        if (d > r->max_abs) r->max_abs = d;
        if (rel > r->max_rel && fabs(y) > 0) r->max_rel = rel;
        if (!(d <= atol + rtol * fabs(y))) {
            if (r->first_bad < 0) r->first_bad = i;
            r->mismatches++;
        }
    }
    return 0;
}

static int numeric(const sqz_tensor *t) {
    int64_t n = sqz_tensor_numel(t);
    return n >= 0 && sqz_dtype_size(t->dtype) > 0 && t->dtype != SQZ_DT_STRING &&
           (size_t)n * sqz_dtype_size(t->dtype) <= t->nbytes;
}

static int run_tensor(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, tensor_opts, argc, argv);
    const char *file = NULL, *to = NULL, *other = NULL;
    double atol = 1e-5, rtol = 1e-4;
    int json = 0, r;
    int64_t show = 8;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case OPT_TO: to = p.arg; break;
        case OPT_COMPARE: other = p.arg; break;
        case OPT_ATOL:
            if (cli_parse_float(&p, p.arg, &atol)) return CLI_USAGE;
            break;
        case OPT_RTOL:
            if (cli_parse_float(&p, p.arg, &rtol)) return CLI_USAGE;
            break;
        case OPT_SHOW:
            if (cli_parse_int(&p, p.arg, 0, 1000000, &show)) return CLI_USAGE;
            break;
        case OPT_JSON: json = 1; break;
        case CLI_POS:
            if (file) return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
            file = p.arg;
            break;
        }
    }
    if (!file) return cli_usage_error(cmd, "missing FILE");
    if (to && !sqz_path_has_suffix(to, ".npy")) return cli_usage_error(cmd, "--to writes NPY: name the file .npy");

    sqz_err err = {0};
    sqz_tensor a = {0}, b = {0};
    int rc = CLI_OK;
    cmp_result cr;
    int have_cmp = 0, shape_differs = 0;
    if (cli_read_tensor(file, &a, &err)) return cli_error_err(&err);
    if (other) {
        if (cli_read_tensor(other, &b, &err)) {
            rc = cli_error_err(&err);
            goto done;
        }
        if (!numeric(&a) || !numeric(&b)) {
            rc = cli_error(SQZ_ERR_UNSUPPORTED, "cannot compare %s tensors", sqz_dtype_name(numeric(&a) ? b.dtype : a.dtype));
            goto done;
        }
        shape_differs = compare(&a, &b, atol, rtol, &cr);
        have_cmp = 1;
    }
    if (to) {
        cli_outset os;
        const char *tmp;
        cli_outset_init(&os);
        if (cli_check_writable(to, &err) || cli_outset_add(&os, to, &tmp, &err) || sqz_npy_write(tmp, &a, &err) ||
            cli_outset_commit(&os, &err)) {
            cli_outset_abort(&os);
            rc = cli_error_err(&err);
            goto done;
        }
        cli_outset_free(&os);
    }
    if (json) {
        cli_json j;
        cli_json_init(&j, stdout, 1);
        cli_json_obj(&j);
        cli_json_kstr(&j, "file", file);
        cli_json_key(&j, "tensor");
        cli_tensor_json(&j, a.name && a.name[0] ? a.name : file, &a);
        if (have_cmp) {
            cli_json_key(&j, "compare");
            cli_json_obj(&j);
            cli_json_kstr(&j, "file", other);
            cli_json_key(&j, "same_shape");
            cli_json_bool(&j, !shape_differs);
            if (!shape_differs) {
                cli_json_knum(&j, "max_abs_diff", cr.max_abs);
                cli_json_knum(&j, "max_rel_diff", cr.max_rel);
                cli_json_kint(&j, "mismatches", cr.mismatches);
            }
            cli_json_obj_end(&j);
        }
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        cli_tensor_print(stdout, file, &a, (int)show);
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        if (a.name && a.name[0] && strcmp(a.name, base) != 0 && strcmp(a.name, file) != 0)
            printf("  name: %s\n", a.name);
        if (to) printf("  -> %s\n", to);
        if (have_cmp) {
            if (shape_differs) {
                char sa[160], sb[160];
                sqz_shape_str(&a, sa, sizeof sa);
                sqz_shape_str(&b, sb, sizeof sb);
                printf("compare with %s: shapes differ (%s vs %s)\n", other, sa, sb);
            } else {
                printf("compare with %s: max abs diff %.3g, max rel diff %.3g, %lld of %lld outside atol %g + rtol %g\n",
                       other, cr.max_abs, cr.max_rel, (long long)cr.mismatches, (long long)sqz_tensor_numel(&a),
                       atol, rtol);
            }
        }
    }
    if (have_cmp && (shape_differs || cr.mismatches)) {
        if (shape_differs)
            rc = cli_error(SQZ_ERR_INTERNAL, "%s and %s differ in shape", file, other);
        else
            rc = cli_error(SQZ_ERR_INTERNAL, "%s and %s differ: %lld elements outside tolerance (first at %lld)", file,
                           other, (long long)cr.mismatches, (long long)cr.first_bad);
    }
done:
    sqz_tensor_release(&a);
    sqz_tensor_release(&b);
    return rc;
}

const cli_cmd sqz_cmd_tensor = {
    .name = "tensor",
    .summary = "Inspect, convert or compare tensor files (.npy, ONNX .pb, IDX).",
    .usage = "sqz tensor FILE [--show N] [--to OUT.npy] [--compare OTHER [--atol A] [--rtol R]] [--json]",
    .help =
        "Reads FILE (NPY, an ONNX TensorProto .pb as in ONNX test data, or IDX raw/.gz as in\n"
        "Fashion-MNIST) and prints its dtype, shape, statistics and first values.\n"
        "\n"
        "options:\n"
        "  --show N          how many leading values to print (default 8)\n"
        "  --to OUT.npy      also write the tensor as NPY (atomic)\n"
        "  --compare OTHER   compare element-wise with another tensor file; exits 1 when the shapes\n"
        "                    differ or any |a-b| > atol + rtol*|b|\n"
        "  --atol A          absolute tolerance (default 1e-5)\n"
        "  --rtol R          relative tolerance (default 1e-4)\n"
        "  --json            print a JSON object instead\n",
    .run = run_tensor,
};
