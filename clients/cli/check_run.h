/* check_run.h - running one case of `leakycl check` through the public API
 * and comparing it with the oracle (check_oracle.h): the first mismatch it
 * reports. */
#ifndef LEAKYCL_CHECK_RUN_H
#define LEAKYCL_CHECK_RUN_H

#include "check_cases.h"

/* The first mismatch of a case. */
typedef struct ck_failure {
  size_t job;
  char what[40];  /* "y", "dx", "dalpha", ..., "repeat dalpha", "status" */
  size_t index;   /* y/dx: the element */
  size_t channel; /* the element's channel, or the gradient's */
  float x, dy;    /* the element's inputs (x is y for FROM_Y) */
  float want, got;
  uint32_t want_bits, got_bits; /* storage patterns (y/dx) */
  double bound, err;            /* gradients: allowed and actual |got - want| */
  char detail[320];             /* status failures: the library's message */
} ck_failure;

typedef struct ck_env {
  int denormals; /* CL_FP_DENORM: subnormals must be exact */
  int corrupt;   /* test hook: flip one output bit before comparing */
} ck_env;

/* Runs the case (twice when it has gradients: they must repeat bit for
 * bit) and compares every output with the oracle. Returns 0 when all pass,
 * 1 with *fail set on the first mismatch or failed call, -1 when host memory
 * ran out. *t (may be NULL) keeps the largest dalpha error fraction and
 * counts the results accepted as flushed subnormals. */
int ck_run_case(leakycl_context *ctx, const ck_case *c, const ck_env *env, ck_failure *fail,
                ck_tally *t);

#endif
