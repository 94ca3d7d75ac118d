/* tests/unit/test_kernels_q8.c - the u8 / s8 kernels of kernels/q8.h against their references,
 * byte for byte (memcmp), on every path this machine runs (ref, the portable loops, AVX2,
 * AVX-512): max pooling on every pad / stride combination of small kernels and on random
 * geometries (widths below, at and above the vector widths, dilations, ceil mode, windows
 * entirely in the padding, 1 and 2 threads), QLinearAdd (clamps, ties at .5, NaN from infinite
 * scales), QuantizeLinear (ties, NaN, infinities, saturation), DequantizeLinear and row sums, all
 * with extreme values (0, 255, -128, 127); nothing is written past the outputs. Then the
 * operators (MaxPool, QLinearAdd with and without broadcasting, QuantizeLinear /
 * DequantizeLinear per tensor and per axis, QLinearGlobalAveragePool) against direct loops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/int8.h"
#include "kernels/q8.h"
#include "ops/op.h"
#include "sqz/sqz.h"
#include "test.h"

static sqz_rng rng;
static int rnd(int lo, int hi) { return lo + (int)sqz_rng_below(&rng, (uint32_t)(hi - lo + 1)); }

#define GUARD 64
#define GUARD_BYTE 0xa5

/* n bytes (exact size: ASan sees any read past them) by mode: 0 random, 1 extremes only (0, 1,
 * 127, 128, 254, 255), 2 all the lowest value of the dtype, 3 all the highest, 4 runs of equal bytes. */
static uint8_t *bytes(int64_t n, int mode, int s8) {
    uint8_t *p = malloc((size_t)(n > 0 ? n : 1));
    static const uint8_t ext[6] = {0, 1, 127, 128, 254, 255};
    for (int64_t i = 0; i < n; i++) {
        switch (mode) {
        case 1: p[i] = ext[rnd(0, 5)]; break;
        case 2: p[i] = s8 ? 0x80 : 0; break;
        case 3: p[i] = s8 ? 0x7f : 0xff; break;
        case 4: p[i] = i && rnd(0, 3) ? p[i - 1] : (uint8_t)rnd(0, 255); break;
        default: p[i] = (uint8_t)rnd(0, 255); break;
        }
    }
    return p;
}

/* output buffers with a guard after them */
static void *guarded(size_t n) {
    uint8_t *p = malloc(n + GUARD);
    memset(p, GUARD_BYTE, n + GUARD);
    return p;
}
static int guard_ok(const void *p, size_t n) {
    for (size_t i = 0; i < GUARD; i++)
        if (((const uint8_t *)p)[n + i] != GUARD_BYTE) return 0;
    return 1;
}

static sqz_q8path paths[SQZ_Q8P_COUNT];
static int n_paths;

/* ---- max pooling ---- */

/* Sets p for nc planes of in (nsp dims); 0 when some output dim would be empty. */
static int geom(sqz_pool_params *p, int nsp, int64_t nc, const int64_t *in, const int64_t *k, const int64_t *s,
                const int64_t *d, const int64_t *pb, const int64_t *pe, int ceil_mode) {
    memset(p, 0, sizeof *p);
    p->nsp = nsp;
    p->nc = nc;
    for (int i = 0; i < nsp; i++) {
        const int64_t span = in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1);
        if (span < 0) return 0;
        p->in[i] = in[i];
        p->kernel[i] = k[i];
        p->stride[i] = s[i];
        p->dilation[i] = d[i];
        p->pad_begin[i] = pb[i];
        p->pad_end[i] = pe[i];
        p->out[i] = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
    }
    return 1;
}

static int64_t n_pool_cases, n_pool_fast;

/* every path against the reference for p; returns 1 when all equal */
static int pool_case(const sqz_pool_params *p, int s8, int mode, int threads, const char *what) {
    int64_t insp = 1, outsp = 1;
    for (int d = 0; d < p->nsp; d++) {
        insp *= p->in[d];
        outsp *= p->out[d];
    }
    const size_t ny = (size_t)(p->nc * outsp);
    uint8_t *x = bytes(p->nc * insp, mode, s8), *yr = malloc(ny ? ny : 1), *y = guarded(ny);
    if (s8) sqz_maxpool_i8_ref(p, (const int8_t *)x, (int8_t *)yr, NULL, 0);
    else sqz_maxpool_u8_ref(p, x, yr, NULL, 0);
    int ok = 1;
    n_pool_cases++;
    n_pool_fast += sqz_maxpool_q8_fast(p);
    for (int i = 0; i < n_paths && ok; i++) {
        memset(y, GUARD_BYTE, ny + GUARD);
        sqz_maxpool_q8(paths[i], threads, p, s8, x, y);
        ok = !memcmp(y, yr, ny) && guard_ok(y, ny);
        CHECK_MSG(ok,
                  "maxpool %s %s %s: nsp %d nc %lld in %lldx%lld k %lldx%lld s %lldx%lld d %lldx%lld pads %lld,%lld,%lld,%lld "
                  "out %lldx%lld mode %d threads %d",
                  what, sqz_q8path_name(paths[i]), s8 ? "s8" : "u8", p->nsp, (long long)p->nc, (long long)p->in[0],
                  (long long)p->in[p->nsp - 1], (long long)p->kernel[0], (long long)p->kernel[p->nsp - 1],
                  (long long)p->stride[0], (long long)p->stride[p->nsp - 1], (long long)p->dilation[0],
                  (long long)p->dilation[p->nsp - 1], (long long)p->pad_begin[0], (long long)p->pad_begin[p->nsp - 1],
                  (long long)p->pad_end[0], (long long)p->pad_end[p->nsp - 1], (long long)p->out[0],
                  (long long)p->out[p->nsp - 1], mode, threads);
    }
    free(x);
    free(yr);
    free(y);
    return ok;
}

