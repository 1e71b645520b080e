/* test_half.c - float16 and bfloat16 storage (leakycl_*_typed) on PoCL
 * against the tests' own conversions (half_oracle.h, checked here against
 * known bit patterns) and the float64 oracle of oracle.h: every activation x
 * op x shape (per-channel, odd sizes, n = 0 and 1) x alpha mode, on CPU and
 * GPU variants, zero-copy and copy paths, device buffers, and the errors.
 * y and dx must be the oracle's float32 result rounded to nearest even, and
 * the float32 call's on the widened values bit for bit; dalpha and the
 * diagnostics must equal the float32 call's and keep the 1e-6 bound. Packed
 * jobs (leakycl_run_jobs) of all three dtypes, mixed in one batch, must give
 * the typed single calls' bits, and dalpha within the bound, bit-identical
 * on repeat. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/core.h"
#include "device/device.h"
#include "float_bits.h"
#include "half_oracle.h"
#include "op_cases.h"
#include "oracle.h"
#include "test.h"

static leakycl_context *ctx;

static const leakycl_dtype half_types[2] = {LEAKYCL_FLOAT16, LEAKYCL_BFLOAT16};

/* ---- the oracle itself, against patterns known from the formats ---- */

static void check_widen(leakycl_dtype d, uint16_t h, float want) {
  const float got = ref_widen(d, h);
  if (!same_float(got, want)) {
    fprintf(stderr, "  widen %s 0x%04x: got %a, want %a\n", leakycl_dtype_name(d), h, (double)got,
            (double)want);
    test_case_failed_ = 1;
  }
}

static void check_narrow(leakycl_dtype d, float v, uint16_t want) {
  const uint16_t got = ref_narrow(d, v);
  if (!same_half(d, got, want)) {
    fprintf(stderr, "  narrow %s %a: got 0x%04x, want 0x%04x\n", leakycl_dtype_name(d), (double)v,
            got, want);
    test_case_failed_ = 1;
  }
}

static void test_oracle_float16_patterns(void) {
  const leakycl_dtype d = LEAKYCL_FLOAT16;
  check_widen(d, 0x3C00, 1.0f);
  check_widen(d, 0x7BFF, 65504.0f);
  check_widen(d, 0x0001, 0x1p-24f); /* the smallest subnormal */
  check_widen(d, 0x03FF, 1023 * 0x1p-24f);
  check_widen(d, 0x0400, 0x1p-14f); /* the smallest normal */
  check_widen(d, 0xC000, -2.0f);
  check_widen(d, 0x8000, -0.0f);
  check_widen(d, 0x7C00, INFINITY);
  check_widen(d, 0xFC00, -INFINITY);
  CHECK(isnan(ref_widen(d, 0x7E00)) && isnan(ref_widen(d, 0x7C01)));
  check_narrow(d, 1.0f, 0x3C00);
  check_narrow(d, 65504.0f, 0x7BFF);
  check_narrow(d, 65519.0f, 0x7BFF);                   /* below the midpoint to 2^16 */
  check_narrow(d, 65520.0f, 0x7C00);                   /* the midpoint: ties to even is Inf */
  check_narrow(d, -1e6f, 0xFC00);                      /* overflow */
  check_narrow(d, 0x1p-24f, 0x0001);                   /* the smallest subnormal */
  check_narrow(d, 0x1p-25f, 0x0000);                   /* half of it: tie to even 0 */
  check_narrow(d, 0x1.8p-24f, 0x0002);                 /* 1.5 units: tie to even 2 */
  check_narrow(d, 0x1.8p-25f, 0x0001);                 /* 0.75 units: up */
  check_narrow(d, -0x1p-26f, 0x8000);                  /* underflow keeps the sign */
  check_narrow(d, 1.0f + 0x1p-11f, 0x3C00);            /* tie: even stays */
  check_narrow(d, 1.0f + 0x1.8p-10f, 0x3C02);          /* 1.5 ulp: tie to even up */
  check_narrow(d, 1.0f + 0x1p-10f + 0x1p-11f, 0x3C02); /* odd + tie: up */
  check_narrow(d, 0x1.ffcp-15f, 0x0400);               /* carry out of the subnormals */
  check_narrow(d, -0.0f, 0x8000);
  check_narrow(d, INFINITY, 0x7C00);
  check_narrow(d, NAN, 0x7E00);
}

