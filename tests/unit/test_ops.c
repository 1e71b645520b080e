/* test_ops.c - forward, backward and the parameter-gradient reduction on
 * PoCL against a float64 oracle (tests/unit/oracle.h): every activation x op x
 * variant x several shapes and channel axes, odd sizes, n = 0 and 1,
 * NaN/Inf/-0, alpha < 0 and > 1, in-place calls, device-resident buffers,
 * the seeds' worked examples, and the 2^26-term accuracy bound. The oracle
 * is tests/unit/oracle.h. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/core.h"
#include "device/device.h"
#include "float_bits.h"
#include "op_cases.h"
#include "oracle.h"
#include "program/program.h"
#include "test.h"

static leakycl_context *ctx;

static float rng_normal(void) {
  double u = rng_uniform() + 1e-300, v = rng_uniform();
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* Finite data with the edge cases mixed in: zeros of both signs,
 * subnormals, the phased threshold and its neighbours. */
static void fill_finite(float *v, size_t n, float t) {
  for (size_t i = 0; i < n; i++) {
    if (!rng_edge_value(t, &v[i]))
      v[i] = 4.0f * rng_normal();
  }
}

/* Adds NaN, +Inf and -Inf here and there. */
static void sprinkle_specials(float *v, size_t n) {
  for (size_t i = 0; i < n; i += 7) {
    const float specials[3] = {NAN, INFINITY, -INFINITY};
    v[i] = specials[rng_next() % 3];
  }
}

/* ---- one case ---- */

static const shape_case shapes[] = {
    {1, {0}, 0},        {1, {1}, 0},          {1, {17}, 0},       {3, {2, 3, 5}, 1},
    {3, {3, 4, 5}, -1}, {3, {2, 6, 9}, 0},    {3, {4, 8, 16}, 1}, {3, {2, 33, 131}, 1},
    {2, {3, 0}, 1},     {4, {2, 3, 4, 8}, 1}, {1, {70001}, 0},
};

static size_t mismatches;
static void report_mismatch(const char *what, size_t i, float got, float want) {
  if (mismatches++ < 5)
    fprintf(stderr, "  %s[%zu]: got %a (%.9g), want %a (%.9g)\n", what, i, (double)got, (double)got,
            (double)want, (double)want);
}

static void check_forward(const call_setup *cs, const float *x, const float *y) {
  for (size_t i = 0; i < cs->n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    float want = ref_forward(cs->params.conventions, cs->params.activation, x[i], a, t);
    if (!same_float(y[i], want))
      report_mismatch("y", i, y[i], want);
  }
}

static void check_backward(const call_setup *cs, const float *src, const float *dy,
                           const float *dx) {
  for (size_t i = 0; i < cs->n; i++) {
    float a, t;
    params_at(cs, i, &a, &t);
    float want = ref_backward(cs->params.conventions, cs->params.activation, src[i], dy[i], a, t);
    if (!same_float(dx[i], want))
      report_mismatch("dx", i, dx[i], want);
  }
}

/* dalpha within 1e-6 * sum|terms|, the diagnostics within 1e-6 relative;
 * one pass over the data with per-channel float64 accumulators. */
typedef struct channel_ref {
  double sum, sum_abs, neg_abs;
  size_t count, neg;
  bool poisoned;
} channel_ref;

static void check_grads(const call_setup *cs, const float *x, const float *dy, const float *dalpha,
                        const float *negf, const float *mabs) {
  const size_t nalpha = cs->params.alpha_count > 1 ? cs->params.alpha_count : 1;
  channel_ref *ref = calloc(nalpha, sizeof *ref);
  for (size_t i = 0; i < cs->n; i++) {
    channel_ref *r = &ref[nalpha > 1 ? (i / cs->view.inner) % cs->view.channels : 0];
    float a, t;
    params_at(cs, i, &a, &t);
    double term = ref_alpha_term(cs->params.conventions, cs->params.activation, x[i], dy[i], t);
    r->poisoned |= isnan(term) || isinf(term);
    r->sum += term;
    r->sum_abs += fabs(term);
    r->count++;
    if (x[i] < 0) {
      r->neg++;
      r->neg_abs += fabs((double)dy[i] * (double)x[i]);
    }
  }
  for (size_t c = 0; c < nalpha; c++) {
    const channel_ref *r = &ref[c];
    if (r->count == 0) {
      if (dalpha[c] != 0.0f || !isnan(negf[c]) || !isnan(mabs[c])) {
        mismatches++;
        fprintf(stderr, "  empty channel %zu: dalpha %g neg %g abs %g\n", c, (double)dalpha[c],
                (double)negf[c], (double)mabs[c]);
      }
      continue;
    }
    if (r->poisoned) {
      if (!isnan(dalpha[c]) && !isinf(dalpha[c]))
        report_mismatch("dalpha(poisoned)", c, dalpha[c], (float)r->sum);
      continue;
    }
    if (fabs((double)dalpha[c] - r->sum) > 1e-6 * r->sum_abs + 1e-30)
      report_mismatch("dalpha", c, dalpha[c], (float)r->sum);
    const double want_negf = (double)r->neg / (double)r->count;
    if (fabs((double)negf[c] - want_negf) > 1e-6 * want_negf)
      report_mismatch("neg_fraction", c, negf[c], (float)want_negf);
    const double want_abs = r->neg_abs / (double)r->count;
    if (fabs((double)mabs[c] - want_abs) > 1e-6 * want_abs + 1e-37)
      report_mismatch("mean_abs_grad", c, mabs[c], (float)want_abs);
  }
  free(ref);
}

