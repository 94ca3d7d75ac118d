/* train/grad_vec.c - vectorized inner loops of the training ops (see grad_vec.h). */
#include "train/grad_vec.h"

#include "kernels/conv_f32.h"

#define TV_CLONES SQZ_TV_CLONES

int sqz_tv_threads(int threads, int64_t work) {
#ifdef _OPENMP
    if (threads < 1 || work < (int64_t)1 << 15) return 1;
    return threads > 64 ? 64 : threads;
#else
    (void)work;
    (void)threads;
    return 1;
#endif
}

TV_CLONES void sqz_tv_relu(float *restrict y, const float *restrict x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = (v > 0 || v != v) ? v : 0.0f;
    }
}

TV_CLONES void sqz_tv_relu_bwd(float *restrict dx, const float *restrict x, const float *restrict dy, int64_t n,
                               int set) {
    if (set) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0.0f;
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0.0f;
}

TV_CLONES void sqz_tv_clip(float *restrict y, const float *restrict x, int64_t n, float lo, float hi) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        v = v < lo ? lo : v;
        y[i] = v > hi ? hi : v;
    }
}

TV_CLONES void sqz_tv_clip_bwd(float *restrict dx, const float *restrict x, const float *restrict dy, int64_t n,
                               float lo, float hi, int set) {
    if (set) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] += (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
}

TV_CLONES void sqz_tv_add(float *restrict y, const float *restrict x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

TV_CLONES void sqz_tv_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

TV_CLONES void sqz_tv_affine(float *restrict y, const float *restrict x, int64_t n, float a, float b) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * a + b;
}

TV_CLONES float sqz_tv_sum(const float *x, int64_t n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

TV_CLONES float sqz_tv_sumsq_dev(const float *x, int64_t n, float mu) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += (x[i] - mu) * (x[i] - mu);
    return s;
}

TV_CLONES float sqz_tv_dot(const float *x, const float *y, int64_t n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

TV_CLONES float sqz_tv_dot_dev(const float *d, const float *x, int64_t n, float mu, float *sd) {
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < n; i++) {
        a += d[i];
        b += d[i] * (x[i] - mu);
    }
    *sd = a;
    return b;
}

TV_CLONES void sqz_tv_bn_dx(float *restrict dx, const float *restrict d, const float *restrict x, int64_t n,
                            float k, float m1, float mu, float m2, int set) {
    if (set) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) dx[i] = k * (d[i] - m1 - (x[i] - mu) * m2);
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] += k * (d[i] - m1 - (x[i] - mu) * m2);
}

/* The activation part of the fused loops: z = act(v), m = its gradient mask. */
static inline __attribute__((always_inline)) void tv_act(float v, float *z, uint8_t *m, int relu, float lo, float hi) {
    if (relu) {
        *z = (v > 0 || v != v) ? v : 0.0f;
        *m = v > 0;
    } else {
        const float u = v < lo ? lo : v;
        *z = u > hi ? hi : u;
        *m = v >= lo && v <= hi;
    }
}

TV_CLONES void sqz_tv_affine_act(float *restrict y, float *restrict z, uint8_t *restrict m, const float *restrict x,
                                 int64_t n, float a, float b, int relu, float lo, float hi) {
    if (y) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            const float v = x[i] * a + b;
            y[i] = v;
            tv_act(v, z + i, m + i, relu, lo, hi);
        }
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) tv_act(x[i] * a + b, z + i, m + i, relu, lo, hi);
}

TV_CLONES void sqz_tv_add_bn_act(float *restrict y, float *restrict z, uint8_t *restrict m, const float *restrict x0,
                                 float a0, float b0, int bn0, const float *restrict x1, float a1, float b1, int bn1,
                                 int64_t n, int relu, float lo, float hi) {
    if (y) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            const float v = (bn0 ? x0[i] * a0 + b0 : x0[i]) + (bn1 ? x1[i] * a1 + b1 : x1[i]);
            y[i] = v;
            tv_act(v, z + i, m + i, relu, lo, hi);
        }
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        tv_act((bn0 ? x0[i] * a0 + b0 : x0[i]) + (bn1 ? x1[i] * a1 + b1 : x1[i]), z + i, m + i, relu, lo, hi);
}

void sqz_tv_add_act(float *y, float *z, uint8_t *m, const float *a, const float *b, int64_t n, int relu, float lo,
                    float hi) {
    sqz_tv_add_bn_act(y, z, m, a, 1.0f, 0.0f, 0, b, 1.0f, 0.0f, 0, n, relu, lo, hi);
}

TV_CLONES float sqz_tv_dot_dev_m(const float *dz, const uint8_t *m, const float *x, int64_t n, float mu, float *sd) {
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < n; i++) {
        const float d = dz[i], g = m[i] ? d : 0.0f;
        a += g;
        b += g * (x[i] - mu);
    }
    *sd = a;
    return b;
}