static void test_oracle_bfloat16_patterns(void) {
  const leakycl_dtype d = LEAKYCL_BFLOAT16;
  check_widen(d, 0x3F80, 1.0f);
  check_widen(d, 0x7F7F, float_of(0x7F7F0000));
  check_widen(d, 0x0001, float_of(0x00010000)); /* a subnormal */
  check_widen(d, 0x8000, -0.0f);
  check_widen(d, 0xFF80, -INFINITY);
  CHECK(isnan(ref_widen(d, 0x7FC0)) && isnan(ref_widen(d, 0x7F81)));
  check_narrow(d, 1.0f, 0x3F80);
  check_narrow(d, float_of(0x3F808000), 0x3F80); /* tie, even stays */
  check_narrow(d, float_of(0x3F818000), 0x3F82); /* tie, odd goes up */
  check_narrow(d, float_of(0x3F808001), 0x3F81); /* above the tie */
  check_narrow(d, float_of(0x3F807FFF), 0x3F80); /* below the tie */
  check_narrow(d, FLT_MAX, 0x7F80);              /* rounds up to Inf */
  check_narrow(d, -FLT_MAX, 0xFF80);
  check_narrow(d, float_of(0x7F7F7FFF), 0x7F7F); /* just below: stays */
  check_narrow(d, float_of(0x00008000), 0x0000); /* subnormal tie to even 0 */
  check_narrow(d, float_of(0x00018000), 0x0002); /* subnormal tie to even 2 */
  check_narrow(d, float_of(0x007FFFFF), 0x0080); /* carry into the normals */
  check_narrow(d, -0.0f, 0x8000);
  check_narrow(d, NAN, 0x7FC0);
  CHECK(same_half(d, 0x7FC1, 0x7FC0));  /* any quiet NaN is a NaN */
  CHECK(!same_half(d, 0x7F81, 0x7FC0)); /* a signalling one is not */
}

static void test_dtype_names_and_sizes(void) {
  CHECK_STR_EQ(leakycl_dtype_name(LEAKYCL_FLOAT32), "float32");
  CHECK_STR_EQ(leakycl_dtype_name(LEAKYCL_FLOAT16), "float16");
  CHECK_STR_EQ(leakycl_dtype_name(LEAKYCL_BFLOAT16), "bfloat16");
  CHECK(leakycl_dtype_name((leakycl_dtype)3) == NULL);
  CHECK_INT_EQ(leakycl_dtype_size(LEAKYCL_FLOAT32), 4);
  CHECK_INT_EQ(leakycl_dtype_size(LEAKYCL_FLOAT16), 2);
  CHECK_INT_EQ(leakycl_dtype_size(LEAKYCL_BFLOAT16), 2);
  CHECK_INT_EQ(leakycl_dtype_size((leakycl_dtype)-1), 0);
}

/* ---- data ---- */

static float rng_normal(void) {
  double u = rng_uniform() + 1e-300, v = rng_uniform();
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* A pattern: mostly rounded normal values and the edge cases (zeros,
 * subnormals, the threshold's neighbours), an eighth raw bits (huge,
 * tiny, every exponent), finite unless `specials`. */
static uint16_t draw_half(leakycl_dtype d, float t, bool specials) {
  float v;
  if (rng_next() % 8 == 0) {
    for (;;) {
      const uint16_t h = (uint16_t)rng_next();
      if (specials || isfinite(ref_widen(d, h)))
        return h;
    }
  }
  if (!rng_edge_value(t, &v))
    v = 4.0f * rng_normal();
  return ref_narrow(d, v);
}

static void fill_half(leakycl_dtype d, uint16_t *h, size_t n, float t, bool specials) {
  for (size_t i = 0; i < n; i++)
    h[i] = draw_half(d, t, specials);
  if (specials) {
    const float kinds[3] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i += 7)
      h[i] = ref_narrow(d, kinds[rng_next() % 3]);
  }
}

static void widen_all(leakycl_dtype d, const uint16_t *h, float *f, size_t n) {
  for (size_t i = 0; i < n; i++)
    f[i] = ref_widen(d, h[i]);
}

/* ---- one call's setup ---- */

static const shape_case shapes[] = {
    {1, {0}, 0},          {1, {1}, 0},        {1, {17}, 0},
    {3, {2, 3, 5}, 1},    {3, {3, 4, 5}, -1}, {3, {2, 33, 131}, 1},
    {4, {2, 3, 4, 8}, 1}, {2, {3, 0}, 1},     {1, {70001}, 0},
};

static size_t mismatches;

static void report_half(const char *what, leakycl_dtype d, size_t i, uint16_t got, uint16_t want) {
  if (mismatches++ < 5)
    fprintf(stderr, "  %s %s[%zu]: got 0x%04x (%.9g), want 0x%04x (%.9g)\n", leakycl_dtype_name(d),
            what, i, got, (double)ref_widen(d, got), want, (double)ref_widen(d, want));
}

/* y (or dx) against the float64 oracle rounded to the type, and against
 * the float32 call's result on the widened values rounded the same way. */
