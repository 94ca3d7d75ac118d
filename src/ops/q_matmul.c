/* ops/q_matmul.c - QLinearMatMul (opset 10) and MatMulInteger (opset 10): numpy matmul with
 * broadcast batch dims, u8/i8 activations (a), u8/i8 weights (b), b quantized per tensor or per
 * column. QLinearMatMul requantizes to y's dtype (optionally adding an i32 bias, see below);
 * MatMulInteger gives i32. B is packed once per
 * session when it is a constant (node state), per run otherwise. */
#include <stdlib.h>
#include <string.h>

#include "ops/q_util.h"

typedef struct mm_geom {
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    int64_t M, N, K;
    int nbd;                        /* output batch rank */
    int64_t bdims[SQZ_MAX_DIMS];    /* output batch dims */
    int64_t astr[SQZ_MAX_DIMS];     /* a batch strides (in matrices; 0 = broadcast) */
    int64_t bstr[SQZ_MAX_DIMS];
    int64_t nbatch, b_count;        /* output batches; distinct b matrices */
} mm_geom;

static sqz_status mm_geometry(const sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b, mm_geom *g) {
    memset(g, 0, sizeof *g);
    if (a->ndim < 0 || b->ndim < 0) {
        g->yndim = -1;
        return SQZ_OK;
    }
    if (a->ndim < 1 || b->ndim < 1)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul inputs must have rank >= 1 (ranks %d and %d)", a->ndim,
                           b->ndim);
    int64_t ad[SQZ_MAX_DIMS + 1], bd[SQZ_MAX_DIMS + 1];
    int ar = a->ndim, br = b->ndim;
    if (ar == 1) {
        ad[0] = 1;
        ad[1] = a->dims[0];
        ar = 2;
    } else memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
    if (br == 1) {
        bd[0] = b->dims[0];
        bd[1] = 1;
        br = 2;
    } else memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
    g->M = ad[ar - 2];
    g->K = ad[ar - 1];
    g->N = bd[br - 1];
    if (g->K >= 0 && bd[br - 2] >= 0 && g->K != bd[br - 2])
        return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul inner dimensions differ: a has %lld, b has %lld",
                           (long long)g->K, (long long)bd[br - 2]);
    const int abr = ar - 2, bbr = br - 2;
    g->nbd = abr > bbr ? abr : bbr;
    if (g->nbd + 2 > SQZ_MAX_DIMS) return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul output rank too large");
    int64_t as = 1, bs = 1;
    g->nbatch = 1;
    g->b_count = 1;
    for (int i = g->nbd - 1; i >= 0; i--) {
        const int ia = i - (g->nbd - abr), ib = i - (g->nbd - bbr);
        const int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
        if (da >= 0 && db >= 0 && da != db && da != 1 && db != 1)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "MatMul batch dims do not broadcast (%lld vs %lld)",
                               (long long)da, (long long)db);
        g->bdims[i] = da == 1 ? db : da;
        g->astr[i] = da == 1 ? 0 : as;
        g->bstr[i] = db == 1 ? 0 : bs;
        as *= da;
        bs *= db;
        g->nbatch *= g->bdims[i];
    }
    g->b_count = bs;
    int r = 0;
    for (int i = 0; i < g->nbd; i++) g->ydims[r++] = g->bdims[i];
    if (a->ndim > 1) g->ydims[r++] = g->M;
    if (b->ndim > 1) g->ydims[r++] = g->N;
    g->yndim = r;
    return SQZ_OK;
}

/* Index of the a or b matrix for output batch t. */
static int64_t batch_index(const mm_geom *g, const int64_t *str, int64_t t) {
    int64_t idx = 0;
    for (int i = g->nbd - 1; i >= 0; i--) {
        const int64_t d = g->bdims[i] > 0 ? g->bdims[i] : 1;
        idx += (t % d) * str[i];
        t /= d;
    }
    return idx;
}

typedef struct mm_state {
    int64_t count;
    sqz_qpack **packs; /* (count) one per b matrix */
} mm_state;

