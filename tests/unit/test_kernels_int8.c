/* tests/unit/test_kernels_int8.c - int8 kernels: the oracle against hand-computed values, then
 * every kernel family this CPU runs against the oracle with exact equality (s32, u8, s8 and the
 * bits of f32) on shapes below, at, between and above the tile sizes, extreme values over long K
 * (no saturation anywhere), rounding of the requantization, 1 and 2 threads, depthwise conv. */
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/int8.h"
#include "kernels/x86/dwconv_s8_plane.h"
#include "test.h"

static sqz_rng rng;

static int rnd(int lo, int hi) { return lo + (int)sqz_rng_below(&rng, (uint32_t)(hi - lo + 1)); }

static size_t osize(sqz_qout o) { return o == SQZ_QOUT_S32 || o == SQZ_QOUT_F32 ? 4 : 1; }

/* ---- the oracle itself ---- */
static void test_oracle(void) {
    /* Y = X (2x3, u8, zx 1) * W^T (W: 2 channels x 3, s8, zw {0, 2}) + bias {5, -1} as s32. */
    const uint8_t x[6] = {1, 2, 3, 4, 5, 255};
    const int8_t w[6] = {1, -1, 2, 127, -128, 3};
    const int32_t zw[2] = {0, 2}, bias[2] = {5, -1};
    sqz_qepi epi = {.out = SQZ_QOUT_S32, .bias = bias, .w_zp = zw};
    int32_t y[4];
    sqz_qgemm_ref(SQZ_QSIDE_B, 2, 2, 3, x, 3, 0, 1, w, 0, 3, 1, y, 2, &epi);
    for (int m = 0; m < 2; m++)
        for (int c = 0; c < 2; c++) {
            int64_t s = bias[c];
            for (int k = 0; k < 3; k++) s += (int64_t)(x[m * 3 + k] - 1) * (w[c * 3 + k] - zw[c]);
            CHECK_MSG(y[m * 2 + c] == (int32_t)s, "oracle s32 (%d,%d): %d vs %lld", m, c, y[m * 2 + c], (long long)s);
        }
    /* requantization: round half to even, zero point, clamps */
    const float scale[1] = {0.5f};
    sqz_qepi e8 = {.out = SQZ_QOUT_U8, .scale = scale, .y_zp = 10, .lo = 0, .hi = 255};
    const int32_t accs[] = {5, 7, -5, -7, 1, 3, 1000, -1000};
    const int want[] = {12, 14, 8, 6, 10, 12, 255, 0};
    for (int i = 0; i < 8; i++) {
        uint8_t q;
        sqz_qepi_store_ref(&e8, 0, accs[i], &q, 0);
        CHECK_MSG(q == want[i], "requant %d -> %d, want %d", accs[i], q, want[i]);
    }
    sqz_qepi es = {.out = SQZ_QOUT_S8, .scale = scale, .y_zp = -3, .lo = -3, .hi = 127}; /* fused ReLU */
    int8_t qs;
    sqz_qepi_store_ref(&es, 0, -20, &qs, 0);
    CHECK(qs == -3);
    sqz_qepi_store_ref(&es, 0, 21, &qs, 0); /* 10.5 -> 10, + -3 */
    CHECK(qs == 7);
    CHECK(sqz_quantize_f32(2.5f, 1.0f, 0, 0, 255) == 2 && sqz_quantize_f32(3.5f, 1.0f, 0, 0, 255) == 4);
    CHECK(sqz_quantize_f32(-300.f, 1.0f, 0, -128, 127) == -128 && sqz_quantize_f32(1e9f, 2.0f, 3, 0, 255) == 255);
}

/* ---- one random GEMM case: kind vs oracle ---- */
typedef struct gcase {
    sqz_qside side;
    int64_t M, N, K;
    int x_s8, w_u8, extreme;
    sqz_qout out;
} gcase;

