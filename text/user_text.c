/* user_text.c - request text made printable and bounded for messages and logs. */
#include "user_text.h"

#include <string.h>

const char *lkt_printable(const char *s, char *out, size_t outlen, size_t max_chars, int spaces,
                          int ellipsis) {
  const char lowest = spaces ? 0x20 : 0x21;
  const size_t room = ellipsis ? 4 : 1; /* "..." and the NUL */
  size_t n = 0;
  if (!s)
    s = "";
  for (; *s && n + room < outlen && n < max_chars; s++)
    out[n++] = (*s >= lowest && *s < 0x7f) ? *s : '?';
  if (ellipsis && *s && n + 4 <= outlen) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}
