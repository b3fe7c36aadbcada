#include "secure.h"

#include <string.h>

#include <sodium.h>

#include "frame.h"

/* ---- helpers ---- */

static int ep_sodium_ready(void)
{
    return sodium_init() < 0 ? EP_ERR_SECURE_CRYPTO : EP_OK; /* 1: already initialised */
}

static int ep_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static unsigned ep_digit(char c)
{
    return (unsigned)(c - '0');
}

/* 1 when the ASCII digits appear in hay as bytes. */
static int ep_contains_ascii(const uint8_t *hay, size_t hay_len, const char *digits, size_t n)
{
    size_t i;

    if (n == 0u || hay_len < n) {
        return 0;
    }
    for (i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, digits, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static unsigned ep_nibble(const uint8_t *bytes, size_t at)
{
    uint8_t b = bytes[at / 2u];
    return (at % 2u == 0u) ? (unsigned)(b >> 4) : (unsigned)(b & 0x0Fu);
}

/* 1 when the digits appear in hay as packed BCD starting at any nibble (what
 * tag 5A holds, and what a hex dump of hay would show). */
static int ep_contains_bcd(const uint8_t *hay, size_t hay_len, const char *digits, size_t n)
{
    size_t nibbles = 2u * hay_len;
    size_t i;

    if (n == 0u || nibbles < n) {
        return 0;
    }
    for (i = 0; i + n <= nibbles; i++) {
        size_t k = 0;
        while (k < n && ep_nibble(hay, i + k) == ep_digit(digits[k])) {
            k++;
        }
        if (k == n) {
            return 1;
        }
    }
    return 0;
}

/* {"pan":"<digits>","expiry":"<YYMM>"}; pan and expiry already checked. */
static size_t ep_sealed_plain(const char *pan, size_t pan_len, const char *expiry,
                              uint8_t out[EP_SEALED_PLAIN_MAX])
{
    static const char head[] = "{\"pan\":\"";
    static const char middle[] = "\",\"expiry\":\"";
    static const char tail[] = "\"}";
    size_t n = 0;

    memcpy(out + n, head, sizeof(head) - 1u);
    n += sizeof(head) - 1u;
    memcpy(out + n, pan, pan_len);
    n += pan_len;
    memcpy(out + n, middle, sizeof(middle) - 1u);
    n += sizeof(middle) - 1u;
    memcpy(out + n, expiry, EP_EXPIRY_LEN);
    n += EP_EXPIRY_LEN;
    memcpy(out + n, tail, sizeof(tail) - 1u);
    n += sizeof(tail) - 1u;
    EP_ASSERT(n <= EP_SEALED_PLAIN_MAX);
    return n;
}

/* ---- keys ---- */

int ep_secure_init(void)
{
    return ep_sodium_ready();
}

int ep_reader_secrets_init(ep_reader_secrets *secrets, const uint8_t seed[EP_SECURE_SEED_LEN],
                           const uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN],
                           const uint8_t centre_key[EP_SECURE_CENTRE_KEY_LEN])
{
    if (secrets == NULL || seed == NULL || token_key == NULL || centre_key == NULL) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    if (crypto_sign_seed_keypair(secrets->public_key, secrets->secret_key, seed) != 0) {
        ep_reader_secrets_wipe(secrets);
        return EP_ERR_SECURE_CRYPTO;
    }
    memcpy(secrets->token_key, token_key, EP_SECURE_TOKEN_KEY_LEN);
    memcpy(secrets->centre_key, centre_key, EP_SECURE_CENTRE_KEY_LEN);
    return EP_OK;
}

void ep_reader_secrets_wipe(ep_reader_secrets *secrets)
{
    if (secrets != NULL) {
        sodium_memzero(secrets, sizeof(*secrets));
    }
}

/* ---- reader authentication ---- */

int ep_auth_signed_bytes(const uint8_t node_nonce[EP_NONCE_LEN],
                         const uint8_t reader_nonce[EP_NONCE_LEN],
                         const uint8_t reader_key[EP_READER_KEY_LEN],
                         uint8_t out[EP_AUTH_SIGNED_LEN])
{
    if (node_nonce == NULL || reader_nonce == NULL || reader_key == NULL || out == NULL) {
        return EP_ERR_ARG;
    }
    memcpy(out, EP_AUTH_CONTEXT, EP_SECURE_CONTEXT_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN, node_nonce, EP_NONCE_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN + EP_NONCE_LEN, reader_nonce, EP_NONCE_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN + 2u * EP_NONCE_LEN, reader_key, EP_READER_KEY_LEN);
    return (int)EP_AUTH_SIGNED_LEN;
}

int ep_auth_respond(const ep_reader_secrets *secrets, const uint8_t node_nonce[EP_NONCE_LEN],
                    const uint8_t *reader_nonce, ep_message *out, ep_session *session)
{
    uint8_t node[EP_NONCE_LEN];
    uint8_t signed_bytes[EP_AUTH_SIGNED_LEN];
    ep_msg_auth_response *r;

    if (secrets == NULL || node_nonce == NULL || out == NULL) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    memcpy(node, node_nonce, EP_NONCE_LEN); /* node_nonce may point into *out */
    r = &out->body.auth_response;
    if (reader_nonce != NULL) {
        memmove(r->reader_nonce, reader_nonce, EP_NONCE_LEN);
    }
    out->type = EP_MSG_AUTH_RESPONSE;
    if (reader_nonce == NULL) {
        randombytes_buf(r->reader_nonce, EP_NONCE_LEN);
    }
    memcpy(r->reader_key, secrets->public_key, EP_READER_KEY_LEN);
    (void)ep_auth_signed_bytes(node, r->reader_nonce, r->reader_key, signed_bytes);
    if (crypto_sign_detached(r->signature, NULL, signed_bytes, sizeof(signed_bytes),
                             secrets->secret_key) != 0) {
        return EP_ERR_SECURE_CRYPTO;
    }
    if (session != NULL) {
        memcpy(session->node_nonce, node, EP_NONCE_LEN);
        memcpy(session->reader_nonce, r->reader_nonce, EP_NONCE_LEN);
    }
    return EP_OK;
}

int ep_auth_verify(const uint8_t *pinned_key, const uint8_t node_nonce[EP_NONCE_LEN],
                   const ep_msg_auth_response *response, ep_session *session)
{
    uint8_t signed_bytes[EP_AUTH_SIGNED_LEN];

    if (node_nonce == NULL || response == NULL) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    if (pinned_key != NULL && sodium_memcmp(pinned_key, response->reader_key, EP_READER_KEY_LEN) != 0) {
        return EP_ERR_SECURE_WRONG_KEY;
    }
    (void)ep_auth_signed_bytes(node_nonce, response->reader_nonce, response->reader_key, signed_bytes);
    if (crypto_sign_verify_detached(response->signature, signed_bytes, sizeof(signed_bytes),
                                    response->reader_key) != 0) {
        return EP_ERR_SECURE_BAD_SIGNATURE;
    }
    if (session != NULL) {
        memmove(session->node_nonce, node_nonce, EP_NONCE_LEN);
        memcpy(session->reader_nonce, response->reader_nonce, EP_NONCE_LEN);
    }
    return EP_OK;
}

/* ---- card data ---- */

int ep_pan_check(const char *pan, size_t pan_len)
{
    size_t i;

    if (pan == NULL) {
        return EP_ERR_ARG;
    }
    if (pan_len < EP_PAN_MIN_DIGITS || pan_len > EP_PAN_MAX_DIGITS) {
        return EP_ERR_SECURE_BAD_PAN;
    }
    for (i = 0; i < pan_len; i++) {
        if (!ep_is_digit(pan[i])) {
            return EP_ERR_SECURE_BAD_PAN;
        }
    }
    return EP_OK;
}

int ep_expiry_check(const char *expiry)
{
    unsigned month;
    size_t i;

    if (expiry == NULL) {
        return EP_ERR_ARG;
    }
    for (i = 0; i < EP_EXPIRY_LEN; i++) {
        if (!ep_is_digit(expiry[i])) {
            return EP_ERR_SECURE_BAD_EXPIRY;
        }
    }
    month = ep_digit(expiry[2]) * 10u + ep_digit(expiry[3]);
    return (month >= 1u && month <= 12u) ? EP_OK : EP_ERR_SECURE_BAD_EXPIRY;
}

int ep_luhn_valid(const char *pan, size_t pan_len)
{
    unsigned sum = 0;
    size_t i;
    int rc = ep_pan_check(pan, pan_len);

    if (rc != EP_OK) {
        return rc;
    }
    for (i = 0; i < pan_len; i++) {
        unsigned d = ep_digit(pan[pan_len - 1u - i]);
        if (i % 2u == 1u) {
            d *= 2u;
            if (d > 9u) {
                d -= 9u;
            }
        }
        sum += d;
    }
    return sum % 10u == 0u ? 1 : 0;
}

int ep_card_token(const uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN], const char *pan,
                  size_t pan_len, uint8_t token[EP_TOKEN_LEN])
{
    int rc = ep_pan_check(pan, pan_len);

    if (rc != EP_OK) {
        return rc;
    }
    if (token_key == NULL || token == NULL) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    /* crypto_auth_hmacsha256 takes a 32-byte key: exactly HMAC-SHA256 with it. */
    if (crypto_auth_hmacsha256(token, (const unsigned char *)pan, pan_len, token_key) != 0) {
        return EP_ERR_SECURE_CRYPTO;
    }
    return EP_OK;
}

