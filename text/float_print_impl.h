/* float_print_impl.h - shortest float32 text (Schubfach) as static inline
 * functions: included by float_text.c and by arrays.c, whose hot loop must
 * inline the printer (no call per number). Not a public header. */
#ifndef LKT_FLOAT_PRINT_IMPL_H
#define LKT_FLOAT_PRINT_IMPL_H

#include <stdint.h>
#include <string.h>

#include "float_text.h"

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
static inline int32_t floor_div_pow2(int32_t x, int n) {
  return x >= 0 ? x >> n : -(int32_t)(((uint32_t)-x + (1u << n) - 1) >> n);
}

/* floor(e * log2(10)) for |e| <= 1233. */
static inline int32_t floor_log2_pow10(int32_t e) { return floor_div_pow2(e * 1741647, 19); }

/* (g * cp) / 2^64 rounded to odd: the low bit records whether anything was
 * cut off, which is all Schubfach needs to compare against interval ends. */
static inline uint32_t round_to_odd(uint64_t g, uint32_t cp) {
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
static inline decimal32 shortest_decimal(uint32_t ieee_mantissa, uint32_t ieee_exponent) {
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
 * longest text within LKT_FLOAT_TEXT_MAX. The plain layouts share one
 * branch-free path: a branch on "0.x" against "x.y" is a coin flip for
 * typical data and costs more than the copies. */
static inline char *write_decimal(char *p, uint32_t digits, int32_t exponent) {
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

/* lkt_float_print into out, which has room for TEXT_ROOM bytes; always
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

#endif