/* Runs every op of one activation, shape and alpha mode on the current
 * variant, through host pointers. */
static void run_case(leakycl_conventions conv, leakycl_activation act, const shape_case *sc,
                     int alpha_mode, bool specials) {
  call_setup cs;
  setup_call(&cs, act, sc, alpha_mode);
  cs.params.conventions = conv;
  const size_t n = cs.n, nb = (n ? n : 1) * sizeof(float);
  float *x = malloc(nb), *dy = malloc(nb), *y = malloc(nb), *dx = malloc(nb), *inplace = malloc(nb);
  float t0 =
      threshold(cs.params.alpha_count ? cs.alpha[0] : leakycl_default_alpha(act), cs.params.beta);
  fill_finite(x, n, t0);
  fill_finite(dy, n, t0);
  if (specials)
    sprinkle_specials(x, n);
  mismatches = 0;

  leakycl_status st = leakycl_forward(ctx, &cs.params, cs.view, x, y);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (st == LEAKYCL_OK)
    check_forward(&cs, x, y);

  memcpy(inplace, x, nb);
  CHECK_INT_EQ(leakycl_forward(ctx, &cs.params, cs.view, inplace, inplace), LEAKYCL_OK);
  check_forward(&cs, x, inplace);

  CHECK_INT_EQ(leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, x, dy, dx, NULL),
               LEAKYCL_OK);
  check_backward(&cs, x, dy, dx);

  /* From y: where the sign of y is the sign of x, dx must be the same. */
  bool from_y_ok = act == LEAKYCL_RELU;
  if (act == LEAKYCL_LEAKY_RELU || act == LEAKYCL_PRELU) {
    from_y_ok = true;
    for (size_t c = 0; c < cs.params.alpha_count; c++)
      from_y_ok &= cs.alpha[c] > 0;
    from_y_ok &= !(cs.params.alpha_count == 0 && leakycl_default_alpha(act) <= 0);
  }
  st = leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_Y, y, dy, inplace, NULL);
  if (n > 0 || !from_y_ok)
    CHECK_INT_EQ(st, from_y_ok ? LEAKYCL_OK : LEAKYCL_INVALID_ARGUMENT);
  if (from_y_ok && st == LEAKYCL_OK) {
    /* Subnormal products may round y to 0 where x < 0; the sign test then
     * differs from x's by design, so compare against the oracle on y. */
    check_backward(&cs, y, dy, inplace);
  }

  if (leakycl_activation_has_gradient(act)) {
    const size_t C = cs.params.alpha_count > 1 ? cs.params.alpha_count : 1;
    float *da = malloc(C * 4), *nf = malloc(C * 4), *ma = malloc(C * 4);
    float *da2 = malloc(C * 4), *nf2 = malloc(C * 4), *ma2 = malloc(C * 4);
    leakycl_grads g = {da, nf, ma, NULL, 0}, g2 = {da2, nf2, ma2, NULL, 0};
    memset(dx, 0xff, nb);
    CHECK_INT_EQ(leakycl_backward(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, x, dy, dx, &g),
                 LEAKYCL_OK);
    check_backward(&cs, x, dy, dx);
    check_grads(&cs, x, dy, da, nf, ma);
    /* The reduce-only entry point gives the very same bits. */
    CHECK_INT_EQ(leakycl_reduce(ctx, &cs.params, cs.view, x, dy, &g2), LEAKYCL_OK);
    for (size_t c = 0; c < C; c++) {
      if (!same_float(da[c], da2[c]) || !same_float(nf[c], nf2[c]) || !same_float(ma[c], ma2[c]))
        report_mismatch("reduce vs backward dalpha", c, da2[c], da[c]);
    }
    free(da), free(nf), free(ma), free(da2), free(nf2), free(ma2);
  }
  if (mismatches) {
    char desc[128];
    leakycl_variant_describe(&ctx->variant, desc, sizeof desc);
    fprintf(stderr,
            "  ^ %zu mismatches: %s (%s), shape rank %zu axis %ld n %zu, alpha mode %d, "
            "specials %d, variant %s\n",
            mismatches, leakycl_activation_name(act), leakycl_conventions_name(conv), sc->rank,
            sc->axis, n, alpha_mode, specials, desc);
    test_case_failed_ = 1;
  }
  free(x), free(dy), free(y), free(dx), free(inplace), free(cs.alpha);
}

