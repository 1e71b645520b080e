/* bench_verify.h - `leakycl bench --verify`: one timed leakycl output (y or
 * dx, and dalpha) held against the float64 oracle of check_oracle.h before
 * its figure is printed, so a device that returns garbage gets no GB/s. */
#ifndef LEAKYCL_CLI_BENCH_VERIFY_H
#define LEAKYCL_CLI_BENCH_VERIFY_H

#include <stddef.h>

#include "bench_rows.h"
#include "leakycl.h"

/* What one bench call computed, with the call's default parameters. out is
 * y (forward) or dx (backward), NULL for reduce; dalpha is NULL unless the
 * call reduced (fused backward, reduce). */
typedef struct bench_verify_call {
  leakycl_activation activation;
  bench_op op;
  const float *x, *dy;
  const float *out;
  const float *dalpha;
  size_t n;
} bench_verify_call;

/* Returns 0 when every element is bit-exact and dalpha within its bound,
 * else -1 with the first difference described in err. */
int bench_verify(const bench_verify_call *call, char *err, size_t errlen);

#endif