static const int64_t WIDTHS[] = {1, 2, 3, 5, 8, 15, 16, 17, 28, 31, 32, 33, 63, 64, 65, 112, 127, 128, 129, 200};
#define N_WIDTHS ((int)(sizeof WIDTHS / sizeof WIDTHS[0]))

/* every pad combination (begin and end, both dims, 0 .. k-1) of square kernels 1..3 and
 * strides 1..3 (and mixed 1x2, 2x1); kernels 4 and 5 on random pads */
static void test_pool_sweep(void) {
    int fails = 0, wi = 0;
    const int64_t strides[][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {2, 1}, {4, 4}};
    for (int64_t k = 1; k <= 5; k++)
        for (int si = 0; si < 6; si++)
            for (int pc = 0; pc < (k <= 3 ? (int)(k * k * k * k) : 40); pc++) {
                int64_t pb[2], pe[2];
                if (k <= 3) {
                    pb[0] = pc % k;
                    pb[1] = pc / k % k;
                    pe[0] = pc / (k * k) % k;
                    pe[1] = pc / (k * k * k) % k;
                } else {
                    pb[0] = rnd(0, (int)k - 1);
                    pb[1] = rnd(0, (int)k - 1);
                    pe[0] = rnd(0, (int)k - 1);
                    pe[1] = rnd(0, (int)k - 1);
                }
                const int64_t kk[2] = {k, k}, d[2] = {1, 1};
                int64_t in[2] = {rnd((int)k, (int)k + 6), WIDTHS[wi++ % N_WIDTHS]};
                if (in[1] < k) in[1] = k;
                sqz_pool_params p;
                const int s8 = pc & 1;
                if (geom(&p, 2, rnd(1, 3), in, kk, strides[si], d, pb, pe, (pc >> 1) & 1))
                    fails += !pool_case(&p, s8, pc % 5, 1, "sweep");
            }
    printf("maxpool sweep: %s\n", fails ? "FAILED" : "ok");
}

/* random geometries: 1-D and 2-D, rectangular kernels, dilations, pads up to past the kernel
 * (windows entirely in the padding), ceil mode, 1 and 2 threads */
static void test_pool_random(void) {
    int fails = 0;
    for (int it = 0; it < 1500; it++) {
        const int nsp = rnd(0, 3) ? 2 : 1;
        int64_t in[2], k[2], s[2], d[2], pb[2], pe[2];
        for (int i = 0; i < nsp; i++) {
            const int last = i == nsp - 1;
            k[i] = rnd(1, rnd(0, 5) ? 4 : 9);
            s[i] = rnd(1, rnd(0, 3) ? 2 : 5);
            d[i] = rnd(0, 3) ? 1 : rnd(2, 3);
            const int64_t e = (k[i] - 1) * d[i] + 1;
            pb[i] = rnd(0, rnd(0, 4) ? (int)(k[i] - 1) : (int)e + 1);
            pe[i] = rnd(0, rnd(0, 4) ? (int)(k[i] - 1) : (int)e + 1);
            in[i] = last ? WIDTHS[rnd(0, N_WIDTHS - 1)] + (rnd(0, 3) ? 0 : rnd(0, 300)) : rnd(1, 24);
        }
        sqz_pool_params p;
        if (!geom(&p, nsp, rnd(1, 6), in, k, s, d, pb, pe, rnd(0, 1))) continue;
        fails += !pool_case(&p, rnd(0, 1), rnd(0, 4), rnd(1, 2), "random");
    }
    printf("maxpool random: %s\n", fails ? "FAILED" : "ok");
}