static void mm_state_free(void *p) {
    mm_state *s = p;
    if (!s) return;
    for (int64_t i = 0; i < s->count; i++) sqz_qpack_free(s->packs[i]);
    free(s->packs);
    free(s);
}

static mm_state *mm_pack(const sqz_tensor *b, const mm_geom *g) {
    mm_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->packs = calloc((size_t)g->b_count, sizeof *s->packs);
    if (!s->packs) {
        free(s);
        return NULL;
    }
    s->count = g->b_count;
    const sqz_qkind kind = sqz_q_kind();
    for (int64_t i = 0; i < g->b_count; i++) {
        const char *src = (const char *)b->data + (size_t)(i * g->K * g->N);
        s->packs[i] = sqz_qpack_create_kind(kind, SQZ_QSIDE_B, g->N, g->K, src, b->dtype == SQZ_DT_U8, 1, g->N);
        if (!s->packs[i]) {
            mm_state_free(s);
            return NULL;
        }
    }
    return s;
}

/* Rows of one GEMM call: all batches at once when b is a single matrix. */
static int64_t gemm_rows(const mm_geom *g) { return g->b_count == 1 ? g->nbatch * g->M : g->M; }

static size_t mm_scratch_of(const mm_geom *g, int threads) {
    return sqz_qgemm_scratch_for(sqz_q_kind(), SQZ_QSIDE_B, gemm_rows(g), g->N, g->K, threads);
}

/* Runs the GEMMs: a (u8/i8) with zero point a_zp, b packed (from state or now). */
static sqz_status mm_run(sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b, int32_t a_zp, const sqz_qepi *epi,
                         sqz_tensor *y) {
    mm_geom g;
    sqz_status st = mm_geometry(c, a, b, &g);
    if (st) return st;
    if (g.nbatch == 0 || g.M == 0 || g.N == 0) return SQZ_OK;
    mm_state *s = c->state ? *c->state : NULL, *tmp = NULL;
    if (!s) {
        s = mm_pack(b, &g);
        if (!s) return sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory packing b");
        if (c->state && sqz_q_is_const(b)) *c->state = s;
        else tmp = s;
    }
    void *owned;
    const size_t need = mm_scratch_of(&g, c->threads);
    void *scr = sqz_q_scratch(c, need, &owned);
    if (need && !scr) {
        mm_state_free(tmp);
        return SQZ_ERR_NOMEM;
    }
    const size_t ysz = sqz_dtype_size(y->dtype);
    sqz_qgemm_args ga = {.N = g.N, .K = g.K, .ldx = g.K, .x_s8 = a->dtype == SQZ_DT_I8, .x_zp = a_zp, .ldy = g.N,
                         .epi = epi};
    if (g.b_count == 1 && g.nbd > 0 && batch_index(&g, g.astr, g.nbatch - 1) == g.nbatch - 1) {
        ga.M = g.nbatch * g.M; /* a's batches are contiguous and not broadcast: one GEMM */
        ga.w = s->packs[0];
        ga.x = a->data;
        ga.y = y->data;
        sqz_qgemm(c->threads, &ga, scr);
    } else {
        ga.M = g.M;
        for (int64_t t = 0; t < g.nbatch; t++) {
            const int64_t ai = batch_index(&g, g.astr, t), bi = batch_index(&g, g.bstr, t);
            ga.w = s->packs[bi];
            ga.x = (const char *)a->data + (size_t)(ai * g.M * g.K);
            ga.y = (char *)y->data + (size_t)(t * g.M * g.N) * ysz;
            sqz_qgemm(c->threads, &ga, scr);
        }
    }
    sqz_q_scratch_release(owned);
    mm_state_free(tmp);
    return SQZ_OK;
}

static sqz_status check_ab(const sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b) {
    if (a->dtype != SQZ_DT_U8 && a->dtype != SQZ_DT_I8)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "input a has dtype %s; u8 or i8 expected",
                           sqz_dtype_name(a->dtype));
    if (b->dtype != SQZ_DT_U8 && b->dtype != SQZ_DT_I8)
        return sqz_err_set(c->err, SQZ_ERR_UNSUPPORTED, "input b has dtype %s; u8 or i8 expected",
                           sqz_dtype_name(b->dtype));
    return SQZ_OK;
}

