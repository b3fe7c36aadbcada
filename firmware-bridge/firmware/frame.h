/*
 * Frame encoder and streaming decoder (PROTOCOL.md section 2).
 *
 *   STX(0x02) LEN(u16 BE) SEQ TYPE PAYLOAD[LEN-2] CRC(u16 BE) ETX(0x03)
 *
 * LEN covers SEQ + TYPE + PAYLOAD and lies in [2, 2 + EP_MAX_PAYLOAD]. The CRC
 * (CRC-16/CCITT-FALSE) covers LEN, SEQ, TYPE and PAYLOAD. No byte stuffing.
 */
#ifndef EP_FRAME_H
#define EP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define EP_STX 0x02u
#define EP_ETX 0x03u
#define EP_MAX_PAYLOAD 1024u
#define EP_LEN_MIN 2u                        /* SEQ + TYPE */
#define EP_LEN_MAX (2u + EP_MAX_PAYLOAD)
#define EP_FRAME_HEADER_BYTES 3u             /* STX + LEN */
#define EP_FRAME_PAYLOAD_OFFSET 5u           /* STX + LEN + SEQ + TYPE */
#define EP_FRAME_OVERHEAD 8u                 /* header, SEQ, TYPE, CRC, ETX */
#define EP_FRAME_MAX (EP_MAX_PAYLOAD + EP_FRAME_OVERHEAD) /* 1032 = 2 + MAX_PAYLOAD + 6 */

/* Encode one frame into out[0..out_cap). payload may be null when payload_len is
 * 0, and may overlap out (it is moved, not copied). Returns the frame length
 * (payload_len + EP_FRAME_OVERHEAD), or EP_ERR_PAYLOAD_TOO_LONG,
 * EP_ERR_BUFFER_TOO_SMALL, EP_ERR_ARG. out is untouched on error. */
int ep_frame_encode(uint8_t seq, uint8_t type, const uint8_t *payload, size_t payload_len,
                    uint8_t *out, size_t out_cap);

/* Zero-copy variant: the payload is already at buf + EP_FRAME_PAYLOAD_OFFSET
 * (for example written there by ep_msg_encode); writes the header, CRC and ETX
 * around it. Same return values as ep_frame_encode. */
int ep_frame_seal(uint8_t seq, uint8_t type, uint8_t *buf, size_t payload_len, size_t buf_cap);

typedef enum {
    EP_EVENT_FRAME = 1,
    EP_EVENT_ERROR = 2
} ep_event_kind;

typedef struct {
    ep_event_kind kind;
    /* EP_OK for frames; EP_ERR_BAD_CRC, EP_ERR_BAD_END, EP_ERR_OVERSIZE or
     * EP_ERR_UNDERSIZE for errors (see ep_nak_reason_for()). */
    int error;
    /* 1 when seq and type were read: every frame, and bad_crc / bad_end errors
     * (the NAK then carries this seq; otherwise it carries 0). */
    int has_header;
    uint8_t seq;
    uint8_t type;
    /* Frames: the payload. Errors: null, 0. */
    const uint8_t *payload;
    size_t payload_len;
    /* Frames: the whole frame, STX to ETX. Errors: the rejected bytes (the
     * 3 header bytes for oversize/undersize, the whole candidate otherwise). */
    const uint8_t *raw;
    size_t raw_len;
} ep_decoder_event;

/* Called once per frame or error, in stream order. The pointers in the event
 * are valid only during the call. The callback must not feed or reset the
 * decoder that called it (those calls return EP_ERR_REENTRANT). */
typedef void (*ep_decoder_callback)(void *ctx, const ep_decoder_event *event);

/* Treat as opaque; fields are public only so the struct can be allocated
 * statically. Holds at most EP_FRAME_MAX bytes: the current candidate frame,
 * which starts with STX whenever len > 0. */
typedef struct {
    ep_decoder_callback callback;
    void *ctx;
    uint16_t len;
    uint8_t in_callback;
    uint8_t buf[EP_FRAME_MAX];
} ep_decoder;

/* Returns EP_OK, or EP_ERR_ARG when d or callback is null. */
int ep_decoder_init(ep_decoder *d, ep_decoder_callback callback, void *ctx);

/* Drop any partial candidate (for example when the port is reopened). */
int ep_decoder_reset(ep_decoder *d);

/* Feed bytes; any split into calls gives the same events. Returns EP_OK,
 * EP_ERR_ARG (null d, or null data with len > 0) or EP_ERR_REENTRANT. Never
 * fails because of the bytes themselves: those problems are events. */
int ep_decoder_feed(ep_decoder *d, const uint8_t *data, size_t len);
int ep_decoder_feed_byte(ep_decoder *d, uint8_t byte);

/* Bytes currently held (a partial candidate frame); at most EP_FRAME_MAX. */
size_t ep_decoder_pending(const ep_decoder *d);

#endif /* EP_FRAME_H */