static void test_pool_models(void) {
    sqz_pool_params p;
    /* ResNet-18: 3x3 / 2 pad 1 on 64 x 112 x 112; LeNet-5: 2x2 / 2 on 28 x 28 and 10 x 10 */
    const int64_t r_in[2] = {112, 112}, k3[2] = {3, 3}, s2[2] = {2, 2}, d1[2] = {1, 1}, p1[2] = {1, 1};
    const int64_t l_in[2] = {28, 28}, l_in2[2] = {10, 10}, k2[2] = {2, 2}, p0[2] = {0, 0};
    CHECK(geom(&p, 2, 64, r_in, k3, s2, d1, p1, p1, 0) && p.out[0] == 56 && p.out[1] == 56);
    CHECK(sqz_maxpool_q8_fast(&p));
    for (int s8 = 0; s8 < 2; s8++)
        for (int th = 1; th <= 2; th++) pool_case(&p, s8, 0, th, "resnet18");
    CHECK(geom(&p, 2, 3 * 6, l_in, k2, s2, d1, p0, p0, 0) && sqz_maxpool_q8_fast(&p));
    pool_case(&p, 0, 0, 2, "lenet5 pool 1");
    CHECK(geom(&p, 2, 3 * 16, l_in2, k2, s2, d1, p0, p0, 0) && sqz_maxpool_q8_fast(&p));
    pool_case(&p, 1, 4, 1, "lenet5 pool 2");
    /* geometries the fast path leaves to the reference: 3-D, a row wider than the buffer, a
     * kernel wider than SQZ_POOL_Q8_KW_MAX */
    const int64_t in3[3] = {3, 4, 5}, k13[3] = {2, 2, 2}, s13[3] = {1, 2, 1}, d13[3] = {1, 1, 1}, p13[3] = {1, 0, 1};
    CHECK(geom(&p, 3, 2, in3, k13, s13, d13, p13, p13, 0) && !sqz_maxpool_q8_fast(&p));
    pool_case(&p, 1, 0, 1, "3-D");
    const int64_t w_in[1] = {20000}, w_k[1] = {3}, w_s[1] = {1}, w_d[1] = {1}, w_p[1] = {1};
    CHECK(geom(&p, 1, 1, w_in, w_k, w_s, w_d, w_p, w_p, 0) && !sqz_maxpool_q8_fast(&p));
    pool_case(&p, 0, 0, 1, "wide row");
    const int64_t kw_in[1] = {400}, kw_k[1] = {300};
    CHECK(geom(&p, 1, 2, kw_in, kw_k, w_s, w_d, w_p, w_p, 0) && !sqz_maxpool_q8_fast(&p));
    pool_case(&p, 1, 0, 1, "wide kernel");
    /* a window wholly in the padding gives the lowest value (0 / -128) */
    const int64_t e_in[1] = {4}, e_k[1] = {2}, e_s[1] = {3}, e_pb[1] = {3}, e_pe[1] = {0};
    CHECK(geom(&p, 1, 1, e_in, e_k, e_s, w_d, e_pb, e_pe, 0) && p.out[0] == 2);
    const int8_t xs[4] = {-100, -50, 7, 3};
    int8_t ys[2] = {0, 0};
    for (int i = 0; i < n_paths; i++) {
        sqz_maxpool_q8(paths[i], 1, &p, 1, xs, ys);
        CHECK_MSG(ys[0] == -128 && ys[1] == -50, "%s: empty window %d %d", sqz_q8path_name(paths[i]), ys[0], ys[1]);
    }
}

/* ---- QLinearAdd ---- */

static const int64_t LENS[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 4099};
#define N_LENS ((int)(sizeof LENS / sizeof LENS[0]))

static int qadd_case_with(const sqz_qadd_params *qp, int s8, int64_t n, const uint8_t *a, const uint8_t *b,
                          const char *what) {
    uint8_t *yr = malloc((size_t)(n > 0 ? n : 1)), *y = guarded((size_t)n);
    sqz_qadd_q8_ref(qp, s8, n, a, 1, b, 1, yr);
    int ok = 1;
    for (int i = 0; i < n_paths && ok; i++) {
        memset(y, GUARD_BYTE, (size_t)n + GUARD);
        sqz_qadd_q8(paths[i], qp, s8, n, a, b, y);
        ok = !memcmp(y, yr, (size_t)n) && guard_ok(y, (size_t)n);
        CHECK_MSG(ok, "qadd %s %s %s n %lld sa %g sb %g za %d zb %d zc %d [%d, %d]", what, sqz_q8path_name(paths[i]),
                  s8 ? "s8" : "u8", (long long)n, qp->sa, qp->sb, qp->za, qp->zb, qp->zc, qp->lo, qp->hi);
    }
    free(yr);
    free(y);
    return ok;
}

static int qadd_case(const sqz_qadd_params *qp, int s8, int64_t n, int mode, const char *what) {
    uint8_t *a = bytes(n, mode, s8), *b = bytes(n, mode == 2 || mode == 3 ? 5 - mode : mode, s8);
    const int ok = qadd_case_with(qp, s8, n, a, b, what);
    free(a);
    free(b);
    return ok;
}

