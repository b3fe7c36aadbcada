/* Shared by the fuzz_decoder harness files: a non-fatal check that counts and prints failures. */
#ifndef EP_FUZZ_CHECK_H
#define EP_FUZZ_CHECK_H

#include <stdio.h>

#include "fuzz_prng.h"

extern unsigned long fuzz_failures;

#define EXPECT(cond, ...) do { if (!(cond)) { fuzz_failures++; if (fuzz_failures <= 20u) { \
    printf("fuzz failure (%s:%d): ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } } while (0)

/* fuzz_tlv.c: `inputs` random and mutated TLV inputs; counts accepted ones. */
void fuzz_tlv(fuzz_prng *r, unsigned long inputs, unsigned long *accepted);

#endif /* EP_FUZZ_CHECK_H */
