/* kernels/gemm_s8.c - the int8 GEMM driver: kernel choice, weight packing (once), activation
 * packing (per call), zero-point compensation, threads and the portable epilogue.
 *
 * With stored (shifted) operands x' = x (+128 when s8) and w' = w (-128 when u8):
 *   sum (x - zx)(w - zw) = sum x'w' - zx' sum w' - zw' sum x' + K zx' zw'
 * sum w' is computed at pack time; sum x' only when some weight zero point is nonzero.
 * Threads: one parallel region packs the activation panels (split by panel), then computes the
 * output tiles, split once into one contiguous range per thread; every element is computed by
 * the same integer operations for any thread count. */
#include <stdlib.h>
#include <string.h>

#include "kernels/int8.h"
#include "kernels/x86/gemm_s8_ukernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#define QALIGN 64
#define QMAX_THREADS 64
#define QMAX_TILE 512 /* >= MR * NR of every kernel */
#define QKB 1024      /* K groups per block when K is blocked (fused kernels, Kq > QKB): blocks of 128
                       * (B block in L1) ran 1-4% slower than whole panels read from L2 up to K = 4096 */

typedef struct qcfg {
    int mr, nr;
    sqz_qgemm_ukernel_fn au8, as8;
    sqz_qepi_tile_fn epi;
    sqz_qgemm_fused_fn fau8, fas8; /* kernels with the epilogue fused, or NULL */
} qcfg;

static int qcfg_get(sqz_qkind kind, qcfg *c) {
#if defined(__x86_64__)
    switch (kind) {
    case SQZ_QK_AVX512VNNI:
        *c = (qcfg){SQZ_QGEMM_VNNI512_MR, SQZ_QGEMM_VNNI512_NR, NULL, NULL, sqz_qepi_tile__avx512,
                    sqz_qgemm_ukernel_au8__avx512vnni, sqz_qgemm_ukernel_as8__avx512vnni};
        return 1;
    case SQZ_QK_AVXVNNI:
        *c = (qcfg){SQZ_QGEMM_AVXVNNI_MR, SQZ_QGEMM_AVXVNNI_NR, sqz_qgemm_ukernel_au8__avxvnni,
                    sqz_qgemm_ukernel_as8__avxvnni, sqz_qepi_tile__avx2};
        return 1;
    case SQZ_QK_AVX2:
        *c = (qcfg){SQZ_QGEMM_AVX2_MR, SQZ_QGEMM_AVX2_NR, sqz_qgemm_ukernel_au8__avx2, sqz_qgemm_ukernel_as8__avx2,
                    sqz_qepi_tile__avx2};
        return 1;
    default: break;
    }
#endif
    (void)c;
    return 0;
}

int sqz_qkind_supported(sqz_qkind kind) {
    const sqz_isa s = sqz_cpu_isa_supported();
    switch (kind) {
    case SQZ_QK_REF: return 1;
    case SQZ_QK_AVX2: return s >= SQZ_ISA_AVX2;
    case SQZ_QK_AVXVNNI: return s >= SQZ_ISA_AVX2 && sqz_cpu_features_get()->avxvnni;
    case SQZ_QK_AVX512VNNI: return s >= SQZ_ISA_AVX512VNNI;
    default: return 0;
    }
}

sqz_qkind sqz_qkind_for(sqz_isa isa) {
    if (isa > sqz_cpu_isa_supported()) isa = sqz_cpu_isa_supported();
    if (isa >= SQZ_ISA_AVX512VNNI) return SQZ_QK_AVX512VNNI;
    if (isa >= SQZ_ISA_AVX2) return sqz_cpu_features_get()->avxvnni ? SQZ_QK_AVXVNNI : SQZ_QK_AVX2;
    return SQZ_QK_REF;
}

const char *sqz_qkind_name(sqz_qkind kind) {
    static const char *const names[] = {"ref", "avx2", "avxvnni", "avx512vnni"};
    return kind >= 0 && kind < SQZ_QK_COUNT ? names[kind] : "?";
}

/* ---- packing ---- */

static inline int32_t ldw(const void *w, int u8, int64_t i) {
    return u8 ? (int32_t)((const uint8_t *)w)[i] - 128 : (int32_t)((const int8_t *)w)[i];
}

