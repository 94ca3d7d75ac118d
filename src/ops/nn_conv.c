/* ops/nn_conv.c - Conv (ONNX opset 1-17): 1-D, 2-D and 3-D (up to 6-D) spatial, group and
 * depthwise, strides, pads, dilations, auto_pad, optional bias; kernel_shape taken from W.
 * X (N, C, D1...), W (M, C/group, k1...), B (M) -> Y (N, M, O1...). f32 and f64; f32 runs the
 * fast kernels of the CPU's ISA level (kernels/conv_f32.h) with constant weights packed once per
 * session (ops/nn_pack.h), f64 the reference. */
#include <string.h>

#include "kernels/conv_f32.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_conv.h"
#include "ops/nn_pack.h"
#include "ops/nn_util.h"

/* Validates inputs and attributes and computes the geometry (unknown dims stay -1) and the
 * output shape. */
static sqz_status conv_geometry(const sqz_opctx *c, sqz_conv_params *p, int *yndim, int64_t *ydims) {
    const sqz_tensor *X = c->in[0], *W = c->in[1], *B = sqz_nn_in(c, 2);
    sqz_status st;
    if ((st = sqz_nn_check_float("Conv", "input", X, c->err))) return st;
    if ((st = sqz_nn_check_same_dtype("W", W, X->dtype, c->err))) return st;
    if (B && (st = sqz_nn_check_same_dtype("B", B, X->dtype, c->err))) return st;
    memset(p, 0, sizeof *p);
    const int r = X->ndim >= 0 ? X->ndim : W->ndim;
    if (r < 0) {
        *yndim = -1;
        return SQZ_OK;
    }
    if (r < 3 || r > SQZ_MAX_DIMS)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "input has rank %d; Conv needs rank 3 to %d", r, SQZ_MAX_DIMS);
    if (W->ndim >= 0 && W->ndim != r)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "W has rank %d but X has rank %d", W->ndim, r);
    const int nsp = r - 2;
    const int64_t group = sqz_node_attr_int(c->node, "group", 1);
    if (group < 1) return sqz_err_set(c->err, SQZ_ERR_DATA, "group must be >= 1, not %lld", (long long)group);
    const int64_t N = X->ndim >= 0 ? X->dims[0] : -1, C = X->ndim >= 0 ? X->dims[1] : -1;
    const int64_t M = W->ndim >= 0 ? W->dims[0] : -1, CW = W->ndim >= 0 ? W->dims[1] : -1;
    if (C >= 0 && CW >= 0 && C != CW * group)
        return sqz_err_set(c->err, SQZ_ERR_DATA,
                           "X has %lld channels but W.shape[1] * group = %lld * %lld = %lld", (long long)C,
                           (long long)CW, (long long)group, (long long)(CW * group));
    if (M >= 0 && M % group)
        return sqz_err_set(c->err, SQZ_ERR_DATA, "W has %lld output channels, not a multiple of group %lld",
                           (long long)M, (long long)group);
    if (B && B->ndim >= 0 && (B->ndim != 1 || (M >= 0 && B->dims[0] >= 0 && B->dims[0] != M)))
        return sqz_err_set(c->err, SQZ_ERR_DATA, "B must have shape [%lld]", (long long)M);
    int64_t kernel[SQZ_MAX_DIMS];
    for (int d = 0; d < nsp; d++) kernel[d] = W->ndim >= 0 ? W->dims[2 + d] : -1;
    sqz_nn_window w;
    if ((st = sqz_nn_window_read(c->node, nsp, kernel, &w, c->err))) return st;
    ydims[0] = N;
    ydims[1] = M;
    p->nsp = nsp;
    p->batch = N;
    p->c_in = C;
    p->c_out = M;
    p->group = group;
    for (int d = 0; d < nsp; d++) {
        p->in[d] = X->ndim >= 0 ? X->dims[2 + d] : -1;
        if ((st = sqz_nn_window_out(&w, d, p->in[d], &p->out[d], c->err))) return st;
        p->kernel[d] = w.kernel[d];
        p->stride[d] = w.stride[d];
        p->dilation[d] = w.dilation[d];
        p->pad_begin[d] = w.pad_begin[d];
        ydims[2 + d] = p->out[d];
    }
    *yndim = r;
    return SQZ_OK;
}

