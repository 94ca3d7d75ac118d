/* ops/nn_pack.c - fp32 weights packed once per session (see nn_pack.h). */
#include "ops/nn_pack.h"

#include <stdlib.h>

#include "kernels/conv_f32.h"
#include "kernels/gemm_f32.h"

typedef struct nn_packed {
    sqz_isa isa;
    int side, trans;       /* side 'A' or 'B' */
    int64_t rows, cols, groups, ld;
    const void *src;       /* the tensor data it was packed from */
    int64_t stride;        /* floats per group */
    float *data;
} nn_packed;

void sqz_nn_packed_free(void *state) {
    nn_packed *p = state;
    if (!p) return;
    free(p->data);
    free(p);
}

int sqz_nn_is_const(const sqz_tensor *t) {
    return t && (t->flags & SQZ_TF_INIT) && t->data && t->encoding == SQZ_ENC_DENSE && t->dtype == SQZ_DT_F32;
}

static const float *lookup(sqz_opctx *c, sqz_isa isa, int side, int trans, int64_t rows, int64_t cols,
                           int64_t groups, int64_t ld, const sqz_tensor *t, int64_t *stride) {
    if (!c->state) return NULL;
    nn_packed *p = *c->state;
    if (p && p->isa == isa && p->side == side && p->trans == trans && p->rows == rows && p->cols == cols &&
        p->groups == groups && p->ld == ld && p->src == t->data) {
        if (stride) *stride = p->stride;
        return p->data;
    }
    return NULL;
}

static const float *store(sqz_opctx *c, nn_packed *np) {
    sqz_nn_packed_free(*c->state);
    *c->state = np;
    return np->data;
}

/* A new state with room for bytes of packed data (64-byte aligned), or NULL (nothing allocated). */
static nn_packed *entry_new(size_t bytes) {
    if (!bytes || bytes > SIZE_MAX - 64) return NULL;
    nn_packed *np = calloc(1, sizeof *np);
    float *d = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!np || !d) {
        free(np);
        free(d);
        return NULL;
    }
    np->data = d;
    return np;
}

const float *sqz_nn_packed_b(sqz_opctx *c, sqz_isa isa, const sqz_tensor *B, int trans_b, int64_t K, int64_t N,
                             int64_t ldb) {
    if (!c->state || !sqz_nn_is_const(B) || K <= 0 || N <= 0) return NULL;
    const float *hit = lookup(c, isa, 'B', trans_b, K, N, 1, ldb, B, NULL);
    if (hit) return hit;
    nn_packed *np = entry_new(sqz_gemm_f32_packed_b_bytes(isa, K, N));
    if (!np) return NULL;
    sqz_gemm_f32_pack_b(isa, trans_b, K, N, B->data, ldb, np->data);
    *np = (nn_packed){.isa = isa, .side = 'B', .trans = trans_b, .rows = K, .cols = N, .groups = 1, .ld = ldb,
                      .src = B->data, .stride = 0, .data = np->data};
    return store(c, np);
}

const float *sqz_nn_packed_a(sqz_opctx *c, sqz_isa isa, const sqz_tensor *W, int64_t groups, int64_t M, int64_t K,
                             int64_t *stride) {
    if (!c->state || !sqz_nn_is_const(W) || groups <= 0 || M <= 0 || K <= 0) return NULL;
    const float *hit = lookup(c, isa, 'A', 0, M, K, groups, K, W, stride);
    if (hit) return hit;
    const size_t each = sqz_gemm_f32_packed_a_bytes(isa, M, K);
    const size_t each64 = (each + 63) & ~(size_t)63;
    if (!each || each > SIZE_MAX / 2 || (size_t)groups > SIZE_MAX / each64) return NULL;
    nn_packed *np = entry_new(each64 * (size_t)groups);
    if (!np) return NULL;
    float *d = np->data;
    const int64_t st = (int64_t)(each64 / sizeof(float));
    for (int64_t g = 0; g < groups; g++)
        sqz_gemm_f32_pack_a(isa, 0, M, K, (const float *)W->data + g * M * K, K, d + g * st);
    *np = (nn_packed){.isa = isa, .side = 'A', .trans = 0, .rows = M, .cols = K, .groups = groups, .ld = K,
                      .src = W->data, .stride = st, .data = d};
    *stride = st;
    return store(c, np);
}

const float *sqz_nn_packed_winograd(sqz_opctx *c, sqz_isa isa, const sqz_tensor *W, const sqz_conv_params *p) {
    if (!c->state || !sqz_nn_is_const(W) || p->c_in <= 0 || p->c_out <= 0) return NULL;
    const float *hit = lookup(c, isa, 'W', 0, p->c_out, p->c_in, 1, 9, W, NULL);
    if (hit) return hit;
    nn_packed *np = entry_new(sqz_conv_f32_packed_w_bytes(isa, p));
    if (!np) return NULL;
    sqz_conv_f32_pack_winograd(p, W->data, np->data);
    *np = (nn_packed){.isa = isa, .side = 'W', .trans = 0, .rows = p->c_out, .cols = p->c_in, .groups = 1, .ld = 9,
                      .src = W->data, .stride = 0, .data = np->data};
    return store(c, np);
}