static void test_qadd(void) {
    int fails = 0;
    for (int it = 0; it < 600; it++) {
        const int s8 = it & 1;
        const int32_t dlo = s8 ? -128 : 0, dhi = s8 ? 127 : 255;
        sqz_qadd_params qp = {.za = rnd(dlo, dhi), .zb = rnd(dlo, dhi), .zc = rnd(dlo, dhi), .lo = dlo, .hi = dhi};
        const double cs = 0.001 + sqz_rng_uniform(&rng) * 0.2;
        qp.sa = (float)((0.001 + sqz_rng_uniform(&rng) * 0.2) / cs);
        qp.sb = (float)((0.001 + sqz_rng_uniform(&rng) * 0.2) / cs);
        switch (it % 7) {
        case 1: qp.lo = qp.zc; break; /* a fused Relu */
        case 2:
            qp.lo = rnd(dlo, dhi);
            qp.hi = rnd(qp.lo, dhi);
            break;
        case 3: /* ties: halves of integers */
            qp.sa = 0.5f;
            qp.sb = rnd(0, 1) ? 0.5f : 1.5f;
            break;
        case 4: qp.za = qp.zb = qp.zc = dlo + (it / 7 % 2) * (dhi - dlo); break;
        case 5: /* NaN and infinities (0 * inf where x == z): the clamp's NaN rule */
            qp.sa = INFINITY;
            qp.sb = -INFINITY;
            break;
        default: break;
        }
        fails += !qadd_case(&qp, s8, LENS[it % N_LENS], rnd(0, 4), "random");
    }
    /* ties round half to even: (x + y) / 2 for x + y odd */
    const sqz_qadd_params half = {.sa = 0.5f, .sb = 0.5f, .za = 0, .zb = 0, .zc = 0, .lo = 0, .hi = 255};
    const uint8_t ta[6] = {1, 3, 5, 0, 255, 254}, tb[6] = {0, 0, 0, 7, 254, 255};
    const uint8_t want[6] = {0, 2, 2, 4, 254, 254};
    for (int i = 0; i < n_paths; i++) {
        uint8_t ty[6];
        sqz_qadd_q8(paths[i], &half, 0, 6, ta, tb, ty);
        CHECK_MSG(!memcmp(ty, want, 6), "%s: ties %d %d %d %d %d %d", sqz_q8path_name(paths[i]), ty[0], ty[1], ty[2],
                  ty[3], ty[4], ty[5]);
    }
    printf("qlinearadd: %s\n", fails ? "FAILED" : "ok");
}

/* Every (a, b) pair of bytes for parameter sets where an FMA (either order) would round some
 * pair differently from the separate multiply and add: a path whose compiler contracted the
 * products would fail here. Random sets have such pairs about one time in four. */
static int32_t qadd_one(const sqz_qadd_params *p, int32_t x, int32_t v, int fused) {
    volatile float pa = p->sa * (float)(x - p->za), pb = p->sb * (float)(v - p->zb);
    float f = fused == 0 ? pa + pb : fused == 1 ? fmaf(p->sa, (float)(x - p->za), pb) : fmaf(p->sb, (float)(v - p->zb), pa);
    f = fminf(fmaxf(f, (float)(p->lo - p->zc)), (float)(p->hi - p->zc));
    return (int32_t)nearbyintf(f) + p->zc;
}

static void test_qadd_all_pairs(void) {
    int sensitive = 0, fails = 0;
    uint8_t *a = malloc(65536), *b = malloc(65536);
    for (int i = 0; i < 65536; i++) {
        a[i] = (uint8_t)(i >> 8);
        b[i] = (uint8_t)i;
    }
    for (int it = 0; it < 300 && sensitive < 4; it++) {
        const int s8 = it & 1;
        const int32_t dlo = s8 ? -128 : 0, dhi = s8 ? 127 : 255;
        sqz_qadd_params qp = {.za = rnd(dlo, dhi), .zb = rnd(dlo, dhi), .zc = (dlo + dhi) / 2, .lo = dlo, .hi = dhi};
        const double cs = 0.001 + sqz_rng_uniform(&rng) * 0.2;
        qp.sa = (float)((0.001 + sqz_rng_uniform(&rng) * 0.2) / cs);
        qp.sb = (float)((0.001 + sqz_rng_uniform(&rng) * 0.2) / cs);
        int differs = 0;
        for (int i = 0; i < 65536 && !differs; i++) {
            const int32_t x = s8 ? (int8_t)a[i] : a[i], v = s8 ? (int8_t)b[i] : b[i];
            const int32_t q = qadd_one(&qp, x, v, 0);
            differs = q != qadd_one(&qp, x, v, 1) || q != qadd_one(&qp, x, v, 2);
        }
        if (!differs && it >= 4) continue;
        sensitive += differs;
        fails += !qadd_case_with(&qp, s8, 65536, a, b, "all pairs");
    }
    free(a);
    free(b);
    CHECK_MSG(sensitive >= 4, "only %d parameter sets where an FMA changes a result", sensitive);
    printf("qlinearadd all pairs: %s (%d sets an FMA would change)\n", fails ? "FAILED" : "ok", sensitive);
}

/* ---- QuantizeLinear / DequantizeLinear / row sums ---- */

static float special(float scale) {
    switch (rnd(0, 14)) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 0.0f;
    case 4: return -0.0f;
    case 5: return 1e30f;
    case 6: return -1e30f;
    case 7: return 1e-40f; /* subnormal */
    case 8: return (float)(rnd(-300, 300)) * scale + 0.5f * scale; /* ties when scale is a power of 2 */
    case 9: return (rnd(0, 1) ? 255.5f : -128.5f) * scale;
    case 10: return (rnd(0, 1) ? 127.5f : 254.5f) * scale;
    default: return (float)(sqz_rng_uniform(&rng) * 700.0 - 350.0) * scale;
    }
}

