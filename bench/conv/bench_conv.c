/* bench/conv/bench_conv.c - fp32 2-D convolution: sqz (sqz_conv_f32_packed, the best ISA level the
 * CPU has) vs oneDNN's forward-inference convolution (C API, direct algorithm), 1 .. max_threads
 * threads, on layers of ResNet-18, MobileNetV2 (batch 1), LeNet-5 (batch 256) and a CIFAR-style
 * ResNet-8 on 28x28 inputs (batch 128).
 *
 * Both libraries get what a user hands them: input and output in plain NCHW f32, weights in
 * ONNX / PyTorch order (c_out, c_in/group, KH, KW), bias on, no activation. Weights are prepared
 * once outside the timing, each library its own way: sqz packs each group's block with
 * sqz_conv_f32_pack_weights (the form sqz_conv_f32_packed_form names); oneDNN picks its weight layout (format "any") and they are reordered into it.
 * oneDNN's primitive is created after omp_set_num_threads(T), since its JIT kernels fix their
 * thread split when created. Both run on the same OpenMP (libgomp) thread pool.
 *
 * For context a second oneDNN primitive ("dnnl-blk") also gets src / dst as format "any": with
 * plain NCHW activations oneDNN 2.x falls back to its GEMM-based convolution, while its direct
 * JIT kernels want blocked activations (nChw16c ...); the reorders of x into and of y out of that
 * layout are done outside the timing, so that column is oneDNN's best case, not what an NCHW
 * user pays. The ratio column compares sqz with the NCHW primitive only.
 *
 * Timing: 3 warm-up calls, then the median of reps timings per primitive, the three taking
 * turns; one timing repeats the call enough times to last >= ~10 ms and reports the time per
 * call. GFLOP/s = 2 * MACs / time (bias not counted); ratio = sqz / oneDNN (NCHW) GFLOP/s (> 1:
 * sqz faster). The outputs are compared after timing: max |sqz - oneDNN| and that divided by
 * max |oneDNN| ("rel"); rel above 1e-4 (for either oneDNN primitive) is flagged and makes the exit
 * status 2. Prints a markdown table.
 * Usage: bench_conv [reps (10)] [max_threads (2)]   (env CASES=text: only the cases whose name contains it) */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dnnl.h>

#include "core/cpu.h"
#include "kernels/conv_f32.h"
#include "kernels/gemm_f32.h"

#define WARMUP 3
#define MIN_TIMING_S 0.010 /* one timing lasts at least this long */
#define REL_TOL 1e-4

typedef struct conv_case {
    const char *name;
    int batch, c_in, c_out, group, H, W, k, stride, pad;
} conv_case;

