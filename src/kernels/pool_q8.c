/* kernels/pool_q8.c - u8 / s8 max pooling driver (see q8.h): the paths, plane geometry, the
 * portable plane and the split over threads. */
#include <string.h>

#include "kernels/q8.h"

#ifdef _OPENMP
#include <omp.h>
#endif

sqz_q8path sqz_q8path_for(sqz_isa isa) {
    const sqz_isa s = sqz_cpu_isa_supported();
    if (isa > s) isa = s;
#if defined(__x86_64__)
    return isa >= SQZ_ISA_AVX512 ? SQZ_Q8P_AVX512 : isa == SQZ_ISA_AVX2 ? SQZ_Q8P_AVX2 : SQZ_Q8P_REF;
#else
    (void)isa;
    return SQZ_Q8P_C; /* no vector kernels here: the portable loops are the fast path */
#endif
}

int sqz_q8path_supported(sqz_q8path path) {
    switch (path) {
    case SQZ_Q8P_REF:
    case SQZ_Q8P_C: return 1;
#if defined(__x86_64__)
    case SQZ_Q8P_AVX2: return sqz_cpu_isa_supported() >= SQZ_ISA_AVX2;
    case SQZ_Q8P_AVX512: return sqz_cpu_isa_supported() >= SQZ_ISA_AVX512;
#endif
    default: return 0;
    }
}

const char *sqz_q8path_name(sqz_q8path path) {
    static const char *names[SQZ_Q8P_COUNT] = {"ref", "c", "avx2", "avx512"};
    return path >= 0 && path < SQZ_Q8P_COUNT ? names[path] : "?";
}

/* Fills the plane geometry for p (1-D or 2-D); 0 when the fast path does not apply. */
static int plane_of(const sqz_pool_params *p, sqz_pool_q8_plane *g) {
    if (p->nsp < 1 || p->nsp > 2 || p->nc <= 0) return 0;
    const int two = p->nsp == 2, l = p->nsp - 1;
    memset(g, 0, sizeof *g);
    g->H = two ? p->in[0] : 1;
    g->W = p->in[l];
    g->OH = two ? p->out[0] : 1;
    g->OW = p->out[l];
    g->KH = two ? p->kernel[0] : 1;
    g->KW = p->kernel[l];
    g->sh = two ? p->stride[0] : 1;
    g->sw = p->stride[l];
    g->dh = two ? p->dilation[0] : 1;
    g->dw = p->dilation[l];
    g->ph = two ? p->pad_begin[0] : 0;
    g->pw = p->pad_begin[l];
    const int64_t M = SQZ_POOL_Q8_TMP_MAX;
    if (g->H <= 0 || g->W <= 0 || g->OH <= 0 || g->OW <= 0 || g->KH <= 0 || g->KW <= 0) return 0;
    if (g->sh <= 0 || g->sw <= 0 || g->dh <= 0 || g->dw <= 0 || g->ph < 0 || g->pw < 0) return 0;
    if (g->KW > SQZ_POOL_Q8_KW_MAX || g->sw > M || g->dw > M || g->OW > M || g->W > M || g->pw > M) return 0;
    const int64_t s = g->sw, reach = (g->KW - 1) * g->dw; /* last tap's column offset */
    const int64_t owr = (g->OW + 63) / 64 * 64;          /* vectors read up to 64 lanes past OW */
    int64_t len;
    if (s == 1) {
        len = owr + reach;
        for (int64_t kx = 0; kx < g->KW; kx++) g->toff[kx] = (int32_t)(kx * g->dw);
    } else {
        const int64_t qmax = reach / s;
        g->ph_len = (owr + qmax + 63) / 64 * 64;
        g->split = (g->OW + qmax + 31) / 32 * 32;
        if (g->ph_len > M || s * g->ph_len > M) return 0;
        len = s * g->ph_len; /* the split reads tmp[j * s + r] for j < ph_len */
        for (int64_t kx = 0; kx < g->KW; kx++) {
            const int64_t t = kx * g->dw;
            g->toff[kx] = (int32_t)((t % s) * g->ph_len + t / s);
        }
    }
    if (len < g->pw + g->W) len = g->pw + g->W;
    g->tmp_len = (len + 64 + 63) / 64 * 64;
    if (g->tmp_len > M) return 0;
    g->band = M / g->tmp_len;
    if (s > 1 && M / (s * g->ph_len) < g->band) g->band = M / (s * g->ph_len);
    if (g->band > g->OH) g->band = g->OH;
    return 1;
}

int sqz_maxpool_q8_fast(const sqz_pool_params *p) {
    sqz_pool_q8_plane g;
    return plane_of(p, &g);
}

