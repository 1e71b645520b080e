/* text_samples.h - what the text library's tests share: a reproducible
 * random source, float comparison, exact-size copies (so ASan catches any
 * read past the end) and a whole-text float parse. */
#ifndef LEAKYCL_TEXT_SAMPLES_H
#define LEAKYCL_TEXT_SAMPLES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "float_bits.h"
#include "float_text.h"

/* Sanitized builds run smaller samples to stay within the time budget. */
#if defined(__SANITIZE_ADDRESS__)
#define SAMPLE_DIV 2
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAMPLE_DIV 2
#endif
#endif
#ifndef SAMPLE_DIV
#define SAMPLE_DIV 1
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* splitmix64: small, fast, reproducible. */
static inline uint64_t rng(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static inline uint32_t rng_below(uint32_t n) { return (uint32_t)(rng() % n); }

/* Same bits, or both NaN (the codec has one NaN text). */
static inline int same_float(float a, float b) {
  return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b);
}

/* A copy of s in a buffer of exactly its length (no NUL), so ASan catches
 * any read past the end. */
static inline char *exact_copy(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  if (n)
    memcpy(p, s, n);
  return p;
}

/* lkt_float_parse over the whole of s (exact-size copy); 1 when it consumed
 * all of s. */
static inline int parse_all(const char *s, float *out) {
  size_t n = strlen(s);
  char *copy = exact_copy(s, n);
  const char *end = lkt_float_parse(copy, copy + n, out);
  int ok = end == copy + n;
  free(copy);
  return ok;
}

/* The array limits most tests parse with. */
static const lkt_limits default_limits = {1u << 20, 8};

#endif
