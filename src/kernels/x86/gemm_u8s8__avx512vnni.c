/* kernels/x86/gemm_u8s8__avx512vnni.c - AVX-512 VNNI int8 microkernels (8 x 32 tile: 16
 * accumulators of 16 s32 lanes, VPDPBUSD on 4-byte groups along K) and the AVX-512 epilogue. */
#include "kernels/x86/gemm_s8_ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define SQZ_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define MR SQZ_QGEMM_VNNI512_MR
#define NV (SQZ_QGEMM_VNNI512_NR / 16)

static inline SQZ_VNNI512 __m512i bcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __mmask16 lanes(int n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* Epilogue of one vector: raw sums acc for row m, columns n .. n+15 under mask mk. */
static inline SQZ_VNNI512 void epi_vec(__m512i acc, int64_t m, int64_t n, __mmask16 mk, char *yrow,
                                       const sqz_qepi_ctx *e) {
    const sqz_qepi *epi = e->epi;
    __m512 sc;
    if (e->w_rows) {
        acc = _mm512_add_epi32(acc, _mm512_set1_epi32(e->woff[m]));
        if (e->wzp)
            acc = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(e->wzp[m]),
                                                           _mm512_maskz_loadu_epi32(mk, e->xsum + n)));
        sc = epi->scale ? _mm512_set1_ps(epi->scale[m]) : _mm512_setzero_ps();
    } else {
        acc = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mk, e->woff + n));
        if (e->wzp)
            acc = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(mk, e->wzp + n),
                                                           _mm512_set1_epi32(e->xsum[m])));
        sc = epi->scale ? _mm512_maskz_loadu_ps(mk, epi->scale + n) : _mm512_setzero_ps();
    }
    if (epi->out == SQZ_QOUT_S32) {
        _mm512_mask_storeu_epi32((int32_t *)yrow + n, mk, acc);
        return;
    }
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc);
    if (epi->out == SQZ_QOUT_F32) {
        _mm512_mask_storeu_ps((float *)yrow + n, mk, f);
        return;
    }
    f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps((float)(epi->lo - epi->y_zp))),
                      _mm512_set1_ps((float)(epi->hi - epi->y_zp)));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(epi->y_zp));
    _mm_mask_storeu_epi8(yrow + n, mk, _mm512_cvtepi32_epi8(q));
}

static inline size_t out_bytes(const sqz_qepi *epi) {
    return epi->out == SQZ_QOUT_S32 || epi->out == SQZ_QOUT_F32 ? 4 : 1;
}

SQZ_VNNI512 void sqz_qepi_tile__avx512(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0,
                                       const sqz_qepi_ctx *e) {
    const size_t osz = out_bytes(e->epi);
    for (int r = 0; r < mr; r++) {
        char *yrow = (char *)e->y + (size_t)((m0 + r) * e->ldy) * osz;
        for (int j = 0; j < nr; j += 16)
            epi_vec(_mm512_maskz_loadu_epi32(lanes(nr - j), tile + r * NR + j), m0 + r, n0 + j, lanes(nr - j), yrow, e);
    }
}

/* Fused epilogue of a whole tile when the weight channels are the columns and no weight zero
 * point needs the row sums: the per-column vectors are loaded once for all rows. */
/* One output kind's rows of the tile: OUT a constant, so each loop is straight stores; whole
 * tiles store unmasked (a masked store costs more on some cores even with every lane set). */
static inline __attribute__((always_inline)) SQZ_VNNI512 void epi_rows(__m512i acc[MR][NV], int mr, int full,
                                                                       int64_t m0, int64_t n0, const sqz_qepi_ctx *e,
                                                                       const __m512i *wo, const __m512 *sc,
                                                                       const __mmask16 *mk, const int OUT,
                                                                       const int ROWS) {
    const sqz_qepi *epi = e->epi;
    const size_t osz = OUT == SQZ_QOUT_S32 || OUT == SQZ_QOUT_F32 ? 4 : 1;
    const __m512 flo = _mm512_set1_ps((float)(epi->lo - epi->y_zp)), fhi = _mm512_set1_ps((float)(epi->hi - epi->y_zp));
    const __m512i yzp = _mm512_set1_epi32(epi->y_zp);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        char *yrow = (char *)e->y + (size_t)((m0 + r) * e->ldy + n0) * osz;
        /* ROWS: the weight channel is the row (offset and scale broadcast), else the column */
        const __m512i wr = ROWS ? _mm512_set1_epi32(e->woff[m0 + r]) : _mm512_setzero_si512();
        const __m512 sr = ROWS && epi->scale ? _mm512_set1_ps(epi->scale[m0 + r]) : _mm512_setzero_ps();
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
            const __m512i x = _mm512_add_epi32(acc[r][v], ROWS ? wr : wo[v]);
            const __m512 s_ = ROWS ? sr : sc[v];
            if (OUT == SQZ_QOUT_S32) {
                if (full) _mm512_storeu_si512((int32_t *)yrow + 16 * v, x);
                else _mm512_mask_storeu_epi32((int32_t *)yrow + 16 * v, mk[v], x);
            } else if (OUT == SQZ_QOUT_F32) {
                const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), s_);
                if (full) _mm512_storeu_ps((float *)yrow + 16 * v, f);
                else _mm512_mask_storeu_ps((float *)yrow + 16 * v, mk[v], f);
            } else {
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), s_);
                f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
                const __m128i q = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), yzp));
                if (full) _mm_storeu_si128((__m128i *)(yrow + 16 * v), q);
                else _mm_mask_storeu_epi8(yrow + 16 * v, mk[v], q);
            }
        }
    }
}

