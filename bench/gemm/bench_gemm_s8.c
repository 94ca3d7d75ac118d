/* bench/gemm/bench_gemm_s8.c - int8 GEMM: sqz u8 x s8 -> s32 (weights packed once) vs oneDNN's
 * matmul (u8 src, s8 weights in oneDNN's own prepacked layout, s32 dst) measured in the same run,
 * 1 and 2 threads, plus sqz int8 vs sqz fp32 (kernels/gemm_f32.h, same ISA level).
 * Prints GOP/s (2*M*N*K per GEMM), best of several repetitions, and the ratios.
 * Usage: bench_gemm_s8 [reps] [max_threads]     (SQZ_ISA=avx2 etc. picks a lower level) */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm_f32.h"
#include "kernels/int8.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define DN(call)                                                                  \
    do {                                                                          \
        dnnl_status_t s_ = (call);                                                \
        if (s_ != dnnl_success) {                                                 \
            fprintf(stderr, "oneDNN: %s failed (%d)\n", #call, (int)s_);         \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

typedef struct dn_mm {
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
} dn_mm;

static void dn_setup(dnnl_engine_t eng, dnnl_stream_t st, int M, int N, int K, uint8_t *A, int8_t *B, int32_t *C,
                     dn_mm *d) {
    dnnl_memory_desc_t a_md, b_md, b_any, c_md;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N};
    DN(dnnl_memory_desc_init_by_tag(&a_md, 2, ad, dnnl_u8, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&b_md, 2, bd, dnnl_s8, dnnl_ab));
    DN(dnnl_memory_desc_init_by_tag(&b_any, 2, bd, dnnl_s8, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&c_md, 2, cd, dnnl_s32, dnnl_ab));
    dnnl_matmul_desc_t mm;
    DN(dnnl_matmul_desc_init(&mm, &a_md, &b_any, NULL, &c_md));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &mm, NULL, eng, NULL));
    DN(dnnl_primitive_create(&d->prim, pd));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    DN(dnnl_memory_create(&d->a, &a_md, eng, A));
    DN(dnnl_memory_create(&d->c, &c_md, eng, C));
    DN(dnnl_memory_create(&d->b, wmd, eng, DNNL_MEMORY_ALLOCATE));
    /* weights reordered once into oneDNN's layout (as sqz packs once) */
    dnnl_memory_t b_plain;
    DN(dnnl_memory_create(&b_plain, &b_md, eng, B));
    dnnl_primitive_desc_t rpd;
    DN(dnnl_reorder_primitive_desc_create(&rpd, &b_md, eng, wmd, eng, NULL));
    dnnl_primitive_t r;
    DN(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, b_plain}, {DNNL_ARG_TO, d->b}};
    DN(dnnl_primitive_execute(r, st, 2, ra));
    DN(dnnl_stream_wait(st));
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(b_plain);
    dnnl_primitive_desc_destroy(pd);
}

static void dn_run(dnnl_stream_t st, dn_mm *d) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, d->a}, {DNNL_ARG_WEIGHTS, d->b}, {DNNL_ARG_DST, d->c}};
    DN(dnnl_primitive_execute(d->prim, st, 3, args));
    DN(dnnl_stream_wait(st));
}

static void dn_free(dn_mm *d) {
    dnnl_primitive_destroy(d->prim);
    dnnl_memory_destroy(d->a);
    dnnl_memory_destroy(d->b);
    dnnl_memory_destroy(d->c);
}