TV_CLONES void sqz_tv_bn_dx_m(float *restrict dx, const float *restrict dz, const uint8_t *restrict m,
                              const float *restrict x, int64_t n, float k, float m1, float mu, float m2, int set) {
    if (set) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            const float d = dz[i];
            dx[i] = k * ((m[i] ? d : 0.0f) - m1 - (x[i] - mu) * m2);
        }
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float d = dz[i];
        dx[i] += k * ((m[i] ? d : 0.0f) - m1 - (x[i] - mu) * m2);
    }
}

TV_CLONES void sqz_tv_mask_acc(float *restrict d, const float *restrict dz, const uint8_t *restrict m, int64_t n,
                               int set) {
    if (set) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            const float v = dz[i];
            d[i] = m[i] ? v : 0.0f;
        }
        return;
    }
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float v = dz[i];
        d[i] += m[i] ? v : 0.0f;
    }
}

TV_CLONES void sqz_tv_sgd(float *restrict w, const float *restrict g, float *restrict buf, int64_t n, float lr,
                          float wd, float mom, int first, int nesterov) {
    if (!buf) {
#pragma omp simd
        for (int64_t k = 0; k < n; k++) w[k] -= lr * (g[k] + wd * w[k]);
        return;
    }
    if (first) {
#pragma omp simd
        for (int64_t k = 0; k < n; k++) {
            const float d = g[k] + wd * w[k];
            buf[k] = d;
            w[k] -= lr * (nesterov ? d + mom * d : d);
        }
        return;
    }
#pragma omp simd
    for (int64_t k = 0; k < n; k++) {
        const float d = g[k] + wd * w[k];
        const float b = mom * buf[k] + d;
        buf[k] = b;
        w[k] -= lr * (nesterov ? d + mom * b : b);
    }
}

/* 8-wide partial sums in a GCC vector (a ymm in the AVX copies, two xmm otherwise). */
typedef float tv_v8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) float tv_dot2d(const float *a, int64_t lda, const float *b, int64_t ldb,
                                                            int64_t rows, int64_t cols) {
    tv_v8 acc = {0};
    float tail = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *pa = a + r * lda, *pb = b + r * ldb;
        int64_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            tv_v8 va, vb;
            __builtin_memcpy(&va, pa + c, sizeof va);
            __builtin_memcpy(&vb, pb + c, sizeof vb);
            acc += va * vb;
        }
        for (; c < cols; c++) tail += pa[c] * pb[c];
    }
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

typedef float tv_v16 __attribute__((vector_size(64)));
typedef int32_t tv_v16i __attribute__((vector_size(64)));
static const tv_v16i tv_lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

#define TV_LD16(dst, p) __builtin_memcpy(&(dst), (p), sizeof(tv_v16))

static inline __attribute__((always_inline)) float tv_hsum16(const tv_v16 *v) {
    float s[8];
    for (int i = 0; i < 8; i++) s[i] = (*v)[i] + (*v)[i + 8];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* One R x S block of C += A B^T (R, S <= 4; constant in each instance, so the compiler keeps
 * the R * S accumulators in registers), summed over nseg segments of K: segment q reads A at
 * + q * sa and B at + q * sb. The lanes are added up once, after the last segment. */
#define TV_ABT_BLOCK(R, S)                                                                                   \
    static inline __attribute__((always_inline)) void tv_abt_##R##x##S(                                    \
        int64_t K, const float *A0, int64_t lda, const float *const *Bs, float *C, int64_t ldc, int64_t nseg, \
        int64_t sa, int64_t sb) {                                                                            \
        tv_v16 acc[R][S];                                                                                    \
        float tail[R][S];                                                                                    \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                  \
            _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) acc[r][s] = (tv_v16){0}, tail[r][s] = 0;     \
        const tv_v16i keep = tv_lane >= (tv_v16i){0} + (int)(16 - K % 16);                                  \
        for (int64_t q = 0; q < nseg; q++) {                                                                 \
            const float *A = A0 + q * sa;                                                                    \
            const int64_t bo = q * sb;                                                                       \
            int64_t p = 0;                                                                                   \
            for (; p + 16 <= K; p += 16) {                                                                   \
                tv_v16 a[R], b[S];                                                                           \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) TV_LD16(a[r], A + r * lda + p);          \
                _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) TV_LD16(b[s], Bs[s] + bo + p);           \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                          \
                    _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) acc[r][s] += a[r] * b[s];            \
            }                                                                                                \
            if (p < K && K >= 16) { /* the last 16 of K, the lanes already summed masked off */              \
                tv_v16 a[R], b[S];                                                                           \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                        \
                    TV_LD16(a[r], A + r * lda + K - 16);                                                     \
                    a[r] = (tv_v16)((tv_v16i)a[r] & keep);                                                   \
                }                                                                                            \
                _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) {                                        \
                    TV_LD16(b[s], Bs[s] + bo + K - 16);                                                      \
                    b[s] = (tv_v16)((tv_v16i)b[s] & keep);                                                   \
                }                                                                                            \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                          \
                    _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) acc[r][s] += a[r] * b[s];            \
            } else {                                                                                         \
                for (; p < K; p++)                                                                           \
                    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                      \
                        _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) tail[r][s] += A[r * lda + p] * Bs[s][bo + p]; \
            }                                                                                                \
        }                                                                                                    \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                  \
            _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) C[r * ldc + s] += tv_hsum16(&acc[r][s]) + tail[r][s]; \
    }