static sqz_status conv_infer(sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = conv_geometry(c, &p, &yndim, ydims);
    if (st) return st;
    sqz_op_set_shape(c->out[0], c->in[0]->dtype, yndim, ydims);
    return SQZ_OK;
}

static size_t conv_scratch(const sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (conv_geometry(c, &p, &yndim, ydims) || yndim < 0) return 0;
    /* constant weights are packed once in the node state (conv_forward): no room for them here */
    if (c->in[0]->dtype == SQZ_DT_F32)
        return c->state && sqz_nn_is_const(c->in[1]) ? sqz_conv_f32_packed_scratch_bytes(sqz_cpu_isa(), c->threads, &p)
                                                      : sqz_conv_f32_scratch_bytes(sqz_cpu_isa(), c->threads, &p);
    return sqz_conv_scratch_bytes(&p, sqz_dtype_size(c->in[0]->dtype));
}

static sqz_status conv_forward(sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    sqz_status st = conv_geometry(c, &p, &yndim, ydims);
    if (st) return st;
    const sqz_tensor *X = c->in[0], *W = c->in[1], *B = sqz_nn_in(c, 2);
    void *owned;
    const int f32 = X->dtype == SQZ_DT_F32;
    const sqz_isa isa = sqz_cpu_isa();
    int64_t pstride = 0;
    const float *pw = NULL;
    if (f32) { /* constant weights packed once, in the form the kernel's path reads */
        const int form = sqz_conv_f32_packed_w_bytes(isa, &p) ? sqz_conv_f32_packed_form(isa, &p) : 0;
        int64_t kk = 1;
        for (int d = 0; d < p.nsp; d++) kk *= p.kernel[d];
        if (form == 'A') pw = sqz_nn_packed_a(c, isa, W, p.group, p.c_out / p.group, p.c_in / p.group * kk, &pstride);
        else if (form == 'B') pw = sqz_nn_packed_b(c, isa, W, 1, p.c_in * kk, p.c_out, p.c_in * kk);
        else if (form == 'W') pw = sqz_nn_packed_winograd(c, isa, W, &p);
    }
    const size_t need = !f32 ? sqz_conv_scratch_bytes(&p, sqz_dtype_size(X->dtype))
                        : pw ? sqz_conv_f32_packed_scratch_bytes(isa, c->threads, &p)
                             : sqz_conv_f32_scratch_bytes(isa, c->threads, &p);
    /* the session sized c->scratch by conv_scratch(), assuming packed weights: when packing
     * failed (out of memory) this call needs more, so it takes its own */
    const sqz_opctx *cc = c;
    const int short_scratch = c->scratch && f32 && !pw && need > conv_scratch(cc);
    void *scratch;
    if (short_scratch) {
        sqz_opctx solo = *c;
        solo.scratch = NULL;
        scratch = sqz_nn_scratch_get(&solo, need, &owned);
    } else {
        scratch = sqz_nn_scratch_get(c, need, &owned);
    }
    if (need && !scratch) return SQZ_ERR_NOMEM;
    const sqz_conv_act act = {.clamp = c->act != 0, .lo = c->act_lo, .hi = c->act_hi};
    if (f32) {
        sqz_conv_f32_packed(isa, c->threads, &p, X->data, W->data, pw, pstride, B ? B->data : NULL,
                            c->act ? &act : NULL, c->out[0]->data, scratch);
    } else {
        sqz_conv_f64_ref(&p, X->data, W->data, B ? B->data : NULL, c->out[0]->data, scratch);
        sqz_nn_post_act(c, c->out[0]);
    }
    sqz_nn_scratch_release(owned);
    return SQZ_OK;
}

static const char *conv_kernel(const sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (conv_geometry(c, &p, &yndim, ydims) || yndim < 0) return NULL;
    if (c->in[0]->dtype != SQZ_DT_F32) return "reference";
    const sqz_isa isa = sqz_cpu_isa();
    const char *path = sqz_conv_f32_path(isa, &p);
    /* the implicit GEMM's transposed tiles read the weights packed as 'B' */
    return !strcmp(path, "implicit") && sqz_conv_f32_packed_form(isa, &p) == 'B' ? "implicit-t" : path;
}