static int run_case(sqz_qkind kind, const gcase *gc, int verbose) {
    const int64_t M = gc->M, N = gc->N, K = gc->K;
    const int64_t C = gc->side == SQZ_QSIDE_B ? N : M;
    /* side A: rows sometimes padded to 16 and declared readable (xcols), as QLinearConv's im2col */
    const int padded = gc->side == SQZ_QSIDE_A && rnd(0, 1);
    const int64_t ldx = padded ? (N + 15) / 16 * 16 + rnd(0, 3) : (gc->side == SQZ_QSIDE_B ? K : N) + rnd(0, 3);
    const int64_t xrows = gc->side == SQZ_QSIDE_B ? M : K;
    uint8_t *x = malloc((size_t)(xrows * ldx) + 1), *w = malloc((size_t)(C * K) + 1);
    const int64_t ldy = N + rnd(0, 2);
    const size_t ysz = (size_t)(M * ldy) * osize(gc->out) + 1;
    unsigned char *y0 = malloc(ysz), *y1 = malloc(ysz), *y2 = malloc(ysz);
    int32_t *bias = malloc((size_t)(C + 1) * 4), *wzp = malloc((size_t)(C + 1) * 4);
    float *scale = malloc((size_t)(C + 1) * 4);
    for (int64_t i = 0; i < xrows * ldx; i++) x[i] = gc->extreme ? (uint8_t)(gc->x_s8 ? 0x80 : 0xff) : (uint8_t)rnd(0, 255);
    for (int64_t i = 0; i < C * K; i++)
        w[i] = gc->extreme ? (uint8_t)(gc->extreme == 1 ? (gc->w_u8 ? 0 : 0x80) : (gc->w_u8 ? 255 : 127))
                           : (uint8_t)rnd(0, 255);
    const int use_bias = rnd(0, 1), use_wzp = gc->extreme ? 0 : rnd(0, 2);
    for (int64_t c = 0; c < C; c++) {
        bias[c] = rnd(-100000, 100000);
        wzp[c] = use_wzp == 2 ? (gc->w_u8 ? rnd(0, 255) : rnd(-128, 127)) : gc->w_u8 && use_wzp ? 128 : 0;
        scale[c] = (float)(rnd(1, 1000) * 1e-3 / (double)(K * 64 + 1));
    }
    int32_t xzp = gc->extreme ? 0 : gc->x_s8 ? rnd(-128, 127) : rnd(0, 255);
    sqz_qepi epi = {.out = gc->out, .bias = use_bias ? bias : NULL, .w_zp = use_wzp ? wzp : NULL, .scale = scale,
                    .y_zp = gc->out == SQZ_QOUT_S8 ? rnd(-20, 20) : rnd(100, 150)};
    epi.lo = gc->out == SQZ_QOUT_S8 ? -128 : 0;
    epi.hi = gc->out == SQZ_QOUT_S8 ? 127 : 255;
    if (rnd(0, 3) == 0) epi.lo = epi.y_zp; /* fused ReLU */
    memset(y0, 0xAB, ysz);
    memset(y1, 0xAB, ysz);
    memset(y2, 0xAB, ysz);
    const int64_t sc = gc->side == SQZ_QSIDE_B ? 1 : K, sk = gc->side == SQZ_QSIDE_B ? N : 1;
    /* W stored as (K, N) for side B (MatMul's B) and (C, K) for side A (conv weights). */
    sqz_qgemm_ref(gc->side, M, N, K, x, ldx, gc->x_s8, xzp, w, gc->w_u8, sc, sk, y0, ldy, &epi);
    sqz_qpack *pk = sqz_qpack_create_kind(kind, gc->side, C, K, w, gc->w_u8, sc, sk);
    int ok = pk != NULL;
    if (pk) {
        sqz_qgemm_args a = {.M = M, .N = N, .K = K, .w = pk, .x = x, .ldx = ldx, .xcols = padded ? ldx : 0,
                            .x_s8 = gc->x_s8, .x_zp = xzp, .y = y1, .ldy = ldy, .epi = &epi};
        const size_t sb = sqz_qgemm_scratch_bytes(&a, 2);
        void *scr = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
        sqz_qgemm(1, &a, scr);
        a.y = y2;
        sqz_qgemm(2, &a, scr);
        free(scr);
        sqz_qpack_free(pk);
        const size_t os = osize(gc->out);
        for (int64_t m = 0; m < M && ok; m++)
            if (memcmp(y0 + (size_t)(m * ldy) * os, y1 + (size_t)(m * ldy) * os, (size_t)N * os) ||
                memcmp(y0 + (size_t)(m * ldy) * os, y2 + (size_t)(m * ldy) * os, (size_t)N * os))
                ok = 0;
    }
    if (!ok && verbose)
        fprintf(stderr, "  %s side %c M=%lld N=%lld K=%lld x_s8=%d w_u8=%d out=%d extreme=%d wzp=%d\n",
                sqz_qkind_name(kind), gc->side == SQZ_QSIDE_B ? 'B' : 'A', (long long)M, (long long)N,
                (long long)K, gc->x_s8, gc->w_u8, gc->out, gc->extreme, use_wzp);
    free(x);
    free(w);
    free(y0);
    free(y1);
    free(y2);
    free(bias);
    free(wzp);
    free(scale);
    return ok;
}

