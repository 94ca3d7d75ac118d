/* kernels/conv_f32.c - fast fp32 convolution driver (see conv_f32.h): depthwise planes, 1x1 as
 * GEMM on the input, im2col + GEMM otherwise, with bias and clamp fused. */
#include "kernels/conv_f32.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv_implicit_f32.h"
#include "kernels/conv_wino_f32.h"
#include "kernels/gemm_f32.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static size_t mul_sat(size_t a, int64_t b) {
    if (a == SIZE_MAX || b < 0) return SIZE_MAX;
    if (b != 0 && a > SIZE_MAX / (size_t)b) return SIZE_MAX;
    return a * (size_t)b;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static sqz_isa clamp_isa(sqz_isa isa) {
    const sqz_isa s = sqz_cpu_isa_supported();
    return isa > s ? s : isa;
}

/* ---- Winograd F(4x4, 3x3) (kernels/conv_wino_f32.h): AVX-512, where its plan takes the geometry,
 * unless switched off (SQZ_WINOGRAD=0 in the environment, or sqz_conv_f32_set_winograd) ---- */
static int wino_on = -1;

int sqz_conv_f32_set_winograd(int on) {
    const int before = sqz_conv_f32_winograd_enabled();
    wino_on = on != 0;
    return before;
}

int sqz_conv_f32_winograd_enabled(void) {
    int on = __atomic_load_n(&wino_on, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *e = getenv("SQZ_WINOGRAD");
        on = !(e && e[0] == '0');
        __atomic_store_n(&wino_on, on, __ATOMIC_RELAXED);
    }
    return on;
}

static int wino_plan(sqz_isa isa, int threads, const sqz_conv_params *p, sqz_wino_plan *w) {
#if defined(__x86_64__)
    return isa >= SQZ_ISA_AVX2 && sqz_conv_f32_winograd_enabled() && sqz_wino_f32_plan(isa, p, threads, w);
#else
    (void)isa, (void)threads, (void)p, (void)w;
    return 0;
#endif
}

static int is_depthwise(const sqz_conv_params *p) { return p->c_in == p->group && p->nsp <= 2; }

static int is_pointwise(const sqz_conv_params *p) {
    for (int d = 0; d < p->nsp; d++)
        if (p->kernel[d] != 1 || p->stride[d] != 1 || p->pad_begin[d] != 0 || p->in[d] != p->out[d]) return 0;
    return 1;
}

static void geometry(const sqz_conv_params *p, int64_t *insp, int64_t *outsp, int64_t *kk) {
    *insp = *outsp = *kk = 1;
    for (int d = 0; d < p->nsp; d++) {
        *insp *= p->in[d];
        *outsp *= p->out[d];
        *kk *= p->kernel[d];
    }
}

/* Images per GEMM: small outputs (LeNet, the 7x7 / 14x14 layers of ImageNet models) stack the
 * im2col of several images side by side so one GEMM sees about 1024 columns, with the im2col
 * buffer kept under 4 MiB; 1 = one GEMM per image. */
#define STACK_MIN_FLOATS ((int64_t)64 << 10)
static int64_t images_per_gemm(const sqz_conv_params *p) {
    if (is_depthwise(p) || p->batch < 2) return 1;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    if (outsp <= 0 || outsp >= 512) return 1;
    const int64_t kdim = (p->c_in / p->group) * kk;
    /* one image already makes a GEMM big enough (ResNet's 14x14 and 7x7 layers, K >= 2304): no
     * stacking, whose im2col would leave L2 and whose output needs a copy; the column-tail kernel
     * keeps N = 196 or 49 without padding */
    if (kdim >= STACK_MIN_FLOATS / outsp) return 1;
    /* 1x1 layers with a deep K: the GEMM reads the input in place, one image at a time, faster
     * than stacking (which copies every image in and every output out): MobileNetV2's 7x7
     * layers at batch 64 (K = 160, 320, 960) 87-101 GFLOP/s in place against 55-86 stacked */
    if (is_pointwise(p) && kdim >= 128) return 1;
    int64_t nb = 1024 / outsp;
    const int64_t cap = kdim > 0 ? ((int64_t)4 << 20) / (4 * kdim * outsp) : nb;
    if (nb > cap) nb = cap;
    if (nb > p->batch) nb = p->batch;
    return nb < 2 ? 1 : nb;
}

/* Output rows per im2col + GEMM step of one 2-D image: large outputs (ResNet's 112x112 and 56x56
 * layers) take bands of rows whose im2col (kdim x rows*OW) stays within COL_BUDGET floats, so it
 * is still in L2 when the GEMM packs it instead of making a round trip through L3 / memory; the
 * band is a multiple of 32 (else 16) columns where the budget allows, so the GEMM's panels are
 * full. Returns OH (one step) otherwise. Every output element gets the same sum either way. */
#define COL_BUDGET ((int64_t)128 << 10)
static int64_t band_rows(const sqz_conv_params *p) {
    if (p->nsp != 2 || is_depthwise(p) || images_per_gemm(p) > 1 || is_pointwise(p)) return p->out[0];
    const int64_t OH = p->out[0], OW = p->out[1];
    const int64_t kdim = (p->c_in / p->group) * p->kernel[0] * p->kernel[1];
    if (OH <= 1 || OW <= 0 || kdim <= 0 || kdim <= COL_BUDGET / OW / OH) return OH; /* (no overflow) */
    int64_t r = kdim <= COL_BUDGET / OW ? COL_BUDGET / OW / kdim : 1;
    for (int64_t q = 32; q >= 16; q /= 2) {
        int64_t a = q, b = OW; /* rows per q-column multiple: q / gcd(OW, q) */
        while (b) {
            const int64_t t = a % b;
            a = b;
            b = t;
        }
        const int64_t step = q / a;
        if (r >= step) {
            r = r / step * step;
            break;
        }
    }
    if (r * OW < 96) r = (96 + OW - 1) / OW; /* keep a few panels per GEMM */
    return r < OH ? r : OH;
}

/* Threads that take whole image blocks (1: the threads split each block's im2col and GEMM
 * instead): small GEMMs (ResNet-8's 1x1 stride-2 shortcut: 1 MFLOP per block of 5 images) run
 * no faster split, and a fork per block and the serial copy-out cost more than they save. */
