/*
 * Unit tests for what vectors.json does not cover: argument checks, buffer
 * limits, reentrancy, decoder event details, TLV accessors, every message
 * refusal of PROTOCOL.md section 5, and the secure session's refusals (clear
 * tags, PAN, expiry). Prints failures and "unit: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crc16.h"
#include "errors.h"
#include "frame.h"
#include "messages.h"
#include "secure.h"
#include "tlv.h"

static unsigned passed;
static unsigned failed;

#define CHECK(cond) do { if (cond) { passed++; } else { failed++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)

/* ------------------------------------------------------------------ crc, encoder */

static void test_crc_and_encoder(void)
{
    static uint8_t out[EP_FRAME_MAX + 8u];
    static uint8_t payload[EP_MAX_PAYLOAD + 1u];
    uint8_t small[8];
    uint8_t overlap[32];
    int n;

    CHECK(ep_crc16((const uint8_t *)"123456789", 9) == 0x29B1u);
    CHECK(ep_crc16(NULL, 0) == 0xFFFFu);
    CHECK(ep_crc16_update(ep_crc16((const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5) == 0x29B1u);

    CHECK(ep_frame_encode(0, 6, NULL, 0, out, sizeof(out)) == 8);
    CHECK(ep_frame_encode(0, 6, NULL, 0, small, 8) == 8);
    CHECK(ep_frame_encode(0, 6, NULL, 0, small, 7) == EP_ERR_BUFFER_TOO_SMALL);
    CHECK(ep_frame_encode(0, 6, NULL, 1, out, sizeof(out)) == EP_ERR_ARG);
    CHECK(ep_frame_encode(0, 6, payload, 0, NULL, 0) == EP_ERR_ARG);
    CHECK(ep_frame_encode(0, 0x11, payload, EP_MAX_PAYLOAD, out, EP_FRAME_MAX) == (int)EP_FRAME_MAX);
    CHECK(ep_frame_encode(0, 0x11, payload, EP_MAX_PAYLOAD, out, EP_FRAME_MAX - 1u) == EP_ERR_BUFFER_TOO_SMALL);
    CHECK(ep_frame_encode(0, 0x11, payload, EP_MAX_PAYLOAD + 1u, out, sizeof(out)) == EP_ERR_PAYLOAD_TOO_LONG);
    /* Errors leave the output untouched. */
    memset(small, 0xAA, sizeof(small));
    CHECK(ep_frame_encode(1, 2, payload, 4, small, sizeof(small)) == EP_ERR_BUFFER_TOO_SMALL && small[0] == 0xAA);

    /* The payload may overlap the output (moved, not copied). */
    memcpy(overlap, "\x01\x02\x03\x04", 4);
    n = ep_frame_encode(9, 0x13, overlap, 4, overlap, sizeof(overlap));
    CHECK(n == 12);
    CHECK(n == 12 && memcmp(overlap + EP_FRAME_PAYLOAD_OFFSET, "\x01\x02\x03\x04", 4) == 0 && overlap[0] == EP_STX);
    CHECK(ep_frame_seal(0, 6, NULL, 0, 8) == EP_ERR_ARG);
    CHECK(ep_frame_seal(0, 6, small, EP_MAX_PAYLOAD + 1u, sizeof(small)) == EP_ERR_PAYLOAD_TOO_LONG);
}

/* ------------------------------------------------------------------ decoder */

typedef struct {
    ep_decoder *self;
    ep_decoder_event events[16];
    size_t count;
    int reentrant_feed;
    int reentrant_reset;
} recorder;

static void record_event(void *ctx, const ep_decoder_event *event)
{
    recorder *r = ctx;
    uint8_t byte = 0;

    if (r->count < 16u) {
        r->events[r->count] = *event; /* pointers are only compared with null/len below */
        r->count++;
    }
    r->reentrant_feed = ep_decoder_feed(r->self, &byte, 1);
    r->reentrant_reset = ep_decoder_reset(r->self);
}

static void test_decoder(void)
{
    static ep_decoder d;
    recorder rec;
    uint8_t ack[8];
    uint8_t stream[64];
    size_t n;
    size_t i;

    memset(&rec, 0, sizeof(rec));
    rec.self = &d;
    CHECK(ep_decoder_init(NULL, record_event, NULL) == EP_ERR_ARG);
    CHECK(ep_decoder_init(&d, NULL, NULL) == EP_ERR_ARG);
    CHECK(ep_decoder_init(&d, record_event, &rec) == EP_OK);
    CHECK(ep_decoder_feed(&d, NULL, 1) == EP_ERR_ARG);
    CHECK(ep_decoder_feed(&d, NULL, 0) == EP_OK);
    CHECK(ep_decoder_feed(NULL, ack, 0) == EP_ERR_ARG);
    CHECK(ep_decoder_pending(NULL) == 0u);
    CHECK(ep_frame_encode(0x42, EP_MSG_ACK, NULL, 0, ack, sizeof(ack)) == 8);

    /* Reentrant calls are refused and do not disturb the decoder. */
    CHECK(ep_decoder_feed(&d, ack, sizeof(ack)) == EP_OK);
    CHECK(rec.count == 1u && rec.events[0].kind == EP_EVENT_FRAME && rec.events[0].seq == 0x42);
    CHECK(rec.reentrant_feed == EP_ERR_REENTRANT && rec.reentrant_reset == EP_ERR_REENTRANT);
    CHECK(rec.events[0].raw_len == 8u && rec.events[0].payload_len == 0u && rec.events[0].has_header == 1);
    CHECK(ep_decoder_pending(&d) == 0u);

    /* bad_crc carries the header (a NAK answers with that SEQ); oversize does not. */
    rec.count = 0;
    memcpy(stream, ack, 8);
    stream[5] ^= 0x01u;
    CHECK(ep_decoder_feed(&d, stream, 8) == EP_OK);
    CHECK(rec.count == 2u && rec.events[0].error == EP_ERR_BAD_CRC && rec.events[0].has_header == 1 &&
          rec.events[0].seq == 0x42 && rec.events[0].raw_len == 8u && rec.events[0].payload == NULL);
    /* The rescan from the byte after the rejected STX meets the ACK's own LEN
     * byte 0x02: a candidate with LEN 0x4206, reported as oversize. */
    CHECK(rec.count == 2u && rec.events[1].error == EP_ERR_OVERSIZE);
    CHECK(ep_nak_reason_for(rec.events[0].error) == EP_NAK_BAD_CRC);

    /* Oversize LEN whose low byte is a real frame's STX: that frame is found. */
    rec.count = 0;
    stream[0] = EP_STX;
    stream[1] = 0xFF;
    memcpy(stream + 2, ack, 8);
    CHECK(ep_decoder_feed(&d, stream, 10) == EP_OK);
    CHECK(rec.count == 2u && rec.events[0].error == EP_ERR_OVERSIZE && rec.events[0].has_header == 0 &&
          rec.events[0].seq == 0 && rec.events[0].raw_len == 3u && rec.events[1].kind == EP_EVENT_FRAME);
    CHECK(ep_nak_reason_for(EP_ERR_OVERSIZE) == EP_NAK_BAD_LENGTH && ep_nak_reason_for(EP_ERR_UNDERSIZE) == EP_NAK_BAD_LENGTH);

    /* A candidate whose LEN bytes hold an STX: rejected, then the frame starting inside its LEN is found. */
    rec.count = 0;
    stream[0] = EP_STX;
    stream[1] = 0x00;
    memcpy(stream + 2, ack, 8);
    CHECK(ep_decoder_feed(&d, stream, 10) == EP_OK);
    CHECK(rec.count == 2u && rec.events[0].kind == EP_EVENT_ERROR && rec.events[1].kind == EP_EVENT_FRAME &&
          rec.events[1].seq == 0x42);

    /* reset drops a partial candidate. */
    rec.count = 0;
    CHECK(ep_decoder_feed(&d, ack, 5) == EP_OK && ep_decoder_pending(&d) == 5u);
    CHECK(ep_decoder_reset(&d) == EP_OK && ep_decoder_pending(&d) == 0u);
    CHECK(ep_decoder_feed(&d, ack + 5, 3) == EP_OK && rec.count == 0u);
    CHECK(ep_decoder_reset(NULL) == EP_ERR_ARG);

    /* Worst case for memory: a run of STX bytes (each one a candidate of LEN 0x0202). */
    for (i = 0; i < 3000u; i++) {
        uint8_t stx = EP_STX;
        (void)ep_decoder_feed_byte(&d, stx);
        if (ep_decoder_pending(&d) > EP_FRAME_MAX) {
            break;
        }
    }
    CHECK(i == 3000u);
    n = ep_decoder_pending(&d);
    CHECK(n <= EP_FRAME_MAX && n > 0u);
}

/* ------------------------------------------------------------------ TLV */

static void test_tlv(void)
{
    static const uint8_t fci[] = {0x6F, 0x0A, 0x84, 0x02, 0xA0, 0x00, 0xA5, 0x04, 0x9F, 0x38, 0x01, 0x55};
    static const uint8_t three[] = {0x9F, 0x02, 0x01, 0x11, 0x5A, 0x01, 0x22, 0x5F, 0x24, 0x01, 0x33};
    ep_tlv_object objects[EP_TLV_MAX_OBJECTS];
    size_t count = 7;
    const ep_tlv_object *o;

    CHECK(ep_tlv_parse(fci, sizeof(fci), objects, EP_TLV_MAX_OBJECTS, &count) == EP_OK && count == 4u);
    CHECK(objects[0].tag == 0x6Fu && objects[0].constructed && objects[0].depth == 1u && objects[0].parent == EP_TLV_NO_PARENT);
    CHECK(objects[1].tag == 0x84u && objects[1].depth == 2u && objects[1].parent == 0 && objects[1].offset == 2u);
    CHECK(objects[2].tag == 0xA5u && objects[2].constructed && objects[2].value_len == 4u);
    CHECK(objects[3].tag == 0x9F38u && objects[3].tag_len == 2u && objects[3].depth == 3u && objects[3].parent == 2 &&
          objects[3].value == fci + 11 && objects[3].value_len == 1u);
    o = ep_tlv_find(objects, count, 0x9F38u);
    CHECK(o == &objects[3]);
    CHECK(ep_tlv_find(objects, count, 0x5Au) == NULL);
    CHECK(ep_tlv_find_child(objects, count, 0, 0x84u) == &objects[1]);
    CHECK(ep_tlv_find_child(objects, count, 0, 0x9F38u) == NULL); /* a grandchild, not a child */
    CHECK(ep_tlv_find_child(objects, count, 2, 0x9F38u) == &objects[3]);
    CHECK(ep_tlv_find_child(objects, count, 9, 0x84u) == NULL);

    /* Caller capacity below the protocol limit. */
    CHECK(ep_tlv_parse(three, sizeof(three), objects, 3, &count) == EP_OK && count == 3u);
    CHECK(ep_tlv_parse(three, sizeof(three), objects, 2, &count) == EP_ERR_TLV_NO_SPACE && count == 0u);
    CHECK(ep_tlv_parse(three, sizeof(three), NULL, 0, &count) == EP_ERR_TLV_NO_SPACE);
    CHECK(ep_tlv_parse(NULL, 0, NULL, 0, &count) == EP_OK && count == 0u);
    CHECK(ep_tlv_parse(NULL, 1, objects, 1, &count) == EP_ERR_ARG);
    CHECK(ep_tlv_parse(three, sizeof(three), objects, 3, NULL) == EP_ERR_ARG);
    /* A 0x83 length far past the input. */
    {
        static const uint8_t huge[] = {0x5A, 0x83, 0xFF, 0xFF, 0xFF, 0x00};
        CHECK(ep_tlv_parse(huge, sizeof(huge), objects, EP_TLV_MAX_OBJECTS, &count) == EP_ERR_TLV_TRUNCATED);
    }
    CHECK(ep_nak_reason_for(EP_ERR_TLV_TOO_DEEP) == EP_NAK_MALFORMED);
}

/* ------------------------------------------------------------------ messages */

static int decode_hex_rc(uint8_t type, const uint8_t *payload, size_t len)
{
    ep_message m;
    return ep_msg_decode(type, payload, len, &m);
}

static void test_message_refusals(void)
{
    uint8_t p[300];
    ep_message m;

    /* Unknown type: NAK 4. */
    CHECK(decode_hex_rc(0x99, NULL, 0) == EP_ERR_MSG_UNKNOWN_TYPE);
    CHECK(ep_nak_reason_for(EP_ERR_MSG_UNKNOWN_TYPE) == EP_NAK_UNKNOWN_TYPE);
    CHECK(ep_msg_decode(EP_MSG_ACK, NULL, 0, NULL) == EP_ERR_ARG);

    /* Lengths: empty messages take no bytes; fixed layouts exactly theirs. */
    memset(p, 0, sizeof(p));
    CHECK(decode_hex_rc(EP_MSG_ACK, p, 0) == EP_OK);
    CHECK(decode_hex_rc(EP_MSG_ACK, p, 1) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_STATUS_REQUEST, p, 1) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_CANCEL, p, 3) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_CANCEL, p, 5) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_START_TXN, p, 15) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_START_TXN, p, 17) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_CARD_DATA, p, 3) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_CARD_DATA, p, 4) == EP_OK);
    CHECK(decode_hex_rc(EP_MSG_NAK, p, 0) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_STATUS, p, 3) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_CARD_DATA, p, EP_MAX_PAYLOAD + 1u) == EP_ERR_MSG_LENGTH);

    /* Enumerations. */
    p[0] = 0; CHECK(decode_hex_rc(EP_MSG_NAK, p, 1) == EP_ERR_MSG_VALUE);
    p[0] = 6; CHECK(decode_hex_rc(EP_MSG_NAK, p, 1) == EP_ERR_MSG_VALUE);
    p[0] = 5; p[1] = 0xFF; CHECK(decode_hex_rc(EP_MSG_STATUS, p, 2) == EP_ERR_MSG_VALUE);
    p[0] = 4; CHECK(decode_hex_rc(EP_MSG_STATUS, p, 2) == EP_OK); /* any flag bits */
    memset(p, 0, 5); CHECK(decode_hex_rc(EP_MSG_TXN_ENDED, p, 5) == EP_ERR_MSG_VALUE);
    p[4] = 6; CHECK(decode_hex_rc(EP_MSG_TXN_ENDED, p, 5) == EP_ERR_MSG_VALUE);
    p[4] = 1; CHECK(decode_hex_rc(EP_MSG_TXN_ENDED, p, 5) == EP_OK);

    /* SHOW_RESULT: txnId, approved, code (ASCII 1..4), text (UTF-8 <= 64). */
    memcpy(p, "\x00\x00\x00\x07\x01\x02Y3\x02ok", 11);
    CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 11) == EP_OK);
    CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 12) == EP_ERR_MSG_LENGTH);   /* trailing byte */
    CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 10) == EP_ERR_MSG_STRING);   /* text past the payload */
    CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 8) == EP_ERR_MSG_LENGTH);    /* text length byte missing */
    p[4] = 2; CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 11) == EP_ERR_MSG_VALUE);
    p[4] = 1; p[5] = 0; memcpy(p + 6, "\x02ok", 3); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 9) == EP_ERR_MSG_STRING);
    memcpy(p + 5, "\x05" "ABCDE" "\x00", 7); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 12) == EP_ERR_MSG_STRING);
    memcpy(p + 5, "\x02" "\xC3\xA9" "\x00", 4); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 9) == EP_ERR_MSG_ENCODING);
    memcpy(p + 5, "\x01" "A" "\x02\xC3\xA9", 5); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 10) == EP_OK);
    memcpy(p + 5, "\x01" "A" "\x02\xC0\x80", 5); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 10) == EP_ERR_MSG_ENCODING);
    memcpy(p + 5, "\x01" "A" "\x03\xED\xA0\x80", 6); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 11) == EP_ERR_MSG_ENCODING);
    memcpy(p + 5, "\x01" "A" "\x04\xF4\x90\x80\x80", 7); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 12) == EP_ERR_MSG_ENCODING);
    memcpy(p + 5, "\x01" "A" "\x04\xF0\x9F\x92\xB3", 7); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 12) == EP_OK);
    memcpy(p + 5, "\x01" "A" "\x02\xE2\x82", 5); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 10) == EP_ERR_MSG_ENCODING);
    p[6] = 'A'; p[7] = 65; memset(p + 8, 'x', 65); CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 73) == EP_ERR_MSG_STRING);
    p[7] = 64; CHECK(decode_hex_rc(EP_MSG_SHOW_RESULT, p, 72) == EP_OK);

    /* HELLO strings: ASCII, <= 32; any version (the application refuses it with ERROR 1). */
    memcpy(p, "\x02\x07\x04\x00\x01M\x01" "1", 8); CHECK(decode_hex_rc(EP_MSG_HELLO, p, 8) == EP_OK);
    p[5] = (uint8_t)0xC3; CHECK(decode_hex_rc(EP_MSG_HELLO, p, 8) == EP_ERR_MSG_ENCODING);
    p[4] = 33; memset(p + 5, 'M', 33); p[38] = 0; CHECK(decode_hex_rc(EP_MSG_HELLO, p, 39) == EP_ERR_MSG_STRING);
    p[4] = 32; p[37] = 0; CHECK(decode_hex_rc(EP_MSG_HELLO, p, 38) == EP_OK);

    /* ERROR text <= 128. */
    p[0] = 1; p[1] = 128; memset(p + 2, 't', 129); CHECK(decode_hex_rc(EP_MSG_ERROR, p, 130) == EP_OK);
    p[1] = 129; CHECK(decode_hex_rc(EP_MSG_ERROR, p, 131) == EP_ERR_MSG_STRING);

    /* Every refusal of a known type maps to NAK 5. */
    CHECK(ep_nak_reason_for(EP_ERR_MSG_LENGTH) == EP_NAK_MALFORMED && ep_nak_reason_for(EP_ERR_MSG_STRING) == EP_NAK_MALFORMED &&
          ep_nak_reason_for(EP_ERR_MSG_ENCODING) == EP_NAK_MALFORMED && ep_nak_reason_for(EP_ERR_MSG_VALUE) == EP_NAK_MALFORMED);
    CHECK(ep_nak_reason_for(EP_OK) == 0u && ep_nak_reason_for(EP_ERR_ARG) == 0u);

    /* CARD_DATA's TLV points into the payload. */
    memcpy(p, "\x00\x00\x00\x07\x5A\x01\x11", 7);
    CHECK(ep_msg_decode(EP_MSG_CARD_DATA, p, 7, &m) == EP_OK && m.body.card_data.txn_id == 7u &&
          m.body.card_data.tlv == p + 4 && m.body.card_data.tlv_len == 3u);
}

