/* cli/cmd_bench.c - `sqz bench MODEL`: latency and throughput on random inputs, like
 * onnxruntime_perf_test, with an optional per-node time profile. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/cpu.h"
#include "core/rng.h"

enum { OPT_BATCH = 1, OPT_THREADS, OPT_RUNS, OPT_WARMUP, OPT_JSON, OPT_PER_OP, OPT_NO_FUSE, OPT_SEED };

static const cli_opt bench_opts[] = {
    {"batch", 1, OPT_BATCH},   {"threads", 1, OPT_THREADS}, {"runs", 1, OPT_RUNS},
    {"warmup", 1, OPT_WARMUP}, {"json", 0, OPT_JSON},       {"per-op", 0, OPT_PER_OP},
    {"no-fuse", 0, OPT_NO_FUSE}, {"seed", 1, OPT_SEED},     {NULL, 0, 0},
};

typedef struct bench_args {
    const char *model;
    int64_t batch, runs, warmup, seed;
    int batch_given, threads, json, per_op, no_fuse;
} bench_args;

/* One row of the per-node profile. */
typedef struct op_row {
    int node;
    double ms;
    int64_t macs;
    char op[64];        /* op type, "+Relu"/"+Clip" when an activation is fused in */
    char label[96];     /* op, then " kernel" when the operator names its kernel path */
    const char *kernel; /* the kernel path (Conv), or NULL */
} op_row;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_row(const void *a, const void *b) {
    const op_row *x = a, *y = b;
    if (x->ms != y->ms) return x->ms > y->ms ? -1 : 1;
    return x->node - y->node;
}

/* Fixes every graph input's dims (unknown first dim = batch, other unknown dims = 1) and
 * re-infers shapes so the profile can show concrete ones. Creates the input tensors. */
static int make_inputs(sqz_graph *g, bench_args *a, sqz_tensor *xs) {
    sqz_err err = {0};
    sqz_rng rng;
    sqz_rng_seed(&rng, (uint64_t)a->seed);
    for (int i = 0; i < g->n_inputs; i++) {
        sqz_tensor *t = g->tensors[g->inputs[i]];
        if (t->ndim < 0)
            return cli_error(SQZ_ERR_DATA, "%s: input '%s' has an unknown rank; cannot make a random input", a->model,
                             t->name);
        if (t->ndim > 0 && t->dims[0] >= 0 && a->batch_given && t->dims[0] != a->batch)
            return cli_error(SQZ_ERR_DATA, "%s: input '%s' has a fixed batch of %lld; --batch %lld does not fit",
                             a->model, t->name, (long long)t->dims[0], (long long)a->batch);
        if (i == 0 && t->ndim > 0 && t->dims[0] >= 0) a->batch = t->dims[0];
        /* symbolic dims: the batch first, 1 elsewhere (the graph keeps them symbolic) */
        int64_t dims[SQZ_MAX_DIMS];
        for (int d = 0; d < t->ndim && d < SQZ_MAX_DIMS; d++) dims[d] = t->dims[d] >= 0 ? t->dims[d] : d == 0 ? a->batch : 1;
        if (sqz_dtype_size(t->dtype) == 0 || t->dtype == SQZ_DT_STRING)
            return cli_error(SQZ_ERR_UNSUPPORTED, "%s: input '%s' is %s; bench makes numeric inputs only", a->model,
                             t->name, sqz_dtype_name(t->dtype));
        sqz_status st = sqz_tensor_init_owned(&xs[i], t->name, t->dtype, t->ndim, dims, &err);
        if (st) {
            sqz_err_prefix(&err, "%s: input '%s'", a->model, t->name);
            return cli_error_err(&err);
        }
        int64_t n = sqz_tensor_numel(&xs[i]);
        if (t->dtype == SQZ_DT_F32) {
            float *p = xs[i].data;
            for (int64_t e = 0; e < n; e++) p[e] = sqz_rng_uniform(&rng);
        } else if (t->dtype == SQZ_DT_F64 || t->dtype == SQZ_DT_F16 || t->dtype == SQZ_DT_BF16) {
            for (int64_t e = 0; e < n; e++) sqz_tensor_set_f64(&xs[i], e, sqz_rng_uniform(&rng));
        } /* integer and bool inputs stay zero */
    }
    sqz_status st = sqz_graph_infer_shapes(g, &err);
    if (st) {
        sqz_err_prefix(&err, "%s at batch %lld", a->model, (long long)a->batch);
        return cli_error_err(&err);
    }
    return 0;
}

