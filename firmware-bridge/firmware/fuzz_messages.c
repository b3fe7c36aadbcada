/*
 * Deterministic fuzzing of message payload decode/encode, run under the
 * sanitizers by `make test`.   fuzz_messages [seed] [inputs]
 *
 * For random TYPE bytes and payloads (random bytes, and valid payloads with
 * one byte changed, cut short or extended): decode must return EP_OK or a
 * listed code, never read outside the payload, and whenever it accepts,
 * encoding the result must give back exactly the same bytes (the encoding is
 * canonical). Any failure prints the seed and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz_prng.h"
#include "messages.h"

static const uint8_t known_types[] = {EP_MSG_HELLO, EP_MSG_ACK, EP_MSG_NAK, EP_MSG_START_TXN, EP_MSG_CARD_DATA,
                                      EP_MSG_SHOW_RESULT, EP_MSG_CANCEL, EP_MSG_TXN_ENDED, EP_MSG_STATUS_REQUEST,
                                      EP_MSG_STATUS, EP_MSG_ERROR};

/* A random payload shaped like `type`'s layout, so decode gets past the first checks. */
static size_t shaped_payload(fuzz_prng *r, uint8_t type, uint8_t *out)
{
    size_t n = 0;
    size_t i;
    size_t fixed = 0;
    size_t strings = 0;

    switch (type) {
    case EP_MSG_HELLO: fixed = 4; strings = 2; break;
    case EP_MSG_START_TXN: fixed = 16; break;
    case EP_MSG_CARD_DATA: fixed = 4 + fuzz_below(r, 40); break;
    case EP_MSG_SHOW_RESULT: fixed = 5; strings = 2; break;
    case EP_MSG_CANCEL: fixed = 4; break;
    case EP_MSG_TXN_ENDED: fixed = 5; break;
    case EP_MSG_STATUS: fixed = 2; break;
    case EP_MSG_ERROR: fixed = 1; strings = 1; break;
    case EP_MSG_NAK: fixed = 1; break;
    default: break;
    }
    for (i = 0; i < fixed; i++) {
        out[n++] = fuzz_one_in(r, 2) ? (uint8_t)fuzz_below(r, 7) : fuzz_byte(r);
    }
    while (strings-- > 0u) {
        size_t len = fuzz_one_in(r, 10) ? fuzz_below(r, 140) : fuzz_below(r, 6);
        out[n++] = (uint8_t)len;
        for (i = 0; i < len; i++) {
            out[n++] = fuzz_one_in(r, 8) ? fuzz_byte(r) : (uint8_t)(0x20u + fuzz_below(r, 0x5F));
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    static uint8_t payload[EP_MAX_PAYLOAD];
    static uint8_t again[EP_MAX_PAYLOAD];
    fuzz_prng r;
    unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 0x5EEDul;
    unsigned long inputs = argc > 2 ? strtoul(argv[2], NULL, 0) : 200000ul;
    unsigned long accepted = 0;
    unsigned long failures = 0;
    unsigned long i;

    r.state = seed;
    for (i = 0; i < inputs; i++) {
        uint8_t type = fuzz_one_in(&r, 16) ? fuzz_byte(&r)
                                                               : known_types[fuzz_below(&r, sizeof(known_types))];
        size_t len;
        ep_message m;
        int rc;

        if (fuzz_one_in(&r, 4)) {
            size_t k;
            len = fuzz_below(&r, 48);
            for (k = 0; k < len; k++) payload[k] = fuzz_byte(&r);
        } else {
            len = shaped_payload(&r, type, payload);
            if (len > 0u && fuzz_one_in(&r, 3)) {
                switch (fuzz_below(&r, 3)) {
                case 0: payload[fuzz_below(&r, len)] = fuzz_byte(&r); break;
                case 1: len = fuzz_below(&r, len); break;
                default: payload[len++] = fuzz_byte(&r); break;
                }
            }
        }
        rc = ep_msg_decode(type, payload, len, &m);
        if (rc == EP_OK) {
            int n = ep_msg_encode(&m, again, sizeof(again));
            accepted++;
            if (n < 0 || (size_t)n != len || memcmp(again, payload, len) != 0) {
                if (++failures <= 20u) {
                    printf("fuzz failure: type 0x%02x, %lu bytes accepted but re-encode gives %d\n", type,
                           (unsigned long)len, n);
                }
            }
        } else if (ep_nak_reason_for(rc) != (ep_msg_type_known(type) ? EP_NAK_MALFORMED : EP_NAK_UNKNOWN_TYPE)) {
            if (++failures <= 20u) {
                printf("fuzz failure: type 0x%02x refused with %s, which maps to NAK %u\n", type, ep_error_name(rc),
                       (unsigned)ep_nak_reason_for(rc));
            }
        }
    }
    if (failures != 0u) {
        printf("fuzz_messages: %lu failures (seed 0x%lx)\n", failures, seed);
        return 1;
    }
    printf("fuzz_messages: seed 0x%lx, %lu payloads (%lu accepted, all re-encoded identically): ok\n", seed, inputs,
           accepted);
    return 0;
}
