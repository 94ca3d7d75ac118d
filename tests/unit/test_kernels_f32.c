/* Unit tests for the fast fp32 kernels: every ISA path the CPU supports (ref, avx2, avx512)
 * against the reference oracle (SQZ_ISA_REF) by normalized error, on shapes below, at, between
 * and above the tile sizes, with transposes, alpha/beta, bias and clamp epilogues and 1 or 2
 * threads (which must give bit-identical results); convolutions (depthwise fast paths, 1x1,
 * im2col) on random geometries. */
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "kernels/conv_f32.h"
#include "kernels/conv_wino_f32.h"
#include "kernels/gemm_f32.h"
#include "kernel_test_util.h"
#include "test.h"

static const int sizes[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 127, 255, 257};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static int gemm_failures;

static void gemm_case(sqz_rng *r, sqz_isa isa, int M, int N, int K) {
    const int ta = sqz_rng_below(r, 2), tb = sqz_rng_below(r, 2), ep = sqz_rng_below(r, 6);
    const float alphas[] = {1.0f, -0.5f, 2.0f}, betas[] = {0.0f, 1.0f, 0.5f};
    const float alpha = alphas[sqz_rng_below(r, 3)], beta = betas[sqz_rng_below(r, 3)];
    const int64_t lda = (ta ? M : K) + sqz_rng_below(r, 3), ldb = (tb ? K : N) + sqz_rng_below(r, 3);
    const int64_t ldc = N + sqz_rng_below(r, 3);
    float *A = kt_rand(1.0f, r, (int64_t)(ta ? K : M) * lda), *B = kt_rand(1.0f, r, (int64_t)(tb ? N : K) * ldb);
    float *C0 = kt_rand(1.0f, r, (int64_t)M * ldc), *bm = kt_rand(1.0f, r, M), *bn = kt_rand(1.0f, r, N);
    if (beta == 0.0f) C0[0] = NAN; /* beta == 0 must not read C */
    float *Cr = malloc(sizeof(float) * (size_t)M * ldc), *C1 = malloc(sizeof(float) * (size_t)M * ldc),
          *C2 = malloc(sizeof(float) * (size_t)M * ldc);
    sqz_gemm_epi epi = {0};
    if (ep == 1 || ep == 4) epi.bias_m = bm;
    if (ep == 2 || ep == 4) epi.bias_n = bn;
    if (ep == 3 || ep == 4) epi = (sqz_gemm_epi){.bias_m = epi.bias_m, .bias_n = epi.bias_n, .clamp = 1, .lo = 0.0f, .hi = INFINITY};
    if (ep == 5) epi = (sqz_gemm_epi){.bias_n = bn, .clamp = 1, .lo = -0.25f, .hi = 0.75f};
    sqz_gemm_f32_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                           .A = A, .lda = lda, .B = B, .ldb = ldb, .ldc = ldc, .epi = ep ? &epi : NULL};
    memcpy(Cr, C0, sizeof(float) * (size_t)M * ldc);
    g.C = Cr;
    sqz_gemm_f32(SQZ_ISA_REF, 1, &g, NULL);
    void *s1 = kt_alloc64(sqz_gemm_f32_scratch_bytes(isa, 1, M, N, K));
    void *s2 = kt_alloc64(sqz_gemm_f32_scratch_bytes(isa, 2, M, N, K));
    memcpy(C1, C0, sizeof(float) * (size_t)M * ldc);
    g.C = C1;
    sqz_gemm_f32(isa, 1, &g, s1);
    memcpy(C2, C0, sizeof(float) * (size_t)M * ldc);
    g.C = C2;
    sqz_gemm_f32(isa, 2, &g, s2);
    /* compare only the M x N part; the padding columns must be untouched */
    double err = 0;
    int pad_ok = 1, same = 1;
    for (int i = 0; i < M; i++) {
        const double e = kt_norm_err(C1 + (int64_t)i * ldc, Cr + (int64_t)i * ldc, N);
        if (e > err) err = e;
        for (int64_t j = N; j < ldc; j++)
            if (memcmp(&C1[i * ldc + j], &C0[i * ldc + j], 4) || memcmp(&C2[i * ldc + j], &C0[i * ldc + j], 4))
                pad_ok = 0;
    }
    same = !memcmp(C1, C2, sizeof(float) * (size_t)M * ldc);
    const double tol = 1e-5 * sqrt((double)K + 1);
    const int ok = err <= tol && pad_ok && same;
    if (!ok && gemm_failures++ < 10)
        fprintf(stderr, "gemm %s M=%d N=%d K=%d ta=%d tb=%d alpha=%g beta=%g epi=%d: err %.3g (tol %.3g) pad %d same %d\n",
                sqz_isa_name(isa), M, N, K, ta, tb, alpha, beta, ep, err, tol, pad_ok, same);
    CHECK(ok);
    free(A), free(B), free(C0), free(bm), free(bn), free(Cr), free(C1), free(C2), free(s1), free(s2);
}