sqz_qpack *sqz_qpack_create_kind(sqz_qkind kind, sqz_qside side, int64_t C, int64_t K, const void *w,
                                 int w_u8, int64_t sc, int64_t sk) {
    if (!sqz_qkind_supported(kind) || C < 0 || K < 0) return NULL;
    sqz_qpack *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->kind = kind;
    p->side = side;
    p->C = C;
    p->K = K;
    p->Kq = (K + 3) / 4;
    p->w_u8 = w_u8;
    qcfg cfg;
    if (!qcfg_get(kind, &cfg)) {
        p->T = 1;
        p->w = malloc((size_t)(C * K) + 1);
        if (!p->w) goto oom;
        for (int64_t c = 0; c < C; c++)
            for (int64_t k = 0; k < K; k++) p->w[c * K + k] = ((const int8_t *)w)[c * sc + k * sk];
        return p;
    }
    const int T = side == SQZ_QSIDE_A ? cfg.mr : cfg.nr;
    p->T = T;
    const int64_t panels = (C + T - 1) / T;
    const size_t bytes = (size_t)(panels * p->Kq * T * 4);
    p->w = aligned_alloc(QALIGN, (bytes + QALIGN) / QALIGN * QALIGN);
    p->wsum = malloc((size_t)(C + 1) * sizeof *p->wsum);
    if (!p->w || !p->wsum) goto oom;
    memset(p->w, 0, bytes);
    for (int64_t c = 0; c < C; c++) {
        int8_t *panel = p->w + (c / T) * p->Kq * T * 4 + (c % T) * 4;
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++) {
            const int32_t v = ldw(w, w_u8, c * sc + k * sk);
            panel[(k / 4) * T * 4 + k % 4] = (int8_t)v;
            s += v;
        }
        p->wsum[c] = s;
    }
    return p;
oom:
    sqz_qpack_free(p);
    return NULL;
}

sqz_qpack *sqz_qpack_create(sqz_isa isa, sqz_qside side, int64_t C, int64_t K, const void *w, int w_u8,
                            int64_t sc, int64_t sk) {
    return sqz_qpack_create_kind(sqz_qkind_for(isa), side, C, K, w, w_u8, sc, sk);
}

void sqz_qpack_free(sqz_qpack *p) {
    if (!p) return;
    free(p->w);
    free(p->wsum);
    free(p);
}

size_t sqz_qpack_bytes(const sqz_qpack *p) {
    if (!p) return 0;
    if (p->T == 1 && !p->wsum) return (size_t)(p->C * p->K);
    return (size_t)(((p->C + p->T - 1) / p->T) * p->Kq * p->T * 4 + p->C * 4);
}

/* Activation panel of MR rows from X (M, K): rows m0.., 4-byte groups copied, s8 flipped to u8. */
static void pack_rows(const uint8_t *x, int64_t ldx, uint32_t flip, int64_t M, int64_t K, int64_t Kq, int MR,
                      int64_t m0, uint8_t *dst, int32_t *xsum) {
    const int64_t kfull = K / 4;
    for (int r = 0; r < MR; r++) {
        const int64_t m = m0 + r;
        uint32_t *d = (uint32_t *)dst + r;
        if (m >= M) {
            for (int64_t q = 0; q < Kq; q++) d[q * MR] = 0;
            continue;
        }
        const uint8_t *src = x + m * ldx;
        for (int64_t q = 0; q < kfull; q++) {
            uint32_t v;
            memcpy(&v, src + 4 * q, 4);
            d[q * MR] = v ^ flip;
        }
        if (kfull < Kq) {
            uint8_t tail[4] = {0, 0, 0, 0};
            for (int64_t k = 4 * kfull; k < K; k++) tail[k - 4 * kfull] = (uint8_t)(src[k] ^ (flip & 0xff));
            memcpy(&d[kfull * MR], tail, 4);
        }
        if (xsum) {
            int32_t s = 0;
            for (int64_t k = 0; k < K; k++) s += (uint8_t)(src[k] ^ (flip & 0xff));
            xsum[m] = s;
        }
    }
}

