/* kernels/int8.h - int8 GEMM (u8 x s8 -> s32) with packed weights and a fused requantization
 * epilogue, int8 depthwise convolution and the scalar quantization helpers.
 *
 * The GEMM multiplies weights W (C channels x K) with activations X:
 *   side SQZ_QSIDE_B: Y[M, N=C] = X[M, K] * W^T      (MatMul: weights are the right operand)
 *   side SQZ_QSIDE_A: Y[M=C, N] = W[C, K] * X[K, N]  (NCHW conv: weights are the left operand)
 * with zero points (ONNX semantics, wrapping 32-bit integer arithmetic):
 *   acc[m,n] = bias[c] + sum_k (x - x_zp) * (w[c,k] - w_zp[c])
 * and then, per output kind:
 *   S32: acc;  F32: (float)acc * scale[c];
 *   U8/S8: clamp(nearbyint((float)acc * scale[c]) + y_zp, lo, hi)   (round half to even).
 * Weights are packed once (sqz_qpack_create) for one ISA level: u8 weights are stored as s8
 * (w - 128, their zero point shifted alike) and the per-channel weight sums that compensate the
 * activation zero point are computed there. Activations may be u8 or s8 (s8 is shifted to u8
 * while packing). VNNI paths use VPDPBUSD on groups of 4 bytes along K; the AVX2 path widens to
 * 16 bits and uses VPMADDWD, so no intermediate saturates. The SQZ_ISA_REF path computes the
 * formula above directly from unpacked data: it is the oracle the others must equal exactly.
 * Threads split output tiles in a fixed way (results do not depend on the thread count). */
#ifndef SQZ_KERNELS_INT8_H
#define SQZ_KERNELS_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"

typedef enum sqz_qside { SQZ_QSIDE_A = 0, SQZ_QSIDE_B = 1 } sqz_qside;
typedef enum sqz_qout { SQZ_QOUT_U8 = 0, SQZ_QOUT_S8, SQZ_QOUT_S32, SQZ_QOUT_F32 } sqz_qout;

/* Kernel families; a pack is made for one. */
typedef enum sqz_qkind {
    SQZ_QK_REF = 0,     /* the oracle on unpacked rows */
    SQZ_QK_AVX2,        /* 16-bit widening + VPMADDWD */
    SQZ_QK_AVXVNNI,     /* VEX 256-bit VPDPBUSD (CPUs with AVX-VNNI) */
    SQZ_QK_AVX512VNNI,  /* EVEX 512-bit VPDPBUSD */
    SQZ_QK_COUNT
} sqz_qkind;
/* The kernel family for an ISA level on this CPU. */
sqz_qkind sqz_qkind_for(sqz_isa isa);
/* 1 when this CPU can run kind. */
int sqz_qkind_supported(sqz_qkind kind);
const char *sqz_qkind_name(sqz_qkind kind);

/* Packed weights (opaque layout; fields for the driver and tests). */
typedef struct sqz_qpack {
    sqz_qkind kind;    /* kernel family the layout was made for */
    sqz_qside side;
    int64_t C, K, Kq;  /* channels, depth, groups of 4 along K */
    int T;             /* channels per panel (MR or NR of the kernel; 1 for REF) */
    int8_t *w;         /* REF: (C, K) source bytes; else ceil(C/T) panels of (Kq, T, 4) s8 */
    int32_t *wsum;     /* (C) sum over k of the stored s8 weights (not REF) */
    int w_u8;          /* the source weights were u8 (stored as w - 128) */
} sqz_qpack;

/* Packs weights: element (c, k) is at w[c*sc + k*sk], u8 when w_u8 else s8, for the kernel of
 * sqz_qkind_for(isa). NULL on out of memory. */
sqz_qpack *sqz_qpack_create(sqz_isa isa, sqz_qside side, int64_t C, int64_t K, const void *w, int w_u8,
                            int64_t sc, int64_t sk);
/* The same for an explicit kernel family (tests, benchmarks); NULL if the CPU lacks it. */
sqz_qpack *sqz_qpack_create_kind(sqz_qkind kind, sqz_qside side, int64_t C, int64_t K, const void *w,
                                 int w_u8, int64_t sc, int64_t sk);
void sqz_qpack_free(sqz_qpack *p);
/* Bytes the pack holds (for reports). */
size_t sqz_qpack_bytes(const sqz_qpack *p);