static void check_output(const char *what, leakycl_dtype d, const call_setup *cs, const float *xf,
                         const float *dyf, const float *float32_out, const uint16_t *got) {
  for (size_t i = 0; i < cs->n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    const float ref =
        dyf ? ref_backward(cs->params.conventions, cs->params.activation, xf[i], dyf[i], a, t)
            : ref_forward(cs->params.conventions, cs->params.activation, xf[i], a, t);
    const uint16_t want = ref_narrow(d, ref);
    if (!same_half(d, got[i], want))
      report_half(what, d, i, got[i], want);
    else if (float32_out && !same_half(d, got[i], ref_narrow(d, float32_out[i])))
      report_half("(vs the float32 call)", d, i, got[i], ref_narrow(d, float32_out[i]));
  }
}

/* dalpha within 1e-6 * sum|terms| of the float64 sum. */
static void check_grads_bound(const call_setup *cs, const float *xf, const float *dyf,
                              const float *got, size_t nalpha) {
  double *sum = calloc(nalpha, sizeof *sum), *sum_abs = calloc(nalpha, sizeof *sum_abs);
  bool *poisoned = calloc(nalpha, sizeof *poisoned);
  for (size_t i = 0; i < cs->n; i++) {
    const size_t c = nalpha > 1 ? (i / cs->view.inner) % cs->view.channels : 0;
    float a, t;
    params_at(cs, i, &a, &t);
    const double term =
        ref_alpha_term(cs->params.conventions, cs->params.activation, xf[i], dyf[i], t);
    /* NaN or Inf terms, or a float32 product beyond FLT_MAX (raw bfloat16
     * patterns reach 2^127): float32 arithmetic then gives Inf or NaN by
     * design, and only the bit-for-bit check above applies. */
    poisoned[c] |= !isfinite(term) || fabs(term) > FLT_MAX;
    sum[c] += term;
    sum_abs[c] += fabs(term);
  }
  for (size_t c = 0; c < nalpha; c++) {
    if (!poisoned[c] && sum_abs[c] <= FLT_MAX &&
        !(fabs((double)got[c] - sum[c]) <= 1e-6 * sum_abs[c] + 1e-30) && mismatches++ < 5)
      fprintf(stderr, "  dalpha[%zu]: got %.9g, float64 %.17g\n", c, (double)got[c], sum[c]);
  }
  free(sum), free(sum_abs), free(poisoned);
}

/* dalpha and the diagnostics: bit for bit the float32 call's (same kernel
 * text, same order, the same widened values), and within the bound. */
static void check_grads(const call_setup *cs, const float *xf, const float *dyf, const float *got,
                        const float *want32, size_t nalpha) {
  for (size_t c = 0; c < 3 * nalpha; c++) {
    if (!same_float(got[c], want32[c]) && mismatches++ < 5)
      fprintf(stderr, "  grads[%zu]: got %a, the float32 call %a\n", c, (double)got[c],
              (double)want32[c]);
  }
  check_grads_bound(cs, xf, dyf, got, nalpha);
}

/* Every op of one dtype, activation, shape and alpha mode on the context's
 * current variant and path. */