#if defined(__x86_64__)
/* 16 bytes of row src from column t (nv of them inside the row, nv <= 16; readable: the row may
 * be read up to t + 16), xor flip; the bytes past nv are 0 unless readable. */
static inline __m128i col16(const uint8_t *src, int t, int nv, int readable, uint8_t flip, __m128i fl) {
    if (nv <= 0) return _mm_setzero_si128();
    if (nv == 16 || readable) return _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + t)), fl);
    uint8_t tmp[16];
    memset(tmp + nv, 0, (size_t)(16 - nv));
    for (int i = 0; i < nv; i++) tmp[i] = (uint8_t)(src[t + i] ^ flip);
    return _mm_loadu_si128((const __m128i *)tmp);
}
#endif

/* Activation panel of NR columns from X (K, N): columns n0.., interleaved 4 rows at a time
 * (x86: SSE2 byte/word unpacks of 16 columns, the rows past K zero; a short last piece is read
 * whole when the rows are readable that far (xcols), else byte by byte; else scalar). NR is 8,
 * 24 or 32. */
static void pack_cols(const uint8_t *x, int64_t ldx, int64_t xcols, uint8_t flip, int64_t N, int64_t K, int64_t Kq,
                      int NR, int64_t n0, uint8_t *dst, int32_t *xsum) {
    const int nr = (int)(N - n0 < NR ? N - n0 : NR);
#if defined(__x86_64__)
    const __m128i fl = _mm_set1_epi8((char)flip), z = _mm_setzero_si128();
    for (int64_t q = 0; q < Kq; q++) {
        uint8_t *d = dst + q * NR * 4;
        const int64_t rows = K - 4 * q;
        const uint8_t *s0 = x + 4 * q * ldx + n0;
        for (int t0 = 0; t0 < NR; t0 += 16) {
            /* columns past N are dropped by the epilogue: whole vectors when the rows allow */
            const int nv = nr - t0 >= 16 ? 16 : nr - t0 > 0 ? nr - t0 : 0, rd = n0 + t0 + 16 <= xcols;
            const __m128i r0 = col16(s0, t0, nv, rd, flip, fl);
            const __m128i r1 = rows > 1 ? col16(s0 + ldx, t0, nv, rd, flip, fl) : z;
            const __m128i r2 = rows > 2 ? col16(s0 + 2 * ldx, t0, nv, rd, flip, fl) : z;
            const __m128i r3 = rows > 3 ? col16(s0 + 3 * ldx, t0, nv, rd, flip, fl) : z;
            const __m128i alo = _mm_unpacklo_epi8(r0, r1), ahi = _mm_unpackhi_epi8(r0, r1);
            const __m128i blo = _mm_unpacklo_epi8(r2, r3), bhi = _mm_unpackhi_epi8(r2, r3);
            const int ns = NR - t0; /* columns of the panel left: 16 or more, or 8 (NR 8, 24) */
            _mm_storeu_si128((__m128i *)(d + 4 * t0), _mm_unpacklo_epi16(alo, blo));
            _mm_storeu_si128((__m128i *)(d + 4 * t0 + 16), _mm_unpackhi_epi16(alo, blo));
            if (ns >= 16) {
                _mm_storeu_si128((__m128i *)(d + 4 * t0 + 32), _mm_unpacklo_epi16(ahi, bhi));
                _mm_storeu_si128((__m128i *)(d + 4 * t0 + 48), _mm_unpackhi_epi16(ahi, bhi));
            }
        }
    }
#else
    (void)xcols;
    for (int64_t q = 0; q < Kq; q++) {
        uint8_t *d = dst + q * NR * 4;
        for (int j = 0; j < 4; j++) {
            const int64_t k = 4 * q + j;
            if (k >= K) {
                for (int t = 0; t < NR; t++) d[t * 4 + j] = 0;
                continue;
            }
            const uint8_t *src = x + k * ldx + n0;
            for (int t = 0; t < nr; t++) d[t * 4 + j] = src[t] ^ flip;
            for (int t = nr; t < NR; t++) d[t * 4 + j] = 0;
        }
    }
#endif
    if (xsum)
        for (int t = 0; t < nr; t++) {
            int32_t s = 0;
            for (int64_t k = 0; k < K; k++) s += (uint8_t)(x[k * ldx + n0 + t] ^ flip);
            xsum[n0 + t] = s;
        }
}

