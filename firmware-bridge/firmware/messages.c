#include "messages.h"

#include <string.h>

#include "frame.h"

/* ---- cursors: every access is bounds-checked, the first failure sticks ---- */

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    int error;
} ep_writer;

typedef struct {
    const uint8_t *in;
    size_t len;
    size_t pos;
    int error;
} ep_reader;

static void ep_put(ep_writer *w, const uint8_t *bytes, size_t count)
{
    if (w->error != EP_OK) {
        return;
    }
    if (w->cap - w->pos < count) {
        w->error = EP_ERR_BUFFER_TOO_SMALL;
        return;
    }
    if (count != 0u) {
        memcpy(w->out + w->pos, bytes, count);
    }
    w->pos += count;
}

static void ep_put_uint(ep_writer *w, uint64_t value, unsigned size_bytes)
{
    uint8_t be[8];
    unsigned i;

    EP_ASSERT(size_bytes >= 1u && size_bytes <= 8u);
    for (i = 0; i < size_bytes; i++) {
        be[size_bytes - 1u - i] = (uint8_t)(value & 0xFFu);
        value >>= 8;
    }
    ep_put(w, be, size_bytes);
}

static void ep_put_str(ep_writer *w, uint8_t len, const char *bytes)
{
    ep_put_uint(w, len, 1u);
    ep_put(w, (const uint8_t *)bytes, len);
}

static uint64_t ep_get_uint(ep_reader *r, unsigned size_bytes)
{
    uint64_t value = 0;
    unsigned i;

    EP_ASSERT(size_bytes >= 1u && size_bytes <= 8u);
    if (r->error != EP_OK) {
        return 0;
    }
    if (r->len - r->pos < size_bytes) {
        r->error = EP_ERR_MSG_LENGTH;
        return 0;
    }
    for (i = 0; i < size_bytes; i++) {
        value = (value << 8) | r->in[r->pos + i];
    }
    r->pos += size_bytes;
    return value;
}

/* Read count bytes into dst (a fixed-size field: nonce, key, signature). */
static void ep_get_bytes(ep_reader *r, uint8_t *dst, size_t count)
{
    if (r->error != EP_OK) {
        return;
    }
    if (r->len - r->pos < count) {
        r->error = EP_ERR_MSG_LENGTH;
        return;
    }
    memcpy(dst, r->in + r->pos, count);
    r->pos += count;
}

/* Read a u16 length and that many bytes (min_len..max_len); *bytes points into
 * the payload. A length past the payload or outside the limits is
 * EP_ERR_MSG_STRING, like a string's. */
static size_t ep_get_blob16(ep_reader *r, size_t min_len, size_t max_len, const uint8_t **bytes)
{
    size_t len = (size_t)ep_get_uint(r, 2u);

    if (r->error != EP_OK) {
        return 0;
    }
    if (len > r->len - r->pos || len < min_len || len > max_len) {
        r->error = EP_ERR_MSG_STRING;
        return 0;
    }
    *bytes = r->in + r->pos;
    r->pos += len;
    return len;
}

/* Read a `str` of min_len..max_len bytes into dst (capacity max_len + 1,
 * NUL-terminated). */
static uint8_t ep_get_str(ep_reader *r, size_t min_len, size_t max_len, int ascii, char *dst)
{
    uint8_t len = (uint8_t)ep_get_uint(r, 1u);
    const uint8_t *bytes;

    if (r->error != EP_OK) {
        return 0;
    }
    if (len > r->len - r->pos || len < min_len || len > max_len) {
        r->error = EP_ERR_MSG_STRING;
        return 0;
    }
    bytes = r->in + r->pos;
    if (ascii ? !ep_is_ascii(bytes, len) : !ep_is_utf8(bytes, len)) {
        r->error = EP_ERR_MSG_ENCODING;
        return 0;
    }
    if (len != 0u) {
        memcpy(dst, bytes, len);
    }
    dst[len] = '\0';
    r->pos += len;
    return len;
}

/* ---- text checks ---- */

int ep_is_ascii(const uint8_t *bytes, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (bytes[i] > 0x7Fu) {
            return 0;
        }
    }
    return 1;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
