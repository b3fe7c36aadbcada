/*
 * The `secure` section of vectors.json (reader protocol 1.1): the reader key
 * from its seed, every AUTH_RESPONSE and SEALED_CARD reproduced byte for byte
 * (Ed25519 is deterministic; the vectors' sealed boxes stand in for the random
 * ones), the node-side checks, and a real seal made here opened with the
 * vectors' centre key pair.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "messages.h"
#include "secure.h"
#include "test_support.h"

#define PAN_TEXT_MAX 32u
#define PLAIN_TEXT_MAX 128u

static struct {
    int ready;
    ep_reader_secrets secrets;
    uint8_t seed[EP_SECURE_SEED_LEN];
    uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN];
    uint8_t centre_public[crypto_box_PUBLICKEYBYTES];
    uint8_t centre_secret[crypto_box_SECRETKEYBYTES];
    uint8_t reader_public[EP_READER_KEY_LEN];
    ep_session session;
    uint8_t other_node_nonce[EP_NONCE_LEN]; /* the node nonce of another auth vector */
    int have_other_node_nonce;
} g;

static ep_secure_work g_work;

static int get_fixed(const json_doc *doc, const json_node *object, const char *key, uint8_t *out,
                     size_t size)
{
    const json_node *node = json_get(doc, object, key);

    return node != NULL && node->type == JSON_STRING && node->str_len == 2u * size &&
           test_unhex(node->str, node->str_len, out, size) == (long)size;
}

/* A JSON string member into out (NUL-terminated), at most cap - 1 bytes. */
static int get_text(const json_doc *doc, const json_node *object, const char *key, char *out,
                    size_t cap, size_t *len)
{
    const json_node *node = json_get(doc, object, key);

    if (node == NULL || node->type != JSON_STRING || node->str_len >= cap) {
        return 0;
    }
    memcpy(out, node->str, node->str_len);
    out[node->str_len] = '\0';
    *len = node->str_len;
    return 1;
}

int test_secure_setup(const json_doc *doc, const json_node *secure, char *why, size_t why_cap)
{
    const json_node *auth = json_get(doc, secure, "auth");
    const json_node *first;
    const json_node *second;
    uint8_t derived[crypto_box_PUBLICKEYBYTES];

    memset(&g, 0, sizeof(g));
    if (!get_fixed(doc, secure, "readerSeedHex", g.seed, sizeof(g.seed)) ||
        !get_fixed(doc, secure, "readerPublicKeyHex", g.reader_public, sizeof(g.reader_public)) ||
        !get_fixed(doc, secure, "tokenKeyHex", g.token_key, sizeof(g.token_key)) ||
        !get_fixed(doc, secure, "centreSecretKeyHex", g.centre_secret, sizeof(g.centre_secret)) ||
        !get_fixed(doc, secure, "centrePublicKeyHex", g.centre_public, sizeof(g.centre_public)) ||
        !get_fixed(doc, secure, "sessionNodeNonceHex", g.session.node_nonce, EP_NONCE_LEN) ||
        !get_fixed(doc, secure, "sessionReaderNonceHex", g.session.reader_nonce, EP_NONCE_LEN)) {
        snprintf(why, why_cap, "the keys and session nonces are missing or not 32 bytes of hex");
        return 0;
    }
    if (ep_reader_secrets_init(&g.secrets, g.seed, g.token_key, g.centre_public) != EP_OK) {
        snprintf(why, why_cap, "ep_reader_secrets_init failed");
        return 0;
    }
    /* The centre pair must be a pair, or the seal check below proves nothing. */
    if (crypto_scalarmult_base(derived, g.centre_secret) != 0 ||
        memcmp(derived, g.centre_public, sizeof(derived)) != 0) {
        snprintf(why, why_cap, "centrePublicKeyHex is not the public key of centreSecretKeyHex");
        return 0;
    }
    first = auth != NULL && auth->type == JSON_ARRAY ? json_first(doc, auth) : NULL;
    second = first != NULL ? json_next(doc, first) : NULL;
    if (second != NULL && get_fixed(doc, second, "nodeNonceHex", g.other_node_nonce, EP_NONCE_LEN)) {
        g.have_other_node_nonce = 1;
    }
    g.ready = 1;
    return 1;
}

/* ---------------------------------------------------------------- auth */

