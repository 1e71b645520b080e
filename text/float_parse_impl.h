/* float_parse_impl.h - correctly rounded float32 parsing of JSON numbers as
 * static inline functions: included by float_text.c and by arrays.c, whose
 * hot loop must inline the parser. Not a public header. */
#ifndef LKT_FLOAT_PARSE_IMPL_H
#define LKT_FLOAT_PARSE_IMPL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "float_text.h"

/* ---- Parsing float32 ---- */

/* 10^0 .. 10^38 (exact up to 10^22) and 10^-0 .. 10^-64 as doubles,
 * correctly rounded by the compiler; the fast path allows for that error. */
static const double POW10_DOUBLE[39] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25,
    1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38,
};
static const double NEG_POW10_DOUBLE[65] = {
    1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,  1e-8,  1e-9,  1e-10, 1e-11, 1e-12,
    1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22, 1e-23, 1e-24, 1e-25,
    1e-26, 1e-27, 1e-28, 1e-29, 1e-30, 1e-31, 1e-32, 1e-33, 1e-34, 1e-35, 1e-36, 1e-37, 1e-38,
    1e-39, 1e-40, 1e-41, 1e-42, 1e-43, 1e-44, 1e-45, 1e-46, 1e-47, 1e-48, 1e-49, 1e-50, 1e-51,
    1e-52, 1e-53, 1e-54, 1e-55, 1e-56, 1e-57, 1e-58, 1e-59, 1e-60, 1e-61, 1e-62, 1e-63, 1e-64,
};
static const uint64_t POW10_U64[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A character that would continue a number token: JSON puts a separator
 * after a number, so "01", "1.5.3", "0x10", "1e5e5" or "2inf" are rejected
 * here rather than read as a number followed by junk. */
static inline int continues_number(char c) {
  unsigned char l = (unsigned char)c | 0x20;
  return is_digit(c) || (l >= 'a' && l <= 'z') || c == '.' || c == '+' || c == '-';
}

/* The value of 8 ASCII digits in a little-endian word, first digit in the
 * low byte; zero bytes count as leading zeros (Mula's SWAR reduction:
 * pairs, then quads, then all eight). */
static inline uint32_t eight_digits(uint64_t x) {
  x = (x & 0x0F0F0F0F0F0F0F0Fu) * 2561 >> 8;
  x = (x & 0x00FF00FF00FF00FFu) * 6553601 >> 16;
  return (uint32_t)((x & 0x0000FFFF0000FFFFu) * 42949672960001u >> 32);
}

/* Reads the run of digits at p into *w (w = w * 10^n + run) and adds its
 * length n to *count; returns the end of the run. The first 8 digits are
 * found and combined at once where 8 bytes are left: a branch per digit,
 * mispredicted whenever the length changes, costs more than the rest of
 * the parse. */
static inline __attribute__((always_inline)) const char *
read_digits(const char *p, const char *end, uint64_t *w, long long *count) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (end - p >= 8) {
    uint64_t x;
    memcpy(&x, p, sizeof x);
    /* y's digit bytes are 0..9: adding 0x76 leaves their bit 7 clear and
     * sets it in any other byte that does not already have it. A carry out
     * of a byte only starts at a non-digit and only reaches later bytes, so
     * the lowest flagged byte is exactly the first non-digit. */
    const uint64_t y = x ^ 0x3030303030303030u;
    const uint64_t other = ((y + 0x7676767676767676u) | y) & 0x8080808080808080u;
    const int n = other ? __builtin_ctzll(other) >> 3 : 8;
    if (n == 0)
      return p;
    /* the n digits move to the top of the word; zeros below read as leading zeros */
    *w = *w * POW10_U64[n] + eight_digits(x << (64 - 8 * n));
    *count += n;
    p += n;
    if (n < 8)
      return p;
  }
#endif
  while (p < end && is_digit(*p)) {
    *w = *w * 10 + (uint64_t)(*p++ - '0');
    ++*count;
  }
  return p;
}

/* Significant digits kept by the slow path. Every float32 rounding boundary
 * (a midpoint between neighbours) has at most 113 significant digits, so
 * 120 digits plus a sticky nonzero digit for anything cut off round the
 * same way as the full text. */
#define SLOW_DIGITS 120

/* Correct rounding for whatever the fast path declined: long significands,
 * extreme exponents, subnormals and near-ties. The digits of the JSON
 * number [p, end) (already validated) are normalised into "d.ddd[1]e<X>"
 * and handed to glibc's strtof, which rounds correctly. */