int ep_is_utf8(const uint8_t *bytes, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t b0 = bytes[i];
        size_t extra;
        uint8_t lo = 0x80u;
        uint8_t hi = 0xBFu;
        size_t k;

        if (b0 <= 0x7Fu) {
            i++;
            continue;
        }
        if (b0 >= 0xC2u && b0 <= 0xDFu) {
            extra = 1;
        } else if (b0 >= 0xE0u && b0 <= 0xEFu) {
            extra = 2;
            if (b0 == 0xE0u) { lo = 0xA0u; }      /* overlong */
            if (b0 == 0xEDu) { hi = 0x9Fu; }      /* surrogates */
        } else if (b0 >= 0xF0u && b0 <= 0xF4u) {
            extra = 3;
            if (b0 == 0xF0u) { lo = 0x90u; }      /* overlong */
            if (b0 == 0xF4u) { hi = 0x8Fu; }      /* above U+10FFFF */
        } else {
            return 0;
        }
        if (len - i - 1u < extra) {
            return 0;
        }
        for (k = 1; k <= extra; k++) {
            uint8_t b = bytes[i + k];
            uint8_t min = k == 1u ? lo : 0x80u;
            uint8_t max = k == 1u ? hi : 0xBFu;
            if (b < min || b > max) {
                return 0;
            }
        }
        i += extra + 1u;
    }
    return 1;
}

int ep_msg_type_known(uint8_t type)
{
    switch (type) {
    case EP_MSG_HELLO:
    case EP_MSG_AUTH_CHALLENGE:
    case EP_MSG_AUTH_RESPONSE:
    case EP_MSG_SEALED_CARD:
    case EP_MSG_ACK:
    case EP_MSG_NAK:
    case EP_MSG_START_TXN:
    case EP_MSG_CARD_DATA:
    case EP_MSG_SHOW_RESULT:
    case EP_MSG_CANCEL:
    case EP_MSG_TXN_ENDED:
    case EP_MSG_STATUS_REQUEST:
    case EP_MSG_STATUS:
    case EP_MSG_ERROR:
        return 1;
    default:
        return 0;
    }
}

static int ep_check_str(uint8_t len, const char *bytes, size_t min_len, size_t max_len, int ascii)
{
    const uint8_t *raw = (const uint8_t *)bytes;

    if (len < min_len || len > max_len) {
        return EP_ERR_MSG_STRING;
    }
    if (ascii ? !ep_is_ascii(raw, len) : !ep_is_utf8(raw, len)) {
        return EP_ERR_MSG_ENCODING;
    }
    return EP_OK;
}

