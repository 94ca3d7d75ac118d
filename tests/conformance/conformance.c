/* tests/conformance/conformance.c - runs ONNX's own test data (Debian's
 * libonnx-testdata) through sqz.
 *
 * usage: sqz_conformance DATA_DIR [--filter SUBSTR] [--verbose]
 *                        [--list-skipped FILE] [--isolate] [--list-ops]
 *
 * DATA_DIR holds the suites node/, pytorch-converted/, pytorch-operator/ and
 * simple/ ('real' is not run: those models need downloads). Each test folder
 * has model.onnx and test_data_set_N/{input_K.pb, output_K.pb}. A test is
 *   SKIPPED when loading, preparing, opening a session, reading its data or
 *           running says SQZ_ERR_UNSUPPORTED (the reason is printed/listed), or
 *           when a test input contradicts the dtype/shape its own model
 *           declares (a few ONNX 1.12 folders: test_castlike_*BFLOAT16*);
 *   FAILED  on any other error or when an output differs from the expected
 *           one (dtype, shape, values: rtol 1e-3 / atol 1e-5 for floats,
 *           rtol 1/128 for bfloat16, NaN == NaN; exact for integers and bool);
 *   PASSED  otherwise.
 * ONNX writes bfloat16 test data as uint16 (numpy has no bfloat16); such data
 * is read as bfloat16 where the model says bfloat16.
 * The last line is "N passed, M failed, K skipped"; exit 1 if any failed.
 * Tests run in-process; --isolate forks one process per test (diagnosis:
 * a crash or a hang then shows as a failure instead of ending the run).
 */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/op.h"
#include "sqz/sqz.h"


#define RTOL 1e-3
#define ATOL 1e-5
#define RTOL_BF16 (1.0 / 128) /* one bf16 step: ONNX's bf16 data truncates, sqz rounds */
#define MAX_IO 64
#define ISOLATE_TIMEOUT_S 120

enum { R_PASS = 0, R_FAIL = 1, R_SKIP = 2 };

typedef struct result {
    int kind;
    char msg[1200];
} result;

