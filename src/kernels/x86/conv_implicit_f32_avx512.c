/* kernels/x86/conv_implicit_f32_avx512.c - AVX-512 implicit-GEMM convolution tiles (see
 * kernels/conv_implicit_f32.h): MR output channels x 32 positions in 2*MR zmm accumulators; per
 * k, two unaligned loads of the input at off[k] and MR broadcasts of packed weights. */
#include "kernels/conv_implicit_f32.h"
#include "kernels/x86/transpose16_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SQZ_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

static inline __attribute__((always_inline)) SQZ_AVX512 void tile(const int MR, const sqz_iconv_tile *t, int64_t r0,
                                                                   int mr, const float *x, float *y, int64_t ldy) {
    __m512 acc[14][2];
    _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const int64_t K = t->K;
    for (int64_t pc = 0; pc < K; pc += t->kc) {
        const int64_t kc = K - pc < t->kc ? K - pc : t->kc;
        const float *a = t->a + pc * t->rp + r0 * kc;
        const int32_t *off = t->off + pc;
        for (int64_t k = 0; k < kc; k++) {
            const float *xb = x + off[k];
            const __m512 b0 = _mm512_loadu_ps(xb), b1 = _mm512_loadu_ps(xb + 16);
            _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) {
                const __m512 av = _mm512_set1_ps(a[r]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
            a += MR;
        }
    }
    const __m512 lo = _mm512_set1_ps(t->lo), hi = _mm512_set1_ps(t->hi);
    _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        __m512 v0 = acc[r][0], v1 = acc[r][1];
        if (t->bias) {
            const __m512 bv = _mm512_set1_ps(t->bias[r0 + r]);
            v0 = _mm512_add_ps(v0, bv);
            v1 = _mm512_add_ps(v1, bv);
        }
        if (t->clamp) {
            v0 = _mm512_min_ps(_mm512_max_ps(v0, lo), hi);
            v1 = _mm512_min_ps(_mm512_max_ps(v1, lo), hi);
        }
        float *yr = y + r * ldy;
        for (int s = 0; s < t->nseg; s++) {
            /* masked-off lanes are neither read, written nor faulted on */
            const __mmask16 m0 = (__mmask16)t->mask[s][0], m1 = (__mmask16)t->mask[s][1];
            float *d = yr + t->base[s];
            if (m0) _mm512_mask_storeu_ps(d, m0, t->accumulate ? _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, d)) : v0);
            if (m1)
                _mm512_mask_storeu_ps(d + 16, m1,
                                      t->accumulate ? _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, d + 16)) : v1);
        }
    }
}

SQZ_AVX512 void sqz_iconv_f32_14x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                            int64_t ldy) {
    tile(14, t, r0, mr, x, y, ldy);
}

SQZ_AVX512 void sqz_iconv_f32_8x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                           int64_t ldy) {
    tile(8, t, r0, mr, x, y, ldy);
}

SQZ_AVX512 void sqz_iconv_f32_6x32__avx512(const sqz_iconv_tile *t, int64_t r0, int mr, const float *x, float *y,
                                           int64_t ldy) {
    tile(6, t, r0, mr, x, y, ldy);
}

