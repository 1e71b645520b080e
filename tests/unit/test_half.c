/* test_half.c - float16 and bfloat16 storage (leakycl_*_typed) on PoCL
 * against the tests' own conversions (half_oracle.h, checked here against
 * known bit patterns) and the float64 oracle of oracle.h: every activation x
 * op x shape (per-channel, odd sizes, n = 0 and 1) x alpha mode, on CPU and
 * GPU variants, zero-copy and copy paths, device buffers, and the errors.
 * y and dx must be the oracle's float32 result rounded to nearest even, and
 * the float32 call's on the widened values bit for bit; dalpha and the
 * diagnostics must equal the float32 call's and keep the 1e-6 bound. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "float_bits.h"
#include "half_oracle.h"
#include "internal.h"
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
    const float ref = dyf ? ref_backward(cs->params.activation, xf[i], dyf[i], a, t)
                          : ref_forward(cs->params.activation, xf[i], a, t);
    const uint16_t want = ref_narrow(d, ref);
    if (!same_half(d, got[i], want))
      report_half(what, d, i, got[i], want);
    else if (float32_out && !same_half(d, got[i], ref_narrow(d, float32_out[i])))
      report_half("(vs the float32 call)", d, i, got[i], ref_narrow(d, float32_out[i]));
  }
}

/* dalpha and the diagnostics: bit for bit the float32 call's (same kernel
 * text, same order, the same widened values), and within 1e-6 * sum|terms|
 * of the float64 sum. */
static void check_grads(const call_setup *cs, const float *xf, const float *dyf, const float *got,
                        const float *want32, size_t nalpha) {
  for (size_t c = 0; c < 3 * nalpha; c++) {
    if (!same_float(got[c], want32[c]) && mismatches++ < 5)
      fprintf(stderr, "  grads[%zu]: got %a, the float32 call %a\n", c, (double)got[c],
              (double)want32[c]);
  }
  double *sum = calloc(nalpha, sizeof *sum), *sum_abs = calloc(nalpha, sizeof *sum_abs);
  bool *poisoned = calloc(nalpha, sizeof *poisoned);
  for (size_t i = 0; i < cs->n; i++) {
    const size_t c = nalpha > 1 ? (i / cs->view.inner) % cs->view.channels : 0;
    float a, t;
    params_at(cs, i, &a, &t);
    const double term = ref_alpha_term(cs->params.activation, xf[i], dyf[i], t);
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
    const leakycl_grads grads = {g, g + C, g + 2 * C}, grads32 = {g32, g32 + C, g32 + 2 * C};
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

static void test_cpu_default_variant(void) {
  leakycl_variant v;
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(ctx, &info), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_default_variant(&info, LEAKYCL_STRATEGY_CPU, &v), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_set_variant(ctx, &v), LEAKYCL_OK);
  run_matrix();
}
static void test_cpu_scalar_odd_block(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 1, 1, 3, 7);
  run_matrix();
}
static void test_gpu_variant(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_matrix();
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
    const leakycl_grads grads = {g, g + 5, g + 10}, grads32 = {g32, g32 + 5, g32 + 10};
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
  const leakycl_grads g1 = {&ga[0], &ga[1], &ga[2]}, g2 = {&gb[0], &gb[1], &gb[2]};
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
  const leakycl_grads grads = {&g, NULL, NULL};
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