int ep_card_seal(const uint8_t centre_key[EP_SECURE_CENTRE_KEY_LEN], const char *pan,
                 size_t pan_len, const char *expiry, uint8_t *out, size_t out_cap)
{
    uint8_t plain[EP_SEALED_PLAIN_MAX];
    size_t plain_len;
    int rc = ep_pan_check(pan, pan_len);

    if (rc == EP_OK) {
        rc = ep_expiry_check(expiry);
    }
    if (rc != EP_OK) {
        return rc;
    }
    if (centre_key == NULL || (out == NULL && out_cap != 0u)) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    plain_len = ep_sealed_plain(pan, pan_len, expiry, plain);
    if (out_cap < plain_len + EP_SECURE_SEAL_OVERHEAD) {
        sodium_memzero(plain, sizeof(plain));
        return EP_ERR_BUFFER_TOO_SMALL;
    }
    rc = crypto_box_seal(out, plain, plain_len, centre_key) == 0 ? EP_OK : EP_ERR_SECURE_CRYPTO;
    sodium_memzero(plain, sizeof(plain));
    return rc == EP_OK ? (int)(plain_len + EP_SECURE_SEAL_OVERHEAD) : rc;
}

static int ep_tlv_parse_clear(const uint8_t *tlv, size_t tlv_len, ep_tlv_object *objects,
                              size_t capacity, size_t *count)
{
    /* PAN, track 1, track 2, cardholder name, track 1 and track 2
     * discretionary data, contactless track 2 (src/reader/protocol/secure.ts). */
    static const uint32_t clear_tags[] = {0x5Au, 0x56u, 0x57u, 0x5F20u, 0x9F1Fu, 0x9F20u, 0x9F6Bu};
    size_t i;
    int rc = ep_tlv_parse(tlv, tlv_len, objects, capacity, count);

    if (rc != EP_OK) {
        return rc;
    }
    for (i = 0; i < sizeof(clear_tags) / sizeof(clear_tags[0]); i++) {
        if (ep_tlv_find(objects, *count, clear_tags[i]) != NULL) { /* any depth */
            return EP_ERR_SECURE_CLEAR_TAG;
        }
    }
    return EP_OK;
}

