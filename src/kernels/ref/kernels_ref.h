/* kernels/ref/kernels_ref.h - portable C reference kernels for the nn operators.
 *
 * Plain arrays and shapes only (no graph types). Tensors are row-major and
 * contiguous; images are laid out (batch, channels, spatial...). Kernels never
 * allocate: those that need scratch memory say how much via *_scratch_bytes.
 * Float kernels exist for f32 and f64 (suffix _f32_ref / _f64_ref).
 */
#ifndef SQZ_KERNELS_REF_H
#define SQZ_KERNELS_REF_H

#include <stddef.h>
#include <stdint.h>

#include "sqz/tensor.h"

#define SQZ_REF_MAX_SPATIAL (SQZ_MAX_DIMS - 2)

/* ---- GEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, op(X) = X or X^T.
 * lda/ldb/ldc are row strides of the stored matrices. beta == 0 overwrites C. */
void sqz_gemm_f32_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                      int64_t ldc);
void sqz_gemm_f64_ref(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                      const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
                      int64_t ldc);

/* ---- Convolution geometry shared by conv and conv-transpose.
 * Conv:          x (batch, c_in, in...), w (c_out, c_in/group, kernel...), y (batch, c_out, out...).
 * ConvTranspose: x (batch, c_in, in...), w (c_in, c_out/group, kernel...), y (batch, c_out, out...).
 * For conv, out position o reads input o*stride - pad_begin + k*dilation; for conv-transpose,
 * input position i writes output i*stride - pad_begin + k*dilation. */
typedef struct sqz_conv_params {
    int nsp;                                  /* spatial rank, 1..SQZ_REF_MAX_SPATIAL */
    int64_t batch, c_in, c_out, group;
    int64_t in[SQZ_REF_MAX_SPATIAL];          /* input spatial extents */
    int64_t out[SQZ_REF_MAX_SPATIAL];         /* output spatial extents */
    int64_t kernel[SQZ_REF_MAX_SPATIAL];
    int64_t stride[SQZ_REF_MAX_SPATIAL];
    int64_t dilation[SQZ_REF_MAX_SPATIAL];
    int64_t pad_begin[SQZ_REF_MAX_SPATIAL];
} sqz_conv_params;

/* Scratch bytes for conv / conv-transpose with elements of elem_size bytes (0: none needed);
 * SIZE_MAX if the size overflows. */
size_t sqz_conv_scratch_bytes(const sqz_conv_params *p, size_t elem_size);
size_t sqz_conv_transpose_scratch_bytes(const sqz_conv_params *p, size_t elem_size);
/* bias may be NULL. scratch: sqz_conv[_transpose]_scratch_bytes bytes (may be NULL when 0). */
void sqz_conv_f32_ref(const sqz_conv_params *p, const float *x, const float *w, const float *bias,
                      float *y, float *scratch);
void sqz_conv_f64_ref(const sqz_conv_params *p, const double *x, const double *w, const double *bias,
                      double *y, double *scratch);
void sqz_conv_transpose_f32_ref(const sqz_conv_params *p, const float *x, const float *w,
                                const float *bias, float *y, float *scratch);
void sqz_conv_transpose_f64_ref(const sqz_conv_params *p, const double *x, const double *w,
                                const double *bias, double *y, double *scratch);

/* ---- Pooling over nc = batch*channels planes. Window of output o along d starts at
 * o*stride - pad_begin; padded positions never count for max. For average with
 * count_include_pad, positions inside [-pad_begin, in + pad_end) count, others do not. */
typedef struct sqz_pool_params {
    int nsp;
    int64_t nc;
    int64_t in[SQZ_REF_MAX_SPATIAL];
    int64_t out[SQZ_REF_MAX_SPATIAL];
    int64_t kernel[SQZ_REF_MAX_SPATIAL];
    int64_t stride[SQZ_REF_MAX_SPATIAL];
    int64_t dilation[SQZ_REF_MAX_SPATIAL];
    int64_t pad_begin[SQZ_REF_MAX_SPATIAL];
    int64_t pad_end[SQZ_REF_MAX_SPATIAL];
} sqz_pool_params;

