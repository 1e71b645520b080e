/* jsonw.c - minimal JSON text output: escaped strings and float32 numbers. */
#include "jsonw.h"

#include <math.h>

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values over
 * U+10FFFF are not valid). */
static size_t jsonw_utf8_len(const unsigned char *s) {
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

int jsonw_string(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  if (fputc('"', f) == EOF)
    return -1;
  while (*p) {
    const unsigned c = *p;
    int rc;
    size_t n = 1;
    if (c == '"' || c == '\\') {
      rc = fprintf(f, "\\%c", (char)c);
    } else if (c == '\n') {
      rc = fputs("\\n", f);
    } else if (c == '\t') {
      rc = fputs("\\t", f);
    } else if (c < 0x20 || c == 0x7f) {
      rc = fprintf(f, "\\u%04x", c);
    } else if (c < 0x80) {
      rc = fputc((int)c, f);
    } else if ((n = jsonw_utf8_len(p)) > 0) {
      rc = fwrite(p, 1, n, f) == n ? 0 : EOF;
    } else {
      n = 1;
      rc = fprintf(f, "\\u%04x", c);
    }
    if (rc < 0)
      return -1;
    p += n;
  }
  return fputc('"', f) == EOF ? -1 : 0;
}

int jsonw_float(FILE *f, float v) {
  int rc;
  if (isnan(v))
    rc = fputs("\"NaN\"", f);
  else if (isinf(v))
    rc = fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
  else
    rc = fprintf(f, "%.9g", (double)v);
  return rc < 0 ? -1 : 0;
}

int jsonw_float_array(FILE *f, const float *v, size_t n) {
  if (fputc('[', f) == EOF)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && fputc(',', f) == EOF) || jsonw_float(f, v[i]) != 0)
      return -1;
  }
  return fputc(']', f) == EOF ? -1 : 0;
}