static void test_gemm(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 1234 + (uint64_t)isa);
    const int before = test_failed_;
    for (int i = 0; i < NSIZES; i++) {
        gemm_case(&r, isa, sizes[i], sizes[sqz_rng_below(&r, NSIZES)], sizes[sqz_rng_below(&r, 12)]);
        gemm_case(&r, isa, sizes[sqz_rng_below(&r, 12)], sizes[i], sizes[sqz_rng_below(&r, NSIZES)]);
        gemm_case(&r, isa, sizes[sqz_rng_below(&r, NSIZES)], sizes[sqz_rng_below(&r, 12)], sizes[i]);
    }
    for (int i = 0; i < 60; i++)
        gemm_case(&r, isa, sizes[sqz_rng_below(&r, NSIZES)], sizes[sqz_rng_below(&r, NSIZES)],
                  sizes[sqz_rng_below(&r, NSIZES)]);
    gemm_case(&r, isa, 300, 520, 600); /* several MC/KC blocks */
    gemm_case(&r, isa, 1, 1100, 3);    /* a row vector across the NC block */
    gemm_case(&r, isa, 5, 7, 0);       /* K == 0: beta * C + epilogue */
    printf("gemm %-10s %s\n", sqz_isa_name(isa), test_failed_ == before ? "ok" : "FAILED");
}

/* ---- convolution ---- */
static int conv_failures;

static void conv_case(sqz_rng *r, sqz_isa isa, const sqz_conv_params *p, int clamp) {
    int64_t insp = 1, outsp = 1, kk = 1;
    for (int d = 0; d < p->nsp; d++) insp *= p->in[d], outsp *= p->out[d], kk *= p->kernel[d];
    float *x = kt_rand(1.0f, r, p->batch * p->c_in * insp), *w = kt_rand(1.0f, r, p->c_out * (p->c_in / p->group) * kk);
    float *b = kt_rand(1.0f, r, p->c_out);
    const int64_t ny = p->batch * p->c_out * outsp;
    float *yr = malloc(sizeof(float) * (size_t)(ny ? ny : 1)), *y1 = malloc(sizeof(float) * (size_t)(ny ? ny : 1)),
          *y2 = malloc(sizeof(float) * (size_t)(ny ? ny : 1));
    const sqz_conv_act act = {.clamp = 1, .lo = -0.5f, .hi = 6.0f};
    const sqz_conv_act *ap = clamp ? &act : NULL;
    const float *bias = sqz_rng_below(r, 4) ? b : NULL;
    void *sr = kt_alloc64(sqz_conv_f32_scratch_bytes(SQZ_ISA_REF, 1, p));
    void *s1 = kt_alloc64(sqz_conv_f32_scratch_bytes(isa, 1, p)), *s2 = kt_alloc64(sqz_conv_f32_scratch_bytes(isa, 2, p));
    sqz_conv_f32(SQZ_ISA_REF, 1, p, x, w, bias, ap, yr, sr);
    sqz_conv_f32(isa, 1, p, x, w, bias, ap, y1, s1);
    sqz_conv_f32(isa, 2, p, x, w, bias, ap, y2, s2);
    /* weights packed once, in the form this path reads: the same bits as the unpacked call */
    int packed_same = 1;
    const int form = sqz_conv_f32_packed_form(isa, p);
    const size_t pwb = form ? sqz_conv_f32_packed_w_bytes(isa, p) : 0;
    if (pwb) {
        const int64_t stride = (int64_t)((pwb + 63) / 64 * 16);
        float *pw = kt_alloc64((size_t)stride * 4 * (size_t)p->group), *yp = malloc(sizeof(float) * (size_t)(ny ? ny : 1));
        CHECK(sqz_conv_f32_pack_weights(isa, p, w, pw) == stride);
        sqz_conv_f32_packed(isa, 2, p, x, w, pw, stride, bias, ap, yp, s2);
        packed_same = !memcmp(yp, y1, sizeof(float) * (size_t)ny);
        free(pw), free(yp);
    }
    const double err = kt_norm_err(y1, yr, ny);
    const int same = !memcmp(y1, y2, sizeof(float) * (size_t)ny) && packed_same;
    const double tol = 4e-6 * sqrt((double)(p->c_in / p->group * kk) + 1);
    const int ok = err <= tol && same;
    if (!ok && conv_failures++ < 10) {
        fprintf(stderr, "conv %s nsp=%d n=%lld ci=%lld co=%lld g=%lld in0=%lld inL=%lld k=%lld s=%lld d=%lld p=%lld: err %.3g same %d\n",
                sqz_isa_name(isa), p->nsp, (long long)p->batch, (long long)p->c_in, (long long)p->c_out, (long long)p->group,
                (long long)p->in[0], (long long)p->in[p->nsp - 1], (long long)p->kernel[p->nsp - 1],
                (long long)p->stride[p->nsp - 1], (long long)p->dilation[p->nsp - 1], (long long)p->pad_begin[p->nsp - 1],
                err, same);
    }
    CHECK(ok);
    free(x), free(w), free(b), free(yr), free(y1), free(y2), free(sr), free(s1), free(s2);
}