static void test_message_encode(void)
{
    static uint8_t frame[EP_FRAME_MAX];
    static uint8_t big[EP_MAX_PAYLOAD];
    uint8_t out[16];
    ep_message m;
    ep_message back;
    int n;

    memset(&m, 0, sizeof(m));
    m.type = EP_MSG_SHOW_RESULT;
    m.body.show_result.txn_id = 7;
    m.body.show_result.approved = 1;
    m.body.show_result.code.len = 2;
    memcpy(m.body.show_result.code.bytes, "Y3", 3);
    m.body.show_result.text.len = 8;
    memcpy(m.body.show_result.text.bytes, "APPROVED", 9);

    /* Zero-copy: payload encoded straight into a frame buffer, then sealed. */
    n = ep_msg_encode(&m, frame + EP_FRAME_PAYLOAD_OFFSET, sizeof(frame) - EP_FRAME_MAX + EP_MAX_PAYLOAD);
    CHECK(n == 4 + 1 + 3 + 9);
    n = ep_frame_seal(3, EP_MSG_SHOW_RESULT, frame, (size_t)n, sizeof(frame));
    CHECK(n == 17 + (int)EP_FRAME_OVERHEAD);
    CHECK(ep_msg_decode(EP_MSG_SHOW_RESULT, frame + EP_FRAME_PAYLOAD_OFFSET, 17, &back) == EP_OK &&
          back.body.show_result.text.len == 8u && memcmp(back.body.show_result.text.bytes, "APPROVED", 9) == 0);

    CHECK(ep_msg_encode(&m, out, 16) == EP_ERR_BUFFER_TOO_SMALL);
    CHECK(ep_msg_encode(&m, NULL, 0) == EP_ERR_BUFFER_TOO_SMALL);
    CHECK(ep_msg_encode(NULL, out, sizeof(out)) == EP_ERR_ARG);
    m.body.show_result.approved = 2;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_VALUE);
    m.body.show_result.approved = 0;
    m.body.show_result.code.len = 0;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_STRING);
    m.body.show_result.code.len = 5;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_STRING);
    m.body.show_result.code.len = 1;
    m.body.show_result.code.bytes[0] = (char)0xE9;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_ENCODING);
    m.body.show_result.code.bytes[0] = 'A';
    m.body.show_result.text.len = 65;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_STRING);

    m.type = 0x99;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_UNKNOWN_TYPE);

    memset(&m, 0, sizeof(m));
    m.type = EP_MSG_CARD_DATA;
    m.body.card_data.tlv = big;
    m.body.card_data.tlv_len = EP_CARD_DATA_TLV_MAX;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == (int)EP_MAX_PAYLOAD);
    m.body.card_data.tlv_len = EP_CARD_DATA_TLV_MAX + 1u;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_PAYLOAD_TOO_LONG);
    m.body.card_data.tlv = NULL;
    m.body.card_data.tlv_len = 1;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_ARG);

    memset(&m, 0, sizeof(m));
    m.type = EP_MSG_TXN_ENDED;
    CHECK(ep_msg_encode(&m, frame, sizeof(frame)) == EP_ERR_MSG_VALUE);
    m.type = EP_MSG_NAK;
    m.body.nak.reason = EP_NAK_MALFORMED;
    CHECK(ep_msg_encode(&m, out, sizeof(out)) == 1 && out[0] == 5u);
    m.type = EP_MSG_ACK;
    CHECK(ep_msg_encode(&m, NULL, 0) == 0);
}

