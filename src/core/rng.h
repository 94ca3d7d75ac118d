/* core/rng.h - seeded, reproducible random numbers (xoshiro256**, seeded by splitmix64). */
#ifndef SQZ_CORE_RNG_H
#define SQZ_CORE_RNG_H

#include <stdint.h>

typedef struct sqz_rng {
    uint64_t s[4];
} sqz_rng;

void sqz_rng_seed(sqz_rng *r, uint64_t seed);
uint64_t sqz_rng_u64(sqz_rng *r);
uint32_t sqz_rng_below(sqz_rng *r, uint32_t n);   /* uniform in [0, n), unbiased */
float sqz_rng_uniform(sqz_rng *r);               /* [0, 1) */
float sqz_rng_normal(sqz_rng *r);                /* standard normal (Box-Muller) */
void sqz_rng_shuffle_i32(sqz_rng *r, int32_t *a, int64_t n);

#endif