/* Every activation, shape, alpha mode and data kind on the current variant,
 * under the default profile (pytorch), or under every profile. */
static void run_matrix_profiles(int profiles) {
  for (int conv = 0; conv < profiles; conv++) {
    for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++) {
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int mode = 0; mode < ALPHA_MODES; mode++) {
          if (act == LEAKYCL_RELU && mode != ALPHA_DEFAULT)
            continue;
          run_case((leakycl_conventions)conv, (leakycl_activation)act, &shapes[s], mode, false);
          run_case((leakycl_conventions)conv, (leakycl_activation)act, &shapes[s], mode, true);
        }
      }
    }
  }
}
static void run_matrix(void) { run_matrix_profiles(1); }

static void test_default_variant(void) {
  leakycl_variant v;
  CHECK_INT_EQ(leakycl_get_variant(ctx, &v), LEAKYCL_OK);
  CHECK_INT_EQ(v.strategy, device_default_strategy(ctx));
  run_matrix_profiles(LEAKYCL_CONVENTIONS_COUNT);
}
static void test_cpu_vw16_small_blocks(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 16, 4, 3, 100);
  run_matrix();
}
static void test_cpu_scalar(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 1, 1, 1, 7);
  run_matrix_profiles(LEAKYCL_CONVENTIONS_COUNT);
}
static void test_gpu_default_shape(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  run_matrix_profiles(LEAKYCL_CONVENTIONS_COUNT);
}
static void test_gpu_odd_block(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 2, 8, 1, 37);
  run_matrix();
}

/* Host copies instead of zero-copy: the path a discrete GPU takes. */
static void test_copy_path(void) {
  lk_context_set_zero_copy(ctx, false);
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  run_case(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_PRELU, &shapes[7], ALPHA_PER_CHANNEL, true);
  run_case(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_PHASED_RELU, &shapes[10], ALPHA_LARGE, false);
  run_case(LEAKYCL_CONVENTIONS_PYTORCH, LEAKYCL_LEAKY_RELU, &shapes[3], ALPHA_NEGATIVE, true);
  lk_context_set_zero_copy(ctx, true);
}

/* The ulong-index kernels (tensors of 2^31+ elements) on small data. */
static void test_wide_index(void) {
  lk_context_force_wide_index(ctx, true);
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++)
    run_case(LEAKYCL_CONVENTIONS_PYTORCH, (leakycl_activation)act, &shapes[7],
             act ? ALPHA_PER_CHANNEL : ALPHA_DEFAULT, true);
  use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 64, 1, 1024);
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++)
    run_case(LEAKYCL_CONVENTIONS_PYTORCH, (leakycl_activation)act, &shapes[10], ALPHA_DEFAULT,
             false);
  lk_context_force_wide_index(ctx, false);
}

/* The message part of the first and the last line of `log` that report an
 * error: what follows the line's last ": " (PoCL puts a temporary file's
 * name before it, rusticl "input.cl:L:C: error"); "" when there is none. */
static void error_lines(const char *log, char *first, char *last, size_t len) {
  first[0] = last[0] = '\0';
  for (const char *line = log; *line;) {
    const char *eol = strchr(line, '\n');
    const size_t n = eol ? (size_t)(eol - line) : strlen(line);
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), line);
    const char *colon = NULL;
    for (const char *c = strstr(buf, ": "); c; c = strstr(c + 1, ": "))
      colon = c;
    if (strstr(buf, "error") && colon && colon[2]) {
      if (!first[0])
        snprintf(first, len, "%s", colon + 2);
      snprintf(last, len, "%s", colon + 2);
    }
    line += n + (eol ? 1 : 0);
  }
}