int ep_tlv_check_clear(const uint8_t *tlv, size_t tlv_len, ep_tlv_object *objects,
                       size_t capacity)
{
    size_t count = 0;

    return ep_tlv_parse_clear(tlv, tlv_len, objects, capacity, &count);
}

/* The one object with this tag at any depth, or null when there is none or
 * more than one (the node refuses both, PROTOCOL.md 7.4). */
static const ep_tlv_object *ep_tlv_only(const ep_tlv_object *objects, size_t count, uint32_t tag)
{
    const ep_tlv_object *found = NULL;
    size_t i;

    for (i = 0; i < count; i++) {
        if (objects[i].tag == tag) {
            if (found != NULL) {
                return NULL;
            }
            found = &objects[i];
        }
    }
    return found;
}

/* 9F02, 5F2A and 5F24 once each; 5F24 BCD YYMMDD (month 01..12, day
 * 01..31) whose YYMM is the expiry sealed with the PAN. */
static int ep_tlv_check_mandatory(const ep_tlv_object *objects, size_t count, const char *expiry)
{
    const ep_tlv_object *date = ep_tlv_only(objects, count, 0x5F24u);
    unsigned digits[6];
    size_t i;

    if (ep_tlv_only(objects, count, 0x9F02u) == NULL || ep_tlv_only(objects, count, 0x5F2Au) == NULL ||
        date == NULL) {
        return EP_ERR_SECURE_TLV_MANDATORY;
    }
    if (date->constructed || date->value_len != 3u) {
        return EP_ERR_SECURE_BAD_EXPIRY;
    }
    for (i = 0; i < 6u; i++) {
        digits[i] = ep_nibble(date->value, i);
        if (digits[i] > 9u) {
            return EP_ERR_SECURE_BAD_EXPIRY;
        }
    }
    if (digits[2] * 10u + digits[3] < 1u || digits[2] * 10u + digits[3] > 12u ||
        digits[4] * 10u + digits[5] < 1u || digits[4] * 10u + digits[5] > 31u) {
        return EP_ERR_SECURE_BAD_EXPIRY;
    }
    for (i = 0; i < EP_EXPIRY_LEN; i++) {
        if (digits[i] != ep_digit(expiry[i])) {
            return EP_ERR_SECURE_BAD_EXPIRY;
        }
    }
    return EP_OK;
}

