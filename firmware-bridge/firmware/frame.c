#include "frame.h"

#include <string.h>

#include "crc16.h"

static uint16_t ep_read_u16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | (unsigned)p[1]);
}

static void ep_write_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

int ep_frame_seal(uint8_t seq, uint8_t type, uint8_t *buf, size_t payload_len, size_t buf_cap)
{
    size_t frame_len;
    uint16_t len_field;
    uint16_t crc;

    if (buf == NULL) {
        return EP_ERR_ARG;
    }
    if (payload_len > EP_MAX_PAYLOAD) {
        return EP_ERR_PAYLOAD_TOO_LONG;
    }
    frame_len = payload_len + EP_FRAME_OVERHEAD;
    if (buf_cap < frame_len) {
        return EP_ERR_BUFFER_TOO_SMALL;
    }
    len_field = (uint16_t)(payload_len + EP_LEN_MIN);
    buf[0] = (uint8_t)EP_STX;
    ep_write_u16(buf + 1, len_field);
    buf[3] = seq;
    buf[4] = type;
    crc = ep_crc16(buf + 1, (size_t)len_field + 2u);
    ep_write_u16(buf + EP_FRAME_PAYLOAD_OFFSET + payload_len, crc);
    buf[frame_len - 1u] = (uint8_t)EP_ETX;
    return (int)frame_len;
}

int ep_frame_encode(uint8_t seq, uint8_t type, const uint8_t *payload, size_t payload_len,
                    uint8_t *out, size_t out_cap)
{
    if (out == NULL || (payload == NULL && payload_len != 0u)) {
        return EP_ERR_ARG;
    }
    if (payload_len > EP_MAX_PAYLOAD) {
        return EP_ERR_PAYLOAD_TOO_LONG;
    }
    if (out_cap < payload_len + EP_FRAME_OVERHEAD) {
        return EP_ERR_BUFFER_TOO_SMALL;
    }
    if (payload_len != 0u) {
        memmove(out + EP_FRAME_PAYLOAD_OFFSET, payload, payload_len);
    }
    return ep_frame_seal(seq, type, out, payload_len, out_cap);
}

int ep_decoder_init(ep_decoder *d, ep_decoder_callback callback, void *ctx)
{
    if (d == NULL || callback == NULL) {
        return EP_ERR_ARG;
    }
    d->callback = callback;
    d->ctx = ctx;
    d->len = 0;
    d->in_callback = 0;
    return EP_OK;
}

int ep_decoder_reset(ep_decoder *d)
{
    if (d == NULL) {
        return EP_ERR_ARG;
    }
    if (d->in_callback) {
        return EP_ERR_REENTRANT;
    }
    d->len = 0;
    return EP_OK;
}

size_t ep_decoder_pending(const ep_decoder *d)
{
    return d == NULL ? 0u : (size_t)d->len;
}

/* Remove `count` bytes from the front of the buffer, then any bytes before the
 * next STX, so that buf[0] is an STX again (or the buffer is empty). Removing
 * just 1 byte is the resync rule: the rejected candidate's STX goes and the
 * scan resumes at the byte after it, over bytes already received. */
static void ep_decoder_drop(ep_decoder *d, size_t count)
{
    size_t next = count;

    EP_ASSERT(count >= 1u && count <= d->len);
    while (next < d->len && d->buf[next] != EP_STX) {
        next++;
    }
    if (next < d->len) {
        memmove(d->buf, d->buf + next, d->len - next);
    }
    d->len = (uint16_t)(d->len - next);
}

static void ep_decoder_emit(ep_decoder *d, const ep_decoder_event *event)
{
    d->in_callback = 1;
    d->callback(d->ctx, event);
    d->in_callback = 0;
}

static void ep_decoder_reject(ep_decoder *d, int error, int has_header, size_t raw_len)
{
    ep_decoder_event event;

    event.kind = EP_EVENT_ERROR;
    event.error = error;
    event.has_header = has_header;
    event.seq = has_header ? d->buf[3] : 0u;
    event.type = has_header ? d->buf[4] : 0u;
    event.payload = NULL;
    event.payload_len = 0;
    event.raw = d->buf;
    event.raw_len = raw_len;
    ep_decoder_emit(d, &event);
    ep_decoder_drop(d, 1u);
}

/* Resolve candidates while the buffer holds enough bytes to decide one. Every
 * pass either returns (more input needed) or removes at least one byte, so the
 * loop runs at most EP_FRAME_MAX times per call. */
static void ep_decoder_drain(ep_decoder *d)
{
    while (d->len >= EP_FRAME_HEADER_BYTES) {
        uint16_t len_field;
        size_t frame_len;
        uint16_t crc_expected;
        uint16_t crc_actual;
        ep_decoder_event event;

        EP_ASSERT(d->buf[0] == EP_STX);
        EP_ASSERT(d->len <= EP_FRAME_MAX);
        len_field = ep_read_u16(d->buf + 1);
        if (len_field < EP_LEN_MIN) {
            ep_decoder_reject(d, EP_ERR_UNDERSIZE, 0, EP_FRAME_HEADER_BYTES);
            continue;
        }
        if (len_field > EP_LEN_MAX) {
            ep_decoder_reject(d, EP_ERR_OVERSIZE, 0, EP_FRAME_HEADER_BYTES);
            continue;
        }
        frame_len = (size_t)len_field + (EP_FRAME_OVERHEAD - EP_LEN_MIN);
        if (d->len < frame_len) {
            return;
        }
        if (d->buf[frame_len - 1u] != EP_ETX) {
            ep_decoder_reject(d, EP_ERR_BAD_END, 1, frame_len);
            continue;
        }
        crc_expected = ep_read_u16(d->buf + frame_len - 3u);
        crc_actual = ep_crc16(d->buf + 1, (size_t)len_field + 2u);
        if (crc_expected != crc_actual) {
            ep_decoder_reject(d, EP_ERR_BAD_CRC, 1, frame_len);
            continue;
        }
        event.kind = EP_EVENT_FRAME;
        event.error = EP_OK;
        event.has_header = 1;
        event.seq = d->buf[3];
        event.type = d->buf[4];
        event.payload = d->buf + EP_FRAME_PAYLOAD_OFFSET;
        event.payload_len = (size_t)len_field - EP_LEN_MIN;
        event.raw = d->buf;
        event.raw_len = frame_len;
        ep_decoder_emit(d, &event);
        ep_decoder_drop(d, frame_len);
    }
}

int ep_decoder_feed_byte(ep_decoder *d, uint8_t byte)
{
    if (d == NULL) {
        return EP_ERR_ARG;
    }
    if (d->in_callback) {
        return EP_ERR_REENTRANT;
    }
    if (d->len == 0u && byte != EP_STX) {
        return EP_OK; /* noise between frames is skipped silently */
    }
    /* drain() resolves a candidate as soon as its last byte arrives, so a
     * complete frame never waits in the buffer and this cannot overflow. */
    EP_ASSERT(d->len < EP_FRAME_MAX);
    d->buf[d->len] = byte;
    d->len = (uint16_t)(d->len + 1u);
    ep_decoder_drain(d);
    return EP_OK;
}

int ep_decoder_feed(ep_decoder *d, const uint8_t *data, size_t len)
{
    size_t i;

    if (d == NULL || (data == NULL && len != 0u)) {
        return EP_ERR_ARG;
    }
    if (d->in_callback) {
        return EP_ERR_REENTRANT;
    }
    for (i = 0; i < len; i++) {
        (void)ep_decoder_feed_byte(d, data[i]);
    }
    return EP_OK;
}
