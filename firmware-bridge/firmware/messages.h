/*
 * Message payloads (PROTOCOL.md section 5): typed structs, strict encode and
 * decode. Integers are big-endian; `str` is a length byte and that many bytes.
 *
 * Decoding refuses (each maps to NAK reason 5 through ep_nak_reason_for()):
 * - a payload shorter or longer than the layout (EP_ERR_MSG_LENGTH),
 * - a string or a u16-length byte field (SEALED_CARD sealed, tlv) running past
 *   the payload, over its limit, or under its minimum (EP_ERR_MSG_STRING),
 * - a non-ASCII byte in an ASCII field, invalid UTF-8 in a text field, or a
 *   non-digit in SEALED_CARD last4 (EP_ERR_MSG_ENCODING),
 * - an enumerated value outside its documented range: SHOW_RESULT approved,
 *   TXN_ENDED reason, STATUS state, NAK reason, a SEALED_CARD flags bit other
 *   than bit 0 (EP_ERR_MSG_VALUE).
 * An unknown TYPE is EP_ERR_MSG_UNKNOWN_TYPE (NAK reason 4). Bit fields
 * (HELLO capabilities, STATUS flags) accept every bit so that new bits stay
 * compatible, as do HELLO protocolVersion (the application refuses other
 * versions with ERROR code 1) and maxPayload.
 * Encoding applies the same rules to the struct, so decode(encode(m)) == m and
 * encode(decode(p)) == p.
 */
#ifndef EP_MESSAGES_H
#define EP_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define EP_MSG_HELLO 0x01u
#define EP_MSG_AUTH_CHALLENGE 0x02u /* 1.1, node -> reader */
#define EP_MSG_AUTH_RESPONSE 0x03u  /* 1.1, reader -> node */
#define EP_MSG_ACK 0x06u
#define EP_MSG_NAK 0x15u
#define EP_MSG_START_TXN 0x10u
#define EP_MSG_CARD_DATA 0x11u
#define EP_MSG_SHOW_RESULT 0x12u
#define EP_MSG_CANCEL 0x13u
#define EP_MSG_TXN_ENDED 0x14u
#define EP_MSG_SEALED_CARD 0x16u    /* 1.1, reader -> node: replaces CARD_DATA in a secure session */
#define EP_MSG_STATUS_REQUEST 0x20u
#define EP_MSG_STATUS 0x21u
#define EP_MSG_ERROR 0x7Fu

#define EP_PROTOCOL_VERSION 1u /* 1.1 adds messages within major version 1 */

#define EP_HELLO_CAP_CONTACT 0x01u
#define EP_HELLO_CAP_CONTACTLESS 0x02u
#define EP_HELLO_CAP_DISPLAY 0x04u
/* 1.1: reader: holds a signing key, the token key and the centre's seal key
 * (authenticates and seals); node: offers secure sessions. */
#define EP_HELLO_CAP_SECURE_SESSION 0x08u

/* ERROR codes. 6..127 are reserved and 128..255 the maker's own: a node reads
 * both as a fault. */
#define EP_ERROR_CODE_INCOMPATIBLE 1u            /* node: version or lane requirement */
#define EP_ERROR_CODE_BUSY 2u                    /* reader */
#define EP_ERROR_CODE_FAULT 3u                   /* reader */
#define EP_ERROR_CODE_AUTHENTICATION_FAILED 4u   /* node -> reader: AUTH_RESPONSE refused */
#define EP_ERROR_CODE_SECURE_SESSION_REQUIRED 5u /* reader -> node: START_TXN before an accepted AUTH */

#define EP_TXN_ENDED_CANCELLED_BY_NODE 1u
#define EP_TXN_ENDED_NO_CARD 2u
#define EP_TXN_ENDED_CARD_REMOVED 3u
#define EP_TXN_ENDED_CANCELLED_ON_READER 4u
#define EP_TXN_ENDED_RESULT_SHOWN 5u