/* Fills the geometry; returns 0 when the window does not fit. */
static int conv_geom(sqz_conv_params *p, int nsp, int64_t batch, int64_t ci, int64_t co, int64_t group,
                     const int64_t *in, const int64_t *k, const int64_t *s, const int64_t *d, const int64_t *pb,
                     const int64_t *pe) {
    memset(p, 0, sizeof *p);
    p->nsp = nsp, p->batch = batch, p->c_in = ci, p->c_out = co, p->group = group;
    for (int i = 0; i < nsp; i++) {
        p->in[i] = in[i], p->kernel[i] = k[i], p->stride[i] = s[i], p->dilation[i] = d[i], p->pad_begin[i] = pb[i];
        const int64_t span = in[i] + pb[i] + pe[i] - d[i] * (k[i] - 1) - 1;
        if (span < 0) return 0;
        p->out[i] = span / s[i] + 1;
    }
    return 1;
}

/* sqz_conv_f32_implicit (training's input gradients): y += conv(x, w) through the implicit path
 * (both tile kinds, strided), 1 and 2 threads with the same bits, against y0 + the reference, and
 * y = conv(x, w) over a y full of garbage (NaN) against the reference alone; on other paths it
 * declines and leaves y alone. */
static void test_conv_accumulate(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 7);
    sqz_conv_params p;
    int ran = 0, wino = 0;
    const int wino_was = sqz_conv_f32_set_winograd(0);
    for (int i = 0; i < 48; i++) {
        /* the second half with Winograd on (3x3 stride-1 layers of 16+ channels take it) */
        if (i == 24) sqz_conv_f32_set_winograd(1);
        const int64_t K = 1 + 2 * (int64_t)sqz_rng_below(&r, 3), S = i % 5 == 4 ? 2 : 1;
        const int64_t in[2] = {4 + sqz_rng_below(&r, 20), 8 + sqz_rng_below(&r, 30)};
        const int64_t k[2] = {K, K}, s[2] = {S, S}, d[2] = {1, 1};
        const int64_t pb[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)}, pe[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)};
        const int64_t ci = 2 + sqz_rng_below(&r, i % 2 ? 40 : 12) + (i >= 24) * 14, co = 5 + sqz_rng_below(&r, 40);
        if (!conv_geom(&p, 2, 1 + sqz_rng_below(&r, 3), ci, co, 1, in, k, s, d, pb, pe)) continue;
        const char *path = sqz_conv_f32_path(isa, &p);
        wino += !strcmp(path, "winograd");
        const int64_t nx = p.batch * ci * in[0] * in[1], ny = p.batch * co * p.out[0] * p.out[1];
        float *x = kt_rand(1.0f, &r, nx), *w = kt_rand(1.0f, &r, co * ci * K * K), *y0 = kt_rand(1.0f, &r, ny);
        float *yr = malloc(sizeof(float) * (size_t)ny), *y1 = malloc(sizeof(float) * (size_t)ny),
              *y2 = malloc(sizeof(float) * (size_t)ny);
        void *sr = kt_alloc64(sqz_conv_f32_scratch_bytes(SQZ_ISA_REF, 1, &p));
        void *s1 = kt_alloc64(sqz_conv_f32_scratch_bytes(isa, 1, &p)), *s2 = kt_alloc64(sqz_conv_f32_scratch_bytes(isa, 2, &p));
        sqz_conv_f32(SQZ_ISA_REF, 1, &p, x, w, NULL, NULL, yr, sr);
        for (int64_t j = 0; j < ny; j++) yr[j] += y0[j];
        memcpy(y1, y0, sizeof(float) * (size_t)ny);
        memcpy(y2, y0, sizeof(float) * (size_t)ny);
        const int a1 = sqz_conv_f32_implicit(isa, 1, &p, x, w, 1, y1, s1), a2 = sqz_conv_f32_implicit(isa, 2, &p, x, w, 1, y2, s2);
        CHECK(a1 == a2 && a1 == (!strcmp(path, "implicit") || !strcmp(path, "winograd")));
        if (a1) {
            ran++;
            CHECK_MSG(kt_norm_err(y1, yr, ny) <= 4e-6 * sqrt((double)(ci * K * K) + 1), "accumulate case %d", i);
            CHECK(!memcmp(y1, y2, sizeof(float) * (size_t)ny));
            /* store mode: every element written, nothing read */
            for (int64_t j = 0; j < ny; j++) y2[j] = NAN, yr[j] -= y0[j];
            CHECK(sqz_conv_f32_implicit(isa, 1, &p, x, w, 0, y2, s1));
            CHECK_MSG(kt_norm_err(y2, yr, ny) <= 4e-6 * sqrt((double)(ci * K * K) + 1), "store case %d", i);
        } else {
            CHECK(!memcmp(y1, y0, sizeof(float) * (size_t)ny));
        }
        free(x), free(w), free(y0), free(yr), free(y1), free(y2), free(sr), free(s1), free(s2);
    }
    sqz_conv_f32_set_winograd(wino_was);
    if (isa >= SQZ_ISA_AVX512 && sqz_cpu_isa_supported() >= SQZ_ISA_AVX512) CHECK(ran >= 20 && wino >= 4);
    else if (isa == SQZ_ISA_AVX2 && sqz_cpu_isa_supported() >= SQZ_ISA_AVX2) CHECK(wino >= 4 && ran == wino);
    else CHECK(wino == 0);
}

