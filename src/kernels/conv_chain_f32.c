/* kernels/conv_chain_f32.c - an expand 1x1 -> depthwise -> project 1x1 chain run by bands of
 * output rows (kernels/conv_f32.h, sqz_conv_chain_f32). */
#include <string.h>

#include "kernels/conv_f32.h"
#include "kernels/gemm_f32.h"

#define CHAIN_BUDGET_FLOATS ((int64_t)112 << 10) /* the expanded band: 448 KiB, half of L2 */

static int pointwise_geo(const sqz_conv_params *p) {
    return p->nsp == 2 && p->group == 1 && p->kernel[0] == 1 && p->kernel[1] == 1 && p->stride[0] == 1 &&
           p->stride[1] == 1 && p->pad_begin[0] == 0 && p->pad_begin[1] == 0 && p->dilation[0] == 1 &&
           p->dilation[1] == 1 && p->out[0] == p->in[0] && p->out[1] == p->in[1];
}

int sqz_conv_chain_f32_ok(sqz_isa isa, const sqz_conv_chain_f32 *c) {
    const sqz_conv_params *e = &c->e, *d = &c->d, *p = &c->p;
    if (isa < SQZ_ISA_AVX2 || !c->wd || !c->wp) return 0;
    if (d->nsp != 2 || d->group != d->c_in || d->c_out != d->c_in || d->c_in <= 0 || d->batch < 0) return 0;
    if (d->in[0] <= 0 || d->in[1] <= 0 || d->out[0] <= 0 || d->out[1] <= 0 || d->kernel[0] <= 0 || d->kernel[1] <= 0)
        return 0;
    if (!pointwise_geo(p) || p->c_in != d->c_out || p->batch != d->batch || p->in[0] != d->out[0] ||
        p->in[1] != d->out[1] || p->c_out <= 0)
        return 0;
    if (c->expand && (!c->we || !pointwise_geo(e) || e->c_out != d->c_in || e->batch != d->batch ||
                      e->out[0] != d->in[0] || e->out[1] != d->in[1] || e->c_in <= 0))
        return 0;
    return 1;
}

/* Band shape: h output rows per band, rows input rows held (the expanded band). */
static void chain_band(const sqz_conv_chain_f32 *c, int64_t *h, int64_t *rows) {
    const sqz_conv_params *d = &c->d;
    const int64_t W = d->in[1], KH = (d->kernel[0] - 1) * d->dilation[0] + 1, sh = d->stride[0];
    int64_t r = CHAIN_BUDGET_FLOATS / (d->c_in * W);
    if (r < KH) r = KH;
    int64_t hh = (r - KH) / sh + 1;
    if (hh > d->out[0]) hh = d->out[0];
    if (hh < 1) hh = 1;
    *h = hh;
    *rows = (hh - 1) * sh + KH;
}

/* Whether the depthwise conv reads its expanded rows split into even and odd columns (stride 2,
 * AVX-512): the chain then splits the narrow input rows before the expand (the expand keeps the
 * column order), not the Ce expanded rows per band. */
static int chain_presplit(sqz_isa isa, const sqz_conv_chain_f32 *c) {
#if defined(__x86_64__)
    const sqz_conv_params *d = &c->d;
    const sqz_dw_plane g = {.W = d->in[1], .KH = d->kernel[0], .KW = d->kernel[1], .sh = d->stride[0],
                            .sw = d->stride[1], .dh = d->dilation[0], .dw = d->dilation[1]};
    return c->expand && isa >= SQZ_ISA_AVX512 && sqz_cpu_isa_supported() >= SQZ_ISA_AVX512 &&
           sqz_dwconv2d_f32_presplit_ok(&g);
#else
    (void)isa;
    (void)c;
    return 0;
#endif
}

static size_t gemm_bytes(sqz_isa isa, int threads, int64_t M, int64_t N, int64_t K) {
    const size_t b = sqz_gemm_f32_scratch_bytes(isa, threads, M, N, K);
    return (b + 63) & ~(size_t)63;
}

