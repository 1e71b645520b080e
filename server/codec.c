/* codec.c - JSON number arrays, exact float32 text both ways, base64 and the tensor splice. */
#include "codec.h"

#include "base64_avx2.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes a message into err (when there is room for one) and returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- Memory hooks ---- */

static const lk_memory_hooks *mem_hooks; /* NULL: malloc and free */

void lk_set_memory_hooks(const lk_memory_hooks *hooks) { mem_hooks = hooks; }

void *lk_mem_alloc(size_t size, size_t *cap) {
  if (mem_hooks)
    return mem_hooks->alloc(size, cap);
  *cap = size;
  return malloc(size ? size : 1);
}

void lk_mem_release(void *p) {
  if (mem_hooks)
    mem_hooks->release(p);
  else
    free(p);
}

/* ---- Growable output buffer ----
 * data stays NUL-terminated after every append (one byte is always kept
 * spare for it), so a finished buffer can be used as a C string. */

int lk_buf_reserve(lk_buf *b, size_t extra) {
  if (b->oom)
    return -1;
  if (extra < b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->oom = 1;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (!mem_hooks) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
      cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
      b->oom = 1;
      return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
  }
  /* Doubling for many small appends; exactly what is asked for one big
   * reserve (a base64 payload), so that a pooled buffer is not oversized. */
  size_t want = b->cap < 128 ? 256 : 2 * b->cap;
  if (want < need)
    want = need;
  size_t cap = 0;
  char *data = lk_mem_alloc(want, &cap);
  if (!data) {
    b->oom = 1;
    return -1;
  }
  if (b->data)
    memcpy(data, b->data, b->len);
  data[b->len] = '\0';
  lk_mem_release(b->data);
  b->data = data;
  b->cap = cap;
  return 0;
}

