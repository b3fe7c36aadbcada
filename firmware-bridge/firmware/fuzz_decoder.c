/*
 * Deterministic fuzzing of the frame decoder and the BER-TLV parser, run under
 * the sanitizers by `make test`.
 *
 *   fuzz_decoder [seed] [decoder_chunks] [tlv_inputs]
 *
 * Decoder: streams of garbage, valid frames, corrupted frames and fake headers
 * are fed in random chunks (0..300 bytes). Checked on every run:
 * - the events equal those of a whole-buffer oracle written from PROTOCOL.md
 *   section 2 (so chunking never changes the outcome);
 * - every frame event has STX, ETX, consistent LEN and a valid CRC;
 * - the decoder never holds more than EP_FRAME_MAX bytes;
 * - every intact planted frame is emitted unless an accepted frame overlaps it.
 * TLV: random bytes and mutated well-formed trees; results must equal a
 * recursive oracle, and accepted trees must tile their containers exactly.
 * Any failure prints the seed and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc16.h"
#include "frame.h"
#include "fuzz_check.h"
#include "fuzz_prng.h"

#define ROUND_STREAM_MAX 16384u
#define ROUND_EVENTS_MAX 4096u
#define ROUND_PLANTED_MAX 256u
#define FILLER_BYTES EP_FRAME_MAX /* resolves any candidate that started before it */

unsigned long fuzz_failures;

/* ------------------------------------------------------------------ decoder */

typedef struct {
    int kind;
    int error;
    uint8_t seq;
    uint8_t type;
    size_t start;       /* oracle only: offset of the STX in the stream */
    size_t payload_len;
    uint32_t payload_crc; /* CRC of the payload: a cheap content comparison */
} fuzz_event;

typedef struct {
    fuzz_event events[ROUND_EVENTS_MAX];
    size_t count;
    int overflow;
} fuzz_events;

static fuzz_events oracle_events;
static fuzz_events decoder_events;

static void push_event(fuzz_events *list, const fuzz_event *e)
{
    if (list->count == ROUND_EVENTS_MAX) {
        list->overflow = 1;
        return;
    }
    list->events[list->count++] = *e;
}

/* PROTOCOL.md section 2 over the whole stream at once. */
static void oracle_decode(const uint8_t *s, size_t n, fuzz_events *out)
{
    size_t i = 0;

    out->count = 0;
    out->overflow = 0;
    while (i < n) {
        fuzz_event e;
        size_t len_field;
        size_t total;

        memset(&e, 0, sizeof(e));
        if (s[i] != EP_STX) { i++; continue; }
        if (n - i < 3u) break;
        len_field = ((size_t)s[i + 1] << 8) | s[i + 2];
        e.kind = EP_EVENT_ERROR;
        e.start = i;
        if (len_field < 2u || len_field > 2u + EP_MAX_PAYLOAD) {
            e.error = len_field < 2u ? EP_ERR_UNDERSIZE : EP_ERR_OVERSIZE;
            push_event(out, &e);
            i++;
            continue;
        }
        total = len_field + 6u;
        if (n - i < total) break;
        e.seq = s[i + 3];
        e.type = s[i + 4];
        if (s[i + total - 1u] != EP_ETX) {
            e.error = EP_ERR_BAD_END;
        } else if (ep_crc16(s + i + 1, len_field + 2u) != (((unsigned)s[i + 3 + len_field] << 8) | s[i + 4 + len_field])) {
            e.error = EP_ERR_BAD_CRC;
        } else {
            e.kind = EP_EVENT_FRAME;
            e.payload_len = len_field - 2u;
            e.payload_crc = ep_crc16(s + i + 5, e.payload_len);
            push_event(out, &e);
            i += total;
            continue;
        }
        push_event(out, &e);
        i++;
    }
}