static int block_threads(int threads, const sqz_conv_params *p) {
    if (threads < 2 || is_depthwise(p)) return 1;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    const int64_t nb = images_per_gemm(p), blocks = (p->batch + nb - 1) / nb;
    if (p->nsp == 2 && band_rows(p) < p->out[0]) return 1; /* banded: large images */
    const double flops = 2.0 * (double)(p->c_out / p->group) * (double)(outsp * nb) * (double)((p->c_in / p->group) * kk);
    return blocks >= 2 * threads && flops * p->group < 16e6 ? threads : 1;
}

/* Bytes of the im2col buffer (and, when images are stacked, of the GEMM output they share),
 * rounded up to 64. */
static size_t col_bytes(const sqz_conv_params *p) {
    const int64_t nb = images_per_gemm(p);
    if (is_depthwise(p) || (nb == 1 && is_pointwise(p))) return 0;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    if (p->nsp == 2 && p->out[0] > 0) outsp = outsp / p->out[0] * band_rows(p);
    size_t n = mul_sat(mul_sat(mul_sat(sizeof(float), p->c_in / p->group), kk), outsp);
    if (nb > 1) n = add_sat(mul_sat(n, nb), add_sat(mul_sat(mul_sat(sizeof(float), p->c_out / p->group), outsp * nb), 63));
    return add_sat(n, 63) & ~(size_t)63;
}

/* ---- implicit GEMM (kernels/conv_implicit_f32.h): 2-D, AVX-512 ----
 * Strides sh x sw > 1 split the padded input into sh * sw phase planes (phase (a, b) holds the
 * padded rows a, a + sh, ... and columns b, b + sw, ...): kernel tap (kh, kw) reads phase
 * (kh*dh % sh, kw*dw % sw) at row offset kh*dh / sh and column offset kw*dw / sw, so every tap is
 * again a contiguous shifted window of one plane of Hp x Wp (Hp = OH + (KH-1)*dh / sh, Wp =
 * OW + (KW-1)*dw / sw) and the unit-stride kernels serve any stride. */

typedef struct iconv_geom {
    int mr, rows; /* rows: the transposed tiles (sqz_iconv_rows), weights as packed B panels of W^T */
    int64_t kc, kcb; /* the K block of the weight panels packed as A (cols tiles) and as B (rows) */
    int64_t cg, mg, kdim, OH, OW, Hp, Wp, KH, KW, dh, dw, sh, sw;
    size_t xp_floats, off_ints, a_floats; /* scratch parts, each a multiple of 16 elements (a_floats:
                                           * one group's weights in the form the tiles read) */
} iconv_geom;

/* Whether the implicit path takes this convolution (and its geometry). It needs the GEMM's
 * 14- or 8-row weight panels (M >= 5), K >= 16, offsets that fit in 32 bits, and a padded width
 * Wp >= 7 (a 32-position tile then spans at most 6 row segments). It pays for the positions it
 * computes and drops (padded columns, the last tile's tail) where im2col + GEMM pays for writing
 * and packing the unfolded input, about 12 / M of the flops (measured: ResNet 3x3 layers at
 * M = 64 run 1.2x faster without im2col; LeNet's 5x5 layers at M = 6 and 16 about 2x); the
 * cheaper one is taken. */
static int iconv_plan(sqz_isa isa, const sqz_conv_params *p, iconv_geom *g) {
#if defined(__x86_64__)
    if (isa < SQZ_ISA_AVX512 || p->nsp != 2 || p->group <= 0 || (is_depthwise(p) && p->group > 1) || is_pointwise(p))
        return 0;
    g->sh = p->stride[0];
    g->sw = p->stride[1];
    if (g->sh < 1 || g->sw < 1 || g->sh > 4 || g->sw > 4) return 0;
    g->cg = p->c_in / p->group;
    g->mg = p->c_out / p->group;
    g->KH = p->kernel[0];
    g->KW = p->kernel[1];
    g->dh = p->dilation[0];
    g->dw = p->dilation[1];
    g->OH = p->out[0];
    g->OW = p->out[1];
    g->kdim = g->cg * g->KH * g->KW;
    if (g->OH <= 0 || g->OW < 1 || g->kdim < 16 || g->KH <= 0 || g->KW <= 0 || g->dh <= 0 || g->dw <= 0) return 0;
    g->Hp = g->OH + (g->KH - 1) * g->dh / g->sh;
    g->Wp = g->OW + (g->KW - 1) * g->dw / g->sw;
    if (!sqz_gemm_f32_a_layout(isa, g->mg, &g->mr, &g->kc)) return 0;
    /* extra: positions the 32-wide tiles compute and drop (padded columns, the last tile's tail) */
    const int64_t useful = g->OH * g->OW, extra = ((g->OH - 1) * g->Wp + g->OW + 31) / 32 * 32 - useful;
    int cols = (g->mr == 14 || g->mr == 8 || g->mr == 6) && g->Wp >= 7 && g->OW >= 4;
    if (g->sh == 1 && g->sw == 1) {
        if (extra * 4 > useful && extra * g->mg > 12 * useful) cols = 0; /* > max(1/4, 12/M) */
    } else {
        /* strided: the phase copy costs more, and a strided im2col is cheaper (measured on
         * ResNet-18: its 7x7 stem gains, its strided 3x3 layers at M >= 128 and 1x1 lose) */
        if (g->KH * g->KW == 1 || extra * g->mg > 6 * useful) cols = 0;
    }
    /* the transposed tiles drop no positions but store through a transpose (about 16 / K of the
     * work) and want whole 16-channel vectors: measured faster on every ResNet-18 3x3 layer
     * (56x56 106 -> 110 GFLOP/s, 28x28 100 -> 111, 14x14 90 -> 108, 7x7 85 -> 94, strided
     * 87-91 -> 89-95), slower on its 7x7 stride-2 stem (K = 147: 95 -> 85), so taken for one
     * group, M >= 16 and K >= 128 (strided: K >= 256) */
    int nrb = 0;
    if (!sqz_gemm_f32_b_layout(isa, &nrb, &g->kcb)) nrb = 0;
    const int rows_ok = nrb == 32 && p->group == 1 && g->mg >= 16 && g->KH * g->KW > 1 &&
                        g->kdim >= (g->sh == 1 && g->sw == 1 ? 128 : 256);
    g->rows = rows_ok;
    if (!g->rows && !cols) return 0;
    if (g->Hp > INT32_MAX / g->Wp || g->cg * g->sh * g->sw > (INT32_MAX - 64) / (g->Hp * g->Wp)) return 0;
    g->xp_floats = (size_t)((g->sh * g->sw * g->cg * g->Hp * g->Wp + 64 + 15) / 16 * 16);
    g->off_ints = (size_t)((g->kdim + 15) / 16 * 16);
    const size_t ab = g->rows ? sqz_gemm_f32_packed_b_bytes(isa, g->kdim, g->mg)
                              : sqz_gemm_f32_packed_a_bytes(isa, g->mg, g->kdim);
    if (!ab) return 0;
    g->a_floats = (ab / 4 + 15) / 16 * 16;
    return 1;
#else
    (void)isa;
    (void)p;
    (void)g;
    return 0;
#endif
}