static void run_case(leakycl_dtype d, leakycl_activation act, const shape_case *sc, int alpha_mode,
                     bool specials) {
  call_setup cs;
  setup_call(&cs, act, sc, alpha_mode);
  const size_t n = cs.n, m = n ? n : 1;
  uint16_t *x = malloc(m * 2), *dy = malloc(m * 2), *y = malloc(m * 2), *dx = malloc(m * 2);
  uint16_t *inplace = malloc(m * 2);
  float *xf = malloc(m * 4), *dyf = malloc(m * 4), *out32 = malloc(m * 4), *yf = malloc(m * 4);
  const float t0 =
      threshold(cs.params.alpha_count ? cs.alpha[0] : leakycl_default_alpha(act), cs.params.beta);
  fill_half(d, x, n, t0, specials);
  fill_half(d, dy, n, t0, false);
  widen_all(d, x, xf, n);
  widen_all(d, dy, dyf, n);
  mismatches = 0;

  /* forward, then in place */
  leakycl_status st = leakycl_forward_typed(ctx, &cs.params, cs.view, d, x, y);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_forward(ctx, &cs.params, cs.view, xf, out32), LEAKYCL_OK);
  if (st == LEAKYCL_OK)
    check_output("y", d, &cs, xf, NULL, out32, y);
  memcpy(inplace, x, m * 2);
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &cs.params, cs.view, d, inplace, inplace), LEAKYCL_OK);
  check_output("y (in place)", d, &cs, xf, NULL, NULL, inplace);

  /* backward from x */
  CHECK_INT_EQ(leakycl_backward_typed(ctx, &cs.params, cs.view, d, LEAKYCL_FROM_X, x, dy, dx, NULL),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, xf, dyf, out32, NULL),
               LEAKYCL_OK);
  check_output("dx", d, &cs, xf, dyf, out32, dx);

  /* backward from y (the stored half y), where the activation allows it */
  bool from_y_ok = act == LEAKYCL_RELU;
  if (act == LEAKYCL_LEAKY_RELU || act == LEAKYCL_PRELU) {
    from_y_ok = true;
    for (size_t c = 0; c < cs.params.alpha_count; c++)
      from_y_ok &= cs.alpha[c] > 0;
  }
  st = leakycl_backward_typed(ctx, &cs.params, cs.view, d, LEAKYCL_FROM_Y, y, dy, inplace, NULL);
  if (n > 0 || !from_y_ok)
    CHECK_INT_EQ(st, from_y_ok ? LEAKYCL_OK : LEAKYCL_INVALID_ARGUMENT);
  if (from_y_ok && st == LEAKYCL_OK) {
    widen_all(d, y, yf, n);
    check_output("dx (from y)", d, &cs, yf, dyf, NULL, inplace);
  }

  /* the parameter gradient in the same pass, dx in place over dy */
  if (leakycl_activation_has_gradient(act)) {
    const size_t C = cs.params.alpha_count > 1 ? cs.params.alpha_count : 1;
    float *g = malloc(3 * C * 4), *g32 = malloc(3 * C * 4);
    const leakycl_grads grads = {g, g + C, g + 2 * C, NULL, 0},
                        grads32 = {g32, g32 + C, g32 + 2 * C, NULL, 0};
    memcpy(inplace, dy, m * 2);
    CHECK_INT_EQ(leakycl_backward_typed(ctx, &cs.params, cs.view, d, LEAKYCL_FROM_X, x, inplace,
                                        inplace, &grads),
                 LEAKYCL_OK);
    CHECK_INT_EQ(
        leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, xf, dyf, out32, &grads32),
        LEAKYCL_OK);
    check_output("dx (with grads)", d, &cs, xf, dyf, out32, inplace);
    check_grads(&cs, xf, dyf, g, g32, C);
    free(g), free(g32);
  }
  if (mismatches) {
    char desc[128];
    leakycl_variant_describe(&ctx->variant, desc, sizeof desc);
    fprintf(stderr,
            "  ^ %zu mismatches: %s %s, rank %zu axis %ld n %zu, alpha mode %d, specials %d, "
            "variant %s, zero-copy %d\n",
            mismatches, leakycl_dtype_name(d), leakycl_activation_name(act), sc->rank, sc->axis, n,
            alpha_mode, specials, desc, ctx->zero_copy);
    test_case_failed_ = 1;
  }
  free(x), free(dy), free(y), free(dx), free(inplace);
  free(xf), free(dyf), free(out32), free(yf), free(cs.alpha);
}

static void run_matrix(void) {
  for (int k = 0; k < 2; k++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int mode = 0; mode < ALPHA_MODES; mode++) {
          if (act == LEAKYCL_RELU && mode != ALPHA_DEFAULT)
            continue;
          run_case(half_types[k], (leakycl_activation)act, &shapes[s], mode, false);
          run_case(half_types[k], (leakycl_activation)act, &shapes[s], mode, true);
        }
      }
    }
  }
}

/* ---- packed jobs: every dtype in one leakycl_run_jobs batch ---- */

/* One job of the packed batch and what its single typed call gave. */
typedef struct packed_job {
  leakycl_dtype d;
  leakycl_op op;
  bool want_grads;
  call_setup cs;
  size_t es, nalpha;
  void *x, *dy, *out, *single; /* n elements of d each */
  float *xf, *dyf;             /* the inputs widened */
  float *g, *g_single, *g_first;
  leakycl_grads grads;
} packed_job;

/* The matrix's shapes (so the programs exist already) and one of exactly
 * LEAKYCL_PACKED_JOB_MAX_ELEMENTS: the largest job packed; 70001 runs alone. */
static const shape_case packed_shapes[] = {
    {1, {0}, 0},        {1, {1}, 0},          {1, {17}, 0},         {3, {2, 3, 5}, 1},
    {3, {3, 4, 5}, -1}, {3, {2, 33, 131}, 1}, {4, {2, 3, 4, 8}, 1}, {2, {3, 0}, 1},
    {1, {70001}, 0},    {1, {65536}, 0},
};
#define NPACKED_SHAPES (sizeof packed_shapes / sizeof packed_shapes[0])

/* n values of dtype d into v (float32 ones from bfloat16 patterns, so that
 * they carry the same edge cases), widened into f. */
