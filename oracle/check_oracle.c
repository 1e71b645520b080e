/* check_oracle.c - the float64 reference of `leakycl check`: README's
 * semantics table element by element, float16/bfloat16 rounding written from
 * the formats' definitions, gradient sums and their tolerances. */
#include "check_oracle.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t ck_bits(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

float ck_float(uint32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* ---- 16-bit storage: significand bits and exponent bias of each type ---- */

typedef struct half_format {
  int mant_bits, bias;
} half_format;

static half_format format_of(leakycl_dtype dtype) {
  const half_format f16 = {10, 15}, bf16 = {7, 127};
  return dtype == LEAKYCL_FLOAT16 ? f16 : bf16;
}

static float widen16(leakycl_dtype dtype, uint16_t h) {
  const half_format f = format_of(dtype);
  const int exp_max = (1 << (15 - f.mant_bits)) - 1;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  const int e = (h >> f.mant_bits) & exp_max;
  const unsigned m = h & ((1u << f.mant_bits) - 1);
  if (e == exp_max)
    return m ? (float)(sign * NAN) : (float)(sign * INFINITY);
  if (e == 0) /* zero or subnormal: m units of 2^(1 - bias - mant_bits) */
    return (float)(sign * ldexp((double)m, 1 - f.bias - f.mant_bits));
  return (float)(sign * ldexp((double)((1u << f.mant_bits) + m), e - f.bias - f.mant_bits));
}

/* Round to nearest even by rint() of the value scaled to the last kept
 * significand bit; exact in double because a float has 24 bits. */
static uint16_t narrow16(leakycl_dtype dtype, float v) {
  const half_format f = format_of(dtype);
  const int exp_max = (1 << (15 - f.mant_bits)) - 1;
  const uint16_t sign = signbit(v) ? 0x8000 : 0;
  const uint16_t inf = (uint16_t)(exp_max << f.mant_bits);
  if (isnan(v))
    return (uint16_t)(sign | inf | (1u << (f.mant_bits - 1)));
  if (isinf(v))
    return sign | inf;
  const double a = fabs((double)v);
  if (a == 0)
    return sign;
  int k;
  frexp(a, &k); /* a = m * 2^k with m in [0.5, 1): exponent k - 1 */
  int e = k - 1;
  if (e < 1 - f.bias)
    e = 1 - f.bias; /* subnormal: units of the smallest exponent */
  const double sig = rint(ldexp(a, f.mant_bits - e));
  /* A carry out of the significand lands in the exponent by itself. */
  const long bits = ((long)(e + f.bias) << f.mant_bits) + (long)sig - (1L << f.mant_bits);
  return sign | (uint16_t)(bits >= inf ? inf : bits);
}

uint32_t ck_pattern(leakycl_dtype dtype, float v) {
  return dtype == LEAKYCL_FLOAT32 ? ck_bits(v) : narrow16(dtype, v);
}

float ck_value(leakycl_dtype dtype, uint32_t pattern) {
  return dtype == LEAKYCL_FLOAT32 ? ck_float(pattern) : widen16(dtype, (uint16_t)pattern);
}

float ck_round_to(leakycl_dtype dtype, float v) { return ck_value(dtype, ck_pattern(dtype, v)); }

/* The sign bit of a storage pattern. */
static uint32_t sign_bit_of(leakycl_dtype dtype) {
  return (uint32_t)1 << (dtype == LEAKYCL_FLOAT32 ? 31 : 15);
}

/* Sign-magnitude patterns mapped to an ordered integer line (-0 = +0). */
static int64_t ordinal(leakycl_dtype dtype, uint32_t p) {
  const uint32_t sign_bit = sign_bit_of(dtype);
  return (p & sign_bit) ? -(int64_t)(p & (sign_bit - 1)) : (int64_t)p;
}

float ck_step(leakycl_dtype dtype, float v, int step) {
  if (!isfinite(v))
    return v;
  const int64_t ord = ordinal(dtype, ck_pattern(dtype, v)) + step;
  const uint32_t q = ord < 0 ? sign_bit_of(dtype) | (uint32_t)(-ord) : (uint32_t)ord;
  return ck_value(dtype, q);
}

uint64_t ck_ulp_distance(leakycl_dtype dtype, uint32_t a, uint32_t b) {
  const int nan_a = isnan(ck_value(dtype, a)), nan_b = isnan(ck_value(dtype, b));
  if (nan_a || nan_b) /* NaN is no place on the line: equal to NaN, else the line's width */
    return nan_a && nan_b ? 0 : (uint64_t)2 * sign_bit_of(dtype) - 1;
  const int64_t d = ordinal(dtype, a) - ordinal(dtype, b);
  return (uint64_t)(d < 0 ? -d : d);
}

/* ---- semantics ---- */

float ck_threshold(float alpha, float beta) {
  /* Float operands, float result: one correctly rounded division, as
   * activation.c's phased_threshold. volatile keeps it a float division. */
  volatile float minus_beta = -beta;
  return minus_beta / alpha;
}

static float product(float a, float b) { return (float)((double)a * (double)b); }
/* where(c, v, 0): the +0 that torch's and jax's where() backward put in the
 * branch not taken. */
static float fill(int c, float v) { return c ? v : 0.0f; }
/* The sum of two gradients of which one is always a zero: exact. */
static float sum2(float a, float b) { return (float)((double)a + (double)b); }

float ck_forward(leakycl_conventions conv, leakycl_activation act, float x, float a, float t) {
  switch (act) {
  case LEAKYCL_RELU: /* torch's clamp_min(x, 0) lets -0 and NaN through */
    if (conv == LEAKYCL_CONVENTIONS_PYTORCH)
      return x < 0 ? 0.0f : x;
    return x > 0 || isnan(x) ? x : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU: /* a*NaN is NaN */
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return x >= 0 ? x : product(a, x);
    return x > 0 ? x : product(a, x);
  default:
    if (isnan(x) && conv == LEAKYCL_CONVENTIONS_IEEE)
      return x;
    if (x >= 0)
      return x;
    return x >= t ? product(a, x) : 0.0f; /* NaN: the zero branch */
  }
}

float ck_backward(leakycl_conventions conv, leakycl_activation act, float x, float dy, float a,
                  float t) {
  if (isnan(x) && conv == LEAKYCL_CONVENTIONS_IEEE)
    return x;
  switch (act) {
  case LEAKYCL_RELU: /* pytorch: threshold_backward on y, y <= 0 ? 0 : dy */
    if (conv == LEAKYCL_CONVENTIONS_PYTORCH)
      return x > 0 || isnan(x) ? dy : 0.0f;
    return x > 0 ? dy : 0.0f;
  case LEAKYCL_LEAKY_RELU:
  case LEAKYCL_PRELU:
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return sum2(fill(x >= 0, dy), product(a, fill(!(x >= 0), dy)));
    return x > 0 ? dy : product(a, dy);
  default:
    if (conv == LEAKYCL_CONVENTIONS_IEEE) {
      if (x >= 0)
        return dy;
      return x >= t ? product(a, dy) : 0.0f;
    }
    return sum2(fill(x >= 0, dy), product(fill(x < 0 && x >= t, dy), a));
  }
}

float ck_alpha_term(leakycl_conventions conv, leakycl_activation act, float x, float dy, float t) {
  if (act == LEAKYCL_PRELU) {
    if (conv == LEAKYCL_CONVENTIONS_JAX)
      return product(fill(!(x >= 0), dy), x);
    return x > 0 ? 0.0f : product(dy, x);
  }
  if (act != LEAKYCL_PHASED_RELU)
    return 0.0f;
  if (conv == LEAKYCL_CONVENTIONS_IEEE)
    return (x < 0 && x >= t) || isnan(x) ? product(dy, x) : 0.0f;
  return product(fill(x < 0 && x >= t, dy), x); /* 0 * Inf is NaN */
}

/* ---- element comparison ---- */

static int is_subnormal(float v) { return v != 0 && fabsf(v) < FLT_MIN; }
static float flushed(float v) { return is_subnormal(v) ? copysignf(0.0f, v) : v; }

static int same_pattern(leakycl_dtype dtype, uint32_t got, uint32_t want) {
  const float g = ck_value(dtype, got), w = ck_value(dtype, want);
  if (isnan(w) || isnan(g))
    return isnan(w) && isnan(g);
  return got == want;
}

int ck_check_elem(const ck_elem *e, uint32_t got, int denormals, uint32_t *want) {
  /* Inputs as read: as given, or (no denormals) a subnormal as its zero. */
  const float xs[2] = {e->x, flushed(e->x)}, dys[2] = {e->dy, flushed(e->dy)};
  const int nx = !denormals && is_subnormal(e->x) ? 2 : 1;
  const int ndy = !denormals && e->backward && is_subnormal(e->dy) ? 2 : 1;
  int ok = 0;
  for (int i = 0; i < nx && ok != 1; i++) {
    for (int j = 0; j < ndy && ok != 1; j++) {
      const float r = e->backward ? ck_backward(e->conv, e->act, xs[i], dys[j], e->a, e->t)
                                  : ck_forward(e->conv, e->act, xs[i], e->a, e->t);
      const uint32_t w = ck_pattern(e->dtype, r);
      if (i == 0 && j == 0)
        *want = w;
      if (same_pattern(e->dtype, got, w))
        ok = i == 0 && j == 0 ? 1 : 2;
      else if (!denormals && is_subnormal(r) &&
               same_pattern(e->dtype, got, ck_pattern(e->dtype, flushed(r))))
        ok = 2;
    }
  }
  return ok;
}

/* ---- gradients ---- */

void ck_grad_add(ck_grad_sums *g, leakycl_conventions conv, leakycl_activation act, float x,
                 float dy, float t) {
  const float term = ck_alpha_term(conv, act, x, dy, t);
  g->sum += term;
  g->sum_abs += isfinite(term) ? fabs((double)term) : 0.0;
  if (x < 0) {
    g->neg += 1;
    g->neg_abs += fabsf(product(dy, x));
  }
  /* No denormals: subnormal inputs read as zeros, subnormal products as 0. */
  const float fx = flushed(x), fdy = flushed(dy);
  const float fterm = flushed(ck_alpha_term(conv, act, fx, fdy, t));
  g->f_sum += fterm;
  g->f_sum_abs += isfinite(fterm) ? fabs((double)fterm) : 0.0;
  if (fx < 0) {
    g->f_neg += 1;
    g->f_neg_abs += flushed(fabsf(product(fdy, fx)));
  }
  g->n++;
}

/* The result is a float32: rounding it costs half an ulp, relative (2^-24,
 * inside 1e-6) for normal values but 2^-150 absolute in the subnormal range,
 * which 1e-6 * sum|terms| does not cover when every term is tiny. */
#define CK_HALF_SUBNORMAL 0x1p-150

/* Whether got is within bound of want; where the float32 sums may overflow
 * (finite part of sum|terms| reaching FLT_MAX) any infinity or NaN too. */
static int sum_ok(double want, double finite_abs, double slack, float got, double *bound) {
  const int may_overflow = finite_abs >= (double)FLT_MAX * (1 - 1e-6);
  *bound = 1e-6 * finite_abs + slack + CK_HALF_SUBNORMAL;
  if (may_overflow && !isfinite(got))
    return 1;
  if (isnan(want))
    return isnan(got);
  if (isinf(want))
    return got == want;
  return isfinite(got) && fabs((double)got - want) <= *bound;
}

/* The same for a mean sum/N of terms >= 0 (the sum's finite part is the
 * sum itself). */
static int mean_ok(double sum, double slack, double n, float got, double *bound) {
  *bound = (1e-6 * (isfinite(sum) ? sum : 0.0) + slack) / n + CK_HALF_SUBNORMAL;
  if (isfinite(sum) && sum >= (double)FLT_MAX * (1 - 1e-6) && !isfinite(got))
    return 1;
  const double want = sum / n;
  if (isnan(want))
    return isnan(got);
  if (isinf(want))
    return got == want;
  return isfinite(got) && fabs((double)got - want) <= *bound;
}

int ck_grad_check(const ck_grad_sums *g, int denormals, float dalpha, const float *neg,
                  const float *mag, ck_grad_result *bad, double *dalpha_err) {
  if (dalpha_err)
    *dalpha_err = 0;
  ck_grad_result r = {"dalpha", 0, dalpha, 0, 0};
  if (g->n == 0) { /* empty channel: dalpha 0, diagnostics NaN */
    if (dalpha != 0) {
      *bad = r;
      return 0;
    }
    if (neg && !isnan(*neg)) {
      *bad = (ck_grad_result){"neg_fraction", NAN, *neg, 0, 0};
      return 0;
    }
    if (mag && !isnan(*mag)) {
      *bad = (ck_grad_result){"mean_abs_grad", NAN, *mag, 0, 0};
      return 0;
    }
    return 1;
  }
  const double n = (double)g->n;
  /* Without denormals every partial sum may lose up to FLT_MIN. */
  const double slack = denormals ? 0.0 : n * FLT_MIN;
  double bound_f = 0;
  r.want = g->sum;
  r.err = g->sum_abs > 0             ? fabs((double)dalpha - g->sum) / g->sum_abs
          : (double)dalpha == g->sum ? 0.0
                                     : INFINITY;
  if (dalpha_err && isfinite(g->sum))
    *dalpha_err = isfinite(dalpha) ? r.err : INFINITY;
  int ok = sum_ok(g->sum, g->sum_abs, slack, dalpha, &r.bound), flushed_only = 0;
  if (!ok && !denormals)
    ok = flushed_only = sum_ok(g->f_sum, g->f_sum_abs, slack, dalpha, &bound_f);
  if (!ok) {
    *bad = r;
    return 0;
  }
  if (neg) {
    ck_grad_result q = {"neg_fraction", g->neg / n, *neg, 1e-6 * g->neg / n, 0};
    int nok = fabs((double)*neg - q.want) <= q.bound;
    if (!nok && !denormals)
      nok = flushed_only = fabs((double)*neg - g->f_neg / n) <= 1e-6 * g->f_neg / n;
    if (!nok) {
      *bad = q;
      return 0;
    }
  }
  if (mag) {
    ck_grad_result q = {"mean_abs_grad", g->neg_abs / n, *mag, 0, 0};
    int mok = mean_ok(g->neg_abs, slack, n, *mag, &q.bound);
    if (!mok && !denormals)
      mok = flushed_only = mean_ok(g->f_neg_abs, slack, n, *mag, &bound_f);
    if (!mok) {
      *bad = q;
      return 0;
    }
  }
  return flushed_only ? 2 : 1;
}

/* ---- whole outputs ---- */

float ck_call_alpha(const ck_call *c, size_t channel) {
  if (c->alpha_count == 0)
    return leakycl_default_alpha(c->act);
  return c->alpha[c->alpha_count == 1 ? 0 : channel];
}

float ck_call_threshold(const ck_call *c, size_t channel) {
  return c->act == LEAKYCL_PHASED_RELU ? ck_threshold(ck_call_alpha(c, channel), c->beta) : 0.0f;
}

size_t ck_call_channel(const ck_call *c, size_t i) {
  return c->alpha_count > 1 ? (i / c->view.inner) % c->view.channels : 0;
}

ck_elem ck_call_elem(const ck_call *c, size_t i) {
  const size_t ch = ck_call_channel(c, i);
  const ck_elem e = {c->act,
                     c->dtype,
                     c->backward,
                     c->x[i],
                     c->backward ? c->dy[i] : 0.0f,
                     ck_call_alpha(c, ch),
                     ck_call_threshold(c, ch),
                     c->conventions};
  return e;
}

uint32_t ck_out_pattern(leakycl_dtype dtype, const void *out, size_t i) {
  const unsigned char *p = out;
  if (dtype == LEAKYCL_FLOAT32) {
    uint32_t u;
    memcpy(&u, p + 4 * i, 4);
    return u;
  }
  uint16_t h;
  memcpy(&h, p + 2 * i, 2);
  return h;
}

int ck_check_output(const ck_call *c, const void *out, int denormals, ck_mismatch *m, ck_tally *t) {
  for (size_t i = 0; i < c->n; i++) {
    const ck_elem e = ck_call_elem(c, i);
    const uint32_t got = ck_out_pattern(c->dtype, out, i);
    uint32_t want;
    const int ok = ck_check_elem(&e, got, denormals, &want);
    if (!ok) {
      *m = (ck_mismatch){i, ck_call_channel(c, i), e.x, e.dy, want, got};
      return 0;
    }
    if (ok == 2 && t)
      t->flushed++;
  }
  return 1;
}

size_t ck_call_channels(const ck_call *c) { return c->alpha_count > 1 ? c->alpha_count : 1; }

ck_grad_sums *ck_call_grad_sums(const ck_call *c) {
  ck_grad_sums *sums = calloc(ck_call_channels(c), sizeof *sums);
  for (size_t i = 0; sums && i < c->n; i++) {
    const size_t ch = ck_call_channel(c, i);
    ck_grad_add(&sums[ch], c->conventions, c->act, c->x[i], c->dy[i], ck_call_threshold(c, ch));
  }
  return sums;
}

int ck_check_grads(const ck_call *c, int denormals, const float *dalpha, const float *neg,
                   const float *mag, ck_grad_result *bad, size_t *channel, ck_tally *t) {
  const size_t nc = ck_call_channels(c);
  ck_grad_sums *sums = ck_call_grad_sums(c);
  if (!sums) { /* an answer that cannot be checked is not a pass */
    *bad = (ck_grad_result){"dalpha (no memory to check)", NAN, dalpha[0], 0, 0};
    *channel = 0;
    return 0;
  }
  int ok = 1;
  for (size_t ch = 0; ok && ch < nc; ch++) {
    double err = 0;
    ok = ck_grad_check(&sums[ch], denormals, dalpha[ch], neg ? &neg[ch] : NULL,
                       mag ? &mag[ch] : NULL, bad, &err);
    if (t && isfinite(err) && err > t->worst)
      t->worst = err;
    if (t && ok == 2)
      t->flushed++;
    *channel = ch;
  }
  free(sums);
  return ok;
}

/* ---- random inputs ---- */

uint64_t ck_rng_next(ck_rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

double ck_rng_uniform(ck_rng *r) { return (double)(ck_rng_next(r) >> 11) * 0x1.0p-53; }

/* The storage type's largest finite value, smallest normal and subnormal
 * unit (bfloat16 shares float32's exponent range). */
static void type_range(leakycl_dtype dtype, float *max, float *min_normal, float *sub_unit,
                       int *max_exp) {
  if (dtype == LEAKYCL_FLOAT16) {
    *max = 65504.0f, *min_normal = 0x1p-14f, *sub_unit = 0x1p-24f, *max_exp = 7;
  } else if (dtype == LEAKYCL_BFLOAT16) {
    *max = 0x1.fep127f, *min_normal = FLT_MIN, *sub_unit = 0x1p-133f, *max_exp = 30;
  } else {
    *max = FLT_MAX, *min_normal = FLT_MIN, *sub_unit = FLT_TRUE_MIN, *max_exp = 30;
  }
}

float ck_random_value(ck_rng *r, leakycl_dtype dtype, ck_profile profile, float t) {
  float max, min_normal, sub_unit;
  int max_exp;
  type_range(dtype, &max, &min_normal, &sub_unit, &max_exp);
  const float sign = (ck_rng_next(r) & 1) ? -1.0f : 1.0f;
  const unsigned kind = (unsigned)(ck_rng_next(r) % 32);
  float v;
  switch (kind) {
  case 0:
    v = 0.0f;
    break;
  case 1:
    v = -0.0f;
    break;
  case 2: /* a subnormal of the type: 1 .. 1000 units */
    v = sign * sub_unit * (float)(1 + ck_rng_next(r) % 1000);
    break;
  case 3:
    v = sign * min_normal;
    break;
  case 4: /* phased_relu's threshold and its neighbours in the type */
  case 5:
    v = isfinite(t) ? ck_step(dtype, t, (int)(ck_rng_next(r) % 3) - 1) : -1.0f;
    break;
  case 6:
    v = sign;
    break;
  case 7: /* tiny normals: products with them underflow to subnormals */
    v = sign * ldexpf(1.0f + (float)ck_rng_uniform(r), -100 - (int)(ck_rng_next(r) % 26));
    break;
  default:
    if (profile == CK_PROFILE_EDGES && kind <= 11) {
      const float edges[4] = {NAN, INFINITY, max, ldexpf(1.5f, 100 + (int)(ck_rng_next(r) % 27))};
      v = sign * edges[kind - 8];
    } else if (kind % 4 == 0) { /* a wide spread of exponents */
      v = sign * ldexpf(1.0f + (float)ck_rng_uniform(r),
                        (int)(ck_rng_next(r) % (2 * (unsigned)max_exp + 1)) - max_exp);
    } else {
      v = (float)(ck_rng_uniform(r) * 16.0 - 8.0);
    }
  }
  return ck_round_to(dtype, v);
}