static void test_conv(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 99 + (uint64_t)isa);
    const int before = test_failed_;
    sqz_conv_params p;
    /* depthwise 2-D: the vector paths (3x3, 5x5, stride 1/2) and others, many widths */
    for (int i = 0; i < 60; i++) {
        const int64_t K = i % 4 == 3 ? 1 + sqz_rng_below(&r, 4) : (sqz_rng_below(&r, 2) ? 3 : 5);
        const int64_t S = 1 + sqz_rng_below(&r, 2), D = i % 5 == 4 ? 2 : 1, P = sqz_rng_below(&r, 3);
        const int64_t in[2] = {1 + sqz_rng_below(&r, 20), 1 + sqz_rng_below(&r, 40)};
        const int64_t k[2] = {K, K}, s[2] = {S, S}, d[2] = {D, D}, pb[2] = {P, P}, pe[2] = {P, (P + 1) % 3};
        const int64_t c = 1 + sqz_rng_below(&r, 5), mult = 1 + (i % 7 == 6);
        if (conv_geom(&p, 2, 1 + sqz_rng_below(&r, 2), c, c * mult, c, in, k, s, d, pb, pe))
            conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    /* depthwise with symmetric pads on MobileNet-size planes (the 7x7 and 14x14 -> 7x7 register
     * paths, the row-register paths for widths 8 .. 14 and 15 .. 30, taller than wide too),
     * channel counts around the pairs of planes */
    for (int i = 0; i < 48; i++) {
        static const int64_t hw[12] = {7, 14, 14, 7, 8, 11, 13, 10, 15, 16, 28, 30};
        const int64_t K = i % 6 == 5 ? 5 : 3, S = i % 12 == 2 ? 2 : 1, P = K / 2;
        const int64_t in[2] = {hw[i % 12] + (i % 4 == 0 ? i % 3 : 0), hw[i % 12]}, k[2] = {K, K}, s[2] = {S, S},
                      d[2] = {1, 1}, pp[2] = {P, P};
        const int64_t c = 1 + sqz_rng_below(&r, 19);
        if (conv_geom(&p, 2, 1 + sqz_rng_below(&r, 2), c, c, c, in, k, s, d, pp, pp))
            conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    /* depthwise 1-D */
    for (int i = 0; i < 8; i++) {
        const int64_t in[1] = {1 + sqz_rng_below(&r, 50)}, k[1] = {1 + sqz_rng_below(&r, 5)}, s[1] = {1 + sqz_rng_below(&r, 2)};
        const int64_t d[1] = {1}, pb[1] = {sqz_rng_below(&r, 3)}, pe[1] = {sqz_rng_below(&r, 3)};
        if (conv_geom(&p, 1, 1, 4, 4, 4, in, k, s, d, pb, pe)) conv_case(&r, isa, &p, 0);
    }
    /* general: 1-D/2-D/3-D, groups, strides, pads, dilations, 1x1 */
    for (int i = 0; i < 50; i++) {
        const int nsp = i % 10 == 9 ? 3 : i % 10 == 8 ? 1 : 2;
        int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
        const int pointwise = i % 4 == 0;
        for (int j = 0; j < nsp; j++) {
            in[j] = 1 + sqz_rng_below(&r, nsp == 3 ? 6 : 20);
            k[j] = pointwise ? 1 : 1 + sqz_rng_below(&r, 3);
            s[j] = pointwise ? 1 : 1 + sqz_rng_below(&r, 2);
            d[j] = pointwise ? 1 : 1 + (sqz_rng_below(&r, 4) == 0);
            pb[j] = pointwise ? 0 : sqz_rng_below(&r, 2);
            pe[j] = pointwise ? 0 : sqz_rng_below(&r, 2);
        }
        const int64_t group = 1 + (i % 3 == 1) + 2 * (i % 7 == 3);
        const int64_t ci = group * (1 + sqz_rng_below(&r, 9)), co = group * (1 + sqz_rng_below(&r, 20));
        if (conv_geom(&p, nsp, 1 + sqz_rng_below(&r, 2), ci, co, group, in, k, s, d, pb, pe))
            conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    {   /* batches of many small GEMMs: two threads take whole image blocks (the last one short) on
         * their own buffers; the bits must not change (1x1 stride 2 stacked 10 images a GEMM,
         * a grouped 1x1 stacked 7, a 3x3 of one image a GEMM) */
        const int64_t d[2] = {1, 1}, z[2] = {0, 0}, one[2] = {1, 1};
        const int64_t in1[2] = {20, 20}, k1[2] = {1, 1}, s1[2] = {2, 2};
        if (conv_geom(&p, 2, 37, 8, 16, 1, in1, k1, s1, d, z, z)) conv_case(&r, isa, &p, 1);
        const int64_t in2[2] = {12, 12};
        if (conv_geom(&p, 2, 30, 8, 8, 2, in2, k1, one, d, z, z)) conv_case(&r, isa, &p, 0);
        const int64_t in3[2] = {23, 23}, k3[2] = {3, 3};
        if (conv_geom(&p, 2, 6, 3, 5, 1, in3, k3, one, d, one, one)) conv_case(&r, isa, &p, 1);
    }
    {   /* a ResNet-like 3x3 layer: several GEMM blocks */
        const int64_t in[2] = {14, 14}, k[2] = {3, 3}, s[2] = {1, 1}, d[2] = {1, 1}, pb[2] = {1, 1}, pe[2] = {1, 1};
        if (conv_geom(&p, 2, 1, 64, 96, 1, in, k, s, d, pb, pe)) conv_case(&r, isa, &p, 1);
    }
    {   /* large outputs: im2col + GEMM in bands of output rows (an uneven last band, stride 2,
         * asymmetric pads, a 7x7 stem) */
        const int64_t in[2] = {40, 40}, k[2] = {3, 3}, s[2] = {1, 1}, d[2] = {1, 1}, pb[2] = {1, 1}, pe[2] = {1, 1};
        if (conv_geom(&p, 2, 2, 16, 24, 1, in, k, s, d, pb, pe)) conv_case(&r, isa, &p, 1);
        const int64_t in2[2] = {37, 37}, k2[2] = {7, 7}, s2[2] = {2, 2}, pb2[2] = {3, 3}, pe2[2] = {3, 3};
        if (conv_geom(&p, 2, 1, 8, 20, 1, in2, k2, s2, d, pb2, pe2)) conv_case(&r, isa, &p, 0);
        const int64_t in3[2] = {61, 45}, s3[2] = {2, 1}, pb3[2] = {0, 1}, pe3[2] = {2, 0};
        if (conv_geom(&p, 2, 1, 40, 9, 1, in3, k, s3, d, pb3, pe3)) conv_case(&r, isa, &p, 1);
    }
    /* the Winograd path (3x3, stride 1, 16+ channels in and out): sizes not multiples of 4,
     * pads 0..2 (asymmetric), several blocks per image (60 x 60), several images per block, K
     * tails of 16 and less (a one-vector panel), C tails, batch up to 5 (two threads then take
     * whole jobs), 1 and 2 threads and packed weights with the same bits */
    int wino = 0;
    for (int i = 0; i < 24; i++) {
        const int64_t big = i % 6 == 5 ? 40 : 0;
        const int64_t in[2] = {2 + sqz_rng_below(&r, 18) + big, 2 + sqz_rng_below(&r, 24) + big};
        const int64_t k[2] = {3, 3}, s[2] = {1, 1}, d[2] = {1, 1};
        const int64_t pb[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)}, pe[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)};
        const int64_t ci = 16 + sqz_rng_below(&r, i % 4 == 3 ? 120 : 40), co = 16 + sqz_rng_below(&r, i % 4 == 2 ? 100 : 50);
        if (!conv_geom(&p, 2, 1 + sqz_rng_below(&r, i % 3 == 0 ? 5 : 2), ci, co, 1, in, k, s, d, pb, pe)) continue;
        wino += !strcmp(sqz_conv_f32_path(isa, &p), "winograd");
        conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    if (isa >= SQZ_ISA_AVX2 && sqz_cpu_isa_supported() >= isa) CHECK(wino >= 16);
    else CHECK(wino == 0);
    /* the implicit-GEMM path (2-D, AVX-512; strides 2 and 3 through phase planes): 8- and 14-row weight panels with
     * partial last panels, K across several KC blocks, pads larger and smaller than the window,
     * dilation, groups, tiles straddling rows, batch */
    int implicit = 0, strided = 0;
    const int wino_was = sqz_conv_f32_set_winograd(0);
    for (int i = 0; i < 40; i++) {
        const int64_t kh = 1 + sqz_rng_below(&r, 5), kw = i % 8 == 7 ? 1 : 1 + sqz_rng_below(&r, 5);
        const int64_t D = i % 6 == 5 ? 2 : 1;
        const int64_t S0 = i % 4 == 1 ? 2 : i % 7 == 2 ? 3 : 1, S1 = i % 4 == 1 || i % 8 == 6 ? 2 : S0;
        const int64_t in[2] = {3 + sqz_rng_below(&r, 30), 8 + sqz_rng_below(&r, 40) + 30 * (S1 > 1)};
        const int64_t k[2] = {kh, kw}, s[2] = {S0, S1}, d[2] = {D, D};
        const int64_t pb[2] = {sqz_rng_below(&r, 4), sqz_rng_below(&r, 4)};
        const int64_t pe[2] = {sqz_rng_below(&r, 4), sqz_rng_below(&r, 3)};
        const int64_t group = i % 5 == 4 ? 2 : 1;
        const int64_t ci = group * (1 + sqz_rng_below(&r, i % 10 == 3 ? 40 : 12));
        const int64_t co = group * (5 + sqz_rng_below(&r, 40));
        /* batch up to 5: two threads then take whole images (their own padded copies) */
        if (!conv_geom(&p, 2, 1 + sqz_rng_below(&r, i % 3 == 0 ? 5 : 2), ci, co, group, in, k, s, d, pb, pe)) continue;
        implicit += !strcmp(sqz_conv_f32_path(isa, &p), "implicit");
        strided += (S0 > 1 || S1 > 1) && !strcmp(sqz_conv_f32_path(isa, &p), "implicit");
        conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    {   /* a stride-2 plane wider than the phase copy's precomputed column masks (Wp > 256) */
        const int64_t in[2] = {3, 530}, k[2] = {3, 3}, s[2] = {2, 2}, d[2] = {1, 1}, pb[2] = {1, 1}, pe[2] = {1, 0};
        if (conv_geom(&p, 2, 2, 4, 9, 1, in, k, s, d, pb, pe)) {
            const int took = !strcmp(sqz_conv_f32_path(isa, &p), "implicit");
            implicit += took;
            strided += took;
            conv_case(&r, isa, &p, 1);
        }
    }
    /* the transposed tiles (weights packed as 'B'): rows of 1..14 positions and wider ones split
     * in chunks of 14, channel tails of 16 and less, a few strided */
    int rows = 0;
    for (int i = 0; i < 16; i++) {
        const int64_t K = 3 + (int64_t)sqz_rng_below(&r, 2) * 2, D = i % 5 == 4 ? 2 : 1;
        const int64_t in[2] = {1 + sqz_rng_below(&r, 16), i % 4 == 3 ? 15 + sqz_rng_below(&r, 20) : 1 + sqz_rng_below(&r, 14)};
        const int64_t k[2] = {K, i % 3 == 2 ? 1 : K}, s[2] = {1 + (i % 6 == 5), 1 + (i % 6 == 5)}, d[2] = {D, D};
        const int64_t pb[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)}, pe[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)};
        const int64_t ci = 16 + sqz_rng_below(&r, 40), co = 16 + sqz_rng_below(&r, 60);
        if (!conv_geom(&p, 2, 1 + sqz_rng_below(&r, i % 2 ? 4 : 2), ci, co, 1, in, k, s, d, pb, pe)) continue;
        rows += sqz_conv_f32_packed_form(isa, &p) == 'B';
        conv_case(&r, isa, &p, sqz_rng_below(&r, 2));
    }
    /* outputs 3..7 wide: two output rows per transposed tile (an odd last row alone), 40
     * channels (a panel of 32 and one of 8), heights 1..4, a strided one */
    for (int64_t ow = 2; ow <= 8; ow++)
        for (int64_t oh = 1; oh <= 4; oh++) {
            const int64_t S = ow == 5 && oh == 3 ? 2 : 1;
            const int64_t in[2] = {oh * S, ow * S}, k[2] = {3, 3}, s[2] = {S, S}, d[2] = {1, 1};
            const int64_t pb[2] = {1, 1}, pe[2] = {1, 1};
            if (!conv_geom(&p, 2, 1 + (oh == 2), 16 * S * S, 40, 1, in, k, s, d, pb, pe)) continue;
            rows += sqz_conv_f32_packed_form(isa, &p) == 'B';
            conv_case(&r, isa, &p, (int)(ow & 1));
        }
    sqz_conv_f32_set_winograd(wino_was);
    if (isa >= SQZ_ISA_AVX512 && sqz_cpu_isa_supported() >= SQZ_ISA_AVX512) CHECK(implicit >= 20 && strided >= 6 && rows >= 25);
    else CHECK(rows == 0 && implicit == 0);
    printf("conv %-10s %s (%d Winograd cases, %d implicit-GEMM, %d strided, %d transposed tiles)\n", sqz_isa_name(isa),
           test_failed_ == before ? "ok" : "FAILED", wino, implicit, strided, rows);
}