/* A failed build is BUILD_FAILED with the options and the build log in the
 * detail; here the kernels' own check of LK_VW fires. Nothing is written.
 * A long log (float indices: an error in nearly every function, 20 KB on
 * PoCL and rusticl) keeps its head, where the first error is, and its
 * tail, with the cut marked, within the message's size. */
static void test_build_failure_reports_log(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  lk_context_set_extra_build_options(ctx, "-DLK_VW=3");
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  const float x[2] = {-1, 1};
  float y[2] = {42, 42};
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(2), x, y), LEAKYCL_BUILD_FAILED);
  CHECK_CONTAINS(leakycl_last_error(ctx), "clBuildProgram");
  CHECK_CONTAINS(leakycl_last_error(ctx), "LK_VW must be 1, 2, 4, 8 or 16");
  CHECK(y[0] == 42 && y[1] == 42);

  /* The full log of the same failing build, for what to expect. */
  lk_context_set_extra_build_options(ctx, "-DLK_IDX=float");
  char options[256];
  const lk_program_key key = {
      LK_FAMILY_ELEMENTWISE,       LEAKYCL_RELU, 8, false, false, false, LEAKYCL_FLOAT32,
      LEAKYCL_CONVENTIONS_PYTORCH, false};
  lk_program_options(ctx, &key, options, sizeof options);
  const char *src = (const char *)lk_kernel_source;
  cl_int rc;
  cl_program prog = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, &lk_kernel_source_len, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  CHECK(clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS);
  size_t log_len = 0;
  CHECK_INT_EQ(clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_len),
               CL_SUCCESS);
  char *log = calloc(log_len + 1, 1);
  CHECK_INT_EQ(clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, log_len, log, NULL),
               CL_SUCCESS);
  clReleaseProgram(prog);
  char first[256], last[256];
  error_lines(log, first, last, sizeof first);
  CHECK(first[0] != '\0');

  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(2), x, y), LEAKYCL_BUILD_FAILED);
  const char *msg = leakycl_last_error(ctx);
  CHECK_CONTAINS(msg, "-DLK_IDX=float");
  CHECK_CONTAINS(msg, first); /* the head: the first error */
  CHECK_CONTAINS(msg, last);  /* the tail: the last one */
  CHECK(strlen(msg) < LK_ERROR_MAX - 1);
  if (strlen(log) > LK_ERROR_MAX) { /* cut, and says so */
    CHECK_CONTAINS(msg, " bytes ...]");
    /* What a tail alone would have kept does not hold the first error
     * here (the test is no tautology on this device). */
    if (strstr(log + strlen(log) - 3000, first))
      printf("# the first error recurs in the log's tail on this device\n");
  }
  free(log);
  CHECK(y[0] == 42 && y[1] == 42);

  lk_context_set_extra_build_options(ctx, "");
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(2), x, y), LEAKYCL_OK);
  CHECK(y[0] == 0 && y[1] == 1);
}

/* ---- device-resident buffers ---- */
static void test_resident_buffers(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const shape_case sc = {3, {2, 5, 37}, 1};
  call_setup cs;
  setup_call(&cs, LEAKYCL_PRELU, &sc, ALPHA_PER_CHANNEL);
  const size_t n = cs.n, nb = n * sizeof(float);
  float *x = malloc(nb), *dy = malloc(nb), *y = malloc(nb), *dx = malloc(nb);
  fill_finite(x, n, -1.0f);
  fill_finite(dy, n, -1.0f);
  cl_context cl;
  cl_command_queue q;
  CHECK_INT_EQ(leakycl_context_cl(ctx, &cl, NULL, &q), LEAKYCL_OK);
  cl_int rc;
  cl_mem bx = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nb, x, &rc);
  cl_mem bdy = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nb, dy, &rc);
  cl_mem by = clCreateBuffer(cl, CL_MEM_READ_WRITE, nb, NULL, &rc);
  cl_mem bdx = clCreateBuffer(cl, CL_MEM_READ_WRITE, nb, NULL, &rc);
  mismatches = 0;
  CHECK_INT_EQ(leakycl_forward_buffers(ctx, &cs.params, cs.view, bx, by), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_finish(ctx), LEAKYCL_OK);
  clEnqueueReadBuffer(q, by, CL_TRUE, 0, nb, y, 0, NULL, NULL);
  check_forward(&cs, x, y);
  float da[5], nf[5], ma[5];
  leakycl_grads g = {da, nf, ma, NULL, 0};
  CHECK_INT_EQ(leakycl_backward_buffers(ctx, &cs.params, cs.view, LEAKYCL_FROM_X, bx, bdy, bdx, &g),
               LEAKYCL_OK);
  clEnqueueReadBuffer(q, bdx, CL_TRUE, 0, nb, dx, 0, NULL, NULL);
  check_backward(&cs, x, dy, dx);
  check_grads(&cs, x, dy, da, nf, ma);
  float da2[5];
  leakycl_grads g2 = {da2, NULL, NULL, NULL, 0};
  CHECK_INT_EQ(leakycl_reduce_buffers(ctx, &cs.params, cs.view, bx, bdy, &g2), LEAKYCL_OK);
  for (int c = 0; c < 5; c++)
    CHECK(same_float(da[c], da2[c]));
  CHECK_INT_EQ(mismatches, 0);
  clReleaseMemObject(bx), clReleaseMemObject(bdy), clReleaseMemObject(by), clReleaseMemObject(bdx);
  free(x), free(dy), free(y), free(dx), free(cs.alpha);
}