static const char *const SUITES[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
#define N_SUITES ((int)(sizeof SUITES / sizeof SUITES[0]))

/* Last resort only: tests that crash the runner in-process, reported to the
 * owner of the op. Each is counted as skipped with reason "crashes: reported". */
static const char *const DENYLIST[] = {NULL};

static const char *g_root; /* DATA_DIR, stripped from messages */

/* snprintf without truncation warnings: paths and messages are cut to fit. */
static void sfmt(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *dst, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static double now_s(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec * 1e-6;
}

/* Copies src into dst removing every "<root>/" so messages name tests relatively. */
static void strip_root(char *dst, size_t n, const char *src) {
    size_t rl = strlen(g_root), k = 0;
    while (*src && k + 1 < n) {
        if (rl && !strncmp(src, g_root, rl) && src[rl] == '/') {
            src += rl + 1;
            continue;
        }
        dst[k++] = *src++;
    }
    dst[k] = '\0';
}

static void set_result(result *r, int kind, const char *what, const sqz_err *err) {
    char clean[SQZ_ERR_MSG_MAX];
    strip_root(clean, sizeof clean, err ? err->msg : "");
    r->kind = kind;
    if (err)
        sfmt(r->msg, sizeof r->msg, "%s: %s", what, clean);
    else
        sfmt(r->msg, sizeof r->msg, "%s", what);
}

/* SKIP when the status says unsupported, FAIL otherwise. */
static void set_error(result *r, sqz_status st, const char *what, const sqz_err *err) {
    set_result(r, st == SQZ_ERR_UNSUPPORTED ? R_SKIP : R_FAIL, what, err);
}

static int is_float(sqz_dtype dt) {
    return dt == SQZ_DT_F32 || dt == SQZ_DT_F64 || dt == SQZ_DT_F16 || dt == SQZ_DT_BF16;
}

static void shape_text(const sqz_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int d = 0; d < t->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)t->dims[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Compares got with want; on mismatch writes a description into msg and returns 0. */
static int compare(const sqz_tensor *got, const sqz_tensor *want, char *msg, size_t n) {
    if (got->dtype != want->dtype) {
        sfmt(msg, n, "dtype %s, expected %s", sqz_dtype_name(got->dtype),
                 sqz_dtype_name(want->dtype));
        return 0;
    }
    int same = got->ndim == want->ndim;
    for (int d = 0; same && d < got->ndim; d++) same = got->dims[d] == want->dims[d];
    if (!same) {
        char a[128], b[128];
        shape_text(got, a, sizeof a);
        shape_text(want, b, sizeof b);
        sfmt(msg, n, "shape %s, expected %s", a, b);
        return 0;
    }
    int64_t numel = sqz_tensor_numel(want);
    if (numel <= 0) return 1;
    size_t es = sqz_dtype_size(want->dtype);
    if (!es) {
        sfmt(msg, n, "cannot compare dtype %s", sqz_dtype_name(want->dtype));
        return 0;
    }
    if (!got->data || got->nbytes < (size_t)numel * es) {
        sfmt(msg, n, "output holds %zu bytes, expected %zu", got->nbytes, (size_t)numel * es);
        return 0;
    }
    if (!is_float(want->dtype)) {
        for (int64_t i = 0; i < numel; i++) {
            const char *a = (const char *)got->data + (size_t)i * es;
            const char *b = (const char *)want->data + (size_t)i * es;
            if (memcmp(a, b, es)) {
                if (want->dtype == SQZ_DT_U64)
                    sfmt(msg, n, "index %lld: got %llu, expected %llu", (long long)i,
                             (unsigned long long)((const uint64_t *)got->data)[i],
                             (unsigned long long)((const uint64_t *)want->data)[i]);
                else if (want->dtype == SQZ_DT_I64)
                    sfmt(msg, n, "index %lld: got %lld, expected %lld", (long long)i,
                             (long long)((const int64_t *)got->data)[i],
                             (long long)((const int64_t *)want->data)[i]);
                else
                    sfmt(msg, n, "index %lld: got %.17g, expected %.17g", (long long)i,
                             sqz_tensor_get_f64(got, i), sqz_tensor_get_f64(want, i));
                return 0;
            }
        }
        return 1;
    }
    double rtol = want->dtype == SQZ_DT_BF16 ? RTOL_BF16 : RTOL;
    int64_t worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < numel; i++) {
        double g = sqz_tensor_get_f64(got, i), w = sqz_tensor_get_f64(want, i);
        double excess;
        if (isnan(w) || isnan(g)) {
            excess = (isnan(w) && isnan(g)) ? 0 : INFINITY;
        } else if (isinf(w) || isinf(g)) {
            excess = g == w ? 0 : INFINITY;
        } else {
            excess = fabs(g - w) - (ATOL + rtol * fabs(w));
        }
        if (excess > 0 && (worst < 0 || excess > worst_excess)) {
            worst = i;
            worst_excess = excess;
        }
    }
    if (worst < 0) return 1;
    sfmt(msg, n, "worst index %lld: got %.9g, expected %.9g", (long long)worst,
             sqz_tensor_get_f64(got, worst), sqz_tensor_get_f64(want, worst));
    return 0;
}

/* Loads dir/<prefix>K.pb for K = 0.. while present; returns the count or -1 (r set). */
static int load_pbs(const char *dir, const char *prefix, sqz_tensor *ts, result *r) {
    int n = 0;
    for (;; n++) {
        char path[4096];
        sfmt(path, sizeof path, "%s/%s%d.pb", dir, prefix, n);
        if (!is_file(path)) break;
        if (n == MAX_IO) {
            set_result(r, R_FAIL, "too many data files", NULL);
            return -1;
        }
        sqz_err err = {0};
        sqz_status st = sqz_onnx_load_tensor(path, &ts[n], &err);
        if (st != SQZ_OK) {
            memset(&ts[n], 0, sizeof ts[n]);
            set_error(r, st, "test data", &err);
            for (int k = 0; k < n; k++) sqz_tensor_release(&ts[k]);
            return -1;
        }
    }
    return n;
}

static int filter_data_sets(const struct dirent *e) {
    return !strncmp(e->d_name, "test_data_set_", 14);
}

/* ONNX stores bfloat16 test data as uint16 (numpy has no bfloat16): where the
 * graph says bf16 and the file says u16, the bits are bf16. */
static void fix_bf16(sqz_tensor *t, sqz_dtype graph_dtype) {
    if (t->dtype == SQZ_DT_U16 && graph_dtype == SQZ_DT_BF16) t->dtype = SQZ_DT_BF16;
}

/* Whether a test input agrees with the dtype and the known dims the model declares
 * (a few ONNX 1.12 test folders hold data that contradicts their own model). */
static int data_matches_decl(const sqz_tensor *t, const sqz_tensor *decl) {
    if (decl->dtype != SQZ_DT_UNDEF && t->dtype != decl->dtype) return 0;
    if (decl->ndim < 0) return 1;
    if (t->ndim != decl->ndim) return 0;
    for (int d = 0; d < t->ndim; d++)
        if (decl->dims[d] >= 0 && decl->dims[d] != t->dims[d]) return 0;
    return 1;
}

/* One data set: feed inputs by position, run, compare outputs. */
static void run_data_set(const sqz_graph *g, sqz_session *s, const char *dir, const char *set_name,
                         result *r) {
    sqz_tensor in[MAX_IO], want[MAX_IO];
    int n_in = load_pbs(dir, "input_", in, r);
    if (n_in < 0) return;
    int n_want = load_pbs(dir, "output_", want, r);
    if (n_want < 0) {
        for (int k = 0; k < n_in; k++) sqz_tensor_release(&in[k]);
        return;
    }
    sqz_tensor view[MAX_IO];
    const sqz_tensor *ptr[MAX_IO];
    for (int k = 0; k < n_in; k++) {
        view[k] = in[k];
        view[k].name = NULL; /* by position: .pb names need not match graph input names */
        if (k < g->n_inputs) fix_bf16(&view[k], g->tensors[g->inputs[k]]->dtype);
        ptr[k] = &view[k];
    }
    sqz_err err = {0};
    char what[256];
    for (int k = 0; k < n_in && k < g->n_inputs; k++) {
        const sqz_tensor *gt = g->tensors[g->inputs[k]];
        if (!data_matches_decl(&view[k], gt)) {
            char a[128], b[128];
            shape_text(&view[k], a, sizeof a);
            shape_text(gt, b, sizeof b);
            sfmt(r->msg, sizeof r->msg,
                 "inconsistent test data: input %d '%s' is %s %s but the model declares %s %s", k,
                 gt->name, sqz_dtype_name(view[k].dtype), a, sqz_dtype_name(gt->dtype), b);
            r->kind = R_SKIP;
            goto done;
        }
    }
    sqz_status st = sqz_session_run(s, n_in, ptr, &err);
    if (st != SQZ_OK) {
        sfmt(what, sizeof what, "%s: run", set_name);
        set_error(r, st, what, &err);
    } else if (sqz_session_n_outputs(s) != n_want) {
        sfmt(what, sizeof what, "%s: %d outputs, expected %d", set_name,
                 sqz_session_n_outputs(s), n_want);
        set_result(r, R_FAIL, what, NULL);
    } else {
        for (int k = 0; k < n_want; k++) {
            const sqz_tensor *got = sqz_session_output(s, k);
            char diff[512];
            if (!got) {
                sfmt(what, sizeof what, "%s: output %d missing", set_name, k);
                set_result(r, R_FAIL, what, NULL);
                break;
            }
            sqz_tensor w = want[k];
            fix_bf16(&w, got->dtype);
            if (!compare(got, &w, diff, sizeof diff)) {
                sfmt(r->msg, sizeof r->msg, "%s: output %d '%s': %s", set_name, k,
                         got->name ? got->name : "", diff);
                r->kind = R_FAIL;
                break;
            }
        }
    }
done:
    for (int k = 0; k < n_in; k++) sqz_tensor_release(&in[k]);
    for (int k = 0; k < n_want; k++) sqz_tensor_release(&want[k]);
}

static void run_test(const char *test_dir, result *r) {
    char path[4096];
    sfmt(path, sizeof path, "%s/model.onnx", test_dir);
    r->kind = R_PASS;
    r->msg[0] = '\0';
    sqz_err err = {0};
    sqz_graph *g = NULL;
    sqz_status st = sqz_onnx_load(path, &g, &err);
    if (st != SQZ_OK) {
        set_error(r, st, "load", &err);
        sqz_graph_free(g);
        return;
    }
    st = sqz_graph_prepare(g, &err);
    if (st != SQZ_OK) {
        set_error(r, st, "prepare", &err);
        sqz_graph_free(g);
        return;
    }
    sqz_session *s = NULL;
    st = sqz_session_new(g, NULL, &s, &err);
    if (st != SQZ_OK) {
        set_error(r, st, "session", &err);
        sqz_graph_free(g);
        return;
    }
    struct dirent **sets = NULL;
    int n_sets = scandir(test_dir, &sets, filter_data_sets, alphasort);
    if (n_sets <= 0) set_result(r, R_FAIL, "no test_data_set_* folder", NULL);
    for (int k = 0; k < n_sets; k++) {
        if (r->kind == R_PASS) {
            sfmt(path, sizeof path, "%s/%s", test_dir, sets[k]->d_name);
            run_data_set(g, s, path, sets[k]->d_name, r);
        }
        free(sets[k]);
    }
    free(sets);
    sqz_session_free(s);
    sqz_graph_free(g);
}

/* Runs the test in a child process; a crash or timeout becomes a failure. */
static void run_test_isolated(const char *test_dir, result *r) {
    int fd[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) {
        set_result(r, R_FAIL, "pipe failed", NULL);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        set_result(r, R_FAIL, "fork failed", NULL);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        alarm(ISOLATE_TIMEOUT_S);
        result cr;
        run_test(test_dir, &cr);
        ssize_t w = write(fd[1], &cr, sizeof cr);
        _exit(w == (ssize_t)sizeof cr ? 0 : 3);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof *r) {
        r->kind = R_FAIL;
        if (WIFSIGNALED(status))
            sfmt(r->msg, sizeof r->msg, "crashed: signal %d (%s)", WTERMSIG(status),
                     WTERMSIG(status) == SIGALRM ? "timeout" : strsignal(WTERMSIG(status)));
        else
            sfmt(r->msg, sizeof r->msg, "child exited with status %d", WEXITSTATUS(status));
    }
}

static int denied(const char *id) {
    for (int i = 0; DENYLIST[i]; i++)
        if (!strcmp(DENYLIST[i], id)) return 1;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int list_ops(void) {
    int n = sqz_op_count();
    char **names = malloc(sizeof *names * (size_t)(n > 0 ? n : 1));
    if (!names) return 1;
    for (int i = 0; i < n; i++) { /* ops outside the default domain print as "domain:Op" */
        const sqz_op *op = sqz_op_at(i);
        const char *d = op->domain && op->domain[0] && strcmp(op->domain, "ai.onnx") ? op->domain : NULL;
        size_t len = strlen(op->name) + (d ? strlen(d) + 1 : 0) + 1;
        names[i] = malloc(len);
        if (!names[i]) return 1;
        snprintf(names[i], len, "%s%s%s", d ? d : "", d ? ":" : "", op->name);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: sqz_conformance DATA_DIR [--filter SUBSTR] [--verbose] "
                    "[--list-skipped FILE] [--isolate] | --list-ops\n");
}

int main(int argc, char **argv) {
    const char *root = NULL, *filter = NULL, *skip_path = NULL;
    int verbose = 0, isolate = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--list-skipped") && i + 1 < argc) skip_path = argv[++i];
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "--isolate")) isolate = 1;
        else if (!strcmp(argv[i], "--list-ops")) return list_ops();
        else if (argv[i][0] != '-' && !root) root = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (!root) {
        usage();
        return 2;
    }
    if (!is_dir(root)) {
        fprintf(stderr, "sqz_conformance: %s: no such folder (install libonnx-testdata)\n", root);
        return 66;
    }
    g_root = root;
    FILE *skip_f = NULL;
    if (skip_path && !(skip_f = fopen(skip_path, "w"))) {
        fprintf(stderr, "sqz_conformance: %s: cannot write\n", skip_path);
        return 73;
    }
    int tot[3] = {0, 0, 0};
    for (int si = 0; si < N_SUITES; si++) {
        char suite_dir[4096];
        sfmt(suite_dir, sizeof suite_dir, "%s/%s", root, SUITES[si]);
        struct dirent **ents = NULL;
        int n = scandir(suite_dir, &ents, NULL, alphasort);
        if (n < 0) {
            printf("%s: missing, not run\n", SUITES[si]);
            continue;
        }
        int cnt[3] = {0, 0, 0};
        double t_suite = now_s();
        for (int k = 0; k < n; k++) {
            char test_dir[4096], id[512], model[4200];
            sfmt(test_dir, sizeof test_dir, "%s/%s", suite_dir, ents[k]->d_name);
            sfmt(id, sizeof id, "%s/%s", SUITES[si], ents[k]->d_name);
            sfmt(model, sizeof model, "%s/model.onnx", test_dir);
            int skip = ents[k]->d_name[0] == '.' || !is_file(model) ||
                       (filter && !strstr(id, filter));
            free(ents[k]);
            if (skip) continue;
            result r = {0};
            double t0 = now_s();
            if (denied(id)) {
                r.kind = R_SKIP;
                sfmt(r.msg, sizeof r.msg, "crashes: reported");
            } else if (isolate) {
                run_test_isolated(test_dir, &r);
            } else {
                run_test(test_dir, &r);
            }
            double dt = now_s() - t0;
            cnt[r.kind]++;
            if (r.kind == R_FAIL) printf("FAIL %s: %s\n", id, r.msg);
            else if (r.kind == R_SKIP && verbose) printf("SKIP %s: %s\n", id, r.msg);
            else if (verbose) printf("PASS %s (%.2fs)\n", id, dt);
            if (r.kind == R_SKIP && skip_f) fprintf(skip_f, "%s\t%s\n", id, r.msg);
            fflush(stdout);
        }
        free(ents);
        printf("%s: %d passed, %d failed, %d skipped (%.1fs)\n", SUITES[si], cnt[R_PASS],
               cnt[R_FAIL], cnt[R_SKIP], now_s() - t_suite);
        for (int j = 0; j < 3; j++) tot[j] += cnt[j];
    }
    if (skip_f) fclose(skip_f);
    printf("%d passed, %d failed, %d skipped\n", tot[R_PASS], tot[R_FAIL], tot[R_SKIP]);
    return tot[R_FAIL] ? 1 : 0;
}