static void fill_typed(leakycl_dtype d, void *v, float *f, size_t n, float t, bool specials) {
  const leakycl_dtype pattern = d == LEAKYCL_FLOAT32 ? LEAKYCL_BFLOAT16 : d;
  uint16_t *h = malloc((n ? n : 1) * sizeof *h);
  fill_half(pattern, h, n, t, specials);
  widen_all(pattern, h, f, n);
  memcpy(v, d == LEAKYCL_FLOAT32 ? (void *)f : (void *)h, n * leakycl_dtype_size(d));
  free(h);
}

static void packed_setup(packed_job *p, leakycl_dtype d, leakycl_activation act, leakycl_op op,
                         bool want_grads, const shape_case *sc, int mode) {
  memset(p, 0, sizeof *p);
  p->d = d;
  p->op = op;
  p->want_grads = want_grads;
  setup_call(&p->cs, act, sc, mode);
  const size_t n = p->cs.n, m = n ? n : 1;
  p->es = leakycl_dtype_size(d);
  p->nalpha = p->cs.params.alpha_count > 1 ? p->cs.params.alpha_count : 1;
  p->x = malloc(m * p->es), p->dy = malloc(m * p->es);
  p->out = malloc(m * p->es), p->single = malloc(m * p->es);
  p->xf = malloc(m * sizeof(float)), p->dyf = malloc(m * sizeof(float));
  const float t0 = threshold(p->cs.params.alpha_count ? p->cs.alpha[0] : leakycl_default_alpha(act),
                             p->cs.params.beta);
  fill_typed(d, p->x, p->xf, n, t0, rng_next() % 2 == 0);
  fill_typed(d, p->dy, p->dyf, n, t0, false);
  p->g = malloc(3 * p->nalpha * sizeof(float));
  p->g_single = malloc(3 * p->nalpha * sizeof(float));
  p->g_first = malloc(3 * p->nalpha * sizeof(float));
  p->grads = (leakycl_grads){p->g, p->g + p->nalpha, p->g + 2 * p->nalpha, NULL, 0};
  /* The single typed call's answer. */
  const leakycl_grads gs = {p->g_single, p->g_single + p->nalpha, p->g_single + 2 * p->nalpha, NULL,
                            0};
  const leakycl_status st =
      op == LEAKYCL_OP_FORWARD
          ? leakycl_forward_typed(ctx, &p->cs.params, p->cs.view, d, p->x, p->single)
          : leakycl_backward_typed(ctx, &p->cs.params, p->cs.view, d, LEAKYCL_FROM_X, p->x, p->dy,
                                   p->single, want_grads ? &gs : NULL);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  single call: %s\n", leakycl_last_error(ctx));
  CHECK_INT_EQ(st, LEAKYCL_OK);
}

static void packed_free(packed_job *p) {
  free(p->x), free(p->dy), free(p->out), free(p->single), free(p->xf), free(p->dyf);
  free(p->g), free(p->g_single), free(p->g_first), free(p->cs.alpha);
}

static leakycl_job packed_entry(packed_job *p) {
  leakycl_job e;
  memset(&e, 0, sizeof e);
  e.op = p->op;
  e.params = p->cs.params;
  e.view = p->cs.view;
  e.dtype = p->d;
  e.x = p->x;
  e.dy = p->op == LEAKYCL_OP_BACKWARD ? p->dy : NULL;
  e.out = p->out;
  e.grads = p->want_grads ? &p->grads : NULL;
  e.status = (leakycl_status)-1; /* the call must set it */
  return e;
}

/* The bits of one element of es bytes. */
static unsigned long long element_bits(const unsigned char *v, size_t es) {
  if (es == 2) {
    uint16_t h;
    memcpy(&h, v, 2);
    return h;
  }
  uint32_t f;
  memcpy(&f, v, 4);
  return f;
}

/* The packed job's output bit for bit the single call's (and, for the half
 * types, the oracle's); dalpha within the bound; on the repeat run, every
 * gradient bit-identical to the first run's. */