/* ---- the seeds' worked examples ---- */

/* The profile forward_values runs under. */
static leakycl_conventions forward_conventions = LEAKYCL_CONVENTIONS_PYTORCH;

static void forward_values(leakycl_activation act, float alpha, float beta, const float *x,
                           float *y, size_t n) {
  leakycl_params p;
  leakycl_params_init(&p, act);
  p.conventions = forward_conventions;
  p.beta = beta;
  if (act != LEAKYCL_RELU) {
    p.alpha = &alpha;
    p.alpha_count = 1;
  }
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(n), x, y), LEAKYCL_OK);
}

static void check_close(const float *got, const double *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (fabs((double)got[i] - want[i]) > 1e-7 * (1 + fabs(want[i]))) {
      fprintf(stderr, "  [%zu]: got %.9g, want %.9g\n", i, (double)got[i], want[i]);
      test_case_failed_ = 1;
    }
  }
}

/* Seed 000: leaky_relu([-1, 0, 1]) = [-0.01, 0, 1]; alpha 0.1 at -1 gives
 * -0.1 and gradient 0.1. */
static void test_seed000_leaky_relu(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  const float x[3] = {-1, 0, 1};
  float y[3];
  forward_values(LEAKYCL_LEAKY_RELU, 0.01f, 0, x, y, 3);
  check_close(y, (const double[]){-0.01, 0, 1}, 3);
  CHECK(!signbit(y[1])); /* 0.01 * +0 = +0 */
  const float xm[1] = {-1}, dy[1] = {1};
  forward_values(LEAKYCL_LEAKY_RELU, 0.1f, 0, xm, y, 1);
  check_close(y, (const double[]){-0.1}, 1);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  float a = 0.1f, dx[1];
  p.alpha = &a;
  p.alpha_count = 1;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(1), LEAKYCL_FROM_X, xm, dy, dx, NULL),
               LEAKYCL_OK);
  check_close(dx, (const double[]){0.1}, 1);
}

/* Seed 001: [[-1, 2], [-3, -4]] with alpha 0.2 is [[-0.2, 2], [-0.6, -0.8]]
 * (the seed's printed output is wrong; the formula is not). */
static void test_seed001_leaky_relu_02(void) {
  const float x[4] = {-1, 2, -3, -4};
  float y[4];
  forward_values(LEAKYCL_LEAKY_RELU, 0.2f, 0, x, y, 4);
  check_close(y, (const double[]){-0.2, 2, -0.6, -0.8}, 4);
}

/* Seed 002: the dying-ReLU neuron z = w*x + b with w = 0, b = -1 on
 * (1, 1), (2, 0), (-1, 2) under MSE: ReLU's gradient for w and b is exactly
 * zero; LeakyReLU(0.1)'s is not, and equals the hand-derived value. */