static void on_decoder_event(void *ctx, const ep_decoder_event *event)
{
    fuzz_event e;

    (void)ctx;
    memset(&e, 0, sizeof(e));
    e.kind = event->kind;
    e.error = event->error;
    if (event->kind == EP_EVENT_FRAME || event->has_header) {
        e.seq = event->seq;
        e.type = event->type;
    }
    if (event->kind == EP_EVENT_FRAME) {
        const uint8_t *raw = event->raw;
        size_t n = event->raw_len;
        EXPECT(n == event->payload_len + EP_FRAME_OVERHEAD && n <= EP_FRAME_MAX, "frame length %lu", (unsigned long)n);
        EXPECT(raw[0] == EP_STX && raw[n - 1u] == EP_ETX, "frame without STX/ETX");
        EXPECT((((size_t)raw[1] << 8) | raw[2]) == event->payload_len + 2u, "LEN disagrees with payload length");
        EXPECT(ep_crc16(raw + 1, n - 4u) == (((unsigned)raw[n - 3u] << 8) | raw[n - 2u]), "frame with a bad CRC emitted");
        EXPECT(event->payload == raw + EP_FRAME_PAYLOAD_OFFSET, "payload pointer");
        e.payload_len = event->payload_len;
        e.payload_crc = ep_crc16(event->payload, event->payload_len);
    } else {
        EXPECT(event->error == EP_ERR_BAD_CRC || event->error == EP_ERR_BAD_END || event->error == EP_ERR_OVERSIZE ||
               event->error == EP_ERR_UNDERSIZE, "unknown error %d", event->error);
        EXPECT(event->has_header == (event->error == EP_ERR_BAD_CRC || event->error == EP_ERR_BAD_END), "has_header");
    }
    push_event(&decoder_events, &e);
}

static size_t put_frame(fuzz_prng *r, uint8_t *out, size_t cap, size_t max_payload)
{
    uint8_t payload[EP_MAX_PAYLOAD];
    size_t len = fuzz_one_in(r, 8) ? fuzz_below(r, EP_MAX_PAYLOAD + 1u) : fuzz_below(r, max_payload + 1u);
    size_t i;
    int n;

    for (i = 0; i < len; i++) {
        /* STX/ETX-rich payloads exercise the rescans. */
        payload[i] = fuzz_one_in(r, 4) ? (uint8_t)(EP_STX + fuzz_below(r, 2)) : fuzz_byte(r);
    }
    n = ep_frame_encode(fuzz_byte(r), fuzz_byte(r), payload, len, out, cap);
    return n < 0 ? 0u : (size_t)n;
}

/* Build one round's stream; records where intact frames were planted. */
static size_t build_stream(fuzz_prng *r, uint8_t *s, size_t *planted, size_t *planted_count)
{
    size_t n = 0;
    size_t segments = 1u + fuzz_below(r, 12);

    *planted_count = 0;
    while (segments-- > 0u && n + EP_FRAME_MAX + 64u < ROUND_STREAM_MAX - FILLER_BYTES) {
        size_t kind = fuzz_below(r, 6);
        size_t i;
        size_t len;

        if (kind == 0u) { /* garbage, STX/ETX-rich */
            len = fuzz_below(r, 64);
            for (i = 0; i < len; i++) {
                s[n++] = fuzz_one_in(r, 3) ? (uint8_t)(EP_STX + fuzz_below(r, 2)) : fuzz_byte(r);
            }
        } else if (kind <= 2u) { /* intact frame */
            len = put_frame(r, s + n, ROUND_STREAM_MAX - n, 40);
            if (len > 0u && *planted_count < ROUND_PLANTED_MAX) {
                planted[(*planted_count)++] = n;
            }
            n += len;
        } else if (kind == 3u) { /* corrupted frame: one byte changed, or cut short */
            len = put_frame(r, s + n, ROUND_STREAM_MAX - n, 40);
            if (len > 0u) {
                if (fuzz_one_in(r, 3)) {
                    len = fuzz_below(r, len);
                } else {
                    s[n + fuzz_below(r, len)] ^= (uint8_t)(1u + fuzz_below(r, 255));
                }
            }
            n += len;
        } else if (kind == 4u) { /* fake header with an interesting LEN */
            static const uint16_t lens[] = {0u, 1u, 2u, 3u, 7u, 0x0202u, EP_LEN_MAX, EP_LEN_MAX + 1u, 0xFFFFu, 0xFF02u};
            uint16_t l = lens[fuzz_below(r, sizeof(lens) / sizeof(lens[0]))];
            s[n++] = (uint8_t)EP_STX;
            s[n++] = (uint8_t)(l >> 8);
            s[n++] = (uint8_t)(l & 0xFFu);
        } else { /* a run of STX bytes */
            len = 1u + fuzz_below(r, 8);
            for (i = 0; i < len; i++) {
                s[n++] = (uint8_t)EP_STX;
            }
        }
    }
    memset(s + n, 0x00, FILLER_BYTES);
    return n + FILLER_BYTES;
}