/* Node k's output shape as the graph states it, a symbolic first dimension shown as the batch. */
static void out_shape(const sqz_graph *g, int k, int64_t batch, char *buf, size_t n) {
    const sqz_node *nd = g->nodes[k];
    snprintf(buf, n, "-");
    if (nd->n_out < 1 || nd->out[0] < 0) return;
    sqz_tensor t = *g->tensors[nd->out[0]];
    if (t.ndim > 0 && t.dims[0] < 0) t.dims[0] = batch;
    sqz_shape_str(&t, buf, n);
}

/* The fused activation's op type for producer k ("Relu"/"Clip"), or NULL. */
static const char *fused_act(const sqz_graph *g, const sqz_session *s, int k) {
    if (sqz_session_fused(s, k) != 1) return NULL;
    int t = g->nodes[k]->out[0];
    for (int j = 0; j < g->n_nodes; j++)
        if (sqz_session_fused(s, j) == 2 && g->nodes[j]->n_in > 0 && g->nodes[j]->in[0] == t)
            return g->nodes[j]->op_type;
    return NULL;
}

/* Rows for every node that did work, sorted by time; *n_fused counts no-op activations. */
static op_row *profile_rows(const sqz_graph *g, const sqz_session *s, int64_t batch, int *n_rows, double *total) {
    op_row *rows = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *rows);
    *n_rows = 0;
    *total = 0;
    if (!rows) return NULL;
    for (int k = 0; k < g->n_nodes; k++) {
        if (sqz_session_fused(s, k) == 2 || sqz_session_chain(s, k, NULL, NULL) == 1) continue;
        op_row *r = &rows[(*n_rows)++];
        r->node = k;
        sqz_session_profile(s, k, &r->ms);
        r->macs = sqz_node_macs_batch(g, k, batch);
        int ce = -1, cd = -1;
        if (sqz_session_chain(s, k, &ce, &cd) == 2) /* the chain's work counts here */
            r->macs += sqz_node_macs_batch(g, cd, batch) + (ce >= 0 ? sqz_node_macs_batch(g, ce, batch) : 0);
        const char *fa = fused_act(g, s, k);
        r->kernel = sqz_session_kernel(s, k);
        snprintf(r->op, sizeof r->op, "%.40s%s%.12s", g->nodes[k]->op_type, fa ? "+" : "", fa ? fa : "");
        snprintf(r->label, sizeof r->label, "%s%s%.16s", r->op, r->kernel ? " " : "", r->kernel ? r->kernel : "");
        *total += r->ms;
    }
    qsort(rows, (size_t)*n_rows, sizeof *rows, cmp_row);
    return rows;
}

/* Per-label sums into types (distinct labels, sorted by time). */
typedef struct type_row {
    const char *label, *op, *kernel;
    int count;
    double ms;
    int64_t macs;
} type_row;

static int cmp_type(const void *a, const void *b) {
    const type_row *x = a, *y = b;
    if (x->ms != y->ms) return x->ms > y->ms ? -1 : 1;
    return strcmp(x->label, y->label);
}

static int type_rows(const op_row *rows, int n, type_row *types) {
    int nt = 0;
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < nt && strcmp(types[j].label, rows[i].label)) j++;
        if (j == nt) types[nt++] = (type_row){rows[i].label, rows[i].op, rows[i].kernel, 0, 0, 0};
        types[j].count++;
        types[j].ms += rows[i].ms;
        if (rows[i].macs > 0) types[j].macs += rows[i].macs;
    }
    qsort(types, (size_t)nt, sizeof *types, cmp_type);
    return nt;
}

static double gflops(int64_t macs, double ms) { return macs > 0 && ms > 0 ? 2.0 * (double)macs / (ms * 1e6) : 0; }

