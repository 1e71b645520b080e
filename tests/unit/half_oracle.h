/* half_oracle.h - the tests' own float16 and bfloat16 conversions, written
 * from the formats' definitions in float64 (never the kernels' integer
 * tricks): widening by ldexp of the fields, narrowing by rint() (round to
 * nearest, ties to even) of the value scaled to the significand's units. */
#ifndef LEAKYCL_TEST_HALF_ORACLE_H
#define LEAKYCL_TEST_HALF_ORACLE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "float_bits.h"
#include "leakycl.h"

/* The layout of a 16-bit type: significand bits, exponent bias. */
typedef struct half_format {
  int mant_bits;
  int bias;
} half_format;

static const half_format fmt_f16 = {10, 15};
static const half_format fmt_bf16 = {7, 127};

static inline half_format format_of(leakycl_dtype dtype) {
  return dtype == LEAKYCL_FLOAT16 ? fmt_f16 : fmt_bf16;
}

/* The value of a 16-bit pattern, exactly (a float32 holds every one). */
static inline float ref_widen(leakycl_dtype dtype, uint16_t h) {
  const half_format f = format_of(dtype);
  const int exp_max = (1 << (15 - f.mant_bits)) - 1;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  const int e = (h >> f.mant_bits) & exp_max;
  const unsigned m = h & ((1u << f.mant_bits) - 1);
  if (e == exp_max)
    return m ? NAN : (float)(sign * INFINITY);
  if (e == 0) /* zero or subnormal: m units of 2^(1 - bias - mant_bits) */
    return (float)(sign * ldexp((double)m, 1 - f.bias - f.mant_bits));
  return (float)(sign * ldexp((double)((1u << f.mant_bits) + m), e - f.bias - f.mant_bits));
}

/* A float rounded to the 16-bit type, to nearest even; NaN gives the quiet
 * NaN of its sign (callers compare NaN-ness, not payloads). */
static inline uint16_t ref_narrow(leakycl_dtype dtype, float v) {
  const half_format f = format_of(dtype);
  const int exp_max = (1 << (15 - f.mant_bits)) - 1;
  const uint16_t sign = signbit(v) ? 0x8000 : 0;
  const uint16_t inf = (uint16_t)(exp_max << f.mant_bits);
  if (isnan(v))
    return (uint16_t)(sign | inf | (1u << (f.mant_bits - 1)));
  const double a = fabs((double)v);
  if (isinf(v))
    return sign | inf;
  if (a == 0)
    return sign;
  int k;
  frexp(a, &k); /* a = m * 2^k, m in [0.5, 1): the exponent is k - 1 */
  int e = k - 1;
  const int emin = 1 - f.bias;
  if (e < emin)
    e = emin; /* subnormal: the smallest exponent's units */
  /* Exact in double; rint() rounds ties to even in the default mode. */
  const double sig = rint(ldexp(a, f.mant_bits - e));
  /* A carry (sig == 2^(mant_bits+1)) lands in the exponent by itself, and
   * for e == emin a sig below 2^mant_bits is the subnormal pattern. */
  const long bits = ((long)(e + f.bias) << f.mant_bits) + (long)sig - (1L << f.mant_bits);
  return sign | (uint16_t)(bits >= inf ? inf : bits);
}

static inline bool half_is_nan(leakycl_dtype dtype, uint16_t h) {
  const half_format f = format_of(dtype);
  const uint16_t inf = (uint16_t)(((1 << (15 - f.mant_bits)) - 1) << f.mant_bits);
  return (h & inf) == inf && (h & ((1u << f.mant_bits) - 1)) != 0;
}

/* Equal patterns, or both NaN; a bfloat16 NaN must also be quiet (the
 * kernels' own narrowing sets the bit; float16's is the OpenCL builtin's). */
static inline bool same_half(leakycl_dtype dtype, uint16_t got, uint16_t want) {
  if (half_is_nan(dtype, want))
    return half_is_nan(dtype, got) && (dtype != LEAKYCL_BFLOAT16 || (got & 0x0040));
  return got == want;
}

#endif
