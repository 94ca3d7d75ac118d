/* train/grad_pool.c - MaxPool (forward saves the argmax of every window; backward routes
 * each output gradient to it), AveragePool (gradient spread over the window with the same
 * divisor as the forward) and GlobalAveragePool; f32. */
#include <math.h>
#include <string.h>

#include "core/cpu.h"
#include "kernels/ref/kernels_ref.h"
#include "ops/nn_util.h"
#include "train/grad.h"
#include "train/grad_vec.h"

static sqz_status pool_geo(sqz_gctx *c, sqz_pool_params *p) {
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_grad_check_f32(c, X, "X");
    if (st) return st;
    memset(p, 0, sizeof *p);
    if (X->ndim < 3) return sqz_err_set(c->err, SQZ_ERR_DATA, "%s: input needs rank >= 3", c->node->op_type);
    sqz_nn_window w;
    p->nsp = X->ndim - 2;
    if ((st = sqz_nn_window_read(c->node, p->nsp, NULL, &w, c->err))) return st;
    p->nc = X->dims[0] * X->dims[1];
    for (int d = 0; d < p->nsp; d++) {
        p->in[d] = X->dims[2 + d];
        if ((st = sqz_nn_window_out(&w, d, p->in[d], &p->out[d], c->err))) return st;
        p->kernel[d] = w.kernel[d];
        p->stride[d] = w.stride[d];
        p->dilation[d] = w.dilation[d];
        p->pad_begin[d] = w.pad_begin[d];
        p->pad_end[d] = w.pad_end[d];
    }
    return SQZ_OK;
}

/* 2-D max pooling with argmax (flat input index) for dilation 1: per output row the window
 * rows are clipped once, then the columns are scanned directly. */
static void maxpool2d(const sqz_pool_params *p, const float *x, float *y, int64_t *idx) {
    const int64_t H = p->in[0], W = p->in[1], OH = p->out[0], OW = p->out[1];
    const int64_t KH = p->kernel[0], KW = p->kernel[1], sh = p->stride[0], sw = p->stride[1];
    for (int64_t pl = 0; pl < p->nc; pl++) {
        const float *xp = x + pl * H * W;
        for (int64_t oy = 0; oy < OH; oy++) {
            int64_t y0 = oy * sh - p->pad_begin[0], y1 = y0 + KH;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t x0 = ox * sw - p->pad_begin[1], x1 = x0 + KW;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float best = 0;
                int64_t at = -1;
                for (int64_t iy = y0; iy < y1; iy++) {
                    const float *row = xp + iy * W;
                    for (int64_t ix = x0; ix < x1; ix++)
                        if (at < 0 || row[ix] > best) {
                            best = row[ix];
                            at = iy * W + ix;
                        }
                }
                const int64_t o = (pl * OH + oy) * OW + ox;
                y[o] = at < 0 ? -INFINITY : best;
                idx[o] = at < 0 ? -1 : pl * H * W + at;
            }
        }
    }
}

/* The common 2x2 / 2 window without padding: one pass per plane that keeps a one-byte code per
 * output (grad_vec.h) instead of a 64-bit index, in the forward and the backward. */
static int pool2x2(const sqz_pool_params *p) {
    return p->nsp == 2 && p->kernel[0] == 2 && p->kernel[1] == 2 && p->stride[0] == 2 && p->stride[1] == 2 &&
           p->dilation[0] == 1 && p->dilation[1] == 1 && p->pad_begin[0] == 0 && p->pad_begin[1] == 0 &&
           2 * p->out[0] <= p->in[0] && 2 * p->out[1] <= p->in[1];
}

