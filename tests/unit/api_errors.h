/* api_errors.h - what the API error tests (test_api_errors.c,
 * test_api_errors_device.c) share: the context they open, checks that a call
 * on it fails with a status and a last_error naming the problem or
 * succeeds, deterministic inputs and the leaky_relu float64 oracle.
 * Include after test.h. */
#ifndef LEAKYCL_TEST_API_ERRORS_H
#define LEAKYCL_TEST_API_ERRORS_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "leakycl.h"
#include "test.h"

/* A call on ctx must fail with `want` and leave a last_error containing
 * `needle`. */
#define CHECK_FAILS(call, want, needle)                                                            \
  do {                                                                                             \
    leakycl_status st_ = (call);                                                                   \
    CHECK_INT_EQ(st_, want);                                                                       \
    CHECK(leakycl_last_error(ctx)[0] != '\0');                                                     \
    CHECK_CONTAINS(leakycl_last_error(ctx), needle);                                               \
  } while (0)

#define CHECK_OK(call)                                                                             \
  do {                                                                                             \
    leakycl_status st_ = (call);                                                                   \
    if (st_ != LEAKYCL_OK)                                                                         \
      fprintf(stderr, "  %s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call,                          \
              leakycl_status_name(st_), leakycl_last_error(ctx));                                  \
    CHECK_INT_EQ(st_, LEAKYCL_OK);                                                                 \
  } while (0)

#define N 1003 /* not a multiple of any vector width: the tail runs too */
#define SENTINEL 12345.5f

static leakycl_context *ctx;
static float xs[N], dys[N];

/* Deterministic inputs with negatives, zeros (and -0) and positives. */
static inline void init_data(void) {
  for (int i = 0; i < N; i++) {
    xs[i] = (float)((i * 37) % 41 - 20) * 0.125f;
    dys[i] = (float)((i * 13) % 17 - 8) * 0.25f + 0.5f;
  }
  xs[5] = -0.0f;
}

static inline void fill(float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++)
    a[i] = v;
}

static inline int all_equal(const float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++)
    if (!(a[i] == v))
      return 0;
  return 1;
}

/* The float64 oracle of the README's semantics table (products of two floats are
 * exact in double, so rounding them once to float is float32 arithmetic). */
static inline float leaky_forward_ref(float x, float a) {
  return x > 0 ? x : (float)((double)a * (double)x);
}
static inline float leaky_backward_ref(float x, float dy, float a) {
  return x > 0 ? dy : (float)((double)a * (double)dy);
}

static inline leakycl_params params_of(leakycl_activation act, size_t count, const float *alpha) {
  leakycl_params p;
  leakycl_params_init(&p, act);
  p.alpha_count = count;
  p.alpha = alpha;
  return p;
}

/* Fills the inputs and opens ctx on "auto"; false, with a FAIL line and the
 * summary, when no context opens. */
static inline bool api_errors_open(void) {
  init_data();
  char err[1024] = "";
  leakycl_status st = leakycl_context_create("auto", &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create: %s: %s\n", leakycl_status_name(st), err);
    printf("# 0 passed, 1 failed\n");
    return false;
  }
  return true;
}

#endif
