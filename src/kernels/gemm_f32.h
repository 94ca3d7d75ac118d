/* kernels/gemm_f32.h - fast fp32 GEMM with a fused epilogue, dispatched by ISA level.
 *
 *   C[M,N] = act(alpha * op(A)[M,K] * op(B)[K,N] + beta * C + bias)
 *
 * op(X) = X or X^T (handled in packing); lda/ldb/ldc are row strides of the stored matrices;
 * beta == 0 overwrites C (NaNs in C do not leak). bias is per row (bias_m, M values) and/or
 * per column (bias_n, N values); act clamps to [lo, hi] (ReLU: lo = 0, hi = +inf).
 *
 * The x86 paths are BLIS-style: B is packed in panels of NR columns and A in panels of MR rows,
 * blocked by KC/MC/NC, and a register-tile microkernel does the flops. On AVX-512 the full B
 * panels of a row-major B are read in place when their rows spread over enough L1 sets (a
 * packing costs as much as a few row panels of A use it: 1x1 convolutions with few output
 * channels); same sums, same bits. Threads split only
 * independent output tiles (never K), so results are bit-identical for every thread count.
 * The SQZ_ISA_REF path is sqz_gemm_f32_ref followed by a scalar epilogue: the oracle. */
#ifndef SQZ_KERNELS_GEMM_F32_H
#define SQZ_KERNELS_GEMM_F32_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"

typedef struct sqz_gemm_epi {
    const float *bias_m; /* (M) added to row i, or NULL */
    const float *bias_n; /* (N) added to column j, or NULL */
    int clamp;           /* 0: none; 1: clamp to [lo, hi] */
    float lo, hi;
} sqz_gemm_epi;

typedef struct sqz_gemm_f32_args {
    int trans_a, trans_b;
    int64_t M, N, K;
    float alpha, beta;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    float *C;
    int64_t ldc;
    const sqz_gemm_epi *epi; /* may be NULL */
    /* Optional operands packed once by sqz_gemm_f32_pack_a / _pack_b for the same isa and sizes
     * (then A / B, lda / ldb and trans_a / trans_b are not read). Results are bit-identical to
     * the unpacked call. Only for an isa with a packed path (packed_*_bytes > 0). */
    const float *packed_a, *packed_b;
} sqz_gemm_f32_args;

/* Scratch bytes sqz_gemm_f32 needs for these sizes, ISA and thread count (0: none). */
size_t sqz_gemm_f32_scratch_bytes(sqz_isa isa, int threads, int64_t M, int64_t N, int64_t K);
/* Runs the GEMM with the given ISA level (clamped to what the CPU supports) and threads.
 * scratch: sqz_gemm_f32_scratch_bytes bytes, 64-byte aligned (NULL allowed when 0). */
void sqz_gemm_f32(sqz_isa isa, int threads, const sqz_gemm_f32_args *g, void *scratch);

/* Packing constant operands once (weights): bytes of op(A) (M x K) or op(B) (K x N) packed for
 * isa (0: isa has no packed path; then pass the operand unpacked), and the packing itself into
 * dst (64-byte aligned, that many bytes). The packed B does not depend on M. */
size_t sqz_gemm_f32_packed_a_bytes(sqz_isa isa, int64_t M, int64_t K);
size_t sqz_gemm_f32_packed_b_bytes(sqz_isa isa, int64_t K, int64_t N);
void sqz_gemm_f32_pack_a(sqz_isa isa, int trans_a, int64_t M, int64_t K, const float *A, int64_t lda, float *dst);
void sqz_gemm_f32_pack_b(sqz_isa isa, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);

/* Layout of sqz_gemm_f32_pack_a's output for isa and M: panels of *mr rows, K cut in blocks of
 * *kc; the panel of rows r0 .. r0+mr over the block at pc (of kcb = min(kc, K - pc) columns)
 * starts at pc * round_up(M, mr) + r0 * kcb floats and holds a[k * mr + r]. Returns 0 when isa
 * has no packed path. */
int sqz_gemm_f32_a_layout(sqz_isa isa, int64_t M, int *mr, int64_t *kc);
/* The same for packed B (sqz_gemm_f32_pack_b): nr columns per panel, K in blocks of *kc; the
 * panel of columns j0 .. j0+nr over the block at pc starts at pc * round_up(N, nr) + j0 * kcb. */
int sqz_gemm_f32_b_layout(sqz_isa isa, int *nr, int64_t *kc);

/* The scalar epilogue of the reference path: C = act(C + bias) over M x N. */
void sqz_gemm_f32_epilogue_ref(int64_t M, int64_t N, float *C, int64_t ldc, const sqz_gemm_epi *epi);

#endif