/* indices (may be NULL): flat input index of each maximum, over the whole input tensor;
 * storage_order 1 numbers the spatial dims column-major (first dim fastest). */
void sqz_maxpool_f32_ref(const sqz_pool_params *p, const float *x, float *y, int64_t *indices,
                         int storage_order);
void sqz_maxpool_f64_ref(const sqz_pool_params *p, const double *x, double *y, int64_t *indices,
                         int storage_order);
void sqz_maxpool_u8_ref(const sqz_pool_params *p, const uint8_t *x, uint8_t *y, int64_t *indices,
                        int storage_order);
void sqz_maxpool_i8_ref(const sqz_pool_params *p, const int8_t *x, int8_t *y, int64_t *indices,
                        int storage_order);
void sqz_avgpool_f32_ref(const sqz_pool_params *p, int count_include_pad, const float *x, float *y);
void sqz_avgpool_f64_ref(const sqz_pool_params *p, int count_include_pad, const double *x, double *y);
/* Global pools: x (nc, sp) -> y (nc). */
void sqz_global_avgpool_f32_ref(int64_t nc, int64_t sp, const float *x, float *y);
void sqz_global_avgpool_f64_ref(int64_t nc, int64_t sp, const double *x, double *y);
void sqz_global_maxpool_f32_ref(int64_t nc, int64_t sp, const float *x, float *y);
void sqz_global_maxpool_f64_ref(int64_t nc, int64_t sp, const double *x, double *y);

/* ---- Normalization. x is (n, c, inner). */
/* Batch norm (inference): y = (x - mean) / sqrt(var + eps) * scale + bias. The statistics are
 * per channel (stat_inner == 0: arrays of c) or per element (stat_inner != 0: arrays of c*inner). */
void sqz_batchnorm_f32_ref(int64_t n, int64_t c, int64_t inner, int stat_inner, const float *x,
                           const float *scale, const float *bias, const float *mean, const float *var,
                           double eps, float *y);
void sqz_batchnorm_f64_ref(int64_t n, int64_t c, int64_t inner, int stat_inner, const double *x,
                           const double *scale, const double *bias, const double *mean,
                           const double *var, double eps, double *y);
/* Instance norm: statistics per (n, c) over inner; scale and bias are (c). */
void sqz_instancenorm_f32_ref(int64_t n, int64_t c, int64_t inner, const float *x, const float *scale,
                              const float *bias, double eps, float *y);
void sqz_instancenorm_f64_ref(int64_t n, int64_t c, int64_t inner, const double *x,
                              const double *scale, const double *bias, double eps, double *y);
/* Layer norm over rows of d: x (outer, d); scale (d); bias (d) or NULL; mean and inv_std
 * (outer) or NULL. */
void sqz_layernorm_f32_ref(int64_t outer, int64_t d, const float *x, const float *scale,
                           const float *bias, double eps, float *y, float *mean, float *inv_std);
void sqz_layernorm_f64_ref(int64_t outer, int64_t d, const double *x, const double *scale,
                           const double *bias, double eps, double *y, double *mean, double *inv_std);
/* Local response norm across channels: x (n, c, inner). */
void sqz_lrn_f32_ref(int64_t n, int64_t c, int64_t inner, int64_t size, double alpha, double beta,
                     double bias, const float *x, float *y);
void sqz_lrn_f64_ref(int64_t n, int64_t c, int64_t inner, int64_t size, double alpha, double beta,
                     double bias, const double *x, double *y);

/* ---- Softmax family along the middle axis of x (outer, len, inner). */
typedef enum sqz_softmax_kind { SQZ_SOFTMAX = 0, SQZ_LOG_SOFTMAX = 1, SQZ_HARDMAX = 2 } sqz_softmax_kind;
void sqz_softmax_f32_ref(sqz_softmax_kind kind, int64_t outer, int64_t len, int64_t inner,
                         const float *x, float *y);
void sqz_softmax_f64_ref(sqz_softmax_kind kind, int64_t outer, int64_t len, int64_t inner,
                         const double *x, double *y);

#endif
