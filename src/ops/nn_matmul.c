/* ops/nn_matmul.c - MatMul (ONNX opset 1-17) with numpy semantics: a 1-D A is a row vector
 * and a 1-D B a column vector (their unit dim is dropped from the result), leading batch
 * dims broadcast. f32 and f64; f32 runs the fast GEMM of the CPU's ISA level (kernels/gemm_f32.h),
 * with a constant B shared by all batches packed once per session (ops/nn_pack.h). */
#include <string.h>

#include "kernels/gemm_f32.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_pack.h"
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

/* Rows of one GEMM call: all batches stacked when B is shared (bcount == 1), else M. */
static int64_t mm_gemm_rows(const mm_shape *s, int64_t *nbatch, int64_t *bcount) {
    *nbatch = *bcount = 1;
    for (int i = 0; i < s->nb; i++) {
        *nbatch *= s->batch[i];
        *bcount *= s->bbatch[i];
    }
    return *bcount == 1 ? *nbatch * s->M : s->M;
}

static size_t mm_scratch(const sqz_opctx *c) {
    mm_shape s;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS], nbatch, bcount;
    if (c->in[0]->dtype != SQZ_DT_F32 || mm_dims(c, &s, &yndim, ydims) || yndim < 0) return 0;
    const int64_t rows = mm_gemm_rows(&s, &nbatch, &bcount);
    if (rows < 0 || s.N < 0 || s.K < 0) return 0;
    return sqz_gemm_f32_scratch_bytes(sqz_cpu_isa(), c->threads, rows, s.N, s.K);
}

/* y = a * b for one (possibly stacked) GEMM of m rows. */
static void mm_gemm(const sqz_opctx *c, int f32, int64_t m, int64_t N, int64_t K, const void *a, const void *b,
                    void *y, void *scratch, const float *packed_b) {
    if (f32) {
        const sqz_gemm_epi epi = {.clamp = 1, .lo = c->act_lo, .hi = c->act_hi};
        const sqz_gemm_f32_args g = {.M = m, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = a, .lda = K,
                                     .B = b, .ldb = N, .C = y, .ldc = N, .epi = c->act ? &epi : NULL,
                                     .packed_b = packed_b};
        sqz_gemm_f32(sqz_cpu_isa(), c->threads, &g, scratch);
    } else {
        sqz_gemm_f64_ref(0, 0, m, N, K, 1.0, a, K, b, N, 0.0, y, N);
        if (c->act) {
            double *v = y;
            for (int64_t i = 0; i < m * N; i++) v[i] = v[i] < c->act_lo ? c->act_lo : (v[i] > c->act_hi ? c->act_hi : v[i]);
        }
    }
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
    int64_t nbatch, bcount;
    const int64_t rows = mm_gemm_rows(&s, &nbatch, &bcount);
    void *owned = NULL, *scratch = NULL;
    if (f32) {
        const size_t need = sqz_gemm_f32_scratch_bytes(sqz_cpu_isa(), c->threads, rows, N, K);
        scratch = sqz_nn_scratch_get(c, need, &owned);
        if (need && !scratch) return SQZ_ERR_NOMEM;
    }
    char *y = c->out[0]->data;
    const char *a = A->data, *b = B->data;
    if (bcount == 1) { /* B shared by every batch: the batches of A stack into one tall GEMM */
        const float *pb = f32 && scratch && rows > 0 ? sqz_nn_packed_b(c, sqz_cpu_isa(), B, 0, K, N, N) : NULL;
        mm_gemm(c, f32, rows, N, K, a, b, y, scratch, pb);
        sqz_nn_scratch_release(owned);
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
        mm_gemm(c, f32, M, N, K, ap, bp, yp, scratch, NULL);
        for (int i = s.nb - 1; i >= 0; i--) {
            if (++pos[i] < s.batch[i]) break;
            pos[i] = 0;
        }
    }
    sqz_nn_scratch_release(owned);
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
    .scratch_bytes = mm_scratch,
    .macs = mm_macs,
    .release_state = sqz_nn_packed_free,
    .fuse_act = 1,
};
