/* cli/cli_tensor.c - tensor summaries (stats and a preview of the first values). */
#include "cli/cli_tensor.h"

#include <math.h>
#include <string.h>

void cli_tensor_stats(const sqz_tensor *t, cli_stats *s) {
    memset(s, 0, sizeof *s);
    s->n = sqz_tensor_numel(t);
    s->numeric = s->n >= 0 && t->data && sqz_dtype_size(t->dtype) > 0 && t->dtype != SQZ_DT_STRING &&
                 (size_t)s->n * sqz_dtype_size(t->dtype) <= t->nbytes;
    if (!s->numeric || s->n == 0) return;
    double sum = 0, sum2 = 0;
    int64_t cnt = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    for (int64_t i = 0; i < s->n; i++) {
        double v = sqz_tensor_get_f64(t, i);
        if (!isfinite(v)) {
            s->nonfinite++;
            continue;
        }
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
        sum += v;
        sum2 += v * v;
        cnt++;
    }
    if (cnt) {
        s->mean = sum / (double)cnt;
        double var = sum2 / (double)cnt - s->mean * s->mean;
        s->std = var > 0 ? sqrt(var) : 0;
    } else {
        s->min = s->max = NAN;
    }
}

void cli_tensor_print(FILE *f, const char *label, const sqz_tensor *t, int preview) {
    char shape[160];
    sqz_shape_str(t, shape, sizeof shape);
    cli_stats s;
    cli_tensor_stats(t, &s);
    fprintf(f, "%s: %s %s", label, sqz_dtype_name(t->dtype), shape);
    if (s.numeric && s.n > 0) {
        fprintf(f, "  min %.6g  max %.6g  mean %.6g  std %.6g", s.min, s.max, s.mean, s.std);
        if (s.nonfinite) fprintf(f, "  (%lld non-finite)", (long long)s.nonfinite);
    }
    fprintf(f, "\n");
    if (preview > 0 && s.numeric && s.n > 0) {
        fprintf(f, "  [");
        int64_t k = s.n < preview ? s.n : preview;
        for (int64_t i = 0; i < k; i++) fprintf(f, "%s%.6g", i ? ", " : "", sqz_tensor_get_f64(t, i));
        fprintf(f, "%s]\n", k < s.n ? ", ..." : "");
    }
}

void cli_tensor_json(cli_json *j, const char *label, const sqz_tensor *t) {
    cli_stats s;
    cli_tensor_stats(t, &s);
    cli_json_obj(j);
    cli_json_kstr(j, "name", label);
    cli_json_kstr(j, "dtype", sqz_dtype_name(t->dtype));
    cli_json_key(j, "shape");
    if (t->ndim < 0) {
        cli_json_null(j);
    } else {
        cli_json_arr_compact(j);
        for (int d = 0; d < t->ndim; d++) cli_json_int(j, t->dims[d]);
        cli_json_arr_end(j);
    }
    if (s.numeric && s.n > 0) {
        cli_json_knum(j, "min", s.min);
        cli_json_knum(j, "max", s.max);
        cli_json_knum(j, "mean", s.mean);
        cli_json_knum(j, "std", s.std);
        cli_json_kint(j, "nonfinite", s.nonfinite);
    }
    cli_json_obj_end(j);
}