/* The expand -> depthwise -> project chain against the three convolutions run in turn: the same
 * bits, with and without expand, stride 1 and 2, 3x3 and 5x5, bands that split the image
 * (wide enough that a band holds a few rows) and odd sizes, clamps and biases, 1 and 2 threads. */
static void test_conv_chain(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 31);
    int ran = 0;
    for (int i = 0; i < 24; i++) {
        const int expand = i % 4 != 3;
        const int64_t N = 1 + (i % 3 == 0), Cin = 3 + sqz_rng_below(&r, 20), Ce = 8 + sqz_rng_below(&r, 90);
        const int64_t Co = 4 + sqz_rng_below(&r, 40), K = i % 5 == 2 ? 5 : 3, S = 1 + (i % 2);
        const int64_t H = 5 + sqz_rng_below(&r, i % 6 == 0 ? 120 : 40), W = 5 + sqz_rng_below(&r, i % 6 == 0 ? 120 : 40);
        const int64_t P = K / 2, one[2] = {1, 1}, zero[2] = {0, 0}, in[2] = {H, W};
        const int64_t k[2] = {K, K}, s[2] = {S, S}, pb[2] = {P, P}, pe[2] = {P, (P + i) % (P + 1)};
        sqz_conv_chain_f32 c = {.expand = expand};
        const int64_t C0 = expand ? Cin : Ce;
        if (expand && !conv_geom(&c.e, 2, N, Cin, Ce, 1, in, one, one, one, zero, zero)) continue;
        if (!conv_geom(&c.d, 2, N, Ce, Ce, Ce, in, k, s, one, pb, pe)) continue;
        if (!conv_geom(&c.p, 2, N, Ce, Co, 1, c.d.out, one, one, one, zero, zero)) continue;
        const int64_t nx = N * C0 * H * W, ne = N * Ce * H * W, nd = N * Ce * c.d.out[0] * c.d.out[1];
        const int64_t ny = N * Co * c.d.out[0] * c.d.out[1];
        float *x = kt_rand(1.0f, &r, nx), *we = kt_rand(1.0f, &r, Ce * Cin), *be = kt_rand(1.0f, &r, Ce);
        float *wd = kt_rand(1.0f, &r, Ce * K * K), *bd = kt_rand(1.0f, &r, Ce);
        float *wp = kt_rand(1.0f, &r, Co * Ce), *bp = kt_rand(1.0f, &r, Co);
        float *e = malloc(sizeof(float) * (size_t)ne), *dd = malloc(sizeof(float) * (size_t)nd);
        float *y0 = malloc(sizeof(float) * (size_t)ny), *y1 = malloc(sizeof(float) * (size_t)ny);
        c.we = we, c.be = i % 7 ? be : NULL, c.wd = wd, c.bd = i % 5 ? bd : NULL, c.wp = wp, c.bp = i % 3 ? bp : NULL;
        c.ae = (sqz_conv_act){.clamp = i % 2, .lo = 0.0f, .hi = 6.0f};
        c.ad = (sqz_conv_act){.clamp = i % 3 != 1, .lo = 0.0f, .hi = 6.0f};
        c.ap = (sqz_conv_act){.clamp = i % 4 == 1, .lo = -1.0f, .hi = 1.0f};
        CHECK(sqz_conv_chain_f32_ok(isa, &c) == (isa >= SQZ_ISA_AVX2));
        if (!sqz_conv_chain_f32_ok(isa, &c)) {
            free(x), free(we), free(be), free(wd), free(bd), free(wp), free(bp), free(e), free(dd), free(y0), free(y1);
            continue;
        }
        ran++;
        for (int th = 1; th <= 2; th++) {
            size_t sb = sqz_conv_f32_scratch_bytes(isa, th, &c.d);
            if (expand && sqz_conv_f32_scratch_bytes(isa, th, &c.e) > sb) sb = sqz_conv_f32_scratch_bytes(isa, th, &c.e);
            if (sqz_conv_f32_scratch_bytes(isa, th, &c.p) > sb) sb = sqz_conv_f32_scratch_bytes(isa, th, &c.p);
            void *s0 = kt_alloc64(sb + 64), *s1 = kt_alloc64(sqz_conv_chain_f32_scratch_bytes(isa, th, &c) + 64);
            const float *din = x;
            if (expand) {
                sqz_conv_f32(isa, th, &c.e, x, we, c.be, c.ae.clamp ? &c.ae : NULL, e, s0);
                din = e;
            }
            sqz_conv_f32(isa, th, &c.d, din, wd, c.bd, c.ad.clamp ? &c.ad : NULL, dd, s0);
            sqz_conv_f32(isa, th, &c.p, dd, wp, c.bp, c.ap.clamp ? &c.ap : NULL, y0, s0);
            for (int64_t j = 0; j < ny; j++) y1[j] = NAN;
            sqz_conv_chain_f32_run(isa, th, &c, x, y1, s1);
            CHECK_MSG(!memcmp(y0, y1, sizeof(float) * (size_t)ny),
                      "chain %s case %d (expand %d N %lld Cin %lld Ce %lld Co %lld K %lld S %lld H %lld W %lld) threads %d",
                      sqz_isa_name(isa), i, expand, (long long)N, (long long)Cin, (long long)Ce, (long long)Co,
                      (long long)K, (long long)S, (long long)H, (long long)W, th);
            free(s0), free(s1);
        }
        free(x), free(we), free(be), free(wd), free(bd), free(wp), free(bp), free(e), free(dd), free(y0), free(y1);
    }
    if (isa >= SQZ_ISA_AVX2 && sqz_cpu_isa_supported() >= isa) CHECK(ran >= 15);
}

