/* cli/cli_util.c - option parsing, error printing and small helpers shared by the subcommands. */
#include "cli/cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"

/* ---- errors ---- */

static void print_line(const char *prefix, const char *fmt, va_list ap) {
    char msg[SQZ_ERR_MSG_MAX + 64];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    fprintf(stderr, "%s%s\n", prefix, msg);
}

int cli_error(sqz_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    print_line("sqz: ", fmt, ap);
    va_end(ap);
    return sqz_status_exit_code(code);
}

int cli_error_err(const sqz_err *err) {
    sqz_status code = err->code ? err->code : SQZ_ERR_INTERNAL;
    return cli_error(code, "%s", err->msg[0] ? err->msg : sqz_status_str(code));
}

static void print_usage_lines(const cli_cmd *cmd, FILE *f) {
    const char *u = cmd->usage;
    int first = 1;
    while (u && *u) {
        const char *e = strchr(u, '\n');
        size_t n = e ? (size_t)(e - u) : strlen(u);
        fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", (int)n, u);
        first = 0;
        u += n + (e ? 1 : 0);
    }
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    print_line("sqz: ", fmt, ap);
    va_end(ap);
    if (cmd) {
        print_usage_lines(cmd, stderr);
        fprintf(stderr, "Run 'sqz help %s' for details.\n", cmd->name);
    } else {
        fprintf(stderr, "Run 'sqz help' for the list of commands.\n");
    }
    return CLI_USAGE;
}

int cli_print_help(const cli_cmd *cmd, FILE *f) {
    print_usage_lines(cmd, f);
    fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->help && *cmd->help) fprintf(f, "\n%s", cmd->help);
    return 0;
}

/* ---- options ---- */

void cli_parser_init(cli_parser *p, const cli_cmd *cmd, const cli_opt *opts, int argc, char **argv) {
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->opts = opts;
    p->argc = argc;
    p->argv = argv;
    p->i = 1;
}

int cli_next(cli_parser *p) {
    if (p->i >= p->argc) return CLI_END;
    const char *a = p->argv[p->i++];
    p->arg = NULL;
    p->opt = a;
    if (p->only_pos || a[0] != '-' || a[1] == '\0') {
        p->arg = a;
        return CLI_POS;
    }
    if (strcmp(a, "--") == 0) {
        p->only_pos = 1;
        return cli_next(p);
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        cli_print_help(p->cmd, stdout);
        return CLI_HELP;
    }
    if (a[1] != '-') return cli_usage_error(p->cmd, "unknown option '%s'", a), CLI_BAD;
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    for (const cli_opt *o = p->opts; o && o->name; o++) {
        if (strlen(o->name) != nlen || strncmp(o->name, name, nlen) != 0) continue;
        if (!o->has_arg) {
            if (eq) return cli_usage_error(p->cmd, "option '--%s' takes no value", o->name), CLI_BAD;
            return o->id;
        }
        if (eq) {
            p->arg = eq + 1;
        } else {
            if (p->i >= p->argc)
                return cli_usage_error(p->cmd, "option '--%s' needs a value", o->name), CLI_BAD;
            p->arg = p->argv[p->i++];
        }
        return o->id;
    }
    cli_usage_error(p->cmd, "unknown option '--%.*s'", (int)nlen, name);
    return CLI_BAD;
}

int cli_parse_int(const cli_parser *p, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return cli_usage_error(p->cmd, "%s: '%s' is not an integer in %lld..%lld", p->opt, s,
                               (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

int cli_parse_float(const cli_parser *p, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return cli_usage_error(p->cmd, "%s: '%s' is not a number", p->opt, s);
    *out = v;
    return 0;
}

int cli_parse_floats(const cli_parser *p, const char *s, float *out, int max, int *n) {
    int k = 0;
    const char *c = s;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(c, &end);
        if (errno || end == c || !isfinite(v) || (*end != ',' && *end != '\0'))
            return cli_usage_error(p->cmd, "%s: '%s' is not a comma-separated list of numbers", p->opt, s);
        if (k >= max) return cli_usage_error(p->cmd, "%s: at most %d values", p->opt, max);
        out[k++] = (float)v;
        if (*end == '\0') break;
        c = end + 1;
    }
    *n = k;
    return 0;
}

int cli_parse_threads(const cli_parser *p, const char *s, int *out) {
    int64_t v;
    if (cli_parse_int(p, s, 1, 1024, &v)) return CLI_USAGE;
    *out = (int)v;
    return 0;
}

/* ---- helpers ---- */

static void name_file(sqz_err *err, const char *path) {
    if (!strstr(err->msg, path)) sqz_err_prefix(err, "%s", path);
}

sqz_status cli_load_model(const char *path, int prepare, sqz_graph **g, sqz_err *err) {
    *g = NULL;
    sqz_status st = sqz_model_load(path, g, err);
    if (st) {
        name_file(err, path);
        *g = NULL;
        return st;
    }
    if (prepare) {
        st = sqz_graph_prepare_inference(*g, err);
        if (st) {
            sqz_err_prefix(err, "%s", path);
            sqz_graph_free(*g);
            *g = NULL;
            return st;
        }
    }
    return SQZ_OK;
}

sqz_status cli_read_tensor(const char *path, sqz_tensor *t, sqz_err *err) {
    sqz_status st;
    memset(t, 0, sizeof *t);
    if (sqz_path_has_suffix(path, ".npy"))
        st = sqz_npy_read(path, t, err);
    else if (sqz_path_has_suffix(path, ".pb"))
        st = sqz_onnx_load_tensor(path, t, err);
    else
        st = sqz_idx_read(path, t, err);
    if (st) name_file(err, path);
    return st;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_fmt_bytes(double b, char *buf, size_t n) {
    if (b < 1024)
        snprintf(buf, n, "%.0f B", b);
    else if (b < 1024.0 * 1024)
        snprintf(buf, n, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(buf, n, "%.1f MiB", b / (1024.0 * 1024));
    else
        snprintf(buf, n, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

void cli_fmt_count(int64_t v, char *buf, size_t n) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    size_t len = strlen(tmp), k = 0;
    char out[48];
    if (v < 0) out[k++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = tmp[i];
    }
    out[k] = '\0';
    snprintf(buf, n, "%s", out);
}

int cli_stderr_tty(void) { return isatty(STDERR_FILENO); }

int cli_run_with_o(const cli_cmd *cmd, int argc, char **argv, int (*fn)(const cli_cmd *, int, char **)) {
    char **v = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!v) return cli_error(SQZ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < argc; i++) v[i] = strcmp(argv[i], "-o") == 0 ? (char *)"--output" : argv[i];
    v[argc] = NULL;
    const int rc = fn(cmd, argc, v);
    free(v);
    return rc;
}
