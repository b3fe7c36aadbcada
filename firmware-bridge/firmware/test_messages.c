/* Message payload vectors: decode(payloadHex) == fields and encode(fields) == payloadHex. */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "messages.h"
#include "test_support.h"

#define SECTION "messages"

/* The fields object must hold exactly these keys (no more, no fewer). */
static int fields_exactly(const json_doc *doc, const json_node *fields, const char *const *keys,
                          size_t key_count, char *why, size_t why_cap)
{
    size_t i;

    if (fields == NULL || fields->type != JSON_OBJECT) {
        snprintf(why, why_cap, "fields is not an object");
        return 0;
    }
    for (i = 0; i < key_count; i++) {
        if (json_get(doc, fields, keys[i]) == NULL) {
            snprintf(why, why_cap, "fields lacks \"%s\"", keys[i]);
            return 0;
        }
    }
    if (fields->child_count != key_count) {
        snprintf(why, why_cap, "fields has %lu keys, expected %lu", (unsigned long)fields->child_count,
                 (unsigned long)key_count);
        return 0;
    }
    return 1;
}

static int get_uint(const json_doc *doc, const json_node *fields, const char *key, int64_t max,
                    int64_t *out, char *why, size_t why_cap)
{
    if (test_get_int(doc, fields, key, 0, max, out) != 0) {
        snprintf(why, why_cap, "field \"%s\" is not an integer in 0..%lld", key, (long long)max);
        return 0;
    }
    return 1;
}

/* Copy a JSON string into a struct string of capacity max_len (+ NUL). */
static int get_str(const json_doc *doc, const json_node *fields, const char *key, size_t max_len,
                   uint8_t *len_out, char *bytes_out, char *why, size_t why_cap)
{
    const json_node *node = json_get(doc, fields, key);

    if (node == NULL || node->type != JSON_STRING) {
        snprintf(why, why_cap, "field \"%s\" is not a string", key);
        return 0;
    }
    if (node->str_len > max_len) {
        snprintf(why, why_cap, "field \"%s\" is %lu bytes, over the spec limit of %lu", key,
                 (unsigned long)node->str_len, (unsigned long)max_len);
        return 0;
    }
    memcpy(bytes_out, node->str, node->str_len);
    bytes_out[node->str_len] = '\0';
    *len_out = (uint8_t)node->str_len;
    return 1;
}

/* Byte fields are named "<field>Hex" and hold strict lowercase hex. Variable
 * ones (tlvHex, sealedHex) are copied into a store that backs the message's
 * pointers; fixed ones (nonces, keys, token, signature) straight into the
 * struct's array and must have exactly its size. */
typedef struct {
    uint8_t *bytes;
    size_t cap;
    size_t used;
} byte_store;

static int get_hex_bytes(const json_doc *doc, const json_node *fields, const char *key,
                         byte_store *store, const uint8_t **out, size_t *out_len, char *why,
                         size_t why_cap)
{
    long n = test_get_hex(doc, fields, key, store->bytes + store->used, store->cap - store->used);

    if (n < 0) {
        snprintf(why, why_cap, "field \"%s\" is not lowercase hex (or too long)", key);
        return 0;
    }
    *out = store->bytes + store->used;
    *out_len = (size_t)n;
    store->used += (size_t)n;
    return 1;
}

static int get_hex_fixed(const json_doc *doc, const json_node *fields, const char *key,
                         uint8_t *out, size_t size, char *why, size_t why_cap)
{
    const json_node *node = json_get(doc, fields, key);

    if (node == NULL || node->type != JSON_STRING || node->str_len != 2u * size ||
        test_unhex(node->str, node->str_len, out, size) != (long)size) {
        snprintf(why, why_cap, "field \"%s\" is not %lu bytes of lowercase hex", key, (unsigned long)size);
        return 0;
    }
    return 1;
}

/* Strict decimal u64: digits only, no sign, no leading zeros, no overflow. */
static int get_u64_decimal(const json_doc *doc, const json_node *fields, const char *key,
                           uint64_t *out, char *why, size_t why_cap)
{
    const json_node *node = json_get(doc, fields, key);
    uint64_t value = 0;
    size_t i;

    if (node == NULL || node->type != JSON_STRING || node->str_len == 0u || node->str_len > 20u ||
        (node->str_len > 1u && node->str[0] == '0')) {
        snprintf(why, why_cap, "field \"%s\" is not a canonical decimal string", key);
        return 0;
    }
    for (i = 0; i < node->str_len; i++) {
        unsigned digit;
        if (node->str[i] < '0' || node->str[i] > '9') {
            snprintf(why, why_cap, "field \"%s\" has a non-digit", key);
            return 0;
        }
        digit = (unsigned)(node->str[i] - '0');
        if (value > (UINT64_MAX - digit) / 10u) {
            snprintf(why, why_cap, "field \"%s\" exceeds u64", key);
            return 0;
        }
        value = value * 10u + digit;
    }
    *out = value;
    return 1;
}

