/* kernels/dwconv_s8.c - int8 depthwise 2-D convolution.
 *
 * 3x3 and 5x5 kernels with stride 1 or 2 (no dilation) run plane by plane on vector code
 * (AVX-512 VNNI for the avx512vnni kernel family, AVX2 for avx2 / avxvnni): 16-bit pair planes
 * and VPDPWSSD / VPMADDWD, see kernels/x86/dwconv_s8_plane.h. Any other geometry (and any CPU
 * without those kernels) runs the portable direct path: each output row is accumulated in 32-bit
 * sums tap by tap over the columns whose input is inside the image (a vectorised row loop; padded
 * positions read x_zp and so add nothing), then requantized by the shared epilogue.
 * Both compute the oracle's wrapping integer sums and its float requantization: the same bits.
 * Threads split the (batch x channel) planes in a fixed way. */
#include <string.h>

#include "kernels/conv_f32.h"
#include "kernels/int8.h"
#include "kernels/x86/dwconv_s8_plane.h"
#include "kernels/x86/gemm_s8_ukernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define DW_MAX_THREADS 64

#define DW_ROW(NAME, ATTR, T)                                                                      \
    static ATTR void NAME(uint32_t *restrict acc, const T *restrict xr, int64_t n, int64_t sw, int32_t zx, \
                          int32_t wv) {                                                            \
        const uint32_t w = (uint32_t)wv;                                                           \
        if (sw == 1) {                                                                             \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) acc[i] += (uint32_t)((int32_t)xr[i] - zx) * w; \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) acc[i] += (uint32_t)((int32_t)xr[i * sw] - zx) * w;     \
        }                                                                                          \
    }

DW_ROW(row_u8, , uint8_t)
DW_ROW(row_s8, , int8_t)
#if defined(__x86_64__)
DW_ROW(row_u8_avx2, __attribute__((target("avx2"))), uint8_t)
DW_ROW(row_s8_avx2, __attribute__((target("avx2"))), int8_t)
#endif

typedef void (*dw_row_fn)(uint32_t *, const void *, int64_t, int64_t, int32_t, int32_t);

/* ---- the plane path ---- */

#define PLANE_SLACK 48   /* int32s past a band's pair rows: dropped flat outputs read <= 17 */
#define PLANE_BAND_BYTES 16384 /* pair planes of one band */

int sqz_qdw_plane_init(sqz_qdw_plane *g) {
    if (g->k != 3 && g->k != 5) return 0;
    if (g->s != 1 && g->s != 2) return 0;
    if (g->ih < 1 || g->iw < 1 || g->oh < 1 || g->ow < 1 || g->ph < 0 || g->pw < 0) return 0;
    if (g->oh > (1 << 24) || g->ow > (1 << 24) || g->ih > (1 << 26) || g->iw > (1 << 26)) return 0;
    const int64_t extra = ((g->k + 1) / 2 - 1) * (2 / g->s);
    g->wq = g->ow + (g->k - 1) / g->s;
    int64_t rows = PLANE_BAND_BYTES / (g->s * g->wq * 4) - extra;
    if (rows < 2) rows = 2;
    const int64_t nb = (g->oh + rows - 1) / rows;
    g->band = (g->oh + nb - 1) / nb;
    g->nqb = g->band + extra;
    g->pstride = (g->nqb * g->wq + PLANE_SLACK + 15) / 16 * 16;
    g->tflat = (g->band * g->wq + 15) / 16 * 16;
    return 1;
}

size_t sqz_qdw_plane_scratch(const sqz_qdw_plane *g) {
    return sqz_qdw_plane_rows_offset(g) + ((size_t)(3 * sqz_qdw_plane_row_bytes(g)) + 63) / 64 * 64;
}

void sqz_qdw_plane_prepare(const sqz_qdw_plane *g, void *scratch) {
    memset(scratch, 0, sqz_qdw_plane_t_offset(g));
    memset((char *)scratch + sqz_qdw_plane_rows_offset(g), (uint8_t)g->x_zp, (size_t)(3 * sqz_qdw_plane_row_bytes(g)));
}