/* Scratch of the larger of the two GEMMs (band of h output rows, rows input rows). */
static size_t chain_gemm_bytes(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c, int64_t h, int64_t rows) {
    const int64_t Ce = c->d.c_in, W = c->d.in[1], OW = c->d.out[1];
    size_t gb = gemm_bytes(isa, threads, c->p.c_out, h * OW, Ce);
    if (c->expand) {
        const size_t ge = gemm_bytes(isa, threads, Ce, rows * W, c->e.c_in);
        if (ge > gb) gb = ge;
    }
    return gb;
}

size_t sqz_conv_chain_f32_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c) {
    if (!sqz_conv_chain_f32_ok(isa, c)) return 0;
    int64_t h, rows;
    chain_band(c, &h, &rows);
    const int64_t Ce = c->d.c_in, W = c->d.in[1], OW = c->d.out[1];
    const size_t eb = c->expand ? ((size_t)(Ce * rows * W) * 4 + 63) & ~(size_t)63 : 0;
    const size_t db = ((size_t)(Ce * h * OW) * 4 + 63) & ~(size_t)63;
    const size_t gb = chain_gemm_bytes(isa, threads, c, h, rows);
    const size_t xb = chain_presplit(isa, c) ? ((size_t)(c->e.c_in * rows * W) * 4 + 63) & ~(size_t)63 : 0;
    return eb + db + gb + xb;
}

/* The depthwise conv of one band, channels split over threads: input rows [r0, r0 + nrows) of
 * each plane at src + ch * sstride (rows W apart), output rows [oy0, oy1) to D. */
static void chain_dw(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c, int presplit, const float *src,
                     int64_t sstride, int64_t r0, int64_t nrows, int64_t oy0, int64_t oy1, float *D,
                     int64_t dstride) {
    const sqz_conv_params *d = &c->d;
    /* the band as an image of nrows rows: output row oy0 + i reads band row i * sh - ph + ky * dh */
    const sqz_dw_plane g = {.H = nrows, .W = d->in[1], .OH = oy1 - oy0, .OW = d->out[1], .KH = d->kernel[0],
                            .KW = d->kernel[1], .sh = d->stride[0], .sw = d->stride[1], .dh = d->dilation[0],
                            .dw = d->dilation[1], .ph = r0 - (oy0 * d->stride[0] - d->pad_begin[0]),
                            .pw = d->pad_begin[1]};
    const int64_t Ce = d->c_in, kk = g.KH * g.KW;
    const sqz_conv_act *act = c->ad.clamp ? &c->ad : NULL;
    const int nt = threads > 1 && Ce * g.OH * g.OW * kk >= 65536 ? threads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t ch = 0; ch < Ce; ch++) {
#if defined(__x86_64__)
        if (presplit && sqz_dwconv2d_f32_plane_presplit__avx512(&g, src + ch * sstride, c->wd + ch * kk,
                                                                c->bd ? c->bd[ch] : 0.0f, act, D + ch * dstride))
            continue;
#else
        (void)presplit;
#endif
        sqz_dwconv2d_f32_plane_isa(isa, &g, src + ch * sstride, c->wd + ch * kk, c->bd ? c->bd[ch] : 0.0f, act,
                                   D + ch * dstride);
    }
}