static int check_auth(const json_doc *doc, const json_node *v, char *why, size_t why_cap)
{
    static uint8_t payload[EP_MAX_PAYLOAD];
    static uint8_t encoded[EP_MAX_PAYLOAD];
    static char shown[2u * EP_MAX_PAYLOAD + 8u];
    uint8_t node_nonce[EP_NONCE_LEN];
    uint8_t reader_nonce[EP_NONCE_LEN];
    uint8_t signed_want[EP_AUTH_SIGNED_LEN];
    uint8_t signed_got[EP_AUTH_SIGNED_LEN];
    uint8_t signature[EP_SIGNATURE_LEN];
    uint8_t wrong_key[EP_READER_KEY_LEN];
    ep_reader_secrets secrets;
    ep_message response;
    ep_message again;
    ep_message decoded;
    ep_msg_auth_response changed;
    ep_session session;
    long payload_len = test_get_hex(doc, v, "payloadHex", payload, sizeof(payload));
    size_t i;
    int n;

    if (!get_fixed(doc, v, "nodeNonceHex", node_nonce, sizeof(node_nonce)) ||
        !get_fixed(doc, v, "readerNonceHex", reader_nonce, sizeof(reader_nonce)) ||
        !get_fixed(doc, v, "signedHex", signed_want, sizeof(signed_want)) ||
        !get_fixed(doc, v, "signatureHex", signature, sizeof(signature)) || payload_len < 0) {
        snprintf(why, why_cap, "malformed vector (nodeNonceHex, readerNonceHex, signedHex of %u bytes, signatureHex, payloadHex)",
                 EP_AUTH_SIGNED_LEN);
        return 0;
    }
    /* The key pair from the seed, as crypto_sign_seed_keypair derives it. */
    if (ep_reader_secrets_init(&secrets, g.seed, g.token_key, g.centre_public) != EP_OK ||
        memcmp(secrets.public_key, g.reader_public, EP_READER_KEY_LEN) != 0) {
        snprintf(why, why_cap, "the public key derived from readerSeedHex is %s",
                 test_hex(secrets.public_key, EP_READER_KEY_LEN, shown, sizeof(shown)));
        return 0;
    }
    if (ep_auth_signed_bytes(node_nonce, reader_nonce, secrets.public_key, signed_got) != (int)EP_AUTH_SIGNED_LEN ||
        memcmp(signed_got, signed_want, sizeof(signed_got)) != 0) {
        snprintf(why, why_cap, "signed bytes are %s", test_hex(signed_got, sizeof(signed_got), shown, sizeof(shown)));
        return 0;
    }
    if (ep_auth_respond(&secrets, node_nonce, reader_nonce, &response, &session) != EP_OK ||
        response.type != EP_MSG_AUTH_RESPONSE) {
        snprintf(why, why_cap, "ep_auth_respond failed");
        return 0;
    }
    if (memcmp(response.body.auth_response.signature, signature, sizeof(signature)) != 0) {
        snprintf(why, why_cap, "signature is %s",
                 test_hex(response.body.auth_response.signature, EP_SIGNATURE_LEN, shown, sizeof(shown)));
        return 0;
    }
    if (memcmp(session.node_nonce, node_nonce, EP_NONCE_LEN) != 0 ||
        memcmp(session.reader_nonce, reader_nonce, EP_NONCE_LEN) != 0) {
        snprintf(why, why_cap, "ep_auth_respond's session does not hold the two nonces");
        return 0;
    }
    n = ep_msg_encode(&response, encoded, sizeof(encoded));
    if (n != payload_len || memcmp(encoded, payload, (size_t)n) != 0) {
        snprintf(why, why_cap, "AUTH_RESPONSE payload is %s", n < 0 ? ep_error_name(n) : test_hex(encoded, (size_t)n, shown, sizeof(shown)));
        return 0;
    }
    /* The node's side: decode payloadHex and accept it for this challenge only. */
    if (ep_msg_decode(EP_MSG_AUTH_RESPONSE, payload, (size_t)payload_len, &decoded) != EP_OK ||
        memcmp(decoded.body.auth_response.reader_key, g.reader_public, EP_READER_KEY_LEN) != 0) {
        snprintf(why, why_cap, "payloadHex does not decode to an AUTH_RESPONSE naming readerPublicKeyHex");
        return 0;
    }
    memset(&session, 0, sizeof(session));
    if (ep_auth_verify(g.reader_public, node_nonce, &decoded.body.auth_response, &session) != EP_OK ||
        memcmp(session.reader_nonce, reader_nonce, EP_NONCE_LEN) != 0 ||
        ep_auth_verify(NULL, node_nonce, &decoded.body.auth_response, NULL) != EP_OK) {
        snprintf(why, why_cap, "ep_auth_verify refuses the vector's response");
        return 0;
    }
    if (g.have_other_node_nonce && memcmp(g.other_node_nonce, node_nonce, EP_NONCE_LEN) != 0 &&
        ep_auth_verify(g.reader_public, g.other_node_nonce, &decoded.body.auth_response, NULL) != EP_ERR_SECURE_BAD_SIGNATURE) {
        snprintf(why, why_cap, "a response to one challenge verifies for another");
        return 0;
    }
    memcpy(wrong_key, g.reader_public, sizeof(wrong_key));
    wrong_key[0] ^= 0x01u;
    if (ep_auth_verify(wrong_key, node_nonce, &decoded.body.auth_response, NULL) != EP_ERR_SECURE_WRONG_KEY) {
        snprintf(why, why_cap, "a response from a key other than the pinned one is not refused as wrong_reader_key");
        return 0;
    }
    for (i = 0; i < (size_t)payload_len * 8u; i++) {
        uint8_t bytes[EP_READER_KEY_LEN + EP_NONCE_LEN + EP_SIGNATURE_LEN];
        int rc;
        memcpy(bytes, payload, sizeof(bytes));
        bytes[i / 8u] ^= (uint8_t)(1u << (i % 8u));
        memcpy(changed.reader_key, bytes, EP_READER_KEY_LEN);
        memcpy(changed.reader_nonce, bytes + EP_READER_KEY_LEN, EP_NONCE_LEN);
        memcpy(changed.signature, bytes + EP_READER_KEY_LEN + EP_NONCE_LEN, EP_SIGNATURE_LEN);
        rc = ep_auth_verify(g.reader_public, node_nonce, &changed, NULL);
        if (rc == EP_OK || (i < 8u * EP_READER_KEY_LEN) != (rc == EP_ERR_SECURE_WRONG_KEY)) {
            snprintf(why, why_cap, "with bit %lu of the payload flipped, ep_auth_verify gives %s", (unsigned long)i,
                     ep_error_name(rc));
            return 0;
        }
    }
    /* Firmware's own nonces: fresh each time, and still valid. */
    if (ep_auth_respond(&secrets, node_nonce, NULL, &response, NULL) != EP_OK ||
        ep_auth_respond(&secrets, node_nonce, NULL, &again, NULL) != EP_OK ||
        memcmp(response.body.auth_response.reader_nonce, again.body.auth_response.reader_nonce, EP_NONCE_LEN) == 0 ||
        ep_auth_verify(g.reader_public, node_nonce, &response.body.auth_response, NULL) != EP_OK ||
        ep_auth_verify(g.reader_public, node_nonce, &again.body.auth_response, NULL) != EP_OK) {
        snprintf(why, why_cap, "responses with random reader nonces are not fresh or do not verify");
        return 0;
    }
    ep_reader_secrets_wipe(&secrets);
    return 1;
}

