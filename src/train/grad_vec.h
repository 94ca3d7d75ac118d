/* train/grad_vec.h - vectorized inner loops of the training ops (private).
 *
 * Plain C loops marked `omp simd`, compiled in several copies (x86-64-v4 = AVX-512, v3 = AVX2,
 * baseline) with GCC's target_clones: the loader picks the copy the CPU runs once, by cpuid.
 * Elementwise loops give the same bits in every copy; reductions (sums, dots) add in vector
 * lanes, so their rounding depends on the copy, never on the thread count or the call.
 *
 * sqz_tv_threads(threads, work) is the thread count worth forking for `work` floats touched:
 * small tensors stay on one thread. Callers split work in a fixed way (by plane or channel, or
 * by index ranges of elementwise loops), so results never depend on the number of threads. */
#ifndef SQZ_TRAIN_GRAD_VEC_H
#define SQZ_TRAIN_GRAD_VEC_H

#include <stdint.h>

/* Marks a function to be compiled for AVX-512, AVX2 and baseline x86-64, picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define SQZ_TV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SQZ_TV_CLONES
#endif

int sqz_tv_threads(int threads, int64_t work);

/* Index range [lo, hi) of part t of nt over n elements (64-byte aligned starts): the fixed split
 * of elementwise loops over threads. */
static inline void sqz_tv_part(int64_t n, int t, int nt, int64_t *lo, int64_t *hi) {
    *lo = t == 0 ? 0 : (n * t / nt) & ~(int64_t)15;
    *hi = t == nt - 1 ? n : (n * (t + 1) / nt) & ~(int64_t)15;
}

/* y = max(x, 0) */
void sqz_tv_relu(float *y, const float *x, int64_t n);
/* dx += x > 0 ? dy : 0   (set: dx = ..., in the next two and sqz_tv_bn_dx too) */
void sqz_tv_relu_bwd(float *dx, const float *x, const float *dy, int64_t n, int set);
/* y = min(max(x, lo), hi) (NaN stays NaN, as fminf/fmaxf of the inference op do not) */
void sqz_tv_clip(float *y, const float *x, int64_t n, float lo, float hi);
/* dx += lo <= x <= hi ? dy : 0 */
void sqz_tv_clip_bwd(float *dx, const float *x, const float *dy, int64_t n, float lo, float hi, int set);
/* y += x */
void sqz_tv_add(float *y, const float *x, int64_t n);
/* y += a * x */
void sqz_tv_axpy(float *y, float a, const float *x, int64_t n);
/* y = a * x + b */
void sqz_tv_affine(float *y, const float *x, int64_t n, float a, float b);
/* sum x */
float sqz_tv_sum(const float *x, int64_t n);
/* sum (x - mu)^2 */
float sqz_tv_sumsq_dev(const float *x, int64_t n, float mu);
/* sum x * y */
float sqz_tv_dot(const float *x, const float *y, int64_t n);
/* *sd = sum d, returns sum d * (x - mu) */
float sqz_tv_dot_dev(const float *d, const float *x, int64_t n, float mu, float *sd);
/* sum over rows r < rows, columns j < cols of a[r * lda + j] * b[r * ldb + j] */
float sqz_tv_dot2d(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t rows, int64_t cols);
/* C (M, N) += A (M, K) * B (N, K)^T, all row-major with K contiguous: dot products in 16-lane
 * partial sums, 4 x 4 blocks, no packing (weight gradients: dW += dY col^T). */
void sqz_tv_gemm_abt(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float *C, int64_t ldc);
/* C (M, N) += sum over segments q < nseg of A_q B_q^T, row j of B_q at B + q * sb + boff[j] and
 * A_q at A + q * sa: shifted windows of padded images (one segment per image), so a convolution's
 * unfolded input needs no copy; the lanes are added up once, after the last segment. */
void sqz_tv_gemm_abt_segs(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                          const int32_t *boff, float *C, int64_t ldc, int64_t nseg, int64_t sa, int64_t sb);
/* Depthwise backward of one plane (geometry as the forward's sqz_dw_plane in kernels/conv_f32.h):
 * dx (H, W) += conv^T(dy (OH, OW), w (KH, KW));  dw (KH, KW) += corr(dy, x (H, W)). */
struct sqz_dw_plane;
void sqz_tv_dw_bwd_x(const struct sqz_dw_plane *g, const float *w, const float *dy, float *dx);
/* xph (may be NULL): for sw == 2, x as its column phases (sqz_tv_deinterleave2), so the dot
 * products run over contiguous rows instead of every other input */
void sqz_tv_dw_bwd_w(const struct sqz_dw_plane *g, const float *x, const float *xph, const float *dy, float *dw);
/* xph = the two column phases of the plane x (H x W): xph[b][iy][j] = x[iy][2 j + b] (Wh = (W + 1) / 2
 * columns each; the odd phase's last column 0 when W is odd) */
void sqz_tv_deinterleave2(const float *x, int64_t H, int64_t W, float *xph);
/* The same dw for stride 1 and no dilation with AVX-512 (grad_dw_avx512.c); returns 0 (doing
 * nothing) for other geometries. Call only when the CPU has AVX-512 (sqz_cpu_isa()). */