void sqz_conv_chain_f32_run(sqz_isa isa, int threads, const sqz_conv_chain_f32 *c, const float *x, float *y,
                        void *scratch) {
    if (!sqz_conv_chain_f32_ok(isa, c)) return;
    const sqz_conv_params *d = &c->d;
    int64_t h, rows;
    chain_band(c, &h, &rows);
    const int64_t Cin = c->expand ? c->e.c_in : d->c_in, Ce = d->c_in, Co = c->p.c_out;
    const int64_t H = d->in[0], W = d->in[1], OH = d->out[0], OW = d->out[1];
    const int64_t sh = d->stride[0], pt = d->pad_begin[0], KH = (d->kernel[0] - 1) * d->dilation[0] + 1;
    float *E = c->expand ? scratch : NULL;
    const size_t eb = c->expand ? ((size_t)(Ce * rows * W) * 4 + 63) & ~(size_t)63 : 0;
    float *D = (float *)((char *)scratch + eb);
    void *gs = (char *)D + (((size_t)(Ce * h * OW) * 4 + 63) & ~(size_t)63);
    const int presplit = chain_presplit(isa, c);
    /* the split input rows of a band, after the GEMM's scratch */
    float *Xs = presplit ? (float *)((char *)gs + chain_gemm_bytes(isa, threads, c, h, rows)) : NULL;
    sqz_gemm_epi ee = {.bias_m = c->be, .clamp = c->ae.clamp, .lo = c->ae.lo, .hi = c->ae.hi};
    sqz_gemm_epi ep = {.bias_m = c->bp, .clamp = c->ap.clamp, .lo = c->ap.lo, .hi = c->ap.hi};
    for (int64_t n = 0; n < d->batch; n++) {
        const float *xn = x + n * Cin * H * W;
        float *yn = y + n * Co * OH * OW;
        int64_t e0 = 0, e1 = 0; /* E holds input rows [e0, e1) */
        for (int64_t oy0 = 0; oy0 < OH; oy0 += h) {
            const int64_t oy1 = OH - oy0 < h ? OH : oy0 + h;
            const int64_t start = oy0 * sh - pt;
            int64_t r0 = start < 0 ? 0 : start, r1 = (oy1 - 1) * sh - pt + KH;
            if (r1 > H) r1 = H;
            if (r0 > H) r0 = H;
            if (r1 < r0) r1 = r0;
            const float *src;
            int64_t sstride;
            if (c->expand) {
                if (r0 >= e1 || r0 < e0) {
                    e0 = e1 = r0;
                } else if (r0 > e0) { /* keep the rows this band shares with the last one */
                    for (int64_t ch = 0; ch < Ce; ch++)
                        memmove(E + ch * rows * W, E + ch * rows * W + (r0 - e0) * W,
                                sizeof(float) * (size_t)((e1 - r0) * W));
                    e0 = r0;
                }
                if (r1 > e1) {
                    const float *B = xn + e1 * W;
                    int64_t ldb = H * W;
#if defined(__x86_64__)
                    if (presplit) {
                        for (int64_t ci = 0; ci < Cin; ci++)
                            sqz_deinterleave_rows__avx512(xn + ci * H * W + e1 * W, r1 - e1, W, Xs + ci * (r1 - e1) * W);
                        B = Xs;
                        ldb = (r1 - e1) * W;
                    }
#endif
                    const sqz_gemm_f32_args ga = {.M = Ce, .N = (r1 - e1) * W, .K = Cin, .alpha = 1.0f,
                                                  .beta = 0.0f, .A = c->we, .lda = Cin, .B = B, .ldb = ldb,
                                                  .C = E + (e1 - e0) * W, .ldc = rows * W, .epi = &ee,
                                                  .packed_a = c->we_packed};
                    sqz_gemm_f32(isa, threads, &ga, gs);
                    e1 = r1;
                }
                src = E;
                sstride = rows * W;
            } else {
                src = xn + r0 * W;
                sstride = H * W;
            }
            chain_dw(isa, threads, c, presplit, src, sstride, r0, r1 - r0, oy0, oy1, D, h * OW);
            const sqz_gemm_f32_args gp = {.M = Co, .N = (oy1 - oy0) * OW, .K = Ce, .alpha = 1.0f, .beta = 0.0f,
                                          .A = c->wp, .lda = Ce, .B = D, .ldb = h * OW, .C = yn + oy0 * OW,
                                          .ldc = OH * OW, .epi = &ep, .packed_a = c->wp_packed};
            sqz_gemm_f32(isa, threads, &gp, gs);
        }
    }
}