/* Padded copies in flight: one per thread when whole image groups go to threads (enough of
 * them), else one shared by threads splitting each image's tiles. */
static int iconv_copies(int threads, const sqz_conv_params *p) {
    return threads > 1 && p->batch * p->group >= 2 * threads ? threads : 1;
}

/* Scratch: the padded copies, the offsets, then (weights not packed once) every group's panels. */
static size_t iconv_scratch_bytes(const iconv_geom *g, int threads, const sqz_conv_params *p, int packed) {
    const size_t xp = mul_sat(mul_sat(4, (int64_t)g->xp_floats), iconv_copies(threads, p));
    const size_t base = add_sat(xp, mul_sat(4, (int64_t)g->off_ints));
    return packed ? base : add_sat(base, mul_sat(mul_sat(4, (int64_t)g->a_floats), p->group));
}

#if defined(__x86_64__)
/* The row segments of the tile of positions p0 .. p0+31 of the padded-width grid (P positions). */
static void iconv_segments(const iconv_geom *g, int64_t p0, int64_t P, sqz_iconv_tile *t) {
    t->nseg = 0;
    const int64_t end = p0 + 32 < P ? p0 + 32 : P;
    for (int64_t oy = p0 / g->Wp; oy < g->OH && oy * g->Wp < end && t->nseg < SQZ_ICONV_MAX_SEG; oy++) {
        const int64_t s = p0 > oy * g->Wp ? p0 : oy * g->Wp;
        const int64_t e = end < oy * g->Wp + g->OW ? end : oy * g->Wp + g->OW;
        if (s >= e) continue;
        const int ls = (int)(s - p0), le = (int)(e - p0);
        const uint64_t m = ((1ull << le) - 1u) & ~((1ull << ls) - 1u);
        t->base[t->nseg] = oy * g->OW + (s - oy * g->Wp) - ls;
        t->mask[t->nseg][0] = (uint16_t)(m & 0xffffu);
        t->mask[t->nseg][1] = (uint16_t)(m >> 16);
        t->nseg++;
    }
}

/* Copies one image group (cg planes of H x W) into the zero-padded buffer: cg planes of Hp x Wp
 * for unit stride, else sh * sw phases of cg such planes. */
static void iconv_pad(int threads, const sqz_conv_params *p, const iconv_geom *g, const float *img, float *xp) {
    const int64_t H = p->in[0], W = p->in[1], pt = p->pad_begin[0], pl = p->pad_begin[1];
    const int64_t plane = g->Hp * g->Wp, nplanes = g->sh * g->sw * g->cg;
    const int nt = threads > 1 && nplanes * plane >= 65536 ? threads : 1;
    (void)nt;
    if (g->sw == 2) { /* both column phases of a row at once (AVX-512: the implicit path is) */
        const int64_t nq = g->sh * g->cg;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int64_t q = 0; q < nq; q++) {
            const int64_t c = q % g->cg, a = q / g->cg;
            float *d0 = xp + (2 * a * g->cg + c) * plane, *d1 = d0 + g->cg * plane;
            sqz_iconv_phase_plane2__avx512(img + c * H * W, H, W, pt, pl, g->sh, a, g->Hp, g->Wp, d0, d1);
        }
        memset(xp + nplanes * plane, 0, sizeof(float) * (g->xp_floats - (size_t)(nplanes * plane)));
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t q = 0; q < nplanes; q++) {
        const int64_t c = q % g->cg, ph = q / g->cg, a = ph / g->sw, b = ph % g->sw;
        float *dst = xp + q * plane;
        const float *src = img + c * H * W;
        /* padded column xx = x * sw + b reads input column xx - pl: x in [x0, x1) are inside */
        int64_t x0, x1;
        sqz_phase_cols(pl, b, g->sw, W, g->Wp, &x0, &x1);
        for (int64_t yy = 0; yy < g->Hp; yy++) {
            float *row = dst + yy * g->Wp;
            const int64_t iy = yy * g->sh + a - pt;
            if (iy < 0 || iy >= H || x0 == x1) {
                memset(row, 0, sizeof(float) * (size_t)g->Wp);
                continue;
            }
            if (x0 > 0) memset(row, 0, sizeof(float) * (size_t)x0);
            const float *sr = src + iy * W + (x0 * g->sw + b - pl);
            if (g->sw == 1)
                memcpy(row + x0, sr, sizeof(float) * (size_t)(x1 - x0));
            else
                for (int64_t x = 0; x < x1 - x0; x++) row[x0 + x] = sr[x * g->sw];
            if (x1 < g->Wp) memset(row + x1, 0, sizeof(float) * (size_t)(g->Wp - x1));
        }
    }
    memset(xp + nplanes * plane, 0, sizeof(float) * (g->xp_floats - (size_t)(nplanes * plane)));
}