static void print_profile(const sqz_graph *g, const op_row *rows, int n, const type_row *types, int nt,
                          double total, int64_t batch) {
    char shape[160], gf[32];
    printf("\nper-node time (mean of the timed runs; fused activations count in their producer, a conv\n"
           "chain's expand and depthwise nodes in its last node, kernel \"chain\"):\n");
    printf("  %4s %10s %6s %8s  %-26s %-28s %s\n", "#", "ms", "%", "GFLOP/s", "op (kernel)", "node", "output");
    for (int i = 0; i < n; i++) {
        const op_row *r = &rows[i];
        out_shape(g, r->node, batch, shape, sizeof shape);
        double gfl = gflops(r->macs, r->ms);
        snprintf(gf, sizeof gf, gfl > 0 ? "%.1f" : "-", gfl);
        const char *name = g->nodes[r->node]->name && g->nodes[r->node]->name[0] ? g->nodes[r->node]->name : "-";
        printf("  %4d %10.4f %6.2f %8s  %-26s %-28.28s %s\n", i + 1, r->ms, total > 0 ? 100 * r->ms / total : 0, gf,
               r->label, name, shape);
    }
    printf("\nper op type:\n  %-26s %5s %10s %6s %8s\n", "op (kernel)", "count", "ms", "%", "GFLOP/s");
    for (int i = 0; i < nt; i++) {
        double gfl = gflops(types[i].macs, types[i].ms);
        snprintf(gf, sizeof gf, gfl > 0 ? "%.1f" : "-", gfl);
        printf("  %-26s %5d %10.4f %6.2f %8s\n", types[i].label, types[i].count, types[i].ms,
               total > 0 ? 100 * types[i].ms / total : 0, gf);
    }
    printf("  %-26s %5s %10.4f\n", "total", "", total);
}

static void json_profile(cli_json *j, const sqz_graph *g, const op_row *rows, int n, const type_row *types, int nt,
                         double total, int64_t batch) {
    char shape[160];
    cli_json_key(j, "per_op");
    cli_json_arr(j);
    for (int i = 0; i < n; i++) {
        const op_row *r = &rows[i];
        out_shape(g, r->node, batch, shape, sizeof shape);
        cli_json_obj(j);
        cli_json_kstr(j, "node", g->nodes[r->node]->name);
        cli_json_kstr(j, "op", r->op);
        if (r->kernel) cli_json_kstr(j, "kernel", r->kernel);
        cli_json_kstr(j, "shape", shape);
        cli_json_knum(j, "ms", r->ms);
        cli_json_knum(j, "pct", total > 0 ? 100 * r->ms / total : 0);
        cli_json_kint(j, "macs", r->macs);
        cli_json_obj_end(j);
    }
    cli_json_arr_end(j);
    cli_json_key(j, "per_op_type");
    cli_json_arr(j);
    for (int i = 0; i < nt; i++) {
        cli_json_obj(j);
        cli_json_kstr(j, "op", types[i].op);
        if (types[i].kernel) cli_json_kstr(j, "kernel", types[i].kernel);
        cli_json_kint(j, "count", types[i].count);
        cli_json_knum(j, "ms", types[i].ms);
        cli_json_knum(j, "pct", total > 0 ? 100 * types[i].ms / total : 0);
        cli_json_obj_end(j);
    }
    cli_json_arr_end(j);
    cli_json_knum(j, "per_op_total_ms", total);
}

static int parse(const cli_cmd *cmd, int argc, char **argv, bench_args *a) {
    cli_parser p;
    cli_parser_init(&p, cmd, bench_opts, argc, argv);
    *a = (bench_args){.batch = 1, .runs = 10, .warmup = 2, .seed = 42, .threads = 1};
    int r;
    while ((r = cli_next(&p)) != CLI_END) {
        switch (r) {
        case CLI_HELP: return -1;
        case CLI_BAD: return CLI_USAGE;
        case OPT_BATCH:
            if (cli_parse_int(&p, p.arg, 1, 1 << 20, &a->batch)) return CLI_USAGE;
            a->batch_given = 1;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(&p, p.arg, &a->threads)) return CLI_USAGE;
            break;
        case OPT_RUNS:
            if (cli_parse_int(&p, p.arg, 1, 1000000, &a->runs)) return CLI_USAGE;
            break;
        case OPT_WARMUP:
            if (cli_parse_int(&p, p.arg, 0, 1000000, &a->warmup)) return CLI_USAGE;
            break;
        case OPT_SEED:
            if (cli_parse_int(&p, p.arg, 0, INT64_MAX, &a->seed)) return CLI_USAGE;
            break;
        case OPT_JSON: a->json = 1; break;
        case OPT_PER_OP: a->per_op = 1; break;
        case OPT_NO_FUSE: a->no_fuse = 1; break;
        case CLI_POS:
            if (a->model) return cli_usage_error(cmd, "one MODEL only ('%s' is extra)", p.arg);
            a->model = p.arg;
            break;
        default: return cli_usage_error(cmd, "unexpected option");
        }
    }
    if (!a->model) return cli_usage_error(cmd, "no MODEL given");
    return 0;
}

