/* json_write.c - escaped JSON strings, members and float32 numbers into a buffer. */
#include "json_write.h"

#include <string.h>

#include "float_text.h"

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values over
 * U+10FFFF are not valid). */
static size_t utf8_length(const unsigned char *s) {
  const unsigned c = s[0];
  size_t n;
  unsigned min, cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, min = 0x80, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, min = 0x800, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

/* The escape of a byte that cannot stand in a JSON string as it is: by
 * name for the common ones, \u00XX for the rest. */
static void append_escape(lkt_buf *b, unsigned char c) {
  static const char *const named[128] = {
      ['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\t'] = "\\t", ['\r'] = "\\r"};
  static const char hex[] = "0123456789abcdef";
  if (c < 128 && named[c]) {
    lkt_buf_append(b, named[c], 2);
    return;
  }
  const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
  lkt_buf_append(b, u, sizeof u);
}

void lkt_json_string(lkt_buf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  const unsigned char *run = p; /* bytes that pass through, appended at once */
  lkt_buf_append(b, "\"", 1);
  while (*p) {
    const unsigned char c = *p;
    size_t n = 1;
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      p++;
      continue;
    }
    if (c >= 0x80 && (n = utf8_length(p)) > 0) {
      p += n;
      continue;
    }
    lkt_buf_append(b, (const char *)run, (size_t)(p - run));
    append_escape(b, c);
    run = ++p;
  }
  lkt_buf_append(b, (const char *)run, (size_t)(p - run));
  lkt_buf_append(b, "\"", 1);
}

void lkt_json_key(lkt_buf *b, const char *key) {
  lkt_buf_append(b, "\"", 1);
  lkt_buf_append_str(b, key);
  lkt_buf_append(b, "\":", 2);
}

void lkt_json_string_member(lkt_buf *b, const char *key, const char *value) {
  lkt_json_key(b, key);
  lkt_json_string(b, value);
}

void lkt_json_float(lkt_buf *b, float v) {
  char text[LKT_FLOAT_TEXT_MAX + 1];
  lkt_buf_append(b, text, lkt_float_print(v, text));
}
