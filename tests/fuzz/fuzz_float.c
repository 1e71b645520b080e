/* fuzz_float.c - fuzz target for the text library's float32 printer and parser
 * (text/float_text.c). Invariants: print then parse gives the same bits (NaN
 * stays NaN, the sign of zero kept) through JSON-valid text of at most
 * LKT_FLOAT_TEXT_MAX characters that no shorter decimal reads back to; and
 * the parser, on any bytes, reads nothing past the end, accepts exactly the
 * JSON number tokens (or the three quoted specials) that are not followed
 * by a character that would continue them, and agrees with glibc's strtof. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/float_bits.h"
#include "float_text.h"
#include "fuzz.h"

const char lk_fuzz_target[] = "float";

/* Length of the longest JSON number token at the start of s[0..n) (RFC
 * 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), 0 when there is
 * none. Written from the grammar, independently of the codec. */
static size_t json_number_prefix(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-')
    i++;
  if (i == n || s[i] < '0' || s[i] > '9')
    return 0;
  if (s[i] == '0')
    i++;
  else
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  if (i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
    i += 2;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-'))
      j++;
    if (j < n && s[j] >= '0' && s[j] <= '9') {
      while (j < n && s[j] >= '0' && s[j] <= '9')
        j++;
      i = j;
    }
  }
  return i;
}

/* Whether c would continue a number token (JSON needs a separator after a
 * number: "1x", "01", "1.e5" and "1e" are no numbers). */
static int continues_token(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '+' || c == '-';
}

/* Significant digits of a decimal number text: the digits before any
 * exponent without leading and trailing zeros ("100" and "0.01" have 1). */
static int significant_digits(const char *s) {
  int n = 0, trailing_zeros = 0, leading = 1;
  for (; *s && *s != 'e' && *s != 'E'; s++) {
    if (*s < '0' || *s > '9' || (*s == '0' && leading))
      continue;
    leading = 0;
    n++;
    trailing_zeros = *s == '0' ? trailing_zeros + 1 : 0;
  }
  n -= trailing_zeros;
  return n ? n : 1;
}

/* Print, parse back, and check the text against oracles. */
static void check_round_trip(uint32_t u) {
  const float v = float_of(u);
  char text[LKT_FLOAT_TEXT_MAX + 1 + 16];
  memset(text, 0x7f, sizeof text);
  const size_t n = lkt_float_print(v, text);
  FUZZ_CHECK(n > 0 && n <= LKT_FLOAT_TEXT_MAX, "bits 0x%08x printed %zu characters", u, n);
  FUZZ_CHECK(text[n] == '\0' && strlen(text) == n, "bits 0x%08x: text not terminated at %zu", u, n);
  FUZZ_CHECK((unsigned char)text[LKT_FLOAT_TEXT_MAX + 1] == 0x7f,
             "bits 0x%08x: wrote past LKT_FLOAT_TEXT_MAX + 1", u);

  if (isnan(v)) {
    FUZZ_CHECK(strcmp(text, "\"NaN\"") == 0, "NaN 0x%08x printed as %s", u, text);
  } else if (isinf(v)) {
    FUZZ_CHECK(strcmp(text, v > 0 ? "\"Infinity\"" : "\"-Infinity\"") == 0,
               "Inf 0x%08x printed as %s", u, text);
  } else {
    FUZZ_CHECK(json_number_prefix(text, n) == n, "bits 0x%08x printed as %s, not a JSON number", u,
               text);
    const int digits = significant_digits(text);
    FUZZ_CHECK(digits <= 9, "bits 0x%08x printed as %s: %d significant digits", u, text, digits);
    char *end = NULL;
    const float back = strtof(text, &end);
    FUZZ_CHECK(end == text + n && bits_of(back) == u,
               "bits 0x%08x printed as %s, which strtof reads as 0x%08x", u, text, bits_of(back));
    /* Shortest: no decimal with fewer significant digits reads back to v
     * (%.*e rounds correctly, so it is the best candidate of each length). */
    for (int d = 1; d < digits; d++) {
      char shorter[64];
      snprintf(shorter, sizeof shorter, "%.*e", d - 1, (double)v);
      FUZZ_CHECK(bits_of(strtof(shorter, NULL)) != u,
                 "bits 0x%08x printed as %s but %s (%d digits) reads back too", u, text, shorter,
                 d);
    }
  }

  float parsed = 0.0f;
  const char *stop = lkt_float_parse(text, text + n, &parsed);
  FUZZ_CHECK(stop == text + n, "bits 0x%08x: the parser stops %td into its own text %s", u,
             stop ? stop - text : (ptrdiff_t)-1, text);
  if (isnan(v))
    FUZZ_CHECK(isnan(parsed), "NaN 0x%08x came back as 0x%08x", u, bits_of(parsed));
  else
    FUZZ_CHECK(bits_of(parsed) == u, "bits 0x%08x (%s) came back as 0x%08x", u, text,
               bits_of(parsed));
}

/* Parses the bytes as text and checks the result against the grammar and
 * strtof. buf holds exactly size bytes: ASan catches any read past it. */
static void check_parse(const char *buf, size_t size) {
  float v = 12345.0f;
  const char *stop = lkt_float_parse(buf, buf + size, &v);

  static const char *const specials[] = {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""};
  if (size > 0 && buf[0] == '"') {
    size_t want = 0;
    int which = -1;
    for (int k = 0; k < 3; k++) {
      const size_t len = strlen(specials[k]);
      if (size >= len && memcmp(buf, specials[k], len) == 0) {
        want = len;
        which = k;
      }
    }
    FUZZ_CHECK(want ? stop == buf + want : stop == NULL,
               "quoted input: parser stopped at %td, want %zu", stop ? stop - buf : (ptrdiff_t)-1,
               want);
    if (which == 0)
      FUZZ_CHECK(isnan(v), "\"NaN\" parsed as 0x%08x", bits_of(v));
    else if (which > 0)
      FUZZ_CHECK(isinf(v) && (v < 0) == (which == 2), "%s parsed as 0x%08x", specials[which],
                 bits_of(v));
    return;
  }

  const size_t len = json_number_prefix(buf, size);
  const int valid = len > 0 && (len == size || !continues_token((unsigned char)buf[len]));
  FUZZ_CHECK(valid ? stop == buf + len : stop == NULL,
             "parser stopped at %td; the grammar says %s (token of %zu bytes)",
             stop ? stop - buf : (ptrdiff_t)-1, valid ? "a number" : "no number", len);
  if (!valid)
    return;
  char *token = malloc(len + 1);
  if (!token)
    return;
  memcpy(token, buf, len);
  token[len] = '\0';
  char *end = NULL;
  const float want = strtof(token, &end);
  FUZZ_CHECK(end == token + len, "strtof stops at %td of %zu in %.40s", end - token, len, token);
  FUZZ_CHECK(bits_of(v) == bits_of(want),
             "%.60s parsed as 0x%08x (%.9g), strtof says 0x%08x (%.9g)", token, bits_of(v),
             (double)v, bits_of(want), (double)want);
  free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Every aligned 4 bytes as float bits (little-endian), up to 64 of them. */
  for (size_t i = 0; i + 4 <= size && i < 256; i += 4)
    check_round_trip((uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24);
  char *buf = calloc(size ? size : 1, 1); /* exactly size bytes: ASan sees overreads */
  if (!buf)
    return 0;
  if (size)
    memcpy(buf, data, size);
  check_parse(buf, size);
  free(buf);
  return 0;
}
