/* cli/cli_util.h - what every sqz subcommand shares: the command table entry,
 * option parsing, error printing and exit codes.
 *
 * Errors go to stderr as ONE line "sqz: <message>"; the exit code comes from
 * sqz_status_exit_code (0 ok, 1 failure, 2 usage, 65 bad data / unsupported
 * model, 66 missing input, 73 cannot write output). */
#ifndef SQZ_CLI_UTIL_H
#define SQZ_CLI_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "sqz/sqz.h"

typedef struct cli_cmd {
    const char *name;
    const char *summary;  /* one line for `sqz help` */
    const char *usage;    /* "sqz info MODEL [--json]" (may hold several lines) */
    const char *help;     /* full help text printed after the usage */
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv); /* argv[0] = command name */
    int hidden;           /* not listed by `sqz help` */
} cli_cmd;

/* Exit codes (DESIGN.md). */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_DATA = 65, CLI_NOINPUT = 66, CLI_CANTWRITE = 73 };

/* ---- errors ---- */
/* Prints "sqz: <message>" on stderr; returns sqz_status_exit_code(code). */
int cli_error(sqz_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the message held in err; returns its exit code. */
int cli_error_err(const sqz_err *err);
/* Usage error: "sqz: <message>" then the command's usage lines and a hint, on stderr; returns 2. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints usage + help of cmd on stdout. Returns 0. */
int cli_print_help(const cli_cmd *cmd, FILE *f);

/* ---- options ----
 * Options are long ("--name VALUE" or "--name=VALUE"); "-h"/"--help" prints the help;
 * "--" ends options. Everything else is positional. */
typedef struct cli_opt {
    const char *name;   /* without the leading "--" */
    int has_arg;        /* 1: takes a value */
    int id;             /* returned by cli_next */
} cli_opt;

typedef struct cli_parser {
    const cli_cmd *cmd;
    const cli_opt *opts;
    int argc;
    char **argv;
    int i;              /* next argv index */
    int only_pos;       /* after "--" */
    const char *arg;    /* value of the last option, or the positional */
    const char *opt;    /* the option as written, for messages */
} cli_parser;

enum { CLI_POS = -1, CLI_END = -2, CLI_HELP = -3, CLI_BAD = -4 };

void cli_parser_init(cli_parser *p, const cli_cmd *cmd, const cli_opt *opts, int argc, char **argv);
/* Returns an option id, CLI_POS (p->arg is the positional), CLI_END, CLI_HELP (help was
 * printed; exit 0) or CLI_BAD (a usage error was printed; exit 2). */
int cli_next(cli_parser *p);

/* Value parsers: on failure print a usage error and return 2; else 0. */
int cli_parse_int(const cli_parser *p, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_float(const cli_parser *p, const char *s, double *out);
/* Comma-separated floats, at most max of them. */
int cli_parse_floats(const cli_parser *p, const char *s, float *out, int max, int *n);
/* --threads N (1..1024). */
int cli_parse_threads(const cli_parser *p, const char *s, int *out);

/* ---- small helpers ---- */
/* Loads a model (.onnx / .sqz) and, when prepare != 0, runs sqz_graph_prepare_inference
 * (BatchNorm folded, Identity/Dropout removed: for run/eval/bench, not for training). The error
 * message names the file. */
sqz_status cli_load_model(const char *path, int prepare, sqz_graph **g, sqz_err *err);
/* Reads a tensor file by content/extension: .npy (NPY), .pb (ONNX TensorProto),
 * otherwise IDX (raw or .gz). Owned result. */
sqz_status cli_read_tensor(const char *path, sqz_tensor *t, sqz_err *err);
/* Seconds from a monotonic clock. */
/* Runs fn(cmd, argc, argv) with every "-o" spelled "--output" (the option parser knows long
 * options only). */
int cli_run_with_o(const cli_cmd *cmd, int argc, char **argv, int (*fn)(const cli_cmd *, int, char **));
double cli_now(void);
/* "1.2 KB", "3.4 MB" ... */
void cli_fmt_bytes(double bytes, char *buf, size_t n);
/* "1,234,567" */
void cli_fmt_count(int64_t v, char *buf, size_t n);
/* 1 if stderr is a terminal (progress bars). */
int cli_stderr_tty(void);

#endif