static int same_event(const fuzz_event *a, const fuzz_event *b)
{
    return a->kind == b->kind && a->error == b->error && a->seq == b->seq && a->type == b->type &&
           a->payload_len == b->payload_len && a->payload_crc == b->payload_crc;
}

static void fuzz_decoder(fuzz_prng *r, unsigned long chunk_budget, unsigned long *frames_seen, unsigned long *errors_seen)
{
    static uint8_t stream[ROUND_STREAM_MAX];
    static ep_decoder d; /* one decoder across all rounds: state carries over */
    size_t planted[ROUND_PLANTED_MAX];
    size_t planted_count;
    unsigned long chunks = 0;

    (void)ep_decoder_init(&d, on_decoder_event, NULL);
    while (chunks < chunk_budget) {
        size_t n = build_stream(r, stream, planted, &planted_count);
        size_t at = 0;
        size_t i;
        size_t p;

        oracle_decode(stream, n, &oracle_events);
        decoder_events.count = 0;
        decoder_events.overflow = 0;
        while (at < n) {
            size_t chunk = fuzz_one_in(r, 4) ? fuzz_below(r, 301) : fuzz_below(r, 9);
            if (chunk > n - at) chunk = n - at;
            EXPECT(ep_decoder_feed(&d, stream + at, chunk) == EP_OK, "feed failed");
            EXPECT(ep_decoder_pending(&d) <= EP_FRAME_MAX, "decoder holds %lu bytes", (unsigned long)ep_decoder_pending(&d));
            at += chunk;
            chunks++;
        }
        EXPECT(ep_decoder_pending(&d) == 0u, "candidate still pending after the filler");
        EXPECT(!oracle_events.overflow && !decoder_events.overflow, "event overflow");
        EXPECT(oracle_events.count == decoder_events.count, "decoder gave %lu events, oracle %lu",
               (unsigned long)decoder_events.count, (unsigned long)oracle_events.count);
        for (i = 0; i < oracle_events.count && i < decoder_events.count; i++) {
            if (!same_event(&oracle_events.events[i], &decoder_events.events[i])) {
                EXPECT(0, "event %lu differs from the oracle", (unsigned long)i);
                break;
            }
            if (oracle_events.events[i].kind == EP_EVENT_FRAME) (*frames_seen)++; else (*errors_seen)++;
        }
        /* Intact planted frames come out unless an accepted frame overlaps them. */
        for (p = 0; p < planted_count; p++) {
            int found = 0;
            for (i = 0; i < oracle_events.count && !found; i++) {
                const fuzz_event *e = &oracle_events.events[i];
                size_t end = e->start + e->payload_len + EP_FRAME_OVERHEAD;
                if (e->kind == EP_EVENT_FRAME && (e->start == planted[p] || (e->start < planted[p] && planted[p] < end))) {
                    found = 1;
                }
            }
            EXPECT(found, "planted frame at %lu lost", (unsigned long)planted[p]);
        }
    }
}

int main(int argc, char **argv)
{
    fuzz_prng r;
    unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 0x5EEDul;
    unsigned long chunks = argc > 2 ? strtoul(argv[2], NULL, 0) : 200000ul;
    unsigned long tlv_inputs = argc > 3 ? strtoul(argv[3], NULL, 0) : 50000ul;
    unsigned long frames = 0;
    unsigned long errors = 0;
    unsigned long accepted = 0;

    r.state = seed;
    fuzz_decoder(&r, chunks, &frames, &errors);
    fuzz_tlv(&r, tlv_inputs, &accepted);
    if (fuzz_failures != 0u) {
        printf("fuzz_decoder: %lu failures (seed 0x%lx)\n", fuzz_failures, seed);
        return 1;
    }
    printf("fuzz_decoder: seed 0x%lx, %lu chunks (%lu frames, %lu errors matched the oracle), %lu TLV inputs (%lu accepted): ok\n",
           seed, chunks, frames, errors, tlv_inputs, accepted);
    return 0;
}
