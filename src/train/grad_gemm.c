/* train/grad_gemm.c - Gemm and MatMul forward (fast GEMM) and backward; f32.
 *
 * Gemm: Y = alpha * A' B' + beta * C with A' = op(A) (M,K), B' = op(B) (K,N):
 *   dA' = alpha * dY B'^T,  dB' = alpha * A'^T dY,  dC = beta * (dY summed over C's broadcast dims).
 * MatMul (numpy batching; a 1-D operand is a row / column vector):
 *   dA_i += dY_i B_j^T,  dB_j += A_i^T dY_i  over the broadcast batch pairs (i, j). */
#include <string.h>

#include "train/grad.h"

/* ---- Gemm ---- */
typedef struct gemm_geo {
    int ta, tb;
    int64_t M, N, K, lda, ldb;
    float alpha, beta;
} gemm_geo;

static sqz_status gemm_geo_make(sqz_gctx *c, gemm_geo *g) {
    const sqz_tensor *A = c->in[0], *B = c->in[1], *C = c->n_in > 2 ? c->in[2] : NULL;
    sqz_status st;
    if ((st = sqz_grad_check_f32(c, A, "A")) || (st = sqz_grad_check_f32(c, B, "B"))) return st;
    if (C && (st = sqz_grad_check_f32(c, C, "C"))) return st;
    if (A->ndim != 2 || B->ndim != 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "Gemm: A and B must be 2-D");
    g->ta = sqz_node_attr_int(c->node, "transA", 0) != 0;
    g->tb = sqz_node_attr_int(c->node, "transB", 0) != 0;
    g->M = A->dims[g->ta ? 1 : 0];
    g->K = A->dims[g->ta ? 0 : 1];
    g->N = B->dims[g->tb ? 0 : 1];
    g->lda = A->dims[1];
    g->ldb = B->dims[1];
    g->alpha = sqz_node_attr_float(c->node, "alpha", 1.0f);
    g->beta = sqz_node_attr_float(c->node, "beta", 1.0f);
    if (B->dims[g->tb ? 1 : 0] != g->K) return sqz_err_set(c->err, SQZ_ERR_DATA, "Gemm: inner dimensions differ");
    return SQZ_OK;
}

static sqz_status gemm_fwd(sqz_gctx *c) {
    gemm_geo g;
    sqz_status st = gemm_geo_make(c, &g);
    if (st) return st;
    const sqz_tensor *C = c->n_in > 2 ? c->in[2] : NULL;
    float *y = c->out[0]->data;
    if (C) {
        const float *cv = C->data;
        const int64_t cr = C->ndim == 2 ? C->dims[0] : 1, cc = C->ndim >= 1 ? C->dims[C->ndim - 1] : 1;
        for (int64_t i = 0; i < g.M; i++) {
            const float *crow = cv + (cr == 1 ? 0 : i) * cc;
            float *yr = y + i * g.N;
            if (cc == 1)
                for (int64_t j = 0; j < g.N; j++) yr[j] = g.beta * crow[0];
            else
                for (int64_t j = 0; j < g.N; j++) yr[j] = g.beta * crow[j];
        }
    }
    sqz_grad_gemm(c, g.ta, g.tb, g.M, g.N, g.K, g.alpha, c->in[0]->data, g.lda, c->in[1]->data, g.ldb,
                  C ? 1.0f : 0.0f, y, g.N);
    return SQZ_OK;
}