static inline float parse_slow(const char *p, const char *end, long long exp10) {
  char buf[SLOW_DIGITS + 40];
  size_t kept = 0;
  int sticky = 0;
  long long first = -1, position = 0, int_digits = 0;
  const int neg = *p == '-';
  if (neg)
    buf[kept++] = '-';
  const size_t sign_len = kept;
  int in_fraction = 0;
  for (p += neg; p < end; p++) {
    char c = *p;
    if (c == '.') {
      in_fraction = 1;
      continue;
    }
    if (!is_digit(c))
      break;
    if (!in_fraction)
      int_digits++;
    if (first < 0 && c != '0')
      first = position;
    if (first >= 0) {
      if (kept - sign_len < SLOW_DIGITS) {
        buf[kept++] = c;
        if (kept - sign_len == 1)
          buf[kept++] = '.';
      } else if (c != '0') {
        sticky = 1;
      }
    }
    position++;
  }
  if (first < 0)
    return neg ? -0.0f : 0.0f;
  const long long sci = int_digits - first - 1 + exp10; /* value in [10^sci, 10^(sci+1)) */
  if (sci > 40)
    return neg ? -INFINITY : INFINITY;
  if (sci < -50)
    return neg ? -0.0f : 0.0f;
  if (sticky)
    buf[kept++] = '1';
  snprintf(buf + kept, sizeof buf - kept, "e%lld", sci);
  return strtof(buf, NULL);
}

/* The zeros before the first nonzero digit of the number [p, end). */
static inline long long leading_zeros(const char *p, const char *end) {
  long long zeros = 0;
  for (; p < end && (*p == '-' || *p == '0' || *p == '.'); p++)
    zeros += *p == '0';
  return zeros;
}

/* The strings "NaN", "Infinity" and "-Infinity" at p (a '"'), or NULL. */
static const char *parse_special(const char *p, const char *end, float *out) {
  const size_t n = (size_t)(end - p);
  if (n >= 5 && memcmp(p, "\"NaN\"", 5) == 0) {
    *out = NAN;
    return p + 5;
  }
  if (n >= 10 && memcmp(p, "\"Infinity\"", 10) == 0) {
    *out = INFINITY;
    return p + 10;
  }
  if (n >= 11 && memcmp(p, "\"-Infinity\"", 11) == 0) {
    *out = -INFINITY;
    return p + 11;
  }
  return NULL;
}

/* Distance in double ulps within which the fast path's double may sit from
 * a float32 rounding boundary and still be on the wrong side of it: the
 * conversion of the significand, the power of ten and the product each
 * add at most half an ulp. */
#define FAST_PATH_SLACK 8

/* lkt_float_parse; always inlined so the array loop has no call per number. */
static inline __attribute__((always_inline)) const char *parse_number(const char *p,
                                                                      const char *end, float *out) {
  const char *const start = p;
  if (p == end)
    return NULL;
  if (*p == '"')
    return parse_special(p, end, out);
  const int neg = *p == '-';
  p += neg;
  if (p == end || !is_digit(*p))
    return NULL;
  /* All digits go into w, leading zeros included (they add nothing to it);
   * more than 19 significant digits wrap w (harmlessly: unsigned) and send
   * the number to the slow path. The integer part is nearly always one
   * digit: it is taken without a branch on its value, which ('0' or not)
   * would be mispredicted often. */
  uint64_t w = (uint64_t)(*p++ - '0');
  long long digits = 1; /* long: a body may hold billions of zeros */
  if (p < end && is_digit(*p)) {
    if (w == 0)
      return NULL; /* "01": no leading zeros */
    p = read_digits(p, end, &w, &digits);
  }
  long long scale = 0; /* digits after the point */
  if (p < end && *p == '.') {
    if (++p == end || !is_digit(*p))
      return NULL;
    const long long int_digits = digits;
    p = read_digits(p, end, &w, &digits);
    scale = digits - int_digits;
  }
  long long exp10 = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    if (++p == end)
      return NULL;
    const int exp_neg = *p == '-';
    if ((*p == '-' || *p == '+') && ++p == end)
      return NULL;
    if (!is_digit(*p))
      return NULL;
    do {
      if (exp10 < 100000000)
        exp10 = exp10 * 10 + (*p - '0'); /* saturate: far past any float */
      p++;
    } while (p < end && is_digit(*p));
    if (exp_neg)
      exp10 = -exp10;
  }
  if (p < end && continues_number(*p))
    return NULL;

  if (digits > 19 && digits - leading_zeros(start, p) > 19) {
    *out = parse_slow(start, p, exp10);
    return p;
  }
  if (w == 0) {
    *out = neg ? -0.0f : 0.0f;
    return p;
  }
  const long long e = exp10 - scale;
  if (e >= -64 && e <= 38) {
    const double d = (double)w * (e >= 0 ? POW10_DOUBLE[e] : NEG_POW10_DOUBLE[-e]);
    /* Accept d when rounding it to float32 cannot differ from rounding the
     * exact value: d is a normal-range float32 magnitude and not within the
     * slack of a midpoint between two floats (low 29 bits of the double's
     * significand == 2^28). Subnormals and overflow go to the slow path. */
    if (d >= 0x1p-126 && d <= 0x1.fffffep127) {
      uint64_t bits;
      memcpy(&bits, &d, sizeof bits);
      const uint32_t low = (uint32_t)(bits & 0x1FFFFFFFu);
      if (low - (0x10000000u - FAST_PATH_SLACK) > 2 * FAST_PATH_SLACK) {
        const float f = (float)d;
        uint32_t f_bits;
        memcpy(&f_bits, &f, sizeof f_bits);
        f_bits |= (uint32_t)neg << 31; /* no branch on the sign */
        memcpy(out, &f_bits, sizeof f_bits);
        return p;
      }
    }
  }
  *out = parse_slow(start, p, exp10);
  return p;
}

#endif