/* The transposed tile (kernels/conv_implicit_f32.h, sqz_iconv_rows): R positions x 32 channels. */
static inline __attribute__((always_inline)) SQZ_AVX512 void rows_tile(const int R, const int R1, const int NV,
                                                                        const sqz_iconv_rows *t, int64_t j0, int nc,
                                                                        const float *x, int64_t gap, float *y,
                                                                        int64_t ldy) {
    __m512 acc[14][2];
    _Pragma("GCC unroll 14") for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t pc = 0; pc < t->K; pc += t->kc) {
        const int64_t kc = t->K - pc < t->kc ? t->K - pc : t->kc;
        const float *b = t->b + pc * t->np + j0 * kc;
        const int32_t *off = t->off + pc;
        for (int64_t k = 0; k < kc; k++) {
            const __m512 b0 = _mm512_load_ps(b), b1 = NV == 2 ? _mm512_load_ps(b + 16) : b0;
            const float *xk = x + off[k], *xk2 = xk + gap; /* positions R1.. come from the next row */
            _Pragma("GCC unroll 14") for (int i = 0; i < R; i++) {
                const __m512 av = _mm512_set1_ps(i < R1 ? xk[i] : xk2[i]);
                acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
                if (NV == 2) acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
            }
            b += 32;
        }
    }
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    const __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1u);
    const __mmask16 m1 = nc >= 32 ? (__mmask16)0xffff : nc <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nc - 16)) - 1u);
    if (t->bias) {
        bias0 = _mm512_maskz_loadu_ps(m0, t->bias + j0);
        bias1 = _mm512_maskz_loadu_ps(m1, t->bias + j0 + 16);
    }
    const __m512 lo = _mm512_set1_ps(t->lo), hi = _mm512_set1_ps(t->hi);
    /* each 16-channel half: positions x channels transposed in registers, then one masked store
     * of R positions per channel (a scalar store per element cost ~16 / K of the tile) */
    const __mmask16 pm = (__mmask16)((1u << R) - 1u);
    _Pragma("GCC unroll 2") for (int h = 0; h < NV; h++) {
        const int nch = nc - 16 * h;
        if (nch <= 0) break;
        __m512 r[16], tt[16];
        const __m512 bh = h ? bias1 : bias0;
        _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) {
            if (i >= R) {
                r[i] = _mm512_setzero_ps();
                continue;
            }
            __m512 v = _mm512_add_ps(acc[i][h], bh);
            if (t->clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            r[i] = v;
        }
        SQZ_TRANSPOSE16_PS(r, tt);
        for (int c = 0; c < 16 && c < nch; c++) {
            float *yc = y + (16 * h + c) * ldy;
            __m512 v = tt[c];
            if (t->accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(pm, yc));
            _mm512_mask_storeu_ps(yc, pm, v);
        }
    }
}

#define ROWS_CASES(NV)                                                                                  \
    switch (R * 16 + R1) { /* one register tile per shape: the accumulators stay in registers */     \
    ROW1(14, NV) ROW1(13, NV) ROW1(12, NV) ROW1(11, NV) ROW1(10, NV) ROW1(9, NV) ROW1(8, NV)           \
    ROW1(7, NV) ROW1(6, NV) ROW1(5, NV) ROW1(4, NV) ROW1(3, NV) ROW1(2, NV)                            \
    ROW2(14, 7, NV) ROW2(12, 6, NV) ROW2(10, 5, NV) ROW2(8, 4, NV) ROW2(6, 3, NV)                      \
    default: rows_tile(1, 1, NV, t, j0, nc, x, 0, y, ldy); break;                                      \
    }
#define ROW1(R, NV) case (R) * 16 + (R): rows_tile(R, R, NV, t, j0, nc, x, 0, y, ldy); break;
#define ROW2(R, R1, NV) case (R) * 16 + (R1): rows_tile(R, R1, NV, t, j0, nc, x, gap, y, ldy); break;

SQZ_AVX512 void sqz_iconv_rows_f32__avx512(const sqz_iconv_rows *t, int R, int R1, int64_t j0, int nc,
                                           const float *x, int64_t gap, float *y, int64_t ldy) {
    if (R1 != R && !(R == 2 * R1 && R1 >= 3 && R1 <= 7)) R = R1; /* no such tile: never asked for */
    if (nc > 16) {
        ROWS_CASES(2)
    } else { /* a last panel of at most 16 channels: one vector */
        ROWS_CASES(1)
    }
}
#undef ROW1
#undef ROW2
#undef ROWS_CASES

/* C += A B with B read in place along output rows (kernels/conv_implicit_f32.h, sqz_sb_rows):
 * MR x 16*NV accumulators, masked on the columns. */
static inline __attribute__((always_inline)) SQZ_AVX512 void sb_tile(const int MR, const int NV, int64_t kc,
                                                                      const float *a, const float *b,
                                                                      const sqz_sb_rows *br, float *c, int64_t ldc,
                                                                      int mr, int nr) {
    __m512 acc[14][2];
    _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const int64_t ldb = br->ldb, run = br->run, skip = br->skip;
    int64_t col = br->col0;
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
        _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[r]);
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
        a += MR;
        b += ldb;
        if (++col == run) { /* the end of an output row: past the padded columns */
            col = 0;
            b += skip;
        }
    }
    __mmask16 mk[2];
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {
        const int n = nr - 16 * v;
        mk[v] = n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
    }
    _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {
            if (!mk[v]) continue;
            float *d = c + r * ldc + 16 * v;
            _mm512_mask_storeu_ps(d, mk[v], _mm512_add_ps(acc[r][v], _mm512_maskz_loadu_ps(mk[v], d)));
        }
    }
}