int test_secure_auth_vector(const json_doc *doc, const json_node *vector)
{
    char why[512];

    if (!g.ready) {
        test_fail("secure.auth", json_get(doc, vector, "name"), "the secure section's keys did not load");
        return 0;
    }
    if (!check_auth(doc, vector, why, sizeof(why))) {
        test_fail("secure.auth", json_get(doc, vector, "name"), "%s", why);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- cards */

/* 1 when neither the PAN's ASCII digits nor its digits as hex (packed BCD at
 * any nibble) appear in bytes. */
static int pan_absent(const uint8_t *bytes, size_t len, const char *pan)
{
    static char hex[2u * EP_MAX_PAYLOAD + 8u];
    size_t pan_len = strlen(pan);
    size_t i;

    for (i = 0; i + pan_len <= len; i++) {
        if (memcmp(bytes + i, pan, pan_len) == 0) {
            return 0;
        }
    }
    if (len > EP_MAX_PAYLOAD) {
        return 0;
    }
    test_hex(bytes, len, hex, sizeof(hex));
    return strstr(hex, pan) == NULL;
}

/* Verification must fail with any single bit of the payload or of the
 * session's nonces flipped, or with another key. */
static int tamper_fails(const uint8_t *payload, size_t len, char *why, size_t why_cap)
{
    static uint8_t changed[EP_MAX_PAYLOAD];
    uint8_t other_key[EP_READER_KEY_LEN];
    ep_session session;
    size_t i;
    int rc;

    for (i = 0; i < len; i++) {
        memcpy(changed, payload, len);
        changed[i] ^= (uint8_t)(1u << (i % 8u));
        rc = ep_sealed_card_verify(g.reader_public, &g.session, changed, len, &g_work);
        if (rc == EP_OK) {
            snprintf(why, why_cap, "verifies with payload byte %lu changed", (unsigned long)i);
            return 0;
        }
    }
    for (i = 0; i < 2u * EP_NONCE_LEN; i++) {
        session = g.session;
        if (i < EP_NONCE_LEN) {
            session.node_nonce[i] ^= 0x80u;
        } else {
            session.reader_nonce[i - EP_NONCE_LEN] ^= 0x80u;
        }
        rc = ep_sealed_card_verify(g.reader_public, &session, payload, len, &g_work);
        if (rc != EP_ERR_SECURE_BAD_SIGNATURE) {
            snprintf(why, why_cap, "with session nonce byte %lu changed, verify gives %s", (unsigned long)i, ep_error_name(rc));
            return 0;
        }
    }
    memcpy(other_key, g.secrets.public_key, sizeof(other_key));
    other_key[31] ^= 0x01u;
    rc = ep_sealed_card_verify(other_key, &g.session, payload, len, &g_work);
    if (rc == EP_OK) {
        snprintf(why, why_cap, "verifies with another reader key");
        return 0;
    }
    rc = ep_sealed_card_verify(g.reader_public, &g.session, payload, len - 1u, &g_work);
    if (rc == EP_OK) {
        snprintf(why, why_cap, "verifies a payload cut short by one byte");
        return 0;
    }
    return 1;
}

static int check_card(const json_doc *doc, const json_node *v, char *why, size_t why_cap)
{
    static uint8_t tlv[TEST_HEX_MAX_BYTES];
    static uint8_t sealed[TEST_HEX_MAX_BYTES];
    static uint8_t signed_part[TEST_HEX_MAX_BYTES];
    static uint8_t signed_want[TEST_HEX_MAX_BYTES];
    static uint8_t payload[TEST_HEX_MAX_BYTES];
    static uint8_t built[EP_MAX_PAYLOAD];
    static uint8_t real[EP_MAX_PAYLOAD];
    static uint8_t other_real[EP_MAX_PAYLOAD];
    static uint8_t own_seal[EP_SEALED_CARD_SEALED_LEN_MAX];
    static uint8_t opened[EP_SEALED_CARD_SEALED_LEN_MAX];
    static uint8_t node_signed[EP_SEALED_CARD_SIGNED_MAX];
    static char shown[2u * TEST_HEX_MAX_BYTES + 8u];
    uint8_t token_want[EP_TOKEN_LEN];
    uint8_t token[EP_TOKEN_LEN];
    uint8_t signature[EP_SIGNATURE_LEN];
    char pan[PAN_TEXT_MAX];
    char expiry[8];
    char last4[8];
    char plain[PLAIN_TEXT_MAX];
    size_t pan_len = 0;
    size_t expiry_len = 0;
    size_t last4_len = 0;
    size_t plain_len = 0;
    int64_t txn_id = 0;
    int64_t flags = 0;
    long tlv_len = test_get_hex(doc, v, "tlvHex", tlv, sizeof(tlv));
    long sealed_len = test_get_hex(doc, v, "sealedHex", sealed, sizeof(sealed));
    long part_len = test_get_hex(doc, v, "signedPartHex", signed_part, sizeof(signed_part));
    long signed_len = test_get_hex(doc, v, "signedHex", signed_want, sizeof(signed_want));
    long payload_len = test_get_hex(doc, v, "payloadHex", payload, sizeof(payload));
    ep_card_input card;
    ep_message m;
    ep_message r;
    int luhn;
    int n;
    int k;
    int rc;

    if (test_get_int(doc, v, "txnId", 0, 4294967295LL, &txn_id) != 0 || test_get_int(doc, v, "flags", 0, 255, &flags) != 0 ||
        !get_text(doc, v, "pan", pan, sizeof(pan), &pan_len) || !get_text(doc, v, "expiryYymm", expiry, sizeof(expiry), &expiry_len) ||
        !get_text(doc, v, "last4", last4, sizeof(last4), &last4_len) || !get_text(doc, v, "sealedPlain", plain, sizeof(plain), &plain_len) ||
        !get_fixed(doc, v, "tokenHex", token_want, sizeof(token_want)) || !get_fixed(doc, v, "signatureHex", signature, sizeof(signature)) ||
        tlv_len < 0 || sealed_len < 0 || part_len < 0 || signed_len < 0 || payload_len < 0 || expiry_len != EP_EXPIRY_LEN) {
        snprintf(why, why_cap, "malformed vector (txnId, pan, expiryYymm, tokenHex, last4, flags, sealedPlain, sealedHex, tlvHex, signedPartHex, signedHex, signatureHex, payloadHex)");
        return 0;
    }
    /* Token, last4, Luhn flag: what the reader computes from the PAN. */
    rc = ep_card_token(g.secrets.token_key, pan, pan_len, token);
    if (rc != EP_OK || memcmp(token, token_want, sizeof(token)) != 0) {
        snprintf(why, why_cap, "token is %s", rc != EP_OK ? ep_error_name(rc) : test_hex(token, sizeof(token), shown, sizeof(shown)));
        return 0;
    }
    luhn = ep_luhn_valid(pan, pan_len);
    if (luhn != (int)(flags & 1) || last4_len != EP_LAST4_LEN || pan_len < EP_LAST4_LEN ||
        memcmp(last4, pan + pan_len - EP_LAST4_LEN, EP_LAST4_LEN) != 0) {
        snprintf(why, why_cap, "Luhn flag %d or last4 \"%s\" disagrees with the PAN", luhn, last4);
        return 0;
    }
    rc = ep_tlv_check_clear(tlv, (size_t)tlv_len, g_work.tlv, EP_TLV_MAX_OBJECTS);
    if (rc != EP_OK) {
        snprintf(why, why_cap, "the vector's TLV is refused: %s", ep_error_name(rc));
        return 0;
    }

    /* The whole payload, with the vector's sealed box in place of a random one. */
    memset(&card, 0, sizeof(card));
    card.txn_id = (uint32_t)txn_id;
    card.pan = pan;
    card.pan_len = pan_len;
    card.expiry = expiry;
    card.tlv = tlv;
    card.tlv_len = (size_t)tlv_len;
    card.sealed = sealed;
    card.sealed_len = (size_t)sealed_len;
    n = ep_sealed_card_build(&g.secrets, &g.session, &card, &g_work, built, sizeof(built));
    if (n < 0) {
        snprintf(why, why_cap, "ep_sealed_card_build refused: %s", ep_error_name(n));
        return 0;
    }
    if ((long)n - (long)EP_SIGNATURE_LEN != part_len || memcmp(built, signed_part, (size_t)part_len) != 0) {
        snprintf(why, why_cap, "signed part is %s", test_hex(built, (size_t)n - EP_SIGNATURE_LEN, shown, sizeof(shown)));
        return 0;
    }
    if ((long)g_work.signed_len != signed_len || memcmp(g_work.signed_bytes, signed_want, (size_t)signed_len) != 0) {
        snprintf(why, why_cap, "signed bytes are %s", test_hex(g_work.signed_bytes, g_work.signed_len, shown, sizeof(shown)));
        return 0;
    }
    if (memcmp(built + n - (int)EP_SIGNATURE_LEN, signature, sizeof(signature)) != 0) {
        snprintf(why, why_cap, "signature is %s", test_hex(built + n - (int)EP_SIGNATURE_LEN, EP_SIGNATURE_LEN, shown, sizeof(shown)));
        return 0;
    }
    if ((long)n != payload_len || memcmp(built, payload, (size_t)n) != 0) {
        snprintf(why, why_cap, "payload is %s", test_hex(built, (size_t)n, shown, sizeof(shown)));
        return 0;
    }

    /* The node's side: the same signed bytes from the received payload; the
     * signature verifies, and stops verifying when anything changes. */
    k = ep_sealed_card_signed_bytes(&g.session, payload, (size_t)payload_len, node_signed, sizeof(node_signed));
    if (k != signed_len || memcmp(node_signed, signed_want, (size_t)k) != 0) {
        snprintf(why, why_cap, "ep_sealed_card_signed_bytes of payloadHex differs from signedHex");
        return 0;
    }
    rc = ep_sealed_card_verify(g.reader_public, &g.session, payload, (size_t)payload_len, &g_work);
    if (rc != EP_OK) {
        snprintf(why, why_cap, "ep_sealed_card_verify refuses payloadHex: %s", ep_error_name(rc));
        return 0;
    }
    if (!tamper_fails(payload, (size_t)payload_len, why, why_cap)) {
        return 0;
    }
    if (!pan_absent(built, (size_t)n, pan)) {
        snprintf(why, why_cap, "the PAN's digits appear in the built payload");
        return 0;
    }

    /* The vector's box opens to sealedPlain; a real seal, made here, too. */
    if (sealed_len < (long)EP_SECURE_SEAL_OVERHEAD || (size_t)sealed_len - EP_SECURE_SEAL_OVERHEAD != plain_len ||
        crypto_box_seal_open(opened, sealed, (unsigned long long)sealed_len, g.centre_public, g.centre_secret) != 0 ||
        memcmp(opened, plain, plain_len) != 0) {
        snprintf(why, why_cap, "sealedHex does not open with the centre key pair to sealedPlain");
        return 0;
    }
    rc = ep_card_seal(g.secrets.centre_key, pan, pan_len, expiry, own_seal, sizeof(own_seal));
    if (rc != (int)(plain_len + EP_SECURE_SEAL_OVERHEAD) ||
        crypto_box_seal_open(opened, own_seal, (size_t)rc, g.centre_public, g.centre_secret) != 0 ||
        memcmp(opened, plain, plain_len) != 0) {
        snprintf(why, why_cap, "ep_card_seal gives %s, which does not open to sealedPlain", rc < 0 ? ep_error_name(rc) : "a box");
        return 0;
    }
    /* And the whole payload with a real seal: decodes, verifies, opens, holds no PAN,
     * and differs from the vector only in the sealed box and the signature. */
    card.sealed = NULL;
    card.sealed_len = 0;
    n = ep_sealed_card_build(&g.secrets, &g.session, &card, &g_work, real, sizeof(real));
    k = ep_sealed_card_build(&g.secrets, &g.session, &card, &g_work, other_real, sizeof(other_real));
    if (n < 0 || k != n || memcmp(real, other_real, (size_t)n) == 0) {
        snprintf(why, why_cap, "two builds with a real seal give %d and %d bytes, or the same bytes", n, k);
        return 0;
    }
    if (ep_msg_decode(EP_MSG_SEALED_CARD, real, (size_t)n, &m) != EP_OK ||
        ep_msg_decode(EP_MSG_SEALED_CARD, payload, (size_t)payload_len, &r) != EP_OK ||
        m.body.sealed_card.txn_id != r.body.sealed_card.txn_id ||
        memcmp(m.body.sealed_card.token, r.body.sealed_card.token, EP_TOKEN_LEN) != 0 ||
        memcmp(m.body.sealed_card.last4, r.body.sealed_card.last4, sizeof(m.body.sealed_card.last4)) != 0 ||
        m.body.sealed_card.flags != r.body.sealed_card.flags ||
        m.body.sealed_card.tlv_len != r.body.sealed_card.tlv_len ||
        memcmp(m.body.sealed_card.tlv, r.body.sealed_card.tlv, r.body.sealed_card.tlv_len) != 0 ||
        m.body.sealed_card.sealed_len != plain_len + EP_SECURE_SEAL_OVERHEAD) {
        snprintf(why, why_cap, "the payload with a real seal does not match the vector's fields");
        return 0;
    }
    if (crypto_box_seal_open(opened, m.body.sealed_card.sealed, m.body.sealed_card.sealed_len, g.centre_public,
                             g.centre_secret) != 0 ||
        memcmp(opened, plain, plain_len) != 0) {
        snprintf(why, why_cap, "the real seal in the built payload does not open to sealedPlain");
        return 0;
    }
    rc = ep_sealed_card_verify(g.reader_public, &g.session, real, (size_t)n, &g_work);
    if (rc != EP_OK || !pan_absent(real, (size_t)n, pan) || !pan_absent(other_real, (size_t)n, pan)) {
        snprintf(why, why_cap, "the payload with a real seal does not verify (%s) or holds the PAN", ep_error_name(rc));
        return 0;
    }
    return 1;
}

int test_secure_card_vector(const json_doc *doc, const json_node *vector)
{
    char why[512];

    if (!g.ready) {
        test_fail("secure.cards", json_get(doc, vector, "name"), "the secure section's keys did not load");
        return 0;
    }
    if (!check_card(doc, vector, why, sizeof(why))) {
        test_fail("secure.cards", json_get(doc, vector, "name"), "%s", why);
        return 0;
    }
    return 1;
}
