/* kernels/x86/gemm_s8_ukernel.h - the int8 GEMM microkernel and epilogue interface (private to
 * kernels/gemm_s8.c and the int8 tests).
 *
 * Packed panels hold groups of 4 bytes along K: a panel of width T stores element (t, k) at
 * byte ((k/4)*T + t)*4 + k%4, zero-padded past K and past the last row/column.
 * A microkernel multiplies an MR-row panel a (broadcast side) by an NR-column panel b (vector
 * side) over kq groups and writes the raw s32 sums to tile (MR x NR, row stride NR).
 * _au8: a holds u8 activations, b s8 weights; _as8: a holds s8 weights, b u8 activations. */
#ifndef SQZ_KERNELS_X86_GEMM_S8_UKERNEL_H
#define SQZ_KERNELS_X86_GEMM_S8_UKERNEL_H

#include <stdint.h>

#include "kernels/int8.h"

typedef void (*sqz_qgemm_ukernel_fn)(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile);

/* What the epilogue of one tile needs. Weight channel c is the row (w_rows) or the column. */
typedef struct sqz_qepi_ctx {
    const sqz_qepi *epi;
    int w_rows;
    const int32_t *woff; /* (C) bias - x_zp'*wsum + K*x_zp'*w_zp' */
    const int32_t *wzp;  /* (C) stored (shifted) weight zero points, or NULL when all 0 */
    const int32_t *xsum; /* (rows or columns of activations) sums of shifted activations, or NULL */
    void *y;
    int64_t ldy;
} sqz_qepi_ctx;

typedef void (*sqz_qgemm_fused_fn)(int64_t kq, const uint8_t *a, int64_t rs, int64_t qs, const uint8_t *b,
                                   int32_t *tile, int accum, int mr, int nr, int64_t m0, int64_t n0,
                                       const sqz_qepi_ctx *e);

/* Writes the mr x nr corner of tile (row stride NR) at output (m0, n0). */
typedef void (*sqz_qepi_tile_fn)(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0,
                                 const sqz_qepi_ctx *e);

void sqz_qepi_tile_c(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0, const sqz_qepi_ctx *e);

#if defined(__x86_64__)
#ifndef SQZ_QGEMM_VNNI512_MR
#define SQZ_QGEMM_VNNI512_MR 8
#define SQZ_QGEMM_VNNI512_NR 32
#endif
/* The a side is read at a + r*rs + q*qs (packed panel: rs = 4, qs = 4*MR; unpacked u8 rows with
 * K % 4 == 0: rs = row stride, qs = 4). The sums start from the raw tile when accum is set (a
 * later block of K), else from 0. With e != NULL the epilogue is applied from the registers
 * (the mr x nr corner at (m0, n0)); with e == NULL the raw sums are stored to tile. */
void sqz_qgemm_ukernel_au8__avx512vnni(int64_t kq, const uint8_t *a, int64_t rs, int64_t qs, const uint8_t *b,
                                       int32_t *tile, int accum, int mr, int nr, int64_t m0, int64_t n0,
                                       const sqz_qepi_ctx *e);
void sqz_qgemm_ukernel_as8__avx512vnni(int64_t kq, const uint8_t *a, int64_t rs, int64_t qs, const uint8_t *b,
                                       int32_t *tile, int accum, int mr, int nr, int64_t m0, int64_t n0,
                                       const sqz_qepi_ctx *e);
void sqz_qepi_tile__avx512(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0,
                           const sqz_qepi_ctx *e);

#define SQZ_QGEMM_AVXVNNI_MR 4
#define SQZ_QGEMM_AVXVNNI_NR 24
void sqz_qgemm_ukernel_au8__avxvnni(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile);
void sqz_qgemm_ukernel_as8__avxvnni(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile);

#define SQZ_QGEMM_AVX2_MR 6
#define SQZ_QGEMM_AVX2_NR 8
void sqz_qgemm_ukernel_au8__avx2(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile);
void sqz_qgemm_ukernel_as8__avx2(int64_t kq, const uint8_t *a, const uint8_t *b, int32_t *tile);
/* The tile epilogue in AVX2 (the avx2 and avxvnni families): the same bits as sqz_qepi_tile_c. */
void sqz_qepi_tile__avx2(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0,
                         const sqz_qepi_ctx *e);
#endif

#endif
