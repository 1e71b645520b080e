/* oracle.h - the unit tests' independent reference: DESIGN.md's semantics
 * table in float64, rounded once to float32, and a small deterministic
 * random source. Shared by test_ops.c and test_batch.c. */
#ifndef LEAKYCL_TEST_ORACLE_H
#define LEAKYCL_TEST_ORACLE_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "float_bits.h"
#include "leakycl.h"

/* Products of two floats are exact in double, so rounding them once gives
 * the float32 product the table asks for. t is phased_relu's threshold. */
static inline float ref_forward(leakycl_activation act, float x, float a, float t) {
  if (isnan(x))
    return x;
  switch (act) {
  case LEAKYCL_RELU:
    return x > 0 ? x : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    return x > 0 ? x : (float)((double)a * (double)x);
  default:
    if (x >= 0)
      return x;
    return x >= t ? (float)((double)a * (double)x) : 0.0f;
  }
}

static inline float ref_backward(leakycl_activation act, float x, float dy, float a, float t) {
  if (isnan(x))
    return x;
  switch (act) {
  case LEAKYCL_RELU:
    return x > 0 ? dy : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    return x > 0 ? dy : (float)((double)a * (double)dy);
  default:
    if (x >= 0)
      return dy;
    return x >= t ? (float)((double)a * (double)dy) : 0.0f;
  }
}

/* d f / d alpha * dy, exact in double. */
static inline double ref_alpha_term(leakycl_activation act, float x, float dy, float t) {
  if (act == LEAKYCL_PRELU)
    return x > 0 ? 0.0 : (double)dy * (double)x;
  return (x < 0 && x >= t) || isnan(x) ? (double)dy * (double)x : 0.0;
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
