/* cli/cli_json.c - streaming JSON writer. */
#include "cli/cli_json.h"

#include <math.h>
#include <string.h>

void cli_json_init(cli_json *j, FILE *f, int pretty) {
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
}

static void indent(cli_json *j) {
    if (!j->pretty || j->compact[j->depth]) return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
}

/* Separator before a value (not after a key). */
static void before_value(cli_json *j) {
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->count[j->depth]++) fputc(',', j->f);
        indent(j);
    }
}

static void j_open(cli_json *j, char c, int compact) {
    before_value(j);
    fputc(c, j->f);
    int inherit = j->compact[j->depth];
    if (j->depth < CLI_JSON_DEPTH - 1) j->depth++;
    j->count[j->depth] = 0;
    j->compact[j->depth] = compact || inherit;
}

static void j_close(cli_json *j, char c) {
    int had = j->count[j->depth] && !j->compact[j->depth];
    if (j->depth > 0) j->depth--;
    if (had) indent(j);
    fputc(c, j->f);
}

void cli_json_obj(cli_json *j) { j_open(j, '{', 0); }
void cli_json_obj_end(cli_json *j) { j_close(j, '}'); }
void cli_json_arr(cli_json *j) { j_open(j, '[', 0); }
void cli_json_arr_compact(cli_json *j) { j_open(j, '[', 1); }
void cli_json_arr_end(cli_json *j) { j_close(j, ']'); }

static void write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

void cli_json_key(cli_json *j, const char *key) {
    before_value(j);
    write_string(j->f, key);
    fputs(j->pretty ? ": " : ":", j->f);
    j->after_key = 1;
}

void cli_json_str(cli_json *j, const char *s) {
    before_value(j);
    if (s)
        write_string(j->f, s);
    else
        fputs("null", j->f);
}

void cli_json_int(cli_json *j, int64_t v) {
    before_value(j);
    fprintf(j->f, "%lld", (long long)v);
}

void cli_json_num(cli_json *j, double v) {
    before_value(j);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

void cli_json_bool(cli_json *j, int v) {
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json *j) {
    before_value(j);
    fputs("null", j->f);
}

void cli_json_end(cli_json *j) {
    fputc('\n', j->f);
    fflush(j->f);
}

void cli_json_kstr(cli_json *j, const char *key, const char *s) {
    cli_json_key(j, key);
    cli_json_str(j, s);
}

void cli_json_kint(cli_json *j, const char *key, int64_t v) {
    cli_json_key(j, key);
    cli_json_int(j, v);
}

void cli_json_knum(cli_json *j, const char *key, double v) {
    cli_json_key(j, key);
    cli_json_num(j, v);
}
