/* test.h - the unit-test harness: one function per case, checks that print
 * both values, a PASS/FAIL line per case that tests/run.sh counts. */
#ifndef LEAKYCL_TEST_H
#define LEAKYCL_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int test_case_failed_;
static int test_passed_;
static int test_failed_;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                   \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
  do {                                                                                             \
    long long a_ = (long long)(a), b_ = (long long)(b);                                            \
    if (a_ != b_) {                                                                                \
      fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_);    \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
  do {                                                                                             \
    const char *a_ = (a), *b_ = (b);                                                               \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                       \
      fprintf(stderr, "  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,         \
              a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                             \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

/* Checks that `hay` contains `needle`, printing both otherwise. */
#define CHECK_CONTAINS(hay, needle)                                                                \
  do {                                                                                             \
    const char *h_ = (hay), *n_ = (needle);                                                        \
    if (!h_ || !strstr(h_, n_)) {                                                                  \
      fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,             \
              h_ ? h_ : "(null)", n_);                                                             \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

/* |a - b| <= tol, printing both values on failure. */
#define CHECK_DBL_NEAR(a, b, tol)                                                                  \
  do {                                                                                             \
    double a_ = (double)(a), b_ = (double)(b);                                                     \
    if (!(fabs(a_ - b_) <= (tol))) {                                                               \
      fprintf(stderr, "  %s:%d: %s ~= %s: %.17g != %.17g (tol %g)\n", __FILE__, __LINE__, #a, #b,  \
              a_, b_, (double)(tol));                                                              \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

/* Runs one case and prints PASS/FAIL with its name. */
#define RUN_TEST(fn)                                                                               \
  do {                                                                                             \
    struct timespec t0_, t1_;                                                                      \
    test_case_failed_ = 0;                                                                         \
    clock_gettime(CLOCK_MONOTONIC, &t0_);                                                          \
    fn();                                                                                          \
    clock_gettime(CLOCK_MONOTONIC, &t1_);                                                          \
    printf("# %s took %.2f s\n", #fn,                                                              \
           (double)(t1_.tv_sec - t0_.tv_sec) + 1e-9 * (double)(t1_.tv_nsec - t0_.tv_nsec));        \
    if (test_case_failed_) {                                                                       \
      test_failed_++;                                                                              \
      printf("FAIL %s\n", #fn);                                                                    \
    } else {                                                                                       \
      test_passed_++;                                                                              \
      printf("PASS %s\n", #fn);                                                                    \
    }                                                                                              \
    fflush(stdout);                                                                                \
  } while (0)

/* The device every test opens: $LEAKYCL_TEST_DEVICE (a SPEC, as
 * leakycl_context_create takes it), else "cpu". Tests take what they expect
 * of it (type, default variant, unified memory) from the device itself. */
static inline const char *test_device_spec(void) {
  const char *spec = getenv("LEAKYCL_TEST_DEVICE");
  return spec && *spec ? spec : "cpu";
}

/* The last line of a test program; exit status 1 when a case failed. */
#define TEST_SUMMARY()                                                                             \
  (printf("# %d passed, %d failed\n", test_passed_, test_failed_), test_failed_ ? 1 : 0)

#endif