typedef struct sqz_qepi {
    sqz_qout out;
    const int32_t *bias;  /* (C) or NULL */
    const int32_t *w_zp;  /* (C) weight zero points in the source weight dtype, or NULL (all 0) */
    const float *scale;   /* (C) for U8/S8/F32 outputs */
    int32_t y_zp;         /* U8/S8 */
    int32_t lo, hi;       /* U8/S8 clamp (e.g. 0..255, or y_zp..255 for a fused ReLU) */
} sqz_qepi;

typedef struct sqz_qgemm_args {
    int64_t M, N, K;
    const sqz_qpack *w;   /* side B: N == C; side A: M == C; K == w->K */
    const void *x;        /* side B: (M, K) row stride ldx; side A: (K, N) row stride ldx */
    int64_t ldx;
    int64_t xcols;        /* side A: bytes readable in every row of x, the last one included, when
                           * more than N (0: N); the packing then reads whole vectors past N */
    int x_s8;             /* activations are s8 (else u8) */
    int32_t x_zp;         /* in the activation dtype */
    void *y;              /* (M, N) row stride ldy, elements of the output kind */
    int64_t ldy;
    const sqz_qepi *epi;
} sqz_qgemm_args;

/* Scratch bytes sqz_qgemm needs (0: none). */
size_t sqz_qgemm_scratch_bytes(const sqz_qgemm_args *g, int threads);
/* The same before a pack exists, for kernel family kind. */
size_t sqz_qgemm_scratch_for(sqz_qkind kind, sqz_qside side, int64_t M, int64_t N, int64_t K, int threads);
/* Runs the GEMM with the pack's kernel family. scratch: sqz_qgemm_scratch_bytes bytes, 64-byte aligned. */
void sqz_qgemm(int threads, const sqz_qgemm_args *g, void *scratch);

/* The oracle: the formula above on unpacked operands. W element (c, k) at w[c*sc + k*sk]. */
void sqz_qgemm_ref(sqz_qside side, int64_t M, int64_t N, int64_t K, const void *x, int64_t ldx, int x_s8,
                   int32_t x_zp, const void *w, int w_u8, int64_t sc, int64_t sk, void *y, int64_t ldy,
                   const sqz_qepi *epi);
/* Epilogue of one value acc for channel c (ref semantics); writes element i of y. */
void sqz_qepi_store_ref(const sqz_qepi *epi, int64_t c, int32_t acc, void *y, int64_t i);

/* ---- int8 depthwise 2-D convolution (group == C, one filter per channel).
 * x (batch, C, ih, iw), w (C, 1, kh, kw), y (batch, C, oh, ow); padded positions read x_zp. */
typedef struct sqz_qdw_params {
    int64_t batch, C, ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
} sqz_qdw_params;
/* Scratch bytes (one row of s32 sums per thread). */
size_t sqz_qdwconv_scratch_bytes(const sqz_qdw_params *p, int threads);
/* kind selects the vector code (REF runs the oracle). */
void sqz_qdwconv(sqz_qkind kind, int threads, const sqz_qdw_params *p, const void *x, int x_s8, int32_t x_zp,
                 const void *w, int w_u8, void *y, const sqz_qepi *epi, void *scratch);
/* The path sqz_qdwconv takes for kind and p (for reports): "depthwise" (the vector planes),
 * "depthwise-rows" (the portable direct path) or "reference". */
const char *sqz_qdwconv_path(sqz_qkind kind, const sqz_qdw_params *p);
/* Oracle: direct loops. */
void sqz_qdwconv_ref(const sqz_qdw_params *p, const void *x, int x_s8, int32_t x_zp, const void *w, int w_u8,
                     void *y, const sqz_qepi *epi);

/* ---- scalar quantization helpers (ONNX QuantizeLinear semantics) ---- */
/* saturate(nearbyint(v / scale) + zp) into [lo, hi] (round half to even; NaN -> zp). */
static inline int32_t sqz_quantize_f32(float v, float scale, int32_t zp, int32_t lo, int32_t hi) {
    float q = __builtin_nearbyintf(v / scale);
    if (q != q) q = 0.0f;
    const float fl = (float)(lo - zp), fh = (float)(hi - zp);
    q = q < fl ? fl : q > fh ? fh : q;
    return (int32_t)q + zp;
}

#endif