#define KEYS(...) static const char *const keys[] = {__VA_ARGS__}; \
    if (!fields_exactly(doc, fields, keys, sizeof(keys) / sizeof(keys[0]), why, why_cap)) return 0

static const char *const no_keys[1] = {""};

/* Build the expected message from `fields`. store backs the variable byte fields. */
static int message_from_fields(const json_doc *doc, uint8_t type, const json_node *fields,
                               ep_message *m, byte_store *store, char *why, size_t why_cap)
{
    int64_t v = 0;

    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case EP_MSG_HELLO: {
        KEYS("protocolVersion", "capabilities", "maxPayload", "model", "firmwareVersion");
        if (!get_uint(doc, fields, "protocolVersion", 255, &v, why, why_cap)) return 0;
        m->body.hello.protocol_version = (uint8_t)v;
        if (!get_uint(doc, fields, "capabilities", 255, &v, why, why_cap)) return 0;
        m->body.hello.capabilities = (uint8_t)v;
        if (!get_uint(doc, fields, "maxPayload", 65535, &v, why, why_cap)) return 0;
        m->body.hello.max_payload = (uint16_t)v;
        return get_str(doc, fields, "model", EP_HELLO_MODEL_MAX, &m->body.hello.model.len,
                       m->body.hello.model.bytes, why, why_cap) &&
               get_str(doc, fields, "firmwareVersion", EP_HELLO_FIRMWARE_MAX,
                       &m->body.hello.firmware_version.len, m->body.hello.firmware_version.bytes,
                       why, why_cap);
    }
    case EP_MSG_AUTH_CHALLENGE: {
        KEYS("nodeNonceHex");
        return get_hex_fixed(doc, fields, "nodeNonceHex", m->body.auth_challenge.node_nonce,
                             EP_NONCE_LEN, why, why_cap);
    }
    case EP_MSG_AUTH_RESPONSE: {
        KEYS("readerKeyHex", "readerNonceHex", "signatureHex");
        return get_hex_fixed(doc, fields, "readerKeyHex", m->body.auth_response.reader_key,
                             EP_READER_KEY_LEN, why, why_cap) &&
               get_hex_fixed(doc, fields, "readerNonceHex", m->body.auth_response.reader_nonce,
                             EP_NONCE_LEN, why, why_cap) &&
               get_hex_fixed(doc, fields, "signatureHex", m->body.auth_response.signature,
                             EP_SIGNATURE_LEN, why, why_cap);
    }
    case EP_MSG_SEALED_CARD: {
        ep_msg_sealed_card *c = &m->body.sealed_card;
        uint8_t last4_len = 0;
        KEYS("txnId", "tokenHex", "last4", "flags", "sealedHex", "tlvHex", "signatureHex");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        c->txn_id = (uint32_t)v;
        if (!get_hex_fixed(doc, fields, "tokenHex", c->token, EP_TOKEN_LEN, why, why_cap)) return 0;
        if (!get_str(doc, fields, "last4", EP_LAST4_LEN, &last4_len, c->last4, why, why_cap)) return 0;
        if (last4_len != EP_LAST4_LEN) {
            snprintf(why, why_cap, "field \"last4\" is not %u characters", EP_LAST4_LEN);
            return 0;
        }
        if (!get_uint(doc, fields, "flags", 255, &v, why, why_cap)) return 0;
        c->flags = (uint8_t)v;
        return get_hex_bytes(doc, fields, "sealedHex", store, &c->sealed, &c->sealed_len, why, why_cap) &&
               get_hex_bytes(doc, fields, "tlvHex", store, &c->tlv, &c->tlv_len, why, why_cap) &&
               get_hex_fixed(doc, fields, "signatureHex", c->signature, EP_SIGNATURE_LEN, why, why_cap);
    }
    case EP_MSG_START_TXN: {
        KEYS("txnId", "amountMinor", "currencyNumeric", "timeoutS");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        m->body.start_txn.txn_id = (uint32_t)v;
        if (!get_u64_decimal(doc, fields, "amountMinor", &m->body.start_txn.amount_minor, why, why_cap)) return 0;
        if (!get_uint(doc, fields, "currencyNumeric", 65535, &v, why, why_cap)) return 0;
        m->body.start_txn.currency_numeric = (uint16_t)v;
        if (!get_uint(doc, fields, "timeoutS", 65535, &v, why, why_cap)) return 0;
        m->body.start_txn.timeout_s = (uint16_t)v;
        return 1;
    }
    case EP_MSG_CARD_DATA: {
        KEYS("txnId", "tlvHex");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        m->body.card_data.txn_id = (uint32_t)v;
        return get_hex_bytes(doc, fields, "tlvHex", store, &m->body.card_data.tlv,
                             &m->body.card_data.tlv_len, why, why_cap);
    }
    case EP_MSG_SHOW_RESULT: {
        const json_node *approved;
        KEYS("txnId", "approved", "code", "text");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        m->body.show_result.txn_id = (uint32_t)v;
        approved = json_get(doc, fields, "approved");
        if (approved == NULL || approved->type != JSON_BOOL) {
            snprintf(why, why_cap, "field \"approved\" is not a boolean");
            return 0;
        }
        m->body.show_result.approved = (uint8_t)(approved->boolean ? 1 : 0);
        return get_str(doc, fields, "code", EP_RESULT_CODE_MAX, &m->body.show_result.code.len,
                       m->body.show_result.code.bytes, why, why_cap) &&
               get_str(doc, fields, "text", EP_RESULT_TEXT_MAX, &m->body.show_result.text.len,
                       m->body.show_result.text.bytes, why, why_cap);
    }
    case EP_MSG_CANCEL: {
        KEYS("txnId");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        m->body.cancel.txn_id = (uint32_t)v;
        return 1;
    }
    case EP_MSG_TXN_ENDED: {
        KEYS("txnId", "reason");
        if (!get_uint(doc, fields, "txnId", 4294967295LL, &v, why, why_cap)) return 0;
        m->body.txn_ended.txn_id = (uint32_t)v;
        if (!get_uint(doc, fields, "reason", 255, &v, why, why_cap)) return 0;
        m->body.txn_ended.reason = (uint8_t)v;
        return 1;
    }
    case EP_MSG_STATUS: {
        KEYS("state", "flags");
        if (!get_uint(doc, fields, "state", 255, &v, why, why_cap)) return 0;
        m->body.status.state = (uint8_t)v;
        if (!get_uint(doc, fields, "flags", 255, &v, why, why_cap)) return 0;
        m->body.status.flags = (uint8_t)v;
        return 1;
    }
    case EP_MSG_ERROR: {
        KEYS("code", "text");
        if (!get_uint(doc, fields, "code", 255, &v, why, why_cap)) return 0;
        m->body.error.code = (uint8_t)v;
        return get_str(doc, fields, "text", EP_ERROR_TEXT_MAX, &m->body.error.text.len,
                       m->body.error.text.bytes, why, why_cap);
    }
    case EP_MSG_NAK: {
        KEYS("reason");
        if (!get_uint(doc, fields, "reason", 255, &v, why, why_cap)) return 0;
        m->body.nak.reason = (uint8_t)v;
        return 1;
    }
    case EP_MSG_ACK:
    case EP_MSG_STATUS_REQUEST:
        return fields_exactly(doc, fields, no_keys, 0, why, why_cap);
    default:
        snprintf(why, why_cap, "type 0x%02x is not a message of protocol version 1", type);
        return 0;
    }
}