/* All tiles of one image group (the copy in xp), split over nt threads by (band, weight panel). */
static void iconv_image(const iconv_geom *g, const sqz_iconv_tile *t0, int nt, const float *xp, float *yg) {
    const sqz_iconv_f32_fn fn = g->mr == 14  ? sqz_iconv_f32_14x32__avx512
                               : g->mr == 8 ? sqz_iconv_f32_8x32__avx512
                                            : sqz_iconv_f32_6x32__avx512;
    const int64_t OHW = g->OH * g->OW, P = (g->OH - 1) * g->Wp + g->OW, ntiles = (P + 31) / 32;
    /* bands of tiles whose input rows (about 384 KB) stay in L2 while every weight panel passes */
    int64_t band_rows = ((int64_t)96 << 10) / (g->cg * g->Wp) - (g->KH - 1) * g->dh;
    if (band_rows < 1) band_rows = 1;
    int64_t band = band_rows * g->Wp / 32;
    if (band < 1) band = 1;
    const int64_t nbands = (ntiles + band - 1) / band, npanels = (g->mg + g->mr - 1) / g->mr;
    const int64_t items = nbands * npanels;
    if (items < 2) nt = 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t it = 0; it < items; it++) {
        const int64_t b = it / npanels, q = it % npanels;
        const int64_t r0 = q * g->mr;
        const int mr = (int)(g->mg - r0 < g->mr ? g->mg - r0 : g->mr);
        sqz_iconv_tile t = *t0;
        const int64_t te = (b + 1) * band < ntiles ? (b + 1) * band : ntiles;
        for (int64_t ti = b * band; ti < te; ti++) {
            iconv_segments(g, ti * 32, P, &t);
            fn(&t, r0, mr, xp + ti * 32, yg + r0 * OHW, OHW);
        }
    }
}

/* All transposed tiles of one image (the copy in xp): output rows in chunks of up to 14
 * positions x panels of 32 channels, split over nt threads, weight panel by weight panel. Rows
 * of 3 to 7 outputs go two to a tile (7x7: 14 positions, not 7, per pass over the weights). */
static void iconv_image_rows(const iconv_geom *g, const sqz_iconv_rows *t, int nt, const float *xp, float *y) {
    const int64_t OHW = g->OH * g->OW;
    if (g->OW >= 3 && g->OW <= 7 && g->OH >= 2) {
        const int64_t pairs = (g->OH + 1) / 2, npanels = (g->mg + 31) / 32, items = npanels * pairs;
        if (items < 2) nt = 1;
        (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int64_t it = 0; it < items; it++) {
            const int64_t q = it / pairs, oy = it % pairs * 2;
            const int R1 = (int)g->OW, R = oy + 1 < g->OH ? 2 * R1 : R1;
            const int nc = (int)(g->mg - q * 32 < 32 ? g->mg - q * 32 : 32);
                sqz_iconv_rows_f32__avx512(t, R, R1, q * 32, nc, xp + oy * g->Wp, g->Wp - g->OW,
                                       y + q * 32 * OHW + oy * g->OW, OHW);
        }
        return;
    }
    const int64_t chunks = (g->OW + 13) / 14, tiles = g->OH * chunks;
    const int64_t npanels = (g->mg + 31) / 32, items = npanels * tiles;
    if (items < 2) nt = 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t it = 0; it < items; it++) {
        const int64_t q = it / tiles, r = it % tiles, oy = r / chunks, ox0 = r % chunks * 14;
        const int R = (int)(g->OW - ox0 < 14 ? g->OW - ox0 : 14);
        const int nc = (int)(g->mg - q * 32 < 32 ? g->mg - q * 32 : 32);
        sqz_iconv_rows_f32__avx512(t, R, R, q * 32, nc, xp + oy * g->Wp + ox0, 0, y + q * 32 * OHW + oy * g->OW + ox0,
                                   OHW);
    }
}

static void conv_implicit(sqz_isa isa, int threads, const sqz_conv_params *p, const iconv_geom *g, const float *x,
                          const float *w, const float *packed_w, int64_t packed_stride, const float *bias,
                          const sqz_conv_act *act, int accumulate, float *y, void *scratch) {
    const int copies = iconv_copies(threads, p);
    float *xp0 = scratch;
    int32_t *off = (int32_t *)(xp0 + g->xp_floats * (size_t)copies);
    float *apack = (float *)(off + g->off_ints);
    const int64_t plane = g->Hp * g->Wp, kk = g->KH * g->KW, OHW = g->OH * g->OW;
    for (int64_t k = 0; k < g->kdim; k++) {
        const int64_t ci = k / kk, ry = (k % kk) / g->KW * g->dh, rx = k % g->KW * g->dw;
        const int64_t ph = (ry % g->sh) * g->sw + rx % g->sw;
        off[k] = (int32_t)((ph * g->cg + ci) * plane + ry / g->sh * g->Wp + rx / g->sw);
    }
    if (!packed_w && g->rows)
        sqz_gemm_f32_pack_b(isa, 1, g->kdim, g->mg, w, g->kdim, apack); /* one group */
    else if (!packed_w)
        for (int64_t gi = 0; gi < p->group; gi++)
            sqz_gemm_f32_pack_a(isa, 0, g->mg, g->kdim, w + gi * g->mg * g->kdim, g->kdim, apack + gi * g->a_floats);
    const sqz_iconv_rows tr = {.b = packed_w ? packed_w : apack, .np = (g->mg + 31) / 32 * 32, .kc = g->kcb,
                               .K = g->kdim, .off = off, .bias = bias, .clamp = act ? act->clamp : 0,
                               .lo = act ? act->lo : 0.0f, .hi = act ? act->hi : 0.0f,
                               .accumulate = accumulate};
    const sqz_iconv_tile t0 = {.rp = (g->mg + g->mr - 1) / g->mr * g->mr, .kc = g->kc, .K = g->kdim, .off = off,
                               .clamp = act ? act->clamp : 0, .lo = act ? act->lo : 0.0f,
                               .hi = act ? act->hi : 0.0f, .accumulate = accumulate};
    /* with enough image groups each thread takes whole ones (its own copy, no barrier per image);
     * else the threads split each image's tiles. Two loops, not one parallel loop with an if
     * clause: a parallel region inside even an inactive one is nested, and libgomp starts fresh
     * threads for every nested region (batch 1 on 2 threads ran 2x slower that way). Either way
     * every output element gets the same sum. */
    const int64_t jobs = p->batch * p->group, img = p->in[0] * p->in[1];
    if (copies > 1) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(copies) schedule(static)
#endif
        for (int64_t j = 0; j < jobs; j++) {
            const int64_t n = j / p->group, gi = j % p->group;
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            float *xp = xp0 + g->xp_floats * (size_t)tid;
            sqz_iconv_tile t = t0;
            t.a = packed_w ? packed_w + gi * packed_stride : apack + gi * g->a_floats;
            t.bias = bias ? bias + gi * g->mg : NULL;
            iconv_pad(1, p, g, x + (n * p->c_in + gi * g->cg) * img, xp);
            if (g->rows) iconv_image_rows(g, &tr, 1, xp, y + n * p->c_out * OHW);
            else iconv_image(g, &t, 1, xp, y + (n * p->c_out + gi * g->mg) * OHW);
        }
        return;
    }
    for (int64_t j = 0; j < jobs; j++) {
        const int64_t n = j / p->group, gi = j % p->group;
        sqz_iconv_tile t = t0;
        t.a = packed_w ? packed_w + gi * packed_stride : apack + gi * g->a_floats;
        t.bias = bias ? bias + gi * g->mg : NULL;
        iconv_pad(threads, p, g, x + (n * p->c_in + gi * g->cg) * img, xp0);
        if (g->rows) iconv_image_rows(g, &tr, threads, xp0, y + n * p->c_out * OHW);
        else iconv_image(g, &t, threads, xp0, y + (n * p->c_out + gi * g->mg) * OHW);
    }
}
#endif