static void test_quant(void) {
    int fails = 0;
    const float scales[] = {1.0f, 0.5f, 2.0f, 0.25f, 0.1f, 3.7e-3f, 0.0078125f, 1e-20f, 1e30f, 0.3f};
    for (int it = 0; it < 600; it++) {
        const int s8 = it & 1;
        const int64_t n = LENS[it % N_LENS];
        const float scale = scales[it / 2 % 10];
        const int32_t dlo = s8 ? -128 : 0, dhi = s8 ? 127 : 255;
        const int32_t zp = it % 3 == 0 ? dlo : it % 3 == 1 ? dhi : rnd(dlo, dhi);
        float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
        for (int64_t i = 0; i < n; i++) x[i] = rnd(0, 3) ? (float)(sqz_rng_uniform(&rng) * 600.0 - 300.0) * scale : special(scale);
        uint8_t *yr = malloc((size_t)(n > 0 ? n : 1)), *y = guarded((size_t)n);
        sqz_quantize_q8_ref(s8, n, x, scale, zp, yr);
        for (int i = 0; i < n_paths; i++) {
            memset(y, GUARD_BYTE, (size_t)n + GUARD);
            sqz_quantize_q8(paths[i], s8, n, x, scale, zp, y);
            const int ok = !memcmp(y, yr, (size_t)n) && guard_ok(y, (size_t)n);
            fails += !ok;
            CHECK_MSG(ok, "quantize %s %s n %lld scale %g zp %d", sqz_q8path_name(paths[i]), s8 ? "s8" : "u8",
                      (long long)n, scale, zp);
        }
        /* dequantize the bytes back (and any bytes: extremes) */
        uint8_t *q = bytes(n, rnd(0, 1), s8);
        float *fr = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)), *f = guarded(sizeof(float) * (size_t)n);
        const float ds = it % 11 == 0 ? INFINITY : scale;
        sqz_dequantize_q8_ref(s8, n, q, ds, zp, fr);
        for (int i = 0; i < n_paths; i++) {
            memset(f, GUARD_BYTE, sizeof(float) * (size_t)n + GUARD);
            sqz_dequantize_q8(paths[i], s8, n, q, ds, zp, f);
            const int ok = !memcmp(f, fr, sizeof(float) * (size_t)n) && guard_ok(f, sizeof(float) * (size_t)n);
            fails += !ok;
            CHECK_MSG(ok, "dequantize %s %s n %lld scale %g zp %d", sqz_q8path_name(paths[i]), s8 ? "s8" : "u8",
                      (long long)n, ds, zp);
        }
        free(x);
        free(yr);
        free(y);
        free(q);
        free(fr);
        free(f);
    }
    /* round half to even and saturation, by hand */
    const float tx[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.0f, -300.0f, NAN};
    const int8_t ws[8] = {0, 2, 2, 0, -2, 127, -128, 0};
    const uint8_t wu[8] = {10, 12, 12, 10, 8, 255, 0, 10};
    for (int i = 0; i < n_paths; i++) {
        int8_t ys[8];
        uint8_t yu[8];
        sqz_quantize_q8(paths[i], 1, 8, tx, 1.0f, 0, ys);
        sqz_quantize_q8(paths[i], 0, 8, tx, 1.0f, 10, yu);
        CHECK_MSG(!memcmp(ys, ws, 8) && !memcmp(yu, wu, 8), "%s: quantize by hand", sqz_q8path_name(paths[i]));
    }
    printf("quantize / dequantize: %s\n", fails ? "FAILED" : "ok");
}

static void test_rowsum(void) {
    int fails = 0;
    for (int it = 0; it < 200; it++) {
        const int s8 = it & 1;
        const int64_t rows = rnd(1, 5), n = it == 0 ? 100000 : LENS[it % N_LENS];
        uint8_t *x = bytes(rows * n, it == 0 ? 3 : rnd(0, 4), s8);
        int64_t sr[5], s[5];
        sqz_rowsum_q8_ref(s8, rows, n, x, sr);
        for (int i = 0; i < n_paths; i++) {
            sqz_rowsum_q8(paths[i], s8, rows, n, x, s);
            const int ok = !memcmp(s, sr, sizeof(int64_t) * (size_t)rows);
            fails += !ok;
            CHECK_MSG(ok, "rowsum %s %s rows %lld n %lld", sqz_q8path_name(paths[i]), s8 ? "s8" : "u8", (long long)rows,
                      (long long)n);
        }
        free(x);
    }
    printf("row sums: %s\n", fails ? "FAILED" : "ok");
}

/* ---- the operators ---- */

typedef struct tq {
    sqz_graph *g;
    sqz_node *node;
    sqz_tensor in[9], out[2];
    sqz_tensor *inp[9], *outp[2];
    int n_in;
    sqz_err err;
} tq;