#define SAME(field, name) if ((a->field) != (b->field)) { snprintf(why, why_cap, "decoded %s differs", name); return 0; }
#define SAME_STR(field, name) if (a->field.len != b->field.len || memcmp(a->field.bytes, b->field.bytes, a->field.len) != 0) { \
        snprintf(why, why_cap, "decoded %s \"%.*s\" differs from \"%.*s\"", name, (int)a->field.len, a->field.bytes, (int)b->field.len, b->field.bytes); return 0; }
#define SAME_ARRAY(field, name) if (memcmp(a->field, b->field, sizeof(a->field)) != 0) { snprintf(why, why_cap, "decoded %s differs", name); return 0; }
#define SAME_BLOB(ptr, len, name) if (a->len != b->len || (a->len != 0u && memcmp(a->ptr, b->ptr, a->len) != 0)) { \
        snprintf(why, why_cap, "decoded %s differs (%lu bytes, expected %lu)", name, (unsigned long)a->len, (unsigned long)b->len); return 0; }

/* Field-by-field equality of two messages of the same type. */
static int messages_equal(const ep_message *a, const ep_message *b, char *why, size_t why_cap)
{
    SAME(type, "type");
    switch (a->type) {
    case EP_MSG_HELLO:
        SAME(body.hello.protocol_version, "protocolVersion");
        SAME(body.hello.capabilities, "capabilities");
        SAME(body.hello.max_payload, "maxPayload");
        SAME_STR(body.hello.model, "model");
        SAME_STR(body.hello.firmware_version, "firmwareVersion");
        break;
    case EP_MSG_START_TXN:
        SAME(body.start_txn.txn_id, "txnId");
        SAME(body.start_txn.amount_minor, "amountMinor");
        SAME(body.start_txn.currency_numeric, "currencyNumeric");
        SAME(body.start_txn.timeout_s, "timeoutS");
        break;
    case EP_MSG_AUTH_CHALLENGE:
        SAME_ARRAY(body.auth_challenge.node_nonce, "nodeNonceHex");
        break;
    case EP_MSG_AUTH_RESPONSE:
        SAME_ARRAY(body.auth_response.reader_key, "readerKeyHex");
        SAME_ARRAY(body.auth_response.reader_nonce, "readerNonceHex");
        SAME_ARRAY(body.auth_response.signature, "signatureHex");
        break;
    case EP_MSG_SEALED_CARD:
        SAME(body.sealed_card.txn_id, "txnId");
        SAME_ARRAY(body.sealed_card.token, "tokenHex");
        SAME_ARRAY(body.sealed_card.last4, "last4");
        SAME(body.sealed_card.flags, "flags");
        SAME_BLOB(body.sealed_card.sealed, body.sealed_card.sealed_len, "sealedHex");
        SAME_BLOB(body.sealed_card.tlv, body.sealed_card.tlv_len, "tlvHex");
        SAME_ARRAY(body.sealed_card.signature, "signatureHex");
        break;
    case EP_MSG_CARD_DATA:
        SAME(body.card_data.txn_id, "txnId");
        SAME_BLOB(body.card_data.tlv, body.card_data.tlv_len, "tlvHex");
        break;
    case EP_MSG_SHOW_RESULT:
        SAME(body.show_result.txn_id, "txnId");
        SAME(body.show_result.approved, "approved");
        SAME_STR(body.show_result.code, "code");
        SAME_STR(body.show_result.text, "text");
        break;
    case EP_MSG_CANCEL:
        SAME(body.cancel.txn_id, "txnId");
        break;
    case EP_MSG_TXN_ENDED:
        SAME(body.txn_ended.txn_id, "txnId");
        SAME(body.txn_ended.reason, "reason");
        break;
    case EP_MSG_STATUS:
        SAME(body.status.state, "state");
        SAME(body.status.flags, "flags");
        break;
    case EP_MSG_ERROR:
        SAME(body.error.code, "code");
        SAME_STR(body.error.text, "text");
        break;
    case EP_MSG_NAK:
        SAME(body.nak.reason, "reason");
        break;
    default:
        break;
    }
    return 1;
}