static void packed_check(packed_job *p, const leakycl_job *e, bool repeat) {
  if (e->status != LEAKYCL_OK) {
    fprintf(stderr, "  packed %s job failed: %s\n", leakycl_dtype_name(p->d), e->error);
    mismatches++;
    return;
  }
  const size_t n = p->cs.n;
  const unsigned char *got = p->out, *want = p->single;
  for (size_t i = 0; i < n; i++) {
    if (memcmp(got + i * p->es, want + i * p->es, p->es) != 0) {
      if (mismatches++ < 5)
        fprintf(stderr,
                "  packed %s %s %s n %zu: element %zu is 0x%0*llx, the single call's 0x%0*llx\n",
                leakycl_dtype_name(p->d), leakycl_activation_name(p->cs.params.activation),
                p->op == LEAKYCL_OP_FORWARD ? "forward" : "backward", n, i, (int)(2 * p->es),
                element_bits(got + i * p->es, p->es), (int)(2 * p->es),
                element_bits(want + i * p->es, p->es));
      break;
    }
  }
  if (p->d != LEAKYCL_FLOAT32)
    check_output(p->op == LEAKYCL_OP_FORWARD ? "packed y" : "packed dx", p->d, &p->cs, p->xf,
                 p->op == LEAKYCL_OP_FORWARD ? NULL : p->dyf, NULL, p->out);
  if (!p->want_grads)
    return;
  if (!repeat) {
    check_grads_bound(&p->cs, p->xf, p->dyf, p->g, p->nalpha);
    memcpy(p->g_first, p->g, 3 * p->nalpha * sizeof(float));
  } else if (memcmp(p->g_first, p->g, 3 * p->nalpha * sizeof(float)) != 0 && mismatches++ < 5) {
    fprintf(stderr, "  packed %s grads differ on repeat\n", leakycl_dtype_name(p->d));
  }
}

/* float32, float16 and bfloat16 jobs of every activation, forward, backward
 * and backward with the gradient, in one shuffled batch, run twice. */
static void run_packed(void) {
  static const leakycl_dtype dtypes[3] = {LEAKYCL_FLOAT32, LEAKYCL_FLOAT16, LEAKYCL_BFLOAT16};
  static const int modes[3] = {ALPHA_DEFAULT, ALPHA_NEGATIVE, ALPHA_PER_CHANNEL};
  packed_job *jobs = calloc(3 * 4 * 3 * 3 * NPACKED_SHAPES, sizeof *jobs);
  size_t count = 0;
  for (int k = 0; k < 3; k++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      const bool has_grad = leakycl_activation_has_gradient((leakycl_activation)act);
      for (int op = 0; op < (has_grad ? 3 : 2); op++) {
        for (int m = 0; m < 3; m++) {
          if (act == LEAKYCL_RELU && modes[m] != ALPHA_DEFAULT)
            continue;
          for (size_t s = 0; s < NPACKED_SHAPES; s++) {
            /* The big shapes once per op: their size is the point. */
            if (packed_shapes[s].shape[0] >= 65536 && modes[m] != ALPHA_NEGATIVE &&
                act != LEAKYCL_RELU)
              continue;
            packed_setup(&jobs[count++], dtypes[k], (leakycl_activation)act,
                         op == 0 ? LEAKYCL_OP_FORWARD : LEAKYCL_OP_BACKWARD, op == 2,
                         &packed_shapes[s], modes[m]);
          }
        }
      }
    }
  }
  for (size_t i = count - 1; i > 0; i--) { /* shuffle: the dtypes interleave */
    const size_t k = rng_next() % (i + 1);
    packed_job tmp = jobs[i];
    jobs[i] = jobs[k];
    jobs[k] = tmp;
  }
  for (size_t i = 0; i < count; i++) /* the grads point into their own job */
    jobs[i].grads = (leakycl_grads){jobs[i].g, jobs[i].g + jobs[i].nalpha,
                                    jobs[i].g + 2 * jobs[i].nalpha, NULL, 0};
  leakycl_job *entries = calloc(count, sizeof *entries);
  mismatches = 0;
  for (int repeat = 0; repeat < 2; repeat++) {
    for (size_t i = 0; i < count; i++)
      entries[i] = packed_entry(&jobs[i]);
    const leakycl_status st = leakycl_run_jobs(ctx, entries, count);
    if (st != LEAKYCL_OK)
      fprintf(stderr, "  run_jobs: %s: %s\n", leakycl_status_name(st), leakycl_last_error(ctx));
    CHECK_INT_EQ(st, LEAKYCL_OK);
    for (size_t i = 0; i < count; i++)
      packed_check(&jobs[i], &entries[i], repeat == 1);
  }
  if (mismatches) {
    char desc[128];
    leakycl_variant_describe(&ctx->variant, desc, sizeof desc);
    fprintf(stderr, "  ^ %zu mismatches in %zu packed jobs, variant %s\n", mismatches, count, desc);
    test_case_failed_ = 1;
  }
  for (size_t i = 0; i < count; i++)
    packed_free(&jobs[i]);
  free(jobs);
  free(entries);
}

static void test_cpu_default_variant(void) {
  leakycl_variant v;
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(ctx, &info), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_default_variant(&info, LEAKYCL_STRATEGY_CPU, &v), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_set_variant(ctx, &v), LEAKYCL_OK);
  run_matrix();
  run_packed();
}
static void test_cpu_scalar_odd_block(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 1, 1, 3, 7);
  run_matrix();
  run_packed();
}
static void test_gpu_variant(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_matrix();
  run_packed();
}
/* The activations with a gradient only: the odd block matters to the
 * reduction (and fewer programs to build keeps the test quick). */