/* ------------------------------------------------------------------ 1.1 messages */

/* A SEALED_CARD payload: txnId 7, token AB.., last4 "1234", flags 1, sealed
 * (sealed_len bytes of CC), tlv (tlv_len bytes of 00), signature EE... */
static size_t sealed_card_payload(uint8_t *p, size_t sealed_len, size_t tlv_len)
{
    size_t n = 0;

    memcpy(p, "\x00\x00\x00\x07", 4);
    n += 4;
    memset(p + n, 0xAB, EP_TOKEN_LEN);
    n += EP_TOKEN_LEN;
    memcpy(p + n, "1234", 4);
    n += 4;
    p[n++] = 0x01;
    p[n++] = (uint8_t)(sealed_len >> 8);
    p[n++] = (uint8_t)(sealed_len & 0xFFu);
    memset(p + n, 0xCC, sealed_len);
    n += sealed_len;
    p[n++] = (uint8_t)(tlv_len >> 8);
    p[n++] = (uint8_t)(tlv_len & 0xFFu);
    memset(p + n, 0x00, tlv_len);
    n += tlv_len;
    memset(p + n, 0xEE, EP_SIGNATURE_LEN);
    n += EP_SIGNATURE_LEN;
    return n;
}

#define SEALED_AT (4u + EP_TOKEN_LEN + EP_LAST4_LEN + 1u) /* offset of sealedLen */