/* The Winograd weight gradient (sqz_wino_f32_dw, training's dW of 3x3 stride-1 layers) against
 * the direct sum in double: odd sizes, pads 0..2, channel tails (16..60 in and out), several
 * blocks per job and several images per block; dw accumulates onto what it holds; 1 and 2
 * threads give the same bits. */
static void test_wino_dw(sqz_isa isa) {
    if (isa < SQZ_ISA_AVX2 || sqz_cpu_isa_supported() < isa) return;
    sqz_rng r;
    sqz_rng_seed(&r, 31);
    int ran = 0, par = 0;
    for (int i = 0; i < 20; i++) {
        sqz_conv_params p;
        const int64_t big = i % 5 == 4 ? 36 : 0;
        const int64_t in[2] = {2 + sqz_rng_below(&r, 16) + big, 2 + sqz_rng_below(&r, 20) + big};
        const int64_t k[2] = {3, 3}, s[2] = {1, 1}, d[2] = {1, 1};
        const int64_t pb[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)}, pe[2] = {sqz_rng_below(&r, 3), sqz_rng_below(&r, 3)};
        const int64_t C = 16 + sqz_rng_below(&r, 45), K = 16 + sqz_rng_below(&r, 45);
        const int64_t N = 1 + sqz_rng_below(&r, i % 3 == 0 ? 20 : 6);
        if (!conv_geom(&p, 2, N, C, K, 1, in, k, s, d, pb, pe)) continue;
        sqz_wino_plan w, w2;
        if (!sqz_wino_f32_plan(isa, &p, 1, &w) || !sqz_wino_f32_plan(isa, &p, 2, &w2)) continue;
        ran++;
        par += w2.par_jobs;
        const int64_t OH = p.out[0], OW = p.out[1], H = in[0], W = in[1];
        float *x = kt_rand(1.0f, &r, N * C * H * W), *dy = kt_rand(1.0f, &r, N * K * OH * OW);
        float *dw0 = kt_rand(1.0f, &r, K * C * 9), *dw1 = malloc(sizeof(float) * (size_t)(K * C * 9)),
              *dw2 = malloc(sizeof(float) * (size_t)(K * C * 9)), *ref = malloc(sizeof(float) * (size_t)(K * C * 9));
        for (int64_t kc = 0; kc < K * C; kc++)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) {
                    const int64_t kk = kc / C, c = kc % C;
                    double acc = 0;
                    for (int64_t n = 0; n < N; n++)
                        for (int64_t oy = 0; oy < OH; oy++) {
                            const int64_t iy = oy + a - pb[0];
                            if (iy < 0 || iy >= H) continue;
                            for (int64_t ox = 0; ox < OW; ox++) {
                                const int64_t ix = ox + b - pb[1];
                                if (ix < 0 || ix >= W) continue;
                                acc += (double)dy[((n * K + kk) * OH + oy) * OW + ox] * x[((n * C + c) * H + iy) * W + ix];
                            }
                        }
                    ref[kc * 9 + a * 3 + b] = (float)(acc + dw0[kc * 9 + a * 3 + b]);
                }
        void *sc = kt_alloc64(sqz_wino_f32_dw_scratch_bytes(&w)), *sc2 = kt_alloc64(sqz_wino_f32_dw_scratch_bytes(&w2));
        memcpy(dw1, dw0, sizeof(float) * (size_t)(K * C * 9));
        memcpy(dw2, dw0, sizeof(float) * (size_t)(K * C * 9));
        sqz_wino_f32_dw(&w, 1, x, dy, dw1, sc);
        sqz_wino_f32_dw(&w2, 2, x, dy, dw2, sc2);
        const double err = kt_norm_err(dw1, ref, K * C * 9), tol = 4e-6 * sqrt((double)(N * OH * OW) + 1);
        const double err2 = kt_norm_err(dw2, ref, K * C * 9);
        CHECK_MSG(err <= tol, "wino dw case %d (N %lld C %lld K %lld %lldx%lld pads %lld %lld): err %.3g tol %.3g", i,
                  (long long)N, (long long)C, (long long)K, (long long)H, (long long)W, (long long)pb[0],
                  (long long)pb[1], err, tol);
        /* two threads: the same bits when they split the phases, private parts otherwise */
        CHECK(err2 <= tol);
        if (!w2.par_jobs) CHECK(!memcmp(dw1, dw2, sizeof(float) * (size_t)(K * C * 9)));
        free(x), free(dy), free(dw0), free(dw1), free(dw2), free(ref), free(sc), free(sc2);
    }
    CHECK(ran >= 10 && par >= 2 && par <= ran - 2);
    printf("winograd dW %-10s ok (%d cases, %d with threads on whole jobs)\n", sqz_isa_name(isa), ran, par);
}