/* ---- epilogue ---- */

void sqz_qepi_tile_c(const int32_t *tile, int NR, int mr, int nr, int64_t m0, int64_t n0, const sqz_qepi_ctx *e) {
    for (int r = 0; r < mr; r++) {
        const int64_t m = m0 + r;
        for (int j = 0; j < nr; j++) {
            const int64_t n = n0 + j, c = e->w_rows ? m : n;
            uint32_t acc = (uint32_t)tile[r * NR + j] + (uint32_t)e->woff[c];
            if (e->wzp) acc -= (uint32_t)e->wzp[c] * (uint32_t)e->xsum[e->w_rows ? n : m];
            sqz_qepi_store_ref(e->epi, c, (int32_t)acc, e->y, m * e->ldy + n);
        }
    }
}

/* ---- driver ---- */

typedef struct qlayout {
    size_t xpack, woff, wzp, xsum, part, total;
} qlayout;

static size_t up64(size_t n) { return (n + QALIGN - 1) / QALIGN * QALIGN; }

static int qlayout_for(sqz_qkind kind, sqz_qside side, int64_t M, int64_t N, int64_t K, int threads, qcfg *cfg,
                       qlayout *L) {
    if (!qcfg_get(kind, cfg)) return 0;
    const int side_b = side == SQZ_QSIDE_B;
    const int T = side_b ? cfg->mr : cfg->nr;
    const int64_t R = side_b ? M : N, C = side_b ? N : M, Kq = (K + 3) / 4;
    const int64_t panels = (R + T - 1) / T;
    L->xpack = 0;
    L->woff = L->xpack + up64((size_t)(panels * Kq * T * 4));
    L->wzp = L->woff + up64((size_t)C * 4);
    L->xsum = L->wzp + up64((size_t)C * 4);
    L->part = L->xsum + up64((size_t)R * 4);
    L->total = L->part;
    if (cfg->fau8 && Kq > QKB) {
        const int nt = threads < 1 ? 1 : threads > QMAX_THREADS ? QMAX_THREADS : threads;
        L->total += up64((size_t)nt * (size_t)(((M + cfg->mr - 1) / cfg->mr) * cfg->mr * cfg->nr) * 4);
    }
    return 1;
}

static int qlayout_get(const sqz_qgemm_args *g, int threads, qcfg *cfg, qlayout *L) {
    return qlayout_for(g->w->kind, g->w->side, g->M, g->N, g->K, threads, cfg, L);
}

size_t sqz_qgemm_scratch_bytes(const sqz_qgemm_args *g, int threads) {
    qcfg cfg;
    qlayout L;
    return qlayout_get(g, threads, &cfg, &L) ? L.total : 0;
}

size_t sqz_qgemm_scratch_for(sqz_qkind kind, sqz_qside side, int64_t M, int64_t N, int64_t K, int threads) {
    qcfg cfg;
    qlayout L;
    return qlayout_for(kind, side, M, N, K, threads, &cfg, &L) ? L.total : 0;
}

typedef struct qwork {
    const sqz_qgemm_args *g;
    const sqz_qpack *p;
    qcfg cfg;
    uint8_t *xp;
    int32_t *xsum;
    sqz_qepi_ctx ectx;
    int64_t nM, nN;
    int direct, nt;
    int32_t *part; /* K blocking: per thread (nM, MR, NR) partial sums, or NULL */
} qwork;

/* Panels of output tile (jn, im): a side (rows r at a + r*rs, K groups q at + q*qs) and b side. */
static inline void tile_ptrs(const qwork *w, int64_t jn, int64_t im, const uint8_t **a, int64_t *rs, int64_t *qs,
                             const uint8_t **b) {
    const sqz_qgemm_args *g = w->g;
    const int MR = w->cfg.mr, NR = w->cfg.nr;
    const int64_t Kq = w->p->Kq;
    *rs = 4;
    *qs = 4 * MR;
    if (w->p->side == SQZ_QSIDE_B) {
        if (w->direct && (im + 1) * MR <= g->M) {
            *a = (const uint8_t *)g->x + im * MR * g->ldx;
            *rs = g->ldx;
            *qs = 4;
        } else *a = w->xp + (w->direct ? 0 : im * Kq * MR * 4);
        *b = (const uint8_t *)w->p->w + jn * Kq * NR * 4;
    } else {
        *a = (const uint8_t *)w->p->w + im * Kq * MR * 4;
        *b = w->xp + jn * Kq * NR * 4;
    }
}