static const int64_t SIZES[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

static void test_kind(sqz_qkind kind) {
    int fails = 0, runs = 0;
    for (int side = 0; side < 2; side++) {
        /* every size in each of M, N, K with the others random from the list */
        for (int dim = 0; dim < 3; dim++)
            for (int i = 0; i < NSIZES; i++) {
                int64_t d[3] = {SIZES[rnd(0, NSIZES - 1)], SIZES[rnd(0, NSIZES - 4)], SIZES[rnd(0, NSIZES - 1)]};
                d[dim] = SIZES[i];
                gcase g = {(sqz_qside)side, d[0], d[1], d[2], rnd(0, 1), rnd(0, 1), 0, (sqz_qout)rnd(0, 3)};
                fails += !run_case(kind, &g, fails < 5);
                runs++;
            }
        /* all small combinations */
        static const int64_t small[] = {1, 3, 4, 5, 8, 9, 17, 33};
        for (int a = 0; a < 8; a++)
            for (int b = 0; b < 8; b++)
                for (int k = 0; k < 8; k++) {
                    gcase g = {(sqz_qside)side, small[a], small[b], small[k], rnd(0, 1), rnd(0, 1), 0,
                               (sqz_qout)rnd(0, 3)};
                    fails += !run_case(kind, &g, fails < 5);
                    runs++;
                }
        /* long K (the VNNI path blocks K beyond 4096: the 4099 cases below) */
        static const int64_t longk[] = {512, 513, 516, 600, 1031, 2048};
        for (int i = 0; i < 6; i++)
            for (int rep = 0; rep < 3; rep++) {
                gcase g = {(sqz_qside)side, SIZES[rnd(0, NSIZES - 2)], SIZES[rnd(0, NSIZES - 2)], longk[i], rnd(0, 1),
                           rnd(0, 1), 0, (sqz_qout)rnd(0, 3)};
                fails += !run_case(kind, &g, fails < 5);
                runs++;
            }
        /* extreme values over long K: 255 x -128 and 255 x 127 (and s8 -128 activations) */
        for (int e = 1; e <= 2; e++)
            for (int xs = 0; xs < 2; xs++)
                for (int wu = 0; wu < 2; wu++) {
                    gcase g = {(sqz_qside)side, 9, 33, 4099, xs, wu, e, SQZ_QOUT_S32};
                    fails += !run_case(kind, &g, fails < 5);
                    g.out = SQZ_QOUT_U8;
                    fails += !run_case(kind, &g, fails < 5);
                    runs += 2;
                }
    }
    CHECK_MSG(fails == 0, "%s: %d of %d GEMM cases differ from the oracle", sqz_qkind_name(kind), fails, runs);
}

/* Long K with extreme values: the s32 result is known in closed form. */
static void test_extreme_closed_form(sqz_qkind kind) {
    const int64_t K = 65536 - 5, M = 3, N = 5;
    uint8_t *x = malloc((size_t)(M * K)), *w = malloc((size_t)(N * K));
    memset(x, 255, (size_t)(M * K));
    memset(w, 0x80, (size_t)(N * K)); /* s8 -128 */
    int32_t y[15];
    sqz_qepi epi = {.out = SQZ_QOUT_S32};
    sqz_qpack *pk = sqz_qpack_create_kind(kind, SQZ_QSIDE_B, N, K, w, 0, K, 1);
    CHECK(pk != NULL);
    if (pk) {
        sqz_qgemm_args a = {.M = M, .N = N, .K = K, .w = pk, .x = x, .ldx = K, .y = y, .ldy = N, .epi = &epi};
        void *scr = aligned_alloc(64, (sqz_qgemm_scratch_bytes(&a, 1) + 64) / 64 * 64);
        sqz_qgemm(1, &a, scr);
        int ok = 1;
        for (int i = 0; i < 15; i++) ok &= y[i] == (int32_t)(-255 * 128 * K);
        CHECK_MSG(ok, "%s: 255 x -128 over K=%lld gives %d, want %lld", sqz_qkind_name(kind), (long long)K, y[0],
                  (long long)(-255 * 128 * K));
        free(scr);
        sqz_qpack_free(pk);
    }
    free(x);
    free(w);
}

/* One depthwise geometry against the oracle, 1 and 2 threads, random signs, zero points, output
 * kind and epilogue arrays; counts a difference in *fails. */
static void dw_case(sqz_qkind kind, sqz_qdw_params p, int *fails_) {
    int fails = *fails_;
    const int x_s8 = rnd(0, 1), w_u8 = rnd(0, 1);
    const sqz_qout out = (sqz_qout)rnd(0, 3);
    const int64_t nx = p.batch * p.C * p.ih * p.iw, nw = p.C * p.kh * p.kw, ny = p.batch * p.C * p.oh * p.ow;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw);
    for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd(0, 255);
    for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)rnd(0, 255);
    int32_t *bias = malloc((size_t)p.C * 4), *wzp = malloc((size_t)p.C * 4);
    float *scale = malloc((size_t)p.C * 4);
    for (int64_t c = 0; c < p.C; c++) {
        bias[c] = rnd(-5000, 5000);
        wzp[c] = w_u8 ? rnd(0, 255) : rnd(-128, 127);
        scale[c] = (float)(rnd(1, 100) * 1e-4);
    }
    sqz_qepi epi = {.out = out, .bias = rnd(0, 1) ? bias : NULL, .w_zp = rnd(0, 1) ? wzp : NULL, .scale = scale,
                    .y_zp = out == SQZ_QOUT_S8 ? 3 : 128, .lo = out == SQZ_QOUT_S8 ? -128 : 0,
                    .hi = out == SQZ_QOUT_S8 ? 127 : 255};
    const int32_t xzp = x_s8 ? rnd(-128, 127) : rnd(0, 255);
    const size_t ysz = (size_t)ny * osize(out);
    unsigned char *y0 = malloc(ysz), *y1 = malloc(ysz), *y2 = malloc(ysz);
    sqz_qdwconv_ref(&p, x, x_s8, xzp, w, w_u8, y0, &epi);
    const size_t sb = sqz_qdwconv_scratch_bytes(&p, 2);
    void *scr = aligned_alloc(64, (sb + 63) / 64 * 64);
    sqz_qdwconv(kind, 1, &p, x, x_s8, xzp, w, w_u8, y1, &epi, scr);
    sqz_qdwconv(kind, 2, &p, x, x_s8, xzp, w, w_u8, y2, &epi, scr);
    if (memcmp(y0, y1, ysz) || memcmp(y0, y2, ysz)) {
        if (fails < 3)
            fprintf(stderr, "  dw %s C=%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld,%lld out=%d\n",
                    sqz_qkind_name(kind), (long long)p.C, (long long)p.ih, (long long)p.iw, (long long)p.kh,
                    (long long)p.kw, (long long)p.sh, (long long)p.sw, (long long)p.dh, (long long)p.dw,
                    (long long)p.ph, (long long)p.pw, out);
        fails++;
    }
    free(scr);
    free(x);
    free(w);
    free(bias);
    free(wzp);
    free(scale);
    free(y0);
    free(y1);
    free(y2);
    *fails_ = fails;
}