int test_message_vector(const json_doc *doc, const json_node *vector)
{
    static uint8_t payload[TEST_HEX_MAX_BYTES];
    static uint8_t store_bytes[TEST_HEX_MAX_BYTES];
    static uint8_t encoded[EP_MAX_PAYLOAD];
    byte_store store;
    static char shown[2u * EP_MAX_PAYLOAD + 8u];
    const json_node *name = json_get(doc, vector, "name");
    ep_message expected;
    ep_message decoded;
    char why[256];
    int64_t type = 0;
    long payload_len;
    int rc;

    if (test_get_int(doc, vector, "type", 0, 255, &type) != 0) {
        test_fail(SECTION, name, "\"type\" is not an integer 0..255");
        return 0;
    }
    payload_len = test_get_hex(doc, vector, "payloadHex", payload, sizeof(payload));
    if (payload_len < 0) {
        test_fail(SECTION, name, "\"payloadHex\" is not lowercase hex");
        return 0;
    }
    store.bytes = store_bytes;
    store.cap = sizeof(store_bytes);
    store.used = 0;
    if (!message_from_fields(doc, (uint8_t)type, json_get(doc, vector, "fields"), &expected, &store,
                             why, sizeof(why))) {
        test_fail(SECTION, name, "%s", why);
        return 0;
    }
    rc = ep_msg_decode((uint8_t)type, payload, (size_t)payload_len, &decoded);
    if (rc != EP_OK) {
        test_fail(SECTION, name, "decode refused the payload: %s", ep_error_name(rc));
        return 0;
    }
    if (!messages_equal(&decoded, &expected, why, sizeof(why))) {
        test_fail(SECTION, name, "%s", why);
        return 0;
    }
    rc = ep_msg_encode(&expected, encoded, sizeof(encoded));
    if (rc < 0) {
        test_fail(SECTION, name, "encode refused the fields: %s", ep_error_name(rc));
        return 0;
    }
    if ((long)rc != payload_len || memcmp(encoded, payload, (size_t)rc) != 0) {
        test_fail(SECTION, name, "encode gives %s", test_hex(encoded, (size_t)rc, shown, sizeof(shown)));
        return 0;
    }
    return 1;
}
