/*
 * Secure session of reader protocol 1.1, reader side (and the node's checks):
 * the reader's Ed25519 key pair, AUTH_RESPONSE, the card token, the sealed
 * box and SEALED_CARD, built and verified byte for byte as the TypeScript node
 * does (src/reader/protocol/secure.ts, messages.ts).
 *
 *   AUTH_RESPONSE.signature = Ed25519(readerSecret, "EDGEPAY-READER-AUTH-1" ||
 *                                     nodeNonce || readerNonce || readerKey)
 *   SEALED_CARD.signature   = Ed25519(readerSecret, "EDGEPAY-SEALED-CARD-1" ||
 *                                     nodeNonce || readerNonce ||
 *                                     every payload byte before the signature)
 *   token  = HMAC-SHA256(tokenKey, PAN as ASCII digits)
 *   sealed = crypto_box_seal(centreKey, {"pan":"<digits>","expiry":"<YYMM>"})
 *
 * The contexts are those 21 ASCII bytes, no length, no NUL.
 *
 * The cryptography is libsodium's (crypto_sign_*, crypto_auth_hmacsha256,
 * crypto_box_seal, randombytes_buf); link with -lsodium. Every function calls
 * sodium_init() itself (cheap once done) and returns EP_ERR_SECURE_CRYPTO when
 * libsodium cannot start. No heap: the TLV objects and the signed bytes live in
 * the caller's ep_secure_work (2.4 KB on a 32-bit MCU, 2.7 KB on x86-64:
 * make it static, not a stack variable). Secrets are wiped from the stack with sodium_memzero().
 */
#ifndef EP_SECURE_H
#define EP_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "messages.h"
#include "tlv.h"

#define EP_SECURE_SEED_LEN 32u        /* the reader's Ed25519 seed */
#define EP_SECURE_SECRET_KEY_LEN 64u  /* libsodium's form: seed || public key */
#define EP_SECURE_TOKEN_KEY_LEN 32u   /* the store's HMAC key */
#define EP_SECURE_CENTRE_KEY_LEN 32u  /* the centre's X25519 public key */
#define EP_SECURE_SEAL_OVERHEAD 48u   /* crypto_box_SEALBYTES */

#define EP_AUTH_CONTEXT "EDGEPAY-READER-AUTH-1"
#define EP_SEALED_CARD_CONTEXT "EDGEPAY-SEALED-CARD-1"
#define EP_SECURE_CONTEXT_LEN 21u
/* context || nodeNonce || readerNonce || readerKey */
#define EP_AUTH_SIGNED_LEN (EP_SECURE_CONTEXT_LEN + 2u * EP_NONCE_LEN + EP_READER_KEY_LEN)
/* context || nodeNonce || readerNonce || a 1024-byte payload without its signature */
#define EP_SEALED_CARD_SIGNED_MAX (EP_SECURE_CONTEXT_LEN + 2u * EP_NONCE_LEN + 1024u - EP_SIGNATURE_LEN)

#define EP_PAN_MIN_DIGITS 12u
#define EP_PAN_MAX_DIGITS 19u
#define EP_EXPIRY_LEN 4u /* YYMM */
/* {"pan":"<digits>","expiry":"<YYMM>"} */
#define EP_SEALED_PLAIN_MAX (22u + EP_PAN_MAX_DIGITS + EP_EXPIRY_LEN)
#define EP_SEALED_CARD_SEALED_LEN_MAX (EP_SEALED_PLAIN_MAX + EP_SECURE_SEAL_OVERHEAD)

/* What a 1.1 reader is provisioned with. Keep it in protected storage; wipe
 * copies with ep_reader_secrets_wipe(). */
typedef struct {
    uint8_t public_key[EP_READER_KEY_LEN];        /* sent in AUTH_RESPONSE, pinned by the lane */
    uint8_t secret_key[EP_SECURE_SECRET_KEY_LEN];
    uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN];
    uint8_t centre_key[EP_SECURE_CENTRE_KEY_LEN];
} ep_reader_secrets;

/* The session both signatures are bound to: the nonces of the last accepted
 * AUTH_CHALLENGE / AUTH_RESPONSE. A HELLO voids it on both sides. */
typedef struct {
    uint8_t node_nonce[EP_NONCE_LEN];
    uint8_t reader_nonce[EP_NONCE_LEN];
} ep_session;