static sqz_status maxpool_fwd(sqz_gctx *c) {
    sqz_pool_params p;
    sqz_status st = pool_geo(c, &p);
    if (st) return st;
    const int64_t n = sqz_tensor_numel(c->out[0]);
    const int fast = pool2x2(&p);
    void *saved = sqz_grad_state(c, 0, (fast ? 1 : sizeof(int64_t)) * (size_t)(n > 0 ? n : 1));
    if (!saved) return SQZ_ERR_NOMEM;
    if (fast) {
        const int64_t insp = p.in[0] * p.in[1], outsp = p.out[0] * p.out[1];
        const float *x = c->in[0]->data;
        float *y = c->out[0]->data;
        uint8_t *code = saved;
        const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512;
        const int nt = sqz_tv_threads(c->threads, p.nc * insp);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int64_t pl = 0; pl < p.nc; pl++) {
            if (avx512) sqz_tv_maxpool2x2__avx512(x + pl * insp, p.in[1], p.out[0], p.out[1], y + pl * outsp, code + pl * outsp);
            else sqz_tv_maxpool2x2(x + pl * insp, p.in[1], p.out[0], p.out[1], y + pl * outsp, code + pl * outsp);
        }
    } else if (p.nsp == 2 && p.dilation[0] == 1 && p.dilation[1] == 1) {
        maxpool2d(&p, c->in[0]->data, c->out[0]->data, saved);
    } else {
        sqz_maxpool_f32_ref(&p, c->in[0]->data, c->out[0]->data, saved, 0);
    }
    if (c->n_out > 1 && c->out[1]) {
        const int so = sqz_node_attr_int(c->node, "storage_order", 0) != 0;
        if (so || fast) sqz_maxpool_f32_ref(&p, c->in[0]->data, c->out[0]->data, c->out[1]->data, so);
        else memcpy(c->out[1]->data, saved, sizeof(int64_t) * (size_t)n);
    }
    return SQZ_OK;
}

static sqz_status maxpool_bwd(sqz_gctx *c) {
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    const int64_t n = sqz_tensor_numel(c->out[0]);
    const float *dy = c->dout[0];
    if (!c->state[0].p && n > 0) return sqz_err_set(c->err, SQZ_ERR_INTERNAL, "MaxPool: no saved indices");
    sqz_pool_params p;
    sqz_status st = pool_geo(c, &p);
    if (st) return st;
    if (pool2x2(&p)) {
        const int64_t H = p.in[0], W = p.in[1], insp = H * W, OH = p.out[0], OW = p.out[1], outsp = OH * OW;
        const uint8_t *code = c->state[0].p;
        const int avx512 = sqz_cpu_isa() >= SQZ_ISA_AVX512, set = c->fresh & 1u;
        const int nt = sqz_tv_threads(c->threads, p.nc * insp);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int64_t pl = 0; pl < p.nc; pl++) {
            float *d = dx + pl * insp;
            if (avx512) sqz_tv_maxpool2x2_bwd__avx512(d, W, OH, OW, dy + pl * outsp, code + pl * outsp, set);
            else sqz_tv_maxpool2x2_bwd(d, W, OH, OW, dy + pl * outsp, code + pl * outsp, set);
            if (!set) continue;
            /* inputs in no window: the columns past 2 OW, the rows past 2 OH */
            for (int64_t r = 0; r < 2 * OH && 2 * OW < W; r++) memset(d + r * W + 2 * OW, 0, sizeof(float) * (size_t)(W - 2 * OW));
            if (2 * OH < H) memset(d + 2 * OH * W, 0, sizeof(float) * (size_t)((H - 2 * OH) * W));
        }
        return SQZ_OK;
    }
    sqz_grad_din_zero(c, 0); /* the general paths scatter into dx */
    const int64_t *idx = c->state[0].p;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] >= 0) dx[idx[i]] += dy[i];
    return SQZ_OK;
}

/* Kernel offsets [klo, khi) of output o whose input coordinate lies in [lo, hi). */
static void window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t dil, int64_t lo, int64_t hi,
                   int64_t *start, int64_t *klo, int64_t *khi) {
    const int64_t s = o * stride - pad;
    int64_t a = s >= lo ? 0 : (lo - s + dil - 1) / dil;
    int64_t b = s >= hi ? 0 : (hi - 1 - s) / dil + 1;
    if (b > kernel) b = kernel;
    if (a > b) a = b;
    *start = s;
    *klo = a;
    *khi = b;
}