/* Per-column arrays for the epilogue: w_zp (NULL when all 0) and scale. */
typedef struct mm_arrays {
    int32_t *wzp;
    float *scale;
} mm_arrays;

static sqz_status arrays_make(const sqz_opctx *c, int64_t N, const sqz_tensor *bz, mm_arrays *ar) {
    ar->wzp = malloc((size_t)(N + 1) * 4);
    ar->scale = malloc((size_t)(N + 1) * 4);
    if (!ar->wzp || !ar->scale) {
        free(ar->wzp);
        free(ar->scale);
        return sqz_err_set(c->err, SQZ_ERR_NOMEM, "out of memory");
    }
    const int any = sqz_q_zp_fill(bz, N, ar->wzp);
    if (!any) {
        free(ar->wzp);
        ar->wzp = NULL;
    }
    return SQZ_OK;
}

static void arrays_free(mm_arrays *ar) {
    free(ar->wzp);
    free(ar->scale);
}

/* ---- QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp [, bias] ----
 * The ninth input (i32 [N], added to the accumulators like QLinearConv's B) and the output clamp
 * attributes of ops/q_util.h are sqz extensions: the QDQ rewrite uses them for a Gemm's bias and a
 * following Relu/Clip. ONNX's QLinearMatMul has eight inputs. */

static sqz_status qlmm_check(const sqz_opctx *c, mm_geom *g) {
    const sqz_tensor *a = c->in[0], *b = c->in[3];
    sqz_status st = check_ab(c, a, b);
    if (st) return st;
    if ((st = mm_geometry(c, a, b, g))) return st;
    int64_t n1, n2, n3, n4, n5, n6;
    const int64_t per_n = g->yndim >= 0 && g->N >= 0 ? g->N : SQZ_Q_ANY;
    if ((st = sqz_q_check_scale(c->in[1], "a_scale", -1, &n1, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[2], "a_zero_point", -1, a->dtype, 0, &n2, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[4], "b_scale", per_n, &n3, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[5], "b_zero_point", per_n, b->dtype, 0, &n4, c->err))) return st;
    if ((st = sqz_q_check_scale(c->in[6], "y_scale", -1, &n5, c->err))) return st;
    if ((st = sqz_q_check_zp(c->in[7], "y_zero_point", -1, SQZ_DT_UNDEF, 0, &n6, c->err))) return st;
    const sqz_tensor *B = sqz_q_in(c, 8);
    if (B) {
        if (B->dtype != SQZ_DT_I32)
            return sqz_err_set(c->err, SQZ_ERR_DATA, "bias has dtype %s; i32 expected", sqz_dtype_name(B->dtype));
        if (B->ndim >= 0 && (B->ndim != 1 || (g->yndim >= 0 && g->N >= 0 && B->dims[0] >= 0 && B->dims[0] != g->N)))
            return sqz_err_set(c->err, SQZ_ERR_DATA, "bias must have shape [%lld]", (long long)g->N);
    }
    int32_t lo, hi;
    return sqz_q_out_range(c->node, c->in[7]->dtype, &lo, &hi, c->err);
}

static sqz_status qlmm_infer(sqz_opctx *c) {
    mm_geom g;
    sqz_status st = qlmm_check(c, &g);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[7]->dtype, g.yndim, g.ydims);
    return SQZ_OK;
}

static size_t qlmm_scratch(const sqz_opctx *c) {
    mm_geom g;
    if (mm_geometry(c, c->in[0], c->in[3], &g) || g.yndim < 0) return 0;
    return mm_scratch_of(&g, c->threads);
}