static const conv_case cases[] = {
    /* ResNet-18, batch 1 */
    {"r18 conv1 7x7 s2", 1, 3, 64, 1, 224, 224, 7, 2, 3},
    {"r18 layer1 3x3", 1, 64, 64, 1, 56, 56, 3, 1, 1},
    {"r18 layer2 3x3 s2", 1, 64, 128, 1, 56, 56, 3, 2, 1},
    {"r18 layer2 3x3", 1, 128, 128, 1, 28, 28, 3, 1, 1},
    {"r18 layer3 3x3", 1, 256, 256, 1, 14, 14, 3, 1, 1},
    {"r18 layer4 3x3", 1, 512, 512, 1, 7, 7, 3, 1, 1},
    {"r18 1x1 down s2", 1, 128, 256, 1, 28, 28, 1, 2, 0},
    /* MobileNetV2, batch 1 */
    {"mbv2 stem 3x3 s2", 1, 3, 32, 1, 224, 224, 3, 2, 1},
    {"mbv2 expand 1x1", 1, 16, 96, 1, 112, 112, 1, 1, 0},
    {"mbv2 dw 3x3 s2", 1, 96, 96, 96, 112, 112, 3, 2, 1},
    {"mbv2 dw 3x3", 1, 144, 144, 144, 56, 56, 3, 1, 1},
    {"mbv2 dw 3x3 14x14", 1, 576, 576, 576, 14, 14, 3, 1, 1},
    {"mbv2 dw 3x3 s2 14x14", 1, 576, 576, 576, 14, 14, 3, 2, 1},
    {"mbv2 dw 3x3 7x7", 1, 960, 960, 960, 7, 7, 3, 1, 1},
    {"mbv2 project 1x1", 1, 144, 24, 1, 56, 56, 1, 1, 0},
    /* LeNet-5, batch 256 */
    {"lenet conv1 5x5", 256, 1, 6, 1, 28, 28, 5, 1, 2},
    {"lenet conv2 5x5", 256, 6, 16, 1, 14, 14, 5, 1, 0},
    /* ResNet-8 (CIFAR-style) on 28x28, batch 128 */
    {"r8 3x3", 128, 16, 16, 1, 28, 28, 3, 1, 1},
    {"r8 3x3 s2", 128, 16, 32, 1, 28, 28, 3, 2, 1},
    {"r8 3x3 s2 14x14", 128, 32, 64, 1, 14, 14, 3, 2, 1},
    {"r8 1x1 down s2", 128, 16, 32, 1, 28, 28, 1, 2, 0},
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void dnnl_check(dnnl_status_t st, const char *what) {
    if (st != dnnl_success) {
        fprintf(stderr, "bench_conv: oneDNN %s failed (status %d)\n", what, (int)st);
        exit(1);
    }
}

static void *xalloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_conv: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Deterministic values in [-1, 1). */
static void fill(float *a, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One library's convolution, behind a function pointer so that both are timed the same way. */
typedef struct sqz_run {
    sqz_isa isa;
    int threads;
    const sqz_conv_params *p;
    const float *x, *w, *packed_w, *bias;
    int64_t packed_stride;
    float *y;
    void *scratch;
} sqz_run;

static void run_sqz(void *ctx) {
    const sqz_run *r = ctx;
    sqz_conv_f32_packed(r->isa, r->threads, r->p, r->x, r->w, r->packed_w, r->packed_stride, r->bias, NULL, r->y,
                        r->scratch);
}

/* One oneDNN convolution primitive with its memory objects. Operands whose layout the primitive
 * picked itself (format "any") live in buffers of their own, filled by a reorder at setup. */
typedef struct dnnl_conv {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t conv;
    dnnl_stream_t stream;
    const char *impl;
    dnnl_memory_t mem[4];  /* src, weights, bias, dst */
    void *own[4];          /* buffers for operands in the primitive's own layout (else NULL) */
    dnnl_exec_arg_t args[4];
} dnnl_conv;

/* from (layout from_md, data from_buf) -> to (to_md, to_buf), run now. */
static void dnnl_reorder_now(dnnl_engine_t eng, dnnl_stream_t stream, const dnnl_memory_desc_t *from_md,
                             void *from_buf, const dnnl_memory_desc_t *to_md, void *to_buf) {
    dnnl_memory_t from, to;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder;
    dnnl_check(dnnl_memory_create(&from, from_md, eng, from_buf), "reorder memory");
    dnnl_check(dnnl_memory_create(&to, to_md, eng, to_buf), "reorder memory");
    dnnl_check(dnnl_reorder_primitive_desc_create(&rpd, from_md, eng, to_md, eng, NULL), "reorder primitive desc");
    dnnl_check(dnnl_primitive_create(&reorder, rpd), "reorder primitive");
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_check(dnnl_primitive_execute(reorder, stream, 2, args), "reorder");
    dnnl_check(dnnl_stream_wait(stream), "stream wait");
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(from);
    dnnl_memory_destroy(to);
}

/* Creates the primitive for cd (for the current omp_get_max_threads()); user_md / user_buf are the
 * plain operands (src, weights, bias, dst). Inputs the primitive wants in another layout are
 * reordered into buffers of their own; so is the output, which dnnl_conv_output brings back. */
static void dnnl_conv_setup(dnnl_conv *dc, dnnl_engine_t eng, dnnl_stream_t stream, const dnnl_convolution_desc_t *cd,
                            const dnnl_memory_desc_t *user_md[4], void *user_buf[4]) {
    static const dnnl_query_t q[4] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_weights_md,
                                      dnnl_query_dst_md};
    static const int q_index[4] = {0, 0, 1, 0}, arg[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS,
                                                          DNNL_ARG_DST};
    memset(dc, 0, sizeof *dc);
    dc->stream = stream;
    dnnl_check(dnnl_primitive_desc_create(&dc->pd, cd, NULL, eng, NULL), "convolution primitive desc");
    dnnl_check(dnnl_primitive_desc_query(dc->pd, dnnl_query_impl_info_str, 0, &dc->impl), "impl query");
    for (int i = 0; i < 4; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(dc->pd, q[i], q_index[i]);
        void *buf = user_buf[i];
        if (!dnnl_memory_desc_equal(md, user_md[i])) {
            buf = dc->own[i] = xalloc(dnnl_memory_desc_get_size(md));
            if (i != 3) dnnl_reorder_now(eng, stream, user_md[i], user_buf[i], md, buf);
        }
        dnnl_check(dnnl_memory_create(&dc->mem[i], md, eng, buf), "memory create");
        dc->args[i] = (dnnl_exec_arg_t){arg[i], dc->mem[i]};
    }
    dnnl_check(dnnl_primitive_create(&dc->conv, dc->pd), "convolution primitive");
}

/* The output in the user's layout (a reorder when the primitive wrote its own). */
static void dnnl_conv_output(const dnnl_conv *dc, dnnl_engine_t eng, const dnnl_memory_desc_t *user_md, void *user_buf) {
    if (dc->own[3])
        dnnl_reorder_now(eng, dc->stream, dnnl_primitive_desc_query_md(dc->pd, dnnl_query_dst_md, 0), dc->own[3],
                         user_md, user_buf);
}

static void dnnl_conv_free(dnnl_conv *dc) {
    dnnl_primitive_destroy(dc->conv);
    for (int i = 0; i < 4; i++) {
        dnnl_memory_destroy(dc->mem[i]);
        free(dc->own[i]);
    }
    dnnl_primitive_desc_destroy(dc->pd);
}

static void run_dnnl(void *ctx) {
    const dnnl_conv *dc = ctx;
    dnnl_check(dnnl_primitive_execute(dc->conv, dc->stream, 4, dc->args), "execute");
    dnnl_check(dnnl_stream_wait(dc->stream), "stream wait");
}

static double median(double *a, int n) {
    qsort(a, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/* max |a - b| over n (NaN counts as infinite), and max |b| in *maxref. */
static double max_diff(const float *a, const float *b, size_t n, double *maxref) {
    double md = 0.0, mr = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= md)) md = isnan(d) ? INFINITY : d;
        if (fabs((double)b[i]) > mr) mr = fabs((double)b[i]);
    }
    *maxref = mr;
    return md;
}