static void test_seed002_dying_relu(void) {
  const float xs[3] = {1, 2, -1}, ys[3] = {1, 0, 2};
  float z[3], f[3], dl_df[3], dz[3];
  for (int i = 0; i < 3; i++)
    z[i] = 0.0f * xs[i] - 1.0f;
  for (int act = LEAKYCL_RELU; act <= LEAKYCL_LEAKY_RELU; act++) {
    forward_values((leakycl_activation)act, 0.1f, 0, z, f, 3);
    for (int i = 0; i < 3; i++)
      dl_df[i] = 2.0f / 3.0f * (f[i] - ys[i]);
    leakycl_params p;
    leakycl_params_init(&p, (leakycl_activation)act);
    float a = 0.1f;
    if (act == LEAKYCL_LEAKY_RELU) {
      p.alpha = &a;
      p.alpha_count = 1;
    }
    CHECK_INT_EQ(
        leakycl_backward(ctx, &p, leakycl_view_flat(3), LEAKYCL_FROM_X, z, dl_df, dz, NULL),
        LEAKYCL_OK);
    double dw = 0, db = 0;
    for (int i = 0; i < 3; i++) {
      dw += (double)dz[i] * xs[i];
      db += dz[i];
    }
    if (act == LEAKYCL_RELU) {
      CHECK(dw == 0.0 && db == 0.0); /* dead: nothing moves */
    } else {
      /* f = -0.1 everywhere; dz = 0.1 * 2/3 * (f - y). */
      const double want_dw = 0.1 * 2.0 / 3.0 * ((-1.1) * 1 + (-0.1) * 2 + (-2.1) * -1);
      const double want_db = 0.1 * 2.0 / 3.0 * (-1.1 - 0.1 - 2.1);
      CHECK(fabs(dw - want_dw) < 1e-6 && fabs(db - want_db) < 1e-6);
    }
  }
}

/* Seed 002: PReLU's alpha gradient is sum over z < 0 of delta*z, with the
 * diagnostics p_- = count(z < 0)/N and mean |delta z| over negatives / N. */
static void test_seed002_prelu_alpha_gradient(void) {
  const float z[6] = {-2, 1, -0.5f, 3, 0, -1};
  const float delta[6] = {0.5f, 2, -1, 1, 4, 0.25f};
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  float da, nf, ma, dx[6];
  leakycl_grads g = {&da, &nf, &ma, NULL, 0};
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(6), LEAKYCL_FROM_X, z, delta, dx, &g),
               LEAKYCL_OK);
  /* (-2)(0.5) + (-0.5)(-1) + (-1)(0.25) = -0.75; 3 of 6 negative;
   * (1 + 0.5 + 0.25) / 6. */
  CHECK(da == -0.75f);
  CHECK(nf == 0.5f);
  CHECK(fabs((double)ma - 1.75 / 6) < 1e-7);
  /* dx = 0.25 * delta where z <= 0 (z == 0 takes the alpha branch). */
  check_close(dx, (const double[]){0.125, 2, -0.25, 1, 1, 0.0625}, 6);
}

/* Seed 003: PhasedReLU with alpha 0.1, beta 0.5 (t = -5): the band
 * -5 <= x < 0 has slope 0.1, below it 0, x >= 0 the identity. */
static void test_seed003_phased_relu(void) {
  const float x[6] = {-6, -5, -1, 0, 2, -5.0001f};
  float y[6], dx[6];
  const float dy[6] = {1, 1, 1, 1, 1, 1};
  forward_values(LEAKYCL_PHASED_RELU, 0.1f, 0.5f, x, y, 6);
  check_close(y, (const double[]){0, -0.5, -0.1, 0, 2, 0}, 6);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU); /* defaults alpha 0.1, beta 0.5 */
  float da, nf, ma;
  leakycl_grads g = {&da, &nf, &ma, NULL, 0};
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(6), LEAKYCL_FROM_X, x, dy, dx, &g),
               LEAKYCL_OK);
  check_close(dx, (const double[]){0, 0.1, 0.1, 1, 1, 0}, 6);
  CHECK(fabs((double)da - (-6.0)) < 1e-6); /* band: -5 + -1 */
}

