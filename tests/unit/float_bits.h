/* float_bits.h - a float32's bit pattern and back, for tests and fuzzers that
 * compare results exactly (NaN payloads and -0 included). */
#ifndef LEAKYCL_FLOAT_BITS_H
#define LEAKYCL_FLOAT_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint32_t bits_of(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

static inline float float_of(uint32_t u) {
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

#endif
