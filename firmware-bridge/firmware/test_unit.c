/*
 * Unit tests for what vectors.json does not cover: argument checks, buffer
 * limits, reentrancy, decoder event details, TLV accessors, and every message
 * refusal of PROTOCOL.md section 3. Prints failures and "unit: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>

#include "crc16.h"
#include "errors.h"
#include "frame.h"
#include "messages.h"
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

static void test_error_names(void)
{
    int code;
    for (code = -40; code <= 0; code++) {
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
    test_error_names();
    printf("unit: %u passed, %u failed (sizeof(ep_decoder) = %lu bytes, sizeof(ep_tlv_object) = %lu, sizeof(ep_message) = %lu)\n",
           passed, failed, (unsigned long)sizeof(ep_decoder), (unsigned long)sizeof(ep_tlv_object),
           (unsigned long)sizeof(ep_message));
    return failed == 0u ? 0 : 1;
}
