/* TLV half of the fuzz_decoder harness: random and mutated BER-TLV against a recursive oracle. */
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_prng.h"
#include "tlv.h"

typedef struct { uint32_t tag; size_t depth; int parent; size_t offset; size_t value_at; size_t value_len; } ref_object;

/* Recursive oracle for PROTOCOL.md section 7 with the order vectors.json pins. */
static int ref_level(const uint8_t *d, size_t pos, size_t end, size_t depth, int parent, ref_object *out, size_t *n)
{
    while (pos < end) {
        size_t start = pos;
        uint32_t tag;
        size_t tag_len = 1;
        size_t len;
        uint8_t b;

        if (d[pos] == EP_TLV_PADDING) {
            pos++; /* padding, not an object */
            continue;
        }
        if (depth > EP_TLV_MAX_DEPTH) return EP_ERR_TLV_TOO_DEEP;
        if (*n == EP_TLV_MAX_OBJECTS) return EP_ERR_TLV_TOO_MANY_OBJECTS;
        b = d[pos++];
        tag = b;
        if ((b & 0x1Fu) == 0x1Fu) {
            for (;;) {
                if (tag_len == 3u) return EP_ERR_TLV_TAG_TOO_LONG;
                if (pos >= end) return EP_ERR_TLV_TRUNCATED;
                b = d[pos++];
                tag = (tag << 8) | b;
                tag_len++;
                if ((b & 0x80u) == 0u) break;
            }
        }
        if (pos >= end) return EP_ERR_TLV_TRUNCATED;
        b = d[pos++];
        if (b < 0x80u) {
            len = b;
        } else if (b == 0x80u) {
            return EP_ERR_TLV_INDEFINITE_LENGTH;
        } else {
            size_t k;
            size_t count = b & 0x7Fu;
            if (count > 3u) return EP_ERR_TLV_LENGTH_TOO_LONG;
            if (end - pos < count) return EP_ERR_TLV_TRUNCATED;
            for (len = 0, k = 0; k < count; k++) len = (len << 8) | d[pos++];
        }
        if (len > end - pos) return EP_ERR_TLV_TRUNCATED;
        out[*n].tag = tag;
        out[*n].depth = depth;
        out[*n].parent = parent;
        out[*n].offset = start;
        out[*n].value_at = pos;
        out[*n].value_len = len;
        (*n)++;
        if ((d[start] & 0x20u) != 0u) {
            int rc = ref_level(d, pos, pos + len, depth + 1u, (int)(*n - 1u), out, n);
            if (rc != EP_OK) return rc;
        }
        pos += len;
    }
    return EP_OK;
}

/* Random well-formed TLV sequence into out (at most cap bytes), now and then padded; 0..10 levels. */
static size_t gen_tlv(fuzz_prng *r, uint8_t *out, size_t cap, size_t depth)
{
    size_t n = 0;
    /* Sometimes a long flat run, to reach the 64-object limit from both sides. */
    size_t objects = depth == 1u && fuzz_one_in(r, 8) ? 55u + fuzz_below(r, 20) : fuzz_below(r, depth == 1u ? 6u : 4u);

    while (objects-- > 0u) {
        uint8_t value[1100];
        uint8_t header[8];
        size_t h = 0;
        size_t len = 0;
        int constructed = depth < 10u && fuzz_one_in(r, 3);
        uint8_t first = (uint8_t)((fuzz_byte(r) & 0xDFu) | (constructed ? 0x20u : 0u));
        size_t pick = fuzz_below(r, 100);
        /* 0: one tag byte; 1-2: that many more; 3: a 4-byte tag, which is too long. */
        size_t tag_bytes = pick < 60u ? 0u : pick < 85u ? 1u : pick < 97u ? 2u : 3u;

        if (tag_bytes == 0u) {
            if ((first & 0x1Fu) == 0x1Fu) first = (uint8_t)(first & 0xFEu);
            header[h++] = first;
        } else {
            size_t k;
            header[h++] = (uint8_t)(first | 0x1Fu);
            for (k = 1; k <= tag_bytes; k++) {
                header[h++] = (uint8_t)(k < tag_bytes ? (fuzz_byte(r) | 0x80u) : (fuzz_byte(r) & 0x7Fu));
            }
        }
        if (constructed) {
            len = gen_tlv(r, value, sizeof(value), depth + 1u);
        } else {
            size_t k;
            len = fuzz_one_in(r, 20) ? fuzz_below(r, 300) : fuzz_below(r, 12);
            for (k = 0; k < len; k++) value[k] = fuzz_byte(r);
        }
        if (len < 0x80u && !fuzz_one_in(r, 6)) {
            header[h++] = (uint8_t)len;
        } else {
            size_t form = len < 0x100u ? 1u + fuzz_below(r, 3) : 2u + fuzz_below(r, 2);
            header[h++] = (uint8_t)(0x80u | form);
            while (form-- > 0u) header[h++] = (uint8_t)(len >> (8u * form));
        }
        if (n + h + len > cap) break;
        memcpy(out + n, header, h);
        memcpy(out + n + h, value, len);
        n += h + len;
        if (fuzz_one_in(r, 8) && n < cap) out[n++] = EP_TLV_PADDING;
    }
    return n;
}