static void test_secure_messages(void)
{
    static uint8_t p[EP_MAX_PAYLOAD + 64u];
    static uint8_t out[EP_MAX_PAYLOAD];
    ep_message m;
    ep_message back;
    size_t n;
    int rc;

    CHECK(EP_HELLO_CAP_SECURE_SESSION == 0x08u);
    CHECK(EP_ERROR_CODE_AUTHENTICATION_FAILED == 4u && EP_ERROR_CODE_SECURE_SESSION_REQUIRED == 5u &&
          EP_ERROR_CODE_INCOMPATIBLE == 1u && EP_ERROR_CODE_BUSY == 2u && EP_ERROR_CODE_FAULT == 3u);
    CHECK(ep_msg_type_known(0x02) && ep_msg_type_known(0x03) && ep_msg_type_known(0x16));
    CHECK(!ep_msg_type_known(0x04) && !ep_msg_type_known(0x17) && !ep_msg_type_known(0x05));
    CHECK(EP_SEALED_CARD_OVERHEAD == 109u && EP_SEALED_CARD_TLV_MAX == 1024u - 109u - 49u);

    /* Fixed layouts: exactly 32 and 128 bytes. */
    memset(p, 0x5A, 256);
    CHECK(decode_hex_rc(EP_MSG_AUTH_CHALLENGE, p, 0) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_AUTH_CHALLENGE, p, 31) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_AUTH_CHALLENGE, p, 33) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_AUTH_CHALLENGE, p, 32) == EP_OK);
    CHECK(decode_hex_rc(EP_MSG_AUTH_RESPONSE, p, 127) == EP_ERR_MSG_LENGTH);
    CHECK(decode_hex_rc(EP_MSG_AUTH_RESPONSE, p, 129) == EP_ERR_MSG_LENGTH);
    p[0] = 1; p[32] = 2; p[64] = 3; p[127] = 4;
    CHECK(ep_msg_decode(EP_MSG_AUTH_RESPONSE, p, 128, &m) == EP_OK && m.body.auth_response.reader_key[0] == 1u &&
          m.body.auth_response.reader_nonce[0] == 2u && m.body.auth_response.signature[0] == 3u &&
          m.body.auth_response.signature[63] == 4u);
    CHECK(ep_msg_encode(&m, out, sizeof(out)) == 128 && memcmp(out, p, 128) == 0);
    CHECK(ep_msg_encode(&m, out, 127) == EP_ERR_BUFFER_TOO_SMALL);

    /* SEALED_CARD: every field, sealed and tlv pointing into the payload. */
    n = sealed_card_payload(p, 49, 0);
    CHECK(n == 158u);
    rc = ep_msg_decode(EP_MSG_SEALED_CARD, p, n, &m);
    CHECK(rc == EP_OK && m.body.sealed_card.txn_id == 7u && m.body.sealed_card.token[31] == 0xABu &&
          memcmp(m.body.sealed_card.last4, "1234", 5) == 0 && m.body.sealed_card.flags == 1u &&
          m.body.sealed_card.sealed == p + SEALED_AT + 2u && m.body.sealed_card.sealed_len == 49u &&
          m.body.sealed_card.tlv_len == 0u && m.body.sealed_card.signature[0] == 0xEEu);
    CHECK(ep_msg_encode(&m, out, sizeof(out)) == (int)n && memcmp(out, p, n) == 0);
    CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n - 1u) == EP_ERR_MSG_LENGTH);  /* signature short */
    CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n + 1u) == EP_ERR_MSG_LENGTH);  /* trailing byte */
    CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, SEALED_AT + 1u) == EP_ERR_MSG_LENGTH); /* half a u16 */
    n = sealed_card_payload(p, 49, 3);
    CHECK(ep_msg_decode(EP_MSG_SEALED_CARD, p, n, &m) == EP_OK && m.body.sealed_card.tlv == p + SEALED_AT + 2u + 49u + 2u &&
          m.body.sealed_card.tlv_len == 3u);
    /* last4: four ASCII digits; flags: bit 0 only. */
    p[36] = 'a'; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_ENCODING);
    p[36] = ' '; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_ENCODING);
    p[36] = (uint8_t)0xB1; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_ENCODING);
    p[36] = '1';
    p[40] = 0x02; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_VALUE);
    p[40] = 0x80; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_VALUE);
    p[40] = 0x00; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_OK);
    /* sealedLen 49..512; lengths past the payload. */
    n = sealed_card_payload(p, 48, 0); CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_STRING);
    n = sealed_card_payload(p, 513, 0); CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_STRING);
    n = sealed_card_payload(p, 512, 0); CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_OK);
    n = sealed_card_payload(p, 0, 0); CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_STRING);
    n = sealed_card_payload(p, 49, 0);
    p[SEALED_AT] = 0xFF; p[SEALED_AT + 1u] = 0xFF; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_STRING);
    n = sealed_card_payload(p, 49, 0);
    p[SEALED_AT + 2u + 49u + 1u] = 65; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_STRING); /* tlv past the end */
    p[SEALED_AT + 2u + 49u + 1u] = 64; CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_LENGTH); /* eats the signature */
    /* The largest payload is 1024 bytes. */
    n = sealed_card_payload(p, 512, 1024u - 109u - 512u);
    CHECK(n == EP_MAX_PAYLOAD && ep_msg_decode(EP_MSG_SEALED_CARD, p, n, &m) == EP_OK);
    CHECK(ep_msg_encode(&m, out, sizeof(out)) == (int)EP_MAX_PAYLOAD && memcmp(out, p, n) == 0);
    n = sealed_card_payload(p, 512, 1024u - 109u - 512u + 1u);
    CHECK(decode_hex_rc(EP_MSG_SEALED_CARD, p, n) == EP_ERR_MSG_LENGTH);
    CHECK(ep_nak_reason_for(EP_ERR_MSG_STRING) == EP_NAK_MALFORMED);

    /* Encode refuses what decode refuses. */
    n = sealed_card_payload(p, 49, 0);
    CHECK(ep_msg_decode(EP_MSG_SEALED_CARD, p, n, &m) == EP_OK);
    back = m; back.body.sealed_card.sealed = NULL; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_ARG);
    back = m; back.body.sealed_card.tlv = NULL; back.body.sealed_card.tlv_len = 1; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_ARG);
    back = m; back.body.sealed_card.sealed_len = 48; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_MSG_STRING);
    back = m; back.body.sealed_card.sealed_len = 513; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_MSG_STRING);
    back = m; back.body.sealed_card.last4[2] = 'x'; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_MSG_ENCODING);
    back = m; back.body.sealed_card.flags = 3; CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_MSG_VALUE);
    back = m; back.body.sealed_card.tlv = p; back.body.sealed_card.tlv_len = 1024u - 109u - 49u + 1u;
    CHECK(ep_msg_encode(&back, out, sizeof(out)) == EP_ERR_PAYLOAD_TOO_LONG);
    back.body.sealed_card.tlv_len = EP_SEALED_CARD_TLV_MAX;
    CHECK(ep_msg_encode(&back, out, sizeof(out)) == (int)EP_MAX_PAYLOAD);
    CHECK(ep_msg_encode(&m, out, n - 1u) == EP_ERR_BUFFER_TOO_SMALL);
}