static void test_dw(sqz_qkind kind) {
    int fails = 0;
    for (int it = 0; it < 120; it++) {
        sqz_qdw_params p = {.batch = rnd(1, 2), .C = rnd(1, 19), .ih = rnd(1, 20), .iw = rnd(1, 37),
                            .kh = rnd(1, 5), .kw = rnd(1, 5), .sh = rnd(1, 2), .sw = rnd(1, 3), .dh = rnd(1, 2),
                            .dw = rnd(1, 2)};
        p.ph = rnd(0, (int)p.kh);
        p.pw = rnd(0, (int)p.kw);
        const int64_t eh = (p.kh - 1) * p.dh + 1, ew = (p.kw - 1) * p.dw + 1;
        if (p.ih + 2 * p.ph < eh || p.iw + 2 * p.pw < ew) continue;
        p.oh = (p.ih + 2 * p.ph - eh) / p.sh + 1;
        p.ow = (p.iw + 2 * p.pw - ew) / p.sw + 1;
        dw_case(kind, p, &fails);
    }
    /* the float route (3x3 pad 1 planes the fp32 register kernels take: 7x7, 14x14 -> 7x7, widths
     * 8 .. 14), channel counts across its groups of 16 planes */
    for (int it = 0; it < 24; it++) {
        const int64_t w = it % 3 == 0 ? 7 : it % 3 == 1 ? 14 : rnd(8, 14), s2 = it % 3 == 1 && it % 2;
        sqz_qdw_params p = {.batch = rnd(1, 2), .C = rnd(1, 40), .ih = it % 3 == 2 ? rnd(1, 20) : w, .iw = w, .kh = 3,
                            .kw = 3, .sh = 1 + s2, .sw = 1 + s2, .dh = 1, .dw = 1, .ph = 1, .pw = 1};
        p.oh = (p.ih + 2 - 3) / p.sh + 1;
        p.ow = (p.iw + 2 - 3) / p.sw + 1;
        dw_case(kind, p, &fails);
    }
    CHECK_MSG(fails == 0, "%s: %d depthwise cases differ from the oracle", sqz_qkind_name(kind), fails);
}

