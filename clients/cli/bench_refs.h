/* bench_refs.h - the C references `leakycl bench` times beside leakycl: the
 * same formulas as plain OpenMP loops (what a careful C programmer writes),
 * and a streaming-store copy (the memory bandwidth limit). */
#ifndef LEAKYCL_CLI_BENCH_REFS_H
#define LEAKYCL_CLI_BENCH_REFS_H

#include <stddef.h>

#include "leakycl.h"

/* The scalars of one activation, as leakycl uses them: alpha (0 for relu)
 * and phased_relu's threshold t = -beta/alpha, computed in float32. */
typedef struct bench_ref_params {
  leakycl_activation activation;
  float alpha;
  float threshold;
} bench_ref_params;

/* Fills p from leakycl's defaults for the activation (shared alpha). */
void bench_ref_params_default(bench_ref_params *p, leakycl_activation activation);

/* y = f(x), the README's forward formulas. */
void bench_ref_forward(const bench_ref_params *p, const float *x, float *y, size_t n);
/* dx = f'(x) * dy. */
void bench_ref_backward(const bench_ref_params *p, const float *x, const float *dy, float *dx,
                        size_t n);
/* dx as above and, in the same pass, dalpha = sum of d y/d alpha * dy
 * accumulated in float64 (a fair loop that is also accurate). prelu and
 * phased_relu only; 0 for the others. */
double bench_ref_backward_dalpha(const bench_ref_params *p, const float *x, const float *dy,
                                 float *dx, size_t n);
/* dalpha alone, float64 accumulation. */
double bench_ref_dalpha(const bench_ref_params *p, const float *x, const float *dy, size_t n);

/* dst = src with non-temporal stores (SSE _mm_stream_ps when available and
 * dst is 16-byte aligned, else a plain loop), split over the OpenMP threads. */
void bench_stream_copy(const float *src, float *dst, size_t n);

/* How the loops run: "openmp simd, 2 threads from 262144 elements" (one
 * thread below that size), or "no openmp, 1 thread". */
const char *bench_ref_description(void);

#endif