static int ep_is_digits(const char *text, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Field rules shared by encode (on the struct) and decode (after reading). */
static int ep_check_values(const ep_message *m)
{
    switch (m->type) {
    case EP_MSG_SEALED_CARD:
        if (!ep_is_digits(m->body.sealed_card.last4, EP_LAST4_LEN)) {
            return EP_ERR_MSG_ENCODING;
        }
        return (m->body.sealed_card.flags & (uint8_t)~EP_SEALED_CARD_FLAG_LUHN_VALID) == 0u
                   ? EP_OK : EP_ERR_MSG_VALUE;
    case EP_MSG_SHOW_RESULT:
        return m->body.show_result.approved <= 1u ? EP_OK : EP_ERR_MSG_VALUE;
    case EP_MSG_TXN_ENDED:
        return (m->body.txn_ended.reason >= EP_TXN_ENDED_CANCELLED_BY_NODE &&
                m->body.txn_ended.reason <= EP_TXN_ENDED_RESULT_SHOWN) ? EP_OK : EP_ERR_MSG_VALUE;
    case EP_MSG_STATUS:
        return m->body.status.state <= EP_STATE_FAULT ? EP_OK : EP_ERR_MSG_VALUE;
    case EP_MSG_NAK:
        return (m->body.nak.reason >= EP_NAK_BAD_CRC && m->body.nak.reason <= EP_NAK_MALFORMED)
                   ? EP_OK : EP_ERR_MSG_VALUE;
    default:
        return EP_OK;
    }
}

/* ---- encode ---- */

static int ep_check_strings(const ep_message *m)
{
    int rc = EP_OK;

    switch (m->type) {
    case EP_MSG_HELLO:
        rc = ep_check_str(m->body.hello.model.len, m->body.hello.model.bytes, 0u,
                          EP_HELLO_MODEL_MAX, 1);
        if (rc == EP_OK) {
            rc = ep_check_str(m->body.hello.firmware_version.len,
                              m->body.hello.firmware_version.bytes, 0u, EP_HELLO_FIRMWARE_MAX, 1);
        }
        break;
    case EP_MSG_SHOW_RESULT:
        rc = ep_check_str(m->body.show_result.code.len, m->body.show_result.code.bytes,
                          EP_RESULT_CODE_MIN, EP_RESULT_CODE_MAX, 1);
        if (rc == EP_OK) {
            rc = ep_check_str(m->body.show_result.text.len, m->body.show_result.text.bytes, 0u,
                              EP_RESULT_TEXT_MAX, 0);
        }
        break;
    case EP_MSG_ERROR:
        rc = ep_check_str(m->body.error.text.len, m->body.error.text.bytes, 0u,
                          EP_ERROR_TEXT_MAX, 0);
        break;
    case EP_MSG_SEALED_CARD:
        if (m->body.sealed_card.sealed_len < EP_SEALED_MIN ||
            m->body.sealed_card.sealed_len > EP_SEALED_MAX) {
            rc = EP_ERR_MSG_STRING;
        }
        break;
    default:
        break;
    }
    return rc;
}

int ep_msg_encode(const ep_message *m, uint8_t *out, size_t out_cap)
{
    ep_writer w;
    int rc;

    if (m == NULL || (out == NULL && out_cap != 0u)) {
        return EP_ERR_ARG;
    }
    if (!ep_msg_type_known(m->type)) {
        return EP_ERR_MSG_UNKNOWN_TYPE;
    }
    rc = ep_check_strings(m);
    if (rc == EP_OK) {
        rc = ep_check_values(m);
    }
    if (rc != EP_OK) {
        return rc;
    }
    w.out = out;
    w.cap = out_cap;
    w.pos = 0;
    w.error = EP_OK;

    switch (m->type) {
    case EP_MSG_HELLO:
        ep_put_uint(&w, m->body.hello.protocol_version, 1u);
        ep_put_uint(&w, m->body.hello.capabilities, 1u);
        ep_put_uint(&w, m->body.hello.max_payload, 2u);
        ep_put_str(&w, m->body.hello.model.len, m->body.hello.model.bytes);
        ep_put_str(&w, m->body.hello.firmware_version.len, m->body.hello.firmware_version.bytes);
        break;
    case EP_MSG_AUTH_CHALLENGE:
        ep_put(&w, m->body.auth_challenge.node_nonce, EP_NONCE_LEN);
        break;
    case EP_MSG_AUTH_RESPONSE:
        ep_put(&w, m->body.auth_response.reader_key, EP_READER_KEY_LEN);
        ep_put(&w, m->body.auth_response.reader_nonce, EP_NONCE_LEN);
        ep_put(&w, m->body.auth_response.signature, EP_SIGNATURE_LEN);
        break;
    case EP_MSG_SEALED_CARD: {
        const ep_msg_sealed_card *c = &m->body.sealed_card;
        if (c->sealed == NULL || (c->tlv == NULL && c->tlv_len != 0u)) {
            return EP_ERR_ARG;
        }
        /* sealed_len <= EP_SEALED_MAX here (checked above): no underflow. */
        if (c->tlv_len > EP_MAX_PAYLOAD - EP_SEALED_CARD_OVERHEAD - c->sealed_len) {
            return EP_ERR_PAYLOAD_TOO_LONG;
        }
        ep_put_uint(&w, c->txn_id, 4u);
        ep_put(&w, c->token, EP_TOKEN_LEN);
        ep_put(&w, (const uint8_t *)c->last4, EP_LAST4_LEN);
        ep_put_uint(&w, c->flags, 1u);
        ep_put_uint(&w, c->sealed_len, 2u);
        ep_put(&w, c->sealed, c->sealed_len);
        ep_put_uint(&w, c->tlv_len, 2u);
        ep_put(&w, c->tlv, c->tlv_len);
        ep_put(&w, c->signature, EP_SIGNATURE_LEN);
        break;
    }
    case EP_MSG_START_TXN:
        ep_put_uint(&w, m->body.start_txn.txn_id, 4u);
        ep_put_uint(&w, m->body.start_txn.amount_minor, 8u);
        ep_put_uint(&w, m->body.start_txn.currency_numeric, 2u);
        ep_put_uint(&w, m->body.start_txn.timeout_s, 2u);
        break;
    case EP_MSG_CARD_DATA:
        if (m->body.card_data.tlv_len > EP_CARD_DATA_TLV_MAX) {
            return EP_ERR_PAYLOAD_TOO_LONG;
        }
        if (m->body.card_data.tlv == NULL && m->body.card_data.tlv_len != 0u) {
            return EP_ERR_ARG;
        }
        ep_put_uint(&w, m->body.card_data.txn_id, 4u);
        ep_put(&w, m->body.card_data.tlv, m->body.card_data.tlv_len);
        break;
    case EP_MSG_SHOW_RESULT:
        ep_put_uint(&w, m->body.show_result.txn_id, 4u);
        ep_put_uint(&w, m->body.show_result.approved, 1u);
        ep_put_str(&w, m->body.show_result.code.len, m->body.show_result.code.bytes);
        ep_put_str(&w, m->body.show_result.text.len, m->body.show_result.text.bytes);
        break;
    case EP_MSG_CANCEL:
        ep_put_uint(&w, m->body.cancel.txn_id, 4u);
        break;
    case EP_MSG_TXN_ENDED:
        ep_put_uint(&w, m->body.txn_ended.txn_id, 4u);
        ep_put_uint(&w, m->body.txn_ended.reason, 1u);
        break;
    case EP_MSG_STATUS:
        ep_put_uint(&w, m->body.status.state, 1u);
        ep_put_uint(&w, m->body.status.flags, 1u);
        break;
    case EP_MSG_ERROR:
        ep_put_uint(&w, m->body.error.code, 1u);
        ep_put_str(&w, m->body.error.text.len, m->body.error.text.bytes);
        break;
    case EP_MSG_NAK:
        ep_put_uint(&w, m->body.nak.reason, 1u);
        break;
    default: /* ACK, STATUS_REQUEST: empty */
        break;
    }
    if (w.error != EP_OK) {
        return w.error;
    }
    EP_ASSERT(w.pos <= EP_MAX_PAYLOAD);
    return (int)w.pos;
}

/* ---- decode ---- */

int ep_msg_decode(uint8_t type, const uint8_t *payload, size_t len, ep_message *m)
{
    ep_reader r;

    if (m == NULL || (payload == NULL && len != 0u)) {
        return EP_ERR_ARG;
    }
    if (!ep_msg_type_known(type)) {
        return EP_ERR_MSG_UNKNOWN_TYPE;
    }
    if (len > EP_MAX_PAYLOAD) {
        return EP_ERR_MSG_LENGTH;
    }
    memset(m, 0, sizeof(*m));
    m->type = type;
    r.in = payload;
    r.len = len;
    r.pos = 0;
    r.error = EP_OK;

    switch (type) {
    case EP_MSG_HELLO:
        m->body.hello.protocol_version = (uint8_t)ep_get_uint(&r, 1u);
        m->body.hello.capabilities = (uint8_t)ep_get_uint(&r, 1u);
        m->body.hello.max_payload = (uint16_t)ep_get_uint(&r, 2u);
        m->body.hello.model.len = ep_get_str(&r, 0u, EP_HELLO_MODEL_MAX, 1,
                                             m->body.hello.model.bytes);
        m->body.hello.firmware_version.len = ep_get_str(&r, 0u, EP_HELLO_FIRMWARE_MAX, 1,
                                                        m->body.hello.firmware_version.bytes);
        break;
    case EP_MSG_AUTH_CHALLENGE:
        ep_get_bytes(&r, m->body.auth_challenge.node_nonce, EP_NONCE_LEN);
        break;
    case EP_MSG_AUTH_RESPONSE:
        ep_get_bytes(&r, m->body.auth_response.reader_key, EP_READER_KEY_LEN);
        ep_get_bytes(&r, m->body.auth_response.reader_nonce, EP_NONCE_LEN);
        ep_get_bytes(&r, m->body.auth_response.signature, EP_SIGNATURE_LEN);
        break;
    case EP_MSG_SEALED_CARD: {
        ep_msg_sealed_card *c = &m->body.sealed_card;
        c->txn_id = (uint32_t)ep_get_uint(&r, 4u);
        ep_get_bytes(&r, c->token, EP_TOKEN_LEN);
        ep_get_bytes(&r, (uint8_t *)c->last4, EP_LAST4_LEN); /* NUL after: memset above */
        c->flags = (uint8_t)ep_get_uint(&r, 1u);
        c->sealed_len = ep_get_blob16(&r, EP_SEALED_MIN, EP_SEALED_MAX, &c->sealed);
        c->tlv_len = ep_get_blob16(&r, 0u, EP_MAX_PAYLOAD, &c->tlv);
        ep_get_bytes(&r, c->signature, EP_SIGNATURE_LEN);
        break;
    }
    case EP_MSG_START_TXN:
        m->body.start_txn.txn_id = (uint32_t)ep_get_uint(&r, 4u);
        m->body.start_txn.amount_minor = ep_get_uint(&r, 8u);
        m->body.start_txn.currency_numeric = (uint16_t)ep_get_uint(&r, 2u);
        m->body.start_txn.timeout_s = (uint16_t)ep_get_uint(&r, 2u);
        break;
    case EP_MSG_CARD_DATA:
        m->body.card_data.txn_id = (uint32_t)ep_get_uint(&r, 4u);
        if (r.error == EP_OK) {
            m->body.card_data.tlv = payload + r.pos;
            m->body.card_data.tlv_len = len - r.pos;
            r.pos = len;
        }
        break;
    case EP_MSG_SHOW_RESULT:
        m->body.show_result.txn_id = (uint32_t)ep_get_uint(&r, 4u);
        m->body.show_result.approved = (uint8_t)ep_get_uint(&r, 1u);
        m->body.show_result.code.len = ep_get_str(&r, EP_RESULT_CODE_MIN, EP_RESULT_CODE_MAX, 1,
                                                  m->body.show_result.code.bytes);
        m->body.show_result.text.len = ep_get_str(&r, 0u, EP_RESULT_TEXT_MAX, 0,
                                                  m->body.show_result.text.bytes);
        break;
    case EP_MSG_CANCEL:
        m->body.cancel.txn_id = (uint32_t)ep_get_uint(&r, 4u);
        break;
    case EP_MSG_TXN_ENDED:
        m->body.txn_ended.txn_id = (uint32_t)ep_get_uint(&r, 4u);
        m->body.txn_ended.reason = (uint8_t)ep_get_uint(&r, 1u);
        break;
    case EP_MSG_STATUS:
        m->body.status.state = (uint8_t)ep_get_uint(&r, 1u);
        m->body.status.flags = (uint8_t)ep_get_uint(&r, 1u);
        break;
    case EP_MSG_ERROR:
        m->body.error.code = (uint8_t)ep_get_uint(&r, 1u);
        m->body.error.text.len = ep_get_str(&r, 0u, EP_ERROR_TEXT_MAX, 0,
                                            m->body.error.text.bytes);
        break;
    case EP_MSG_NAK:
        m->body.nak.reason = (uint8_t)ep_get_uint(&r, 1u);
        break;
    default: /* ACK, STATUS_REQUEST: empty */
        break;
    }
    if (r.error != EP_OK) {
        return r.error;
    }
    if (r.pos != len) {
        return EP_ERR_MSG_LENGTH; /* trailing bytes */
    }
    return ep_check_values(m);
}
