/* user_text.h - text from a request made safe to repeat in a message or a
 * log line: printable ASCII only, bounded. */
#ifndef LKT_USER_TEXT_H
#define LKT_USER_TEXT_H

#include <stddef.h>

/* Copies at most max_chars characters of s (NULL reads as "") into out
 * (outlen bytes, NUL-terminated), each one that is not printable ASCII as
 * '?', and a space too when spaces is 0 (a log line's fields are
 * space-separated). With ellipsis, "..." marks text that was cut. Returns
 * out. */
const char *lkt_printable(const char *s, char *out, size_t outlen, size_t max_chars, int spaces,
                          int ellipsis);

#endif
