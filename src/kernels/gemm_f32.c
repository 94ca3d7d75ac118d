/* kernels/gemm_f32.c - the fp32 GEMM driver: ISA dispatch, packing, cache blocking, threads.
 *
 * Blocking (BLIS order): for each thread's column range, jc over NC columns, pc over KC of K
 * (pack op(B) into NR-wide panels), ic over MC rows (pack op(A) into MR-tall panels), then jr
 * over the B panels and ir over the A panels, one microkernel call per MR x NR tile.
 * Threads: the output is split once into one contiguous, tile-aligned range per thread (columns
 * when there are enough NR panels, else rows). Each thread packs what it reads into its own part
 * of the scratch, so threads never wait for each other; every C element is computed by the same
 * sequence of operations for any thread count, hence bit-identical results. */
#include "kernels/gemm_f32.h"

#include <math.h>
#include <string.h>

#include "kernels/ref/kernels_ref.h"
#include "kernels/x86/gemm_f32_ukernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct gemm_cfg {
    int mr, nr;
    int64_t kc, mc, nc;
    sqz_gemm_f32_ukernel_fn ukernel;
    sqz_gemm_f32_ukernel_fn ukernel_half; /* for a last panel of <= nr/2 columns, or NULL */
    sqz_gemm_f32_pack_fn pack_a, pack_b;  /* panels of mr and of nr */
    sqz_gemm_f32_tail_fn tail;            /* rows-in-lanes kernel for a last panel's few columns, or NULL */
    int tail_max;                         /* the most columns it takes (beyond a 16-column half tile) */
    int b_inplace;                        /* the microkernels take B rows ldb apart (full panels in place) */
    sqz_gemm_f32_ukernel_fn (*part)(int panel, int mr, int wide); /* a last tile's fewer rows, or NULL */
} gemm_cfg;

#define GEMM_MAX_THREADS 64
#define GEMM_ALIGN 64

/* Fills cfg for isa and M; returns 0 when isa has no packed path (ref).
 * AVX-512: 14x32 tiles, or 8x32 when that pads M less (weighing 8-row tiles as 4% slower per row,
 * as measured); M = 1..4 (matrix-vector products) uses M x 32 tiles so no padded rows are
 * computed. A last B panel whose width is a few columns past a multiple of 16 (N = 49, 196:
 * the 7x7 / 14x14 convolutions) runs those columns through a tail kernel with rows in vector
 * lanes instead of a mostly empty 16-wide tile. The tile height never changes what a C element's
 * sum is. Blocks: KC = 256 (a 14 x 256 A panel is 14 KB, in L1), MC = 168 rows (A block 168 KB,
 * in L2), NC = 1024. */