int ep_sealed_card_signed_bytes(const ep_session *session, const uint8_t *payload, size_t len,
                                uint8_t *out, size_t out_cap)
{
    size_t part;
    size_t total;

    if (session == NULL || (payload == NULL && len != 0u) || (out == NULL && out_cap != 0u)) {
        return EP_ERR_ARG;
    }
    if (len < EP_SIGNATURE_LEN || len > EP_MAX_PAYLOAD) {
        return EP_ERR_MSG_LENGTH;
    }
    part = len - EP_SIGNATURE_LEN;
    total = EP_SECURE_CONTEXT_LEN + 2u * EP_NONCE_LEN + part;
    if (out_cap < total) {
        return EP_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(out, EP_SEALED_CARD_CONTEXT, EP_SECURE_CONTEXT_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN, session->node_nonce, EP_NONCE_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN + EP_NONCE_LEN, session->reader_nonce, EP_NONCE_LEN);
    memcpy(out + EP_SECURE_CONTEXT_LEN + 2u * EP_NONCE_LEN, payload, part);
    return (int)total;
}

int ep_sealed_card_build(const ep_reader_secrets *secrets, const ep_session *session,
                         const ep_card_input *card, ep_secure_work *work, uint8_t *out,
                         size_t out_cap)
{
    ep_message m;
    ep_msg_sealed_card *c = &m.body.sealed_card;
    size_t count = 0;
    int luhn;
    int rc;
    int n;
    int signed_len;

    if (secrets == NULL || session == NULL || card == NULL || work == NULL ||
        (out == NULL && out_cap != 0u) || (card->tlv == NULL && card->tlv_len != 0u) ||
        (card->sealed == NULL && card->sealed_len != 0u)) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    rc = ep_pan_check(card->pan, card->pan_len);
    if (rc == EP_OK) {
        rc = ep_expiry_check(card->expiry);
    }
    if (rc == EP_OK) {
        rc = ep_tlv_parse_clear(card->tlv, card->tlv_len, work->tlv, EP_TLV_MAX_OBJECTS, &count);
    }
    if (rc != EP_OK) {
        return rc;
    }
    /* The PAN under a tag of its own (a proprietary one, or inside a
     * primitive value the parser does not open) would leave in clear too. */
    if (ep_contains_ascii(card->tlv, card->tlv_len, card->pan, card->pan_len) ||
        ep_contains_bcd(card->tlv, card->tlv_len, card->pan, card->pan_len)) {
        return EP_ERR_SECURE_PAN_IN_TLV;
    }
    rc = ep_tlv_check_mandatory(work->tlv, count, card->expiry);
    if (rc != EP_OK) {
        return rc;
    }

    memset(&m, 0, sizeof(m));
    m.type = EP_MSG_SEALED_CARD;
    c->txn_id = card->txn_id;
    rc = ep_card_token(secrets->token_key, card->pan, card->pan_len, c->token);
    if (rc != EP_OK) {
        return rc;
    }
    memcpy(c->last4, card->pan + card->pan_len - EP_LAST4_LEN, EP_LAST4_LEN);
    luhn = ep_luhn_valid(card->pan, card->pan_len);
    c->flags = luhn == 1 ? (uint8_t)EP_SEALED_CARD_FLAG_LUHN_VALID : 0u;
    if (card->sealed != NULL) {
        c->sealed = card->sealed;
        c->sealed_len = card->sealed_len;
    } else {
        n = ep_card_seal(secrets->centre_key, card->pan, card->pan_len, card->expiry, work->sealed,
                         sizeof(work->sealed));
        if (n < 0) {
            return n;
        }
        c->sealed = work->sealed;
        c->sealed_len = (size_t)n;
    }
    c->tlv = card->tlv;
    c->tlv_len = card->tlv_len;
    /* Encode with a zero signature, then sign every byte before it. */
    n = ep_msg_encode(&m, out, out_cap);
    if (n < 0) {
        return n;
    }
    signed_len = ep_sealed_card_signed_bytes(session, out, (size_t)n, work->signed_bytes,
                                             sizeof(work->signed_bytes));
    if (signed_len < 0) {
        return signed_len;
    }
    if (crypto_sign_detached(out + (size_t)n - EP_SIGNATURE_LEN, NULL, work->signed_bytes,
                             (unsigned long long)signed_len, secrets->secret_key) != 0) {
        return EP_ERR_SECURE_CRYPTO;
    }
    work->signed_len = (size_t)signed_len;
    return n;
}

int ep_sealed_card_verify(const uint8_t reader_key[EP_READER_KEY_LEN], const ep_session *session,
                          const uint8_t *payload, size_t len, ep_secure_work *work)
{
    ep_message m;
    int signed_len;
    int rc;

    if (reader_key == NULL || session == NULL || work == NULL || (payload == NULL && len != 0u)) {
        return EP_ERR_ARG;
    }
    if (ep_sodium_ready() != EP_OK) {
        return EP_ERR_SECURE_CRYPTO;
    }
    rc = ep_msg_decode(EP_MSG_SEALED_CARD, payload, len, &m);
    if (rc != EP_OK) {
        return rc;
    }
    signed_len = ep_sealed_card_signed_bytes(session, payload, len, work->signed_bytes,
                                             sizeof(work->signed_bytes));
    if (signed_len < 0) {
        return signed_len;
    }
    work->signed_len = (size_t)signed_len;
    if (crypto_sign_verify_detached(payload + len - EP_SIGNATURE_LEN, work->signed_bytes,
                                    (unsigned long long)signed_len, reader_key) != 0) {
        return EP_ERR_SECURE_BAD_SIGNATURE;
    }
    return EP_OK;
}