/* Caller-owned scratch space for building and verifying SEALED_CARD. After a
 * successful ep_sealed_card_build or ep_sealed_card_verify, signed_bytes holds
 * the exact bytes signed (signed_len of them). */
typedef struct {
    ep_tlv_object tlv[EP_TLV_MAX_OBJECTS];
    uint8_t sealed[EP_SEALED_CARD_SEALED_LEN_MAX];
    uint8_t signed_bytes[EP_SEALED_CARD_SIGNED_MAX];
    size_t signed_len;
} ep_secure_work;

/* One card read, as the reader's EMV kernel hands it over. */
typedef struct {
    uint32_t txn_id;            /* START_TXN's */
    const char *pan;            /* ASCII digits, EP_PAN_MIN_DIGITS..EP_PAN_MAX_DIGITS */
    size_t pan_len;
    const char *expiry;         /* EP_EXPIRY_LEN ASCII digits YYMM, month 01..12 */
    const uint8_t *tlv;         /* BER-TLV without clear tags; must carry 9F02, 5F2A, 5F24 */
    size_t tlv_len;
    /* Null: sealed here with fresh randomness (always, in firmware). Tests pass
     * a fixed sealed box (49..512 bytes) to reproduce a vector byte for byte. */
    const uint8_t *sealed;
    size_t sealed_len;
} ep_card_input;

/* sodium_init(): EP_OK or EP_ERR_SECURE_CRYPTO. Optional (every function here
 * calls it), but calling it once at boot surfaces a failure early. */
int ep_secure_init(void);

/* Derive the reader key pair from its 32-byte seed (crypto_sign_seed_keypair)
 * and copy the token key and the centre key. EP_OK, EP_ERR_ARG,
 * EP_ERR_SECURE_CRYPTO. */
int ep_reader_secrets_init(ep_reader_secrets *secrets, const uint8_t seed[EP_SECURE_SEED_LEN],
                           const uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN],
                           const uint8_t centre_key[EP_SECURE_CENTRE_KEY_LEN]);
void ep_reader_secrets_wipe(ep_reader_secrets *secrets);

/* ---- reader authentication ---- */

/* context || nodeNonce || readerNonce || readerKey into out (EP_AUTH_SIGNED_LEN
 * bytes). Returns EP_AUTH_SIGNED_LEN or EP_ERR_ARG. */
int ep_auth_signed_bytes(const uint8_t node_nonce[EP_NONCE_LEN],
                         const uint8_t reader_nonce[EP_NONCE_LEN],
                         const uint8_t reader_key[EP_READER_KEY_LEN],
                         uint8_t out[EP_AUTH_SIGNED_LEN]);

/* Answer an AUTH_CHALLENGE: *out becomes an AUTH_RESPONSE (type and body) for
 * ep_msg_encode. reader_nonce null: fresh from randombytes_buf (always, in
 * firmware); tests pass fixed bytes. When session is not null it receives the
 * new session's nonces (a new challenge replaces the session). EP_OK,
 * EP_ERR_ARG, EP_ERR_SECURE_CRYPTO. */
int ep_auth_respond(const ep_reader_secrets *secrets, const uint8_t node_nonce[EP_NONCE_LEN],
                    const uint8_t *reader_nonce, ep_message *out, ep_session *session);

/* Node side: accept an AUTH_RESPONSE to the challenge that sent node_nonce.
 * pinned_key null checks the signature against the key the response names
 * (to log it for pinning; never trust it). EP_OK (and *session, when not
 * null, set), EP_ERR_SECURE_WRONG_KEY (a key other than the pinned one),
 * EP_ERR_SECURE_BAD_SIGNATURE, EP_ERR_ARG, EP_ERR_SECURE_CRYPTO. */
int ep_auth_verify(const uint8_t *pinned_key, const uint8_t node_nonce[EP_NONCE_LEN],
                   const ep_msg_auth_response *response, ep_session *session);

/* ---- card data ---- */

/* EP_OK when pan is EP_PAN_MIN_DIGITS..EP_PAN_MAX_DIGITS ASCII digits, else
 * EP_ERR_SECURE_BAD_PAN. */
int ep_pan_check(const char *pan, size_t pan_len);
/* EP_OK when expiry is 4 ASCII digits YYMM with MM 01..12, else
 * EP_ERR_SECURE_BAD_EXPIRY. */