static int gemm_config(sqz_isa isa, int64_t M, gemm_cfg *cfg) {
#if defined(__x86_64__)
    if (isa >= SQZ_ISA_AVX512) {
        static const sqz_gemm_f32_ukernel_fn small[4][2] = {
            {sqz_gemm_f32_ukernel_1x32__avx512, sqz_gemm_f32_ukernel_1x16__avx512},
            {sqz_gemm_f32_ukernel_2x32__avx512, sqz_gemm_f32_ukernel_2x16__avx512},
            {sqz_gemm_f32_ukernel_3x32__avx512, sqz_gemm_f32_ukernel_3x16__avx512},
            {sqz_gemm_f32_ukernel_4x32__avx512, sqz_gemm_f32_ukernel_4x16__avx512}};
        static const sqz_gemm_f32_pack_fn small_pack[4] = {sqz_gemm_f32_pack_1__avx512, sqz_gemm_f32_pack_2__avx512,
                                                           sqz_gemm_f32_pack_3__avx512, sqz_gemm_f32_pack_4__avx512};
        /* every config keeps kc = 256: B panels are packed once without knowing M, and a row's
         * bits must not depend on M (tested) */
        /* the row tile that leaves the fewest padded rows, weighted by how close each kernel runs
         * to peak (14 rows best, 6 the least: fewer FMAs per load of B) */
        const int64_t rows14 = (M + 13) / 14 * 14, rows8 = (M + 7) / 8 * 8, rows6 = (M + 5) / 6 * 6;
        const int64_t best8 = rows8 * 104 < rows14 * 100 ? rows8 * 104 : rows14 * 100;
        if (M >= 1 && M <= 4)
            *cfg = (gemm_cfg){.mr = (int)M, .nr = 32, .kc = 256, .mc = 168, .nc = 1024,
                              .ukernel = small[M - 1][0], .ukernel_half = small[M - 1][1],
                              .pack_a = small_pack[M - 1], .pack_b = sqz_gemm_f32_pack_32__avx512, .b_inplace = 1};
        else if (rows6 * 110 < best8)
            *cfg = (gemm_cfg){.mr = 6, .nr = 32, .kc = 256, .mc = 168, .nc = 1024,
                              .ukernel = sqz_gemm_f32_ukernel_6x32__avx512,
                              .ukernel_half = sqz_gemm_f32_ukernel_6x16__avx512,
                              .pack_a = sqz_gemm_f32_pack_6__avx512, .pack_b = sqz_gemm_f32_pack_32__avx512, .b_inplace = 1,
                              .tail = sqz_gemm_f32_tail_6__avx512, .tail_max = 4};
        else if (rows8 * 104 < rows14 * 100)
            *cfg = (gemm_cfg){.mr = 8, .nr = 32, .kc = 256, .mc = 160, .nc = 1024,
                              .ukernel = sqz_gemm_f32_ukernel_8x32__avx512,
                              .ukernel_half = sqz_gemm_f32_ukernel_8x16__avx512,
                              .pack_a = sqz_gemm_f32_pack_8__avx512, .pack_b = sqz_gemm_f32_pack_32__avx512, .b_inplace = 1,
                              .tail = sqz_gemm_f32_tail_8__avx512, .tail_max = 4,
                              .part = sqz_gemm_f32_part__avx512};
        else
            *cfg = (gemm_cfg){.mr = 14, .nr = 32, .kc = 256, .mc = 168, .nc = 1024,
                              .ukernel = sqz_gemm_f32_ukernel_14x32__avx512,
                              .ukernel_half = sqz_gemm_f32_ukernel_14x16__avx512,
                              .pack_a = sqz_gemm_f32_pack_14__avx512, .pack_b = sqz_gemm_f32_pack_32__avx512, .b_inplace = 1,
                              .tail = sqz_gemm_f32_tail_14__avx512, .tail_max = 8,
                              .part = sqz_gemm_f32_part__avx512};
        return 1;
    }
    if (isa == SQZ_ISA_AVX2) {
        static const sqz_gemm_f32_ukernel_fn small[4] = {sqz_gemm_f32_ukernel_1x16__avx2, sqz_gemm_f32_ukernel_2x16__avx2,
                                                         sqz_gemm_f32_ukernel_3x16__avx2, sqz_gemm_f32_ukernel_4x16__avx2};
        static const sqz_gemm_f32_pack_fn small_pack[4] = {sqz_gemm_f32_pack_1__avx2, sqz_gemm_f32_pack_2__avx2,
                                                           sqz_gemm_f32_pack_3__avx2, sqz_gemm_f32_pack_4__avx2};
        if (M >= 1 && M <= 4)
            *cfg = (gemm_cfg){.mr = (int)M, .nr = 16, .kc = 256, .mc = 120, .nc = 1024, .ukernel = small[M - 1],
                              .ukernel_half = NULL, .pack_a = small_pack[M - 1], .pack_b = sqz_gemm_f32_pack_16__avx2};
        else
            *cfg = (gemm_cfg){.mr = 6, .nr = 16, .kc = 256, .mc = 120, .nc = 1024,
                              .ukernel = sqz_gemm_f32_ukernel_6x16__avx2, .ukernel_half = NULL,
                              .pack_a = sqz_gemm_f32_pack_6__avx2, .pack_b = sqz_gemm_f32_pack_16__avx2};
        return 1;
    }
#endif
    (void)isa;
    (void)M;
    (void)cfg;
    return 0;
}

