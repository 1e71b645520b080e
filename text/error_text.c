/* error_text.c - printf into a caller's error buffer. */
#include "error_text.h"

#include <stdarg.h>
#include <stdio.h>

int lkt_fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}