/* ------------------------------------------------------------------ secure session */

static size_t put(uint8_t *buf, size_t at, const void *bytes, size_t count)
{
    memcpy(buf + at, bytes, count);
    return at + count;
}

/* 9F02 12.50, 5F2A EUR, 5F24 2027-12-31. */
static const uint8_t good_tlv[] = {0x9F, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x12, 0x50, 0x5F, 0x2A, 0x02,
                                   0x09, 0x78, 0x5F, 0x24, 0x03, 0x27, 0x12, 0x31};

static int contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
    size_t i;
    for (i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_secure(void)
{
    static ep_secure_work work;
    static uint8_t out[EP_MAX_PAYLOAD];
    static uint8_t tlv[EP_MAX_PAYLOAD];
    static const uint32_t clear_tags[] = {0x5Au, 0x56u, 0x57u, 0x5F20u, 0x9F1Fu, 0x9F20u, 0x9F6Bu};
    static const char pan[] = "4761739001010010";
    static const uint8_t pan_bcd[] = {0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10};
    static const uint8_t pan_bcd_shifted[] = {0x04, 0x76, 0x17, 0x39, 0x00, 0x10, 0x10, 0x01, 0x0F};
    static const char plain_want[] = "{\"pan\":\"4761739001010010\",\"expiry\":\"2712\"}";
    uint8_t seed[EP_SECURE_SEED_LEN];
    uint8_t token_key[EP_SECURE_TOKEN_KEY_LEN];
    uint8_t centre_public[crypto_box_PUBLICKEYBYTES];
    uint8_t centre_secret[crypto_box_SECRETKEYBYTES];
    uint8_t sealed[EP_SEALED_CARD_SEALED_LEN_MAX];
    uint8_t plain[EP_SEALED_CARD_SEALED_LEN_MAX];
    uint8_t token[EP_TOKEN_LEN];
    uint8_t bcd[8];
    ep_reader_secrets secrets;
    ep_reader_secrets zero;
    ep_session session;
    ep_card_input card;
    ep_message m;
    size_t i;
    size_t t;
    int n;

    CHECK(ep_secure_init() == EP_OK);
    memset(seed, 0x11, sizeof(seed));
    memset(token_key, 0x22, sizeof(token_key));
    CHECK(crypto_box_keypair(centre_public, centre_secret) == 0);
    CHECK(ep_reader_secrets_init(NULL, seed, token_key, centre_public) == EP_ERR_ARG);
    CHECK(ep_reader_secrets_init(&secrets, NULL, token_key, centre_public) == EP_ERR_ARG);
    CHECK(ep_reader_secrets_init(&secrets, seed, token_key, centre_public) == EP_OK);
    memset(session.node_nonce, 0x33, EP_NONCE_LEN);
    memset(session.reader_nonce, 0x44, EP_NONCE_LEN);

    /* PAN: 12..19 ASCII digits; Luhn. */
    CHECK(ep_pan_check("476173900101", 12) == EP_OK && ep_pan_check("4761739001010010123", 19) == EP_OK);
    CHECK(ep_pan_check("47617390010", 11) == EP_ERR_SECURE_BAD_PAN);
    CHECK(ep_pan_check("47617390010100101234", 20) == EP_ERR_SECURE_BAD_PAN);
    CHECK(ep_pan_check("4761739001O10010", 16) == EP_ERR_SECURE_BAD_PAN);
    CHECK(ep_pan_check("476173900101001 ", 16) == EP_ERR_SECURE_BAD_PAN);
    CHECK(ep_pan_check("", 0) == EP_ERR_SECURE_BAD_PAN && ep_pan_check(NULL, 16) == EP_ERR_ARG);
    CHECK(ep_luhn_valid(pan, 16) == 1 && ep_luhn_valid("4761739001010011", 16) == 0);
    CHECK(ep_luhn_valid("371449635398431", 15) == 1 && ep_luhn_valid("000000000000", 12) == 1);
    CHECK(ep_luhn_valid("79927398713", 11) == EP_ERR_SECURE_BAD_PAN);
    /* Expiry: YYMM, month 01..12. */
    CHECK(ep_expiry_check("2712") == EP_OK && ep_expiry_check("0001") == EP_OK && ep_expiry_check("9909") == EP_OK);
    CHECK(ep_expiry_check("2700") == EP_ERR_SECURE_BAD_EXPIRY && ep_expiry_check("2713") == EP_ERR_SECURE_BAD_EXPIRY);
    CHECK(ep_expiry_check("2799") == EP_ERR_SECURE_BAD_EXPIRY && ep_expiry_check("27a2") == EP_ERR_SECURE_BAD_EXPIRY);
    CHECK(ep_expiry_check("27 1") == EP_ERR_SECURE_BAD_EXPIRY && ep_expiry_check("271") == EP_ERR_SECURE_BAD_EXPIRY);
    CHECK(ep_expiry_check(NULL) == EP_ERR_ARG);
    /* Token and seal. */
    CHECK(ep_card_token(token_key, "4761739001", 10, token) == EP_ERR_SECURE_BAD_PAN);
    CHECK(ep_card_token(NULL, pan, 16, token) == EP_ERR_ARG);
    CHECK(ep_card_seal(centre_public, pan, 16, "2713", sealed, sizeof(sealed)) == EP_ERR_SECURE_BAD_EXPIRY);
    CHECK(ep_card_seal(centre_public, pan, 15, "2712", sealed, sizeof(sealed)) == 22 + 15 + 4 + 48);
    CHECK(ep_card_seal(centre_public, pan, 16, "2712", sealed, 22u + 16u + 4u + 47u) == EP_ERR_BUFFER_TOO_SMALL);
    n = ep_card_seal(centre_public, pan, 16, "2712", sealed, sizeof(sealed));
    CHECK(n == (int)(sizeof(plain_want) - 1u + EP_SECURE_SEAL_OVERHEAD));
    CHECK(n > 0 && crypto_box_seal_open(plain, sealed, (unsigned long long)n, centre_public, centre_secret) == 0 &&
          memcmp(plain, plain_want, sizeof(plain_want) - 1u) == 0);

    /* A good card builds, verifies, and holds no PAN digits (ASCII or BCD). */
    memset(&card, 0, sizeof(card));
    card.txn_id = 42;
    card.pan = pan;
    card.pan_len = 16;
    card.expiry = "2712";
    card.tlv = good_tlv;
    card.tlv_len = sizeof(good_tlv);
    n = ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out));
    CHECK(n == (int)(EP_SEALED_CARD_OVERHEAD + 90u + sizeof(good_tlv)));
    CHECK(n > 0 && ep_sealed_card_verify(secrets.public_key, &session, out, (size_t)n, &work) == EP_OK);
    CHECK(n > 0 && !contains(out, (size_t)n, (const uint8_t *)pan, 16) && !contains(out, (size_t)n, pan_bcd, 8) &&
          !contains(out, (size_t)n, pan_bcd_shifted + 1, 7));
    CHECK(n > 0 && ep_msg_decode(EP_MSG_SEALED_CARD, out, (size_t)n, &m) == EP_OK && m.body.sealed_card.txn_id == 42u &&
          memcmp(m.body.sealed_card.last4, "0010", 4) == 0 && m.body.sealed_card.flags == EP_SEALED_CARD_FLAG_LUHN_VALID);
    CHECK(n > 0 && ep_card_token(token_key, pan, 16, token) == EP_OK && memcmp(m.body.sealed_card.token, token, EP_TOKEN_LEN) == 0);
    CHECK(n > 0 && crypto_box_seal_open(plain, m.body.sealed_card.sealed, m.body.sealed_card.sealed_len, centre_public,
                                        centre_secret) == 0 && memcmp(plain, plain_want, sizeof(plain_want) - 1u) == 0);
    /* Node side refusals. */
    CHECK(n > 0 && ep_sealed_card_verify(secrets.public_key, &session, out, (size_t)n - 1u, &work) == EP_ERR_MSG_LENGTH);
    CHECK(ep_sealed_card_verify(centre_public, &session, out, (size_t)n, &work) == EP_ERR_SECURE_BAD_SIGNATURE);
    CHECK(ep_sealed_card_verify(NULL, &session, out, (size_t)n, &work) == EP_ERR_ARG);
    CHECK(ep_sealed_card_verify(secrets.public_key, &session, out, (size_t)n, NULL) == EP_ERR_ARG);
    CHECK(ep_sealed_card_signed_bytes(&session, out, 63, work.signed_bytes, sizeof(work.signed_bytes)) == EP_ERR_MSG_LENGTH);
    CHECK(ep_sealed_card_signed_bytes(&session, out, 100, work.signed_bytes, 21u + 64u + 35u) == EP_ERR_BUFFER_TOO_SMALL);
    CHECK(ep_sealed_card_signed_bytes(&session, out, 100, work.signed_bytes, 21u + 64u + 36u) == 121);

    /* Every clear tag is refused, at the top level and inside templates. */
    for (t = 0; t < sizeof(clear_tags) / sizeof(clear_tags[0]); t++) {
        uint8_t tag[2];
        size_t tag_len = clear_tags[t] > 0xFFu ? 2u : 1u;
        size_t at;
        tag[0] = (uint8_t)(tag_len == 2u ? clear_tags[t] >> 8 : clear_tags[t]);
        tag[1] = (uint8_t)(clear_tags[t] & 0xFFu);
        /* top level: good tags, then the clear one with a harmless value */
        at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        at = put(tlv, at, tag, tag_len);
        at = put(tlv, at, "\x02\xAA\xBB", 3);
        CHECK(ep_tlv_check_clear(tlv, at, work.tlv, EP_TLV_MAX_OBJECTS) == EP_ERR_SECURE_CLEAR_TAG);
        card.tlv = tlv;
        card.tlv_len = at;
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_CLEAR_TAG);
        /* depth 3: 70 { A5 { tag } } */
        at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0x70; tlv[at++] = (uint8_t)(2u + tag_len + 3u);
        tlv[at++] = 0xA5; tlv[at++] = (uint8_t)(tag_len + 3u);
        at = put(tlv, at, tag, tag_len);
        at = put(tlv, at, "\x02\xAA\xBB", 3);
        CHECK(ep_tlv_check_clear(tlv, at, work.tlv, EP_TLV_MAX_OBJECTS) == EP_ERR_SECURE_CLEAR_TAG);
        card.tlv_len = at;
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_CLEAR_TAG);
        /* the tag's bytes inside another tag's value are not a tag */
        at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0xDF; tlv[at++] = 0x01; tlv[at++] = (uint8_t)(tag_len + 3u);
        at = put(tlv, at, tag, tag_len);
        at = put(tlv, at, "\x02\xAA\xBB", 3);
        CHECK(ep_tlv_check_clear(tlv, at, work.tlv, EP_TLV_MAX_OBJECTS) == EP_OK);
    }
    CHECK(ep_tlv_check_clear(good_tlv, sizeof(good_tlv), work.tlv, EP_TLV_MAX_OBJECTS) == EP_OK);
    CHECK(ep_tlv_check_clear(good_tlv, sizeof(good_tlv) - 1u, work.tlv, EP_TLV_MAX_OBJECTS) == EP_ERR_TLV_TRUNCATED);
    CHECK(ep_tlv_check_clear(good_tlv, sizeof(good_tlv), work.tlv, 2) == EP_ERR_TLV_NO_SPACE);
    card.tlv = good_tlv;
    card.tlv_len = sizeof(good_tlv) - 1u;
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_TLV_TRUNCATED);

    /* The PAN under any other tag: ASCII, BCD, BCD shifted by a nibble. */
    for (i = 0; i < 3u; i++) {
        const uint8_t *bytes = i == 0u ? (const uint8_t *)pan : i == 1u ? pan_bcd : pan_bcd_shifted;
        size_t len = i == 0u ? 16u : i == 1u ? sizeof(pan_bcd) : sizeof(pan_bcd_shifted);
        size_t at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0x9F; tlv[at++] = 0x10; tlv[at++] = (uint8_t)(len + 2u);
        tlv[at++] = 0x01;
        at = put(tlv, at, bytes, len);
        tlv[at++] = 0x02;
        card.tlv = tlv;
        card.tlv_len = at;
        CHECK(ep_tlv_check_clear(tlv, at, work.tlv, EP_TLV_MAX_OBJECTS) == EP_OK);
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_PAN_IN_TLV);
    }
    /* ...but 15 of its digits are not the PAN. */
    memcpy(bcd, pan_bcd, sizeof(bcd));
    bcd[7] = 0x1F;
    {
        size_t at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0x9F; tlv[at++] = 0x10; tlv[at++] = 8;
        at = put(tlv, at, bcd, 8);
        card.tlv_len = at;
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) > 0);
    }

    /* 9F02, 5F2A, 5F24 once each (any depth); 5F24 valid and equal to the expiry. */
    {
        static const uint8_t no_amount[] = {0x5F, 0x2A, 0x02, 0x09, 0x78, 0x5F, 0x24, 0x03, 0x27, 0x12, 0x31};
        static const uint8_t nested_ok[] = {0x77, 0x0E, 0x9F, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x12, 0x50,
                                            0x5F, 0x2A, 0x02, 0x09, 0x78, 0x5F, 0x24, 0x03, 0x27, 0x12, 0x31};
        size_t at;
        card.tlv = no_amount; card.tlv_len = sizeof(no_amount);
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_TLV_MANDATORY);
        card.tlv = good_tlv; card.tlv_len = 9;  /* 9F02 only */
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_TLV_MANDATORY);
        card.tlv = nested_ok; card.tlv_len = sizeof(nested_ok);
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) > 0);
        at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0x70; tlv[at++] = 5; at = put(tlv, at, "\x5F\x2A\x02\x09\x78", 5); /* a second 5F2A, nested */
        card.tlv = tlv; card.tlv_len = at;
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_TLV_MANDATORY);
        memcpy(tlv, good_tlv, sizeof(good_tlv));
        card.tlv_len = sizeof(good_tlv);
        card.expiry = "2801";
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
        card.expiry = "2712";
        tlv[18] = 0x13; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
        tlv[18] = 0x12; tlv[19] = 0x00; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
        tlv[19] = 0x3A; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
        tlv[19] = 0x31; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) > 0);
        tlv[16] = 0x02; card.tlv_len = sizeof(good_tlv) - 1u; /* 5F24 of 2 bytes */
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
        card.tlv = good_tlv; card.tlv_len = sizeof(good_tlv);
    }

    /* Bad PAN, bad expiry, bad arguments, sizes. */
    card.tlv = good_tlv;
    card.tlv_len = sizeof(good_tlv);
    card.pan_len = 11; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_PAN);
    card.pan_len = 20; card.pan = "47617390010100101234";
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_PAN);
    card.pan_len = 16; card.pan = "476173900101001X";
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_PAN);
    card.pan = pan;
    card.expiry = "2713"; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
    card.expiry = "2700"; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
    card.expiry = "12/7"; CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_SECURE_BAD_EXPIRY);
    card.expiry = "2712";
    CHECK(ep_sealed_card_build(&secrets, &session, &card, NULL, out, sizeof(out)) == EP_ERR_ARG);
    CHECK(ep_sealed_card_build(&secrets, NULL, &card, &work, out, sizeof(out)) == EP_ERR_ARG);
    CHECK(ep_sealed_card_build(NULL, &session, &card, &work, out, sizeof(out)) == EP_ERR_ARG);
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, 100) == EP_ERR_BUFFER_TOO_SMALL);
    card.sealed = sealed;
    card.sealed_len = 48;
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_MSG_STRING);
    card.sealed_len = 0;
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_MSG_STRING);
    card.sealed = NULL;
    card.sealed_len = 1;
    CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_ARG);
    card.sealed_len = 0;
    {   /* a TLV that fits the parser but not the payload: DF01 82 0380 + 896 bytes */
        size_t at = put(tlv, 0, good_tlv, sizeof(good_tlv));
        tlv[at++] = 0xDF; tlv[at++] = 0x01; tlv[at++] = 0x82; tlv[at++] = 0x03; tlv[at++] = 0x80;
        memset(tlv + at, 0x77, 0x380);
        at += 0x380;
        card.tlv = tlv;
        card.tlv_len = at;
        CHECK(ep_sealed_card_build(&secrets, &session, &card, &work, out, sizeof(out)) == EP_ERR_PAYLOAD_TOO_LONG);
    }

    /* AUTH_RESPONSE: the node nonce may be read from the message being overwritten. */
    memset(&m, 0, sizeof(m));
    m.type = EP_MSG_AUTH_CHALLENGE;
    memset(m.body.auth_challenge.node_nonce, 0x55, EP_NONCE_LEN);
    memset(session.node_nonce, 0x55, EP_NONCE_LEN);
    CHECK(ep_auth_respond(&secrets, m.body.auth_challenge.node_nonce, NULL, &m, NULL) == EP_OK &&
          m.type == EP_MSG_AUTH_RESPONSE);
    CHECK(ep_auth_verify(secrets.public_key, session.node_nonce, &m.body.auth_response, NULL) == EP_OK);
    CHECK(ep_auth_respond(NULL, session.node_nonce, NULL, &m, NULL) == EP_ERR_ARG);
    CHECK(ep_auth_verify(secrets.public_key, NULL, &m.body.auth_response, NULL) == EP_ERR_ARG);

    /* Wiping leaves nothing. */
    memset(&zero, 0, sizeof(zero));
    ep_reader_secrets_wipe(&secrets);
    CHECK(memcmp(&secrets, &zero, sizeof(zero)) == 0);

    CHECK(strcmp(ep_error_name(EP_ERR_SECURE_CLEAR_TAG), "clear_card_tag") == 0);
    CHECK(strcmp(ep_error_name(EP_ERR_SECURE_TLV_MANDATORY), "tlv_mandatory_tag") == 0);
    CHECK(ep_nak_reason_for(EP_ERR_SECURE_BAD_SIGNATURE) == 0u && ep_nak_reason_for(EP_ERR_SECURE_BAD_PAN) == 0u);
}

static void test_error_names(void)
{
    int code;
    for (code = -50; code <= 0; code++) {
        CHECK(ep_error_name(code) != NULL);
    }
    CHECK(strcmp(ep_error_name(EP_ERR_TLV_TOO_MANY_OBJECTS), "too_many_objects") == 0);
    CHECK(strcmp(ep_error_name(12345), "unknown_error") == 0);
    CHECK(sizeof(ep_decoder) >= EP_FRAME_MAX);
}

int main(void)
{
    test_crc_and_encoder();
    test_decoder();
    test_tlv();
    test_message_refusals();
    test_message_encode();
    test_secure_messages();
    test_secure();
    test_error_names();
    printf("unit: %u passed, %u failed (sizeof(ep_decoder) = %lu bytes, sizeof(ep_tlv_object) = %lu, sizeof(ep_message) = %lu)\n",
           passed, failed, (unsigned long)sizeof(ep_decoder), (unsigned long)sizeof(ep_tlv_object),
           (unsigned long)sizeof(ep_message));
    return failed == 0u ? 0 : 1;
}