/* The depthwise plane paths (3x3 / 5x5, stride 1 / 2): geometries around the vector widths, pads
 * 0..2 at each end independently, every sign combination and output kind, clamps, per-channel
 * scales and weight zero points, extreme values (the largest products over every tap, biases
 * that wrap), 1 and 2 threads; exact equality with the oracle. Counts the cases the plane path
 * takes so that a change in its conditions cannot silently skip them. */
/* 1: equal, 0: differs, 2: the geometry has no output (nothing run). */
static int dw_plane_case(sqz_qkind kind, int K, int S, int64_t ih, int64_t iw, int extreme, int verbose, int *plane,
                         int *banded) {
    sqz_qdw_params p = {.batch = rnd(1, 3), .C = rnd(1, 5), .ih = ih, .iw = iw, .kh = K, .kw = K, .sh = S,
                        .sw = S, .dh = 1, .dw = 1};
    if (ih > 12) p.batch = p.C = 1;
    p.ph = rnd(0, 2);
    p.pw = rnd(0, 2);
    const int64_t eh = rnd(0, 2), ew = rnd(0, 2); /* end pads */
    if (p.ih + p.ph + eh < K) p.ih = K;
    if (p.iw + p.pw + ew < K) return 2;
    p.oh = (p.ih + p.ph + eh - K) / S + 1;
    p.ow = (p.iw + p.pw + ew - K) / S + 1;
    sqz_qdw_plane g = {.ih = p.ih, .iw = p.iw, .oh = p.oh, .ow = p.ow, .ph = p.ph, .pw = p.pw, .k = K, .s = S};
    const int taken = sqz_qdw_plane_init(&g);
    *plane += taken;
    *banded += taken && g.band < g.oh;
    const int x_s8 = rnd(0, 1), w_u8 = rnd(0, 1);
    const sqz_qout out = (sqz_qout)rnd(0, 3);
    const int64_t nx = p.batch * p.C * p.ih * p.iw, nw = p.C * K * K, ny = p.batch * p.C * p.oh * p.ow;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw);
    int32_t *bias = malloc((size_t)p.C * 4), *wzp = malloc((size_t)p.C * 4);
    float *scale = malloc((size_t)p.C * 4);
    int32_t xzp;
    if (extreme) { /* |x - x_zp| = |w - w_zp| = 255 everywhere, signs by case */
        const int neg = extreme == 2;
        memset(x, x_s8 ? (neg ? 0x80 : 0x7f) : (neg ? 0 : 255), (size_t)nx);
        xzp = x_s8 ? (neg ? 127 : -128) : (neg ? 255 : 0);
        memset(w, w_u8 ? 255 : 0x80, (size_t)nw);
        for (int64_t c = 0; c < p.C; c++) wzp[c] = w_u8 ? 0 : 127; /* 255 - 0, -128 - 127 */
    } else {
        for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd(0, 255);
        for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)rnd(0, 255);
        xzp = x_s8 ? rnd(-128, 127) : rnd(0, 255);
        for (int64_t c = 0; c < p.C; c++) wzp[c] = w_u8 ? rnd(0, 255) : rnd(-128, 127);
    }
    for (int64_t c = 0; c < p.C; c++) {
        bias[c] = extreme ? (rnd(0, 1) ? INT32_MAX - rnd(0, 1000) : INT32_MIN + rnd(0, 1000)) : rnd(-200000, 200000);
        const int k = rnd(0, 3); /* tiny, typical, large (clamps), exact halves */
        scale[c] = k == 0 ? (float)(rnd(1, 100) * 1e-7) : k == 1 ? (float)(rnd(1, 1000) * 1e-5)
                 : k == 2 ? (float)(rnd(1, 100) * 1e-2) : 0.5f;
    }
    sqz_qepi epi = {.out = out, .bias = extreme || rnd(0, 3) ? bias : NULL, .w_zp = extreme || rnd(0, 2) ? wzp : NULL,
                    .scale = scale, .y_zp = out == SQZ_QOUT_S8 ? rnd(-128, 127) : rnd(0, 255)};
    epi.lo = out == SQZ_QOUT_S8 ? -128 : 0;
    epi.hi = out == SQZ_QOUT_S8 ? 127 : 255;
    const int clamp = rnd(0, 2);
    if (clamp == 1) epi.lo = epi.y_zp; /* fused ReLU */
    if (clamp == 2) { /* fused Clip */
        epi.lo = rnd(epi.lo, epi.y_zp);
        epi.hi = rnd(epi.y_zp, epi.hi);
    }
    const size_t ysz = (size_t)ny * osize(out);
    unsigned char *y0 = malloc(ysz), *y1 = malloc(ysz), *y2 = malloc(ysz);
    memset(y1, 0xAB, ysz);
    memset(y2, 0xCD, ysz);
    sqz_qdwconv_ref(&p, x, x_s8, xzp, w, w_u8, y0, &epi);
    const size_t sb = sqz_qdwconv_scratch_bytes(&p, 2);
    void *scr = aligned_alloc(64, (sb + 63) / 64 * 64);
    sqz_qdwconv(kind, 1, &p, x, x_s8, xzp, w, w_u8, y1, &epi, scr);
    sqz_qdwconv(kind, 2, &p, x, x_s8, xzp, w, w_u8, y2, &epi, scr);
    const int ok = !memcmp(y0, y1, ysz) && !memcmp(y0, y2, ysz);
    if (!ok && verbose) {
        int64_t i = 0;
        while (i < (int64_t)ysz && y0[i] == y1[i] && y0[i] == y2[i]) i++;
        fprintf(stderr,
                "  dw plane %s b%lld C=%lld %lldx%lld -> %lldx%lld k%d s%d p%lld,%lld x_s8=%d w_u8=%d out=%d "
                "extreme=%d clamp=%d: byte %lld\n",
                sqz_qkind_name(kind), (long long)p.batch, (long long)p.C, (long long)p.ih, (long long)p.iw,
                (long long)p.oh, (long long)p.ow, K, S, (long long)p.ph, (long long)p.pw, x_s8, w_u8, out, extreme,
                clamp, (long long)i);
    }
    free(scr);
    free(x);
    free(w);
    free(bias);
    free(wzp);
    free(scale);
    free(y0);
    free(y1);
    free(y2);
    return ok;
}

