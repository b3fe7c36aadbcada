#include "test_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int test_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1; /* uppercase is refused: vectors.json is lowercase by contract */
}

long test_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t out_cap)
{
    size_t i;

    if (hex_len % 2u != 0u || hex_len / 2u > out_cap) {
        return -1;
    }
    for (i = 0; i < hex_len / 2u; i++) {
        int hi = test_hex_digit(hex[2u * i]);
        int lo = test_hex_digit(hex[2u * i + 1u]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return (long)(hex_len / 2u);
}

char *test_hex(const uint8_t *bytes, size_t len, char *out, size_t out_cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    size_t at = 0;

    if (out_cap == 0u) {
        return out;
    }
    for (i = 0; i < len; i++) {
        if (at + 2u + 4u > out_cap) {
            memcpy(out + at, "...", 3);
            at += 3u;
            break;
        }
        out[at++] = digits[bytes[i] >> 4];
        out[at++] = digits[bytes[i] & 0x0Fu];
    }
    out[at] = '\0';
    return out;
}

void test_fail(const char *section, const json_node *name, const char *format, ...)
{
    va_list args;

    if (name != NULL && name->type == JSON_STRING) {
        printf("FAIL %s \"%.*s\": ", section, (int)name->str_len, name->str);
    } else {
        printf("FAIL %s (unnamed): ", section);
    }
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
}

int test_get_int(const json_doc *doc, const json_node *object, const char *key, int64_t min,
                 int64_t max, int64_t *out)
{
    const json_node *node = json_get(doc, object, key);

    if (node == NULL || node->type != JSON_INT || node->integer < min || node->integer > max) {
        return -1;
    }
    *out = node->integer;
    return 0;
}

long test_get_hex(const json_doc *doc, const json_node *object, const char *key, uint8_t *out,
                  size_t out_cap)
{
    const json_node *node = json_get(doc, object, key);

    if (node == NULL || node->type != JSON_STRING) {
        return -1;
    }
    return test_unhex(node->str, node->str_len, out, out_cap);
}
