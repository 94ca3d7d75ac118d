/* cli/cmd_eval.c - `sqz eval MODEL --data SPEC`: accuracy, cross-entropy and speed on a
 * labelled image data set (Fashion-MNIST or any IDX/NPY pair). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_progress.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "data/dataset.h"

enum { OPT_DATA = 1, OPT_LIMIT, OPT_BATCH, OPT_MEAN, OPT_STD, OPT_LAYOUT, OPT_THREADS, OPT_JSON };

static const cli_opt eval_opts[] = {
    {"data", 1, OPT_DATA},     {"limit", 1, OPT_LIMIT},     {"batch", 1, OPT_BATCH},
    {"mean", 1, OPT_MEAN},     {"std", 1, OPT_STD},         {"layout", 1, OPT_LAYOUT},
    {"threads", 1, OPT_THREADS}, {"json", 0, OPT_JSON},     {NULL, 0, 0},
};

static int dim_fits(int64_t model_dim, int64_t v) { return model_dim < 0 || model_dim == v; }

/* Works out how images feed the model input x: rank, layout and batch size.
 * layout_opt: -1 = detect. Returns 0 or an exit code (message printed). */
static int plan_input(const char *model, const sqz_tensor *x, const sqz_dataset *ds, int layout_opt,
                      sqz_layout *layout, int64_t *dims, int *batch_fixed) {
    char s[160];
    sqz_shape_str(x, s, sizeof s);
    int64_t h = ds->h, w = ds->w, c = ds->c;
    if (x->dtype != SQZ_DT_F32)
        return cli_error(SQZ_ERR_UNSUPPORTED, "%s: input '%s' is %s; eval feeds float32 images", model, x->name,
                         sqz_dtype_name(x->dtype));
    *batch_fixed = x->ndim > 0 && x->dims[0] >= 0;
    *layout = layout_opt >= 0 ? (sqz_layout)layout_opt : SQZ_LAYOUT_NCHW;
    if (x->ndim == 2 && dim_fits(x->dims[1], h * w * c)) {
        dims[1] = h * w * c;
        return 0;
    }
    if (x->ndim == 3 && c == 1 && dim_fits(x->dims[1], h) && dim_fits(x->dims[2], w)) {
        dims[1] = h;
        dims[2] = w;
        return 0;
    }
    if (x->ndim == 4) {
        int nchw = dim_fits(x->dims[1], c) && dim_fits(x->dims[2], h) && dim_fits(x->dims[3], w);
        int nhwc = dim_fits(x->dims[1], h) && dim_fits(x->dims[2], w) && dim_fits(x->dims[3], c);
        if (layout_opt < 0) *layout = nchw ? SQZ_LAYOUT_NCHW : SQZ_LAYOUT_NHWC;
        int ok = *layout == SQZ_LAYOUT_NCHW ? nchw : nhwc;
        if (ok) {
            if (*layout == SQZ_LAYOUT_NCHW) {
                dims[1] = c, dims[2] = h, dims[3] = w;
            } else {
                dims[1] = h, dims[2] = w, dims[3] = c;
            }
            return 0;
        }
    }
    return cli_error(SQZ_ERR_DATA, "%s: input '%s' %s does not take %lldx%lldx%lld images of %s%s", model, x->name, s,
                     (long long)h, (long long)w, (long long)c, ds->name,
                     layout_opt >= 0 ? " in the --layout given" : "");
}

typedef struct scores {
    int64_t seen, correct;
    double loss_sum;
    int64_t prob_rows; /* rows scored as probabilities (log directly) */
} scores;

/* Scores rows [0, rows) of the output y (classes per row) against labels. */
static int score(const char *model, const sqz_tensor *y, int64_t rows, int64_t classes, const int64_t *labels,
                 scores *sc) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = r * classes;
        int64_t lab = labels[r];
        if (lab < 0 || lab >= classes)
            return cli_error(SQZ_ERR_DATA, "%s: label %lld but the model gives %lld scores per image", model,
                             (long long)lab, (long long)classes);
        int64_t best = 0;
        double mx = -INFINITY, sum = 0;
        int probs = 1;
        for (int64_t k = 0; k < classes; k++) {
            double v = sqz_tensor_get_f64(y, base + k);
            if (k == 0 || v > mx) {
                mx = v;
                best = k;
            }
            if (!(v >= 0)) probs = 0;
            sum += v;
        }
        if (probs && classes > 1 && fabs(sum - 1.0) < 1e-3) {
            double p = sqz_tensor_get_f64(y, base + lab);
            sc->loss_sum += -log(p > 1e-12 ? p : 1e-12);
            sc->prob_rows++;
        } else {
            double z = 0;
            for (int64_t k = 0; k < classes; k++) z += exp(sqz_tensor_get_f64(y, base + k) - mx);
            sc->loss_sum += (mx + log(z)) - sqz_tensor_get_f64(y, base + lab);
        }
        sc->correct += best == lab;
        sc->seen++;
    }
    return 0;
}

