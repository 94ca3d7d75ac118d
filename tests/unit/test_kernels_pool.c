/* Unit tests for the fast fp32 pooling kernels (kernels/pool_f32.h): every ISA path the CPU
 * supports against the reference on random 1-D/2-D geometries with tails (kernels, strides incl.
 * the gather path, dilations, pads, ceil-mode-like windows that run past the input, widths
 * around the vector length). Max pooling must match exactly; averages by normalized error.
 * 1 and 2 threads must give the same bits. */
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "kernels/pool_f32.h"
#include "kernel_test_util.h"
#include "test.h"

static int failures;

/* kind 0 max, 1 average, 2 average with count_include_pad */
static void pool_case(sqz_rng *r, sqz_isa isa, const sqz_pool_params *p, int kind) {
    int64_t insp = 1, outsp = 1;
    for (int d = 0; d < p->nsp; d++) insp *= p->in[d], outsp *= p->out[d];
    const int64_t nx = p->nc * insp, ny = p->nc * outsp;
    float *x = kt_rand(2.0f, r, nx), *yr = kt_rand(2.0f, r, ny), *y1 = kt_rand(2.0f, r, ny), *y2 = kt_rand(2.0f, r, ny);
    if (kind == 0) {
        sqz_maxpool_f32_ref(p, x, yr, NULL, 0);
        sqz_maxpool_f32(isa, 1, p, x, y1);
        sqz_maxpool_f32(isa, 2, p, x, y2);
    } else {
        sqz_avgpool_f32_ref(p, kind == 2, x, yr);
        sqz_avgpool_f32(isa, 1, p, kind == 2, x, y1);
        sqz_avgpool_f32(isa, 2, p, kind == 2, x, y2);
    }
    const double err = kt_norm_err(y1, yr, ny);
    const int exact = !memcmp(y1, yr, sizeof(float) * (size_t)ny), same = !memcmp(y1, y2, sizeof(float) * (size_t)ny);
    const int ok = (kind == 0 ? exact : err <= 1e-6) && same;
    if (!ok && failures++ < 10)
        fprintf(stderr, "pool %s kind=%d nsp=%d nc=%lld in=%lldx%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld pb=%lld,%lld pe=%lld,%lld: err %.3g exact %d same %d\n",
                sqz_isa_name(isa), kind, p->nsp, (long long)p->nc, (long long)p->in[0], (long long)p->in[p->nsp - 1],
                (long long)p->kernel[0], (long long)p->kernel[p->nsp - 1], (long long)p->stride[0],
                (long long)p->stride[p->nsp - 1], (long long)p->dilation[0], (long long)p->dilation[p->nsp - 1],
                (long long)p->pad_begin[0], (long long)p->pad_begin[p->nsp - 1], (long long)p->pad_end[0],
                (long long)p->pad_end[p->nsp - 1], err, exact, same);
    CHECK(ok);
    free(x), free(yr), free(y1), free(y2);
}

/* Random geometry: floor or ceil output sizes (ceil may give a last window that starts in the
 * end padding); 0 when the window does not fit. */
static int geom(sqz_rng *r, sqz_pool_params *p, int nsp, int special) {
    memset(p, 0, sizeof *p);
    p->nsp = nsp;
    p->nc = 1 + sqz_rng_below(r, 5);
    for (int d = 0; d < nsp; d++) {
        int64_t k, s, dl, pb, pe;
        if (special) { /* the common CNN windows: 2x2 s2, 3x3 s2 p1, 3x3 s1 p1 */
            const int w = sqz_rng_below(r, 3);
            k = w == 0 ? 2 : 3, s = w == 2 ? 1 : 2, dl = 1, pb = pe = w == 0 ? 0 : 1;
        } else {
            k = 1 + sqz_rng_below(r, 5), s = 1 + sqz_rng_below(r, 4), dl = 1 + (sqz_rng_below(r, 4) == 0);
            pb = sqz_rng_below(r, 3), pe = sqz_rng_below(r, 3);
        }
        if (pb >= k) pb = k - 1;
        if (pe >= k) pe = k - 1;
        const int64_t in = 1 + sqz_rng_below(r, d == nsp - 1 ? 70 : 20);
        const int64_t span = in + pb + pe - dl * (k - 1) - 1;
        if (span < 0) return 0;
        int64_t out = span / s + 1;
        if (sqz_rng_below(r, 3) == 0 && span % s) out++; /* ceil mode */
        p->in[d] = in, p->out[d] = out, p->kernel[d] = k, p->stride[d] = s, p->dilation[d] = dl;
        p->pad_begin[d] = pb, p->pad_end[d] = pe;
    }
    return 1;
}