TV_ABT_BLOCK(4, 4)
TV_ABT_BLOCK(4, 1)
TV_ABT_BLOCK(2, 4)
TV_ABT_BLOCK(2, 1)
TV_ABT_BLOCK(1, 4)
TV_ABT_BLOCK(1, 1)

/* C += A B^T with row j of B at B + boff[j] (boff NULL: at B + j * ldb), over nseg segments. */
static inline __attribute__((always_inline)) void tv_gemm_abt_rows(int64_t M, int64_t N, int64_t K, const float *A,
                                                                    int64_t lda, const float *B, int64_t ldb,
                                                                    const int32_t *boff, float *C, int64_t ldc,
                                                                    int64_t nseg, int64_t sa, int64_t sb) {
#define TV_BROW(j) (boff ? B + boff[j] : B + (j) * ldb)
#define TV_ROWS(R)                                                                                           \
    do {                                                                                                     \
        int64_t j = 0;                                                                                       \
        for (; j + 4 <= N; j += 4) {                                                                         \
            const float *bs[4] = {TV_BROW(j), TV_BROW(j + 1), TV_BROW(j + 2), TV_BROW(j + 3)};               \
            tv_abt_##R##x4(K, A + i * lda, lda, bs, C + i * ldc + j, ldc, nseg, sa, sb);                     \
        }                                                                                                    \
        for (; j < N; j++) {                                                                                 \
            const float *bs[1] = {TV_BROW(j)};                                                               \
            tv_abt_##R##x1(K, A + i * lda, lda, bs, C + i * ldc + j, ldc, nseg, sa, sb);                     \
        }                                                                                                    \
    } while (0)
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) TV_ROWS(4);
    for (; i + 2 <= M; i += 2) TV_ROWS(2);
    for (; i < M; i++) TV_ROWS(1);
#undef TV_ROWS
#undef TV_BROW
}

TV_CLONES void sqz_tv_gemm_abt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                               int64_t ldb, float *C, int64_t ldc) {
    tv_gemm_abt_rows(M, N, K, A, lda, B, ldb, NULL, C, ldc, 1, 0, 0);
}

TV_CLONES void sqz_tv_gemm_abt_segs(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                                    const int32_t *boff, float *C, int64_t ldc, int64_t nseg, int64_t sa,
                                    int64_t sb) {
    tv_gemm_abt_rows(M, N, K, A, lda, B, 0, boff, C, ldc, nseg, sa, sb);
}

TV_CLONES float sqz_tv_dot2d(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t rows, int64_t cols) {
    return tv_dot2d(a, lda, b, ldb, rows, cols);
}

/* Output rows [a, b) (columns [lo, hi)) whose kernel row ky (column kx) reads inside the image. */
static inline __attribute__((always_inline)) void tv_dw_rows(const sqz_dw_plane *g, int64_t ky, int64_t *a, int64_t *b) {
    const int64_t off = ky * g->dh - g->ph;
    *a = off < 0 ? (-off + g->sh - 1) / g->sh : 0;
    *b = g->H - 1 - off >= 0 ? (g->H - 1 - off) / g->sh + 1 : 0;
    if (*b > g->OH) *b = g->OH;
    if (*a > *b) *a = *b;
}

static inline __attribute__((always_inline)) void tv_dw_cols(const sqz_dw_plane *g, int64_t off, int64_t *lo, int64_t *hi) {
    *lo = off < 0 ? (-off + g->sw - 1) / g->sw : 0;
    *hi = g->W - 1 - off >= 0 ? (g->W - 1 - off) / g->sw + 1 : 0;
    if (*hi > g->OW) *hi = g->OW;
    if (*lo > *hi) *lo = *hi;
}