static size_t scratch_bytes(sqz_isa isa, int threads, const sqz_conv_params *p, int packed) {
    if (p->group <= 0) return 0;
    isa = clamp_isa(isa);
    if (isa == SQZ_ISA_REF) return sqz_conv_scratch_bytes(p, sizeof(float));
    sqz_wino_plan wp;
    if (wino_plan(isa, threads, p, &wp)) return sqz_wino_f32_scratch_bytes(&wp, packed);
    iconv_geom ig;
    if (iconv_plan(isa, p, &ig)) return iconv_scratch_bytes(&ig, threads, p, packed);
    if (is_depthwise(p)) return 0;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    const size_t col = col_bytes(p);
    if (col == SIZE_MAX) return SIZE_MAX;
    const int64_t mg = p->c_out / p->group, kdim = (p->c_in / p->group) * kk;
    const int64_t ncols = p->nsp == 2 && p->out[0] > 0 ? outsp / p->out[0] * band_rows(p) : outsp;
    const int bt = block_threads(threads, p);
    if (bt > 1) { /* a copy of both per thread */
        const size_t gb = sqz_gemm_f32_scratch_bytes(isa, 1, mg, ncols * images_per_gemm(p), kdim);
        return mul_sat(add_sat(col, add_sat(gb, 63) & ~(size_t)63), bt);
    }
    return add_sat(col, sqz_gemm_f32_scratch_bytes(isa, threads, mg, ncols * images_per_gemm(p), kdim));
}

size_t sqz_conv_f32_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_params *p) {
    return scratch_bytes(isa, threads, p, 0);
}

size_t sqz_conv_f32_packed_scratch_bytes(sqz_isa isa, int threads, const sqz_conv_params *p) {
    return scratch_bytes(isa, threads, p, 1);
}

void sqz_dwconv2d_f32_plane(const sqz_dw_plane *g, const float *x, const float *w, float bias,
                            const sqz_conv_act *act, float *y) {
    for (int64_t i = 0; i < g->OH * g->OW; i++) y[i] = bias;
    for (int64_t oy = 0; oy < g->OH; oy++) {
        float *yrow = y + oy * g->OW;
        for (int64_t ky = 0; ky < g->KH; ky++) {
            const int64_t iy = oy * g->sh - g->ph + ky * g->dh;
            if (iy < 0 || iy >= g->H) continue;
            const float *xrow = x + iy * g->W;
            for (int64_t kx = 0; kx < g->KW; kx++) {
                const float wv = w[ky * g->KW + kx];
                const int64_t off = kx * g->dw - g->pw;
                int64_t lo = off < 0 ? (-off + g->sw - 1) / g->sw : 0;
                int64_t hi = g->W - 1 - off >= 0 ? (g->W - 1 - off) / g->sw + 1 : 0;
                if (hi > g->OW) hi = g->OW;
                if (g->sw == 1)
                    for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * xrow[ox + off];
                else
                    for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * xrow[ox * g->sw + off];
            }
        }
    }
    if (act && act->clamp)
        for (int64_t i = 0; i < g->OH * g->OW; i++) y[i] = fminf(fmaxf(y[i], act->lo), act->hi);
}

void sqz_dwconv2d_f32_plane_isa(sqz_isa isa, const sqz_dw_plane *g, const float *x, const float *w, float bias,
                                const sqz_conv_act *act, float *y) {
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX512 && sqz_dwconv2d_f32_plane__avx512(g, x, w, bias, act, y)) return;
    if (isa >= SQZ_ISA_AVX2 && isa < SQZ_ISA_AVX512 && sqz_dwconv2d_f32_plane__avx2(g, x, w, bias, act, y)) return;
#endif
    (void)isa;
    sqz_dwconv2d_f32_plane(g, x, w, bias, act, y);
}

static void conv_depthwise(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                           const float *bias, const sqz_conv_act *act, float *y) {
    const int two = p->nsp == 2;
    const sqz_dw_plane g = {.H = two ? p->in[0] : 1, .W = p->in[two], .OH = two ? p->out[0] : 1,
                            .OW = p->out[two], .KH = two ? p->kernel[0] : 1, .KW = p->kernel[two],
                            .sh = two ? p->stride[0] : 1, .sw = p->stride[two], .dh = two ? p->dilation[0] : 1,
                            .dw = p->dilation[two], .ph = two ? p->pad_begin[0] : 0, .pw = p->pad_begin[two]};
    const int64_t mult = p->c_out / p->group, planes = p->batch * p->c_out;
    const int64_t work = planes * g.OH * g.OW * g.KH * g.KW;
    const int nt = threads > 1 && work >= 65536 ? threads : 1;
    (void)nt;
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX512 && mult == 1) { /* small planes: a range of planes per call, pipelined */
        sqz_dw_plane probe = g;
        if (sqz_dwconv2d_f32_planes__avx512(&probe, x, w, bias, p->c_out, 0, 0, act, y)) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
            for (int t = 0; t < nt; t++)
                sqz_dwconv2d_f32_planes__avx512(&g, x, w, bias, p->c_out, planes * t / nt, planes * (t + 1) / nt, act, y);
            return;
        }
    }
