/* cli/cli_json.h - a tiny streaming JSON writer for --json output (strings escaped,
 * non-finite numbers written as null). */
#ifndef SQZ_CLI_JSON_H
#define SQZ_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_DEPTH 16

typedef struct cli_json {
    FILE *f;
    int depth;
    int count[CLI_JSON_DEPTH]; /* values written at each level */
    int compact[CLI_JSON_DEPTH]; /* level written on one line */
    int after_key;
    int pretty;
} cli_json;

void cli_json_init(cli_json *j, FILE *f, int pretty);
void cli_json_obj(cli_json *j);      /* { */
void cli_json_obj_end(cli_json *j);  /* } */
void cli_json_arr(cli_json *j);      /* [ */
void cli_json_arr_end(cli_json *j);  /* ] */
void cli_json_arr_compact(cli_json *j); /* [ on one line, e.g. a shape; closed by cli_json_arr_end */
void cli_json_key(cli_json *j, const char *key);
void cli_json_str(cli_json *j, const char *s); /* NULL -> null */
void cli_json_int(cli_json *j, int64_t v);
void cli_json_num(cli_json *j, double v);
void cli_json_bool(cli_json *j, int v);
void cli_json_null(cli_json *j);
/* Closes the document with a newline. */
void cli_json_end(cli_json *j);

/* key + value shorthands */
void cli_json_kstr(cli_json *j, const char *key, const char *s);
void cli_json_kint(cli_json *j, const char *key, int64_t v);
void cli_json_knum(cli_json *j, const char *key, double v);

#endif
