/* bench/gemm/bench_gemm.c - fp32 GEMM: sqz (each ISA level the CPU has) vs OpenBLAS cblas_sgemm,
 * 1 and 2 threads, square sizes and the im2col GEMMs of ResNet-18's 3x3 convs. Prints GFLOP/s,
 * best of several repetitions, and the ratio sqz / OpenBLAS measured in the same run.
 * Usage: bench_gemm [reps (10)] [max_threads (2)] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm_f32.h"

/* from OpenBLAS */
void openblas_set_num_threads(int);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define PAUSE_MS 150

static void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct shape {
    const char *name;
    int M, N, K;
} shape;

static const shape shapes[] = {
    {"square 64", 64, 64, 64},       {"square 128", 128, 128, 128},    {"square 256", 256, 256, 256},
    {"square 512", 512, 512, 512},   {"square 1024", 1024, 1024, 1024},
    {"r18 conv2 56x56", 64, 3136, 576}, {"r18 conv3 28x28", 128, 784, 1152},
    {"r18 conv4 14x14", 256, 196, 2304}, {"r18 conv5 7x7", 512, 49, 4608},
    {"r18 1x1 down 28x28", 128, 784, 64},
};

/* Repetitions inside one timing so that each timing lasts >= ~20 ms. */
static int inner_reps(double flops) {
    int r = (int)(4e8 / flops);
    return r < 1 ? 1 : r;
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 10;
    const int maxt = argc > 2 ? atoi(argv[2]) : 2;
    const sqz_isa isa = sqz_cpu_isa();
    printf("# sqz ISA %s, best of %d repetitions\n", sqz_isa_name(isa), reps);
    printf("%-20s %5s %5s %5s %3s %10s %10s %7s\n", "shape", "M", "N", "K", "thr", "sqz GF/s", "oblas GF/s",
           "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
        float *C = malloc(sizeof(float) * (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7 % 13) - 6) / 8.0f;
        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)((i * 5 % 11) - 5) / 8.0f;
        const double flops = 2.0 * M * N * K;
        const int inner = inner_reps(flops);
        for (int t = 1; t <= maxt; t++) {
            const size_t sb = sqz_gemm_f32_scratch_bytes(isa, t, M, N, K);
            void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
            sqz_gemm_f32_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = A, .lda = K,
                                   .B = B, .ldb = N, .C = C, .ldc = N};
            openblas_set_num_threads(t);
            /* Each library's idle threads spin for a while after a call: the libraries take turns,
             * with a pause after each turn, so neither runs against the other's spinning threads;
             * alternating also exposes both to the same background load. */
            double best_s = 1e30, best_o = 1e30;
            sqz_gemm_f32(isa, t, &g, scratch); /* warm-up */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
            pause_ms(PAUSE_MS);
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                for (int i = 0; i < inner; i++) sqz_gemm_f32(isa, t, &g, scratch);
                double dt = (now() - t0) / inner;
                if (dt < best_s) best_s = dt;
                pause_ms(PAUSE_MS);
                t0 = now();
                for (int i = 0; i < inner; i++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
                dt = (now() - t0) / inner;
                if (dt < best_o) best_o = dt;
                pause_ms(PAUSE_MS);
            }
            const double gs = flops / best_s * 1e-9, go = flops / best_o * 1e-9;
            printf("%-20s %5d %5d %5d %3d %10.1f %10.1f %7.2f\n", shapes[s].name, M, N, K, t, gs, go, gs / go);
            fflush(stdout);
            free(scratch);
        }
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