static void test_gpu_vw2_odd_block(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 2, 8, 1, 37);
  for (int k = 0; k < 2; k++) {
    for (int act = LEAKYCL_PRELU; act <= LEAKYCL_PHASED_RELU; act++) {
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int mode = 0; mode < ALPHA_MODES; mode++)
          run_case(half_types[k], (leakycl_activation)act, &shapes[s], mode, true);
      }
    }
  }
}

/* Explicit copies through pooled buffers (the discrete-device path). */
static void test_copy_path(void) {
  lk_context_set_zero_copy(ctx, false);
  for (int s = 0; s < 2; s++) {
    if (s == 0)
      use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
    else
      use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
    for (int k = 0; k < 2; k++) {
      for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
        const int mode = act == LEAKYCL_RELU ? ALPHA_DEFAULT : ALPHA_PER_CHANNEL;
        run_case(half_types[k], (leakycl_activation)act, &shapes[5], mode, true);
        run_case(half_types[k], (leakycl_activation)act, &shapes[8], ALPHA_DEFAULT, true);
        run_case(half_types[k], (leakycl_activation)act, &shapes[1], ALPHA_DEFAULT, false);
      }
    }
  }
  lk_context_set_zero_copy(ctx, true);
}

/* The typed buffer calls, one dtype at a time; and a buffer too small for
 * the view in half units is refused with nothing written. */
static void test_buffers_typed(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  cl_context cl;
  cl_command_queue q;
  CHECK_INT_EQ(leakycl_context_cl(ctx, &cl, NULL, &q), LEAKYCL_OK);
  for (int k = 0; k < 2; k++) {
    const leakycl_dtype d = half_types[k];
    const shape_case sc = {3, {2, 5, 37}, 1};
    call_setup cs;
    setup_call(&cs, LEAKYCL_PRELU, &sc, ALPHA_PER_CHANNEL);
    const size_t n = cs.n, nb = n * 2;
    uint16_t *x = malloc(nb), *dy = malloc(nb), *y = malloc(nb), *dx = malloc(nb);
    float *xf = malloc(n * 4), *dyf = malloc(n * 4), *out32 = malloc(n * 4);
    fill_half(d, x, n, -1.0f, true);
    fill_half(d, dy, n, -1.0f, false);
    widen_all(d, x, xf, n);
    widen_all(d, dy, dyf, n);
    cl_int rc;
    cl_mem bx = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nb, x, &rc);
    cl_mem bdy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nb, dy, &rc);
    cl_mem by = clCreateBuffer(cl, CL_MEM_READ_WRITE, nb, NULL, &rc);
    cl_mem bdx = clCreateBuffer(cl, CL_MEM_READ_WRITE, nb, NULL, &rc);
    cl_mem small = clCreateBuffer(cl, CL_MEM_READ_WRITE, nb - 1, NULL, &rc);
    mismatches = 0;
    CHECK_INT_EQ(leakycl_forward_buffers_typed(ctx, &cs.params, cs.view, d, bx, by), LEAKYCL_OK);
    CHECK_INT_EQ(leakycl_finish(ctx), LEAKYCL_OK);
    clEnqueueReadBuffer(q, by, CL_TRUE, 0, nb, y, 0, NULL, NULL);
    CHECK_INT_EQ(leakycl_forward(ctx, &cs.params, cs.view, xf, out32), LEAKYCL_OK);
    check_output("y (buffers)", d, &cs, xf, NULL, out32, y);
    float g[15], g32[15];
    const leakycl_grads grads = {g, g + 5, g + 10, NULL, 0},
                        grads32 = {g32, g32 + 5, g32 + 10, NULL, 0};
    CHECK_INT_EQ(leakycl_backward_buffers_typed(ctx, &cs.params, cs.view, d, LEAKYCL_FROM_X, bx,
                                                bdy, bdx, &grads),
                 LEAKYCL_OK);
    clEnqueueReadBuffer(q, bdx, CL_TRUE, 0, nb, dx, 0, NULL, NULL);
    CHECK_INT_EQ(
        leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, xf, dyf, out32, &grads32),
        LEAKYCL_OK);
    check_output("dx (buffers)", d, &cs, xf, dyf, out32, dx);
    check_grads(&cs, xf, dyf, g, g32, 5);
    CHECK_INT_EQ(mismatches, 0);
    /* n*2 - 1 bytes: one byte short of the view in half units. */
    CHECK_INT_EQ(leakycl_forward_buffers_typed(ctx, &cs.params, cs.view, d, bx, small),
                 LEAKYCL_INVALID_ARGUMENT);
    CHECK_CONTAINS(leakycl_last_error(ctx), "buffer y holds");
    CHECK_CONTAINS(leakycl_last_error(ctx), "half values");
    clReleaseMemObject(bx), clReleaseMemObject(bdy), clReleaseMemObject(by);
    clReleaseMemObject(bdx), clReleaseMemObject(small);
    free(x), free(dy), free(y), free(dx), free(xf), free(dyf), free(out32), free(cs.alpha);
  }
}