static void fuzz_tlv_one(fuzz_prng *r, const uint8_t *in, size_t len, unsigned long *accepted)
{
    static ep_tlv_object objects[EP_TLV_MAX_OBJECTS];
    static ref_object ref[EP_TLV_MAX_OBJECTS];
    size_t capacity = fuzz_one_in(r, 8) ? fuzz_below(r, EP_TLV_MAX_OBJECTS) : EP_TLV_MAX_OBJECTS;
    size_t count = 99;
    size_t ref_count = 0;
    int ref_rc = len > EP_TLV_MAX_INPUT ? EP_ERR_TLV_TOO_LONG : ref_level(in, 0, len, 1u, EP_TLV_NO_PARENT, ref, &ref_count);
    int rc = ep_tlv_parse(in, len, objects, capacity, &count);
    size_t i;

    if (rc == EP_ERR_TLV_NO_SPACE) {
        EXPECT(capacity < EP_TLV_MAX_OBJECTS && (ref_rc != EP_OK || ref_count > capacity), "spurious no_space");
        EXPECT(count == 0u, "count set on error");
        return;
    }
    EXPECT(rc == ref_rc, "tlv rc %s, oracle %s (len %lu)", ep_error_name(rc), ep_error_name(ref_rc), (unsigned long)len);
    if (rc != EP_OK || ref_rc != EP_OK) {
        EXPECT(rc == EP_OK || count == 0u, "count set on error");
        return;
    }
    (*accepted)++;
    EXPECT(count == ref_count && count <= capacity, "tlv count %lu, oracle %lu", (unsigned long)count, (unsigned long)ref_count);
    for (i = 0; i < count && i < ref_count; i++) {
        const ep_tlv_object *o = &objects[i];
        EXPECT(o->tag == ref[i].tag && o->depth == ref[i].depth && o->parent == ref[i].parent && o->offset == ref[i].offset &&
               o->value == in + ref[i].value_at && o->value_len == ref[i].value_len, "object %lu differs", (unsigned long)i);
        EXPECT(o->depth >= 1u && o->depth <= EP_TLV_MAX_DEPTH, "depth %u", (unsigned)o->depth);
        EXPECT(o->parent < (int)i, "parent after child");
        if (o->parent >= 0) {
            const ep_tlv_object *p = &objects[o->parent];
            EXPECT(p->constructed && o->depth == p->depth + 1u && o->value >= p->value &&
                   o->value + o->value_len <= p->value + p->value_len, "child outside its parent");
        }
        EXPECT(o->value + o->value_len <= in + len, "value outside the input");
    }
}

void fuzz_tlv(fuzz_prng *r, unsigned long inputs, unsigned long *accepted)
{
    static uint8_t buf[EP_TLV_MAX_INPUT + 64u];
    unsigned long i;

    for (i = 0; i < inputs; i++) {
        size_t len;
        size_t k;

        if (fuzz_one_in(r, 4)) { /* raw random bytes, sometimes over the limit */
            len = fuzz_below(r, fuzz_one_in(r, 50) ? sizeof(buf) : 64u);
            for (k = 0; k < len; k++) buf[k] = fuzz_byte(r);
        } else { /* well-formed tree, maybe mutated */
            len = gen_tlv(r, buf, fuzz_one_in(r, 10) ? sizeof(buf) : EP_TLV_MAX_INPUT, 1u);
            if (len > 0u && fuzz_one_in(r, 2)) {
                switch (fuzz_below(r, 4)) {
                case 0: buf[fuzz_below(r, len)] ^= (uint8_t)(1u << fuzz_below(r, 8)); break;
                case 1: len = fuzz_below(r, len); break;
                case 2: if (len < sizeof(buf)) buf[len++] = fuzz_byte(r); break;
                default: buf[fuzz_below(r, len)] = (uint8_t)(0x80u + fuzz_below(r, 6)); break;
                }
            }
        }
        fuzz_tlv_one(r, buf, len, accepted);
    }
}

