/* train/grad_util.c - helpers shared by the gradient functions: state and scratch buffers,
 * the GEMM wrapper, broadcast reduction. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "kernels/gemm_f32.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/elem_util.h"
#include "train/grad.h"

int sqz_grad_buf_reserve(sqz_grad_buf *b, size_t bytes) {
    if (bytes <= b->cap && b->p) return 0;
    if (bytes > SIZE_MAX - 128) return -1;
    size_t cap = (bytes + 63) & ~(size_t)63;
    if (cap == 0) cap = 64;
    void *p = aligned_alloc(64, cap);
    if (!p) return -1;
    free(b->p);
    b->p = p;
    b->cap = cap;
    return 0;
}

void sqz_grad_buf_free(sqz_grad_buf *b) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

static void *get_buf(sqz_gctx *c, sqz_grad_buf *b, size_t bytes) {
    if (sqz_grad_buf_reserve(b, bytes)) {
        sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory allocating %zu bytes of training state", bytes);
        return NULL;
    }
    return b->p;
}

void *sqz_grad_state(sqz_gctx *c, int slot, size_t bytes) { return get_buf(c, &c->state[slot], bytes); }
void *sqz_grad_scratch(sqz_gctx *c, int slot, size_t bytes) { return get_buf(c, &c->scratch[slot], bytes); }

/* The one place that picks the GEMM: switch to another kernel here. */
void sqz_grad_gemm(sqz_gctx *c, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    const sqz_isa isa = sqz_cpu_isa();
    const int threads = c->threads > 0 ? c->threads : 1;
    size_t sb = sqz_gemm_f32_scratch_bytes(isa, threads, M, N, K);
    void *scratch = NULL;
    if (sb) {
        if (sqz_grad_buf_reserve(&c->scratch[SQZ_GS_GEMM], sb)) {
            sqz_gemm_f32_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            return;
        }
        scratch = c->scratch[SQZ_GS_GEMM].p;
    }
    const sqz_gemm_f32_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                                 .beta = beta, .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc,
                                 .epi = NULL};
    sqz_gemm_f32(isa, threads, &g, scratch);
}

void sqz_grad_reduce_bcast(const sqz_tensor *out, const sqz_tensor *t, const float *g, float *d) {
    sqz_bcast it;
    const sqz_tensor *in[1] = {t};
    if (sqz_bcast_init(&it, out, in, 1, NULL)) return; /* shapes were checked by infer */
    const int64_t L = it.inner;
    for (int64_t r = 0; r < it.rows; r++) {
        const float *gr = g + r * L;
        float *dr = d + it.off[0];
        if (it.istr[0]) {
            for (int64_t i = 0; i < L; i++) dr[i] += gr[i];
        } else {
            float s = 0;
            for (int64_t i = 0; i < L; i++) s += gr[i];
            dr[0] += s;
        }
        sqz_bcast_next(&it);
    }
}

sqz_status sqz_grad_check_f32(const sqz_gctx *c, const sqz_tensor *t, const char *what) {
    if (t && t->dtype == SQZ_DT_F32) return SQZ_OK;
    return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "%s: training supports f32 only (%s is %s)", c->node->op_type,
                       what, t ? sqz_dtype_name(t->dtype) : "missing");
}

void sqz_grad_din_zero(sqz_gctx *c, int i) {
    if (!(c->fresh >> i & 1u)) return;
    c->fresh &= ~(1u << i);
    if (!c->din[i] || !c->in[i]) return;
    const int64_t n = sqz_tensor_numel(c->in[i]);
    if (n > 0) memset(c->din[i], 0, sizeof(float) * (size_t)n);
}
