/* ops/nn_gemm.c - Gemm (ONNX opset 1-17): Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A,
 * B' likewise; C optional and unidirectionally broadcast to (M, N). f32 and f64.
 * f32 runs the fast GEMM of the CPU's ISA level (kernels/gemm_f32.h); a C that is a row (N) or a
 * column (M, 1) with beta == 1 becomes the fused bias of its epilogue; a constant B is packed once
 * per session (ops/nn_pack.h). */
#include "kernels/gemm_f32.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_pack.h"
#include "ops/nn_util.h"

/* M, N, K from A and B (-1 unknown) after validating ranks and dtypes. */
static sqz_status gemm_dims(const sqz_opctx *c, int64_t *M, int64_t *N, int64_t *K) {
    const sqz_tensor *A = c->in[0], *B = c->in[1], *C = sqz_nn_in(c, 2);
    sqz_status st;
    if ((st = sqz_nn_check_float("Gemm", "input", A, c->err))) return st;
    if ((st = sqz_nn_check_same_dtype("B", B, A->dtype, c->err))) return st;
    if (C && (st = sqz_nn_check_same_dtype("C", C, A->dtype, c->err))) return st;
    if (A->ndim >= 0 && A->ndim != 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "A must be 2-D, not %d-D", A->ndim);
    if (B->ndim >= 0 && B->ndim != 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "B must be 2-D, not %d-D", B->ndim);
    const int ta = sqz_node_attr_int(c->node, "transA", 0) != 0, tb = sqz_node_attr_int(c->node, "transB", 0) != 0;
    *M = A->ndim == 2 ? A->dims[ta ? 1 : 0] : -1;
    const int64_t Ka = A->ndim == 2 ? A->dims[ta ? 0 : 1] : -1;
    const int64_t Kb = B->ndim == 2 ? B->dims[tb ? 1 : 0] : -1;
    *N = B->ndim == 2 ? B->dims[tb ? 0 : 1] : -1;
    if (Ka >= 0 && Kb >= 0 && Ka != Kb)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "inner dimensions differ: A' is [%lld,%lld], B' is [%lld,%lld]",
                           (long long)*M, (long long)Ka, (long long)Kb, (long long)*N);
    *K = Ka >= 0 ? Ka : Kb;
    if (C && C->ndim >= 0) {
        if (C->ndim > 2) return sqz_err_set(c->err, SQZ_ERR_DATA, "C must have rank <= 2, not %d", C->ndim);
        const int64_t want[2] = {*M, *N};
        for (int i = 0; i < C->ndim; i++) {
            const int64_t d = C->dims[i], t = want[2 - C->ndim + i];
            if (d >= 0 && d != 1 && t >= 0 && d != t)
                return sqz_err_set(c->err, SQZ_ERR_DATA, "C cannot broadcast to [%lld,%lld]", (long long)*M,
                                   (long long)*N);
        }
    }
    return SQZ_OK;
}

static sqz_status gemm_infer(sqz_opctx *c) {
    int64_t M, N, K;
    sqz_status st = gemm_dims(c, &M, &N, &K);
    if (st) return st;
    const int64_t dims[2] = {M, N};
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, 2, dims);
    return SQZ_OK;
}

/* Y = beta * broadcast(C) */
#define FILL_C(T)                                                                              \
    do {                                                                                       \
        const T *cv = C->data;                                                                 \
        T *yv = Y->data;                                                                       \
        const int64_t cr = C->ndim == 2 ? C->dims[0] : 1, cc = C->ndim >= 1 ? C->dims[C->ndim - 1] : 1; \
        for (int64_t i = 0; i < M; i++)                                                        \
            for (int64_t j = 0; j < N; j++)                                                    \
                yv[i * N + j] = (T)beta * cv[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];       \
    } while (0)

/* For f32: the epilogue bias when C is a full row or column vector and beta == 1 (then C need not
 * be materialized into Y); 0 otherwise. */
static int gemm_bias_from_c(const sqz_tensor *C, double beta, int64_t M, int64_t N, sqz_gemm_epi *epi) {
    if (!C || beta != 1.0 || C->ndim < 1) return 0;
    const int64_t cr = C->ndim == 2 ? C->dims[0] : 1, cc = C->dims[C->ndim - 1];
    if (cr == 1 && cc == N && N > 1) {
        epi->bias_n = C->data;
        return 1;
    }
    if (C->ndim == 2 && cc == 1 && cr == M && M > 1) {
        epi->bias_m = C->data;
        return 1;
    }
    return 0;
}

/* This node writes its output transposed (N x M) as Y^T = B'^T A'^T: planned, M large enough, B
 * constant and given as B^T (transB), A not transposed by the node, C absent or a row bias (it
 * becomes a per-row bias of Y^T, moved from epi->bias_n to bias_m). */