static inline __attribute__((always_inline)) SQZ_VNNI512 void epi_tile_cols(__m512i acc[MR][NV], int mr, int nr,
                                                                            int64_t m0, int64_t n0,
                                                                            const sqz_qepi_ctx *e) {
    const sqz_qepi *epi = e->epi;
    __m512i wo[NV];
    __m512 sc[NV];
    __mmask16 mk[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
        mk[v] = lanes(nr - 16 * v);
        wo[v] = _mm512_maskz_loadu_epi32(mk[v], e->woff + n0 + 16 * v);
        sc[v] = epi->scale ? _mm512_maskz_loadu_ps(mk[v], epi->scale + n0 + 16 * v) : _mm512_setzero_ps();
    }
    const int full = nr == 16 * NV;
    if (epi->out == SQZ_QOUT_S32) epi_rows(acc, mr, full, m0, n0, e, wo, sc, mk, SQZ_QOUT_S32, 0);
    else if (epi->out == SQZ_QOUT_F32) epi_rows(acc, mr, full, m0, n0, e, wo, sc, mk, SQZ_QOUT_F32, 0);
    else epi_rows(acc, mr, full, m0, n0, e, wo, sc, mk, SQZ_QOUT_U8, 0);
}

/* The same when the weight channels are the rows (convolutions: output channels x positions)
 * and no weight zero point needs the column sums. */
static inline __attribute__((always_inline)) SQZ_VNNI512 void epi_tile_wrows(__m512i acc[MR][NV], int mr, int nr,
                                                                             int64_t m0, int64_t n0,
                                                                             const sqz_qepi_ctx *e) {
    __mmask16 mk[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) mk[v] = lanes(nr - 16 * v);
    const int full = nr == 16 * NV;
    const sqz_qout out = e->epi->out;
    if (out == SQZ_QOUT_S32) epi_rows(acc, mr, full, m0, n0, e, NULL, NULL, mk, SQZ_QOUT_S32, 1);
    else if (out == SQZ_QOUT_F32) epi_rows(acc, mr, full, m0, n0, e, NULL, NULL, mk, SQZ_QOUT_F32, 1);
    else epi_rows(acc, mr, full, m0, n0, e, NULL, NULL, mk, SQZ_QOUT_U8, 1);
}

/* A_U8: the broadcast side a is the u8 operand of VPDPBUSD, else the vector side b is. */
#define UKERNEL(NAME, A_U8)                                                                        \
    SQZ_VNNI512 void NAME(int64_t kq, const uint8_t *a, int64_t rs, int64_t qs, const uint8_t *b, int32_t *tile, \
                          int accum, int mr, int nr, int64_t m0, int64_t n0, const sqz_qepi_ctx *e) { \
        const int64_t rs3 = 3 * rs;                                                                \
        __m512i acc[MR][NV];                                                                       \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                       \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                   \
                acc[r][v] = accum ? _mm512_loadu_si512(tile + r * 16 * NV + 16 * v) : _mm512_setzero_si512(); \
        _Pragma("GCC unroll 2") for (int64_t q = 0; q < kq; q++) {                                 \
            __m512i bv[NV];                                                                        \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_si512(b + 64 * v); \
            const uint8_t *a4 = a + 4 * rs;                                                        \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                                 \
                const uint8_t *ar = (r < 4 ? a : a4 + (r / 4 - 1) * 4 * rs) + ((r & 3) == 3 ? rs3 : (r & 3) * rs); \
                const __m512i av = bcast4(ar);                                                     \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] =                   \
                    A_U8 ? _mm512_dpbusd_epi32(acc[r][v], av, bv[v]) : _mm512_dpbusd_epi32(acc[r][v], bv[v], av); \
            }                                                                                      \
            a += qs;                                                                               \
            b += 64 * NV;                                                                          \
        }                                                                                          \
        if (!e) {                                                                                  \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                   \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                               \
                    _mm512_storeu_si512(tile + r * 16 * NV + 16 * v, acc[r][v]);                   \
            return;                                                                                \
        }                                                                                          \
        if (!e->wzp) {                                                                             \
            if (e->w_rows) epi_tile_wrows(acc, mr, nr, m0, n0, e);                                 \
            else epi_tile_cols(acc, mr, nr, m0, n0, e);                                            \
            return;                                                                                \
        }                                                                                          \
        const size_t osz = out_bytes(e->epi);                                                      \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                                     \
            if (r >= mr) break;                                                                    \
            char *yrow = (char *)e->y + (size_t)((m0 + r) * e->ldy) * osz;                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                 \
                if (16 * v >= nr) break;                                                           \
                epi_vec(acc[r][v], m0 + r, n0 + 16 * v, lanes(nr - 16 * v), yrow, e);              \
            }                                                                                      \
        }                                                                                          \
    }

UKERNEL(sqz_qgemm_ukernel_au8__avx512vnni, 1)
UKERNEL(sqz_qgemm_ukernel_as8__avx512vnni, 0)

#endif
