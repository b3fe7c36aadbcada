#include "test_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_doc *doc;
    char *text;
    size_t len;
    size_t pos;
    int depth;
} json_parser;

static int json_fail(json_parser *p, const char *what)
{
    if (p->doc->error[0] == '\0') {
        snprintf(p->doc->error, sizeof(p->doc->error), "%s at byte %lu", what, (unsigned long)p->pos);
    }
    return -1;
}

static void json_skip_ws(json_parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->pos++;
    }
}

static int json_new_node(json_parser *p, json_type type, size_t *index)
{
    json_doc *doc = p->doc;
    json_node *node;

    if (doc->count == doc->capacity) {
        size_t capacity = doc->capacity == 0 ? 256 : doc->capacity * 2;
        json_node *grown = realloc(doc->nodes, capacity * sizeof(*grown));
        if (grown == NULL) {
            return json_fail(p, "out of memory");
        }
        doc->nodes = grown;
        doc->capacity = capacity;
    }
    *index = doc->count++;
    node = &doc->nodes[*index];
    memset(node, 0, sizeof(*node));
    node->type = type;
    node->first_child = JSON_NONE;
    node->next_sibling = JSON_NONE;
    return 0;
}

static int json_hex4(json_parser *p, size_t at, unsigned *out)
{
    unsigned value = 0;
    size_t i;

    if (p->len - at < 4) {
        return json_fail(p, "truncated \\u escape");
    }
    for (i = 0; i < 4; i++) {
        char c = p->text[at + i];
        unsigned digit;
        if (c >= '0' && c <= '9') {
            digit = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = (unsigned)(c - 'A' + 10);
        } else {
            return json_fail(p, "bad hex digit in \\u escape");
        }
        value = (value << 4) | digit;
    }
    *out = value;
    return 0;
}

/* Parse a string at p->pos (on the opening quote); unescape in place. */
static int json_string(json_parser *p, const char **out, size_t *out_len)
{
    char *dst;
    char *start;

    p->pos++; /* opening quote */
    start = p->text + p->pos;
    dst = start;
    for (;;) {
        unsigned char c;
        if (p->pos >= p->len) {
            return json_fail(p, "unterminated string");
        }
        c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            return json_fail(p, "control character in string");
        }
        if (c != '\\') {
            *dst++ = (char)c;
            p->pos++;
            continue;
        }
        if (p->pos + 1 >= p->len) {
            return json_fail(p, "truncated escape");
        }
        c = (unsigned char)p->text[p->pos + 1];
        p->pos += 2;
        switch (c) {
        case '"': *dst++ = '"'; break;
        case '\\': *dst++ = '\\'; break;
        case '/': *dst++ = '/'; break;
        case 'b': *dst++ = '\b'; break;
        case 'f': *dst++ = '\f'; break;
        case 'n': *dst++ = '\n'; break;
        case 'r': *dst++ = '\r'; break;
        case 't': *dst++ = '\t'; break;
        case 'u': {
            unsigned cp;
            if (json_hex4(p, p->pos, &cp) != 0) {
                return -1;
            }
            p->pos += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return json_fail(p, "unpaired low surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned low;
                if (p->len - p->pos < 6 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
                    return json_fail(p, "unpaired high surrogate");
                }
                if (json_hex4(p, p->pos + 2, &low) != 0) {
                    return -1;
                }
                if (low < 0xDC00 || low > 0xDFFF) {
                    return json_fail(p, "unpaired high surrogate");
                }
                p->pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            /* The UTF-8 form is never longer than the escape it replaces. */
            if (cp < 0x80) {
                *dst++ = (char)cp;
            } else if (cp < 0x800) {
                *dst++ = (char)(0xC0 | (cp >> 6));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *dst++ = (char)(0xE0 | (cp >> 12));
                *dst++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *dst++ = (char)(0xF0 | (cp >> 18));
                *dst++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *dst++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *dst++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return json_fail(p, "bad escape");
        }
    }
    *out = start;
    *out_len = (size_t)(dst - start);
    return 0;
}

static int json_integer(json_parser *p, int64_t *out)
{
    int negative = 0;
    uint64_t magnitude = 0;
    uint64_t limit;
    size_t digits = 0;

    if (p->text[p->pos] == '-') {
        negative = 1;
        p->pos++;
    }
    if (p->pos >= p->len || p->text[p->pos] < '0' || p->text[p->pos] > '9') {
        return json_fail(p, "bad number");
    }
    if (p->text[p->pos] == '0' && p->pos + 1 < p->len && p->text[p->pos + 1] >= '0' &&
        p->text[p->pos + 1] <= '9') {
        return json_fail(p, "leading zero");
    }
    limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
        unsigned digit = (unsigned)(p->text[p->pos] - '0');
        if (magnitude > (limit - digit) / 10u) {
            return json_fail(p, "integer out of 64-bit range");
        }
        magnitude = magnitude * 10u + digit;
        p->pos++;
        digits++;
    }
    if (p->pos < p->len && (p->text[p->pos] == '.' || p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        return json_fail(p, "only integers are supported");
    }
    (void)digits;
    if (negative) {
        *out = magnitude == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)magnitude;
    } else {
        *out = (int64_t)magnitude;
    }
    return 0;
}

static int json_literal(json_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        return json_fail(p, "unexpected character");
    }
    p->pos += n;
    return 0;
}