#define EP_STATE_IDLE 0u
#define EP_STATE_WAITING_FOR_CARD 1u
#define EP_STATE_READING 2u
#define EP_STATE_SHOWING_RESULT 3u
#define EP_STATE_FAULT 4u
#define EP_STATUS_FLAG_CARD_PRESENT 0x01u

/* String limits, in bytes. */
#define EP_HELLO_MODEL_MAX 32u
#define EP_HELLO_FIRMWARE_MAX 32u
#define EP_RESULT_CODE_MIN 1u
#define EP_RESULT_CODE_MAX 4u
#define EP_RESULT_TEXT_MAX 64u
#define EP_ERROR_TEXT_MAX 128u

/* Largest payload of any message but CARD_DATA and SEALED_CARD (ERROR: 1 + 1 + 128). */
#define EP_MSG_FIXED_PAYLOAD_MAX 130u
#define EP_CARD_DATA_TLV_MAX (1024u - 4u)

/* Secure session field sizes (1.1). */
#define EP_NONCE_LEN 32u
#define EP_READER_KEY_LEN 32u  /* Ed25519 public key, raw */
#define EP_SIGNATURE_LEN 64u   /* Ed25519 */
#define EP_TOKEN_LEN 32u       /* HMAC-SHA256 */
#define EP_LAST4_LEN 4u
#define EP_SEALED_MIN 49u      /* a libsodium sealed box of at least one byte */
#define EP_SEALED_MAX 512u
#define EP_SEALED_CARD_FLAG_LUHN_VALID 0x01u /* the only flag; other bits must be 0 */
/* SEALED_CARD bytes besides sealed and tlv: txnId, token, last4, flags, the
 * two u16 lengths, signature. */
#define EP_SEALED_CARD_OVERHEAD (4u + EP_TOKEN_LEN + EP_LAST4_LEN + 1u + 2u + 2u + EP_SIGNATURE_LEN)
#define EP_SEALED_CARD_TLV_MAX (1024u - EP_SEALED_CARD_OVERHEAD - EP_SEALED_MIN)

/* Strings keep their length (authoritative) and a NUL after the bytes for
 * convenience; text may itself contain NUL bytes. */
typedef struct { uint8_t len; char bytes[EP_HELLO_MODEL_MAX + 1u]; } ep_str32;
typedef struct { uint8_t len; char bytes[EP_RESULT_CODE_MAX + 1u]; } ep_str4;
typedef struct { uint8_t len; char bytes[EP_RESULT_TEXT_MAX + 1u]; } ep_str64;
typedef struct { uint8_t len; char bytes[EP_ERROR_TEXT_MAX + 1u]; } ep_str128;

typedef struct {
    uint8_t protocol_version;
    uint8_t capabilities;
    uint16_t max_payload;
    ep_str32 model;            /* ASCII, <= 32 */
    ep_str32 firmware_version; /* ASCII, <= 32 */
} ep_msg_hello;

typedef struct {
    uint32_t txn_id;
    uint64_t amount_minor;
    uint16_t currency_numeric; /* ISO 4217 numeric */
    uint16_t timeout_s;
} ep_msg_start_txn;

typedef struct {
    uint32_t txn_id;
    const uint8_t *tlv; /* decode: points into the payload; encode: caller's bytes */
    size_t tlv_len;     /* <= EP_CARD_DATA_TLV_MAX */
} ep_msg_card_data;

/* AUTH_CHALLENGE: fresh random bytes per challenge. */
typedef struct { uint8_t node_nonce[EP_NONCE_LEN]; } ep_msg_auth_challenge;

/* AUTH_RESPONSE: signature = Ed25519("EDGEPAY-READER-AUTH-1" || nodeNonce ||
 * readerNonce || readerKey), see secure.h. */