static void tq_begin(tq *t, const char *domain, const char *op) {
    memset(t, 0, sizeof *t);
    t->g = sqz_graph_new();
    int idx = sqz_graph_add_node(t->g, op, "n0", 0, NULL, 0, NULL, &t->err);
    t->node = t->g->nodes[idx];
    if (domain) t->node->domain = sqz_arena_strdup(t->g->arena, domain);
}
static sqz_tensor *tq_in(tq *t, int i, sqz_dtype dt, int ndim, const int64_t *dims) {
    sqz_tensor_init_owned(&t->in[i], "t", dt, ndim, dims, &t->err);
    t->in[i].flags |= SQZ_TF_INIT;
    t->inp[i] = &t->in[i];
    if (i + 1 > t->n_in) t->n_in = i + 1;
    return &t->in[i];
}
static void tq_scale(tq *t, int i, int n, const float *v) {
    const int64_t d[1] = {n};
    memcpy(tq_in(t, i, SQZ_DT_F32, n > 1, d)->data, v, sizeof(float) * (size_t)n);
}
static void tq_zp(tq *t, int i, sqz_dtype dt, int n, const int32_t *v) {
    const int64_t d[1] = {n};
    sqz_tensor *z = tq_in(t, i, dt, n > 1, d);
    for (int k = 0; k < n; k++) sqz_tensor_set_f64(z, k, v[k]);
}
static void tq_ints(tq *t, const char *name, int n, const int64_t *v) {
    sqz_attr *a = sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INTS);
    a->n = n;
    a->ints = sqz_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)n, 8);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}
static void tq_int(tq *t, const char *name, int64_t v) { sqz_node_add_attr(t->g, t->node, name, SQZ_ATTR_INT)->i = v; }
static void tq_fill(sqz_tensor *x) {
    const int64_t n = sqz_tensor_numel(x);
    static const uint8_t ext[4] = {0, 127, 128, 255};
    for (int64_t i = 0; i < n; i++) ((uint8_t *)x->data)[i] = rnd(0, 3) ? (uint8_t)rnd(0, 255) : ext[rnd(0, 3)];
}
static sqz_status tq_run(tq *t, int threads) {
    const sqz_op *op = sqz_op_find(t->node->domain, t->node->op_type);
    if (!op) return sqz_err_set(&t->err, SQZ_ERR_UNSUPPORTED, "no op");
    t->outp[0] = &t->out[0];
    void *state = NULL;
    sqz_opctx c = {.node = t->node, .in = t->inp, .n_in = t->n_in, .out = t->outp, .n_out = 1, .opset = 13,
                   .threads = threads, .err = &t->err, .state = &state};
    sqz_status st = op->infer(&c);
    if (st) return st;
    sqz_tensor *y = &t->out[0], tmp;
    if ((st = sqz_tensor_init_owned(&tmp, "y", y->dtype, y->ndim, y->dims, &t->err))) return st;
    *y = tmp;
    st = op->forward(&c);
    if (state && op->release_state) op->release_state(state);
    return st;
}
static void tq_end(tq *t) {
    for (int i = 0; i < 9; i++)
        if (t->in[i].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->in[i]);
    for (int i = 0; i < 2; i++)
        if (t->out[i].flags & SQZ_TF_OWNED) sqz_tensor_release(&t->out[i]);
    sqz_graph_free(t->g);
}

/* flat index into a (broadcast) input of rank nd (right-aligned) for output index i */
static int64_t bidx(const sqz_tensor *x, int nd, const int64_t *od, int64_t i) {
    int64_t idx = 0, mul = 1;
    for (int d = nd - 1; d >= 0; d--) {
        const int64_t c = i % od[d];
        i /= od[d];
        const int xd = d - (nd - x->ndim);
        if (xd >= 0) {
            if (x->dims[xd] > 1) idx += c * mul;
            mul *= x->dims[xd];
        }
    }
    return idx;
}