static sqz_status gemm_bwd(sqz_gctx *c) {
    gemm_geo g;
    sqz_status st = gemm_geo_make(c, &g);
    if (st) return st;
    const float *A = c->in[0]->data, *B = c->in[1]->data, *dy = c->dout[0];
    for (int i = 1; i < c->n_in; i++) sqz_grad_din_zero(c, i); /* weights and bias accumulate */
    float *dA = c->din[0], *dB = c->din[1], *dC = c->n_in > 2 ? c->din[2] : NULL;
    const float ba = c->fresh & 1u ? 0.0f : 1.0f; /* a fresh dA is overwritten */
    if (dA) {
        if (!g.ta) sqz_grad_gemm(c, 0, !g.tb, g.M, g.K, g.N, g.alpha, dy, g.N, B, g.ldb, ba, dA, g.K);
        else sqz_grad_gemm(c, g.tb, 1, g.K, g.M, g.N, g.alpha, B, g.ldb, dy, g.N, ba, dA, g.M);
    }
    if (dB) {
        if (!g.tb) sqz_grad_gemm(c, !g.ta, 0, g.K, g.N, g.M, g.alpha, A, g.lda, dy, g.N, 1.0f, dB, g.N);
        else sqz_grad_gemm(c, 1, g.ta, g.N, g.K, g.M, g.alpha, dy, g.N, A, g.lda, 1.0f, dB, g.K);
    }
    if (dC) {
        const float *src = dy;
        const int64_t n = g.M * g.N;
        if (g.beta != 1.0f) {
            float *t = sqz_grad_scratch(c, SQZ_GS_A, sizeof(float) * (size_t)(n ? n : 1));
            if (!t) return SQZ_ERR_NOMEM;
            for (int64_t i = 0; i < n; i++) t[i] = g.beta * dy[i];
            src = t;
        }
        sqz_grad_reduce_bcast(c->out[0], c->in[2], src, dC);
    }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_gemm_op = {.op = "Gemm", .param_slots = 0x6u, .forward = gemm_fwd, .backward = gemm_bwd,
                                      .stores = 1};

/* ---- MatMul ---- */
typedef struct mm_geo {
    int64_t M, N, K, nbatch, acount, bcount;
    int nb;
    int64_t batch[SQZ_MAX_DIMS], abatch[SQZ_MAX_DIMS], bbatch[SQZ_MAX_DIMS];
} mm_geo;

static sqz_status mm_geo_make(sqz_gctx *c, mm_geo *s) {
    const sqz_tensor *A = c->in[0], *B = c->in[1];
    sqz_status st;
    if ((st = sqz_grad_check_f32(c, A, "A")) || (st = sqz_grad_check_f32(c, B, "B"))) return st;
    memset(s, 0, sizeof *s);
    const int ra = A->ndim, rb = B->ndim;
    if (ra < 1 || rb < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul operands must have rank >= 1");
    s->M = ra == 1 ? 1 : A->dims[ra - 2];
    s->K = A->dims[ra - 1];
    s->N = rb == 1 ? 1 : B->dims[rb - 1];
    if ((rb == 1 ? B->dims[0] : B->dims[rb - 2]) != s->K)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul: inner dimensions differ");
    const int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    s->nb = nba > nbb ? nba : nbb;
    s->nbatch = s->acount = s->bcount = 1;
    for (int i = 0; i < s->nb; i++) {
        const int ia = i - (s->nb - nba), ib = i - (s->nb - nbb);
        s->abatch[i] = ia >= 0 ? A->dims[ia] : 1;
        s->bbatch[i] = ib >= 0 ? B->dims[ib] : 1;
        s->batch[i] = s->abatch[i] == 1 ? s->bbatch[i] : s->abatch[i];
        s->nbatch *= s->batch[i];
        s->acount *= s->abatch[i];
        s->bcount *= s->bbatch[i];
    }
    return SQZ_OK;
}

/* Calls fn for every output batch bi with the A and B batch indices it reads. */
#define MM_FOR_BATCHES(s, BODY)                                                              \
    do {                                                                                     \
        int64_t pos_[SQZ_MAX_DIMS] = {0};                                                    \
        for (int64_t bi = 0; bi < (s).nbatch; bi++) {                                        \
            int64_t ai = 0, bj = 0;                                                          \
            for (int i_ = 0; i_ < (s).nb; i_++) {                                            \
                ai = ai * (s).abatch[i_] + ((s).abatch[i_] == 1 ? 0 : pos_[i_]);             \
                bj = bj * (s).bbatch[i_] + ((s).bbatch[i_] == 1 ? 0 : pos_[i_]);             \
            }                                                                                \
            BODY;                                                                            \
            for (int i_ = (s).nb - 1; i_ >= 0; i_--) {                                       \
                if (++pos_[i_] < (s).batch[i_]) break;                                       \
                pos_[i_] = 0;                                                                \
            }                                                                                \
        }                                                                                    \
    } while (0)

static sqz_status mm_fwd(sqz_gctx *c) {
    mm_geo s;
    sqz_status st = mm_geo_make(c, &s);
    if (st) return st;
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data;
    const int64_t M = s.M, N = s.N, K = s.K;
    if (s.bcount == 1) {
        sqz_grad_gemm(c, 0, 0, s.nbatch * M, N, K, 1.0f, a, K, b, N, 0.0f, y, N);
        return SQZ_OK;
    }
    MM_FOR_BATCHES(s, sqz_grad_gemm(c, 0, 0, M, N, K, 1.0f, a + ai * M * K, K, b + bj * K * N, N, 0.0f,
                                    y + bi * M * N, N));
    return SQZ_OK;
}

static sqz_status mm_bwd(sqz_gctx *c) {
    mm_geo s;
    sqz_status st = mm_geo_make(c, &s);
    if (st) return st;
    const float *a = c->in[0]->data, *b = c->in[1]->data, *dy = c->dout[0];
    float *da = c->din[0], *db = c->din[1];
    const int64_t M = s.M, N = s.N, K = s.K;
    if (s.bcount == 1 && s.acount == s.nbatch) { /* B shared: stack the batches of A */
        if (da) sqz_grad_gemm(c, 0, 1, s.nbatch * M, K, N, 1.0f, dy, N, b, N, 1.0f, da, K);
        if (db) sqz_grad_gemm(c, 1, 0, K, N, s.nbatch * M, 1.0f, a, K, dy, N, 1.0f, db, N);
        return SQZ_OK;
    }
    MM_FOR_BATCHES(s, {
        const float *dyb = dy + bi * M * N;
        if (da) sqz_grad_gemm(c, 0, 1, M, K, N, 1.0f, dyb, N, b + bj * K * N, N, 1.0f, da + ai * M * K, K);
        if (db) sqz_grad_gemm(c, 1, 0, K, N, M, 1.0f, a + ai * M * K, K, dyb, N, 1.0f, db + bj * K * N, N);
    });
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_matmul = {.op = "MatMul", .param_slots = 0x3u, .forward = mm_fwd, .backward = mm_bwd};
