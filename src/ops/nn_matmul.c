/* ops/nn_matmul.c - MatMul (ONNX opset 1-17) with numpy semantics: a 1-D A is a row vector
 * and a 1-D B a column vector (their unit dim is dropped from the result), leading batch
 * dims broadcast. f32 and f64. */
#include <string.h>

#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"

typedef struct mm_shape {
    int64_t M, N, K;
    int nb;                            /* batch rank of the output */
    int64_t batch[SQZ_MAX_DIMS];       /* output batch dims */
    int64_t abatch[SQZ_MAX_DIMS];      /* A's batch dims right-aligned to nb (1 where absent) */
    int64_t bbatch[SQZ_MAX_DIMS];
} mm_shape;

static sqz_status mm_dims(const sqz_opctx *c, mm_shape *s, int *yndim, int64_t *ydims) {
    const sqz_tensor *A = c->in[0], *B = c->in[1];
    sqz_status st;
    if ((st = sqz_nn_check_float("MatMul", "input", A, c->err))) return st;
    if ((st = sqz_nn_check_same_dtype("B", B, A->dtype, c->err))) return st;
    memset(s, 0, sizeof *s);
    if (A->ndim < 0 || B->ndim < 0) {
        *yndim = -1;
        return SQZ_OK;
    }
    if (A->ndim < 1 || B->ndim < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul operands must have rank >= 1");
    const int ra = A->ndim, rb = B->ndim;
    s->M = ra == 1 ? 1 : A->dims[ra - 2];
    s->K = A->dims[ra - 1];
    const int64_t Kb = rb == 1 ? B->dims[0] : B->dims[rb - 2];
    s->N = rb == 1 ? 1 : B->dims[rb - 1];
    if (s->K >= 0 && Kb >= 0 && s->K != Kb)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "inner dimensions differ: A has K = %lld, B has K = %lld",
                           (long long)s->K, (long long)Kb);
    if (s->K < 0) s->K = Kb;
    const int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    s->nb = nba > nbb ? nba : nbb;
    for (int i = 0; i < s->nb; i++) {
        const int ia = i - (s->nb - nba), ib = i - (s->nb - nbb);
        const int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        s->abatch[i] = da;
        s->bbatch[i] = db;
        if (da == db || db == 1) s->batch[i] = da;
        else if (da == 1) s->batch[i] = db;
        else if (da < 0) s->batch[i] = db;
        else if (db < 0) s->batch[i] = da;
        else
            return sqz_err_set(c->err, SQZ_ERR_DATA, "batch dimension %d cannot broadcast: %lld vs %lld", i,
                               (long long)da, (long long)db);
    }
    int r = 0;
    for (int i = 0; i < s->nb; i++) ydims[r++] = s->batch[i];
    if (ra > 1) ydims[r++] = s->M;
    if (rb > 1) ydims[r++] = s->N;
    *yndim = r;
    return SQZ_OK;
}

static sqz_status mm_infer(sqz_opctx *c) {
    mm_shape s;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = mm_dims(c, &s, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, yndim, ydims);
    return SQZ_OK;
}

static sqz_status mm_forward(sqz_opctx *c) {
    mm_shape s;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = mm_dims(c, &s, &yndim, ydims);
    if (st) return st;
    const sqz_tensor *A = c->in[0], *B = c->in[1];
    const int f32 = A->dtype == SQZ_DT_F32;
    const size_t es = f32 ? 4 : 8;
    const int64_t M = s.M, N = s.N, K = s.K;
    int64_t nbatch = 1, bcount = 1;
    for (int i = 0; i < s.nb; i++) {
        nbatch *= s.batch[i];
        bcount *= s.bbatch[i];
    }
    char *y = c->out[0]->data;
    const char *a = A->data, *b = B->data;
    if (bcount == 1) { /* B shared by every batch: the batches of A stack into one tall GEMM */
        if (f32) sqz_gemm_f32_ref(0, 0, nbatch * M, N, K, 1.0f, (const float *)a, K, (const float *)b, N, 0.0f, (float *)y, N);
        else sqz_gemm_f64_ref(0, 0, nbatch * M, N, K, 1.0, (const double *)a, K, (const double *)b, N, 0.0, (double *)y, N);
        return SQZ_OK;
    }
    int64_t pos[SQZ_MAX_DIMS] = {0};
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t ai = 0, bj = 0;
        for (int i = 0; i < s.nb; i++) {
            ai = ai * s.abatch[i] + (s.abatch[i] == 1 ? 0 : pos[i]);
            bj = bj * s.bbatch[i] + (s.bbatch[i] == 1 ? 0 : pos[i]);
        }
        const void *ap = a + (size_t)(ai * M * K) * es, *bp = b + (size_t)(bj * K * N) * es;
        void *yp = y + (size_t)(bi * M * N) * es;
        if (f32) sqz_gemm_f32_ref(0, 0, M, N, K, 1.0f, ap, K, bp, N, 0.0f, yp, N);
        else sqz_gemm_f64_ref(0, 0, M, N, K, 1.0, ap, K, bp, N, 0.0, yp, N);
        for (int i = s.nb - 1; i >= 0; i--) {
            if (++pos[i] < s.batch[i]) break;
            pos[i] = 0;
        }
    }
    return SQZ_OK;
}

static int64_t mm_macs(const sqz_opctx *c) {
    mm_shape s;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (mm_dims(c, &s, &yndim, ydims) || yndim < 0) return 0;
    int64_t m = s.M * s.N * s.K;
    for (int i = 0; i < s.nb; i++) m *= s.batch[i];
    return m < 0 ? 0 : m;
}

const sqz_op sqz_op_matmul = {
    .name = "MatMul",
    .n_in_min = 2,
    .n_in_max = 2,
    .n_out_min = 1,
    .n_out_max = 1,
    .infer = mm_infer,
    .forward = mm_forward,
    .macs = mm_macs,
};
