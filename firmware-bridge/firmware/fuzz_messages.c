/*
 * Deterministic fuzzing of message payload decode/encode, run under the
 * sanitizers by `make test`.   fuzz_messages [seed] [inputs]
 *
 * For random TYPE bytes and payloads (random bytes, and valid payloads with
 * one byte changed, cut short or extended): decode must return EP_OK or a
 * listed code, never read outside the payload, and whenever it accepts,
 * encoding the result must give back exactly the same bytes (the encoding is
 * canonical). Accepted AUTH_RESPONSE and SEALED_CARD payloads also go through
 * the node's signature checks (secure.h): random ones must be refused, and a
 * real signed SEALED_CARD (one in eight SEALED_CARD inputs starts from it) must
 * verify exactly when no byte of it changed. Any failure prints the seed and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "fuzz_prng.h"
#include "messages.h"
#include "secure.h"

static const uint8_t known_types[] = {EP_MSG_HELLO, EP_MSG_ACK, EP_MSG_NAK, EP_MSG_START_TXN, EP_MSG_CARD_DATA,
                                      EP_MSG_SHOW_RESULT, EP_MSG_CANCEL, EP_MSG_TXN_ENDED, EP_MSG_STATUS_REQUEST,
                                      EP_MSG_STATUS, EP_MSG_ERROR, EP_MSG_AUTH_CHALLENGE, EP_MSG_AUTH_RESPONSE,
                                      EP_MSG_SEALED_CARD, EP_MSG_SEALED_CARD};

static void put_u16(uint8_t *out, size_t *n, size_t value)
{
    out[(*n)++] = (uint8_t)((value >> 8) & 0xFFu);
    out[(*n)++] = (uint8_t)(value & 0xFFu);
}

/* A SEALED_CARD shaped payload: mostly valid fields, sometimes a bad last4
 * digit, flag bit or length; at most 1000 bytes (room for one extra byte). */
static size_t shaped_sealed_card(fuzz_prng *r, uint8_t *out)
{
    size_t n = 0;
    size_t sealed_len = fuzz_one_in(r, 12) ? fuzz_below(r, 600) : 49u + fuzz_below(r, 100);
    size_t tlv_len = fuzz_one_in(r, 8) ? fuzz_below(r, 300) : fuzz_below(r, 40);
    size_t i;

    for (i = 0; i < 4u + EP_TOKEN_LEN; i++) out[n++] = fuzz_byte(r);
    for (i = 0; i < EP_LAST4_LEN; i++) out[n++] = fuzz_one_in(r, 16) ? fuzz_byte(r) : (uint8_t)('0' + fuzz_below(r, 10));
    out[n++] = fuzz_one_in(r, 8) ? fuzz_byte(r) : (uint8_t)fuzz_below(r, 2);
    put_u16(out, &n, fuzz_one_in(r, 16) ? fuzz_below(r, 65536) : sealed_len);
    for (i = 0; i < sealed_len; i++) out[n++] = fuzz_byte(r);
    put_u16(out, &n, fuzz_one_in(r, 16) ? fuzz_below(r, 65536) : tlv_len);
    for (i = 0; i < tlv_len; i++) out[n++] = fuzz_byte(r);
    for (i = 0; i < EP_SIGNATURE_LEN; i++) out[n++] = fuzz_byte(r);
    return n;
}

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
    case EP_MSG_AUTH_CHALLENGE: fixed = EP_NONCE_LEN; break;
    case EP_MSG_AUTH_RESPONSE: fixed = EP_READER_KEY_LEN + EP_NONCE_LEN + EP_SIGNATURE_LEN; break;
    case EP_MSG_SEALED_CARD: return shaped_sealed_card(r, out);
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
    static ep_secure_work work;
    static ep_reader_secrets secrets;
    static const uint8_t key_seed[EP_SECURE_SEED_LEN] = {1};
    static uint8_t signed_card[EP_MAX_PAYLOAD];
    static const uint8_t card_tlv[] = {0x9F, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x12, 0x50, 0x5F, 0x2A,
                                       0x02, 0x09, 0x78, 0x5F, 0x24, 0x03, 0x27, 0x12, 0x31};
    uint8_t centre_public[crypto_box_PUBLICKEYBYTES];
    uint8_t centre_secret[crypto_box_SECRETKEYBYTES];
    size_t signed_card_len;
    ep_card_input card;
    ep_session session;
    unsigned long checked = 0;
    int built;
    fuzz_prng r;
    unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 0x5EEDul;
    unsigned long inputs = argc > 2 ? strtoul(argv[2], NULL, 0) : 200000ul;
    unsigned long accepted = 0;
    unsigned long failures = 0;
    unsigned long i;

    r.state = seed;
    memset(&session, 0x5A, sizeof(session));
    if (ep_secure_init() != EP_OK || crypto_box_seed_keypair(centre_public, centre_secret, key_seed) != 0 ||
        ep_reader_secrets_init(&secrets, key_seed, key_seed, centre_public) != EP_OK) {
        printf("fuzz_messages: libsodium did not start\n");
        return 1;
    }
    memset(&card, 0, sizeof(card));
    card.txn_id = 7;
    card.pan = "4761739001010010";
    card.pan_len = 16;
    card.expiry = "2712";
    card.tlv = card_tlv;
    card.tlv_len = sizeof(card_tlv);
    built = ep_sealed_card_build(&secrets, &session, &card, &work, signed_card, sizeof(signed_card));
    if (built < 0) {
        printf("fuzz_messages: ep_sealed_card_build failed: %s\n", ep_error_name(built));
        return 1;
    }
    signed_card_len = (size_t)built;
    for (i = 0; i < inputs; i++) {
        uint8_t type = fuzz_one_in(&r, 16) ? fuzz_byte(&r)
                                                               : known_types[fuzz_below(&r, sizeof(known_types))];
        size_t len;
        ep_message m;
        int rc;
        int real = 0;

        if (type == EP_MSG_SEALED_CARD && fuzz_one_in(&r, 8)) {
            real = 1;
            len = signed_card_len;
            memcpy(payload, signed_card, len);
            if (fuzz_one_in(&r, 2)) {
                switch (fuzz_below(&r, 3)) {
                case 0: payload[fuzz_below(&r, len)] ^= (uint8_t)(1u + fuzz_below(&r, 255)); break;
                case 1: len = fuzz_below(&r, len); break;
                default: payload[len++] = fuzz_byte(&r); break;
                }
            }
        } else if (fuzz_one_in(&r, 4)) {
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
            if (type == EP_MSG_SEALED_CARD || type == EP_MSG_AUTH_RESPONSE) {
                int unchanged = real && len == signed_card_len && memcmp(payload, signed_card, len) == 0;
                int v = type == EP_MSG_SEALED_CARD
                            ? ep_sealed_card_verify(secrets.public_key, &session, payload, len, &work)
                            : ep_auth_verify(NULL, session.node_nonce, &m.body.auth_response, NULL);
                checked++;
                if (v != (unchanged ? EP_OK : EP_ERR_SECURE_BAD_SIGNATURE)) {
                    if (++failures <= 20u) {
                        printf("fuzz failure: type 0x%02x, %lu bytes (%s), signature check gives %s\n", type,
                               (unsigned long)len, unchanged ? "the real card" : "changed or random",
                               ep_error_name(v));
                    }
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
    printf("fuzz_messages: seed 0x%lx, %lu payloads (%lu accepted, all re-encoded identically; %lu signature checks): ok\n",
           seed, inputs, accepted, checked);
    return 0;
}
