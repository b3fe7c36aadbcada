#include "errors.h"

const char *ep_error_name(int code)
{
    switch (code) {
    case EP_OK: return "ok";
    case EP_ERR_ARG: return "bad_argument";
    case EP_ERR_BUFFER_TOO_SMALL: return "buffer_too_small";
    case EP_ERR_PAYLOAD_TOO_LONG: return "payload_too_long";
    case EP_ERR_REENTRANT: return "reentrant";
    case EP_ERR_BAD_CRC: return "bad_crc";
    case EP_ERR_BAD_END: return "bad_end";
    case EP_ERR_OVERSIZE: return "oversize";
    case EP_ERR_UNDERSIZE: return "undersize";
    case EP_ERR_TLV_TRUNCATED: return "truncated";
    case EP_ERR_TLV_INDEFINITE_LENGTH: return "indefinite_length";
    case EP_ERR_TLV_LENGTH_TOO_LONG: return "length_too_long";
    case EP_ERR_TLV_TAG_TOO_LONG: return "tag_too_long";
    case EP_ERR_TLV_TOO_DEEP: return "too_deep";
    case EP_ERR_TLV_TOO_MANY_OBJECTS: return "too_many_objects";
    case EP_ERR_TLV_TOO_LONG: return "too_long";
    case EP_ERR_TLV_NO_SPACE: return "no_space";
    case EP_ERR_MSG_UNKNOWN_TYPE: return "unknown_type";
    case EP_ERR_MSG_LENGTH: return "bad_length";
    case EP_ERR_MSG_STRING: return "bad_string";
    case EP_ERR_MSG_ENCODING: return "bad_encoding";
    case EP_ERR_MSG_VALUE: return "bad_value";
    case EP_ERR_SECURE_CRYPTO: return "crypto_failure";
    case EP_ERR_SECURE_BAD_PAN: return "bad_pan";
    case EP_ERR_SECURE_BAD_EXPIRY: return "bad_expiry";
    case EP_ERR_SECURE_CLEAR_TAG: return "clear_card_tag";
    case EP_ERR_SECURE_PAN_IN_TLV: return "pan_in_tlv";
    case EP_ERR_SECURE_WRONG_KEY: return "wrong_reader_key";
    case EP_ERR_SECURE_BAD_SIGNATURE: return "bad_signature";
    case EP_ERR_SECURE_TLV_MANDATORY: return "tlv_mandatory_tag";
    default: return "unknown_error";
    }
}

uint8_t ep_nak_reason_for(int code)
{
    switch (code) {
    case EP_ERR_BAD_CRC: return EP_NAK_BAD_CRC;
    case EP_ERR_BAD_END: return EP_NAK_BAD_END;
    case EP_ERR_OVERSIZE:
    case EP_ERR_UNDERSIZE: return EP_NAK_BAD_LENGTH;
    case EP_ERR_MSG_UNKNOWN_TYPE: return EP_NAK_UNKNOWN_TYPE;
    case EP_ERR_MSG_LENGTH:
    case EP_ERR_MSG_STRING:
    case EP_ERR_MSG_ENCODING:
    case EP_ERR_MSG_VALUE:
    case EP_ERR_TLV_TRUNCATED:
    case EP_ERR_TLV_INDEFINITE_LENGTH:
    case EP_ERR_TLV_LENGTH_TOO_LONG:
    case EP_ERR_TLV_TAG_TOO_LONG:
    case EP_ERR_TLV_TOO_DEEP:
    case EP_ERR_TLV_TOO_MANY_OBJECTS:
    case EP_ERR_TLV_TOO_LONG: return EP_NAK_MALFORMED;
    default: return 0;
    }
}
