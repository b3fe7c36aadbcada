/*
 * Status codes shared by every module of the edgepay reader firmware library.
 *
 * Every function that can fail returns an int: 0 (EP_OK) or a non-negative
 * length on success, one of the negative codes below on failure. The codes are
 * stable: firmware may log them or branch on them, and ep_error_name() gives
 * the protocol's own names ("bad_crc", "truncated", ...) used in vectors.json.
 */
#ifndef EP_ERRORS_H
#define EP_ERRORS_H

#include <stdint.h>

#ifndef EP_ASSERT
/* Integrators may define EP_ASSERT to their own fault handler before including
 * any library header (for example to reset the MCU); the default is assert(). */
#include <assert.h>
#define EP_ASSERT(condition) assert(condition)
#endif

enum {
    EP_OK = 0,

    /* Caller mistakes: null pointer, buffer too small, value out of range. */
    EP_ERR_ARG = -1,
    EP_ERR_BUFFER_TOO_SMALL = -2,
    EP_ERR_PAYLOAD_TOO_LONG = -3,
    EP_ERR_REENTRANT = -4, /* decoder called from its own callback */

    /* Frame decoder (PROTOCOL.md section 2). */
    EP_ERR_BAD_CRC = -10,
    EP_ERR_BAD_END = -11,
    EP_ERR_OVERSIZE = -12,
    EP_ERR_UNDERSIZE = -13,

    /* BER-TLV parser (PROTOCOL.md section 7). */
    EP_ERR_TLV_TRUNCATED = -20,
    EP_ERR_TLV_INDEFINITE_LENGTH = -21,
    EP_ERR_TLV_LENGTH_TOO_LONG = -22,
    EP_ERR_TLV_TAG_TOO_LONG = -23,
    EP_ERR_TLV_TOO_DEEP = -24,
    EP_ERR_TLV_TOO_MANY_OBJECTS = -25,
    EP_ERR_TLV_TOO_LONG = -26,
    EP_ERR_TLV_NO_SPACE = -27, /* caller's object array smaller than the input needs */

    /* Message payloads (PROTOCOL.md section 5). */
    EP_ERR_MSG_UNKNOWN_TYPE = -30, /* NAK reason 4 */
    EP_ERR_MSG_LENGTH = -31,       /* payload shorter or longer than the layout */
    EP_ERR_MSG_STRING = -32,       /* string past the payload, over its limit, or empty where 1+ is required */
    EP_ERR_MSG_ENCODING = -33,     /* non-ASCII byte in an ASCII field, or invalid UTF-8 */
    EP_ERR_MSG_VALUE = -34,        /* enumerated field out of its documented range */

    /* Secure session (secure.h): refusals of the reader's own inputs and
     * failed checks. None of them is a NAK: a reader fixes its input, a node
     * refuses the transaction or the authentication. */
    EP_ERR_SECURE_CRYPTO = -40,     /* libsodium failed to initialise or to seal */
    EP_ERR_SECURE_BAD_PAN = -41,    /* PAN not 12..19 ASCII digits */
    EP_ERR_SECURE_BAD_EXPIRY = -42, /* expiry not YYMM with month 01..12, or not 5F24's YYMM */
    EP_ERR_SECURE_CLEAR_TAG = -43,  /* TLV holds 5A, 56, 57, 5F20, 9F1F, 9F20 or 9F6B */
    EP_ERR_SECURE_PAN_IN_TLV = -44, /* TLV holds the PAN's digits (ASCII or BCD) under another tag */
    EP_ERR_SECURE_WRONG_KEY = -45,  /* AUTH_RESPONSE names a key other than the pinned one */
    EP_ERR_SECURE_BAD_SIGNATURE = -46, /* Ed25519 signature does not verify */
    EP_ERR_SECURE_TLV_MANDATORY = -47  /* TLV lacks 9F02, 5F2A or 5F24, or holds one twice */
};

/* NAK reasons (PROTOCOL.md section 3.2). */
enum {
    EP_NAK_BAD_CRC = 1,
    EP_NAK_BAD_END = 2,
    EP_NAK_BAD_LENGTH = 3,
    EP_NAK_UNKNOWN_TYPE = 4,
    EP_NAK_MALFORMED = 5
};

/* Stable lowercase name of a code ("ok", "bad_crc", "truncated", ...); never null. */
const char *ep_error_name(int code);

/* The NAK reason a receiver sends for a decoder or message error, or 0 when the
 * code is not something a peer is NAKed for (EP_OK, caller mistakes, the
 * EP_ERR_SECURE_* codes). TLV errors inside CARD_DATA map to EP_NAK_MALFORMED. */
uint8_t ep_nak_reason_for(int code);

#endif /* EP_ERRORS_H */