/* The plane geometry of p (without the epilogue fields); 0 when the plane path does not take it. */
static int plane_geom(const sqz_qdw_params *p, sqz_qdw_plane *g) {
    memset(g, 0, sizeof *g);
    if (p->kh != p->kw || p->sh != p->sw || p->dh != 1 || p->dw != 1) return 0;
    *g = (sqz_qdw_plane){.ih = p->ih, .iw = p->iw, .oh = p->oh, .ow = p->ow, .ph = p->ph, .pw = p->pw,
                         .k = (int)p->kh, .s = (int)p->sh};
    if (p->kh > 5 || p->sh > 2) return 0;
    return sqz_qdw_plane_init(g);
}

static size_t plane_scratch(const sqz_qdw_params *p) {
    sqz_qdw_plane g;
    return plane_geom(p, &g) ? (sqz_qdw_plane_scratch(&g) + 63) / 64 * 64 : 0;
}

/* ---- the float route (AVX-512) ----
 * Small planes that the fp32 depthwise kernels hold in registers (3x3 pad 1: 7x7, 14x14 -> 7x7,
 * widths 8 .. 14: kernels/x86/dwconv_f32_avx512.c) run there: x - x_zp and w - w_zp as floats
 * (integers of at most 255 in magnitude, with zero points inside their dtype's range), whose
 * products and sums of up to 25 taps stay below 2^24 and so are exact in float, in whatever
 * order; the sums go back to int32, then the bias and the oracle's requantization as on the
 * other paths: the same bytes. 16 planes of one image at a time. */
#define FLOAT_GROUP 16

static sqz_dw_plane float_geom(const sqz_qdw_params *p) {
    return (sqz_dw_plane){.H = p->ih, .W = p->iw, .OH = p->oh, .OW = p->ow, .KH = p->kh, .KW = p->kw, .sh = p->sh,
                          .sw = p->sw, .dh = p->dh, .dw = p->dw, .ph = p->ph, .pw = p->pw};
}

static int float_ok(const sqz_qdw_params *p, int x_s8, int32_t x_zp, int w_u8, const sqz_qepi *epi) {
#if defined(__x86_64__)
    if (sqz_cpu_isa_supported() < SQZ_ISA_AVX512 || p->kh * p->kw > 25) return 0;
    if (x_s8 ? x_zp < -128 || x_zp > 127 : x_zp < 0 || x_zp > 255) return 0;
    if (epi->w_zp)
        for (int64_t c = 0; c < p->C; c++)
            if (w_u8 ? epi->w_zp[c] < 0 || epi->w_zp[c] > 255 : epi->w_zp[c] < -128 || epi->w_zp[c] > 127) return 0;
    const sqz_dw_plane g = float_geom(p);
    return p->ow < 16 && sqz_dwconv2d_f32_regs_ok(&g);
#else
    (void)p, (void)x_s8, (void)x_zp, (void)w_u8, (void)epi;
    return 0;
#endif
}

/* Per thread: a group's input and output planes as floats, and one plane of int32 sums. */
static size_t float_scratch(const sqz_qdw_params *p) {
    const size_t in = ((size_t)(FLOAT_GROUP * p->ih * p->iw) * 4 + 63) / 64 * 64;
    const size_t out = ((size_t)(FLOAT_GROUP * p->oh * p->ow) * 4 + 63) / 64 * 64;
    return in + out;
}

static size_t row_scratch(const sqz_qdw_params *p) {
    const size_t row = ((size_t)p->ow * 4 + 63) / 64 * 64;
    const size_t wts = ((size_t)(p->kh * p->kw) * 4 + 63) / 64 * 64;
    return row + wts;
}

size_t sqz_qdwconv_scratch_bytes(const sqz_qdw_params *p, int threads) {
    if (threads < 1) threads = 1;
    if (threads > DW_MAX_THREADS) threads = DW_MAX_THREADS;
    size_t ps = plane_scratch(p), rs = row_scratch(p);
    const size_t fs = p->ow < 16 ? float_scratch(p) : 0;
    if (fs > ps) ps = fs;
    /* + the weight pairs of every channel (plane path), or its float weights (float route) */
    const size_t wb = ps ? (size_t)p->C * 64 + (size_t)(p->C * p->kh * p->kw) * 4 : 0;
    return (size_t)threads * (ps > rs ? ps : rs) + wb + 64;
}