static void test_op_qadd(void) {
    const int64_t shapes[][2][4] = {
        {{2, 3, 17, 19}, {2, 3, 17, 19}}, /* same shape: the fast path */
        {{1, 64, 9, 9}, {1, 64, 9, 9}},   {{2, 3, 4, 5}, {0, 0, 0, 5}}, {{2, 3, 4, 5}, {0, 3, 1, 1}},
        {{0, 0, 0, 1}, {0, 0, 2, 3}},     {{0, 2, 1, 5}, {0, 1, 4, 1}}, {{0, 0, 1, 70}, {0, 0, 3, 70}},
    };
    int fails = 0;
    for (int sc = 0; sc < 7; sc++)
        for (int s8 = 0; s8 < 2; s8++)
            for (int relu = 0; relu < 2; relu++) {
                tq t;
                tq_begin(&t, "com.microsoft", "QLinearAdd");
                const sqz_dtype dt = s8 ? SQZ_DT_I8 : SQZ_DT_U8;
                int64_t ad[4], bd[4];
                int an = 0, bn = 0;
                for (int d = 0; d < 4; d++) {
                    if (shapes[sc][0][d]) ad[an++] = shapes[sc][0][d];
                    if (shapes[sc][1][d]) bd[bn++] = shapes[sc][1][d];
                }
                sqz_tensor *A = tq_in(&t, 0, dt, an, ad), *B = tq_in(&t, 3, dt, bn, bd);
                tq_fill(A);
                tq_fill(B);
                const float as = 0.02f + 0.01f * sc, bs = 0.03f, cs = 0.045f;
                const int32_t za = s8 ? -5 : 120, zb = s8 ? 17 : 128, zc = s8 ? -20 : 100;
                tq_scale(&t, 1, 1, &as);
                tq_zp(&t, 2, dt, 1, &za);
                tq_scale(&t, 4, 1, &bs);
                tq_zp(&t, 5, dt, 1, &zb);
                tq_scale(&t, 6, 1, &cs);
                tq_zp(&t, 7, dt, 1, &zc);
                if (relu) tq_int(&t, "sqz_y_min", zc);
                CHECK_OK(tq_run(&t, 1), &t.err);
                const sqz_tensor *Y = &t.out[0];
                const int64_t n = sqz_tensor_numel(Y);
                const sqz_qadd_params qp = {.sa = (float)((double)as / cs), .sb = (float)((double)bs / cs), .za = za,
                                            .zb = zb, .zc = zc, .lo = relu ? zc : (s8 ? -128 : 0), .hi = s8 ? 127 : 255};
                int ok = 1;
                for (int64_t i = 0; i < n && ok; i++) {
                    uint8_t want;
                    sqz_qadd_q8_ref(&qp, s8, 1, (const uint8_t *)A->data + bidx(A, Y->ndim, Y->dims, i), 1,
                                    (const uint8_t *)B->data + bidx(B, Y->ndim, Y->dims, i), 1, &want);
                    ok = ((const uint8_t *)Y->data)[i] == want;
                }
                fails += !ok;
                CHECK_MSG(ok, "QLinearAdd op case %d %s relu %d", sc, s8 ? "s8" : "u8", relu);
                tq_end(&t);
            }
    printf("QLinearAdd op: %s\n", fails ? "FAILED" : "ok");
}

static void test_op_quant(void) {
    /* per tensor and per axis 1 of (2, 3, 37) */
    const int64_t xd[3] = {2, 3, 37};
    for (int per_axis = 0; per_axis < 2; per_axis++)
        for (int s8 = 0; s8 < 2; s8++) {
            const sqz_dtype dt = s8 ? SQZ_DT_I8 : SQZ_DT_U8;
            const float sc[3] = {0.5f, 0.1f, 2.0f};
            const int32_t zs[3] = {s8 ? -128 : 0, s8 ? 3 : 128, s8 ? 127 : 255};
            const int k = per_axis ? 3 : 1;
            tq t;
            tq_begin(&t, NULL, "QuantizeLinear");
            sqz_tensor *X = tq_in(&t, 0, SQZ_DT_F32, 3, xd);
            for (int64_t i = 0; i < 2 * 3 * 37; i++) ((float *)X->data)[i] = rnd(0, 4) ? (float)rnd(-600, 600) * 0.25f : special(0.5f);
            tq_scale(&t, 1, k, sc);
            tq_zp(&t, 2, dt, k, zs);
            CHECK_OK(tq_run(&t, 1), &t.err);
            int ok = t.out[0].dtype == dt;
            for (int64_t i = 0; i < 2 * 3 * 37 && ok; i++) {
                const int c = per_axis ? (int)(i / 37 % 3) : 0;
                const int32_t w = sqz_quantize_f32(((float *)X->data)[i], sc[c], zs[c], s8 ? -128 : 0, s8 ? 127 : 255);
                ok = (s8 ? ((int8_t *)t.out[0].data)[i] : ((uint8_t *)t.out[0].data)[i]) == w;
            }
            CHECK_MSG(ok, "QuantizeLinear op per_axis %d s8 %d", per_axis, s8);
            tq_end(&t);
            tq_begin(&t, NULL, "DequantizeLinear");
            X = tq_in(&t, 0, dt, 3, xd);
            tq_fill(X);
            tq_scale(&t, 1, k, sc);
            tq_zp(&t, 2, dt, k, zs);
            CHECK_OK(tq_run(&t, 1), &t.err);
            ok = t.out[0].dtype == SQZ_DT_F32;
            for (int64_t i = 0; i < 2 * 3 * 37 && ok; i++) {
                const int c = per_axis ? (int)(i / 37 % 3) : 0;
                const int32_t v = s8 ? ((int8_t *)X->data)[i] : ((uint8_t *)X->data)[i];
                const float w = (float)(v - zs[c]) * sc[c];
                ok = !memcmp(&w, (float *)t.out[0].data + i, sizeof w);
            }
            CHECK_MSG(ok, "DequantizeLinear op per_axis %d s8 %d", per_axis, s8);
            tq_end(&t);
        }
}