void lk_buf_append(lk_buf *b, const char *s, size_t n) {
  if (lk_buf_reserve(b, n) != 0)
    return;
  if (n)
    memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void lk_buf_append_str(lk_buf *b, const char *s) { lk_buf_append(b, s, strlen(s)); }

void lk_buf_free(lk_buf *b) {
  lk_mem_release(b->data);
  memset(b, 0, sizeof *b);
}

/* ---- Printing float32: Schubfach ----
 * Raffaello Giulietti's Schubfach ("The Schubfach way to render doubles",
 * 2020) specialised to binary32: the rounding interval of v is scaled by a
 * 64-bit over-approximation of a power of ten, rounded to odd, and the
 * shortest decimal inside it is read off with at most two candidates. */

/* g(k) = ceil(10^k / 2^r) with r chosen so that 2^63 <= g < 2^64, for k in
 * [POW10_MIN_K, POW10_MAX_K] (all that binary32 needs). Generated exactly
 * with rational arithmetic. */
#define POW10_MIN_K (-31)
#define POW10_MAX_K 45
static const uint64_t POW10_G[POW10_MAX_K - POW10_MIN_K + 1] = {
    0x81CEB32C4B43FCF5U, 0xA2425FF75E14FC32U, 0xCAD2F7F5359A3B3FU, 0xFD87B5F28300CA0EU,
    0x9E74D1B791E07E49U, 0xC612062576589DDBU, 0xF79687AED3EEC552U, 0x9ABE14CD44753B53U,
    0xC16D9A0095928A28U, 0xF1C90080BAF72CB2U, 0x971DA05074DA7BEFU, 0xBCE5086492111AEBU,
    0xEC1E4A7DB69561A6U, 0x9392EE8E921D5D08U, 0xB877AA3236A4B44AU, 0xE69594BEC44DE15CU,
    0x901D7CF73AB0ACDAU, 0xB424DC35095CD810U, 0xE12E13424BB40E14U, 0x8CBCCC096F5088CCU,
    0xAFEBFF0BCB24AAFFU, 0xDBE6FECEBDEDD5BFU, 0x89705F4136B4A598U, 0xABCC77118461CEFDU,
    0xD6BF94D5E57A42BDU, 0x8637BD05AF6C69B6U, 0xA7C5AC471B478424U, 0xD1B71758E219652CU,
    0x83126E978D4FDF3CU, 0xA3D70A3D70A3D70BU, 0xCCCCCCCCCCCCCCCDU, 0x8000000000000000U,
    0xA000000000000000U, 0xC800000000000000U, 0xFA00000000000000U, 0x9C40000000000000U,
    0xC350000000000000U, 0xF424000000000000U, 0x9896800000000000U, 0xBEBC200000000000U,
    0xEE6B280000000000U, 0x9502F90000000000U, 0xBA43B74000000000U, 0xE8D4A51000000000U,
    0x9184E72A00000000U, 0xB5E620F480000000U, 0xE35FA931A0000000U, 0x8E1BC9BF04000000U,
    0xB1A2BC2EC5000000U, 0xDE0B6B3A76400000U, 0x8AC7230489E80000U, 0xAD78EBC5AC620000U,
    0xD8D726B7177A8000U, 0x878678326EAC9000U, 0xA968163F0A57B400U, 0xD3C21BCECCEDA100U,
    0x84595161401484A0U, 0xA56FA5B99019A5C8U, 0xCECB8F27F4200F3AU, 0x813F3978F8940985U,
    0xA18F07D736B90BE6U, 0xC9F2C9CD04674EDFU, 0xFC6F7C4045812297U, 0x9DC5ADA82B70B59EU,
    0xC5371912364CE306U, 0xF684DF56C3E01BC7U, 0x9A130B963A6C115DU, 0xC097CE7BC90715B4U,
    0xF0BDC21ABB48DB21U, 0x96769950B50D88F5U, 0xBC143FA4E250EB32U, 0xEB194F8E1AE525FEU,
    0x92EFD1B8D0CF37BFU, 0xB7ABC627050305AEU, 0xE596B7B0C643C71AU, 0x8F7E32CE7BEA5C70U,
    0xB35DBF821AE4F38CU,
};

/* floor(x / 2^n) for negative x too (>> of a negative int is implementation-defined). */
static int32_t floor_div_pow2(int32_t x, int n) {
  return x >= 0 ? x >> n : -(int32_t)(((uint32_t)-x + (1u << n) - 1) >> n);
}

/* floor(e * log2(10)) for |e| <= 1233. */
static int32_t floor_log2_pow10(int32_t e) { return floor_div_pow2(e * 1741647, 19); }

/* (g * cp) / 2^64 rounded to odd: the low bit records whether anything was
 * cut off, which is all Schubfach needs to compare against interval ends. */
static uint32_t round_to_odd(uint64_t g, uint32_t cp) {
  uint64_t lo = (g & 0xFFFFFFFFu) * cp;
  uint64_t mid = (g >> 32) * cp + (lo >> 32);
  uint32_t hi = (uint32_t)(mid >> 32);
  return hi | ((uint32_t)mid > 1);
}

/* v = digits * 10^exponent */
typedef struct decimal32 {
  uint32_t digits;
  int32_t exponent;
} decimal32;

/* The shortest decimal in the round-to-nearest-even interval of the positive
 * finite float with these IEEE fields (closest to v among the shortest).
 * digits may carry trailing zeros. */
static decimal32 shortest_decimal(uint32_t ieee_mantissa, uint32_t ieee_exponent) {
  uint32_t c;
  int32_t q;
  if (ieee_exponent != 0) {
    c = (1u << 23) | ieee_mantissa;
    q = (int32_t)ieee_exponent - 150;
    /* Small integers are exact: skip the search. */
    if (q <= 0 && q > -24 && (c & ((1u << -q) - 1)) == 0)
      return (decimal32){c >> -q, 0};
  } else {
    c = ieee_mantissa;
    q = -149;
  }
  const int even = (c & 1) == 0;
  /* At a power of two the gap below v is half the gap above. */
  const int lower_closer = ieee_mantissa == 0 && ieee_exponent > 1;
  const uint32_t cbl = 4 * c - 2 + (uint32_t)lower_closer;
  const uint32_t cb = 4 * c;
  const uint32_t cbr = 4 * c + 2;
  /* k = floor(log10(2^q)), or floor(log10(3/4 * 2^q)) when lower_closer. */
  const int32_t k = floor_div_pow2(q * 1262611 - (lower_closer ? 524031 : 0), 22);
  const int h = (int)(q + floor_log2_pow10(-k) + 1); /* 1..4 */
  const uint64_t g = POW10_G[-k - POW10_MIN_K];
  const uint32_t vbl = round_to_odd(g, cbl << h);
  const uint32_t vb = round_to_odd(g, cb << h);
  const uint32_t vbr = round_to_odd(g, cbr << h);
  const uint32_t lower = vbl + !even;
  const uint32_t upper = vbr - !even;

  const uint32_t s = vb / 4;
  if (s >= 10) {
    /* One digit fewer: at most one of the two neighbours fits. */
    const uint32_t sp = s / 10;
    const int up_inside = lower <= 40 * sp;
    const int wp_inside = 40 * sp + 40 <= upper;
    if (up_inside != wp_inside)
      return (decimal32){sp + (uint32_t)wp_inside, k + 1};
  }
  const int u_inside = lower <= 4 * s;
  const int w_inside = 4 * s + 4 <= upper;
  if (u_inside != w_inside)
    return (decimal32){s + (uint32_t)w_inside, k};
  /* Both fit: take the closer, ties to even. */
  const uint32_t mid = 4 * s + 2;
  const int round_up = vb > mid || (vb == mid && (s & 1) != 0);
  return (decimal32){s + (uint32_t)round_up, k};
}

static const char DIGIT_PAIRS[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* Room float_to_text needs at out: it copies in fixed 8- and 16-byte
 * blocks (no library call, no loop per digit) that may run past the end of
 * the text. */
#define TEXT_ROOM 48

/* Writes digits * 10^exponent (digits > 0, no trailing zeros, < 10^9) at p
 * and returns the end. Plain notation for 1e-5 <= v < 1e15 like "0.00012",
 * "123.5", "120000"; otherwise "1.5e+20", "1e-7". The bounds keep the
 * longest text within LK_FLOAT_TEXT_MAX. The plain layouts share one
 * branch-free path: a branch on "0.x" against "x.y" is a coin flip for
 * typical data and costs more than the copies. */
static char *write_decimal(char *p, uint32_t digits, int32_t exponent) {
  /* zeros, the 9 digits of digits zero-padded at [16, 25), zeros */
  char text[64];
  memset(text, '0', sizeof text);
  const uint32_t low8 = digits % 100000000;
  text[16] = (char)('0' + digits / 100000000);
  memcpy(text + 17, DIGIT_PAIRS + 2 * (low8 / 1000000), 2);
  memcpy(text + 19, DIGIT_PAIRS + 2 * (low8 / 10000 % 100), 2);
  memcpy(text + 21, DIGIT_PAIRS + 2 * (low8 / 100 % 100), 2);
  memcpy(text + 23, DIGIT_PAIRS + 2 * (low8 % 100), 2);
  const int n = 1 + (digits >= 10) + (digits >= 100) + (digits >= 1000) + (digits >= 10000) +
                (digits >= 100000) + (digits >= 1000000) + (digits >= 10000000) +
                (digits >= 100000000);
  const char *t = text + 25 - n;    /* the significant digits */
  const int sci = exponent + n - 1; /* v = d.ddd * 10^sci */
  if (sci >= -5 && sci < 15) {
    /* integer part: the sci + 1 digits from t, or the '0' before t */
    const char *int_part = t + (sci < 0 ? sci : 0);
    const int int_len = (sci < 0 ? 0 : sci) + 1;
    const int frac_len = n - 1 - sci > 0 ? n - 1 - sci : 0;
    memcpy(p, int_part, 16);
    p[int_len] = '.';
    memcpy(p + int_len + 1, int_part + int_len, 16);
    return p + int_len + (frac_len ? frac_len + 1 : 0);
  }
  p[0] = t[0];
  p[1] = '.';
  memcpy(p + 2, t + 1, 8);
  p += n > 1 ? n + 1 : 1;
  p[0] = 'e';
  p[1] = sci < 0 ? '-' : '+';
  const uint32_t e = (uint32_t)(sci < 0 ? -sci : sci); /* <= 45 */
  memcpy(p + 2, DIGIT_PAIRS + 2 * e + (e < 10), 2);
  return p + (e < 10 ? 3 : 4);
}

/* lk_float_print into out, which has room for TEXT_ROOM bytes; always
 * inlined so the array writer has no call per number. */
static inline __attribute__((always_inline)) size_t float_to_text(float v, char *out) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  const uint32_t mantissa = bits & 0x7FFFFFu;
  const uint32_t exponent = (bits >> 23) & 0xFFu;
  if (exponent == 0xFF) {
    const char *s = mantissa ? "\"NaN\"" : (bits >> 31) ? "\"-Infinity\"" : "\"Infinity\"";
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
  }
  char *p = out;
  *p = '-';
  p += bits >> 31;
  if (exponent == 0 && mantissa == 0) {
    *p++ = '0';
  } else {
    decimal32 d = shortest_decimal(mantissa, exponent);
    while (d.digits % 10 == 0) {
      d.digits /= 10;
      d.exponent++;
    }
    p = write_decimal(p, d.digits, d.exponent);
  }
  *p = '\0';
  return (size_t)(p - out);
}

size_t lk_float_print(float v, char *out) {
  char text[TEXT_ROOM];
  const size_t n = float_to_text(v, text);
  memcpy(out, text, n + 1);
  return n;
}

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

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A character that would continue a number token: JSON puts a separator
 * after a number, so "01", "1.5.3", "0x10", "1e5e5" or "2inf" are rejected
 * here rather than read as a number followed by junk. */
static int continues_number(char c) {
  unsigned char l = (unsigned char)c | 0x20;
  return is_digit(c) || (l >= 'a' && l <= 'z') || c == '.' || c == '+' || c == '-';
}

/* The value of 8 ASCII digits in a little-endian word, first digit in the
 * low byte; zero bytes count as leading zeros (Mula's SWAR reduction:
 * pairs, then quads, then all eight). */
static uint32_t eight_digits(uint64_t x) {
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
static float parse_slow(const char *p, const char *end, long long exp10) {
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
static long long leading_zeros(const char *p, const char *end) {
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

/* lk_float_parse; always inlined so the array loop has no call per number. */
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

const char *lk_float_parse(const char *p, const char *end, float *out) {
  return parse_number(p, end, out);
}

/* ---- Number arrays ---- */

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

void lk_tensor_free(lk_tensor *t) {
  lk_mem_release(t->values); /* malloc'd (arrays) or from the hooks (base64) */
  memset(t, 0, sizeof *t);
}

/* The parse is one loop over the text with a counter per open level (no
 * recursion, so depth is bounded by max_depth, not by the stack). The rank
 * is fixed by the leading run of '['; each level's length is fixed by the
 * first array to close at that level and every later one must match. */
int lk_array_parse(const char *p, const char *end, const lk_limits *limits, lk_tensor *out,
                   const char **stop, size_t *bad_index, char *err, size_t errlen) {
  size_t max_depth = limits->max_depth < LK_CODEC_MAX_RANK ? limits->max_depth : LK_CODEC_MAX_RANK;
  size_t children[LK_CODEC_MAX_RANK]; /* elements of the open array at each level */
  size_t shape[LK_CODEC_MAX_RANK];
  int shape_known[LK_CODEC_MAX_RANK] = {0};
  float *values = NULL;
  size_t count = 0, cap = 0, depth = 0;

  memset(out, 0, sizeof *out);
  *bad_index = SIZE_MAX;
  p = skip_ws(p, end);
  if (p == end || *p != '[')
    return fail(err, errlen, "expected an array");
  while (p < end && *p == '[') {
    if (depth == max_depth)
      return fail(err, errlen, "array nested deeper than %zu", max_depth);
    children[depth++] = 0;
    p = skip_ws(p + 1, end);
  }
  const size_t rank = depth;

  for (;;) { /* p is at an element or ']' of the open array at level depth */
    if (p == end)
      goto unterminated;
    if (depth == rank) {
      const size_t row_start = count;
      while (*p != ']') {
        if (*p == '[') {
          fail(err, errlen, "ragged array: element %zu is nested deeper than element 0", count);
          goto done;
        }
        if (count == cap) {
          if (count >= limits->max_elements) {
            fail(err, errlen, "array has more than %zu elements", limits->max_elements);
            goto done;
          }
          size_t grown = cap ? cap * 2 : 256;
          if (grown > limits->max_elements)
            grown = limits->max_elements;
          float *v = realloc(values, grown * sizeof *v);
          if (!v) {
            fail(err, errlen, "out of memory for %zu elements", grown);
            goto done;
          }
          values = v;
          cap = grown;
        }
        const char *q = parse_number(p, end, &values[count]);
        if (!q) {
          *bad_index = count;
          fail(err, errlen, "element %zu is not a number", count);
          goto done;
        }
        count++;
        p = skip_ws(q, end);
        if (p == end)
          goto unterminated;
        if (*p == ',') {
          p = skip_ws(p + 1, end);
          if (p == end)
            goto unterminated;
          if (*p == ']') {
            fail(err, errlen, "trailing comma after element %zu", count - 1);
            goto done;
          }
        } else if (*p != ']') {
          fail(err, errlen, "expected ',' or ']' after element %zu", count - 1);
          goto done;
        }
      }
      children[depth - 1] = count - row_start;
    } else if (*p == '[') {
      children[depth++] = 0;
      p = skip_ws(p + 1, end);
      continue;
    } else if (*p != ']') {
      fail(err, errlen, "ragged array: a number where level %zu has arrays (element %zu)",
           depth + 1, count);
      goto done;
    }
    /* *p == ']': close the array at level depth */
    const size_t n = children[depth - 1];
    if (!shape_known[depth - 1]) {
      shape[depth - 1] = n;
      shape_known[depth - 1] = 1;
    } else if (n != shape[depth - 1]) {
      fail(err, errlen, "ragged array: %zu elements at level %zu where the first had %zu", n, depth,
           shape[depth - 1]);
      goto done;
    }
    const char *after = ++p;
    if (--depth == 0) {
      *stop = after;
      break;
    }
    children[depth - 1]++;
    p = skip_ws(p, end);
    if (p == end)
      goto unterminated;
    if (*p == ',') {
      p = skip_ws(p + 1, end);
      if (p < end && *p == ']') {
        fail(err, errlen, "trailing comma in array at level %zu", depth);
        goto done;
      }
    } else if (*p != ']') {
      fail(err, errlen, "expected ',' or ']' after a nested array at level %zu", depth);
      goto done;
    }
  }

  out->values = values; /* NULL when count == 0: nothing was allocated */
  out->count = count;
  out->rank = rank;
  memcpy(out->shape, shape, rank * sizeof shape[0]);
  return 0;

unterminated:
  fail(err, errlen, "unterminated array");
done:
  free(values);
  return -1;
}

/* Appends values[first, first + n) separated by commas, reserving room in
 * blocks (and TEXT_ROOM for the last number) so the hot loop writes
 * straight into the buffer. */
static void print_values(lk_buf *b, const float *values, size_t first, size_t n) {
  enum { BLOCK = 4096 };
  for (size_t i = 0; i < n;) {
    size_t todo = n - i < BLOCK ? n - i : BLOCK;
    if (lk_buf_reserve(b, todo * (LK_FLOAT_TEXT_MAX + 1) + TEXT_ROOM) != 0)
      return;
    char *p = b->data + b->len;
    for (size_t j = 0; j < todo; j++, i++) {
      *p = ',';
      p += i != 0;
      p += float_to_text(values[first + i], p);
    }
    b->len = (size_t)(p - b->data);
  }
}

/* The product of shape, or SIZE_MAX when it overflows. */
static size_t shape_product(const size_t *shape, size_t rank) {
  size_t product = 1;
  for (size_t i = 0; i < rank; i++) {
    if (shape[i] == 0)
      return 0;
    if (product > SIZE_MAX / shape[i])
      product = SIZE_MAX;
    else
      product *= shape[i];
  }
  return product;
}

/* A shape that does not multiply out to count (a caller bug) prints flat
 * rather than reading past values. */
void lk_array_print(lk_buf *b, const float *values, size_t count, const size_t *shape,
                    size_t rank) {
  lk_buf_append(b, "[", 1);
  if (rank <= 1 || rank > LK_CODEC_MAX_RANK || shape_product(shape, rank) != count) {
    print_values(b, values, 0, count);
    lk_buf_append(b, "]", 1);
    return;
  }
  /* An odometer over the outer levels: idx[d] counts the arrays written in
   * the open array at level d; the innermost level prints a row at once. */
  size_t idx[LK_CODEC_MAX_RANK];
  size_t d = 0, at = 0;
  idx[0] = 0;
  for (;;) {
    if (d == rank - 1) {
      print_values(b, values, at, shape[d]);
      at += shape[d];
    } else if (idx[d] < shape[d]) {
      lk_buf_append(b, idx[d] ? ",[" : "[", idx[d] ? 2 : 1);
      idx[++d] = 0;
      continue;
    }
    lk_buf_append(b, "]", 1);
    if (d == 0)
      return;
    idx[--d]++;
  }
}

/* ---- base64 ---- */

static const char B64_ALPHABET[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 1 + the value of each alphabet character; 0 for everything else (all
 * bytes >= 128 included), so value - 1 has bit 7 set exactly when invalid. */
static const unsigned char B64_VALUE1[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  63,
    0,  0,  0,  64, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0,  0,  0,  0,  0,  0,  0,  1,
    2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
    24, 25, 26, 0,  0,  0,  0,  0,  0,  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
    40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0,  0,  0,  0,  0,
};

/* Payloads from this many bytes of text up are split between two threads:
 * below it, starting a thread costs more than half the work. */
#define B64_SPLIT_MIN ((size_t)4 << 20)

/* Runs fn(first) here and fn(second) on a new thread, at the same time;
 * both in turn here when no thread can be started. */
static void run_in_halves(void *(*fn)(void *), void *first, void *second) {
  pthread_t helper;
  const int started = pthread_create(&helper, NULL, fn, second) == 0;
  fn(first);
  if (started)
    pthread_join(helper, NULL);
  else
    fn(second);
}

/* Every 12-bit value as its two base64 characters: one lookup per two
 * output characters. Built once. */
static char B64_PAIRS[4096 * 2];
static pthread_once_t b64_pairs_once = PTHREAD_ONCE_INIT;

static void build_b64_pairs(void) {
  for (size_t v = 0; v < 4096; v++) {
    B64_PAIRS[2 * v] = B64_ALPHABET[v >> 6];
    B64_PAIRS[2 * v + 1] = B64_ALPHABET[v & 63];
  }
}

/* Encodes n bytes (a multiple of 3) into 4n/3 characters at out. */
static void encode_triples(const unsigned char *in, size_t n, char *out) {
  size_t i = 0;
#ifdef LK_BASE64_AVX2
  if (lk_cpu_has_avx2()) {
    i = lk_base64_encode_avx2(in, n, out);
    out += i / 3 * 4;
  }
#endif
  /* Six bytes a step, read as one big-endian 64-bit load (needs 8). */
  for (; i + 8 <= n; i += 6, out += 8) {
    uint64_t w;
    memcpy(&w, in + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(out, B64_PAIRS + 2 * ((w >> 52) & 0xFFF), 2);
    memcpy(out + 2, B64_PAIRS + 2 * ((w >> 40) & 0xFFF), 2);
    memcpy(out + 4, B64_PAIRS + 2 * ((w >> 28) & 0xFFF), 2);
    memcpy(out + 6, B64_PAIRS + 2 * ((w >> 16) & 0xFFF), 2);
  }
  for (; i < n; i += 3, out += 4) {
    const uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    memcpy(out, B64_PAIRS + 2 * (v >> 12), 2);
    memcpy(out + 2, B64_PAIRS + 2 * (v & 0xFFF), 2);
  }
}

typedef struct encode_part {
  const unsigned char *in;
  size_t n;
  char *out;
} encode_part;

static void *encode_part_run(void *arg) {
  const encode_part *part = arg;
  encode_triples(part->in, part->n, part->out);
  return NULL;
}

void lk_base64_encode(lk_buf *b, const unsigned char *bytes, size_t n) {
  if (n / 3 >= SIZE_MAX / 8) {
    b->oom = 1;
    return;
  }
  const size_t out_len = (n + 2) / 3 * 4;
  if (lk_buf_reserve(b, out_len) != 0)
    return;
  pthread_once(&b64_pairs_once, build_b64_pairs);
  char *p = b->data + b->len;
  const size_t full = n / 3 * 3;
  if (out_len >= B64_SPLIT_MIN) {
    const size_t half = full / 6 * 3;
    encode_part first = {bytes, half, p};
    encode_part second = {bytes + half, full - half, p + half / 3 * 4};
    run_in_halves(encode_part_run, &first, &second);
  } else {
    encode_triples(bytes, full, p);
  }
  p += full / 3 * 4;
  if (full < n) {
    const uint32_t v =
        (uint32_t)bytes[full] << 16 | (full + 1 < n ? (uint32_t)bytes[full + 1] << 8 : 0);
    p[0] = B64_ALPHABET[v >> 18];
    p[1] = B64_ALPHABET[(v >> 12) & 63];
    p[2] = full + 1 < n ? B64_ALPHABET[(v >> 6) & 63] : '=';
    p[3] = '=';
  }
  b->len += out_len;
  b->data[b->len] = '\0';
}

/* The offset of the first non-alphabet character in in[from, from + n). */
static size_t first_invalid(const char *in, size_t from, size_t n) {
  size_t i = from;
  while (i < from + n && B64_VALUE1[(unsigned char)in[i]] != 0)
    i++;
  return i;
}

/* Decodes nquads groups of 4 characters (no padding) into 3 bytes each.
 * Returns the offset of the first character outside the alphabet, or
 * SIZE_MAX. Validity is checked once per block of quads, and only a bad
 * block is scanned again for the offset. */
static size_t decode_quads(const char *in, size_t nquads, unsigned char *out) {
  enum { BLOCK = 64 };
  const unsigned char *s = (const unsigned char *)in;
  size_t q = 0;
#ifdef LK_BASE64_AVX2
  if (lk_cpu_has_avx2())
    q = lk_base64_decode_avx2(in, nquads, out);
#endif
  while (q < nquads) {
    const size_t block_start = q;
    const size_t block_end = nquads - q > BLOCK ? q + BLOCK : nquads;
    uint32_t bad = 0;
    for (; q < block_end; q++) {
      const unsigned char *c = s + 4 * q;
      const uint32_t a = B64_VALUE1[c[0]] - 1u, b = B64_VALUE1[c[1]] - 1u;
      const uint32_t d2 = B64_VALUE1[c[2]] - 1u, d3 = B64_VALUE1[c[3]] - 1u;
      bad |= a | b | d2 | d3;
      const uint32_t v = a << 18 | b << 12 | d2 << 6 | d3;
      unsigned char *o = out + 3 * q;
      o[0] = (unsigned char)(v >> 16);
      o[1] = (unsigned char)(v >> 8);
      o[2] = (unsigned char)v;
    }
    if (bad & 0x80u)
      return first_invalid(in, 4 * block_start, 4 * (block_end - block_start));
  }
  return SIZE_MAX;
}

typedef struct decode_part {
  const char *in;
  size_t nquads;
  unsigned char *out;
  size_t bad; /* decode_quads' answer */
} decode_part;

static void *decode_part_run(void *arg) {
  decode_part *part = arg;
  part->bad = decode_quads(part->in, part->nquads, part->out);
  return NULL;
}

/* decode_quads, by two threads for long texts. */
static size_t decode_quads_split(const char *in, size_t nquads, unsigned char *out) {
  if (nquads * 4 < B64_SPLIT_MIN)
    return decode_quads(in, nquads, out);
  const size_t half = nquads / 2;
  decode_part first = {in, half, out, SIZE_MAX};
  decode_part second = {in + 4 * half, nquads - half, out + 3 * half, SIZE_MAX};
  run_in_halves(decode_part_run, &first, &second);
  if (first.bad != SIZE_MAX)
    return first.bad;
  return second.bad == SIZE_MAX ? SIZE_MAX : 4 * half + second.bad;
}

/* The '=' characters ending a text whose length is a multiple of 4. */
static size_t base64_padding(const char *in, size_t len) {
  if (len == 0 || in[len - 1] != '=')
    return 0;
  return in[len - 2] == '=' ? 2 : 1;
}

int lk_base64_decoded_size(const char *in, size_t len, size_t *out_len, char *err, size_t errlen) {
  *out_len = 0;
  if (len % 4 != 0)
    return fail(err, errlen, "base64 length %zu is not a multiple of 4", len);
  *out_len = len / 4 * 3 - base64_padding(in, len);
  return 0;
}

int lk_base64_decode_into(const char *in, size_t len, unsigned char *out, char *err,
                          size_t errlen) {
  size_t n;
  if (lk_base64_decoded_size(in, len, &n, err, errlen) != 0)
    return -1;
  const size_t pad = base64_padding(in, len);
  const size_t full = pad ? len - 4 : len; /* quads without padding */
  const size_t bad = decode_quads_split(in, full / 4, out);
  if (bad != SIZE_MAX)
    return fail(err, errlen, "invalid base64 character at offset %zu", bad);
  if (pad) {
    const size_t i = len - 4, data_chars = 4 - pad;
    const size_t bad_pad = first_invalid(in, i, data_chars);
    if (bad_pad < i + data_chars)
      return fail(err, errlen, "invalid base64 character at offset %zu", bad_pad);
    const uint32_t v = (uint32_t)(B64_VALUE1[(unsigned char)in[i]] - 1u) << 18 |
                       (uint32_t)(B64_VALUE1[(unsigned char)in[i + 1]] - 1u) << 12 |
                       (pad == 1 ? (uint32_t)(B64_VALUE1[(unsigned char)in[i + 2]] - 1u) << 6 : 0);
    /* Canonical encodings only (RFC 4648 3.5): the bits under the padding are zero. */
    if (v & (pad == 1 ? 0xFFu : 0xFFFFu))
      return fail(err, errlen, "non-zero bits before base64 padding at offset %zu", len - pad - 1);
    unsigned char *o = out + full / 4 * 3;
    o[0] = (unsigned char)(v >> 16);
    if (pad == 1)
      o[1] = (unsigned char)(v >> 8);
  }
  return 0;
}

int lk_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len, char *err,
                     size_t errlen) {
  *out = NULL;
  *out_len = 0;
  size_t n;
  if (lk_base64_decoded_size(in, len, &n, err, errlen) != 0)
    return -1;
  unsigned char *bytes = malloc(n ? n : 1);
  if (!bytes)
    return fail(err, errlen, "out of memory for %zu decoded bytes", n);
  if (lk_base64_decode_into(in, len, bytes, err, errlen) != 0) {
    free(bytes);
    return -1;
  }
  *out = bytes;
  *out_len = n;
  return 0;
}

/* ---- Splicing tensors out of a request body ---- */

/* The index of the closing quote of the string whose text starts at i, or
 * len when it is not closed; *escaped says whether a backslash was seen.
 * memchr finds the quote (base64 payloads are megabytes long); a backslash
 * before it sends the search on past its escape. */
static size_t string_end(const char *s, size_t i, size_t len, int *escaped) {
  *escaped = 0;
  while (i < len) {
    const char *quote = memchr(s + i, '"', len - i);
    if (!quote)
      return len;
    const char *backslash = memchr(s + i, '\\', (size_t)(quote - (s + i)));
    if (!backslash)
      return (size_t)(quote - s);
    *escaped = 1;
    i = (size_t)(backslash - s) + 2;
  }
  return len;
}

/* Reads 4 hex digits at s (the caller checked they are there). */
static int read_hex4(const char *s, uint32_t *cp) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    unsigned char l = (unsigned char)c | 0x20;
    uint32_t digit;
    if (is_digit(c))
      digit = (uint32_t)(c - '0');
    else if (l >= 'a' && l <= 'f')
      digit = l - 'a' + 10u;
    else
      return -1;
    v = v << 4 | digit;
  }
  *cp = v;
  return 0;
}

/* Decodes the escape at raw[*i] ('\\') into UTF-8 in out and advances *i;
 * returns the byte count, or 0 for an escape JSON (and cJSON) rejects. */
static size_t decode_escape(const char *raw, size_t n, size_t *i, unsigned char out[4]) {
  if (*i + 1 >= n)
    return 0;
  const char e = raw[*i + 1];
  *i += 2;
  switch (e) {
  case '"':
  case '\\':
  case '/':
    out[0] = (unsigned char)e;
    return 1;
  case 'b':
    out[0] = '\b';
    return 1;
  case 'f':
    out[0] = '\f';
    return 1;
  case 'n':
    out[0] = '\n';
    return 1;
  case 'r':
    out[0] = '\r';
    return 1;
  case 't':
    out[0] = '\t';
    return 1;
  case 'u':
    break;
  default:
    return 0;
  }
  uint32_t cp, low;
  if (*i + 4 > n || read_hex4(raw + *i, &cp) != 0)
    return 0;
  *i += 4;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return 0; /* a low surrogate on its own */
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (*i + 6 > n || raw[*i] != '\\' || raw[*i + 1] != 'u' || read_hex4(raw + *i + 2, &low) != 0 ||
        low < 0xDC00 || low > 0xDFFF)
      return 0;
    *i += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | cp >> 6);
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | cp >> 12);
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | cp >> 18);
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Whether the string text raw[0, n) (escapes not yet decoded) decodes to
 * exactly key. Invalid escapes never match. With nul_ends, a decoded NUL
 * ends the text, as it ends cJSON's copy of it for strcmp. */
static int unescaped_equals(const char *raw, size_t n, const char *key, size_t key_len,
                            bool nul_ends) {
  size_t i = 0, k = 0;
  while (i < n) {
    unsigned char buf[4];
    size_t len = 1;
    if (raw[i] == '\\') {
      len = decode_escape(raw, n, &i, buf);
      if (len == 0)
        return 0;
    } else {
      buf[0] = (unsigned char)raw[i++];
    }
    if (nul_ends && buf[0] == '\0')
      return k == key_len;
    if (len > key_len - k || memcmp(key + k, buf, len) != 0)
      return 0;
    k += len;
  }
  return k == key_len;
}

/* The index in keys of the key the string raw[0, n) spells, or nkeys. */
static size_t find_key(const char *raw, size_t n, int escaped, const char *const *keys,
                       size_t nkeys, bool nul_ends) {
  for (size_t k = 0; k < nkeys; k++) {
    const size_t key_len = strlen(keys[k]);
    if (escaped ? unescaped_equals(raw, n, keys[k], key_len, nul_ends)
                : n == key_len && memcmp(raw, keys[k], n) == 0)
      return k;
  }
  return nkeys;
}

static size_t skip_ws_at(const char *s, size_t i, size_t len) {
  while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
    i++;
  return i;
}

/* Text a placeholder replaced: while scanning, its start and length in the
 * body; once the envelope is compacted, the envelope offset just past the
 * placeholder and the bytes removed up to there (cumulative). */
struct lk_splice_gap {
  size_t at;
  size_t removed;
};

void lk_splice_table_free(lk_splice_table *table) {
  for (size_t i = 0; i < table->count; i++)
    lk_tensor_free(&table->tensors[i]);
  free(table->tensors);
  free(table->gaps);
  memset(table, 0, sizeof *table);
}

/* The end of the JSON array at p (just past its ']'), checking only strings
 * and that brackets pair up by kind, without recursion; NULL when they do not
 * within [p, end) or nest deeper than max_depth (or 4096). */
static const char *skip_array(const char *p, const char *end, size_t max_depth) {
  enum { LIMIT = 4096 };
  unsigned char is_object[LIMIT / 8] = {0}; /* one bit per open level */
  size_t depth = 0;
  if (max_depth > LIMIT)
    max_depth = LIMIT;
  for (; p < end; p++) {
    if (*p == '"') {
      for (p++; p < end && *p != '"'; p++) {
        if (*p == '\\' && ++p == end)
          return NULL;
      }
      if (p == end)
        return NULL;
    } else if (*p == '[' || *p == '{') {
      if (depth == max_depth)
        return NULL;
      const unsigned char bit = (unsigned char)(1u << (depth % 8));
      is_object[depth / 8] =
          (unsigned char)(*p == '{' ? is_object[depth / 8] | bit : is_object[depth / 8] & ~bit);
      depth++;
    } else if (*p == ']' || *p == '}') {
      if (depth == 0)
        return NULL;
      depth--;
      const bool was_object = (is_object[depth / 8] >> (depth % 8)) & 1u;
      if (was_object != (*p == '}'))
        return NULL;
      if (depth == 0)
        return p + 1;
    }
  }
  return NULL;
}

/* Overwrites a spliced value's text body[at, at + n) with its two-character
 * placeholder ("{}" or ""). When compacting, the rest of the text is
 * recorded as a gap (removed later); otherwise it becomes spaces. */
static int replace_with_placeholder(char *body, size_t at, size_t n, const char *placeholder,
                                    bool compact, lk_splice_table *table, char *err,
                                    size_t errlen) {
  if (!compact) {
    body[at] = placeholder[0];
    body[at + 1] = placeholder[1];
    memset(body + at + 2, ' ', n - 2);
    return 0;
  }
  if (n > 2 && table->ngaps == table->gaps_cap) {
    size_t cap = table->gaps_cap ? table->gaps_cap * 2 : 8;
    lk_splice_gap *g = realloc(table->gaps, cap * sizeof *g);
    if (!g)
      return fail(err, errlen, "out of memory for %zu spliced values", cap);
    table->gaps = g;
    table->gaps_cap = cap;
  }
  if (n > 2)
    table->gaps[table->ngaps++] = (lk_splice_gap){at, n};
  body[at] = placeholder[0];
  body[at + 1] = placeholder[1];
  return 0;
}

/* Appends a tensor to the table (taking ownership of its values). */
static int table_push(lk_splice_table *table, const lk_tensor *tensor, char *err, size_t errlen) {
  if (table->count == table->cap) {
    size_t cap = table->cap ? table->cap * 2 : 4;
    lk_tensor *t = realloc(table->tensors, cap * sizeof *t);
    if (!t)
      return fail(err, errlen, "out of memory for %zu tensors", cap);
    table->tensors = t;
    table->cap = cap;
  }
  table->tensors[table->count++] = *tensor;
  return 0;
}

/* A number of two characters or more at body[value] becomes a rank-0
 * tensor (correctly rounded, unlike cJSON's double then float) and its text
 * a placeholder. False when there is no valid number there, or it is a
 * single digit (exact as cJSON reads it, and too short for "{}"). */
static bool splice_scalar(char *body, size_t value, size_t len, bool compact,
                          lk_splice_table *table, lk_tensor *out) {
  float f;
  const char *stop = lk_float_parse(body + value, body + len, &f);
  const size_t n = stop ? (size_t)(stop - (body + value)) : 0;
  if (n < 2)
    return false;
  memset(out, 0, sizeof *out);
  out->values = malloc(sizeof(float));
  if (!out->values)
    return false; /* cJSON reads it instead: slightly less exact, never wrong-typed */
  if (replace_with_placeholder(body, value, n, "{}", compact, table, NULL, 0) != 0) {
    free(out->values);
    return false; /* cJSON reads it instead */
  }
  out->values[0] = f;
  out->count = 1;
  return true;
}

/* Decodes the text of a base64 string into t (the caller checked the key):
 * raw[0, n) as it is in the body, escapes (escaped) not yet decoded.
 * Returns 1 when the string has an invalid escape (then nothing is lifted:
 * cJSON rejects the body), else 0 with t filled; a text that is no base64,
 * or memory running out, is recorded in t->error for the job to report. */
static int decode_base64_string(const char *raw, size_t n, int escaped, lk_tensor *t) {
  memset(t, 0, sizeof *t);
  t->is_b64 = 1;
  t->rank = 1;
  char *unescaped = NULL;
  if (escaped) {
    /* An escape never decodes to more bytes than its own text. */
    unescaped = malloc(n ? n : 1);
    if (!unescaped) {
      snprintf(t->error, sizeof t->error, "out of memory unescaping %zu characters", n);
      return 0;
    }
    size_t i = 0, m = 0;
    bool cut = false; /* cJSON's valuestring ends at a decoded NUL */
    while (i < n) {
      unsigned char buf[4];
      size_t k = 1;
      if (raw[i] == '\\') {
        k = decode_escape(raw, n, &i, buf);
        if (k == 0) {
          free(unescaped);
          return 1;
        }
      } else {
        buf[0] = (unsigned char)raw[i++];
      }
      cut = cut || buf[0] == '\0';
      if (!cut) {
        memcpy(unescaped + m, buf, k);
        m += k;
      }
    }
    raw = unescaped;
    n = m;
  }
  t->text_len = n;
  size_t nbytes;
  if (lk_base64_decoded_size(raw, n, &nbytes, t->error, sizeof t->error) == 0) {
    size_t cap;
    unsigned char *bytes = lk_mem_alloc(nbytes ? nbytes : 1, &cap);
    if (!bytes) {
      snprintf(t->error, sizeof t->error, "out of memory for %zu decoded bytes", nbytes);
    } else if (lk_base64_decode_into(raw, n, bytes, t->error, sizeof t->error) != 0) {
      lk_mem_release(bytes);
    } else {
      t->values = (float *)(void *)bytes; /* malloc and the pool align for any type */
      t->nbytes = nbytes;
      t->count = nbytes / 4;
      t->shape[0] = t->count;
    }
  }
  free(unescaped);
  return 0;
}

/* Decodes the base64 string value at body[value] (its opening quote) into
 * t and sets *close to the index of its closing quote. Base64 needs no
 * escapes, so the text is first taken to end at the next quote and decoded
 * in one pass; only when that fails and a backslash is in it is the string
 * scanned again with its escapes. Returns 1 when the string is not closed
 * or has an invalid escape (nothing lifted), else 0. */
static int lift_base64_value(const char *body, size_t value, size_t len, lk_tensor *t,
                             size_t *close) {
  const size_t text = value + 1;
  const char *quote = memchr(body + text, '"', len - text);
  if (!quote)
    return 1;
  *close = (size_t)(quote - body);
  decode_base64_string(body + text, *close - text, 0, t);
  if (!t->error[0] || !memchr(body + text, '\\', *close - text))
    return 0;
  lk_tensor_free(t);
  int escaped;
  *close = string_end(body, text, len, &escaped);
  if (*close == len)
    return 1;
  return decode_base64_string(body + text, *close - text, escaped, t);
}

/* Removes the gaps' text from the body (the placeholders stay) and turns
 * each gap into (envelope offset just past its placeholder, bytes removed
 * so far). Returns the envelope's length. */
static size_t compact_envelope(char *body, size_t len, lk_splice_table *table) {
  size_t w = 0, r = 0, removed = 0;
  for (size_t i = 0; i < table->ngaps; i++) {
    lk_splice_gap *g = &table->gaps[i];
    const size_t keep_end = g->at + 2;
    memmove(body + w, body + r, keep_end - r);
    w += keep_end - r;
    r = g->at + g->removed;
    removed += g->removed - 2;
    g->at = w;
    g->removed = removed;
  }
  memmove(body + w, body + r, len - r);
  w += len - r;
  if (w < len)
    body[w] = '\0';
  return w;
}

size_t lk_splice_body_offset(const lk_splice_table *table, size_t envelope_offset) {
  /* The last gap at or before the offset: text after a placeholder moved
   * back by everything removed up to it. */
  size_t lo = 0, hi = table->ngaps;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (table->gaps[mid].at <= envelope_offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? envelope_offset : envelope_offset + table->gaps[lo - 1].removed;
}

/* The scan only counts depth (for the limit) and does not track whether
 * the open container is an object: in valid JSON a string followed by ':'
 * is always a member key, and swapping one value for a placeholder can
 * neither make an invalid body valid nor the reverse, so cJSON still
 * rejects what it should. On failure the table is emptied (tensors spliced
 * so far freed). */
static int splice(char *body, size_t len, const lk_splice_keys *keys, const lk_limits *limits,
                  size_t max_nesting, bool compact, lk_splice_table *table, char *err,
                  size_t errlen) {
  size_t depth = 0, pos = 0;
  while (pos < len) {
    const char c = body[pos];
    if (c == '{' || c == '[') {
      if (depth == max_nesting)
        goto too_deep;
      depth++;
      pos++;
      continue;
    }
    if (c == '}' || c == ']') {
      if (depth > 0)
        depth--;
      pos++;
      continue;
    }
    if (c != '"') {
      pos++;
      continue;
    }
    int escaped;
    const size_t text = pos + 1;
    const size_t close = string_end(body, text, len, &escaped);
    if (close == len)
      break; /* unterminated: cJSON reports it */
    pos = close + 1;
    const size_t colon = skip_ws_at(body, pos, len);
    if (colon == len || body[colon] != ':')
      continue;
    const size_t value = skip_ws_at(body, colon + 1, len);
    pos = value;
    if (value == len)
      continue;
    if (body[value] == '-' || (body[value] >= '0' && body[value] <= '9')) {
      if (find_key(body + text, close - text, escaped, keys->scalars, keys->nscalars, false) ==
          keys->nscalars)
        continue;
      lk_tensor scalar;
      if (!splice_scalar(body, value, len, compact, table, &scalar))
        continue; /* one digit is exact anyway; no number at all: cJSON says so */
      if (table_push(table, &scalar, err, errlen) != 0) {
        lk_tensor_free(&scalar);
        goto failed;
      }
      pos = value + 2;
      continue;
    }
    if (body[value] == '"') {
      if (find_key(body + text, close - text, escaped, keys->b64, keys->nb64, true) == keys->nb64)
        continue; /* some other string: the next turn skips it */
      lk_tensor t;
      size_t string_close;
      if (lift_base64_value(body, value, len, &t, &string_close) != 0)
        continue; /* unterminated or an invalid escape: cJSON rejects the body */
      if (table_push(table, &t, err, errlen) != 0) {
        lk_tensor_free(&t);
        goto failed;
      }
      if (replace_with_placeholder(body, value, string_close + 1 - value, "\"\"", compact, table,
                                   err, errlen) != 0)
        goto failed;
      pos = string_close + 1;
      continue;
    }
    if (body[value] != '[')
      continue;
    const size_t key =
        find_key(body + text, close - text, escaped, keys->arrays, keys->narrays, false);
    if (key == keys->narrays)
      continue; /* some other array: scanned structurally */
    if (depth == max_nesting)
      goto too_deep;
    lk_tensor tensor;
    const char *stop = NULL;
    size_t bad_index;
    char why[128];
    if (lk_array_parse(body + value, body + len, limits, &tensor, &stop, &bad_index, why,
                       sizeof why) != 0) {
      memset(&tensor, 0, sizeof tensor);
      if (bad_index != SIZE_MAX)
        snprintf(tensor.error, sizeof tensor.error, "%s[%zu] is not a number", keys->arrays[key],
                 bad_index);
      else
        snprintf(tensor.error, sizeof tensor.error, "%s: %s", keys->arrays[key], why);
      stop = skip_array(body + value, body + len, max_nesting - depth);
      if (!stop) {
        fail(err, errlen, "%s", tensor.error);
        goto failed;
      }
    }
    const size_t array_len = (size_t)(stop - (body + value));
    if (table_push(table, &tensor, err, errlen) != 0) {
      lk_tensor_free(&tensor);
      goto failed;
    }
    if (replace_with_placeholder(body, value, array_len, "{}", compact, table, err, errlen) != 0)
      goto failed;
    pos = value + array_len;
  }
  return 0;

too_deep:
  fail(err, errlen, "JSON nested deeper than %zu", max_nesting);
failed:
  lk_splice_table_free(table);
  return -1;
}

int lk_splice_tensors(char *body, size_t len, const char *const *keys, size_t nkeys,
                      const char *const *scalar_keys, size_t nscalar, const lk_limits *limits,
                      size_t max_nesting, lk_splice_table *table, char *err, size_t errlen) {
  const lk_splice_keys all = {keys, nkeys, scalar_keys, nscalar, NULL, 0};
  return splice(body, len, &all, limits, max_nesting, false, table, err, errlen);
}

int lk_splice_body(char *body, size_t len, const lk_splice_keys *keys, const lk_limits *limits,
                   size_t max_nesting, lk_splice_table *table, size_t *envelope_len, char *err,
                   size_t errlen) {
  *envelope_len = len;
  if (splice(body, len, keys, limits, max_nesting, true, table, err, errlen) != 0)
    return -1;
  *envelope_len = compact_envelope(body, len, table);
  return 0;
}
