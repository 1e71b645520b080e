/* check_oracle.h - leakycl's semantics in float64 for `leakycl check` (and
 * `leakycl bench --verify`): the element formulas, float16/bfloat16 storage,
 * the gradient sums and the comparisons with their tolerances. Pure C: no
 * OpenCL call, nothing compiled for the device. */
#ifndef LEAKYCL_CHECK_ORACLE_H
#define LEAKYCL_CHECK_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "leakycl.h"

/* ---- bit patterns and storage types ---- */
uint32_t ck_bits(float v);
float ck_float(uint32_t bits);
/* v rounded to the storage type, to nearest even, as its bit pattern (a
 * float32's 32 bits, or a 16-bit pattern); NaN gives a quiet NaN. */
uint32_t ck_pattern(leakycl_dtype dtype, float v);
/* The exact value of a storage pattern. */
float ck_value(leakycl_dtype dtype, uint32_t pattern);
/* v rounded to the storage type and widened back (representable inputs). */
float ck_round_to(leakycl_dtype dtype, float v);
/* The pattern one step away (+1 or -1 on the pattern bits) from v's. */
float ck_step(leakycl_dtype dtype, float v, int step);
/* How many representable values apart two patterns are (units in the last
 * place; -0 and +0 are one place): 0 for two NaNs, and the whole line's
 * width (2^32 - 1, or 2^16 - 1 for 16-bit types) for a NaN and a number. */
uint64_t ck_ulp_distance(leakycl_dtype dtype, uint32_t a, uint32_t b);

/* ---- the semantics table, element by element ---- */
/* phased_relu's threshold exactly as the host computes it: -beta / alpha in
 * float32 arithmetic (one correctly rounded float division). */
float ck_threshold(float alpha, float beta);
/* y = f(x) and dx = f'(x) * dy in float32 under a conventions profile (the
 * README's tables): alpha products are the float32 product,
 * (float)((double)a * (double)x), which is exact rounding once; where
 * pytorch and jax add two gradients one of them is a zero (exact). */
float ck_forward(leakycl_conventions conv, leakycl_activation act, float x, float a, float t);
float ck_backward(leakycl_conventions conv, leakycl_activation act, float x, float dy, float a,
                  float t);
/* d y / d alpha * dy: the float32 product dy*x on the activation's band
 * (prelu: x <= 0, or x < 0 for jax; phased_relu: t <= x < 0), else 0 (or,
 * in pytorch and jax, 0 * x, which is NaN for an infinite x); NaN x gives
 * NaN. */
float ck_alpha_term(leakycl_conventions conv, leakycl_activation act, float x, float dy, float t);

/* One element to check: the inputs (already the exact values the device
 * reads), the activation's alpha and threshold for its channel. */
typedef struct ck_elem {
  leakycl_activation act;
  leakycl_dtype dtype;
  int backward; /* 0: y = f(x); 1: dx = f'(x) * dy (x is y for FROM_Y) */
  float x, dy, a, t;
  leakycl_conventions conv;
} ck_elem;

/* Whether `got` (a storage pattern) is the oracle's result: 1 bit-exact (NaN
 * equal to any NaN), 2 accepted as flushed, 0 wrong. Without denormals
 * (denormals == 0) a subnormal input may have been read as a zero of its
 * sign and a subnormal result may come out as a zero of its sign. *want gets
 * the oracle's pattern. */
int ck_check_elem(const ck_elem *e, uint32_t got, int denormals, uint32_t *want);

/* What the passing outputs measured: the largest dalpha error as a fraction
 * of sum|terms|, and the results accepted only as flushed subnormals. */
typedef struct ck_tally {
  double worst;
  size_t flushed;
} ck_tally;

/* ---- the gradient of one channel ---- */
/* Sums in float64 of float32 terms (the kernels multiply in float32): a
 * plain model and, for devices without denormals, one with subnormal inputs
 * and terms read as zeros. */
typedef struct ck_grad_sums {
  double sum, sum_abs;     /* dalpha: sum of the terms; sum of |finite terms| */
  double neg, neg_abs;     /* count(x < 0); sum over x < 0 of |dy*x| */
  double f_sum, f_sum_abs; /* the same with subnormals flushed */
  double f_neg, f_neg_abs;
  size_t n;
} ck_grad_sums;

void ck_grad_add(ck_grad_sums *g, leakycl_conventions conv, leakycl_activation act, float x,
                 float dy, float t);