/* Thread tid of w->nt: packs its share of the activation panels, waits for the others, then
 * computes its contiguous range of output tiles (in the order below). */
static void qgemm_worker(const qwork *w, int tid) {
    const sqz_qgemm_args *g = w->g;
    const sqz_qpack *p = w->p;
    const int side_b = p->side == SQZ_QSIDE_B, nt = w->nt;
    const int MR = w->cfg.mr, NR = w->cfg.nr;
    const int64_t Kq = p->Kq, nM = w->nM, nN = w->nN;
    if (w->direct) {
        if (w->xsum) {
            const int64_t r0 = g->M * tid / nt, r1 = g->M * (tid + 1) / nt;
            for (int64_t m = r0; m < r1; m++) {
                const uint8_t *row = (const uint8_t *)g->x + m * g->ldx;
                int32_t sum = 0;
                for (int64_t k = 0; k < g->K; k++) sum += row[k];
                w->xsum[m] = sum;
            }
        }
        if (g->M % MR && tid == nt - 1)
            pack_rows(g->x, g->ldx, 0u, g->M, g->K, Kq, MR, (nM - 1) * MR, w->xp, NULL);
    } else {
        const int64_t xpanels = side_b ? nM : nN, xT = side_b ? MR : NR;
        const int64_t p0 = xpanels * tid / nt, p1 = xpanels * (tid + 1) / nt;
        for (int64_t i = p0; i < p1; i++) {
            uint8_t *d = w->xp + i * Kq * xT * 4;
            if (side_b)
                pack_rows(g->x, g->ldx, g->x_s8 ? 0x80808080u : 0u, g->M, g->K, Kq, MR, i * MR, d, w->xsum);
            else
                pack_cols(g->x, g->ldx, g->xcols > g->N ? g->xcols : g->N, g->x_s8 ? 0x80 : 0, g->N, g->K, Kq, NR,
                          i * NR, d, w->xsum);
        }
    }
    if (nt > 1) {
#pragma omp barrier
    }
    int32_t tile[QMAX_TILE] __attribute__((aligned(64)));
    const int64_t tiles = nM * nN, t0 = tiles * tid / nt, t1 = tiles * (tid + 1) / nt;
    if (w->part) {
        /* K in blocks of QKB groups: for each B panel, every block runs over the thread's row
         * tiles (partial sums kept in its buffer), so the block of the B panel stays in L1. */
        int32_t *buf = w->part + (size_t)tid * (size_t)(nM * MR * NR);
        for (int64_t t = t0; t < t1;) {
            const int64_t jn = t / nM, i0 = t % nM, i1 = t1 - jn * nM < nM ? t1 - jn * nM : nM;
            for (int64_t q0 = 0; q0 < Kq; q0 += QKB) {
                const int64_t kq = Kq - q0 < QKB ? Kq - q0 : QKB;
                const int last = q0 + kq >= Kq;
                for (int64_t im = i0; im < i1; im++) {
                    const uint8_t *a, *b;
                    int64_t rs, qs;
                    tile_ptrs(w, jn, im, &a, &rs, &qs, &b);
                    const int64_t m0 = im * MR, n0 = jn * NR;
                    const int mr = (int)(g->M - m0 < MR ? g->M - m0 : MR), nr = (int)(g->N - n0 < NR ? g->N - n0 : NR);
                    (side_b ? w->cfg.fau8 : w->cfg.fas8)(kq, a + q0 * qs, rs, qs, b + q0 * NR * 4,
                                                         buf + (im - i0) * MR * NR, q0 > 0, mr, nr, m0, n0,
                                                         last ? &w->ectx : NULL);
                }
            }
            t = jn * nM + i1;
        }
        return;
    }
    /* B panel outer (it stays in L1 while the row tiles pass), unless A is read in place and all
     * of B fits in L2: then row tiles outer, the A tile in L1 and the packed B panels streaming
     * from L2 (A read in place is eight scattered row streams): 512^3 and 1024^3 about 1% faster.
     * (Convolutions, packed weights as A: row tiles outer made ResNet-18's int8 layers 3-26%
     * slower.) */
    const int im_outer = w->direct && (int64_t)Kq * 4 * NR * nN <= ((int64_t)1 << 20);
    for (int64_t t = t0; t < t1; t++) {
        const int64_t im = im_outer ? t / nN : t % nM, jn = im_outer ? t % nN : t / nM;
        const uint8_t *a, *b;
        int64_t rs, qs;
        tile_ptrs(w, jn, im, &a, &rs, &qs, &b);
        const int64_t m0 = im * MR, n0 = jn * NR;
        const int mr = (int)(g->M - m0 < MR ? g->M - m0 : MR), nr = (int)(g->N - n0 < NR ? g->N - n0 : NR);
        if (w->cfg.fau8) {
            (side_b ? w->cfg.fau8 : w->cfg.fas8)(Kq, a, rs, qs, b, tile, 0, mr, nr, m0, n0, &w->ectx);
            continue;
        }
        (side_b ? w->cfg.au8 : w->cfg.as8)(Kq, a, b, tile);
        w->cfg.epi(tile, NR, mr, nr, m0, n0, &w->ectx);
    }
}

