/* base64.h - strict RFC 4648 base64 of little-endian tensor payloads,
 * decoded and encoded by two threads for large texts. */
#ifndef LKT_BASE64_H
#define LKT_BASE64_H

#include <stddef.h>

#include "buffer.h"

/* ---- base64 (RFC 4648, standard alphabet, '=' padding required) ----
 * Strict: the length must be a multiple of 4, '=' may only end the text
 * (one or two), the bits under the padding must be zero (canonical), and
 * anything else outside the alphabet (whitespace, NUL, '-', '_', bytes >=
 * 128) is rejected with its offset in the message. Texts of a few MiB and
 * more are decoded and encoded by two threads, each taking half. */

/* The number of bytes in of len characters decodes to, or -1 (with the
 * same message as lkt_base64_decode_into) when len is not a multiple of 4. */
int lkt_base64_decoded_size(const char *in, size_t len, size_t *out_len, char *err, size_t errlen);
/* Decodes into out, which has room for lkt_base64_decoded_size bytes. On
 * failure out holds garbage. */
int lkt_base64_decode_into(const char *in, size_t len, unsigned char *out, char *err,
                           size_t errlen);
/* Decodes into a malloc'd buffer (*out NULL on failure; a 1-byte buffer
 * for empty input, so a success always hands back something to free). */
int lkt_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, char *err,
                      size_t errlen);
/* Appends the base64 text of bytes (no quotes), reserving room once. */
void lkt_base64_encode(lkt_buf *b, const unsigned char *bytes, size_t n);

#endif