static int run_bench(const cli_cmd *cmd, int argc, char **argv) {
    bench_args a;
    int rc = parse(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? CLI_OK : rc;
    sqz_err err = {0};
    sqz_graph *g = NULL;
    sqz_session *s = NULL;
    sqz_tensor *xs = NULL;
    const sqz_tensor **in = NULL;
    double *lat = NULL;
    if (cli_load_model(a.model, 1, &g, &err)) return cli_error_err(&err);
    int ni = g->n_inputs;
    xs = calloc((size_t)(ni ? ni : 1), sizeof *xs);
    in = calloc((size_t)(ni ? ni : 1), sizeof *in);
    lat = malloc(sizeof(double) * (size_t)a.runs);
    if (!xs || !in || !lat) {
        rc = cli_error(SQZ_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = make_inputs(g, &a, xs))) goto done;
    for (int i = 0; i < ni; i++) in[i] = &xs[i];
    sqz_session_opts so = {.threads = a.threads, .profile = a.per_op, .no_fuse = a.no_fuse};
    if (sqz_session_new(g, &so, &s, &err)) {
        sqz_err_prefix(&err, "%s", a.model);
        rc = cli_error_err(&err);
        goto done;
    }
    for (int64_t r = 0; r < a.warmup + a.runs; r++) {
        if (r == a.warmup) sqz_session_profile_reset(s);
        double t0 = cli_now();
        if (sqz_session_run(s, ni, in, &err)) {
            sqz_err_prefix(&err, "%s", a.model);
            rc = cli_error_err(&err);
            goto done;
        }
        if (r >= a.warmup) lat[r - a.warmup] = (cli_now() - t0) * 1e3;
    }
    double mean = 0;
    for (int64_t r = 0; r < a.runs; r++) mean += lat[r] / (double)a.runs;
    qsort(lat, (size_t)a.runs, sizeof *lat, cmp_double);
    int64_t h = a.runs / 2;
    double med = a.runs % 2 ? lat[h] : 0.5 * (lat[h - 1] + lat[h]);
    double mn = lat[0], mx = lat[a.runs - 1], thr = med > 0 ? (double)a.batch * 1e3 / med : 0;
    const char *isa = sqz_isa_name(sqz_cpu_isa());
    int fused = 0, chains = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        fused += sqz_session_fused(s, k) == 2;
        chains += sqz_session_chain(s, k, NULL, NULL) == 2;
    }
    size_t peak = sqz_session_peak_bytes(s), arena = sqz_session_arena_bytes(s);
    int n_rows = 0, nt = 0;
    double total = 0;
    op_row *rows = NULL;
    type_row *types = NULL;
    if (a.per_op) {
        rows = profile_rows(g, s, a.batch, &n_rows, &total);
        types = calloc((size_t)(n_rows ? n_rows : 1), sizeof *types);
        if (!rows || !types) {
            free(rows);
            free(types);
            rc = cli_error(SQZ_ERR_NOMEM, "out of memory");
            goto done;
        }
        nt = type_rows(rows, n_rows, types);
    }
    if (a.json) {
        cli_json j;
        cli_json_init(&j, stdout, 1);
        cli_json_obj(&j);
        cli_json_kstr(&j, "model", a.model);
        cli_json_kint(&j, "batch", a.batch);
        cli_json_kint(&j, "threads", a.threads);
        cli_json_kstr(&j, "isa", isa);
        cli_json_kint(&j, "runs", a.runs);
        cli_json_kint(&j, "warmup", a.warmup);
        cli_json_knum(&j, "median_ms", med);
        cli_json_knum(&j, "min_ms", mn);
        cli_json_knum(&j, "max_ms", mx);
        cli_json_knum(&j, "mean_ms", mean);
        cli_json_knum(&j, "throughput", thr);
        cli_json_kint(&j, "peak_bytes", (int64_t)peak);
        cli_json_kint(&j, "arena_bytes", (int64_t)arena);
        cli_json_kint(&j, "nodes", g->n_nodes);
        cli_json_kint(&j, "fused_activations", fused);
        cli_json_kint(&j, "conv_chains", chains);
        cli_json_kint(&j, "slice", sqz_session_sliced(s, a.batch));
        cli_json_kint(&j, "slice_tail", sqz_session_slice_tail(s, a.batch));
        if (a.per_op) json_profile(&j, g, rows, n_rows, types, nt, total, a.batch);
        cli_json_obj_end(&j);
        cli_json_end(&j);
    } else {
        char pk[32], ar[32];
        cli_fmt_bytes((double)peak, pk, sizeof pk);
        cli_fmt_bytes((double)arena, ar, sizeof ar);
        printf("%s: %d nodes (%d activations fused, %d conv chains)\n", a.model, g->n_nodes, fused, chains);
        printf("  batch %lld, threads %d, isa %s, %lld timed runs after %lld warm-up\n", (long long)a.batch,
               a.threads, isa, (long long)a.runs, (long long)a.warmup);
        printf("  latency     median %.3f ms   min %.3f ms   max %.3f ms   mean %.3f ms\n", med, mn, mx, mean);
        printf("  throughput  %.1f items/s\n", thr);
        printf("  activation memory  peak %s (planner blocks %s)\n", pk, ar);
        const int slice = sqz_session_sliced(s, a.batch);
        const int tail = sqz_session_slice_tail(s, a.batch);
        if (slice > 0)
            printf("  runs the batch in slices of %d sample%s (its activations would outgrow the cache)%s\n", slice,
                   slice > 1 ? "s" : "", tail > 0 ? "," : "");
        if (slice > 0 && tail > 0)
            printf("  then its last %d nodes once on the whole batch (their weights read once, not per slice)\n", tail);
        if (a.per_op) print_profile(g, rows, n_rows, types, nt, total, a.batch);
    }
    free(rows);
    free(types);
    rc = CLI_OK;
done:
    sqz_session_free(s);
    for (int i = 0; xs && i < ni; i++) sqz_tensor_release(&xs[i]);
    free(xs);
    free(in);
    free(lat);
    sqz_graph_free(g);
    return rc;
}