static int64_t conv_macs(const sqz_opctx *c) {
    sqz_conv_params p;
    int yndim;
    int64_t ydims[SQZ_MAX_DIMS];
    if (conv_geometry(c, &p, &yndim, ydims) || yndim < 0) return 0;
    int64_t m = p.batch * p.c_out * (p.c_in / p.group);
    for (int d = 0; d < p.nsp; d++) m *= p.out[d] * p.kernel[d];
    return m < 0 ? 0 : m;
}

const sqz_op sqz_op_conv = {
    .name = "Conv",
    .n_in_min = 2,
    .n_in_max = 3,
    .n_out_min = 1,
    .n_out_max = 1,
    .infer = conv_infer,
    .forward = conv_forward,
    .scratch_bytes = conv_scratch,
    .macs = conv_macs,
    .kernel = conv_kernel,
    .release_state = sqz_nn_packed_free,
    .fuse_act = 1,
};

/* ---- chains run as one (ops/nn_conv.h) ---- */

/* The kernel's chain from the three contexts; 0 when they do not make one. */
static int chain_of(const sqz_opctx *ce, const sqz_opctx *cd, const sqz_opctx *cp, sqz_conv_chain_f32 *k) {
    memset(k, 0, sizeof *k);
    const sqz_opctx *cs[3] = {ce, cd, cp};
    sqz_conv_params *ps[3] = {&k->e, &k->d, &k->p};
    sqz_conv_act *as[3] = {&k->ae, &k->ad, &k->ap};
    for (int i = 0; i < 3; i++) {
        const sqz_opctx *c = cs[i];
        if (!c) continue;
        int yndim;
        int64_t ydims[SQZ_MAX_DIMS];
        const sqz_tensor *B = sqz_nn_in(c, 2);
        if (conv_geometry(c, ps[i], &yndim, ydims) || yndim != 4 || c->in[0]->dtype != SQZ_DT_F32 ||
            !c->in[1]->data || (B && !B->data) || !sqz_nn_is_const(c->in[1]))
            return 0;
        *as[i] = (sqz_conv_act){.clamp = c->act != 0, .lo = c->act_lo, .hi = c->act_hi};
    }
    k->expand = ce != NULL;
    if (ce) {
        k->we = ce->in[1]->data;
        k->be = sqz_nn_in(ce, 2) ? sqz_nn_in(ce, 2)->data : NULL;
    }
    k->wd = cd->in[1]->data;
    k->bd = sqz_nn_in(cd, 2) ? sqz_nn_in(cd, 2)->data : NULL;
    k->wp = cp->in[1]->data;
    k->bp = sqz_nn_in(cp, 2) ? sqz_nn_in(cp, 2)->data : NULL;
    return sqz_conv_chain_f32_ok(sqz_cpu_isa(), k);
}

size_t sqz_conv_chain_scratch(const sqz_opctx *ce, const sqz_opctx *cd, const sqz_opctx *cp) {
    sqz_conv_chain_f32 k;
    if (!chain_of(ce, cd, cp, &k)) return 0;
    return sqz_conv_chain_f32_scratch_bytes(sqz_cpu_isa(), cp->threads, &k);
}

sqz_status sqz_conv_chain_forward(sqz_opctx *ce, sqz_opctx *cd, sqz_opctx *cp) {
    sqz_conv_chain_f32 k;
    if (!chain_of(ce, cd, cp, &k))
        return sqz_err_set(cp->err, SQZ_ERR_INTERNAL, "Conv chain: the nodes no longer make a chain");
    const sqz_isa isa = sqz_cpu_isa();
    int64_t stride;
    if (ce) k.we_packed = sqz_nn_packed_a(ce, isa, ce->in[1], 1, k.e.c_out, k.e.c_in, &stride);
    k.wp_packed = sqz_nn_packed_a(cp, isa, cp->in[1], 1, k.p.c_out, k.p.c_in, &stride);
    const size_t need = sqz_conv_chain_f32_scratch_bytes(isa, cp->threads, &k);
    void *owned;
    void *scratch = sqz_nn_scratch_get(cp, need, &owned);
    if (need && !scratch) return SQZ_ERR_NOMEM;
    const sqz_opctx *c0 = ce ? ce : cd;
    sqz_conv_chain_f32_run(isa, cp->threads, &k, c0->in[0]->data, cp->out[0]->data, scratch);
    sqz_nn_scratch_release(owned);
    return SQZ_OK;
}
