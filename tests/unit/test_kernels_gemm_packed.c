/* Unit tests for the fp32 GEMM's small-M tiles and operands packed once (kernels/gemm_f32.h):
 * on every ISA path the CPU supports, random shapes with tails (M = 1..5 and larger, N and K
 * around the panel and KC sizes, transposes, epilogues):
 *  - packed A and/or packed B give the same bits as the unpacked call;
 *  - every row of C has the same bits whatever M is (a 1..4-row product equals those rows of a
 *    taller one), so batch 1 and batch N agree exactly;
 *  - all of them match the reference by normalized error. */
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "kernels/gemm_f32.h"
#include "kernel_test_util.h"
#include "test.h"

static int failures;

static void run(sqz_isa isa, int threads, sqz_gemm_f32_args g, float *C, const float *pa, const float *pb) {
    g.C = C;
    g.packed_a = pa;
    g.packed_b = pb;
    void *s = kt_alloc64(sqz_gemm_f32_scratch_bytes(isa, threads, g.M, g.N, g.K));
    sqz_gemm_f32(isa, threads, &g, s);
    free(s);
}

static void packed_case(sqz_rng *r, sqz_isa isa, int M, int N, int K) {
    const int ta = sqz_rng_below(r, 2), tb = sqz_rng_below(r, 2), ep = sqz_rng_below(r, 4);
    const float alpha = sqz_rng_below(r, 2) ? 1.0f : 0.5f;
    const int64_t lda = (ta ? M : K) + sqz_rng_below(r, 3), ldb = (tb ? K : N) + sqz_rng_below(r, 3);
    float *A = kt_rand(1.0f, r, (int64_t)(ta ? K : M) * lda), *B = kt_rand(1.0f, r, (int64_t)(tb ? N : K) * ldb), *bm = kt_rand(1.0f, r, M),
          *bn = kt_rand(1.0f, r, N);
    const size_t cn = (size_t)M * (size_t)N;
    float *Cr = malloc(sizeof(float) * cn), *C0 = malloc(sizeof(float) * cn), *C1 = malloc(sizeof(float) * cn),
          *C2 = malloc(sizeof(float) * cn), *C3 = malloc(sizeof(float) * cn);
    /* ep 3: both biases and the clamp, whose order every tile kind must keep */
    sqz_gemm_epi epi = {.bias_m = ep == 1 || ep == 3 ? bm : NULL, .bias_n = ep >= 2 ? bn : NULL, .clamp = ep >= 2,
                        .lo = ep == 3 ? -0.5f : 0.0f, .hi = ep == 3 ? 0.75f : INFINITY};
    const sqz_gemm_f32_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = alpha, .beta = 0.0f,
                                 .A = A, .lda = lda, .B = B, .ldb = ldb, .ldc = N, .epi = ep ? &epi : NULL};
    run(SQZ_ISA_REF, 1, g, Cr, NULL, NULL);
    run(isa, 1, g, C0, NULL, NULL);
    const size_t ab = sqz_gemm_f32_packed_a_bytes(isa, M, K), bb = sqz_gemm_f32_packed_b_bytes(isa, K, N);
    int ok = kt_norm_err(C0, Cr, (int64_t)cn) <= 1e-5 * sqrt((double)K + 1);
    if (isa != SQZ_ISA_REF) {
        float *pa = kt_alloc64(ab), *pb = kt_alloc64(bb);
        ok = ok && ab > 0 && bb > 0;
        if (pa && pb) {
            sqz_gemm_f32_pack_a(isa, ta, M, K, A, lda, pa);
            sqz_gemm_f32_pack_b(isa, tb, K, N, B, ldb, pb);
            run(isa, 1, g, C1, pa, NULL);
            run(isa, 2, g, C2, NULL, pb);
            run(isa, 2, g, C3, pa, pb);
            ok = ok && !memcmp(C0, C1, sizeof(float) * cn) && !memcmp(C0, C2, sizeof(float) * cn) &&
                 !memcmp(C0, C3, sizeof(float) * cn);
        }
        free(pa), free(pb);
        /* each of the first rows alone (the small-M tiles) gives the same bits */
        for (int m = 1; m <= 4 && m <= M && ok; m++) {
            sqz_gemm_f32_args h = g; /* bias_m is per row: rows 0 .. m-1 read its first m values either way */
            h.M = m;
            float *Cm = malloc(sizeof(float) * (size_t)m * (size_t)N), *Cf = malloc(sizeof(float) * cn);
            run(isa, 1, h, Cm, NULL, NULL);
            run(isa, 1, g, Cf, NULL, NULL);
            ok = !memcmp(Cm, Cf, sizeof(float) * (size_t)m * (size_t)N);
            free(Cm), free(Cf);
        }
    }
    if (!ok && failures++ < 10)
        fprintf(stderr, "packed %s M=%d N=%d K=%d ta=%d tb=%d ep=%d: err %.3g\n", sqz_isa_name(isa), M, N, K, ta, tb, ep,
                kt_norm_err(C0, Cr, (int64_t)cn));
    CHECK(ok);
    free(A), free(B), free(bm), free(bn), free(Cr), free(C0), free(C1), free(C2), free(C3);
}

static void test_packed(sqz_isa isa) {
    static const int ms[] = {1, 2, 3, 4, 5, 8, 13, 14, 15, 29};
    static const int ns[] = {1, 3, 15, 16, 17, 31, 32, 33, 65, 120, 300};
    static const int ks[] = {1, 2, 7, 16, 100, 255, 256, 257, 600};
    sqz_rng r;
    sqz_rng_seed(&r, 777 + (uint64_t)isa);
    const int before = test_failed_;
    for (int i = 0; i < 120; i++)
        packed_case(&r, isa, ms[i % 10], ns[sqz_rng_below(&r, 11)], ks[sqz_rng_below(&r, 9)]);
    packed_case(&r, isa, 1, 1100, 784); /* a batch-1 fully connected layer across the NC block */
    packed_case(&r, isa, 3, 2050, 300);
    /* narrow last panels (the column-tail kernel): 7x7 and 14x14 convolution outputs, K over KC */
    packed_case(&r, isa, 64, 49, 600);
    packed_case(&r, isa, 45, 196, 300);
    packed_case(&r, isa, 70, 980, 257);
    packed_case(&r, isa, 9, 24, 513);
    printf("gemm packed / small M %-10s %s\n", sqz_isa_name(isa), test_failed_ == before ? "ok" : "FAILED");
}

int main(void) {
    const sqz_isa top = sqz_cpu_isa_supported() >= SQZ_ISA_AVX512 ? SQZ_ISA_AVX512 : sqz_cpu_isa_supported();
    for (int i = SQZ_ISA_REF; i <= (int)top; i++) test_packed((sqz_isa)i);
    TEST_MAIN_END();
}