TV_CLONES void sqz_tv_dw_bwd_x(const sqz_dw_plane *g, const float *w, const float *dy, float *dx) {
    for (int64_t ky = 0; ky < g->KH; ky++) {
        int64_t a, b;
        tv_dw_rows(g, ky, &a, &b);
        for (int64_t oy = a; oy < b; oy++) {
            const int64_t iy = oy * g->sh - g->ph + ky * g->dh;
            const float *gr = dy + oy * g->OW;
            for (int64_t kx = 0; kx < g->KW; kx++) {
                const int64_t off = kx * g->dw - g->pw;
                const float wv = w[ky * g->KW + kx];
                int64_t lo, hi;
                tv_dw_cols(g, off, &lo, &hi);
                float *restrict dr = dx + iy * g->W + off;
                if (g->sw == 1) {
#pragma omp simd
                    for (int64_t ox = lo; ox < hi; ox++) dr[ox] += wv * gr[ox];
                } else {
                    for (int64_t ox = lo; ox < hi; ox++) dr[ox * g->sw] += wv * gr[ox];
                }
            }
        }
    }
}

TV_CLONES void sqz_tv_dw_bwd_w(const sqz_dw_plane *g, const float *x, const float *xph, const float *dy, float *dw) {
    const int64_t Wh = (g->W + 1) / 2;
    for (int64_t ky = 0; ky < g->KH; ky++) {
        int64_t a, b;
        tv_dw_rows(g, ky, &a, &b);
        if (a >= b) continue;
        const int64_t iy0 = a * g->sh - g->ph + ky * g->dh;
        for (int64_t kx = 0; kx < g->KW; kx++) {
            const int64_t off = kx * g->dw - g->pw;
            int64_t lo, hi;
            tv_dw_cols(g, off, &lo, &hi);
            if (lo >= hi) continue;
            float s = 0;
            if (g->sw == 1) {
                s = tv_dot2d(dy + a * g->OW + lo, g->OW, x + iy0 * g->W + off + lo, g->W * g->sh, b - a, hi - lo);
            } else if (xph && g->sw == 2) { /* input column 2 ox + off = 2 (ox + j0) + phase */
                const int64_t phase = off & 1, j0 = (off - phase) / 2;
                const float *xr = xph + (phase * g->H + iy0) * Wh + j0;
                s = tv_dot2d(dy + a * g->OW + lo, g->OW, xr + lo, Wh * g->sh, b - a, hi - lo);
            } else {
                for (int64_t oy = a; oy < b; oy++) {
                    const float *gr = dy + oy * g->OW, *xr = x + (iy0 + (oy - a) * g->sh) * g->W + off;
                    for (int64_t ox = lo; ox < hi; ox++) s += gr[ox] * xr[ox * g->sw];
                }
            }
            dw[ky * g->KW + kx] += s;
        }
    }
}

TV_CLONES void sqz_tv_deinterleave2(const float *x, int64_t H, int64_t W, float *xph) {
    const int64_t Wh = (W + 1) / 2;
    for (int64_t iy = 0; iy < H; iy++) {
        const float *r = x + iy * W;
        float *e = xph + iy * Wh, *o = xph + (H + iy) * Wh;
#pragma omp simd
        for (int64_t j = 0; j < W / 2; j++) {
            e[j] = r[2 * j];
            o[j] = r[2 * j + 1];
        }
        if (W & 1) e[Wh - 1] = r[W - 1], o[Wh - 1] = 0.0f;
    }
}

TV_CLONES void sqz_tv_maxpool2x2(const float *x, int64_t W, int64_t OH, int64_t OW, float *y, uint8_t *code) {
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *r0 = x + 2 * oy * W, *r1 = r0 + W;
        float *yr = y + oy * OW;
        uint8_t *cr = code + oy * OW;
#pragma omp simd
        for (int64_t ox = 0; ox < OW; ox++) {
            float best = r0[2 * ox];
            uint8_t at = 0;
            if (r0[2 * ox + 1] > best) best = r0[2 * ox + 1], at = 1;
            if (r1[2 * ox] > best) best = r1[2 * ox], at = 2;
            if (r1[2 * ox + 1] > best) best = r1[2 * ox + 1], at = 3;
            yr[ox] = best;
            cr[ox] = at;
        }
    }
}

TV_CLONES void sqz_tv_maxpool2x2_bwd(float *dx, int64_t W, int64_t OH, int64_t OW, const float *dy, const uint8_t *code,
                                     int set) {
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++) {
            const uint8_t c = code[oy * OW + ox];
            const float g = dy[oy * OW + ox];
            float *d = dx + 2 * oy * W + 2 * ox;
            if (set) {
                d[0] = c == 0 ? g : 0.0f, d[1] = c == 1 ? g : 0.0f;
                d[W] = c == 2 ? g : 0.0f, d[W + 1] = c == 3 ? g : 0.0f;
            } else {
                d[(c >> 1) * W + (c & 1)] += g;
            }
        }
}