#endif
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t n = pl / p->c_out, oc = pl % p->c_out;
        const float *xp = x + (n * p->c_in + oc / mult) * g.H * g.W;
        const float *wk = w + oc * g.KH * g.KW;
        sqz_dwconv2d_f32_plane_isa(isa, &g, xp, wk, bias ? bias[oc] : 0.0f, act, y + pl * g.OH * g.OW);
    }
}

/* 2-D im2col (as im2col below): per row (channel, ky, kx), each output row oy copies the valid
 * span of one input row (contiguous for stride 1) and zeroes the rest. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) static void im2col_2d(int threads, const sqz_conv_params *p, int64_t channels, const float *img, float *col,
                      int64_t ldcol) {
    const int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1], KH = p->kernel[0], KW = p->kernel[1];
    const int64_t sh = p->stride[0], sw = p->stride[1], dh = p->dilation[0], dw = p->dilation[1];
    const int64_t ph = p->pad_begin[0], pw = p->pad_begin[1];
    const int nt = threads > 1 && channels * KH * KW * OH * OW >= 65536 ? threads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t rowi = 0; rowi < channels * KH * KW; rowi++) {
        const int64_t ch = rowi / (KH * KW), ky = rowi / KW % KH, kx = rowi % KW;
        const float *im = img + ch * H * W;
        float *row = col + rowi * ldcol;
        const int64_t off = kx * dw - pw;
        int64_t lo = off < 0 ? (-off + sw - 1) / sw : 0;
        int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
        if (hi > OW) hi = OW;
        if (lo > hi) lo = hi;
        for (int64_t oy = 0; oy < OH; oy++) {
            float *r = row + oy * OW;
            const int64_t iy = oy * sh - ph + ky * dh;
            /* plain loops: rows are short (LeNet: 10 floats), a library call per span costs more */
            if (iy < 0 || iy >= H) {
                for (int64_t i = 0; i < OW; i++) r[i] = 0.0f;
                continue;
            }
            const float *src = im + iy * W + off;
            for (int64_t i = 0; i < lo; i++) r[i] = 0.0f;
            if (sw == 1)
                for (int64_t i = lo; i < hi; i++) r[i] = src[i];
            else
                for (int64_t i = lo; i < hi; i++) r[i] = src[i * sw];
            for (int64_t i = hi; i < OW; i++) r[i] = 0.0f;
        }
    }
}

/* im2col of one image group: col (channels*kk, outsp; row stride ldcol), row (ch, kernel offset),
 * column = output position; image positions outside the input read as 0. Rows split over threads. */
/* Row rowi = (channel, kernel offset) of the unfolded matrix of an N-D convolution over one
 * image group (img: channels planes): gathered into row (scatter 0: padding as zeros), or row
 * added back into img (scatter 1: col2im, what training's input gradient does). */
static void unfold_row(const sqz_conv_params *p, int64_t rowi, float *img, float *row, int scatter) {
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    const int last = p->nsp - 1;
    const int64_t L = p->out[last], IL = p->in[last], s = p->stride[last];
    const int64_t outer = L ? outsp / L : 0;
    int64_t kv[SQZ_REF_MAX_SPATIAL], rem = rowi % kk;
    for (int d = last; d >= 0; d--) {
        kv[d] = rem % p->kernel[d];
        rem /= p->kernel[d];
    }
    float *im = img + rowi / kk * insp;
    const int64_t off = kv[last] * p->dilation[last] - p->pad_begin[last];
    int64_t lo = off < 0 ? (-off + s - 1) / s : 0;
    int64_t hi = IL - 1 - off >= 0 ? (IL - 1 - off) / s + 1 : 0;
    if (hi > L) hi = L;
    if (lo > hi) lo = hi;
    int64_t pos[SQZ_REF_MAX_SPATIAL] = {0};
    for (int64_t o = 0; o < outer; o++) {
        int valid = 1;
        int64_t base = 0;
        for (int d = 0; d < last; d++) {
            const int64_t q = pos[d] * p->stride[d] - p->pad_begin[d] + kv[d] * p->dilation[d];
            if (q < 0 || q >= p->in[d]) valid = 0;
            base = base * p->in[d] + q;
        }
        float *r = row + o * L, *src = im + base * IL + off;
        if (scatter) {
            if (valid)
                for (int64_t i = lo; i < hi; i++) src[i * s] += r[i];
        } else if (!valid) {
            for (int64_t i = 0; i < L; i++) r[i] = 0.0f;
        } else {
            for (int64_t i = 0; i < lo; i++) r[i] = 0.0f;
            if (s == 1)
                for (int64_t i = lo; i < hi; i++) r[i] = src[i];
            else
                for (int64_t i = lo; i < hi; i++) r[i] = src[i * s];
            for (int64_t i = hi; i < L; i++) r[i] = 0.0f;
        }
        for (int d = last - 1; d >= 0; d--) {
            if (++pos[d] < p->out[d]) break;
            pos[d] = 0;
        }
    }
}

static void im2col(sqz_isa isa, int threads, const sqz_conv_params *p, int64_t channels, const float *img,
                   float *col, int64_t ldcol) {
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    if (p->nsp == 2) {
#if defined(__x86_64__)
        if (isa >= SQZ_ISA_AVX512 && p->stride[1] <= 2) {
            const int64_t rows = channels * kk;
            const int nt = threads > 1 && rows * outsp >= 65536 ? threads : 1;
            (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
            for (int t = 0; t < nt; t++)
                sqz_im2col2d_f32__avx512(p, rows * t / nt, rows * (t + 1) / nt, img, col, ldcol);
            return;
        }
#endif
        im2col_2d(threads, p, channels, img, col, ldcol);
        return;
    }
    const int nt = threads > 1 && channels * kk * outsp >= 65536 ? threads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t rowi = 0; rowi < channels * kk; rowi++) unfold_row(p, rowi, (float *)img, col + rowi * ldcol, 0);
}

