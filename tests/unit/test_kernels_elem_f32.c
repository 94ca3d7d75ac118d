/* Unit tests for the vectorized fp32 elementwise kernels (kernels/elem_f32.h): every ISA path
 * against the scalar reference on lengths around the vector widths, in place and out of place,
 * with and without the fused clamp. Add and clamp are exact operations, so results must match
 * bit for bit (a NaN stays a NaN; zeros compare by value). */
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/rng.h"
#include "kernels/elem_f32.h"
#include "test.h"

static int same_values(const float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (x[i] != x[i] && y[i] != y[i]) continue;
        if (x[i] != y[i]) return 0;
    }
    return 1;
}

static void test_elem(sqz_isa isa) {
    sqz_rng r;
    sqz_rng_seed(&r, 31 + (uint64_t)isa);
    const int before = test_failed_;
    static const int lens[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4097};
    for (int li = 0; li < (int)(sizeof lens / sizeof lens[0]); li++) {
        const int64_t n = lens[li];
        float *a = malloc(sizeof(float) * (size_t)(n + 1)), *b = malloc(sizeof(float) * (size_t)(n + 1));
        float *yr = malloc(sizeof(float) * (size_t)(n + 1)), *y = malloc(sizeof(float) * (size_t)(n + 1));
        for (int64_t i = 0; i < n; i++) {
            a[i] = 4.0f * sqz_rng_uniform(&r) - 2.0f;
            b[i] = 4.0f * sqz_rng_uniform(&r) - 2.0f;
        }
        if (n > 5) a[5] = NAN;
        for (int mode = 0; mode < 3; mode++) { /* no clamp, Relu, ReLU6-like clip */
            const int clamp = mode > 0;
            const float lo = mode == 2 ? -0.5f : 0.0f, hi = mode == 2 ? 1.0f : INFINITY;
            sqz_add_f32(SQZ_ISA_REF, n, a, b, yr, clamp, lo, hi);
            sqz_add_f32(isa, n, a, b, y, clamp, lo, hi);
            CHECK_MSG(same_values(y, yr, n), "add %s n=%lld mode %d", sqz_isa_name(isa), (long long)n, mode);
            if (n > 5) CHECK(y[5] != y[5]);
            if (clamp) {
                sqz_clamp_f32(SQZ_ISA_REF, n, a, yr, lo, hi);
                for (int64_t i = 0; i < n; i++) y[i] = a[i];
                sqz_clamp_f32(isa, n, y, y, lo, hi); /* in place */
                CHECK_MSG(same_values(y, yr, n), "clamp %s n=%lld mode %d", sqz_isa_name(isa), (long long)n, mode);
            }
        }
        free(a), free(b), free(yr), free(y);
    }
    printf("elem %-10s %s\n", sqz_isa_name(isa), test_failed_ == before ? "ok" : "FAILED");
}

int main(void) {
    const sqz_isa top = sqz_cpu_isa_supported() >= SQZ_ISA_AVX512 ? SQZ_ISA_AVX512 : sqz_cpu_isa_supported();
    for (int i = SQZ_ISA_REF; i <= (int)top; i++) test_elem((sqz_isa)i);
    TEST_MAIN_END();
}
