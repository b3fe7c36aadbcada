/* Deterministic PRNG for the fuzz harnesses (splitmix64): a seed reproduces a run. */
#ifndef EP_FUZZ_PRNG_H
#define EP_FUZZ_PRNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t state; } fuzz_prng;

static inline uint64_t fuzz_next(fuzz_prng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform-enough integer in [0, bound) for bound > 0 (bias is irrelevant here). */
static inline size_t fuzz_below(fuzz_prng *r, size_t bound)
{
    return (size_t)(fuzz_next(r) % (uint64_t)bound);
}

static inline uint8_t fuzz_byte(fuzz_prng *r)
{
    return (uint8_t)(fuzz_next(r) >> 56);
}

/* 1 with probability 1/n. */
static inline int fuzz_one_in(fuzz_prng *r, size_t n)
{
    return fuzz_below(r, n) == 0u;
}

#endif /* EP_FUZZ_PRNG_H */
