/*
 * Message payloads (PROTOCOL.md section 3): typed structs, strict encode and
 * decode. Integers are big-endian; `str` is a length byte and that many bytes.
 *
 * Decoding refuses (each maps to NAK reason 5 through ep_nak_reason_for()):
 * - a payload shorter or longer than the layout (EP_ERR_MSG_LENGTH),
 * - a string running past the payload, over its limit, or empty where at
 *   least one byte is required (EP_ERR_MSG_STRING),
 * - a non-ASCII byte in an ASCII field, or invalid UTF-8 in a text field
 *   (EP_ERR_MSG_ENCODING),
 * - an enumerated value outside its documented range: SHOW_RESULT approved,
 *   TXN_ENDED reason, STATUS state, NAK reason (EP_ERR_MSG_VALUE).
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
#define EP_MSG_ACK 0x06u
#define EP_MSG_NAK 0x15u
#define EP_MSG_START_TXN 0x10u
#define EP_MSG_CARD_DATA 0x11u
#define EP_MSG_SHOW_RESULT 0x12u
#define EP_MSG_CANCEL 0x13u
#define EP_MSG_TXN_ENDED 0x14u
#define EP_MSG_STATUS_REQUEST 0x20u
#define EP_MSG_STATUS 0x21u
#define EP_MSG_ERROR 0x7Fu

#define EP_PROTOCOL_VERSION 1u

#define EP_HELLO_CAP_CONTACT 0x01u
#define EP_HELLO_CAP_CONTACTLESS 0x02u
#define EP_HELLO_CAP_DISPLAY 0x04u

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

/* Largest payload of any message but CARD_DATA (ERROR: 1 + 1 + 128). */
#define EP_MSG_FIXED_PAYLOAD_MAX 130u
#define EP_CARD_DATA_TLV_MAX (1024u - 4u)

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
 * EP_ERR_MSG_VALUE, EP_ERR_PAYLOAD_TOO_LONG (CARD_DATA), EP_ERR_BUFFER_TOO_SMALL,
 * EP_ERR_ARG. To build a frame without a second buffer, encode at
 * frame_buf + EP_FRAME_PAYLOAD_OFFSET and call ep_frame_seal(). */
int ep_msg_encode(const ep_message *m, uint8_t *out, size_t out_cap);

/* Decode a payload of the given TYPE into *m (which may alias nothing in
 * payload; CARD_DATA's tlv points into payload). Returns EP_OK or a code
 * listed at the top of this file; *m is unspecified on error. */
int ep_msg_decode(uint8_t type, const uint8_t *payload, size_t len, ep_message *m);

/* 1 when the byte is a message TYPE of protocol version 1. */
int ep_msg_type_known(uint8_t type);

/* Checks used by encode and decode, exposed for firmware that builds text. */
int ep_is_ascii(const uint8_t *bytes, size_t len);
int ep_is_utf8(const uint8_t *bytes, size_t len);

#endif /* EP_MESSAGES_H */