static int run_eval(const cli_cmd *cmd, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, eval_opts, argc, argv);
    const char *model = NULL, *data = NULL;
    int64_t limit = -1, batch = 64;
    int threads = 1, json = 0, layout_opt = -1, r;
    sqz_normalize nm;
    sqz_normalize_default(&nm);
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return CLI_OK;
        case CLI_BAD: return CLI_USAGE;
        case OPT_DATA: data = p.arg; break;
        case OPT_LIMIT:
            if (cli_parse_int(&p, p.arg, 1, INT64_MAX, &limit)) return CLI_USAGE;
            break;
        case OPT_BATCH:
            if (cli_parse_int(&p, p.arg, 1, 65536, &batch)) return CLI_USAGE;
            break;
        case OPT_MEAN:
            if (cli_parse_floats(&p, p.arg, nm.mean, 4, &nm.n_mean)) return CLI_USAGE;
            break;
        case OPT_STD:
            if (cli_parse_floats(&p, p.arg, nm.std, 4, &nm.n_std)) return CLI_USAGE;
            for (int i = 0; i < nm.n_std; i++)
                if (!(nm.std[i] > 0)) return cli_usage_error(cmd, "--std values must be > 0");
            break;
        case OPT_LAYOUT:
            if (strcmp(p.arg, "nchw") == 0)
                layout_opt = SQZ_LAYOUT_NCHW;
            else if (strcmp(p.arg, "nhwc") == 0)
                layout_opt = SQZ_LAYOUT_NHWC;
            else
                return cli_usage_error(cmd, "--layout: '%s' is not nchw or nhwc", p.arg);
            break;
        case OPT_THREADS:
            if (cli_parse_threads(&p, p.arg, &threads)) return CLI_USAGE;
            break;
        case OPT_JSON: json = 1; break;
        case CLI_POS:
            if (model) return cli_usage_error(cmd, "unexpected argument '%s'", p.arg);
            model = p.arg;
            break;
        }
    }
    if (!model) return cli_usage_error(cmd, "missing MODEL");
    if (!data) return cli_usage_error(cmd, "missing --data (fashion-mnist[:test|:train] or IMAGES,LABELS)");

    sqz_err err = {0};
    sqz_graph *g = NULL;
    sqz_dataset ds;
    memset(&ds, 0, sizeof ds);
    sqz_session *s = NULL;
    sqz_tensor xin;
    memset(&xin, 0, sizeof xin);
    int64_t *labels = NULL;
    int rc = CLI_OK;
    cli_progress pg;
    memset(&pg, 0, sizeof pg);

    if (cli_load_model(model, 1, &g, &err)) return cli_error_err(&err);
    if (g->n_inputs != 1 || g->n_outputs < 1) {
        rc = cli_error(SQZ_ERR_UNSUPPORTED, "%s: eval needs a model with one input and a score output (it has %d inputs, %d outputs)",
                       model, g->n_inputs, g->n_outputs);
        goto done;
    }
    if (sqz_dataset_open(data, &ds, &err)) {
        rc = cli_error_err(&err);
        goto done;
    }
    if ((nm.n_mean > 1 && nm.n_mean != ds.c) || (nm.n_std > 1 && nm.n_std != ds.c)) {
        rc = cli_usage_error(cmd, "--mean/--std take 1 or %lld values (channels of %s)", (long long)ds.c, ds.name);
        goto done;
    }
    const sqz_tensor *x = g->tensors[g->inputs[0]];
    int64_t dims[SQZ_MAX_DIMS] = {0};
    int batch_fixed = 0;
    if ((rc = plan_input(model, x, &ds, layout_opt, &nm.layout, dims, &batch_fixed))) goto done;
    if (batch_fixed) batch = x->dims[0];
    if (batch < 1) {
        rc = cli_error(SQZ_ERR_DATA, "%s: input '%s' has batch dimension 0", model, x->name);
        goto done;
    }
    dims[0] = batch;
    int64_t n = limit > 0 && limit < ds.n ? limit : ds.n;

    if (sqz_tensor_init_owned(&xin, x->name, SQZ_DT_F32, x->ndim, dims, &err)) {
        rc = cli_error_err(&err);
        goto done;
    }
    size_t full_bytes = xin.nbytes;
    int64_t per_image = ds.h * ds.w * ds.c;
    labels = malloc((size_t)batch * sizeof *labels);
    if (!labels) {
        rc = cli_error(SQZ_ERR_NOMEM, "out of memory");
        goto done;
    }
    sqz_session_opts so = {0};
    so.threads = threads;
    if (sqz_session_new(g, &so, &s, &err)) {
        sqz_err_prefix(&err, "%s", model);
        rc = cli_error_err(&err);
        goto done;
    }

    scores sc = {0};
    cli_progress_start(&pg, "eval", "img", n);
    double t0 = cli_now();
    for (int64_t start = 0; start < n; start += batch) {
        int64_t count = n - start < batch ? n - start : batch;
        int64_t rows = batch_fixed ? batch : count; /* a fixed batch is padded with zeros */
        if (count < batch) memset(xin.data, 0, full_bytes);
        xin.dims[0] = rows;
        xin.nbytes = (size_t)rows * (size_t)per_image * sizeof(float);
        if (sqz_dataset_batch_f32(&ds, NULL, start, count, &nm, (float *)xin.data, labels, &err)) {
            rc = cli_error_err(&err);
            goto done;
        }
        const sqz_tensor *feed = &xin;
        if (sqz_session_run(s, 1, &feed, &err)) {
            sqz_err_prefix(&err, "%s", model);
            rc = cli_error_err(&err);
            goto done;
        }
        const sqz_tensor *y = sqz_session_output(s, 0);
        int64_t ny = y ? sqz_tensor_numel(y) : -1;
        if (ny <= 0 || ny % rows != 0 || !sqz_dtype_size(y->dtype) || y->dtype == SQZ_DT_STRING) {
            char ys[160] = "?";
            if (y) sqz_shape_str(y, ys, sizeof ys);
            rc = cli_error(SQZ_ERR_UNSUPPORTED, "%s: output %s %s is not one row of class scores per image", model,
                           y ? y->name : "?", ys);
            goto done;
        }
        if ((rc = score(model, y, count, ny / rows, labels, &sc))) goto done;
        cli_progress_update(&pg, start + count);
    }
    double secs = cli_now() - t0;
    cli_progress_finish(&pg);

    double acc = sc.seen ? (double)sc.correct / (double)sc.seen : 0;
    double loss = sc.seen ? sc.loss_sum / (double)sc.seen : 0;
    double ips = secs > 0 ? (double)sc.seen / secs : 0;
    if (json) {
        cli_json j;
        cli_json_init(&j, stdout, 1);
        cli_json_obj(&j);
        cli_json_kstr(&j, "model", model);
        cli_json_kstr(&j, "data", ds.name);
        cli_json_kint(&j, "images", sc.seen);
        cli_json_kint(&j, "correct", sc.correct);
        cli_json_knum(&j, "accuracy", acc);
        cli_json_knum(&j, "loss", loss);
        cli_json_knum(&j, "images_per_sec", ips);
        cli_json_knum(&j, "seconds", secs);
        cli_json_kint(&j, "batch", batch);
        cli_json_kint(&j, "threads", threads);
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        printf("model:     %s\n", model);
        printf("data:      %s (%lld of %lld images, %lldx%lldx%lld, %d classes)\n", ds.name, (long long)sc.seen,
               (long long)ds.n, (long long)ds.h, (long long)ds.w, (long long)ds.c, ds.n_classes);
        printf("accuracy:  %.4f (%lld/%lld)\n", acc, (long long)sc.correct, (long long)sc.seen);
        printf("loss:      %.4f (mean cross-entropy%s)\n", loss,
               sc.prob_rows == sc.seen && sc.seen ? ", outputs read as probabilities" : "");
        printf("speed:     %.0f images/s (%.3f s, batch %lld, %d thread%s)\n", ips, secs, (long long)batch, threads,
               threads == 1 ? "" : "s");
    }