/* Valid kernel taps [*a, *b) of a window starting at start (dilation d, K taps) over [0, n). */
static void taps(int64_t start, int64_t d, int64_t K, int64_t n, int64_t *a, int64_t *b) {
    int64_t lo = start >= 0 ? 0 : d == 1 ? -start : (-start + d - 1) / d;
    int64_t hi = start >= n ? 0 : d == 1 ? n - start : (n - 1 - start) / d + 1;
    if (hi > K) hi = K;
    if (lo > hi) lo = hi;
    *a = lo;
    *b = hi;
}

/* The portable plane: the same passes as the vector planes, in loops the compiler vectorizes. */
#define MAX_(T, u, v) ((T)(u) > (T)(v) ? (T)(u) : (T)(v))
#define PLANE_C(NAME, T, LOWEST)                                                                           \
    static void NAME(const sqz_pool_q8_plane *g, const T *x, T *y, T *tmp, T *phases) {                    \
        const int64_t W = g->W, OW = g->OW, s = g->sw;                                                     \
        T *row = tmp + g->pw;                                                                              \
        const T *base = s == 1 ? tmp : phases;                                                             \
        for (int64_t oy = 0; oy < g->OH; oy++) {                                                           \
            const int64_t start = oy * g->sh - g->ph;                                                      \
            int64_t a, b;                                                                                  \
            taps(start, g->dh, g->KH, g->H, &a, &b);                                                       \
            if (a == b) {                                                                                  \
                for (int64_t i = 0; i < W; i++) row[i] = (T)(LOWEST);                                      \
            } else {                                                                                       \
                memcpy(row, x + (start + a * g->dh) * W, (size_t)W * sizeof(T));                           \
                for (int64_t ky = a + 1; ky < b; ky++) {                                                   \
                    const T *xr = x + (start + ky * g->dh) * W;                                            \
                    _Pragma("omp simd") for (int64_t i = 0; i < W; i++) row[i] = MAX_(T, row[i], xr[i]);   \
                }                                                                                          \
            }                                                                                              \
            if (s > 1)                                                                                     \
                for (int64_t r = 0; r < s; r++) {                                                          \
                    T *ph = phases + r * g->ph_len;                                                        \
                    _Pragma("omp simd") for (int64_t j = 0; j < g->split; j++) ph[j] = tmp[j * s + r];     \
                }                                                                                          \
            T *yr = y + oy * OW;                                                                           \
            const T *t0 = base + g->toff[0];                                                               \
            memcpy(yr, t0, (size_t)OW * sizeof(T));                                                        \
            for (int64_t kx = 1; kx < g->KW; kx++) {                                                       \
                const T *t = base + g->toff[kx];                                                           \
                _Pragma("omp simd") for (int64_t o = 0; o < OW; o++) yr[o] = MAX_(T, yr[o], t[o]);         \
            }                                                                                              \
        }                                                                                                  \
    }
PLANE_C(plane_c_u8, uint8_t, 0)
PLANE_C(plane_c_s8, int8_t, INT8_MIN)

void sqz_maxpool_q8(sqz_q8path path, int threads, const sqz_pool_params *p, int s8, const void *x, void *y) {
    while (!sqz_q8path_supported(path)) path--;
    sqz_pool_q8_plane g;
    if (path == SQZ_Q8P_REF || !plane_of(p, &g)) {
        if (s8) sqz_maxpool_i8_ref(p, x, y, NULL, 0);
        else sqz_maxpool_u8_ref(p, x, y, NULL, 0);
        return;
    }
    const int64_t nc = p->nc, insp = g.H * g.W, outsp = g.OH * g.OW;
    const int64_t work = nc * outsp * g.KH * g.KW;
    const int nt = threads > 1 && work >= 65536 ? threads : 1;
    (void)nt;
    const uint8_t lowest = s8 ? 0x80 : 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        _Alignas(64) uint8_t tmp[SQZ_POOL_Q8_TMP_MAX], phases[SQZ_POOL_Q8_TMP_MAX];
        memset(tmp, lowest, (size_t)(g.band * g.tmp_len));
        if (g.sw > 1) memset(phases, lowest, (size_t)(g.band * g.sw * g.ph_len));
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t pl = 0; pl < nc; pl++) {
            const uint8_t *xp = (const uint8_t *)x + pl * insp;
            uint8_t *yp = (uint8_t *)y + pl * outsp;
            switch (path) {
#if defined(__x86_64__)
            case SQZ_Q8P_AVX512: sqz_pool_q8_plane__avx512(&g, s8, xp, yp, tmp, phases); break;
            case SQZ_Q8P_AVX2: sqz_pool_q8_plane__avx2(&g, s8, xp, yp, tmp, phases); break;
#endif
            default:
                if (s8) plane_c_s8(&g, (const int8_t *)xp, (int8_t *)yp, (int8_t *)tmp, (int8_t *)phases);
                else plane_c_u8(&g, xp, yp, tmp, phases);
                break;
            }
        }
    }
}
