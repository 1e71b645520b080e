/* bench_measure.h - what `leakycl bench --compare` and the daemon's POST
 * /v1/compare measure of one call on one device: the median and range of its
 * timed samples, and how far its outputs are from the first device's and
 * from the float64 oracle (check_oracle.h). Pure C: no OpenCL call. */
#ifndef LEAKYCL_ORACLE_BENCH_MEASURE_H
#define LEAKYCL_ORACLE_BENCH_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "check_oracle.h"

/* Median, min and max of samples[0..count) (sorted in place); all 0 when
 * count is 0. */
typedef struct bench_stats {
  double median, min, max;
} bench_stats;
void bench_stats_of(double *samples, int count, bench_stats *out);

/* One call as the oracle sees it: its inputs and each channel's gradient
 * sums (Σ|terms| scales dalpha's differences). */
typedef struct bench_oracle {
  ck_call call;
  ck_grad_sums *sums; /* NULL when the call has no dalpha */
  size_t channels;
} bench_oracle;

/* Prepares the oracle of *call; with_dalpha when the call computes dalpha.
 * Returns 0, or -1 when out of memory. Free with bench_oracle_free. */
int bench_oracle_init(bench_oracle *o, const ck_call *call, int with_dalpha);
void bench_oracle_free(bench_oracle *o);

/* How one device's outputs agree with a reference's. */
typedef struct bench_agreement {
  /* y or dx bit for bit (NaN equal to any NaN); against another device,
   * dalpha too (the oracle's dalpha is float64: see dalpha_rel). */
  int identical;
  uint64_t max_ulp;  /* largest ck_ulp_distance over y or dx */
  int has_dalpha;    /* the call computed dalpha: dalpha_rel is set */
  double dalpha_rel; /* max over channels of |got - want| / Σ|terms|
                      * (0 when equal, INFINITY when only one is finite or
                      * there are no terms to scale by) */
} bench_agreement;

/* out (y or dx: call.n storage patterns; NULL when the call has none, as
 * reduce) and dalpha (channels values; NULL without) against the oracle. */
void bench_agree_oracle(const bench_oracle *o, const void *out, const float *dalpha,
                        bench_agreement *a);
/* The same against another device's outputs ref_out and ref_dalpha. */
void bench_agree_device(const bench_oracle *o, const void *out, const float *dalpha,
                        const void *ref_out, const float *ref_dalpha, bench_agreement *a);

/* Appends the JSON members one device's figures share in both answers:
 * "seconds" (the median), "min_seconds", "max_seconds", "gbps" (bytes /
 * median), then "agrees_with_first" and "agrees_with_oracle", each
 * {"identical", "max_ulp", and "dalpha_rel" when the call has dalpha, a
 * number or "Infinity"}. No braces around them. */
void bench_measure_json(lkt_buf *b, const bench_stats *time, double bytes,
                        const bench_agreement *first, const bench_agreement *oracle);

#endif