static sqz_status avgpool_bwd(sqz_gctx *c) {
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    sqz_pool_params p;
    sqz_status st = pool_geo(c, &p);
    if (st) return st;
    const int cip = sqz_node_attr_int(c->node, "count_include_pad", 0) != 0;
    const float *dy = c->dout[0];
    const int nsp = p.nsp;
    int64_t insp = 1, outsp = 1;
    for (int d = 0; d < nsp; d++) {
        insp *= p.in[d];
        outsp *= p.out[d];
    }
    for (int64_t pl = 0; pl < p.nc; pl++) {
        float *xp = dx + pl * insp;
        int64_t opos[SQZ_MAX_DIMS] = {0};
        for (int64_t o = 0; o < outsp; o++) {
            int64_t start[SQZ_MAX_DIMS], klo[SQZ_MAX_DIMS], khi[SQZ_MAX_DIMS], count = 1;
            int empty = 0;
            for (int d = 0; d < nsp; d++) {
                window(opos[d], p.stride[d], p.pad_begin[d], p.kernel[d], p.dilation[d], 0, p.in[d], &start[d],
                       &klo[d], &khi[d]);
                if (klo[d] >= khi[d]) empty = 1;
                if (cip) {
                    int64_t s, a, b;
                    window(opos[d], p.stride[d], p.pad_begin[d], p.kernel[d], p.dilation[d], -p.pad_begin[d],
                           p.in[d] + p.pad_end[d], &s, &a, &b);
                    count *= b - a;
                } else {
                    count *= khi[d] - klo[d];
                }
            }
            if (!empty && count > 0) {
                const float g = dy[pl * outsp + o] / (float)count;
                int64_t kv[SQZ_MAX_DIMS];
                for (int d = 0; d < nsp; d++) kv[d] = klo[d];
                for (;;) {
                    int64_t at = 0;
                    for (int d = 0; d < nsp; d++) at = at * p.in[d] + start[d] + kv[d] * p.dilation[d];
                    xp[at] += g;
                    int d = nsp - 1;
                    for (; d >= 0; d--) {
                        if (++kv[d] < khi[d]) break;
                        kv[d] = klo[d];
                    }
                    if (d < 0) break;
                }
            }
            for (int d = nsp - 1; d >= 0; d--) {
                if (++opos[d] < p.out[d]) break;
                opos[d] = 0;
            }
        }
    }
    return SQZ_OK;
}

static sqz_status gavg_bwd(sqz_gctx *c) {
    float *dx = c->din[0];
    if (!dx) return SQZ_OK;
    const sqz_tensor *X = c->in[0];
    sqz_status st = sqz_grad_check_f32(c, X, "X");
    if (st) return st;
    const int64_t nc = X->dims[0] * X->dims[1], sp = nc ? sqz_tensor_numel(X) / nc : 0;
    const float *dy = c->dout[0];
    const int set = c->fresh & 1u; /* a fresh dx is written whole */
    for (int64_t i = 0; i < nc; i++) {
        const float g = dy[i] / (float)sp;
        float *r = dx + i * sp;
        if (set)
            for (int64_t j = 0; j < sp; j++) r[j] = g;
        else
            for (int64_t j = 0; j < sp; j++) r[j] += g;
    }
    return SQZ_OK;
}

const sqz_grad_op sqz_grad_maxpool = {.op = "MaxPool", .forward = maxpool_fwd, .backward = maxpool_bwd, .stores = 1};
const sqz_grad_op sqz_grad_avgpool = {.op = "AveragePool", .backward = avgpool_bwd};
const sqz_grad_op sqz_grad_gavgpool = {.op = "GlobalAveragePool", .backward = gavg_bwd, .stores = 1};