/* First and one-past-last output column whose input column ox*sw - pw + off lies in [0, iw). */
static void inside(int64_t ow, int64_t sw, int64_t pw, int64_t off, int64_t iw, int64_t *lo, int64_t *hi) {
    const int64_t a = pw - off; /* need ox*sw >= a */
    int64_t l = a <= 0 ? 0 : (a + sw - 1) / sw;
    const int64_t b = iw + pw - off; /* need ox*sw < b */
    int64_t h = b <= 0 ? 0 : (b + sw - 1) / sw;
    if (h > ow) h = ow;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* What every thread's part reads. */
typedef struct dw_job {
    const sqz_qdw_params *p;
    const void *x, *w;
    int x_s8, w_u8;
    int32_t x_zp;
    void *y;
    const sqz_qepi *epi;
    char *scratch;
    size_t per_thread; /* scratch bytes of one thread */
    int32_t *wpairs;   /* plane path: (C, 16) weight pairs */
    float *wf;         /* float route: (C, kh*kw) w - w_zp */
    int plane;         /* the plane path: 1 AVX-512, 2 AVX2, 3 the float route; 0 the row path */
    sqz_qdw_plane g;
    dw_row_fn row;
    sqz_qepi_tile_fn epi_fn;
} dw_job;

/* Weight pairs of channel c for the plane path (see dwconv_s8_plane.h). */
static void plane_weights(const dw_job *j, int64_t c, int32_t *wp) {
    const int K = j->g.k, NP = (K + 1) / 2;
    const int32_t wz = j->epi->w_zp ? j->epi->w_zp[c] : 0;
    int32_t v[6 * 5] = {0}; /* (K + 1) rows of K: the row past K stays 0 */
    if (j->w_u8)
        for (int t = 0; t < K * K; t++) v[t] = (int32_t)((const uint8_t *)j->w)[c * K * K + t] - wz;
    else
        for (int t = 0; t < K * K; t++) v[t] = (int32_t)((const int8_t *)j->w)[c * K * K + t] - wz;
    for (int p = 0; p < NP; p++)
        for (int kx = 0; kx < K; kx++)
            wp[p * K + kx] = (int32_t)((uint32_t)(uint16_t)v[2 * p * K + kx] | (uint32_t)(uint16_t)v[(2 * p + 1) * K + kx] << 16);
}

static void plane_part(const dw_job *j, int64_t q0, int64_t q1, void *scr) {
    const sqz_qdw_params *p = j->p;
    const sqz_qepi *epi = j->epi;
    const size_t osz = epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
    if (q1 > q0) sqz_qdw_plane_prepare(&j->g, scr);
    for (int64_t q = q0; q < q1; q++) {
        const int64_t c = q % p->C;
        const int32_t *wp = j->wpairs + c * 16;
        const int32_t bias = epi->bias ? epi->bias[c] : 0;
        const float scale = epi->scale ? epi->scale[c] : 0.0f;
        const void *xp = (const char *)j->x + (size_t)(q * p->ih * p->iw);
        void *yp = (char *)j->y + (size_t)(q * p->oh * p->ow) * osz;
#if defined(__x86_64__)
        if (j->plane == 1) sqz_qdw_plane__avx512(&j->g, xp, wp, bias, scale, yp, scr);
        else sqz_qdw_plane__avx2(&j->g, xp, wp, bias, scale, yp, scr);
#else
        (void)xp, (void)yp, (void)scr, (void)bias, (void)scale;
#endif
    }
}

static void float_part(const dw_job *j, int64_t q0, int64_t q1, void *scr) {
#if defined(__x86_64__)
    const sqz_qdw_params *p = j->p;
    const sqz_qepi *epi = j->epi;
    const size_t osz = epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
    const int64_t HW = p->ih * p->iw, OHW = p->oh * p->ow, kk = p->kh * p->kw;
    float *xf = scr, *yf = (float *)((char *)scr + ((size_t)(FLOAT_GROUP * HW) * 4 + 63) / 64 * 64);
    const sqz_dw_plane g = float_geom(p);
    for (int64_t q = q0; q < q1;) {
        const int64_t c0 = q % p->C; /* a group: planes of one image, channels c0 .. */
        int64_t n = q1 - q < FLOAT_GROUP ? q1 - q : FLOAT_GROUP;
        if (n > p->C - c0) n = p->C - c0;
        sqz_qdw_to_f32__avx512((const char *)j->x + (size_t)(q * HW), j->x_s8, j->x_zp, n * HW, xf);
        sqz_dwconv2d_f32_planes__avx512(&g, xf, j->wf + c0 * kk, NULL, n, 0, n, NULL, yf);
        for (int64_t i = 0; i < n; i++) {
            const int64_t c = c0 + i;
            sqz_qdw_requant_f32__avx512(yf + i * OHW, OHW, epi->bias ? epi->bias[c] : 0,
                                        epi->scale ? epi->scale[c] : 0.0f, epi,
                                        (char *)j->y + (size_t)((q + i) * OHW) * osz);
        }
        q += n;
    }
#else
    (void)j, (void)q0, (void)q1, (void)scr;
#endif
}

static void row_part(const dw_job *j, int64_t q0, int64_t q1, void *scr) {
    const sqz_qdw_params *p = j->p;
    const sqz_qepi *epi = j->epi;
    const size_t osz = epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
    const int64_t taps = p->kh * p->kw;
    const size_t rowb = ((size_t)p->ow * 4 + 63) / 64 * 64;
    uint32_t *acc = scr;
    int32_t *wv = (int32_t *)((char *)scr + rowb);
    for (int64_t q = q0; q < q1; q++) {
        const int64_t c = q % p->C;
        const int32_t wz = epi->w_zp ? epi->w_zp[c] : 0;
        for (int64_t t = 0; t < taps; t++)
            wv[t] = (j->w_u8 ? (int32_t)((const uint8_t *)j->w)[c * taps + t]
                             : (int32_t)((const int8_t *)j->w)[c * taps + t]) - wz;
        const char *xp = (const char *)j->x + (size_t)(q * p->ih * p->iw);
        char *yp = (char *)j->y + (size_t)(q * p->oh * p->ow) * osz;
        /* The epilogue sees one channel: row 0, with this channel's scale and bias. */
        sqz_qepi ec = *epi;
        if (epi->scale) ec.scale = epi->scale + c;
        const int32_t bias = epi->bias ? epi->bias[c] : 0;
        sqz_qepi_ctx er = {.epi = &ec, .w_rows = 1, .woff = &bias, .wzp = NULL, .xsum = NULL, .ldy = 0};
        for (int64_t oy = 0; oy < p->oh; oy++) {
            memset(acc, 0, (size_t)p->ow * 4);
            for (int64_t ky = 0; ky < p->kh; ky++) {
                const int64_t iy = oy * p->sh - p->ph + ky * p->dh;
                if (iy < 0 || iy >= p->ih) continue;
                for (int64_t kx = 0; kx < p->kw; kx++) {
                    int64_t lo, hi;
                    const int64_t off = kx * p->dw;
                    inside(p->ow, p->sw, p->pw, off, p->iw, &lo, &hi);
                    if (hi <= lo) continue;
                    const char *xr = xp + (size_t)(iy * p->iw + lo * p->sw - p->pw + off);
                    j->row(acc + lo, xr, hi - lo, p->sw, j->x_zp, wv[ky * p->kw + kx]);
                }
            }
            er.y = yp + (size_t)(oy * p->ow) * osz;
            j->epi_fn((const int32_t *)acc, (int)p->ow, 1, (int)p->ow, 0, 0, &er);
        }
    }
}

static void dw_part(const dw_job *j, int tid, int nt) {
    const int64_t planes = j->p->batch * j->p->C;
    const int64_t q0 = planes * tid / nt, q1 = planes * (tid + 1) / nt;
    void *scr = j->scratch + (size_t)tid * j->per_thread;
    if (j->plane == 3) float_part(j, q0, q1, scr);
    else if (j->plane) plane_part(j, q0, q1, scr);
    else row_part(j, q0, q1, scr);
}

/* 1 when x_zp is a value of the activation dtype and every w - w_zp fits in 16 bits (always so
 * for u8 / s8 zero points). */
static int zp_ok(const sqz_qdw_params *p, int x_s8, int32_t x_zp, const sqz_qepi *epi) {
    if (x_s8 ? x_zp < -128 || x_zp > 127 : x_zp < 0 || x_zp > 255) return 0;
    if (epi->w_zp)
        for (int64_t c = 0; c < p->C; c++)
            if (epi->w_zp[c] < -32512 || epi->w_zp[c] > 32512) return 0;
    return 1;
}

const char *sqz_qdwconv_path(sqz_qkind kind, const sqz_qdw_params *p) {
    if (kind == SQZ_QK_REF || !sqz_qkind_supported(kind)) return "reference";
#if defined(__x86_64__)
    sqz_qdw_plane g;
    if (plane_geom(p, &g)) return "depthwise";
#endif
    return "depthwise-rows";
}

void sqz_qdwconv(sqz_qkind kind, int threads, const sqz_qdw_params *p, const void *x, int x_s8, int32_t x_zp,
                 const void *w, int w_u8, void *y, const sqz_qepi *epi, void *scratch) {
    if (kind == SQZ_QK_REF || !sqz_qkind_supported(kind)) {
        sqz_qdwconv_ref(p, x, x_s8, x_zp, w, w_u8, y, epi);
        return;
    }
    const int64_t planes = p->batch * p->C;
    if (planes <= 0 || p->oh <= 0 || p->ow <= 0) return;
    dw_job j = {.p = p, .x = x, .w = w, .x_s8 = x_s8, .w_u8 = w_u8, .x_zp = x_zp, .y = y, .epi = epi,
                .scratch = scratch, .row = x_s8 ? (dw_row_fn)row_s8 : (dw_row_fn)row_u8,
                .epi_fn = sqz_qepi_tile_c};
#if defined(__x86_64__)
    j.row = x_s8 ? (dw_row_fn)row_s8_avx2 : (dw_row_fn)row_u8_avx2;
    j.epi_fn = kind == SQZ_QK_AVX512VNNI ? sqz_qepi_tile__avx512 : sqz_qepi_tile__avx2;
    if (kind == SQZ_QK_AVX512VNNI && float_ok(p, x_s8, x_zp, w_u8, epi)) {
        j.plane = 3;
    } else if (plane_geom(p, &j.g) && zp_ok(p, x_s8, x_zp, epi)) {
        j.plane = kind == SQZ_QK_AVX512VNNI ? 1 : 2;
        j.g.x_s8 = x_s8;
        j.g.x_zp = x_zp;
        j.g.out = epi->out;
        j.g.y_zp = epi->y_zp;
        j.g.lo = epi->lo;
        j.g.hi = epi->hi;
    }
#endif
    int nt = threads < 1 ? 1 : threads > DW_MAX_THREADS ? DW_MAX_THREADS : threads;
    if (nt > planes) nt = (int)planes;
#ifndef _OPENMP
    nt = 1;
#endif
    {
        size_t ps = plane_scratch(p), rs = row_scratch(p);
        const size_t fs = p->ow < 16 ? float_scratch(p) : 0;
        if (fs > ps) ps = fs;
        j.per_thread = ps > rs ? ps : rs;
        if (j.plane == 3) { /* after the parts of as many threads as the scratch was sized for */
            const int64_t kk = p->kh * p->kw;
            j.wf = (float *)(j.scratch + (size_t)nt * j.per_thread);
            for (int64_t c = 0; c < p->C; c++) {
                const int32_t wz = epi->w_zp ? epi->w_zp[c] : 0;
                for (int64_t t = 0; t < kk; t++)
                    j.wf[c * kk + t] = (float)((w_u8 ? (int32_t)((const uint8_t *)w)[c * kk + t]
                                                     : (int32_t)((const int8_t *)w)[c * kk + t]) - wz);
            }
        } else if (j.plane) {
            j.wpairs = (int32_t *)(j.scratch + (size_t)nt * j.per_thread);
            for (int64_t c = 0; c < p->C; c++) plane_weights(&j, c, j.wpairs + c * 16);
        }
    }
    if (nt == 1) { /* no parallel region at all (not even an inactive one, see docs/kernels.md) */
        dw_part(&j, 0, 1);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        dw_part(&j, tid, nt);
    }
}