/* NaN poisons only its own channel's dalpha; relu keeps NaN and gives +0. */
static void test_special_values(void) {
  const float x[6] = {NAN, -1, -INFINITY, 2, -0.0f, INFINITY};
  float y[6];
  forward_conventions = LEAKYCL_CONVENTIONS_IEEE;
  forward_values(LEAKYCL_RELU, 0, 0, x, y, 6);
  CHECK(isnan(y[0]) && y[1] == 0 && !signbit(y[1]) && y[2] == 0 && !signbit(y[2]));
  CHECK(y[3] == 2 && y[4] == 0 && !signbit(y[4]) && isinf(y[5]));
  forward_values(LEAKYCL_LEAKY_RELU, 0.5f, 0, x, y, 6);
  CHECK(isnan(y[0]) && y[1] == -0.5f && y[2] == -INFINITY && signbit(y[4]));

  /* Two channels (axis 1 of [3, 2]): NaN in channel 0 only. */
  const float x2[6] = {NAN, -1, -2, -3, 4, -5};
  const float dy2[6] = {1, 1, 1, 1, 1, 1};
  const size_t shape[2] = {3, 2};
  leakycl_view v;
  CHECK_INT_EQ(leakycl_view_from_shape(shape, 2, 1, &v, NULL, 0), LEAKYCL_OK);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  p.conventions = LEAKYCL_CONVENTIONS_IEEE;
  float alphas[2] = {0.25f, 0.5f}, da[2], nf[2], ma[2], dx[6];
  p.alpha = alphas;
  p.alpha_count = 2;
  leakycl_grads g = {da, nf, ma, NULL, 0};
  CHECK_INT_EQ(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, x2, dy2, dx, &g), LEAKYCL_OK);
  CHECK(isnan(da[0]));
  CHECK(da[1] == -9.0f); /* -1 - 3 - 5 */
  CHECK(isnan(dx[0]) && dx[1] == 0.5f && dx[4] == 1.0f);
  /* pytorch: NaN in x passes a*dy to dx; dalpha is NaN still (x*dy). */
  p.conventions = LEAKYCL_CONVENTIONS_PYTORCH;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, x2, dy2, dx, &g), LEAKYCL_OK);
  CHECK(isnan(da[0]) && da[1] == -9.0f && dx[0] == 0.25f && dx[1] == 0.5f && dx[4] == 1.0f);
  forward_conventions = LEAKYCL_CONVENTIONS_PYTORCH;
}

/* The corners the profiles differ on, each written out: what torch 1.13
 * autograd gives for them (checked against torch itself by make
 * test-torch), what ieee and jax give. */
static void test_profile_corners(void) {
  const float tiny = -FLT_TRUE_MIN;
  /* relu: -0 and NaN. */
  const float xr[2] = {-0.0f, NAN}, dyr[2] = {3.0f, 3.0f};
  float y[2], dx[2];
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(2), xr, y), LEAKYCL_OK);
  CHECK(y[0] == 0 && signbit(y[0]) && isnan(y[1])); /* clamp_min: -0 and NaN pass */
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(2), LEAKYCL_FROM_X, xr, dyr, dx, NULL),
               LEAKYCL_OK);
  CHECK(dx[0] == 0 && !signbit(dx[0]) && dx[1] == 3.0f); /* NaN passes dy */
  p.conventions = LEAKYCL_CONVENTIONS_IEEE;
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(2), xr, y), LEAKYCL_OK);
  CHECK(y[0] == 0 && !signbit(y[0]) && isnan(y[1]));
  p.conventions = LEAKYCL_CONVENTIONS_JAX;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(2), LEAKYCL_FROM_X, xr, dyr, dx, NULL),
               LEAKYCL_OK);
  CHECK(dx[0] == 0 && dx[1] == 0); /* derivative 0 at 0 and at NaN */

  /* phased_relu (alpha 0.1, beta 0.5: t = -5): where()'s +0 fills. */
  const float xp[5] = {tiny, 2.0f, NAN, -1.0f, INFINITY};
  const float dyp[5] = {-0.0f, -0.0f, 1.0f, -0.0f, 1.0f};
  float yp[5], dxp[5], da;
  leakycl_grads g = {&da, NULL, NULL, NULL, 0};
  leakycl_params_init(&p, LEAKYCL_PHASED_RELU);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(5), xp, yp), LEAKYCL_OK);
  CHECK(yp[2] == 0 && !signbit(yp[2])); /* NaN takes the zero branch */
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(5), LEAKYCL_FROM_X, xp, dyp, dxp, &g),
               LEAKYCL_OK);
  for (int i = 0; i < 4; i++)
    CHECK(dxp[i] == 0 && !signbit(dxp[i])); /* +0 where ieee gives -0 (and NaN for i 2) */
  CHECK(isnan(da));                         /* 0 * Inf in where()'s backward */
  p.conventions = LEAKYCL_CONVENTIONS_IEEE;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(5), LEAKYCL_FROM_X, xp, dyp, dxp, &g),
               LEAKYCL_OK);
  CHECK(signbit(dxp[0]) && signbit(dxp[1]) && isnan(dxp[2]) && signbit(dxp[3]) && isnan(da));
  const float xf[4] = {tiny, 2.0f, -1.0f, INFINITY}, dyf[4] = {1, 1, 1, 1};
  CHECK_INT_EQ(leakycl_reduce(ctx, &p, leakycl_view_flat(4), xf, dyf, &g), LEAKYCL_OK);
  CHECK(!isnan(da)); /* ieee: Inf outside the band adds nothing */
  p.conventions = LEAKYCL_CONVENTIONS_PYTORCH;
  CHECK_INT_EQ(leakycl_reduce(ctx, &p, leakycl_view_flat(4), xf, dyf, &g), LEAKYCL_OK);
  CHECK(isnan(da));

  /* alpha 0 with dy < 0 in the band: +0 * ... gives +0, not -0. */
  const float a0 = 0.0f, xb[1] = {-1.0f}, dyb[1] = {-2.0f};
  p.alpha = &a0;
  p.alpha_count = 1;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(1), LEAKYCL_FROM_X, xb, dyb, dxp, NULL),
               LEAKYCL_OK);
  CHECK(dxp[0] == 0 && !signbit(dxp[0]));

  /* leaky_relu at x = -0: jax takes the identity branch (dx = dy), torch
   * the slope (dx = a*dy). */
  const float xl[1] = {-0.0f}, dyl[1] = {4.0f};
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(1), LEAKYCL_FROM_X, xl, dyl, dxp, NULL),
               LEAKYCL_OK);
  CHECK(dxp[0] == 0.04f);
  p.conventions = LEAKYCL_CONVENTIONS_JAX;
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(1), LEAKYCL_FROM_X, xl, dyl, dxp, NULL),
               LEAKYCL_OK);
  CHECK(dxp[0] == 4.0f);
}