static int json_value(json_parser *p, size_t *index);

/* Parse the members (object) or elements (array) of the container at index. */
static int json_container(json_parser *p, size_t index, int is_object)
{
    char close = is_object ? '}' : ']';
    size_t last = JSON_NONE;

    if (++p->depth > JSON_MAX_DEPTH) {
        return json_fail(p, "nesting too deep");
    }
    p->pos++; /* opening bracket */
    json_skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        size_t child;

        json_skip_ws(p);
        if (is_object) {
            size_t other;
            if (p->pos >= p->len || p->text[p->pos] != '"') {
                return json_fail(p, "expected a member name");
            }
            if (json_string(p, &key, &key_len) != 0) {
                return -1;
            }
            for (other = p->doc->nodes[index].first_child; other != JSON_NONE;
                 other = p->doc->nodes[other].next_sibling) {
                if (p->doc->nodes[other].key_len == key_len &&
                    memcmp(p->doc->nodes[other].key, key, key_len) == 0) {
                    return json_fail(p, "duplicate member name");
                }
            }
            json_skip_ws(p);
            if (p->pos >= p->len || p->text[p->pos] != ':') {
                return json_fail(p, "expected ':'");
            }
            p->pos++;
        }
        if (json_value(p, &child) != 0) {
            return -1;
        }
        p->doc->nodes[child].key = key;
        p->doc->nodes[child].key_len = key_len;
        if (last == JSON_NONE) {
            p->doc->nodes[index].first_child = child;
        } else {
            p->doc->nodes[last].next_sibling = child;
        }
        last = child;
        p->doc->nodes[index].child_count++;
        json_skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == close) {
            p->pos++;
            break;
        }
        return json_fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->depth--;
    return 0;
}

static int json_value(json_parser *p, size_t *index)
{
    char c;

    json_skip_ws(p);
    if (p->pos >= p->len) {
        return json_fail(p, "unexpected end of input");
    }
    c = p->text[p->pos];
    if (c == '{' || c == '[') {
        if (json_new_node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY, index) != 0) {
            return -1;
        }
        return json_container(p, *index, c == '{');
    }
    if (c == '"') {
        const char *s;
        size_t n;
        if (json_new_node(p, JSON_STRING, index) != 0 || json_string(p, &s, &n) != 0) {
            return -1;
        }
        p->doc->nodes[*index].str = s;
        p->doc->nodes[*index].str_len = n;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int64_t v;
        if (json_new_node(p, JSON_INT, index) != 0 || json_integer(p, &v) != 0) {
            return -1;
        }
        p->doc->nodes[*index].integer = v;
        return 0;
    }
    if (c == 't' || c == 'f') {
        if (json_new_node(p, JSON_BOOL, index) != 0 || json_literal(p, c == 't' ? "true" : "false") != 0) {
            return -1;
        }
        p->doc->nodes[*index].boolean = c == 't';
        return 0;
    }
    if (c == 'n') {
        if (json_new_node(p, JSON_NULL, index) != 0) {
            return -1;
        }
        return json_literal(p, "null");
    }
    return json_fail(p, "unexpected character");
}

int json_parse(json_doc *doc, char *text, size_t len)
{
    json_parser p;
    size_t root;

    memset(doc, 0, sizeof(*doc));
    p.doc = doc;
    p.text = text;
    p.len = len;
    p.pos = 0;
    p.depth = 0;
    if (json_value(&p, &root) != 0) {
        return -1;
    }
    json_skip_ws(&p);
    if (p.pos != p.len) {
        return json_fail(&p, "trailing content after the top-level value");
    }
    return 0;
}

void json_free(json_doc *doc)
{
    free(doc->nodes);
    doc->nodes = NULL;
    doc->count = 0;
    doc->capacity = 0;
}

const json_node *json_root(const json_doc *doc)
{
    return doc->count == 0 ? NULL : &doc->nodes[0];
}

const json_node *json_get(const json_doc *doc, const json_node *object, const char *key)
{
    size_t n = strlen(key);
    const json_node *child;

    if (object == NULL || object->type != JSON_OBJECT) {
        return NULL;
    }
    for (child = json_first(doc, object); child != NULL; child = json_next(doc, child)) {
        if (child->key_len == n && memcmp(child->key, key, n) == 0) {
            return child;
        }
    }
    return NULL;
}

const json_node *json_first(const json_doc *doc, const json_node *container)
{
    if (container == NULL || (container->type != JSON_ARRAY && container->type != JSON_OBJECT) ||
        container->first_child == JSON_NONE) {
        return NULL;
    }
    return &doc->nodes[container->first_child];
}

const json_node *json_next(const json_doc *doc, const json_node *node)
{
    if (node == NULL || node->next_sibling == JSON_NONE) {
        return NULL;
    }
    return &doc->nodes[node->next_sibling];
}

int json_str_is(const json_node *node, const char *text)
{
    size_t n = strlen(text);
    return node != NULL && node->type == JSON_STRING && node->str_len == n && memcmp(node->str, text, n) == 0;
}