int sqz_tv_dw_bwd_w__avx512(const struct sqz_dw_plane *g, const float *x, const float *dy, float *dw);
/* col2im rows of a column stride of 2 (grad_conv_avx512.c): for the kernel row whose taps' rows
 * of col start at colk, ostride floats apart (OW per output row), and output rows oy in [ya, yb):
 * img[(oy * sh + offy) * W + 2 p + offx[kx]] += colk[kx * ostride + oy * OW + p] for p in
 * [lo[kx], hi[kx]) (inside the image), taps in order: bit-identical to that loop. Call only when the CPU has AVX-512. */
void sqz_tv_col2im_w2__avx512(float *img, int64_t W, int64_t sh, int64_t offy, int64_t ya, int64_t yb,
                              const float *colk, int64_t ostride, int64_t OW, int KW, const int64_t *offx,
                              const int64_t *lo, const int64_t *hi);
/* 2x2 max pooling with stride 2 of one plane (x rows W apart, 2 OH rows and 2 OW columns read):
 * y = the window maximum (the first of equal ones, scanning rows), code = its place in the window
 * (0 (0,0), 1 (0,1), 2 (1,0), 3 (1,1)). The backward adds dy to the input the code names.
 * The __avx512 copies (grad_pool_avx512.c) do the same; call them only when the CPU has AVX-512. */
void sqz_tv_maxpool2x2(const float *x, int64_t W, int64_t OH, int64_t OW, float *y, uint8_t *code);
/* set: dx is fresh: the 4 inputs of every window are written (dy or 0), nothing read; inputs in
 * no window (an odd last row or column) are the caller's to zero */
void sqz_tv_maxpool2x2_bwd(float *dx, int64_t W, int64_t OH, int64_t OW, const float *dy, const uint8_t *code,
                           int set);
void sqz_tv_maxpool2x2__avx512(const float *x, int64_t W, int64_t OH, int64_t OW, float *y, uint8_t *code);
void sqz_tv_maxpool2x2_bwd__avx512(float *dx, int64_t W, int64_t OH, int64_t OW, const float *dy, const uint8_t *code,
                                   int set);
/* BatchNormalization fused with the Relu or Clip that alone reads its output (train/autograd.c):
 * v = x * a + b; y = v (y may be NULL: not stored); z = act(v) (relu: as sqz_tv_relu; else as
 * sqz_tv_clip to [lo, hi]); m = 1 where the activation passes its gradient (relu: v > 0; clip:
 * lo <= v <= hi), else 0. */
void sqz_tv_affine_act(float *y, float *z, uint8_t *m, const float *x, int64_t n, float a, float b, int relu,
                       float lo, float hi);
/* Add fused with Relu / Clip: v = a + b, then as sqz_tv_affine_act */
void sqz_tv_add_act(float *y, float *z, uint8_t *m, const float *a, const float *b, int64_t n, int relu, float lo,
                    float hi);
/* the same with operands that are BatchNormalization outputs computed on the fly (the tape's
 * BN -> Add fusion): operand i is x_i * a_i + b_i where bn_i, else x_i as is */
void sqz_tv_add_bn_act(float *y, float *z, uint8_t *m, const float *x0, float a0, float b0, int bn0, const float *x1,
                       float a1, float b1, int bn1, int64_t n, int relu, float lo, float hi);
/* sqz_tv_dot_dev of g = m ? dz : 0 in place of d */
float sqz_tv_dot_dev_m(const float *dz, const uint8_t *m, const float *x, int64_t n, float mu, float *sd);
/* sqz_tv_bn_dx of g = m ? dz : 0 in place of d */
void sqz_tv_bn_dx_m(float *dx, const float *dz, const uint8_t *m, const float *x, int64_t n, float k, float m1,
                    float mu, float m2, int set);
/* AVX-512 copies of these (grad_bn_avx512.c); call only when the CPU has AVX-512. */
void sqz_tv_affine_act__avx512(float *y, float *z, uint8_t *m, const float *x, int64_t n, float a, float b, int relu,
                               float lo, float hi);
float sqz_tv_dot_dev_m__avx512(const float *dz, const uint8_t *m, const float *x, int64_t n, float mu, float *sd);
void sqz_tv_bn_dx_m__avx512(float *dx, const float *dz, const uint8_t *m, const float *x, int64_t n, float k,
                            float m1, float mu, float m2, int set);
void sqz_tv_add_act__avx512(float *y, float *z, uint8_t *m, const float *a, const float *b, int64_t n, int relu,
                            float lo, float hi);
void sqz_tv_add_bn_act__avx512(float *y, float *z, uint8_t *m, const float *x0, float a0, float b0, int bn0,
                               const float *x1, float a1, float b1, int bn1, int64_t n, int relu, float lo, float hi);
void sqz_tv_mask_acc__avx512(float *d, const float *dz, const uint8_t *m, int64_t n, int set);
/* d += m ? dz : 0   (set: d = ...) */
void sqz_tv_mask_acc(float *d, const float *dz, const uint8_t *m, int64_t n, int set);
/* dx += k * (d - m1 - (x - mu) * m2)   (BatchNorm backward with batch statistics) */
void sqz_tv_bn_dx(float *dx, const float *d, const float *x, int64_t n, float k, float m1, float mu, float m2,
                  int set);
/* SGD with momentum buffer buf (NULL: none): d = g + wd * w; buf = first ? d : mom * buf + d;
 * w -= lr * (nesterov ? d + mom * buf : buf) */
void sqz_tv_sgd(float *w, const float *g, float *buf, int64_t n, float lr, float wd, float mom, int first,
                int nesterov);

#endif
