/* tests/unit/kernel_test_util.h - helpers shared by the kernel-vs-reference tests. */
#ifndef SQZ_KERNEL_TEST_UTIL_H
#define SQZ_KERNEL_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/rng.h"

/* n floats uniform in [-amp, amp) (malloc'd; at least one element). */
static inline float *kt_rand(float amp, sqz_rng *r, int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = amp * (2.0f * sqz_rng_uniform(r) - 1.0f);
    return p;
}

/* 64-byte aligned scratch of at least bytes (NULL for 0). */
static inline void *kt_alloc64(size_t bytes) { return bytes ? aligned_alloc(64, (bytes + 63) / 64 * 64) : NULL; }

/* max |x - y| / max(max |y|, 1e-3); a NaN difference counts as infinite. */
static inline double kt_norm_err(const float *x, const float *y, int64_t n) {
    double md = 0, my = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)x[i] - (double)y[i]);
        if (d > md || d != d) md = d != d ? INFINITY : d;
        if (fabs((double)y[i]) > my) my = fabs((double)y[i]);
    }
    return md / (my > 1e-3 ? my : 1e-3);
}

#endif