static int inner_reps(double ops) {
    int r = (int)(1e10 / ops); /* each timing lasts >= ~20 ms (1024^3: 4 calls, not 1) */
    return r < 1 ? 1 : r;
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    const int maxt = argc > 2 ? atoi(argv[2]) : 2;
    const sqz_isa isa = sqz_cpu_isa();
    const sqz_qkind kind = sqz_qkind_for(isa);
    static const int sizes[] = {64, 128, 256, 512, 1024};
    dnnl_engine_t eng;
    dnnl_stream_t st;
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    printf("# sqz ISA %s (int8 kernel %s), best of %d repetitions; GOP/s = 2*M*N*K / s\n", sqz_isa_name(isa),
           sqz_qkind_name(kind), reps);
    printf("%6s %3s %11s %11s %8s %11s %9s\n", "M=N=K", "thr", "sqz s8 GOP", "oneDNN GOP", "s8/dnnl", "sqz f32 GF",
           "s8/f32");
    for (int t = 1; t <= maxt; t++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const int n = sizes[si], M = n, N = n, K = n;
            uint8_t *A = malloc((size_t)M * K);
            int8_t *B = malloc((size_t)K * N);
            int32_t *C = malloc((size_t)M * N * 4), *C2 = malloc((size_t)M * N * 4);
            float *Af = malloc((size_t)M * K * 4), *Bf = malloc((size_t)K * N * 4), *Cf = malloc((size_t)M * N * 4);
            for (size_t i = 0; i < (size_t)M * K; i++) Af[i] = A[i] = (uint8_t)(i * 7 % 251);
            for (size_t i = 0; i < (size_t)K * N; i++) Bf[i] = B[i] = (int8_t)((int)(i * 5 % 255) - 127);
            sqz_qpack *pk = sqz_qpack_create(isa, SQZ_QSIDE_B, N, K, B, 0, 1, N);
            sqz_qepi epi = {.out = SQZ_QOUT_S32};
            sqz_qgemm_args qa = {.M = M, .N = N, .K = K, .w = pk, .x = A, .ldx = K, .y = C, .ldy = N, .epi = &epi};
            const size_t qs = sqz_qgemm_scratch_bytes(&qa, t);
            void *qscr = aligned_alloc(64, (qs + 64) / 64 * 64);
            sqz_gemm_f32_args fa = {.M = M, .N = N, .K = K, .alpha = 1, .beta = 0, .A = Af, .lda = K, .B = Bf,
                                    .ldb = N, .C = Cf, .ldc = N};
            const size_t fs = sqz_gemm_f32_scratch_bytes(isa, t, M, N, K);
            void *fscr = fs ? aligned_alloc(64, (fs + 64) / 64 * 64) : NULL;
            omp_set_num_threads(t);
            dn_mm d;
            dn_setup(eng, st, M, N, K, A, B, C2, &d);
            const double ops = 2.0 * M * N * K;
            const int inner = inner_reps(ops);
            double best_q = 1e30, best_d = 1e30, best_f = 1e30;
            sqz_qgemm(t, &qa, qscr);
            dn_run(st, &d);
            sqz_gemm_f32(isa, t, &fa, fscr);
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                for (int i = 0; i < inner; i++) sqz_qgemm(t, &qa, qscr);
                double t1 = now();
                for (int i = 0; i < inner; i++) dn_run(st, &d);
                double t2 = now();
                for (int i = 0; i < inner; i++) sqz_gemm_f32(isa, t, &fa, fscr);
                double t3 = now();
                if (t1 - t0 < best_q) best_q = t1 - t0;
                if (t2 - t1 < best_d) best_d = t2 - t1;
                if (t3 - t2 < best_f) best_f = t3 - t2;
            }
            const int same = !memcmp(C, C2, (size_t)M * N * 4);
            const double gq = ops * inner / best_q * 1e-9, gd = ops * inner / best_d * 1e-9,
                         gf = ops * inner / best_f * 1e-9;
            printf("%6d %3d %11.1f %11.1f %8.2f %11.1f %9.2f%s\n", n, t, gq, gd, gq / gd, gf, gq / gf,
                   same ? "" : "  RESULTS DIFFER");
            fflush(stdout);
            dn_free(&d);
            sqz_qpack_free(pk);
            free(qscr);
            free(fscr);
            free(A);
            free(B);
            free(C);
            free(C2);
            free(Af);
            free(Bf);
            free(Cf);
        }
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}