static sqz_isa clamp_isa(sqz_isa isa) {
    const sqz_isa s = sqz_cpu_isa_supported();
    return isa > s ? s : isa;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* Threads worth using for this size (tiny GEMMs stay on one thread). */
static int gemm_threads(int threads, int64_t M, int64_t N, int64_t K) {
    if (threads < 1) threads = 1;
    if (threads > GEMM_MAX_THREADS) threads = GEMM_MAX_THREADS;
#ifndef _OPENMP
    threads = 1;
#endif
    const double flops = 2.0 * (double)M * (double)N * (double)K;
    if (flops < 2.0e6) threads = 1; /* below ~100^3 a fork costs more than it saves */
    return threads;
}

/* Floats of packing buffer per thread (A block + B block), each rounded to GEMM_ALIGN. */
static int64_t per_thread_floats(const gemm_cfg *cfg, int64_t M, int64_t N, int64_t K) {
    const int64_t kc = min64(K, cfg->kc);
    const int64_t mc = round_up(min64(M, cfg->mc), cfg->mr), nc = round_up(min64(N, cfg->nc), cfg->nr);
    return round_up(mc * kc, GEMM_ALIGN / 4) + round_up(nc * kc, GEMM_ALIGN / 4);
}

size_t sqz_gemm_f32_scratch_bytes(sqz_isa isa, int threads, int64_t M, int64_t N, int64_t K) {
    gemm_cfg cfg;
    if (M <= 0 || N <= 0 || K <= 0 || !gemm_config(clamp_isa(isa), M, &cfg)) return 0;
    const int t = gemm_threads(threads, M, N, K);
    return (size_t)per_thread_floats(&cfg, M, N, K) * 4u * (size_t)t;
}

void sqz_gemm_f32_epilogue_ref(int64_t M, int64_t N, float *C, int64_t ldc, const sqz_gemm_epi *epi) {
    if (!epi || (!epi->bias_m && !epi->bias_n && !epi->clamp)) return;
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        const float bm = epi->bias_m ? epi->bias_m[i] : 0.0f;
        for (int64_t j = 0; j < N; j++) {
            float v = c[j];
            if (epi->bias_m) v += bm;
            if (epi->bias_n) v += epi->bias_n[j];
            if (epi->clamp) v = fminf(fmaxf(v, epi->lo), epi->hi);
            c[j] = v;
        }
    }
}

void sqz_gemm_f32_store_tile(const float *t, int NR, float *c, int64_t ldc, int mr, int nr,
                             const sqz_gemm_f32_store *st) {
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        for (int j = 0; j < nr; j++) {
            float x = t[r * NR + j] * st->alpha;
            if (!st->first) x = x + cr[j];
            else if (st->beta != 0.0f) x = fmaf(st->beta, cr[j], x);
            if (st->last) {
                if (st->bias_m) x += st->bias_m[r];
                if (st->bias_n) x += st->bias_n[j];
                if (st->clamp) x = fminf(fmaxf(x, st->lo), st->hi);
            }
            cr[j] = x;
        }
    }
}

/* Whether the microkernels read full B panels in place (rows ldb apart) instead of packing them:
 * B not transposed and not packed already, and a panel's kc rows spread over enough L1 sets
 * (32 KiB, 8 ways, 64 sets of 64-byte lines; a row of 32 floats takes 2 lines when ldb is a
 * multiple of 16 floats, else up to 3, and rows 2^j lines apart fall in 64 / 2^j sets): at most
 * twice what those sets hold, or at most 32 rows (a packing then serves at most 4 row panels).
 * MobileNetV2's 1x1 layers at batch 1: the projects and the chains 2-7% faster, the expands (many
 * row panels) unchanged, the 56x56 144 -> 24 project alone 84 -> 100 GFLOP/s; strides such as
 * 3136 or 1024 floats with kc = 256 and more rows keep packing (ResNet-18's 56x56 im2col GEMM,
 * 64 rows, 11% slower in place). */
static int b_in_place(const gemm_cfg *cfg, const sqz_gemm_f32_args *g) {
    if (!cfg->b_inplace || g->packed_b || g->trans_b) return 0;
    int64_t sets = 64, lines = 3;
    if (g->ldb % 16 == 0) {
        lines = 2;
        for (int64_t l = g->ldb / 16; l % 2 == 0 && sets > 1; l /= 2) sets /= 2;
    }
    return min64(g->K, cfg->kc) * lines <= 2 * 8 * sets || g->M <= 32;
}

