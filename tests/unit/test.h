/* tests/unit/test.h - a tiny test harness: CHECK macros that count, and a
 * closing line "N passed, M failed" that CI reads. */
#ifndef SQZ_TEST_H
#define SQZ_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed_, test_failed_;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            test_passed_++;                                                         \
        } else {                                                                    \
            test_failed_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                              \
    do {                                                                  \
        if (cond) {                                                       \
            test_passed_++;                                               \
        } else {                                                          \
            test_failed_++;                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

#define CHECK_OK(expr, errp)                                                              \
    do {                                                                                  \
        sqz_status st_ = (expr);                                                          \
        CHECK_MSG(st_ == SQZ_OK, "%s -> %s: %s", #expr, sqz_status_str(st_), (errp)->msg); \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g", (double)(a), (double)(b))

#define TEST_MAIN_END()                                                         \
    do {                                                                        \
        printf("%d passed, %d failed\n", test_passed_, test_failed_);           \
        return test_failed_ ? 1 : 0;                                            \
    } while (0)

#endif