typedef struct {
    uint8_t reader_key[EP_READER_KEY_LEN];
    uint8_t reader_nonce[EP_NONCE_LEN];
    uint8_t signature[EP_SIGNATURE_LEN];
} ep_msg_auth_response;

/* SEALED_CARD: txnId u32, token[32], last4[4] ASCII digits, flags u8 (bit 0
 * only), sealedLen u16 (49..512) + sealed, tlvLen u16 + tlv, signature[64];
 * the payload at most 1024 bytes. sealed and tlv point into the payload after
 * decoding (the caller's bytes when encoding). */
typedef struct {
    uint32_t txn_id;
    uint8_t token[EP_TOKEN_LEN];
    char last4[EP_LAST4_LEN + 1u]; /* 4 digits, NUL after them */
    uint8_t flags;
    uint8_t signature[EP_SIGNATURE_LEN];
    const uint8_t *sealed;
    size_t sealed_len;             /* EP_SEALED_MIN..EP_SEALED_MAX */
    const uint8_t *tlv;
    size_t tlv_len;
} ep_msg_sealed_card;

typedef struct {
    uint32_t txn_id;
    uint8_t approved; /* 0 or 1 */
    ep_str4 code;     /* ASCII, 1..4 */
    ep_str64 text;    /* UTF-8, <= 64 */
} ep_msg_show_result;

typedef struct { uint32_t txn_id; } ep_msg_cancel;
typedef struct { uint32_t txn_id; uint8_t reason; /* 1..5 */ } ep_msg_txn_ended;
typedef struct { uint8_t state; /* 0..4 */ uint8_t flags; } ep_msg_status;
typedef struct { uint8_t code; ep_str128 text; /* UTF-8, <= 128 */ } ep_msg_error;
typedef struct { uint8_t reason; /* 1..5 */ } ep_msg_nak;

typedef struct {
    uint8_t type; /* EP_MSG_* */
    union {
        ep_msg_hello hello;
        ep_msg_auth_challenge auth_challenge;
        ep_msg_auth_response auth_response;
        ep_msg_sealed_card sealed_card;
        ep_msg_start_txn start_txn;
        ep_msg_card_data card_data;
        ep_msg_show_result show_result;
        ep_msg_cancel cancel;
        ep_msg_txn_ended txn_ended;
        ep_msg_status status;
        ep_msg_error error;
        ep_msg_nak nak;
    } body; /* ACK and STATUS_REQUEST have no body */
} ep_message;

/* Encode m's payload into out[0..out_cap). Returns the payload length, or
 * EP_ERR_MSG_UNKNOWN_TYPE, EP_ERR_MSG_STRING, EP_ERR_MSG_ENCODING,
 * EP_ERR_MSG_VALUE, EP_ERR_PAYLOAD_TOO_LONG (CARD_DATA, SEALED_CARD over 1024
 * bytes), EP_ERR_BUFFER_TOO_SMALL, EP_ERR_ARG (a null CARD_DATA tlv, SEALED_CARD
 * sealed or tlv with a non-zero length). To build a frame without a second buffer, encode at
 * frame_buf + EP_FRAME_PAYLOAD_OFFSET and call ep_frame_seal(). */
int ep_msg_encode(const ep_message *m, uint8_t *out, size_t out_cap);

/* Decode a payload of the given TYPE into *m (which may alias nothing in
 * payload; CARD_DATA's tlv and SEALED_CARD's sealed and tlv point into payload). Returns EP_OK or a code
 * listed at the top of this file; *m is unspecified on error. */
int ep_msg_decode(uint8_t type, const uint8_t *payload, size_t len, ep_message *m);

/* 1 when the byte is a message TYPE of protocol version 1 (1.1 included). */
int ep_msg_type_known(uint8_t type);

/* Checks used by encode and decode, exposed for firmware that builds text. */
int ep_is_ascii(const uint8_t *bytes, size_t len);
int ep_is_utf8(const uint8_t *bytes, size_t len);

#endif /* EP_MESSAGES_H */