/* Computes C[m0 .. m1, n0 .. n1] with the packed path; buf is this thread's packing space. */
static void gemm_region(const gemm_cfg *cfg, const sqz_gemm_f32_args *g, int64_t m0, int64_t m1, int64_t n0,
                        int64_t n1, float *buf, int64_t a_floats) {
    const int MR = cfg->mr, NR = cfg->nr;
    float *ap = buf, *bp = buf + a_floats; /* packing space, or the prepacked operands */
    const sqz_gemm_epi *epi = g->epi;
    sqz_gemm_f32_store st = {.alpha = g->alpha, .beta = g->beta, .clamp = epi ? epi->clamp : 0,
                             .lo = epi ? epi->lo : 0.0f, .hi = epi ? epi->hi : 0.0f, .bs = NR};
    const int inplace = b_in_place(cfg, g);
    for (int64_t jc = n0; jc < n1; jc += cfg->nc) {
        const int64_t nc = min64(cfg->nc, n1 - jc);
        for (int64_t pc = 0; pc < g->K; pc += cfg->kc) {
            const int64_t kc = min64(cfg->kc, g->K - pc);
            st.first = pc == 0;
            st.last = pc + kc == g->K;
            if (g->packed_b)
                bp = (float *)g->packed_b + pc * round_up(g->N, NR) + jc * kc;
            else
                for (int64_t p = 0; p < nc; p += NR)
                    if (!inplace || nc - p < NR)
                        cfg->pack_b(g->B, g->ldb, !g->trans_b, jc + p, min64(NR, nc - p), pc, kc, bp + p * kc);
            for (int64_t ic = m0; ic < m1; ic += cfg->mc) {
                const int64_t mc = min64(cfg->mc, m1 - ic);
                if (g->packed_a) ap = (float *)g->packed_a + pc * round_up(g->M, MR) + ic * kc;
                else
                    for (int64_t p = 0; p < mc; p += MR)
                        cfg->pack_a(g->A, g->lda, g->trans_a, ic + p, min64(MR, mc - p), pc, kc, ap + p * kc);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int nr = (int)min64(NR, nc - jr);
                    /* a few columns past a multiple of 16: those go through the tail kernel */
                    const int tcols = cfg->tail && nr % 16 <= cfg->tail_max ? nr % 16 : 0;
                    if (tcols) {
                        nr -= tcols;
                        st.bias_m = epi && epi->bias_m ? epi->bias_m + ic : NULL;
                        st.bias_n = epi && epi->bias_n ? epi->bias_n + jc + jr + nr : NULL;
                        cfg->tail(kc, ap, mc, bp + jr * kc + nr, NR, tcols, g->C + ic * g->ldc + jc + jr + nr, g->ldc,
                                  &st);
                        if (!nr) continue;
                    }
                    const sqz_gemm_f32_ukernel_fn uk = cfg->ukernel_half && 2 * nr <= NR ? cfg->ukernel_half : cfg->ukernel;
                    st.bias_n = epi && epi->bias_n ? epi->bias_n + jc + jr : NULL;
                    const int own = inplace && nr == NR; /* a full panel read in place */
                    const float *bj = own ? g->B + pc * g->ldb + jc + jr : bp + jr * kc;
                    st.bs = own ? g->ldb : NR;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int mr = (int)min64(MR, mc - ir);
                        st.bias_m = epi && epi->bias_m ? epi->bias_m + ic + ir : NULL;
                        sqz_gemm_f32_ukernel_fn k = uk;
                        if (mr < MR && cfg->part) {
                            sqz_gemm_f32_ukernel_fn pk = cfg->part(MR, mr, uk == cfg->ukernel);
                            if (pk) k = pk;
                        }
                        k(kc, ap + ir * kc, bj, g->C + (ic + ir) * g->ldc + jc + jr, g->ldc, mr, nr, &st);
                    }
                }
            }
        }
    }
}

/* C = beta*C (beta == 0: zeros), then the epilogue: for K == 0 or alpha == 0. */
static void gemm_scale_only(const sqz_gemm_f32_args *g) {
    for (int64_t i = 0; i < g->M; i++) {
        float *c = g->C + i * g->ldc;
        for (int64_t j = 0; j < g->N; j++) c[j] = g->beta == 0.0f ? 0.0f : g->beta * c[j];
    }
    sqz_gemm_f32_epilogue_ref(g->M, g->N, g->C, g->ldc, g->epi);
}

