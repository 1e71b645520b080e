/* oracle.h - the unit tests' independent reference: the README's semantics
 * tables, one per conventions profile, in float64, rounded once to float32,
 * and a small deterministic random source. Shared by test_ops.c and test_batch.c. */
#ifndef LEAKYCL_TEST_ORACLE_H
#define LEAKYCL_TEST_ORACLE_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "float_bits.h"
#include "leakycl.h"

/* Products of two floats are exact in double, so rounding them once gives
 * the float32 product the table asks for. t is phased_relu's threshold.
 * conv is the profile (the README's tables): pytorch is what torch
 * autograd computes, where() filling the branch it does not take with +0
 * and the gradients of a value used twice added; ieee carries NaN in x
 * over; jax takes the identity branch at x >= 0. */
static inline float ref_mul(float a, float b) { return (float)((double)a * (double)b); }
/* where(c, v, 0): the +0 torch's and jax's where() backward put in the
 * branch not taken. */
static inline float ref_fill(bool c, float v) { return c ? v : 0.0f; }
/* The sum of two gradients where one is always a zero: exact. */
static inline float ref_sum(float a, float b) { return (float)((double)a + (double)b); }

static inline float ref_forward(leakycl_conventions conv, leakycl_activation act, float x, float a,
                                float t) {
  switch (act) {
  case LEAKYCL_RELU: /* torch's clamp_min(x, 0) lets -0 and NaN through */
    if (conv == LEAKYCL_CONVENTIONS_PYTORCH)
      return x < 0 ? 0.0f : x;
    return x > 0 || isnan(x) ? x : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU: /* a*NaN is NaN in every profile */
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return x >= 0 ? x : ref_mul(a, x);
    return x > 0 ? x : ref_mul(a, x);
  default:
    if (isnan(x) && conv == LEAKYCL_CONVENTIONS_IEEE)
      return x;
    if (x >= 0)
      return x;
    return x >= t ? ref_mul(a, x) : 0.0f; /* NaN: the zero branch */
  }
}

static inline float ref_backward(leakycl_conventions conv, leakycl_activation act, float x,
                                 float dy, float a, float t) {
  if (isnan(x) && conv == LEAKYCL_CONVENTIONS_IEEE)
    return x;
  switch (act) {
  case LEAKYCL_RELU:
    if (conv == LEAKYCL_CONVENTIONS_PYTORCH) /* threshold_backward on y: y <= 0 ? 0 : dy */
      return x > 0 || isnan(x) ? dy : 0.0f;
    return x > 0 ? dy : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return ref_sum(ref_fill(x >= 0, dy), ref_mul(a, ref_fill(!(x >= 0), dy)));
    return x > 0 ? dy : ref_mul(a, dy);
  default:
    if (conv == LEAKYCL_CONVENTIONS_IEEE) {
      if (x >= 0)
        return dy;
      return x >= t ? ref_mul(a, dy) : 0.0f;
    }
    return ref_sum(ref_fill(x >= 0, dy), ref_mul(ref_fill(x < 0 && x >= t, dy), a));
  }
}

/* d f / d alpha * dy, exact in double. */
static inline double ref_alpha_term(leakycl_conventions conv, leakycl_activation act, float x,
                                    float dy, float t) {
  if (act == LEAKYCL_PRELU) {
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return (double)ref_fill(!(x >= 0), dy) * (double)x;
    return x > 0 ? 0.0 : (double)dy * (double)x;
  }
  if (conv == LEAKYCL_CONVENTIONS_IEEE)
    return (x < 0 && x >= t) || isnan(x) ? (double)dy * (double)x : 0.0;
  return (double)ref_fill(x < 0 && x >= t, dy) * (double)x; /* 0 * Inf is NaN */
}

/* phased_relu's threshold -beta/alpha in float32, as the host computes it. */
static inline float threshold(float alpha, float beta) {
  return (float)(-(double)beta / (double)alpha);
}

/* Equal bits, or both NaN. */
static inline bool same_float(float a, float b) {
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  return bits_of(a) == bits_of(b);
}

/* xorshift64; a test may define ORACLE_RNG_SEED before including. */
#ifndef ORACLE_RNG_SEED
#define ORACLE_RNG_SEED 0x9E3779B97F4A7C15ULL
#endif
static uint64_t rng_state = ORACLE_RNG_SEED;
static inline uint64_t rng_next(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static inline double rng_uniform(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }

/* A quarter of the time, one of the edge cases into *out: zeros of both
 * signs, a subnormal, or phased_relu's threshold t or a neighbour; false
 * otherwise (the caller then draws its own value). */
static inline bool rng_edge_value(float t, float *out) {
  switch (rng_next() % 16) {
  case 0:
    *out = 0.0f;
    return true;
  case 1:
    *out = -0.0f;
    return true;
  case 2:
    *out = (rng_next() & 1 ? 1 : -1) * FLT_TRUE_MIN * (float)(1 + rng_next() % 1000);
    return true;
  case 3:
    *out = isfinite(t) ? nextafterf(t, (float)(rng_next() % 3) - 1.0f) : -1.0f;
    return true;
  default:
    return false;
  }
}

#endif