static void test_op_pool(void) {
    /* MaxPool u8 / s8 through the operator (threads 2) against the reference; with the Indices
     * output the operator runs the reference (checked against the values) */
    const int64_t xd[4] = {2, 5, 23, 70}, k[2] = {3, 3}, s[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    for (int s8 = 0; s8 < 2; s8++) {
        tq t;
        tq_begin(&t, NULL, "MaxPool");
        sqz_tensor *X = tq_in(&t, 0, s8 ? SQZ_DT_I8 : SQZ_DT_U8, 4, xd);
        tq_fill(X);
        tq_ints(&t, "kernel_shape", 2, k);
        tq_ints(&t, "strides", 2, s);
        tq_ints(&t, "pads", 4, pads);
        CHECK_OK(tq_run(&t, 2), &t.err);
        sqz_pool_params p = {.nsp = 2, .nc = 10, .in = {23, 70}, .out = {12, 35}, .kernel = {3, 3}, .stride = {2, 2},
                             .dilation = {1, 1}, .pad_begin = {1, 1}, .pad_end = {1, 1}};
        CHECK(t.out[0].dims[2] == 12 && t.out[0].dims[3] == 35);
        uint8_t *yr = malloc(10 * 12 * 35);
        if (s8) sqz_maxpool_i8_ref(&p, X->data, (int8_t *)yr, NULL, 0);
        else sqz_maxpool_u8_ref(&p, X->data, yr, NULL, 0);
        CHECK_MSG(!memcmp(yr, t.out[0].data, 10 * 12 * 35), "MaxPool op %s", s8 ? "s8" : "u8");
        free(yr);
        tq_end(&t);
    }
    /* QLinearGlobalAveragePool: more channels than one chunk of row sums, NCHW and NHWC */
    for (int cl = 0; cl < 2; cl++)
        for (int s8 = 0; s8 < 2; s8++) {
            const int64_t N = 2, C = 300, H = 7, W = 7;
            const int64_t gd[4] = {N, cl ? H : C, cl ? W : H, cl ? C : W};
            const sqz_dtype dt = s8 ? SQZ_DT_I8 : SQZ_DT_U8;
            tq t;
            tq_begin(&t, "com.microsoft", "QLinearGlobalAveragePool");
            sqz_tensor *X = tq_in(&t, 0, dt, 4, gd);
            tq_fill(X);
            const float xs = 0.05f, ys = 0.02f;
            const int32_t zx = s8 ? -7 : 131, zy = s8 ? 4 : 9;
            tq_scale(&t, 1, 1, &xs);
            tq_zp(&t, 2, dt, 1, &zx);
            tq_scale(&t, 3, 1, &ys);
            tq_zp(&t, 4, dt, 1, &zy);
            if (cl) tq_int(&t, "channels_last", 1);
            CHECK_OK(tq_run(&t, 1), &t.err);
            int ok = 1;
            const float mult = (float)((double)xs / ys);
            for (int64_t n = 0; n < N && ok; n++)
                for (int64_t c = 0; c < C && ok; c++) {
                    int64_t sum = 0;
                    for (int64_t i = 0; i < H * W; i++) {
                        const int64_t idx = cl ? (n * H * W + i) * C + c : (n * C + c) * H * W + i;
                        sum += (s8 ? ((int8_t *)X->data)[idx] : ((uint8_t *)X->data)[idx]) - zx;
                    }
                    float f = mult * (float)((double)sum / (double)(H * W));
                    f = fminf(fmaxf(f, (float)((s8 ? -128 : 0) - zy)), (float)((s8 ? 127 : 255) - zy));
                    const int32_t q = (int32_t)nearbyintf(f) + zy;
                    ok = (s8 ? ((int8_t *)t.out[0].data)[n * C + c] : ((uint8_t *)t.out[0].data)[n * C + c]) == q;
                }
            CHECK_MSG(ok, "QLinearGlobalAveragePool op cl %d s8 %d", cl, s8);
            tq_end(&t);
        }
}

int main(void) {
    sqz_rng_seed(&rng, 8008);
    for (int i = 0; i < SQZ_Q8P_COUNT; i++)
        if (sqz_q8path_supported((sqz_q8path)i)) paths[n_paths++] = (sqz_q8path)i;
    printf("paths:");
    for (int i = 0; i < n_paths; i++) printf(" %s", sqz_q8path_name(paths[i]));
    printf(" (this build picks %s)\n", sqz_q8path_name(sqz_q8path_for(sqz_cpu_isa())));
    CHECK(n_paths >= 2);
    test_pool_models();
    test_pool_sweep();
    test_pool_random();
    /* most cases must take the fast path (a change to the plan cannot skip them silently) */
    printf("maxpool: %lld cases, %lld on the fast path\n", (long long)n_pool_cases, (long long)n_pool_fast);
    CHECK_MSG(n_pool_fast * 10 >= n_pool_cases * 9, "%lld of %lld pooling cases fast", (long long)n_pool_fast,
              (long long)n_pool_cases);
    test_qadd();
    test_qadd_all_pairs();
    test_quant();
    test_rowsum();
    test_op_qadd();
    test_op_quant();
    test_op_pool();
    TEST_MAIN_END();
}