void sqz_conv_unfold_f32(const sqz_conv_params *p, int64_t channels, float *img, float *col, int64_t ldcol,
                         int scatter) {
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    for (int64_t rowi = 0; rowi < channels * kk; rowi++) unfold_row(p, rowi, img, col + rowi * ldcol, scatter);
}

void sqz_conv_f32(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                  const float *bias, const sqz_conv_act *act, float *y, void *scratch) {
    sqz_conv_f32_packed(isa, threads, p, x, w, NULL, 0, bias, act, y, scratch);
}

const char *sqz_conv_f32_path(sqz_isa isa, const sqz_conv_params *p) {
    isa = clamp_isa(isa);
    if (isa == SQZ_ISA_REF) return "ref";
    sqz_wino_plan wp;
    if (wino_plan(isa, 1, p, &wp)) return "winograd";
    iconv_geom ig;
    if (iconv_plan(isa, p, &ig)) return "implicit";
    if (is_depthwise(p)) return "depthwise";
    return images_per_gemm(p) == 1 && is_pointwise(p) ? "pointwise" : "im2col";
}

int sqz_conv_f32_implicit(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                          int accumulate, float *y, void *scratch) {
    isa = clamp_isa(isa);
#if defined(__x86_64__)
    sqz_wino_plan wp;
    if (p->batch > 0 && wino_plan(isa, threads, p, &wp)) {
        const sqz_wino_out o = {.accumulate = accumulate != 0};
        sqz_wino_f32_run(&wp, threads, x, w, NULL, &o, y, scratch);
        return 1;
    }
    iconv_geom ig;
    if (p->batch <= 0 || !iconv_plan(isa, p, &ig)) return 0;
    conv_implicit(isa, threads, p, &ig, x, w, NULL, 0, NULL, NULL, accumulate != 0, y, scratch);
    return 1;
#else
    (void)threads, (void)p, (void)x, (void)w, (void)accumulate, (void)y, (void)scratch;
    return 0;
#endif
}

int sqz_conv_f32_packed_form(sqz_isa isa, const sqz_conv_params *p) {
    isa = clamp_isa(isa);
    if (isa == SQZ_ISA_REF || p->group <= 0) return 0;
    sqz_wino_plan wp;
    if (wino_plan(isa, 1, p, &wp)) return 'W';
    iconv_geom ig;
    if (iconv_plan(isa, p, &ig)) return ig.rows ? 'B' : 'A';
    return is_depthwise(p) ? 0 : 'A'; /* the direct depthwise loops read the weights as they are */
}

size_t sqz_conv_f32_packed_w_bytes(sqz_isa isa, const sqz_conv_params *p) {
    isa = clamp_isa(isa);
    const int form = sqz_conv_f32_packed_form(isa, p);
    if (!form) return 0;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    if (form == 'W') return sizeof(float) * (size_t)sqz_wino_f32_u_floats(p->c_in, p->c_out);
    if (form == 'B') return sqz_gemm_f32_packed_b_bytes(isa, (p->c_in / p->group) * kk, p->c_out / p->group);
    return sqz_gemm_f32_packed_a_bytes(isa, p->c_out / p->group, (p->c_in / p->group) * kk);
}

/* One block of nb images (or one image) of the im2col + GEMM path, on the buffers at buf: col
 * (kdim, nb * outsp), with stacked images then the shared GEMM output (mg, nb * outsp), then
 * the GEMM's scratch. */
typedef struct im2col_job {
    sqz_isa isa;
    int threads;
    const sqz_conv_params *p;
    const float *x, *w, *packed_w, *bias;
    int64_t packed_stride;
    sqz_gemm_epi epi;
    float *y;
    int64_t nb;
    int pointwise;
    size_t cb;
} im2col_job;

static void im2col_block(const im2col_job *j, int64_t blk, void *buf) {
    const sqz_conv_params *p = j->p;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    const int64_t cg = p->c_in / p->group, mg = p->c_out / p->group, kdim = cg * kk, nb = j->nb;
    float *col = buf;
    char *gst = (char *)buf + j->cb;
    float *tmp = nb > 1 ? col + ((size_t)kdim * (size_t)(nb * outsp) + 15) / 16 * 16 : NULL;
    sqz_gemm_epi e = j->epi;
    const int64_t n0 = blk * nb, nbi = p->batch - n0 < nb ? p->batch - n0 : nb, cols = nbi * outsp;
    for (int64_t g = 0; g < p->group; g++) {
        for (int64_t b = 0; b < nbi && !j->pointwise; b++)
            im2col(j->isa, j->threads, p, cg, j->x + ((n0 + b) * p->c_in + g * cg) * insp, col + b * outsp, cols);
        e.bias_m = j->bias ? j->bias + g * mg : NULL;
        float *out = nb > 1 ? tmp : j->y + (n0 * p->c_out + g * mg) * outsp;
        const sqz_gemm_f32_args ga = {.M = mg, .N = cols, .K = kdim, .alpha = 1.0f, .beta = 0.0f,
                                      .A = j->w + g * mg * kdim, .lda = kdim,
                                      .B = j->pointwise ? j->x + (n0 * p->c_in + g * cg) * insp : col, .ldb = cols,
                                      .C = out, .ldc = cols, .epi = &e,
                                      .packed_a = j->packed_w ? j->packed_w + g * j->packed_stride : NULL};
        sqz_gemm_f32(j->isa, j->threads, &ga, gst);
        if (nb > 1)
            for (int64_t m = 0; m < mg; m++)
                for (int64_t b = 0; b < nbi; b++)
                    memcpy(j->y + ((n0 + b) * p->c_out + g * mg + m) * outsp, out + m * cols + b * outsp,
                           sizeof(float) * (size_t)outsp);
    }
}