static void test_cpu(void) {
    const sqz_isa s = sqz_cpu_isa_supported(), c = sqz_cpu_isa();
    CHECK(c <= s);
    CHECK(!strcmp(sqz_isa_name(SQZ_ISA_REF), "ref"));
    CHECK(!strcmp(sqz_isa_name(SQZ_ISA_AVX512), "avx512"));
    const sqz_cpu_features *f = sqz_cpu_features_get();
    CHECK(f != NULL);
    if (s >= SQZ_ISA_AVX512) CHECK(f->avx512f && f->avx512bw && f->avx512vl && f->avx2 && f->fma);
    printf("cpu: supported %s, chosen %s%s\n", sqz_isa_name(s), sqz_isa_name(c),
           sqz_cpu_isa_clamped() ? " (SQZ_ISA clamped)" : "");
}

int main(void) {
    test_cpu();
    test_wino_dw(SQZ_ISA_AVX2);
    test_wino_dw(SQZ_ISA_AVX512);
    const sqz_isa top = sqz_cpu_isa_supported() >= SQZ_ISA_AVX512 ? SQZ_ISA_AVX512 : sqz_cpu_isa_supported();
    for (int i = SQZ_ISA_REF; i <= (int)top; i++) {
        test_gemm((sqz_isa)i);
        test_conv((sqz_isa)i);
        test_conv_accumulate((sqz_isa)i);
        test_conv_chain((sqz_isa)i);
    }
    TEST_MAIN_END();
}