/* What one gradient output was measured against. */
typedef struct ck_grad_result {
  const char *what; /* "dalpha", "neg_fraction" or "mean_abs_grad" */
  double want;      /* the float64 value */
  float got;
  double bound; /* the allowed |got - want| */
  double err;   /* |got - want| / sum|terms| for dalpha (0 when no terms) */
} ck_grad_result;

/* Checks one channel's outputs (neg and mag may be NULL): dalpha within
 * 1e-6 * sum|terms|, neg_fraction and mean_abs_grad within 1e-6 of their
 * value; NaN exactly where the float64 value is NaN; an empty channel gives
 * dalpha 0 and NaN diagnostics. Where the float32 sums may overflow
 * (sum|terms| beyond FLT_MAX) an infinity or NaN is also accepted. Returns 1
 * when all pass, 2 when they pass only with subnormals flushed; else 0 with
 * *bad describing the first that does not.
 * *dalpha_err (may be NULL) gets dalpha's error fraction either way. */
int ck_grad_check(const ck_grad_sums *g, int denormals, float dalpha, const float *neg,
                  const float *mag, ck_grad_result *bad, double *dalpha_err);

/* ---- whole outputs of one call ---- */
/* A call's inputs as the oracle reads them: the values of x (of y for
 * backward from y) and dy, alpha as in leakycl_params (count 0: the
 * activation's default; 1: shared; the view's channels: per channel). */
typedef struct ck_call {
  leakycl_activation act;
  leakycl_dtype dtype;
  int backward; /* the output is dx (else y) */
  leakycl_view view;
  size_t alpha_count;
  const float *alpha;
  float beta;
  size_t n;
  const float *x, *dy;
  leakycl_conventions conventions;
} ck_call;

/* alpha and threshold of channel c (0 when alpha is shared). */
float ck_call_alpha(const ck_call *c, size_t channel);
float ck_call_threshold(const ck_call *c, size_t channel);
/* The alpha channel of element i (0 when alpha is shared). */
size_t ck_call_channel(const ck_call *c, size_t i);
/* How many alpha channels (dalpha values) the call has: 1 when shared. */
size_t ck_call_channels(const ck_call *c);
/* Element i of the call as ck_check_elem reads it. */
ck_elem ck_call_elem(const ck_call *c, size_t i);
/* The storage pattern of element i of an output array of `dtype`. */
uint32_t ck_out_pattern(leakycl_dtype dtype, const void *out, size_t i);
/* Every channel's gradient sums (ck_call_channels entries, calloc'd: free
 * them), or NULL when out of memory. */
ck_grad_sums *ck_call_grad_sums(const ck_call *c);

/* The first element of y or dx (n storage patterns at out) that is not the
 * oracle's, as ck_check_elem decides. */
typedef struct ck_mismatch {
  size_t index, channel;
  float x, dy;
  uint32_t want, got; /* storage patterns */
} ck_mismatch;

/* 1 when every element matches, else 0 with *m set; *t (may be NULL)
 * counts the results accepted as flushed. */
int ck_check_output(const ck_call *c, const void *out, int denormals, ck_mismatch *m, ck_tally *t);
/* Every channel's dalpha and diagnostics (neg, mag may be NULL) with
 * ck_grad_check: 1 when all pass, else 0 with *bad and *channel set. *t (may
 * be NULL) keeps the largest finite dalpha error and counts flushed passes. */
int ck_check_grads(const ck_call *c, int denormals, const float *dalpha, const float *neg,
                   const float *mag, ck_grad_result *bad, size_t *channel, ck_tally *t);

/* ---- deterministic random inputs ---- */
typedef struct ck_rng {
  uint64_t s;
} ck_rng;
uint64_t ck_rng_next(ck_rng *r);
double ck_rng_uniform(ck_rng *r); /* [0, 1) */

/* How much of a tensor's data are edge values. */
typedef enum ck_profile {
  CK_PROFILE_FINITE = 0, /* +-0, subnormals, +-FLT_MIN, threshold neighbours; no NaN/Inf/huge */
  CK_PROFILE_EDGES = 1   /* also NaN, +-Inf, +-FLT_MAX, values whose products overflow */
} ck_profile;

/* One input value for element i, representable in `dtype`: random data
 * mixed with edge values (+-0, subnormals of the type, the threshold t and
 * its neighbours, and with CK_PROFILE_EDGES NaN, +-Inf, +-max). */
float ck_random_value(ck_rng *r, leakycl_dtype dtype, ck_profile profile, float t);

#endif
