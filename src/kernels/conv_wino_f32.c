/* kernels/conv_wino_f32.c - Winograd F(4x4, 3x3) convolution driver (see conv_wino_f32.h): the
 * weight transform, the plan (jobs, blocks, buffers) and the phases of a run over threads. */
#include "kernels/conv_wino_f32.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int64_t sqz_wino_f32_u_floats(int64_t C, int64_t K) { return 36 * ((K + 31) / 32) * C * 32; }

/* G (6x3) of F(4x4, 3x3) */
static const float wino_g[6][3] = {{1.0f / 4, 0, 0},
                                   {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                   {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                   {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                   {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                   {0, 0, 1}};

/* Panel by panel, input channel by input channel, the panel's 32 output channels innermost: each
 * element's 32 results are stored contiguously (a training step transforms its weights on every
 * forward and backward call). */
void sqz_wino_f32_pack_u(int64_t C, int64_t K, const float *w, float *u) {
    const int64_t kpanels = (K + 31) / 32;
    memset(u, 0, sizeof(float) * (size_t)sqz_wino_f32_u_floats(C, K));
    for (int64_t kp = 0; kp < kpanels; kp++) {
        const int64_t nk = K - kp * 32 < 32 ? K - kp * 32 : 32;
        for (int64_t c = 0; c < C; c++) {
            float out[36][32];
            for (int64_t j = 0; j < nk; j++) {
                const float *g = w + ((kp * 32 + j) * C + c) * 9;
                float t[6][3]; /* G g */
                for (int i = 0; i < 6; i++)
                    for (int b = 0; b < 3; b++)
                        t[i][b] = wino_g[i][0] * g[b] + wino_g[i][1] * g[3 + b] + wino_g[i][2] * g[6 + b];
                for (int i = 0; i < 6; i++)
                    for (int jj = 0; jj < 6; jj++)
                        out[i * 6 + jj][j] = t[i][0] * wino_g[jj][0] + t[i][1] * wino_g[jj][1] + t[i][2] * wino_g[jj][2];
            }
            for (int xi = 0; xi < 36; xi++)
                memcpy(u + ((xi * kpanels + kp) * C + c) * 32, out[xi], sizeof(float) * (size_t)nk);
        }
    }
}

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* Taken for C, K >= 16 (smaller layers spend more on the transforms than they save) and outputs
 * that fill at least half of their 4x4 tiles. */
int sqz_wino_f32_plan(sqz_isa isa, const sqz_conv_params *p, int threads, sqz_wino_plan *w) {
#if !defined(__x86_64__)
    (void)isa, (void)p, (void)threads, (void)w;
    return 0;
#else
    if (isa < SQZ_ISA_AVX2 || isa > sqz_cpu_isa_supported()) return 0;
    if (p->nsp != 2 || p->group != 1 || p->kernel[0] != 3 || p->kernel[1] != 3 || p->stride[0] != 1 ||
        p->stride[1] != 1 || p->dilation[0] != 1 || p->dilation[1] != 1 || p->c_in < 16 || p->c_out < 16 ||
        p->batch < 0)
        return 0;
    memset(w, 0, sizeof *w);
    w->avx512 = isa >= SQZ_ISA_AVX512;
    sqz_wino_img *g = &w->g;
    g->C = p->c_in, g->K = p->c_out, g->H = p->in[0], g->W = p->in[1], g->OH = p->out[0], g->OW = p->out[1];
    g->pt = p->pad_begin[0], g->pl = p->pad_begin[1];
    if (g->OH < 2 || g->OW < 2 || g->H <= 0 || g->W <= 0) return 0;
    /* sizes whose buffers could overflow their counts go to the other paths */
    if (g->OH > (INT64_C(1) << 20) || g->OW > (INT64_C(1) << 20) || g->C > (INT64_C(1) << 24) ||
        g->K > (INT64_C(1) << 24) || g->C * g->K > (INT64_C(1) << 28))
        return 0;
    g->ty = (g->OH + 3) / 4, g->tx = (g->OW + 3) / 4;
    if (2 * g->OH * g->OW < 16 * g->ty * g->tx) return 0;
    /* the transformed weights are 4x the size of the kernel: an image of few tiles (ResNet's 7x7
     * layers of 512 channels: 4 tiles, 38 MiB of U) would stream them from memory for little
     * work (measured 1.4x slower than the implicit GEMM at batch 1). At most 1 MiB per tile. */
    if (36 * g->C * round_up(g->K, 32) * 4 > (g->ty * g->tx) << 20) return 0;
    g->Hp = 4 * g->ty + 2, g->Wp = 4 * g->tx + 2;
    g->cb = (g->C + 15) / 16, g->Cp = g->cb * 16, g->Kp = round_up(g->K, 32);
    if (g->Hp * g->Wp > (INT64_C(1) << 31) / g->Cp) return 0;
    /* blocks: V and M of a block in about 1.5 MiB (the L2 holds one element's slices and its U
     * panel while the block's GEMMs run); at least 28 tiles so the weights are read for a few
     * microkernels, at most 224 */
    int64_t tb = (INT64_C(3) << 19) / 4 / (36 * (g->Cp + g->Kp));
    tb = tb < 28 ? 28 : tb > 224 ? 224 : tb;
    int64_t rb = tb / g->tx > 0 ? tb / g->tx : 1;
    const int64_t batch = p->batch > 0 ? p->batch : 1;
    if (rb >= g->ty) {
        w->nj = rb / g->ty < batch ? rb / g->ty : batch;
        /* with threads, jobs of whole images in a multiple of the thread count: each thread then
         * runs whole jobs alone (ResNet-8's 7x7 layers at batch 128: 7 jobs of 21 images left
         * 2 threads splitting each phase, no faster than 1 thread; 8 jobs of 16 run 2x) */
        const int64_t j0 = (batch + w->nj - 1) / w->nj;
        if (threads > 1 && batch >= threads && j0 % threads) {
            const int64_t jt = (j0 + threads - 1) / threads * threads;
            w->nj = (batch + jt - 1) / jt;
        }
        rb = w->nj * g->ty;
    } else {
        const int64_t nblk = (g->ty + rb - 1) / rb;
        w->nj = 1;
        rb = (g->ty + nblk - 1) / nblk;
    }
    w->batch = p->batch;
    w->rb = rb;
    w->jobs = (batch + w->nj - 1) / w->nj;
    w->tiles_pad = round_up(rb * g->tx, 16);
    w->par_jobs = threads > 1 && (w->jobs % threads == 0 || w->jobs >= 4 * threads);
    w->workers = w->par_jobs ? threads : 1;
    w->xb_img = g->cb * g->Hp * g->Wp * 16;
    w->xb_floats = (size_t)(w->nj * w->xb_img);
    g->vs = w->tiles_pad * g->Cp + 16;
    g->ms = w->tiles_pad * g->Kp + 16;
    w->v_floats = (size_t)(36 * g->vs);
    w->m_floats = (size_t)(36 * g->ms);
    return 1;
#endif
}

size_t sqz_wino_f32_scratch_bytes(const sqz_wino_plan *w, int packed) {
    const size_t per = w->xb_floats + w->v_floats + w->m_floats;
    size_t n = per * (size_t)w->workers;
    if (!packed) n += (size_t)sqz_wino_f32_u_floats(w->g.C, w->g.K);
    return n * sizeof(float);
}

#if defined(__x86_64__)
/* loops of a job's phases: a worksharing loop over the team when par, else plain */
#ifdef _OPENMP
#define WINO_LOOP(par, i, n, ...)                                                                   \
    do {                                                                                             \
        if (par) {                                                                                   \
            _Pragma("omp for schedule(static)") for (int64_t i = 0; i < (n); i++) { __VA_ARGS__; }          \
        } else {                                                                                     \
            for (int64_t i = 0; i < (n); i++) { __VA_ARGS__; }                                              \
        }                                                                                            \
    } while (0)
#else
#define WINO_LOOP(par, i, n, ...)                                                                   \
    do {                                                                                             \
        (void)(par);                                                                                 \
        for (int64_t i = 0; i < (n); i++) { __VA_ARGS__; }                                                  \
    } while (0)
#endif

/* the pieces of the plan's ISA level */
typedef struct wino_fns {
    void (*copy)(const sqz_wino_img *, const float *, int64_t, int64_t, float *);
    void (*input)(const sqz_wino_img *, const float *, int64_t, int64_t, int64_t, int64_t, float *);
    void (*gemm)(const sqz_wino_img *, const float *, const float *, int64_t, int64_t, int64_t, float *);
    void (*output)(const sqz_wino_img *, const float *, int64_t, int64_t, int64_t, int64_t, const sqz_wino_out *,
                   float *);
    void (*dyt)(const sqz_wino_img *, const sqz_wino_img *, const float *, int64_t, int64_t, int64_t, int64_t,
                float *);
    void (*dw_gemm)(const sqz_wino_img *, const float *, const float *, int64_t, int64_t, float *);
} wino_fns;

static const wino_fns fns_avx512 = {sqz_wino_f32_copy__avx512,   sqz_wino_f32_input__avx512,
                                    sqz_wino_f32_gemm__avx512,   sqz_wino_f32_output__avx512,
                                    sqz_wino_f32_dyt__avx512,    sqz_wino_f32_dw_gemm__avx512};
static const wino_fns fns_avx2 = {sqz_wino_f32_copy__avx2, sqz_wino_f32_input__avx2, sqz_wino_f32_gemm__avx2,
                                  sqz_wino_f32_output__avx2, sqz_wino_f32_dyt__avx2, sqz_wino_f32_dw_gemm__avx2};

static const wino_fns *fns_of(const sqz_wino_plan *w) { return w->avx512 ? &fns_avx512 : &fns_avx2; }

static void job(const sqz_wino_plan *w, int64_t j, const float *x, const float *U, const sqz_wino_out *o, float *y,
                float *xb, float *V, float *M, int par) {
    const sqz_wino_img *g = &w->g;
    const wino_fns *f = fns_of(w);
    const int64_t n0 = j * w->nj, nimg = w->batch - n0 < w->nj ? w->batch - n0 : w->nj;
    const int64_t CHW = g->C * g->H * g->W;
    const float *xin = x + n0 * CHW;
    float *yout = y + n0 * g->K * g->OH * g->OW;
    /* the copy by whole channel-block planes: each call streams its 16 channels' rows in order */
    WINO_LOOP(par, i, nimg * g->cb,
              f->copy(g, xin + i / g->cb * CHW, i % g->cb * g->Hp, (i % g->cb + 1) * g->Hp,
                                        xb + i / g->cb * w->xb_img));
    const int64_t total = nimg * g->ty, kpanels = g->Kp / 32, kblocks = (g->K + 15) / 16;
    const int64_t rpr = (g->tx + 3) / 4;
    for (int64_t R0 = 0; R0 < total; R0 += w->rb) {
        const int64_t nr = total - R0 < w->rb ? total - R0 : w->rb, ntiles = nr * g->tx;
        /* chunks of 16 tiles / 8 runs per call: the calls' set-up (the output's staging
         * buffer) stays small against their work */
        const int64_t tchunks = (ntiles + 15) / 16, runs = nr * rpr, rchunks = (runs + 7) / 8;
        WINO_LOOP(par, i, tchunks,
                  f->input(g, xb, w->xb_img, R0, i * 16, i * 16 + 16 < ntiles ? i * 16 + 16 : ntiles,
                                             V));
        WINO_LOOP(par, i, 36 * kpanels, f->gemm(g, V, U, i / kpanels, i % kpanels, ntiles, M));
        WINO_LOOP(par, i, rchunks * kblocks,
                  f->output(g, M, R0, i / kblocks * 8,
                                              i / kblocks * 8 + 8 < runs ? i / kblocks * 8 + 8 : runs, i % kblocks, o,
                                              yout));
    }
}

/* Every job of w: with par_jobs each worker, its buffers per floats apart from scratch, takes
 * jobs tid, tid + workers, ... alone; otherwise the jobs run in order on worker 0's buffers, their
 * phases split over the threads (fn's par). */
typedef void (*wino_job_fn)(const void *ctx, int64_t j, float *buf, int par);

static void run_jobs(const sqz_wino_plan *w, int threads, float *scratch, size_t per, wino_job_fn fn, const void *ctx) {
    if (w->par_jobs) {
#ifdef _OPENMP
#pragma omp parallel num_threads(w->workers)
#endif
        {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            for (int64_t j = tid; j < w->jobs; j += w->workers) fn(ctx, j, scratch + per * (size_t)tid, 0);
        }
        return;
    }
    if (threads <= 1) {
        for (int64_t j = 0; j < w->jobs; j++) fn(ctx, j, scratch, 0);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    for (int64_t j = 0; j < w->jobs; j++) fn(ctx, j, scratch, 1);
}

typedef struct fwd_ctx {
    const sqz_wino_plan *w;
    const float *x, *U;
    const sqz_wino_out *o;
    float *y;
} fwd_ctx;

static void fwd_job(const void *ctx, int64_t j, float *buf, int par) {
    const fwd_ctx *c = ctx;
    float *V = buf + c->w->xb_floats;
    job(c->w, j, c->x, c->U, c->o, c->y, buf, V, V + c->w->v_floats, par);
}
#endif

void sqz_wino_f32_run(const sqz_wino_plan *w, int threads, const float *x, const float *wt, const float *u,
                      const sqz_wino_out *o, float *y, void *scratch) {
#if defined(__x86_64__)
    if (w->batch <= 0) return;
    float *base = scratch;
    const size_t per = w->xb_floats + w->v_floats + w->m_floats;
    const float *U = u;
    if (!U) {
        float *ut = base + per * (size_t)w->workers;
        sqz_wino_f32_pack_u(w->g.C, w->g.K, wt, ut);
        U = ut;
    }
    const fwd_ctx c = {.w = w, .x = x, .U = U, .o = o, .y = y};
    run_jobs(w, threads, base, per, fwd_job, &c);
#else
    (void)w, (void)threads, (void)x, (void)wt, (void)u, (void)o, (void)y, (void)scratch;
#endif
}

/* ---- weight gradient ---- */

/* dy as an unpadded K-channel image of 4 ty x 4 tx (zeros past OH x OW), for the blocked copy */
static sqz_wino_img dy_geom(const sqz_wino_img *g) {
    sqz_wino_img d = *g;
    d.C = g->K, d.H = g->OH, d.W = g->OW, d.pt = 0, d.pl = 0, d.Hp = 4 * g->ty, d.Wp = 4 * g->tx;
    d.cb = (g->K + 15) / 16, d.Cp = d.cb * 16;
    return d;
}

/* floats of one worker's buffers: x's and dy's blocked copies, V, Yh (in M's place), P */
static size_t dw_worker_floats(const sqz_wino_plan *w) {
    const sqz_wino_img d = dy_geom(&w->g);
    const size_t dyb = (size_t)(w->nj * d.cb * d.Hp * d.Wp * 16), pf = (size_t)(36 * w->g.K * w->g.Cp);
    return w->xb_floats + dyb + w->v_floats + w->m_floats + pf;
}

size_t sqz_wino_f32_dw_scratch_bytes(const sqz_wino_plan *w) {
    return dw_worker_floats(w) * (size_t)w->workers * sizeof(float);
}

#if defined(__x86_64__)
static void dw_job(const sqz_wino_plan *w, const sqz_wino_img *gd, int64_t j, const float *x, const float *dy,
                   float *xb, float *dyb, float *V, float *Y, float *P, int par) {
    const sqz_wino_img *g = &w->g;
    const wino_fns *f = fns_of(w);
    const int64_t n0 = j * w->nj, nimg = w->batch - n0 < w->nj ? w->batch - n0 : w->nj;
    const int64_t CHW = g->C * g->H * g->W, KO = g->K * g->OH * g->OW;
    const int64_t dyb_img = gd->cb * gd->Hp * gd->Wp * 16;
    WINO_LOOP(par, i, nimg * (g->cb + gd->cb), {
        const int64_t im = i / (g->cb + gd->cb), b = i % (g->cb + gd->cb);
        if (b < g->cb)
            f->copy(g, x + (n0 + im) * CHW, b * g->Hp, (b + 1) * g->Hp, xb + im * w->xb_img);
        else
            f->copy(gd, dy + (n0 + im) * KO, (b - g->cb) * gd->Hp, (b - g->cb + 1) * gd->Hp,
                                      dyb + im * dyb_img);
    });
    const int64_t total = nimg * g->ty;
    for (int64_t R0 = 0; R0 < total; R0 += w->rb) {
        const int64_t nr = total - R0 < w->rb ? total - R0 : w->rb, ntiles = nr * g->tx;
        const int64_t tchunks = (ntiles + 15) / 16;
        WINO_LOOP(par, i, 2 * tchunks, {
            const int64_t t0 = i / 2 * 16, t1 = t0 + 16 < ntiles ? t0 + 16 : ntiles;
            if (i % 2 == 0) f->input(g, xb, w->xb_img, R0, t0, t1, V);
            else f->dyt(g, gd, dyb, dyb_img, R0, t0, t1, Y);
        });
        WINO_LOOP(par, xi, 36, f->dw_gemm(g, Y, V, xi, ntiles, P));
    }
}

typedef struct dw_ctx {
    const sqz_wino_plan *w;
    const sqz_wino_img *gd;
    const float *x, *dy;
    size_t dyb_floats, per, pf;
} dw_ctx;

static void dw_one(const void *ctx, int64_t j, float *buf, int par) {
    const dw_ctx *c = ctx;
    float *dyb = buf + c->w->xb_floats, *V = dyb + c->dyb_floats, *Y = V + c->w->v_floats;
    dw_job(c->w, c->gd, j, c->x, c->dy, buf, dyb, V, Y, buf + c->per - c->pf, par);
}
#endif

void sqz_wino_f32_dw(const sqz_wino_plan *w, int threads, const float *x, const float *dy, float *dw, void *scratch) {
#if defined(__x86_64__)
    if (w->batch <= 0) return;
    const sqz_wino_img *g = &w->g, gd = dy_geom(g);
    const size_t per = dw_worker_floats(w), pf = (size_t)(36 * g->K * g->Cp);
    const dw_ctx c = {.w = w, .gd = &gd, .x = x, .dy = dy, .dyb_floats = (size_t)(w->nj * gd.cb * gd.Hp * gd.Wp * 16),
                      .per = per, .pf = pf};
    /* each worker sums its own P (the last pf floats of its buffers); the parts are added in
     * worker order into worker 0's */
    float *P = (float *)scratch + per - pf;
    for (int t = 0; t < w->workers; t++) memset(P + per * (size_t)t, 0, sizeof(float) * pf);
    run_jobs(w, threads, scratch, per, dw_one, &c);
    for (int t = 1; t < w->workers; t++) {
        const float *Pt = P + per * (size_t)t;
        for (size_t i = 0; i < pf; i++) P[i] += Pt[i];
    }
    /* dw += G^T P G per channel pair, 16 input channels at a time (contiguous in P) */
    for (int64_t k = 0; k < g->K; k++)
        for (int64_t c0 = 0; c0 < g->C; c0 += 16) {
            const int64_t nc = g->C - c0 < 16 ? g->C - c0 : 16;
            float t[3][6][16], o[9][16];
            for (int a = 0; a < 3; a++)
                for (int j = 0; j < 6; j++)
                    for (int64_t c = 0; c < 16; c++) {
                        float acc = 0;
                        for (int i = 0; i < 6; i++) acc += wino_g[i][a] * P[((i * 6 + j) * g->K + k) * g->Cp + c0 + c];
                        t[a][j][c] = acc;
                    }
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int64_t c = 0; c < 16; c++) {
                        float acc = 0;
                        for (int j = 0; j < 6; j++) acc += t[a][j][c] * wino_g[j][b];
                        o[a * 3 + b][c] = acc;
                    }
            for (int64_t c = 0; c < nc; c++)
                for (int ab = 0; ab < 9; ab++) dw[(k * g->C + c0 + c) * 9 + ab] += o[ab][c];
        }
#else
    (void)w, (void)threads, (void)x, (void)dy, (void)dw, (void)scratch;
#endif
}