/* Calls per timing so that one timing lasts >= MIN_TIMING_S, from the fastest warm-up call. */
static int warm_up(void (*fn)(void *), void *ctx) {
    double best = 1e30;
    for (int i = 0; i < WARMUP; i++) {
        const double t0 = now();
        fn(ctx);
        const double dt = now() - t0;
        if (dt < best) best = dt;
    }
    const int inner = (int)ceil(MIN_TIMING_S / (best > 1e-9 ? best : 1e-9));
    return inner < 1 ? 1 : inner;
}

static double time_once(void (*fn)(void *), void *ctx, int inner) {
    const double t0 = now();
    for (int i = 0; i < inner; i++) fn(ctx);
    return (now() - t0) / inner;
}

int main(int argc, char **argv) {
    const int reps = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 10;
    const int maxt = argc > 2 && atoi(argv[2]) > 0 ? atoi(argv[2]) : 2;
    const sqz_isa isa = sqz_cpu_isa();
    const dnnl_version_t *v = dnnl_version();

    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine create");
    dnnl_check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream create");

    printf("# sqz ISA %s; oneDNN %d.%d.%d (%s runtime); fp32, bias, no activation; median of %d timings after %d "
           "warm-up calls\n",
           sqz_isa_name(isa), v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
           reps, WARMUP);
    printf("# dnnl: src/dst NCHW as given to both (ratio = sqz / dnnl GF/s; max|d|, rel: sqz vs dnnl output);\n"
           "# dnnl-blk: src/dst in oneDNN's own layout (format any; the reorders to and from NCHW not timed)\n\n");
    printf("| %-18s | %3s | %-9s | %3s | %-7s | %-7s | %7s | %-9s | %3s | %8s | %8s | %8s | %9s | %5s | %8s | %7s | "
           "%-12s | %12s | %-24s |\n",
           "case", "N", "Cin->Cout", "grp", "HxW", "k/s/p", "MFLOP", "sqz path", "thr", "sqz ms", "dnnl ms",
           "sqz GF/s", "dnnl GF/s", "ratio", "max|d|", "rel", "dnnl impl", "dnnl-blk GF/s", "dnnl-blk impl");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------", "----:",
           "-----------", "----:", "---------", "---------", "--------:", "-----------", "----:", "---------:",
           "---------:", "---------:", "----------:", "------:", "---------:", "--------:", "--------------",
           "--------------:", "--------------------------");
    fflush(stdout);

    int mismatches = 0;
    double *ts = malloc(sizeof(double) * (size_t)reps), *td = malloc(sizeof(double) * (size_t)reps);
    double *tb = malloc(sizeof(double) * (size_t)reps);
    if (!ts || !td || !tb) return 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const conv_case *cc = &cases[c];
        if (getenv("CASES") && !strstr(cc->name, getenv("CASES"))) continue;
        const int64_t OH = (cc->H + 2 * cc->pad - cc->k) / cc->stride + 1;
        const int64_t OW = (cc->W + 2 * cc->pad - cc->k) / cc->stride + 1;
        const int64_t cig = cc->c_in / cc->group, cog = cc->c_out / cc->group, kk = (int64_t)cc->k * cc->k;
        sqz_conv_params p = {.nsp = 2, .batch = cc->batch, .c_in = cc->c_in, .c_out = cc->c_out, .group = cc->group};
        p.in[0] = cc->H, p.in[1] = cc->W, p.out[0] = OH, p.out[1] = OW;
        p.kernel[0] = p.kernel[1] = cc->k;
        p.stride[0] = p.stride[1] = cc->stride;
        p.dilation[0] = p.dilation[1] = 1;
        p.pad_begin[0] = p.pad_begin[1] = cc->pad;

        const size_t nx = (size_t)cc->batch * cc->c_in * cc->H * cc->W;
        const size_t nw = (size_t)cc->c_out * cig * kk;
        const size_t ny = (size_t)cc->batch * cc->c_out * OH * OW;
        float *x = xalloc(nx * sizeof(float)), *w = xalloc(nw * sizeof(float));
        float *bias = xalloc((size_t)cc->c_out * sizeof(float));
        float *ys = xalloc(ny * sizeof(float)), *yd = xalloc(ny * sizeof(float)), *yb = xalloc(ny * sizeof(float));
        fill(x, nx, 1u + (uint32_t)c);
        fill(w, nw, 101u + (uint32_t)c);
        fill(bias, (size_t)cc->c_out, 201u + (uint32_t)c);
        const double flops = 2.0 * cc->batch * cc->c_out * OH * OW * cig * kk;

        /* sqz: the weights packed once (as the runtime does for constant weights), in the form
         * the chosen path reads (GEMM A or B panels, or Winograd-transformed) */
        const size_t pw_bytes = sqz_conv_f32_packed_w_bytes(isa, &p);
        const int64_t pw_stride = (int64_t)((pw_bytes + 63) / 64 * 64 / sizeof(float));
        float *packed_w = NULL;
        if (pw_bytes) {
            packed_w = xalloc((size_t)pw_stride * sizeof(float) * (size_t)cc->group);
            sqz_conv_f32_pack_weights(isa, &p, w, packed_w);
        }

        /* oneDNN: the user's plain layouts, and "any" for what the primitive may choose. Grouped
         * weights are (group, c_out/group, c_in/group, KH, KW): the same bytes as sqz's. */
        dnnl_memory_desc_t src_md, dst_md, bias_md, w_md, src_any, dst_any, w_any;
        const dnnl_dims_t src_dims = {cc->batch, cc->c_in, cc->H, cc->W};
        const dnnl_dims_t dst_dims = {cc->batch, cc->c_out, OH, OW};
        const dnnl_dims_t bias_dims = {cc->c_out};
        const dnnl_dims_t w_dims1 = {cc->c_out, cig, cc->k, cc->k};
        const dnnl_dims_t w_dimsg = {cc->group, cog, cig, cc->k, cc->k};
        const int wnd = cc->group > 1 ? 5 : 4;
        const int64_t *w_dims = wnd == 5 ? w_dimsg : w_dims1;
        dnnl_check(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_nchw), "src md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw), "dst md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x), "bias md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&w_md, wnd, w_dims, dnnl_f32, wnd == 5 ? dnnl_goihw : dnnl_oihw),
                   "weights md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any), "src md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any), "dst md");
        dnnl_check(dnnl_memory_desc_init_by_tag(&w_any, wnd, w_dims, dnnl_f32, dnnl_format_tag_any), "weights md");
        const dnnl_dims_t strides = {cc->stride, cc->stride};
        const dnnl_dims_t pad_l = {cc->pad, cc->pad};
        /* right padding so that the output extent comes out as OH x OW */
        const dnnl_dims_t pad_r = {(OH - 1) * cc->stride + cc->k - cc->H - cc->pad,
                                   (OW - 1) * cc->stride + cc->k - cc->W - cc->pad};
        dnnl_convolution_desc_t cd_plain, cd_any;
        dnnl_check(dnnl_convolution_forward_desc_init(&cd_plain, dnnl_forward_inference, dnnl_convolution_direct,
                                                      &src_md, &w_any, &bias_md, &dst_md, strides, pad_l, pad_r),
                   "convolution desc");
        dnnl_check(dnnl_convolution_forward_desc_init(&cd_any, dnnl_forward_inference, dnnl_convolution_direct,
                                                      &src_any, &w_any, &bias_md, &dst_any, strides, pad_l, pad_r),
                   "convolution desc (any)");
        const dnnl_memory_desc_t *user_md[4] = {&src_md, &w_md, &bias_md, &dst_md};

        for (int t = 1; t <= maxt; t++) {
            /* oneDNN's JIT kernels fix their thread split when the primitive is created */
            omp_set_num_threads(t);
            dnnl_conv dp, db;
            dnnl_conv_setup(&dp, engine, stream, &cd_plain, user_md, (void *[4]){x, w, bias, yd});
            dnnl_conv_setup(&db, engine, stream, &cd_any, user_md, (void *[4]){x, w, bias, yb});

            const size_t sb = sqz_conv_f32_scratch_bytes(isa, t, &p);
            if (sb == SIZE_MAX) {
                fprintf(stderr, "bench_conv: sqz scratch size overflows for %s\n", cc->name);
                return 1;
            }
            void *scratch = sb ? xalloc(sb) : NULL;
            sqz_run sr = {.isa = isa, .threads = t, .p = &p, .x = x, .w = w, .packed_w = packed_w,
                          .packed_stride = packed_w ? pw_stride : 0, .bias = bias, .y = ys, .scratch = scratch};

            /* Distinct garbage in the outputs, so that an output a library does not write shows. */
            for (size_t i = 0; i < ny; i++) ys[i] = 1e30f, yd[i] = -1e30f, yb[i] = 2e30f;
            const int inner_s = warm_up(run_sqz, &sr), inner_d = warm_up(run_dnnl, &dp);
            const int inner_b = warm_up(run_dnnl, &db);
            for (int r = 0; r < reps; r++) { /* the three take turns */
                ts[r] = time_once(run_sqz, &sr, inner_s);
                td[r] = time_once(run_dnnl, &dp, inner_d);
                tb[r] = time_once(run_dnnl, &db, inner_b);
            }
            const double ms = median(ts, reps), md = median(td, reps), mb = median(tb, reps);

            dnnl_conv_output(&db, engine, &dst_md, yb);
            double maxref, maxref_b;
            const double diff = max_diff(ys, yd, ny, &maxref), diff_b = max_diff(ys, yb, ny, &maxref_b);
            const double rel = diff / (maxref > 0.0 ? maxref : 1.0);
            const double rel_b = diff_b / (maxref_b > 0.0 ? maxref_b : 1.0);
            const int bad = !(rel <= REL_TOL), bad_b = !(rel_b <= REL_TOL);
            mismatches += bad || bad_b;

            char cio[32], hw[32], ksp[32];
            snprintf(cio, sizeof cio, "%d->%d", cc->c_in, cc->c_out);
            snprintf(hw, sizeof hw, "%dx%d", cc->H, cc->W);
            snprintf(ksp, sizeof ksp, "%d/%d/%d", cc->k, cc->stride, cc->pad);
            const double gs = flops / ms * 1e-9, gd = flops / md * 1e-9, gb = flops / mb * 1e-9;
            printf("| %-18s | %3d | %-9s | %3d | %-7s | %-7s | %7.1f | %-9s | %3d | %8.3f | %8.3f | %8.1f | %9.1f | "
                   "%5.2f | %8.1e | %7.1e%s | %-12s | %13.1f%s | %-24s |\n",
                   cc->name, cc->batch, cio, cc->group, hw, ksp, flops * 1e-6, sqz_conv_f32_path(isa, &p), t, ms * 1e3,
                   md * 1e3, gs, gd, gs / gd, diff, rel, bad ? " MISMATCH" : "", dp.impl, gb,
                   bad_b ? " MISMATCH" : "", db.impl);
            fflush(stdout);

            free(scratch);
            dnnl_conv_free(&dp);
            dnnl_conv_free(&db);
        }
        free(packed_w);
        free(x);
        free(w);
        free(bias);
        free(ys);
        free(yd);
        free(yb);
    }
    free(ts);
    free(td);
    free(tb);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    if (mismatches)
        printf("\n%d row(s) where sqz and oneDNN outputs differ beyond rel %.0e (max|d| / max|oneDNN|)\n", mismatches,
               REL_TOL);
    return mismatches ? 2 : 0;
}