static sqz_status qlmm_forward(sqz_opctx *c) {
    mm_geom g;
    sqz_status st = qlmm_check(c, &g);
    if (st) return st;
    sqz_tensor *y = c->out[0];
    mm_arrays ar;
    if ((st = arrays_make(c, g.N, c->in[5], &ar))) return st;
    const double as = sqz_q_scale_at(c->in[1], 0), ys = sqz_q_scale_at(c->in[6], 0);
    const float *bsc = c->in[4]->data;
    const int bsc_per_n = sqz_tensor_numel(c->in[4]) > 1;
    for (int64_t n = 0; n < g.N; n++) ar.scale[n] = (float)(as * bsc[bsc_per_n ? n : 0] / ys);
    const sqz_tensor *B = sqz_q_in(c, 8);
    sqz_qepi epi = {.out = y->dtype == SQZ_DT_I8 ? SQZ_QOUT_S8 : SQZ_QOUT_U8, .bias = B ? B->data : NULL,
                    .w_zp = ar.wzp, .scale = ar.scale, .y_zp = sqz_q_zp_at(c->in[7], 0)};
    sqz_q_out_range(c->node, y->dtype, &epi.lo, &epi.hi, NULL); /* checked by qlmm_check */
    st = mm_run(c, c->in[0], c->in[3], sqz_q_zp_at(c->in[2], 0), &epi, y);
    arrays_free(&ar);
    return st;
}

static int64_t mm_macs_of(const sqz_opctx *c, const sqz_tensor *a, const sqz_tensor *b) {
    mm_geom g;
    if (mm_geometry(c, a, b, &g) || g.yndim < 0) return 0;
    return g.nbatch * g.M * g.N * g.K;
}

static int64_t qlmm_macs(const sqz_opctx *c) { return mm_macs_of(c, c->in[0], c->in[3]); }

const sqz_op sqz_op_qlinear_matmul = {
    .name = "QLinearMatMul", .n_in_min = 8, .n_in_max = 9, .n_out_min = 1, .n_out_max = 1,
    .infer = qlmm_infer, .forward = qlmm_forward, .scratch_bytes = qlmm_scratch, .macs = qlmm_macs,
    .release_state = mm_state_free,
};

/* ---- MatMulInteger: A, B, a_zero_point, b_zero_point -> i32 ---- */

static sqz_status mmi_check(const sqz_opctx *c, mm_geom *g) {
    const sqz_tensor *a = c->in[0], *b = c->in[1];
    sqz_status st = check_ab(c, a, b);
    if (st) return st;
    if ((st = mm_geometry(c, a, b, g))) return st;
    int64_t n1, n2;
    const int64_t per_n = g->yndim >= 0 && g->N >= 0 ? g->N : SQZ_Q_ANY;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 2), "a_zero_point", -1, a->dtype, 0, &n1, c->err))) return st;
    if ((st = sqz_q_check_zp(sqz_q_in(c, 3), "b_zero_point", per_n, b->dtype, 0, &n2, c->err))) return st;
    return SQZ_OK;
}

static sqz_status mmi_infer(sqz_opctx *c) {
    mm_geom g;
    sqz_status st = mmi_check(c, &g);
    if (st) return st;
    sqz_op_set_shape(c->out[0], SQZ_DT_I32, g.yndim, g.ydims);
    return SQZ_OK;
}

static size_t mmi_scratch(const sqz_opctx *c) {
    mm_geom g;
    if (mm_geometry(c, c->in[0], c->in[1], &g) || g.yndim < 0) return 0;
    return mm_scratch_of(&g, c->threads);
}

static sqz_status mmi_forward(sqz_opctx *c) {
    mm_geom g;
    sqz_status st = mmi_check(c, &g);
    if (st) return st;
    mm_arrays ar;
    if ((st = arrays_make(c, g.N, sqz_q_in(c, 3), &ar))) return st;
    sqz_qepi epi = {.out = SQZ_QOUT_S32, .w_zp = ar.wzp};
    st = mm_run(c, c->in[0], c->in[1], sqz_q_zp_at(sqz_q_in(c, 2), 0), &epi, c->out[0]);
    arrays_free(&ar);
    return st;
}

static int64_t mmi_macs(const sqz_opctx *c) { return mm_macs_of(c, c->in[0], c->in[1]); }

const sqz_op sqz_op_matmul_integer = {
    .name = "MatMulInteger", .n_in_min = 2, .n_in_max = 4, .n_out_min = 1, .n_out_max = 1,
    .infer = mmi_infer, .forward = mmi_forward, .scratch_bytes = mmi_scratch, .macs = mmi_macs,
    .release_state = mm_state_free,
};
