/* BER-TLV vectors: the parsed tree (tag, value, children) or the named error. */
#include <stdio.h>
#include <string.h>

#include "tlv.h"
#include "test_support.h"

static char *tag_hex(const ep_tlv_object *o, char *out, size_t cap)
{
    uint8_t bytes[EP_TLV_MAX_TAG_BYTES];
    unsigned i;

    for (i = 0; i < o->tag_len; i++) {
        bytes[i] = (uint8_t)(o->tag >> (8u * (o->tag_len - 1u - i)));
    }
    return test_hex(bytes, o->tag_len, out, cap);
}

/* Match the expected array against the children of `parent` (pre-order from *cursor). */
static int tlv_tree_matches(const json_doc *doc, const json_node *expected, const ep_tlv_object *objects, size_t count,
                            int parent, size_t *cursor, char *why, size_t why_cap)
{
    static uint8_t want_value[TEST_HEX_MAX_BYTES];
    const json_node *item;
    char tag[16];

    if (expected == NULL || expected->type != JSON_ARRAY) {
        snprintf(why, why_cap, "objects/children is not an array");
        return 0;
    }
    for (item = json_first(doc, expected); item != NULL; item = json_next(doc, item)) {
        const json_node *want_tag = json_get(doc, item, "tag");
        const json_node *children = json_get(doc, item, "children");
        long n = test_get_hex(doc, item, "valueHex", want_value, sizeof(want_value));
        const ep_tlv_object *o;
        size_t index = *cursor;

        if (want_tag == NULL || want_tag->type != JSON_STRING || n < 0) {
            snprintf(why, why_cap, "malformed object (tag, valueHex)");
            return 0;
        }
        if (index >= count || objects[index].parent != parent) {
            snprintf(why, why_cap, "parsed tree lacks object %.*s", (int)want_tag->str_len, want_tag->str);
            return 0;
        }
        o = &objects[index];
        tag_hex(o, tag, sizeof(tag));
        if (!json_str_is(want_tag, tag) || o->value_len != (size_t)n || memcmp(o->value, want_value, (size_t)n) != 0) {
            snprintf(why, why_cap, "object %lu is tag %s with %u value bytes, expected tag %.*s with %ld",
                     (unsigned long)index, tag, (unsigned)o->value_len, (int)want_tag->str_len, want_tag->str, n);
            return 0;
        }
        if ((children != NULL) != (o->constructed != 0)) {
            snprintf(why, why_cap, "object %s: constructed is %u but the vector %s children", tag, (unsigned)o->constructed,
                     children != NULL ? "lists" : "has no");
            return 0;
        }
        (*cursor)++;
        if (children != NULL &&
            !tlv_tree_matches(doc, children, objects, count, (int)index, cursor, why, why_cap)) {
            return 0;
        }
    }
    if (*cursor < count && objects[*cursor].parent == parent) {
        snprintf(why, why_cap, "parsed tree has an extra object %s", tag_hex(&objects[*cursor], tag, sizeof(tag)));
        return 0;
    }
    return 1;
}

int test_tlv_vector(const json_doc *doc, const json_node *v)
{
    static uint8_t input[TEST_HEX_MAX_BYTES];
    static ep_tlv_object objects[EP_TLV_MAX_OBJECTS];
    const json_node *name = json_get(doc, v, "name");
    const json_node *ok = json_get(doc, v, "ok");
    long n = test_get_hex(doc, v, "hex", input, sizeof(input));
    size_t count = 0;
    char why[512];
    int rc;

    if (n < 0 || ok == NULL || ok->type != JSON_BOOL) {
        test_fail("tlv", name, "malformed vector (hex, ok)");
        return 0;
    }
    rc = ep_tlv_parse(input, (size_t)n, objects, EP_TLV_MAX_OBJECTS, &count);
    if (ok->boolean) {
        size_t cursor = 0;
        if (rc != EP_OK) {
            test_fail("tlv", name, "refused with %s, expected a tree", ep_error_name(rc));
            return 0;
        }
        if (!tlv_tree_matches(doc, json_get(doc, v, "objects"), objects, count, EP_TLV_NO_PARENT, &cursor, why,
                              sizeof(why))) {
            test_fail("tlv", name, "%s", why);
            return 0;
        }
        if (cursor != count) {
            test_fail("tlv", name, "parsed %lu objects, the vector lists %lu", (unsigned long)count, (unsigned long)cursor);
            return 0;
        }
    } else {
        const json_node *error = json_get(doc, v, "error");
        if (error == NULL || error->type != JSON_STRING) {
            test_fail("tlv", name, "malformed vector (error)");
            return 0;
        }
        if (rc == EP_OK || !json_str_is(error, ep_error_name(rc))) {
            test_fail("tlv", name, "got %s, expected %.*s", rc == EP_OK ? "a tree" : ep_error_name(rc),
                      (int)error->str_len, error->str);
            return 0;
        }
        if (count != 0u) {
            test_fail("tlv", name, "count is %lu after an error", (unsigned long)count);
            return 0;
        }
    }
    return 1;
}

