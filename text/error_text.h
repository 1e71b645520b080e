/* error_text.h - the text library's one error formatter: every function of
 * text/ that can fail returns 0 on success and -1 with a one-line message
 * in err (errlen bytes, always NUL-terminated when errlen > 0). */
#ifndef LKT_ERROR_TEXT_H
#define LKT_ERROR_TEXT_H

#include <stddef.h>

/* Writes a printf-style message into err (when there is room for one) and
 * returns -1, so that callers can write `return lkt_fail(err, errlen, ...)`. */
int lkt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
