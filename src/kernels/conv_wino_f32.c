/* kernels/conv_wino_f32.c - Winograd F(4x4, 3x3) convolution driver (see conv_wino_f32.h): the
 * weight transform, the plan (jobs, blocks, buffers) and the phases of a run over threads. */
#include "kernels/conv_wino_f32.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int64_t sqz_wino_f32_u_floats(int64_t C, int64_t K) { return 36 * ((K + 31) / 32) * C * 32; }

void sqz_wino_f32_pack_u(int64_t C, int64_t K, const float *w, float *u) {
    static const double G[6][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};
    const int64_t kpanels = (K + 31) / 32;
    memset(u, 0, sizeof(float) * (size_t)sqz_wino_f32_u_floats(C, K));
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (k * C + c) * 9;
            double t[6][3]; /* G g */
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    const double v = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
                    u[(((i * 6 + j) * kpanels + k / 32) * C + c) * 32 + k % 32] = (float)v;
                }
        }
}

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* Taken for C, K >= 16 (smaller layers spend more on the transforms than they save) and outputs
 * that fill at least half of their 4x4 tiles. */
int sqz_wino_f32_plan(const sqz_conv_params *p, int threads, sqz_wino_plan *w) {
    if (p->nsp != 2 || p->group != 1 || p->kernel[0] != 3 || p->kernel[1] != 3 || p->stride[0] != 1 ||
        p->stride[1] != 1 || p->dilation[0] != 1 || p->dilation[1] != 1 || p->c_in < 16 || p->c_out < 16 ||
        p->batch < 0)
        return 0;
    memset(w, 0, sizeof *w);
    sqz_wino_img *g = &w->g;
    g->C = p->c_in, g->K = p->c_out, g->H = p->in[0], g->W = p->in[1], g->OH = p->out[0], g->OW = p->out[1];
    g->pt = p->pad_begin[0], g->pl = p->pad_begin[1];
    if (g->OH < 2 || g->OW < 2 || g->H <= 0 || g->W <= 0) return 0;
    g->ty = (g->OH + 3) / 4, g->tx = (g->OW + 3) / 4;
    if (2 * g->OH * g->OW < 16 * g->ty * g->tx) return 0;
    /* the transformed weights are 4x the size of the kernel: an image of few tiles (ResNet's 7x7
     * layers of 512 channels: 4 tiles, 38 MiB of U) would stream them from memory for little
     * work (measured 1.4x slower than the implicit GEMM at batch 1). At most 1 MiB per tile. */
    if (36 * g->C * round_up(g->K, 32) * 4 > (g->ty * g->tx) << 20) return 0;
    g->Hp = 4 * g->ty + 2, g->Wp = 4 * g->tx + 2;
    g->cb = (g->C + 15) / 16, g->Cp = g->cb * 16, g->Kp = round_up(g->K, 32);
    if (g->Hp > (INT64_C(1) << 20) || g->Wp > (INT64_C(1) << 20) || g->C > (INT64_C(1) << 24) ||
        g->K > (INT64_C(1) << 24))
        return 0;
    /* blocks: V and M of a block in about 1.5 MiB (the L2 holds one element's slices and its U
     * panel while the block's GEMMs run); at least 28 tiles so the weights are read for a few
     * microkernels, at most 224 */
    int64_t tb = (INT64_C(3) << 19) / 4 / (36 * (g->Cp + g->Kp));
    tb = tb < 28 ? 28 : tb > 224 ? 224 : tb;
    int64_t rb = tb / g->tx > 0 ? tb / g->tx : 1;
    const int64_t batch = p->batch > 0 ? p->batch : 1;
    if (rb >= g->ty) {
        w->nj = rb / g->ty < batch ? rb / g->ty : batch;
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
#define WINO_LOOP(par, i, n, body)                                                                   \
    do {                                                                                             \
        if (par) {                                                                                   \
            _Pragma("omp for schedule(static)") for (int64_t i = 0; i < (n); i++) { body; }          \
        } else {                                                                                     \
            for (int64_t i = 0; i < (n); i++) { body; }                                              \
        }                                                                                            \
    } while (0)
#else
#define WINO_LOOP(par, i, n, body)                                                                   \
    do {                                                                                             \
        (void)(par);                                                                                 \
        for (int64_t i = 0; i < (n); i++) { body; }                                                  \
    } while (0)
#endif

static void job(const sqz_wino_plan *w, int64_t j, const float *x, const float *U, const sqz_wino_out *o, float *y,
                float *xb, float *V, float *M, int par) {
    const sqz_wino_img *g = &w->g;
    const int64_t n0 = j * w->nj, nimg = w->batch - n0 < w->nj ? w->batch - n0 : w->nj;
    const int64_t CHW = g->C * g->H * g->W, rows = g->cb * g->Hp;
    const float *xin = x + n0 * CHW;
    float *yout = y + n0 * g->K * g->OH * g->OW;
    WINO_LOOP(par, i, nimg * rows,
              sqz_wino_f32_copy__avx512(g, xin + i / rows * CHW, i % rows, i % rows + 1, xb + i / rows * w->xb_img));
    const int64_t total = nimg * g->ty, kpanels = g->Kp / 32, kblocks = (g->K + 15) / 16;
    const int64_t rpr = (g->tx + 3) / 4;
    for (int64_t R0 = 0; R0 < total; R0 += w->rb) {
        const int64_t nr = total - R0 < w->rb ? total - R0 : w->rb, ntiles = nr * g->tx;
        /* chunks of 16 tiles / 8 runs per call: the calls' set-up (the output's staging
         * buffer) stays small against their work */
        const int64_t tchunks = (ntiles + 15) / 16, runs = nr * rpr, rchunks = (runs + 7) / 8;
        WINO_LOOP(par, i, tchunks,
                  sqz_wino_f32_input__avx512(g, xb, w->xb_img, R0, i * 16, i * 16 + 16 < ntiles ? i * 16 + 16 : ntiles,
                                             V));
        WINO_LOOP(par, i, 36 * kpanels, sqz_wino_f32_gemm__avx512(g, V, U, i / kpanels, i % kpanels, ntiles, M));
        WINO_LOOP(par, i, rchunks * kblocks,
                  sqz_wino_f32_output__avx512(g, M, R0, i / kblocks * 8,
                                              i / kblocks * 8 + 8 < runs ? i / kblocks * 8 + 8 : runs, i % kblocks, o,
                                              yout));
    }
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
    if (w->par_jobs) {
#ifdef _OPENMP
#pragma omp parallel num_threads(w->workers)
#endif
        {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            float *b = base + per * (size_t)tid;
            for (int64_t j = tid; j < w->jobs; j += w->workers)
                job(w, j, x, U, o, y, b, b + w->xb_floats, b + w->xb_floats + w->v_floats, 0);
        }
        return;
    }
    float *V = base + w->xb_floats, *M = V + w->v_floats;
    if (threads <= 1) {
        for (int64_t j = 0; j < w->jobs; j++) job(w, j, x, U, o, y, base, V, M, 0);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    for (int64_t j = 0; j < w->jobs; j++) job(w, j, x, U, o, y, base, V, M, 1);
#else
    (void)w, (void)threads, (void)x, (void)wt, (void)u, (void)o, (void)y, (void)scratch;
#endif
}