done:
    cli_progress_finish(&pg);
    sqz_session_free(s);
    sqz_tensor_release(&xin);
    free(labels);
    if (ds.name || ds.images.data) sqz_dataset_free(&ds);
    sqz_graph_free(g);
    return rc;
}

const cli_cmd sqz_cmd_eval = {
    .name = "eval",
    .summary = "Measure a classifier's accuracy, loss and speed on a labelled image data set.",
    .usage = "sqz eval MODEL --data SPEC [--limit N] [--batch B] [--mean M[,M..]] [--std S[,S..]]\n"
             "         [--layout nchw|nhwc] [--threads N] [--json]",
    .help =
        "SPEC is fashion-mnist (the test split), fashion-mnist:test, fashion-mnist:train (Debian's\n"
        "dataset-fashion-mnist; SQZ_DATA_DIR overrides its folder) or IMAGES,LABELS: two IDX (raw or\n"
        ".gz) or NPY files.\n"
        "\n"
        "Pixels become float32 value/255, then (x - mean) / std per channel, laid out as the model's\n"
        "input wants: (N, H*W*C) flattened, (N, C, H, W), (N, H, W, C) or (N, H, W). A model whose\n"
        "batch dimension is fixed runs in batches of that size (the last one padded).\n"
        "\n"
        "Prints accuracy (argmax of the first output), mean cross-entropy (log-softmax of the\n"
        "outputs; rows that already are probabilities - non-negative, summing to 1 - are used\n"
        "directly, clamped at 1e-12) and images per second. A progress bar shows on a terminal.\n"
        "\n"
        "options:\n"
        "  --data SPEC          the data set (required)\n"
        "  --limit N            only the first N images\n"
        "  --batch B            batch size when the model's batch is dynamic (default 64)\n"
        "  --mean M[,M..]       per-channel mean subtracted after scaling (1 or C values)\n"
        "  --std S[,S..]        per-channel standard deviation divided by (1 or C values)\n"
        "  --layout nchw|nhwc   layout of a 4-D input when it cannot be told from its shape\n"
        "  --threads N          worker threads (default 1)\n"
        "  --json               one JSON object: accuracy, loss, images, images_per_sec, seconds\n",
    .run = run_eval,
};
