/*
 * A small, strict JSON reader for the test programs (not part of the library).
 *
 * Accepts RFC 8259 JSON restricted to what vectors.json uses: objects, arrays,
 * strings, integers (64-bit signed; fractions and exponents are refused),
 * booleans and null. Refuses duplicate keys, control characters in strings,
 * bad escapes, unpaired surrogates, leading zeros, nesting deeper than
 * JSON_MAX_DEPTH and anything after the top-level value. Strings are unescaped
 * in place in the caller's text buffer, which must outlive the document.
 */
#ifndef EP_TEST_JSON_H
#define EP_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64
#define JSON_NONE ((size_t)-1)

typedef enum { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct {
    json_type type;
    const char *key;     /* member name when the parent is an object, else null */
    size_t key_len;
    const char *str;     /* JSON_STRING: unescaped UTF-8, not NUL-terminated */
    size_t str_len;
    int64_t integer;     /* JSON_INT */
    int boolean;         /* JSON_BOOL */
    size_t first_child;  /* JSON_ARRAY / JSON_OBJECT, JSON_NONE when empty */
    size_t next_sibling; /* JSON_NONE for the last one */
    size_t child_count;
} json_node;

typedef struct {
    json_node *nodes; /* nodes[0] is the top-level value */
    size_t count;
    size_t capacity;
    char error[160];  /* set when json_parse fails */
} json_doc;

/* Parse text[0..len) (modified in place). Returns 0, or -1 with doc->error
 * set. Free with json_free. */
int json_parse(json_doc *doc, char *text, size_t len);
void json_free(json_doc *doc);

const json_node *json_root(const json_doc *doc);
/* Member of an object by name, or null. */
const json_node *json_get(const json_doc *doc, const json_node *object, const char *key);
/* First element / member, and the one after; null at the end. */
const json_node *json_first(const json_doc *doc, const json_node *container);
const json_node *json_next(const json_doc *doc, const json_node *node);
/* 1 when a JSON_STRING node equals the NUL-terminated text. */
int json_str_is(const json_node *node, const char *text);

#endif /* EP_TEST_JSON_H */
