/* cli/cli_tensor.h - tensor summaries for `sqz run` and `sqz tensor`. */
#ifndef SQZ_CLI_TENSOR_H
#define SQZ_CLI_TENSOR_H

#include <stdio.h>

#include "cli/cli_json.h"
#include "sqz/tensor.h"

typedef struct cli_stats {
    int64_t n;        /* elements (-1 if unknown) */
    double min, max, mean, std;
    int64_t nonfinite;
    int numeric;      /* 0 for packed / string dtypes: no stats */
} cli_stats;

void cli_tensor_stats(const sqz_tensor *t, cli_stats *s);
/* "f32 [2,4,5,4]  min -1.2 max 3.4 mean 0.01 std 0.9" + first values on a second line. */
void cli_tensor_print(FILE *f, const char *label, const sqz_tensor *t, int preview);
/* {"name","dtype","shape","min","max","mean","std"} */
void cli_tensor_json(cli_json *j, const char *label, const sqz_tensor *t);

#endif