void sqz_qgemm(int threads, const sqz_qgemm_args *g, void *scratch) {
    const sqz_qpack *p = g->w;
    const sqz_qepi *epi = g->epi;
    qcfg cfg;
    qlayout L;
    if (g->M <= 0 || g->N <= 0) return;
    if (!qlayout_get(g, threads, &cfg, &L)) {
        const int64_t sc = p->K, sk = 1;
        sqz_qgemm_ref(p->side, g->M, g->N, g->K, g->x, g->ldx, g->x_s8, g->x_zp, p->w, p->w_u8, sc, sk, g->y,
                      g->ldy, epi);
        return;
    }
    char *s = scratch;
    uint8_t *xp = (uint8_t *)(s + L.xpack);
    int32_t *woff = (int32_t *)(s + L.woff), *wzp = (int32_t *)(s + L.wzp), *xsum = (int32_t *)(s + L.xsum);
    const int side_b = p->side == SQZ_QSIDE_B;
    const uint32_t zx = (uint32_t)(g->x_s8 ? g->x_zp + 128 : g->x_zp);
    int any_wzp = 0;
    for (int64_t c = 0; c < p->C; c++) {
        const int32_t z = (epi->w_zp ? epi->w_zp[c] : 0) - (p->w_u8 ? 128 : 0);
        wzp[c] = z;
        any_wzp |= z != 0;
        woff[c] = (int32_t)((epi->bias ? (uint32_t)epi->bias[c] : 0u) - zx * (uint32_t)p->wsum[c] +
                            (uint32_t)p->K * zx * (uint32_t)z);
    }
    qwork w = {.g = g, .p = p, .cfg = cfg, .xp = xp, .xsum = any_wzp ? xsum : NULL,
               .ectx = {.epi = epi, .w_rows = !side_b, .woff = woff, .wzp = any_wzp ? wzp : NULL,
                        .xsum = any_wzp ? xsum : NULL, .y = g->y, .ldy = g->ldy}};
    w.nM = (g->M + cfg.mr - 1) / cfg.mr;
    w.nN = (g->N + cfg.nr - 1) / cfg.nr;
    /* u8 rows with K % 4 == 0 are read in place; only a partial last row panel is packed */
    w.direct = side_b && cfg.fau8 && !g->x_s8 && g->K % 4 == 0;
    const int64_t tiles = w.nM * w.nN;
    int nt = threads < 1 ? 1 : threads > QMAX_THREADS ? QMAX_THREADS : threads;
    if (nt > tiles) nt = (int)tiles;
#ifndef _OPENMP
    nt = 1;
#endif
    w.nt = nt;
    w.part = L.total > L.part ? (int32_t *)(s + L.part) : NULL;
    if (nt == 1) {
        qgemm_worker(&w, 0);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        qgemm_worker(&w, tid);
    }
}