#define SB(MR, NV)                                                                                              \
    SQZ_AVX512 void sqz_sb_f32_##MR##x##NV##__avx512(int64_t kc, const float *a, const float *b,                \
                                                     const sqz_sb_rows *br, float *c, int64_t ldc, int mr,     \
                                                     int nr) {                                                 \
        sb_tile(MR, NV == 32 ? 2 : 1, kc, a, b, br, c, ldc, mr, nr);                                           \
    }
SB(14, 32)
SB(8, 32)
SB(14, 16)
SB(8, 16)

/* The two column phases (b = 0, 1) of one padded plane for a column stride of 2 (phase row a of
 * the row stride sh): plane row yy reads input row yy * sh + a - pt (zeros outside [0, H)), plane
 * column j of phase b input column 2 j + b - pl (0 outside [0, W)). 32 input columns are loaded
 * once per 16 plane columns (lanes outside the row masked to 0: the padding) and split into even
 * and odd by two permutes; the masks depend on the column only, so they are made once per plane. */
SQZ_AVX512 void sqz_iconv_phase_plane2__avx512(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl,
                                               int64_t sh, int64_t a, int64_t Hp, int64_t Wp, float *d0, float *d1) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    enum { MAXC = 16 }; /* column chunks with precomputed masks (Wp <= 256); wider planes per row */
    __mmask16 kin[MAXC][2], kst[MAXC];
    const int64_t nch = (Wp + 15) / 16;
    for (int64_t c = 0; c < nch && c < MAXC; c++) {
        const int64_t j0 = 16 * c, c0 = 2 * j0 - pl;
        for (int h = 0; h < 2; h++) {
            int64_t lo = -(c0 + 16 * h), hi = W - (c0 + 16 * h); /* lanes [lo, hi) inside the row */
            if (lo < 0) lo = 0;
            if (hi > 16) hi = 16;
            kin[c][h] = hi > lo ? (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u)) : 0;
        }
        kst[c] = Wp - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (Wp - j0)) - 1u);
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t yy = 0; yy < Hp; yy++) {
        const int64_t iy = yy * sh + a - pt;
        float *r0 = d0 + yy * Wp, *r1 = d1 + yy * Wp;
        const float *s = src + iy * W;
        for (int64_t c = 0; c < nch; c++) {
            const int64_t j0 = 16 * c, c0 = 2 * j0 - pl;
            __mmask16 k0, k1, ks;
            if (c < MAXC) {
                k0 = kin[c][0], k1 = kin[c][1], ks = kst[c];
            } else {
                int64_t l0 = -c0 < 0 ? 0 : -c0, h0 = W - c0 > 16 ? 16 : W - c0;
                int64_t l1 = -(c0 + 16) < 0 ? 0 : -(c0 + 16), h1 = W - c0 - 16 > 16 ? 16 : W - c0 - 16;
                k0 = h0 > l0 ? (__mmask16)(((1u << h0) - 1u) & ~((1u << l0) - 1u)) : 0;
                k1 = h1 > l1 ? (__mmask16)(((1u << h1) - 1u) & ~((1u << l1) - 1u)) : 0;
                ks = Wp - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (Wp - j0)) - 1u);
            }
            if (iy < 0 || iy >= H) {
                _mm512_mask_storeu_ps(r0 + j0, ks, zero);
                _mm512_mask_storeu_ps(r1 + j0, ks, zero);
                continue;
            }
            /* masked-off lanes (before the row start too) are not read */
            const __m512 v0 = _mm512_maskz_loadu_ps(k0, s + c0), v1 = _mm512_maskz_loadu_ps(k1, s + c0 + 16);
            _mm512_mask_storeu_ps(r0 + j0, ks, _mm512_permutex2var_ps(v0, even, v1));
            _mm512_mask_storeu_ps(r1 + j0, ks, _mm512_permutex2var_ps(v0, odd, v1));
        }
    }
}

#endif