static void test_dw_planes(sqz_qkind kind) {
    static const int64_t widths[] = {1, 2, 3, 5, 7, 8, 13, 14, 15, 16, 17, 18, 28, 29, 31, 32, 33, 34, 35, 47,
                                     56, 63, 64, 65, 66, 67, 112, 113};
    const int nwid = (int)(sizeof widths / sizeof widths[0]);
    int fails = 0, runs = 0, plane = 0, banded = 0;
    for (int K = 3; K <= 5; K += 2)
        for (int S = 1; S <= 2; S++) {
            for (int i = 0; i < nwid; i++)
                for (int rep = 0; rep < 3; rep++) {
                    /* input widths around each width, and the input that gives each output width */
                    const int64_t iw = rep < 2 ? widths[i] : widths[i] * S + K - 1 - rnd(0, 2);
                    const int r = dw_plane_case(kind, K, S, rnd(1, 12), iw, rep == 1 ? rnd(0, 2) : 0, fails < 5,
                                                &plane, &banded);
                    if (r == 2) continue; /* no output */
                    fails += !r;
                    runs++;
                }
            /* planes in several bands of output rows (wide rows, tall images) */
            for (int rep = 0; rep < 4; rep++) {
                const int r = dw_plane_case(kind, K, S, rnd(20, 70), rnd(150, 900), rep == 3, fails < 5, &plane,
                                            &banded);
                fails += r == 0;
                runs += r != 2;
            }
        }
    CHECK_MSG(fails == 0, "%s: %d of %d depthwise plane cases differ from the oracle", sqz_qkind_name(kind), fails,
              runs);
    CHECK_MSG(plane >= runs * 9 / 10, "%s: the plane path took only %d of %d cases", sqz_qkind_name(kind), plane, runs);
    CHECK_MSG(banded >= 12, "%s: only %d plane cases ran in several bands", sqz_qkind_name(kind), banded);
}

int main(void) {
    sqz_rng_seed(&rng, 12345);
    test_oracle();
    for (int k = 0; k < SQZ_QK_COUNT; k++) {
        if (!sqz_qkind_supported((sqz_qkind)k)) {
            printf("kind %s: not supported by this CPU, skipped\n", sqz_qkind_name((sqz_qkind)k));
            continue;
        }
        test_kind((sqz_qkind)k);
        test_extreme_closed_form((sqz_qkind)k);
        test_dw((sqz_qkind)k);
        test_dw_planes((sqz_qkind)k);
        printf("kind %s: tested\n", sqz_qkind_name((sqz_qkind)k));
    }
    TEST_MAIN_END();
}
