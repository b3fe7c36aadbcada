/*
 * Runs every vector of firmware-bridge/vectors.json against the C library.
 * Usage: test_vectors path/to/vectors.json
 * Prints one line per failing vector, then "N passed, M failed"; exits 1 on
 * any failure (or an unreadable file), 0 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc16.h"
#include "frame.h"
#include "test_json.h"
#include "test_support.h"

#define VECTORS_FILE_MAX_BYTES (16u * 1024u * 1024u)
#define STREAM_MAX_BYTES (64u * 1024u)
#define CAPTURE_MAX_EVENTS 256u

static unsigned passed;
static unsigned failed;

static void record(int ok)
{
    if (ok) {
        passed++;
    } else {
        failed++;
    }
}

/* ---------------------------------------------------------------- crc16 */

static int check_crc(const json_doc *doc, const json_node *v)
{
    static uint8_t input[TEST_HEX_MAX_BYTES];
    const json_node *name = json_get(doc, v, "name");
    const json_node *crc_hex = json_get(doc, v, "crcHex");
    long n = test_get_hex(doc, v, "inputHex", input, sizeof(input));
    uint8_t want[2];
    uint16_t got;

    if (n < 0 || crc_hex == NULL || crc_hex->type != JSON_STRING ||
        test_unhex(crc_hex->str, crc_hex->str_len, want, sizeof(want)) != 2) {
        test_fail("crc16", name, "malformed vector (inputHex, crcHex of 4 hex digits)");
        return 0;
    }
    got = ep_crc16(input, (size_t)n);
    if (got != (uint16_t)(((unsigned)want[0] << 8) | want[1])) {
        test_fail("crc16", name, "got %04x, expected %.*s", (unsigned)got, (int)crc_hex->str_len, crc_hex->str);
        return 0;
    }
    /* Incremental use must agree: split at every third byte. */
    {
        uint16_t crc = EP_CRC16_INIT;
        size_t at;
        for (at = 0; at < (size_t)n; at += 3u) {
            size_t step = (size_t)n - at < 3u ? (size_t)n - at : 3u;
            crc = ep_crc16_update(crc, input + at, step);
        }
        if (crc != got) {
            test_fail("crc16", name, "incremental CRC %04x differs from one-shot %04x", (unsigned)crc, (unsigned)got);
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- decoder capture */

typedef struct {
    int kind;
    int error;
    uint8_t seq;
    uint8_t type;
    size_t payload_at;
    size_t payload_len;
} captured_event;

typedef struct {
    captured_event events[CAPTURE_MAX_EVENTS];
    size_t count;
    int overflow;
    int bad_frame; /* a frame event whose raw bytes do not check out */
    uint8_t payloads[STREAM_MAX_BYTES];
    size_t payloads_len;
} capture;

static void capture_event(void *ctx, const ep_decoder_event *event)
{
    capture *c = ctx;
    captured_event *e;

    if (c->count == CAPTURE_MAX_EVENTS || c->payloads_len + event->payload_len > sizeof(c->payloads)) {
        c->overflow = 1;
        return;
    }
    e = &c->events[c->count++];
    e->kind = event->kind;
    e->error = event->error;
    e->seq = event->seq;
    e->type = event->type;
    e->payload_at = c->payloads_len;
    e->payload_len = event->payload_len;
    if (event->kind == EP_EVENT_FRAME) {
        size_t n = event->raw_len;
        if (n != event->payload_len + EP_FRAME_OVERHEAD || event->raw[0] != EP_STX || event->raw[n - 1u] != EP_ETX ||
            ep_crc16(event->raw + 1, n - 4u) != (uint16_t)(((unsigned)event->raw[n - 3u] << 8) | event->raw[n - 2u])) {
            c->bad_frame = 1;
        }
        if (event->payload_len != 0u) {
            memcpy(c->payloads + c->payloads_len, event->payload, event->payload_len);
        }
        c->payloads_len += event->payload_len;
    }
}

/* Feed `stream` split as given by `splits` (chunk lengths; null = one chunk
 * per byte when bytewise, else the whole stream at once). */
static int run_decoder(const uint8_t *stream, size_t stream_len, const size_t *splits, size_t split_count,
                       int bytewise, capture *c, char *why, size_t why_cap)
{
    ep_decoder d;
    size_t at = 0;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (ep_decoder_init(&d, capture_event, c) != EP_OK) {
        snprintf(why, why_cap, "ep_decoder_init failed");
        return 0;
    }
    if (splits != NULL) {
        for (i = 0; i < split_count; i++) {
            if (ep_decoder_feed(&d, stream + at, splits[i]) != EP_OK) {
                snprintf(why, why_cap, "ep_decoder_feed failed");
                return 0;
            }
            at += splits[i];
            if (ep_decoder_pending(&d) > EP_FRAME_MAX) {
                snprintf(why, why_cap, "decoder holds %lu bytes", (unsigned long)ep_decoder_pending(&d));
                return 0;
            }
        }
    } else if (bytewise) {
        for (i = 0; i < stream_len; i++) {
            (void)ep_decoder_feed_byte(&d, stream[i]);
        }
    } else {
        (void)ep_decoder_feed(&d, stream, stream_len);
    }
    if (c->overflow || c->bad_frame) {
        snprintf(why, why_cap, c->overflow ? "too many events to capture" : "a frame event's raw bytes are inconsistent");
        return 0;
    }
    return 1;
}

/* Compare captured events with the vector's "expect" array. */
static int events_match(const json_doc *doc, const json_node *expect, const capture *c, const char *mode,
                        char *why, size_t why_cap)
{
    static uint8_t want_payload[TEST_HEX_MAX_BYTES];
    const json_node *item;
    size_t i = 0;

    for (item = json_first(doc, expect); item != NULL; item = json_next(doc, item), i++) {
        const json_node *frame = json_get(doc, item, "frame");
        const json_node *error = json_get(doc, item, "error");
        const captured_event *e = i < c->count ? &c->events[i] : NULL;

        if (item->type != JSON_OBJECT || item->child_count != 1u || (frame == NULL) == (error == NULL)) {
            snprintf(why, why_cap, "expect[%lu] is not {frame} or {error}", (unsigned long)i);
            return 0;
        }
        if (e == NULL) {
            snprintf(why, why_cap, "%s: only %lu events, expected %lu", mode, (unsigned long)c->count,
                     (unsigned long)expect->child_count);
            return 0;
        }
        if (error != NULL) {
            if (error->type != JSON_STRING) {
                snprintf(why, why_cap, "expect[%lu].error is not a string", (unsigned long)i);
                return 0;
            }
            if (e->kind != EP_EVENT_ERROR || !json_str_is(error, ep_error_name(e->error))) {
                snprintf(why, why_cap, "%s: event %lu is %s, expected error %.*s", mode, (unsigned long)i,
                         e->kind == EP_EVENT_FRAME ? "a frame" : ep_error_name(e->error), (int)error->str_len,
                         error->str);
                return 0;
            }
        } else {
            int64_t seq = 0;
            int64_t type = 0;
            long n = test_get_hex(doc, frame, "payloadHex", want_payload, sizeof(want_payload));
            if (test_get_int(doc, frame, "seq", 0, 255, &seq) != 0 || test_get_int(doc, frame, "type", 0, 255, &type) != 0 ||
                n < 0 || frame->child_count != 3u) {
                snprintf(why, why_cap, "expect[%lu].frame is malformed", (unsigned long)i);
                return 0;
            }
            if (e->kind != EP_EVENT_FRAME) {
                snprintf(why, why_cap, "%s: event %lu is error %s, expected a frame", mode, (unsigned long)i,
                         ep_error_name(e->error));
                return 0;
            }
            if (e->seq != seq || e->type != type || e->payload_len != (size_t)n ||
                memcmp(c->payloads + e->payload_at, want_payload, (size_t)n) != 0) {
                snprintf(why, why_cap, "%s: frame %lu is seq %u type 0x%02x with %lu payload bytes, expected seq %lld type 0x%02llx with %ld",
                         mode, (unsigned long)i, (unsigned)e->seq, (unsigned)e->type, (unsigned long)e->payload_len,
                         (long long)seq, (long long)type, n);
                return 0;
            }
        }
    }
    if (c->count != i) {
        snprintf(why, why_cap, "%s: %lu events, expected %lu (first extra: %s)", mode, (unsigned long)c->count,
                 (unsigned long)i, c->events[i].kind == EP_EVENT_FRAME ? "frame" : ep_error_name(c->events[i].error));
        return 0;
    }
    return 1;
}

static capture g_capture;

static int check_decoder(const json_doc *doc, const json_node *v)
{
    static uint8_t stream[STREAM_MAX_BYTES];
    static size_t splits[STREAM_MAX_BYTES];
    const json_node *name = json_get(doc, v, "name");
    const json_node *chunks = json_get(doc, v, "chunksHex");
    const json_node *expect = json_get(doc, v, "expect");
    const json_node *chunk;
    size_t stream_len = 0;
    size_t split_count = 0;
    char why[512];

    if (chunks == NULL || chunks->type != JSON_ARRAY || expect == NULL || expect->type != JSON_ARRAY) {
        test_fail("decoder", name, "malformed vector (chunksHex, expect)");
        return 0;
    }
    for (chunk = json_first(doc, chunks); chunk != NULL; chunk = json_next(doc, chunk)) {
        long n = chunk->type == JSON_STRING
                     ? test_unhex(chunk->str, chunk->str_len, stream + stream_len, sizeof(stream) - stream_len)
                     : -1;
        if (n < 0 || split_count == STREAM_MAX_BYTES) {
            test_fail("decoder", name, "chunk %lu is not lowercase hex (or the stream is too long)", (unsigned long)split_count);
            return 0;
        }
        splits[split_count++] = (size_t)n;
        stream_len += (size_t)n;
    }
    /* The vector's chunking, then the whole stream at once, then byte by
     * byte: the spec says any split gives the same events. */
    if (!run_decoder(stream, stream_len, splits, split_count, 0, &g_capture, why, sizeof(why)) ||
        !events_match(doc, expect, &g_capture, "as chunked", why, sizeof(why)) ||
        !run_decoder(stream, stream_len, NULL, 0, 0, &g_capture, why, sizeof(why)) ||
        !events_match(doc, expect, &g_capture, "in one chunk", why, sizeof(why)) ||
        !run_decoder(stream, stream_len, NULL, 0, 1, &g_capture, why, sizeof(why)) ||
        !events_match(doc, expect, &g_capture, "byte by byte", why, sizeof(why))) {
        test_fail("decoder", name, "%s", why);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- frames */

static int check_frame(const json_doc *doc, const json_node *v)
{
    static uint8_t payload[TEST_HEX_MAX_BYTES];
    static uint8_t want[TEST_HEX_MAX_BYTES];
    static uint8_t got[EP_FRAME_MAX];
    static char shown[2u * TEST_HEX_MAX_BYTES + 8u];
    const json_node *name = json_get(doc, v, "name");
    int64_t seq = 0;
    int64_t type = 0;
    long payload_len = test_get_hex(doc, v, "payloadHex", payload, sizeof(payload));
    long want_len = test_get_hex(doc, v, "frameHex", want, sizeof(want));
    char why[512];
    int n;

    if (test_get_int(doc, v, "seq", 0, 255, &seq) != 0 || test_get_int(doc, v, "type", 0, 255, &type) != 0 ||
        payload_len < 0 || want_len < 0) {
        test_fail("frames", name, "malformed vector (seq, type, payloadHex, frameHex)");
        return 0;
    }
    n = ep_frame_encode((uint8_t)seq, (uint8_t)type, payload, (size_t)payload_len, got, sizeof(got));
    if (n < 0) {
        test_fail("frames", name, "encode refused: %s", ep_error_name(n));
        return 0;
    }
    if ((long)n != want_len || memcmp(got, want, (size_t)n) != 0) {
        test_fail("frames", name, "encode gives %s", test_hex(got, (size_t)n, shown, sizeof(shown)));
        return 0;
    }
    /* Zero-copy path: payload written in place first. */
    memset(got, 0xAA, sizeof(got));
    if (payload_len > 0) {
        memcpy(got + EP_FRAME_PAYLOAD_OFFSET, payload, (size_t)payload_len);
    }
    n = ep_frame_seal((uint8_t)seq, (uint8_t)type, got, (size_t)payload_len, sizeof(got));
    if ((long)n != want_len || memcmp(got, want, (size_t)n) != 0) {
        test_fail("frames", name, "ep_frame_seal differs from ep_frame_encode");
        return 0;
    }
    /* And the decoder gives the frame back, alone. */
    {
        size_t split = (size_t)want_len;
        if (!run_decoder(want, (size_t)want_len, &split, 1, 0, &g_capture, why, sizeof(why))) {
            test_fail("frames", name, "%s", why);
            return 0;
        }
        if (g_capture.count != 1u || g_capture.events[0].kind != EP_EVENT_FRAME || g_capture.events[0].seq != seq ||
            g_capture.events[0].type != type || g_capture.events[0].payload_len != (size_t)payload_len ||
            memcmp(g_capture.payloads, payload, (size_t)payload_len) != 0) {
            test_fail("frames", name, "decoding frameHex does not give back exactly this frame");
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- main */

typedef int (*vector_check)(const json_doc *doc, const json_node *vector);

static void run_section(const json_doc *doc, const json_node *root, const char *key, vector_check check)
{
    const json_node *list = json_get(doc, root, key);
    const json_node *v;

    if (list == NULL || list->type != JSON_ARRAY || list->child_count == 0u) {
        printf("FAIL %s: section missing, not an array, or empty\n", key);
        record(0);
        return;
    }
    for (v = json_first(doc, list); v != NULL; v = json_next(doc, v)) {
        record(v->type == JSON_OBJECT ? check(doc, v) : 0);
    }
}

/* secure.auth and secure.cards, after the section's keys load. */
static void run_secure(const json_doc *doc, const json_node *root)
{
    const json_node *secure = json_get(doc, root, "secure");
    char why[256];

    if (secure == NULL || secure->type != JSON_OBJECT) {
        printf("FAIL secure: section missing or not an object\n");
        record(0);
        return;
    }
    if (!test_secure_setup(doc, secure, why, sizeof(why))) {
        printf("FAIL secure: %s\n", why);
        record(0);
        return;
    }
    run_section(doc, secure, "auth", test_secure_auth_vector);
    run_section(doc, secure, "cards", test_secure_card_vector);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t n = 0;

    if (f == NULL) {
        return NULL;
    }
    text = malloc(VECTORS_FILE_MAX_BYTES + 1u);
    if (text != NULL) {
        n = fread(text, 1, VECTORS_FILE_MAX_BYTES + 1u, f);
        if (ferror(f) || n > VECTORS_FILE_MAX_BYTES) {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    *len = n;
    return text;
}

int main(int argc, char **argv)
{
    json_doc doc;
    const json_node *root;
    char *text;
    size_t len = 0;
    int64_t value = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s vectors.json\n", argv[0]);
        printf("0 passed, 1 failed\n");
        return 2;
    }
    text = read_file(argv[1], &len);
    if (text == NULL) {
        printf("FAIL cannot read %s (missing, unreadable or over %u bytes)\n", argv[1], VECTORS_FILE_MAX_BYTES);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (json_parse(&doc, text, len) != 0) {
        printf("FAIL %s is not valid JSON: %s\n", argv[1], doc.error);
        printf("0 passed, 1 failed\n");
        json_free(&doc);
        free(text);
        return 1;
    }
    root = json_root(&doc);
    if (root == NULL || root->type != JSON_OBJECT || test_get_int(&doc, root, "version", 1, 1, &value) != 0 ||
        test_get_int(&doc, root, "maxPayload", EP_MAX_PAYLOAD, EP_MAX_PAYLOAD, &value) != 0) {
        printf("FAIL header: expected an object with version 1 and maxPayload %u\n", EP_MAX_PAYLOAD);
        record(0);
    } else {
        run_section(&doc, root, "crc16", check_crc);
        run_section(&doc, root, "frames", check_frame);
        run_section(&doc, root, "decoder", check_decoder);
        run_section(&doc, root, "tlv", test_tlv_vector);
        run_section(&doc, root, "messages", test_message_vector);
        run_secure(&doc, root);
    }
    json_free(&doc);
    free(text);
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0u ? 0 : 1;
}
