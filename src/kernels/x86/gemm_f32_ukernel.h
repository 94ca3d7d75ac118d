/* kernels/x86/gemm_f32_ukernel.h - the fp32 GEMM microkernel interface (private to the GEMM
 * driver in kernels/gemm_f32.c and its tests).
 *
 * A microkernel multiplies a packed MR x kc panel of A (a[k*MR + r]) by a kc x NR panel of B
 * (b[k*bs + j]: packed, bs = NR, or the B matrix itself) and stores the top-left mr x nr corner of the tile into C (row stride ldc):
 *   first: C = alpha*acc + beta*C   (beta == 0: C = alpha*acc, C not read)
 *   else:  C = alpha*acc + C
 *   last:  then C += bias_m[r] + bias_n[j], then clamp to [lo, hi] when clamp is set. */
#ifndef SQZ_KERNELS_X86_GEMM_F32_UKERNEL_H
#define SQZ_KERNELS_X86_GEMM_F32_UKERNEL_H

#include <stdint.h>

typedef struct sqz_gemm_f32_store {
    float alpha, beta;
    int first, last;
    const float *bias_m; /* at the tile's first row, or NULL */
    const float *bias_n; /* at the tile's first column, or NULL */
    int clamp;
    float lo, hi;
    int64_t bs; /* floats from one k row of the B panel to the next: NR when packed, ldb when B is
                 * read in place (AVX-512 kernels; the AVX2 ones read packed panels only) */
} sqz_gemm_f32_store;

typedef void (*sqz_gemm_f32_ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                        int mr, int nr, const sqz_gemm_f32_store *st);

/* Packs rows x0 .. x0+n (n <= R, zero-padded to R) of op(X) over k0 .. k0+kc into one panel
 * dst[k*R + r], for the panel width R of the function. op(X)[x][k] = X[x*ld + k] when !trans,
 * X[k*ld + x] when trans. A panels use it with X = A; B panels with X = B^T, i.e. trans = !trans_b. */
typedef void (*sqz_gemm_f32_pack_fn)(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                     int64_t kc, float *dst);

/* Narrow column tail: the C columns of one B panel (b[k*bs + j], j < ncols) for all mc rows of a
 * packed A block (panels of MR rows at a + p*MR*kc, zero-padded), with rows in vector lanes. Same
 * sums and store rule as the microkernels (st->bias_m at the block's first row, bias_n at column
 * 0), so a column gives the same bits through either. For a last panel of a few columns, where a
 * 16-wide tile would compute mostly padding. */
typedef void (*sqz_gemm_f32_tail_fn)(int64_t kc, const float *a, int64_t mc, const float *b, int bs, int ncols,
                                     float *c, int64_t ldc, const sqz_gemm_f32_store *st);

#if defined(__x86_64__)
void sqz_gemm_f32_tail_14__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs, int ncols,
                                  float *c, int64_t ldc, const sqz_gemm_f32_store *st);
void sqz_gemm_f32_tail_8__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs, int ncols,
                                 float *c, int64_t ldc, const sqz_gemm_f32_store *st);
void sqz_gemm_f32_tail_6__avx512(int64_t kc, const float *a, int64_t mc, const float *b, int bs, int ncols,
                                 float *c, int64_t ldc, const sqz_gemm_f32_store *st);
void sqz_gemm_f32_pack_14__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                  int64_t kc, float *dst);
void sqz_gemm_f32_pack_32__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                  int64_t kc, float *dst);
void sqz_gemm_f32_pack_8__avx512(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                 int64_t kc, float *dst);
void sqz_gemm_f32_pack_6__avx2(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                               int64_t kc, float *dst);
void sqz_gemm_f32_pack_16__avx2(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0,
                                int64_t kc, float *dst);
#define SQZ_PACK_DECL(name)                                                                        \
    void name(const float *X, int64_t ld, int trans, int64_t x0, int64_t n, int64_t k0, int64_t kc, float *dst);
SQZ_PACK_DECL(sqz_gemm_f32_pack_1__avx512)
SQZ_PACK_DECL(sqz_gemm_f32_pack_2__avx512)
SQZ_PACK_DECL(sqz_gemm_f32_pack_3__avx512)
SQZ_PACK_DECL(sqz_gemm_f32_pack_4__avx512)
SQZ_PACK_DECL(sqz_gemm_f32_pack_6__avx512)
SQZ_PACK_DECL(sqz_gemm_f32_pack_1__avx2)
SQZ_PACK_DECL(sqz_gemm_f32_pack_2__avx2)
SQZ_PACK_DECL(sqz_gemm_f32_pack_3__avx2)
SQZ_PACK_DECL(sqz_gemm_f32_pack_4__avx2)
#undef SQZ_PACK_DECL
#define SQZ_UKERNEL_DECL(name)                                                                     \
    void name(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr, int nr,   \
              const sqz_gemm_f32_store *st)
/* AVX-512 kernels take 32-wide B panels; the x16 ones read their left 16 columns (b stride 32). */
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_14x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_8x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_14x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_8x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_6x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_6x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_6x16__avx2);
/* small M: 1..4 rows */
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_1x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_2x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_3x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_4x32__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_1x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_2x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_3x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_4x16__avx512);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_1x16__avx2);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_2x16__avx2);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_3x16__avx2);
SQZ_UKERNEL_DECL(sqz_gemm_f32_ukernel_4x16__avx2);
#undef SQZ_UKERNEL_DECL
/* A kernel for the top mr rows (1 <= mr < panel) of a 14- or 8-row packed A panel, 32 columns
 * (wide) or 16, computing only those rows (rounded up to even): the same sums as the full tile.
 * NULL where none (mr >= panel, other panels). */
sqz_gemm_f32_ukernel_fn sqz_gemm_f32_part__avx512(int panel, int mr, int wide);
#endif

/* Portable edge/epilogue helper: applies the store rule to an MR x NR tile t (row stride NR)
 * holding raw sums, for the top-left mr x nr corner. */
void sqz_gemm_f32_store_tile(const float *t, int NR, float *c, int64_t ldc, int mr, int nr,
                             const sqz_gemm_f32_store *st);

#endif
