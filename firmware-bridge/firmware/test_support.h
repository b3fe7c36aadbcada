/* Helpers shared by the test programs (not part of the library). */
#ifndef EP_TEST_SUPPORT_H
#define EP_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "test_json.h"

/* Large enough for any vector field: the biggest is a 1032-byte frame, and
 * some TLV refusals hold 1025 bytes. */
#define TEST_HEX_MAX_BYTES 4096u

/* Decode strict lowercase hex of even length. Returns the byte count, or -1. */
long test_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t out_cap);
/* Lowercase hex of bytes into out (NUL-terminated, truncated with "..." when
 * out_cap is too small). Returns out. */
char *test_hex(const uint8_t *bytes, size_t len, char *out, size_t out_cap);

/* Report a failing vector: prints "FAIL <section> \"<name>\": <reason>". */
void test_fail(const char *section, const json_node *name, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Read a JSON integer member in [min, max]; returns 0 or -1 (absent, wrong
 * type, out of range). */
int test_get_int(const json_doc *doc, const json_node *object, const char *key, int64_t min,
                 int64_t max, int64_t *out);
/* Read a hex string member into out; returns the byte count or -1. */
long test_get_hex(const json_doc *doc, const json_node *object, const char *key, uint8_t *out,
                  size_t out_cap);

/* Per-section vector checks: 1 when the vector passes (a FAIL line is printed otherwise). */
int test_message_vector(const json_doc *doc, const json_node *vector); /* test_messages.c */
int test_tlv_vector(const json_doc *doc, const json_node *vector);     /* test_tlv.c */

/* The `secure` section (test_secure.c): load its keys and session nonces
 * (0 with why set when they are missing or wrong), then check each vector of
 * secure.auth and secure.cards. */
int test_secure_setup(const json_doc *doc, const json_node *secure, char *why, size_t why_cap);
int test_secure_auth_vector(const json_doc *doc, const json_node *vector);
int test_secure_card_vector(const json_doc *doc, const json_node *vector);

#endif /* EP_TEST_SUPPORT_H */