int ep_expiry_check(const char *expiry);
/* 1 when the PAN passes the Luhn check, 0 when not, EP_ERR_SECURE_BAD_PAN. */
int ep_luhn_valid(const char *pan, size_t pan_len);
/* token = HMAC-SHA256(token_key, PAN digits). EP_OK, EP_ERR_SECURE_BAD_PAN,
 * EP_ERR_ARG, EP_ERR_SECURE_CRYPTO. */
int ep_card_token(const uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN], const char *pan,
                  size_t pan_len, uint8_t token[EP_TOKEN_LEN]);
/* Seal {"pan":"<digits>","expiry":"<YYMM>"} to the centre's X25519 key
 * (crypto_box_seal: random each time) into out. Returns the sealed length
 * (plain + 48), or EP_ERR_SECURE_BAD_PAN, EP_ERR_SECURE_BAD_EXPIRY,
 * EP_ERR_BUFFER_TOO_SMALL, EP_ERR_ARG, EP_ERR_SECURE_CRYPTO. */
int ep_card_seal(const uint8_t centre_key[EP_SECURE_CENTRE_KEY_LEN], const char *pan,
                 size_t pan_len, const char *expiry, uint8_t *out, size_t out_cap);
/* Parse tlv (ep_tlv_parse into objects[0..capacity)) and refuse any of the
 * tags that carry the PAN, track data or the cardholder's name, at any depth:
 * 5A, 56, 57, 5F20, 9F1F, 9F20, 9F6B. EP_OK, EP_ERR_SECURE_CLEAR_TAG, or the
 * parser's EP_ERR_TLV_* / EP_ERR_ARG. */
int ep_tlv_check_clear(const uint8_t *tlv, size_t tlv_len, ep_tlv_object *objects,
                       size_t capacity);

/* Build a whole SEALED_CARD payload into out: checks the PAN, the expiry and
 * the TLV (ep_tlv_check_clear; the PAN's digits must not appear in it under
 * any other tag, as ASCII or packed BCD at any nibble; 9F02, 5F2A and 5F24
 * once each, 5F24 a valid YYMMDD whose YYMM is the expiry), computes the
 * token, last4 and the Luhn flag, seals (unless card->sealed is given),
 * encodes, and signs with the session's nonces. 9F02 and 5F2A equal to
 * START_TXN's are the caller's to ensure. Returns the payload length, or
 * EP_ERR_SECURE_BAD_PAN, EP_ERR_SECURE_BAD_EXPIRY, EP_ERR_SECURE_CLEAR_TAG,
 * EP_ERR_SECURE_PAN_IN_TLV, EP_ERR_SECURE_TLV_MANDATORY, an EP_ERR_TLV_* code,
 * ep_msg_encode's codes
 * (EP_ERR_PAYLOAD_TOO_LONG, EP_ERR_BUFFER_TOO_SMALL, EP_ERR_MSG_STRING for a
 * given sealed box outside 49..512), EP_ERR_ARG, EP_ERR_SECURE_CRYPTO. out is
 * unspecified on error. */
int ep_sealed_card_build(const ep_reader_secrets *secrets, const ep_session *session,
                         const ep_card_input *card, ep_secure_work *work, uint8_t *out,
                         size_t out_cap);

/* context || nodeNonce || readerNonce || payload[0 .. len - 64) into out.
 * Returns the length, or EP_ERR_MSG_LENGTH (payload shorter than a
 * signature), EP_ERR_BUFFER_TOO_SMALL, EP_ERR_ARG. */
int ep_sealed_card_signed_bytes(const ep_session *session, const uint8_t *payload, size_t len,
                                uint8_t *out, size_t out_cap);

/* Node side: payload must decode as a SEALED_CARD (ep_msg_decode's codes
 * otherwise) and its signature verify with reader_key over this session's
 * nonces. EP_OK, EP_ERR_SECURE_BAD_SIGNATURE, EP_ERR_MSG_*, EP_ERR_ARG,
 * EP_ERR_SECURE_CRYPTO. Checks nothing else: the TLV, the amount and last4
 * are the transaction's to check. */
int ep_sealed_card_verify(const uint8_t reader_key[EP_READER_KEY_LEN], const ep_session *session,
                          const uint8_t *payload, size_t len, ep_secure_work *work);

#endif /* EP_SECURE_H */
