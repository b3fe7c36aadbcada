/*
 * Strict BER-TLV parser for CARD_DATA (PROTOCOL.md section 7).
 *
 * - Tags of 1 to EP_TLV_MAX_TAG_BYTES bytes (0x1F low bits: more bytes follow
 *   while bit 8 of the last one is set).
 * - Lengths 0x00-0x7F, 0x81 nn, 0x82 nn nn, 0x83 nn nn nn; 0x80 (indefinite)
 *   and 0x84+ are refused.
 * - Constructed tags (bit 6 of the first byte) are parsed into their children;
 *   top-level objects are at depth 1, and nothing may sit deeper than
 *   EP_TLV_MAX_DEPTH.
 * - 0x00 bytes where an object could start are padding and skipped, at every
 *   level (EMV Book 3 annex B1); padding is not an object.
 * - Every container (and the input) must be consumed exactly.
 * - At most EP_TLV_MAX_INPUT bytes of input and EP_TLV_MAX_OBJECTS objects.
 *
 * No allocation: objects go into the caller's array, in document order
 * (pre-order: a parent before its children), and point into the input.
 */
#ifndef EP_TLV_H
#define EP_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define EP_TLV_MAX_INPUT 1024u
#define EP_TLV_MAX_OBJECTS 64u
#define EP_TLV_MAX_DEPTH 8u
#define EP_TLV_MAX_TAG_BYTES 3u
#define EP_TLV_MAX_LENGTH_BYTES 3u /* after the 0x8n prefix */
#define EP_TLV_NO_PARENT (-1)
#define EP_TLV_PADDING 0x00u /* skipped where an object could start (EMV Book 3 annex B1) */

typedef struct {
    uint32_t tag;          /* tag bytes big-endian: 0x5A, 0x9F02, 0xBF0C, ... */
    uint8_t tag_len;       /* 1..EP_TLV_MAX_TAG_BYTES */
    uint8_t constructed;   /* 1 when bit 6 of the first tag byte is set */
    uint8_t depth;         /* 1 for top-level objects, up to EP_TLV_MAX_DEPTH */
    int16_t parent;        /* index of the enclosing object, or EP_TLV_NO_PARENT */
    uint16_t offset;       /* where the tag starts in the input */
    uint16_t value_len;    /* <= EP_TLV_MAX_INPUT */
    const uint8_t *value;  /* points into the input; for constructed objects the
                            * children's encoding */
} ep_tlv_object;

/* Parse data[0..len). On success returns EP_OK and sets *count (0 for empty
 * input). On failure returns the first problem in parse order (depth first,
 * left to right), one of EP_ERR_TLV_TRUNCATED, EP_ERR_TLV_INDEFINITE_LENGTH,
 * EP_ERR_TLV_LENGTH_TOO_LONG, EP_ERR_TLV_TAG_TOO_LONG, EP_ERR_TLV_TOO_DEEP,
 * EP_ERR_TLV_TOO_MANY_OBJECTS, EP_ERR_TLV_TOO_LONG. too_long is checked before
 * parsing. Wherever a container (or the input) still has bytes an object
 * starts, and too_deep, then too_many_objects, are checked before its tag is
 * read. Also EP_ERR_TLV_NO_SPACE when capacity is below EP_TLV_MAX_OBJECTS and
 * the input needs more, and EP_ERR_ARG. On failure *count is 0 and the array
 * contents are unspecified. */
int ep_tlv_parse(const uint8_t *data, size_t len, ep_tlv_object *objects, size_t capacity,
                 size_t *count);

/* First object with this tag (any depth, document order), or null. */
const ep_tlv_object *ep_tlv_find(const ep_tlv_object *objects, size_t count, uint32_t tag);

/* First child of objects[parent] with this tag, or null. */
const ep_tlv_object *ep_tlv_find_child(const ep_tlv_object *objects, size_t count, size_t parent,
                                       uint32_t tag);

#endif /* EP_TLV_H */