/* ---- the accuracy and determinism bound at 2^26 elements ---- */
static void accuracy_on(leakycl_strategy strategy) {
#if defined(__SANITIZE_ADDRESS__)
  size_t n = (size_t)1 << 22; /* the host loops are slow under ASan */
#else
  size_t n = (size_t)1 << 26;
#endif
  if (getenv("LEAKYCL_TEST_QUICK")) /* make memcheck: valgrind is slower still */
    n = (size_t)1 << 18;
  if (strategy == LEAKYCL_STRATEGY_CPU)
    use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  else
    use_variant(ctx, LEAKYCL_STRATEGY_GPU, 4, 256, 1, 4096);
  float *x = malloc(n * 4), *dy = malloc(n * 4);
  /* A biased mix so the sum does not cancel to noise. */
  for (size_t i = 0; i < n; i++) {
    x[i] = rng_normal() - 0.5f;
    dy[i] = rng_normal() + 0.25f;
  }
  double exact = 0, comp = 0, sum_abs = 0; /* Kahan in double: exact enough */
  for (size_t i = 0; i < n; i++) {
    double term = x[i] > 0 ? 0.0 : (double)dy[i] * (double)x[i];
    double yk = term - comp, tk = exact + yk;
    comp = (tk - exact) - yk;
    exact = tk;
    sum_abs += fabs(term);
  }
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  float da[3];
  for (int rep = 0; rep < 3; rep++) {
    leakycl_grads g = {&da[rep], NULL, NULL, NULL, 0};
    CHECK_INT_EQ(leakycl_reduce(ctx, &p, leakycl_view_flat(n), x, dy, &g), LEAKYCL_OK);
  }
  const double err = fabs((double)da[0] - exact) / sum_abs;
  printf("# %s strategy, n = %zu: dalpha %.9g, exact %.12g, |error|/sum|terms| = %.3g\n",
         leakycl_strategy_name(strategy), n, (double)da[0], exact, err);
  CHECK(err <= 1e-6);
  CHECK(same_float(da[0], da[1]) && same_float(da[0], da[2]));
  free(x), free(dy);
}
static void test_accuracy_cpu_2p26(void) { accuracy_on(LEAKYCL_STRATEGY_CPU); }
static void test_accuracy_gpu_2p26(void) { accuracy_on(LEAKYCL_STRATEGY_GPU); }

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_default_variant);
  RUN_TEST(test_cpu_vw16_small_blocks);
  RUN_TEST(test_cpu_scalar);
  RUN_TEST(test_gpu_default_shape);
  RUN_TEST(test_gpu_odd_block);
  RUN_TEST(test_copy_path);
  RUN_TEST(test_wide_index);
  RUN_TEST(test_build_failure_reports_log);
  RUN_TEST(test_resident_buffers);
  RUN_TEST(test_seed000_leaky_relu);
  RUN_TEST(test_seed001_leaky_relu_02);
  RUN_TEST(test_seed002_dying_relu);
  RUN_TEST(test_seed002_prelu_alpha_gradient);
  RUN_TEST(test_seed003_phased_relu);
  RUN_TEST(test_special_values);
  RUN_TEST(test_profile_corners);
  RUN_TEST(test_accuracy_cpu_2p26);
  RUN_TEST(test_accuracy_gpu_2p26);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