static int xl_out_t(const sqz_opctx *c, int64_t M, int ta, int tb, const sqz_tensor *C, int fused,
                    sqz_gemm_epi *epi) {
    if (!(c->xlayout & SQZ_XL_OUT_T) || M < SQZ_XL_MIN_M || ta || !tb || !sqz_nn_is_const(c->in[1])) return 0;
    if (C && !(fused && epi->bias_n)) return 0;
    if (C) {
        epi->bias_m = epi->bias_n;
        epi->bias_n = NULL;
    }
    return 1;
}

static size_t gemm_scratch(const sqz_opctx *c) {
    int64_t M, N, K;
    if (c->in[0]->dtype != SQZ_DT_F32 || gemm_dims(c, &M, &N, &K) || M < 0 || N < 0 || K < 0) return 0;
    const size_t a = sqz_gemm_f32_scratch_bytes(sqz_cpu_isa(), c->threads, M, N, K);
    const size_t b = (c->xlayout & SQZ_XL_OUT_T) ? sqz_gemm_f32_scratch_bytes(sqz_cpu_isa(), c->threads, N, M, K) : 0;
    return a > b ? a : b;
}

static sqz_status gemm_forward(sqz_opctx *c) {
    int64_t M, N, K;
    sqz_status st = gemm_dims(c, &M, &N, &K);
    if (st) return st;
    const sqz_tensor *A = c->in[0], *B = c->in[1], *C = sqz_nn_in(c, 2);
    sqz_tensor *Y = c->out[0];
    const int ta = sqz_node_attr_int(c->node, "transA", 0) != 0, tb = sqz_node_attr_int(c->node, "transB", 0) != 0;
    const double alpha = sqz_node_attr_float(c->node, "alpha", 1.0f);
    const double beta = sqz_node_attr_float(c->node, "beta", 1.0f);
    const int64_t lda = A->dims[1], ldb = B->dims[1];
    if (A->dtype == SQZ_DT_F32) {
        sqz_gemm_epi epi = {0};
        const int fused = gemm_bias_from_c(C, beta, M, N, &epi);
        if (c->act) {
            epi.clamp = 1;
            epi.lo = c->act_lo;
            epi.hi = c->act_hi;
        }
        if (C && !fused) FILL_C(float);
        const sqz_isa isa = sqz_cpu_isa();
        const int in_t = (c->xlayout & SQZ_XL_IN_T) != 0, out_t = xl_out_t(c, M, ta, tb, C, fused, &epi);
        if (in_t && ta) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "Gemm: a transposed input with transA");
        void *owned;
        const size_t need = out_t ? sqz_gemm_f32_scratch_bytes(isa, c->threads, N, M, K)
                                  : sqz_gemm_f32_scratch_bytes(isa, c->threads, M, N, K);
        void *scratch = sqz_nn_scratch_get(c, need, &owned);
        if (need && !scratch) return SQZ_ERR_NOMEM;
        sqz_gemm_f32_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = (float)alpha,
                               .beta = C && !fused ? 1.0f : 0.0f, .A = A->data, .lda = lda, .B = B->data, .ldb = ldb,
                               .C = Y->data, .ldc = N, .epi = fused || c->act ? &epi : NULL};
        if (in_t) g.trans_a = 1, g.lda = M; /* A is stored as its transpose, K x M */
        int64_t st = 0;
        if (out_t) { /* Y^T (N x M) = W (N x K) * A^T, the weights packed as the A operand */
            g = (sqz_gemm_f32_args){.trans_b = !in_t, .M = N, .N = M, .K = K, .alpha = (float)alpha, .A = B->data,
                                    .lda = K, .B = A->data, .ldb = in_t ? M : K, .C = Y->data, .ldc = M,
                                    .epi = g.epi,
                                    .packed_a = need ? sqz_nn_packed_a(c, isa, B, 1, N, K, &st) : NULL};
        } else if (need) {
            g.packed_b = sqz_nn_packed_b(c, isa, B, tb, K, N, ldb);
        }
        sqz_gemm_f32(isa, c->threads, &g, scratch);
        sqz_nn_scratch_release(owned);
        c->xlayout_out = out_t ? SQZ_XL_OUT_T : 0;
    } else {
        if (C) FILL_C(double);
        sqz_gemm_f64_ref(ta, tb, M, N, K, alpha, A->data, lda, B->data, ldb, C ? 1.0 : 0.0, Y->data, N);
        sqz_nn_post_act(c, Y);
    }
    return SQZ_OK;
}

static int64_t gemm_macs(const sqz_opctx *c) {
    int64_t M, N, K;
    if (gemm_dims(c, &M, &N, &K) || M < 0 || N < 0 || K < 0) return 0;
    return M * N * K;
}

const sqz_op sqz_op_gemm = {
    .name = "Gemm",
    .n_in_min = 2,
    .n_in_max = 3,
    .n_out_min = 1,
    .n_out_max = 1,
    .infer = gemm_infer,
    .forward = gemm_forward,
    .scratch_bytes = gemm_scratch,
    .macs = gemm_macs,
    .release_state = sqz_nn_packed_free,
    .fuse_act = 1,
};