void sqz_gemm_f32(sqz_isa isa, int threads, const sqz_gemm_f32_args *g, void *scratch) {
    if (g->M <= 0 || g->N <= 0) return;
    gemm_cfg cfg;
    if (!gemm_config(clamp_isa(isa), g->M, &cfg) || !scratch) {
        if (g->packed_a || g->packed_b) return; /* misuse: packed for a level without packed path */
        sqz_gemm_f32_ref(g->trans_a, g->trans_b, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb, g->beta,
                         g->C, g->ldc);
        sqz_gemm_f32_epilogue_ref(g->M, g->N, g->C, g->ldc, g->epi);
        return;
    }
    if (g->K <= 0 || g->alpha == 0.0f) {
        gemm_scale_only(g);
        return;
    }
    const int nt = gemm_threads(threads, g->M, g->N, g->K);
    const int64_t per = per_thread_floats(&cfg, g->M, g->N, g->K);
    const int64_t a_floats = round_up(round_up(min64(g->M, cfg.mc), cfg.mr) * min64(g->K, cfg.kc), GEMM_ALIGN / 4);
    const int64_t npanels = (g->N + cfg.nr - 1) / cfg.nr, mpanels = (g->M + cfg.mr - 1) / cfg.mr;
    const int split_n = npanels >= nt || npanels >= mpanels;
    float *base = scratch;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        const int64_t panels = split_n ? npanels : mpanels, step = split_n ? cfg.nr : cfg.mr;
        const int64_t p0 = panels * t / nt, p1 = panels * (t + 1) / nt;
        if (p0 >= p1) continue;
        int64_t m0 = 0, m1 = g->M, n0 = 0, n1 = g->N;
        if (split_n) {
            n0 = p0 * step;
            n1 = min64(p1 * step, g->N);
        } else {
            m0 = p0 * step;
            m1 = min64(p1 * step, g->M);
        }
        gemm_region(&cfg, g, m0, m1, n0, n1, base + per * t, a_floats);
    }
}

/* ---- operands packed once (constant weights) ---- */

/* Floats of op(X) (rows x K) packed in panels of R rows: every KC block holds round_up(rows, R)
 * rows; the panel of row r0 in the block at pc starts at pc * round_up(rows, R) + r0 * kc. */
static int64_t packed_floats(int64_t rows, int64_t K, int R) { return round_up(rows, R) * K; }

static void pack_all(const gemm_cfg *cfg, sqz_gemm_f32_pack_fn fn, int R, int trans, int64_t rows, int64_t K,
                     const float *X, int64_t ld, float *dst) {
    const int64_t rp = round_up(rows, R);
    for (int64_t pc = 0; pc < K; pc += cfg->kc) {
        const int64_t kc = min64(cfg->kc, K - pc);
        for (int64_t r = 0; r < rows; r += R) fn(X, ld, trans, r, min64(R, rows - r), pc, kc, dst + pc * rp + r * kc);
    }
}

size_t sqz_gemm_f32_packed_a_bytes(sqz_isa isa, int64_t M, int64_t K) {
    gemm_cfg cfg;
    if (M <= 0 || K <= 0 || !gemm_config(clamp_isa(isa), M, &cfg)) return 0;
    return (size_t)packed_floats(M, K, cfg.mr) * 4u;
}

size_t sqz_gemm_f32_packed_b_bytes(sqz_isa isa, int64_t K, int64_t N) {
    gemm_cfg cfg;
    if (N <= 0 || K <= 0 || !gemm_config(clamp_isa(isa), 16, &cfg)) return 0;
    return (size_t)packed_floats(N, K, cfg.nr) * 4u;
}

int sqz_gemm_f32_a_layout(sqz_isa isa, int64_t M, int *mr, int64_t *kc) {
    gemm_cfg cfg;
    if (M <= 0 || !gemm_config(clamp_isa(isa), M, &cfg)) return 0;
    *mr = cfg.mr;
    *kc = cfg.kc;
    return 1;
}

int sqz_gemm_f32_b_layout(sqz_isa isa, int *nr, int64_t *kc) {
    gemm_cfg cfg;
    if (!gemm_config(clamp_isa(isa), 16, &cfg)) return 0; /* the config sqz_gemm_f32_pack_b packs with */
    *nr = cfg.nr;
    *kc = cfg.kc;
    return 1;
}

void sqz_gemm_f32_pack_a(sqz_isa isa, int trans_a, int64_t M, int64_t K, const float *A, int64_t lda, float *dst) {
    gemm_cfg cfg;
    if (M <= 0 || K <= 0 || !gemm_config(clamp_isa(isa), M, &cfg)) return;
    pack_all(&cfg, cfg.pack_a, cfg.mr, trans_a, M, K, A, lda, dst);
}

void sqz_gemm_f32_pack_b(sqz_isa isa, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    gemm_cfg cfg;
    if (N <= 0 || K <= 0 || !gemm_config(clamp_isa(isa), 16, &cfg)) return;
    pack_all(&cfg, cfg.pack_b, cfg.nr, !trans_b, N, K, B, ldb, dst);
}