const cli_cmd sqz_cmd_bench = {
    .name = "bench",
    .summary = "measure latency and throughput on random inputs",
    .usage = "sqz bench MODEL [--batch B] [--threads N] [--runs R] [--warmup W] [--json] [--per-op]\n"
             "                [--no-fuse] [--seed S]",
    .help = "Runs MODEL on random inputs of its input shapes: float inputs uniform in [0,1), integer\n"
            "inputs zero. An unknown first dimension is set to the batch B (default 1), other unknown\n"
            "dimensions to 1. After W warm-up runs (default 2), R timed runs (default 10) give the\n"
            "median, min, max and mean latency (CLOCK_MONOTONIC) and throughput = B / median.\n"
            "\n"
            "  --batch B     batch size for a dynamic first dimension\n"
            "  --threads N   threads the kernels may use (default 1)\n"
            "  --runs R      timed runs (default 10)\n"
            "  --warmup W    untimed runs first (default 2)\n"
            "  --per-op      time every node: a table sorted by time, and a summary per op type;\n"
            "                convolutions also name their kernel path (implicit, im2col, chain, ...)\n"
            "  --no-fuse     run Relu/Clip as their own nodes (no activation fusion, no conv chains,\n"
            "                no transposed Gemm pairs)\n"
            "  --seed S      random input seed (default 42)\n"
            "  --json        one JSON object: median_ms, min_ms, max_ms, mean_ms, throughput, batch,\n"
            "                threads, isa, runs, warmup, peak_bytes, ... (+ per_op with --per-op)\n",
    .run = run_bench,
};