static void test_pool(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 4242 + (uint64_t)isa);
    const int before = test_failed_;
    sqz_pool_params p;
    for (int i = 0; i < 400; i++) {
        const int nsp = i % 8 == 7 ? 1 : 2;
        if (geom(&r, &p, nsp, i % 3 == 0)) pool_case(&r, isa, &p, i % 3);
    }
    /* LeNet / ResNet sizes */
    const int64_t shapes[][6] = {{28, 28, 2, 2, 0, 0}, {10, 10, 2, 2, 0, 0}, {112, 112, 3, 2, 1, 1}, {7, 7, 7, 1, 0, 0}};
    for (int i = 0; i < 4; i++) {
        memset(&p, 0, sizeof p);
        p.nsp = 2, p.nc = 6;
        for (int d = 0; d < 2; d++) {
            p.in[d] = shapes[i][d], p.kernel[d] = shapes[i][2], p.stride[d] = shapes[i][3];
            p.dilation[d] = 1, p.pad_begin[d] = shapes[i][4], p.pad_end[d] = shapes[i][5];
            p.out[d] = (p.in[d] + p.pad_begin[d] + p.pad_end[d] - p.kernel[d]) / p.stride[d] + 1;
        }
        pool_case(&r, isa, &p, 0);
        pool_case(&r, isa, &p, 1);
    }
    /* global pools */
    for (int i = 0; i < 40; i++) {
        const int64_t nc = 1 + sqz_rng_below(&r, 9), sp = 1 + sqz_rng_below(&r, i < 30 ? 70 : 3000);
        float *x = kt_rand(2.0f, &r, nc * sp), yr[9], y1[9], y2[9];
        sqz_global_maxpool_f32_ref(nc, sp, x, yr);
        sqz_global_maxpool_f32(isa, 1, nc, sp, x, y1);
        sqz_global_maxpool_f32(isa, 2, nc, sp, x, y2);
        CHECK(!memcmp(yr, y1, sizeof(float) * (size_t)nc) && !memcmp(y1, y2, sizeof(float) * (size_t)nc));
        sqz_global_avgpool_f32_ref(nc, sp, x, yr);
        sqz_global_avgpool_f32(isa, 1, nc, sp, x, y1);
        sqz_global_avgpool_f32(isa, 2, nc, sp, x, y2);
        CHECK_MSG(kt_norm_err(y1, yr, nc) <= 1e-6 * (1 + sqrt((double)sp) / 4), "global avg %s nc=%lld sp=%lld err %.3g",
                  sqz_isa_name(isa), (long long)nc, (long long)sp, kt_norm_err(y1, yr, nc));
        CHECK(!memcmp(y1, y2, sizeof(float) * (size_t)nc));
        free(x);
    }
    printf("pool %-10s %s\n", sqz_isa_name(isa), test_failed_ == before ? "ok" : "FAILED");
}

int main(void) {
    const sqz_isa top = sqz_cpu_isa_supported() >= SQZ_ISA_AVX512 ? SQZ_ISA_AVX512 : sqz_cpu_isa_supported();
    for (int i = SQZ_ISA_REF; i <= (int)top; i++) test_pool((sqz_isa)i);
    TEST_MAIN_END();
}