/* FLOAT32 through the typed calls is the float32 call, bit for bit. */
static void test_float32_typed_is_float32(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU);
  enum { N = 1001 };
  float *x = malloc(N * 4), *dy = malloc(N * 4), *a = malloc(N * 4), *b = malloc(N * 4);
  for (size_t i = 0; i < N; i++) {
    x[i] = 8.0f * rng_normal();
    dy[i] = rng_normal();
  }
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(N), x, a), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &p, leakycl_view_flat(N), LEAKYCL_FLOAT32, x, b),
               LEAKYCL_OK);
  CHECK(memcmp(a, b, N * 4) == 0);
  float ga[3], gb[3];
  const leakycl_grads g1 = {&ga[0], &ga[1], &ga[2], NULL, 0},
                      g2 = {&gb[0], &gb[1], &gb[2], NULL, 0};
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(N), LEAKYCL_FROM_X, x, dy, a, &g1),
               LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_backward_typed(ctx, &p, leakycl_view_flat(N), LEAKYCL_FLOAT32,
                                      LEAKYCL_FROM_X, x, dy, b, &g2),
               LEAKYCL_OK);
  CHECK(memcmp(a, b, N * 4) == 0 && memcmp(ga, gb, sizeof ga) == 0);
  free(x), free(dy), free(a), free(b);
}

/* Bad input: a clear status and message, outputs untouched. */
static void test_errors(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  uint16_t x[4] = {0x3C00, 0xBC00, 0, 0x8000}, y[4] = {7, 7, 7, 7};
  const leakycl_view v = leakycl_view_flat(4);
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &p, v, (leakycl_dtype)7, x, y), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx),
                 "dtype 7 is not float32 (0), float16 (1) or bfloat16 (2)");
  CHECK_INT_EQ(leakycl_backward_typed(ctx, &p, v, (leakycl_dtype)-1, LEAKYCL_FROM_X, x, x, y, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "dtype -1");
  CHECK_INT_EQ(leakycl_forward_buffers_typed(ctx, &p, v, (leakycl_dtype)3, NULL, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "dtype 3");
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &p, v, LEAKYCL_FLOAT16, NULL, y),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "x is NULL");
  /* Overlap is measured in elements of the dtype: y one half after x. */
  uint16_t buf[5] = {0};
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &p, v, LEAKYCL_BFLOAT16, buf, buf + 1),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "overlap");
  /* ... while a float32 array two halves on is disjoint for halves. */
  uint16_t wide[8] = {0x3C00, 0xBC00, 0, 0x8000};
  CHECK_INT_EQ(leakycl_forward_typed(ctx, &p, v, LEAKYCL_FLOAT16, wide, wide + 4), LEAKYCL_OK);
  CHECK(wide[4] == 0x3C00 && wide[5] == ref_narrow(LEAKYCL_FLOAT16, -0.01f) && wide[6] == 0 &&
        wide[7] == 0x8000);
  leakycl_params relu;
  leakycl_params_init(&relu, LEAKYCL_RELU);
  float g;
  const leakycl_grads grads = {&g, NULL, NULL, NULL, 0};
  CHECK_INT_EQ(
      leakycl_backward_typed(ctx, &relu, v, LEAKYCL_FLOAT16, LEAKYCL_FROM_X, x, x, y, &grads),
      LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "relu has no learnable alpha");
  CHECK(y[0] == 7 && y[1] == 7 && y[2] == 7 && y[3] == 7);
}

int main(void) {
  char err[LK_ERROR_MAX];
  RUN_TEST(test_oracle_float16_patterns);
  RUN_TEST(test_oracle_bfloat16_patterns);
  RUN_TEST(test_dtype_names_and_sizes);
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_errors);
  RUN_TEST(test_float32_typed_is_float32);
  RUN_TEST(test_cpu_default_variant);
  RUN_TEST(test_cpu_scalar_odd_block);
  RUN_TEST(test_gpu_variant);
  RUN_TEST(test_gpu_vw2_odd_block);
  RUN_TEST(test_copy_path);
  RUN_TEST(test_buffers_typed);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