void sqz_conv_f32_packed(sqz_isa isa, int threads, const sqz_conv_params *p, const float *x, const float *w,
                         const float *packed_w, int64_t packed_stride, const float *bias, const sqz_conv_act *act,
                         float *y, void *scratch) {
    isa = clamp_isa(isa);
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    if (isa == SQZ_ISA_REF) {
        sqz_conv_f32_ref(p, x, w, bias, y, scratch);
        if (act && act->clamp) {
            const int64_t n = p->batch * p->c_out * outsp;
            for (int64_t i = 0; i < n; i++) y[i] = fminf(fmaxf(y[i], act->lo), act->hi);
        }
        return;
    }
    if (outsp == 0 || p->c_out == 0 || p->batch == 0) return;
#if defined(__x86_64__)
    sqz_wino_plan wp;
    if (wino_plan(isa, threads, p, &wp)) {
        const sqz_wino_out o = {.bias = bias, .clamp = act ? act->clamp : 0, .lo = act ? act->lo : 0.0f,
                                .hi = act ? act->hi : 0.0f, .accumulate = 0};
        sqz_wino_f32_run(&wp, threads, x, w, packed_w, &o, y, scratch);
        return;
    }
    iconv_geom ig;
    if (iconv_plan(isa, p, &ig)) {
        conv_implicit(isa, threads, p, &ig, x, w, packed_w, packed_stride, bias, act, 0, y, scratch);
        return;
    }
#endif
    if (is_depthwise(p)) {
        conv_depthwise(isa, threads, p, x, w, bias, act, y);
        return;
    }
    const int64_t cg = p->c_in / p->group, mg = p->c_out / p->group, kdim = cg * kk;
    const int64_t nb = images_per_gemm(p);
    const int pointwise = nb == 1 && is_pointwise(p);
    float *col = scratch;
    const size_t cb = col_bytes(p);
    char *gemm_scratch = (char *)scratch + cb;
    sqz_gemm_epi epi = {.clamp = act ? act->clamp : 0, .lo = act ? act->lo : 0.0f, .hi = act ? act->hi : 0.0f};
    const int64_t band = p->nsp == 2 ? band_rows(p) : 0;
    if (p->nsp == 2 && band < p->out[0]) {
        /* bands of output rows: im2col of the band (an image whose output starts at row oy0:
         * the top padding shifts by oy0 * stride), then a GEMM writing those columns of y */
        const int64_t OW = p->out[1];
        for (int64_t n = 0; n < p->batch; n++)
            for (int64_t g = 0; g < p->group; g++) {
                const float *img = x + (n * p->c_in + g * cg) * insp;
                epi.bias_m = bias ? bias + g * mg : NULL;
                for (int64_t oy0 = 0; oy0 < p->out[0]; oy0 += band) {
                    sqz_conv_params q = *p;
                    q.out[0] = p->out[0] - oy0 < band ? p->out[0] - oy0 : band;
                    q.pad_begin[0] = p->pad_begin[0] - oy0 * p->stride[0];
                    const int64_t cols = q.out[0] * OW;
                    im2col(isa, threads, &q, cg, img, col, cols);
                    const sqz_gemm_f32_args ga = {.M = mg, .N = cols, .K = kdim, .alpha = 1.0f, .beta = 0.0f,
                                                  .A = w + g * mg * kdim, .lda = kdim, .B = col, .ldb = cols,
                                                  .C = y + (n * p->c_out + g * mg) * outsp + oy0 * OW, .ldc = outsp,
                                                  .epi = &epi,
                                                  .packed_a = packed_w ? packed_w + g * packed_stride : NULL};
                    sqz_gemm_f32(isa, threads, &ga, gemm_scratch);
                }
            }
        return;
    }
    /* blocks of nb images; with bt > 1 each thread takes whole blocks on its own copy of the
     * buffers (the same operations per block either way: the bits do not depend on it). Two
     * loops, not one parallel loop with an if clause: a GEMM's parallel region inside even an
     * inactive one is nested, and libgomp starts fresh threads for every nested region */
    const int bt = block_threads(threads, p);
    const int64_t nblocks = (p->batch + nb - 1) / nb;
    const im2col_job job = {.isa = isa, .threads = bt > 1 ? 1 : threads, .p = p, .x = x, .w = w, .packed_w = packed_w,
                            .packed_stride = packed_stride, .bias = bias, .epi = epi, .y = y, .nb = nb,
                            .pointwise = pointwise, .cb = cb};
    if (bt > 1) {
        const int64_t ncols = p->nsp == 2 && p->out[0] > 0 ? outsp / p->out[0] * band_rows(p) : outsp;
        const size_t per = cb + ((sqz_gemm_f32_scratch_bytes(isa, 1, mg, ncols * nb, kdim) + 63) & ~(size_t)63);
#ifdef _OPENMP
#pragma omp parallel for num_threads(bt) schedule(static)
#endif
        for (int64_t blk = 0; blk < nblocks; blk++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            im2col_block(&job, blk, (char *)scratch + per * (size_t)tid);
        }
        return;
    }
    for (int64_t blk = 0; blk < nblocks; blk++) im2col_block(&job, blk, scratch);
}

void sqz_conv_f32_pack_winograd(const sqz_conv_params *p, const float *w, float *dst) {
    sqz_wino_f32_pack_u(p->c_in, p->c_out, w, dst);
}

int64_t sqz_conv_f32_pack_weights(sqz_isa isa, const sqz_conv_params *p, const float *w, float *dst) {
    isa = clamp_isa(isa);
    const int form = sqz_conv_f32_packed_form(isa, p);
    const size_t bytes = sqz_conv_f32_packed_w_bytes(isa, p);
    if (!form || !bytes) return 0;
    int64_t insp, outsp, kk;
    geometry(p, &insp, &outsp, &kk);
    const int64_t stride = (int64_t)((bytes + 63) / 64 * 16), mg = p->c_out / p->group, kd = (p->c_in / p->group) * kk;
    if (form == 'W') sqz_conv_f32_pack_winograd(p, w, dst);
    else if (form == 'B') sqz_gemm_f32_pack_b(isa, 1, kd, mg, w, kd, dst);
    else
        for (int64_t g = 0; g < p->group; g++) sqz_gemm_f32_pack_a(isa, 0, mg, kd, w + g * mg * kd, kd, dst + g * stride);
    return stride;
}
