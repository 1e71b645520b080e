/* test_api_errors.c - bad input to every public function: a status, never a
 * crash, a last_error naming the problem where a context exists, outputs
 * untouched on failure; and the cases that must be accepted (n == 0 with
 * NULL arrays, exact in-place aliasing, from-y where valid, a caller's own
 * command queue), checked against float64 formulas written here. */
#include <math.h>
#include <stdint.h>

#include "device/device.h"
#include "test.h"

/* A call on ctx must fail with `want` and leave a last_error containing
 * `needle`. */
#define CHECK_FAILS(call, want, needle)                                                            \
  do {                                                                                             \
    leakycl_status st_ = (call);                                                                   \
    CHECK_INT_EQ(st_, want);                                                                       \
    CHECK(leakycl_last_error(ctx)[0] != '\0');                                                     \
    CHECK_CONTAINS(leakycl_last_error(ctx), needle);                                               \
  } while (0)

#define CHECK_OK(call)                                                                             \
  do {                                                                                             \
    leakycl_status st_ = (call);                                                                   \
    if (st_ != LEAKYCL_OK)                                                                         \
      fprintf(stderr, "  %s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call,                          \
              leakycl_status_name(st_), leakycl_last_error(ctx));                                  \
    CHECK_INT_EQ(st_, LEAKYCL_OK);                                                                 \
  } while (0)

/* Float equality that prints both values (bits compared, NaN == NaN). */
#define CHECK_FLOAT_EQ(a, b)                                                                       \
  do {                                                                                             \
    float a_ = (a), b_ = (b);                                                                      \
    if (!(a_ == b_ || (isnan(a_) && isnan(b_)))) {                                                 \
      fprintf(stderr, "  %s:%d: %s == %s: %.9g != %.9g\n", __FILE__, __LINE__, #a, #b, (double)a_, \
              (double)b_);                                                                         \
      test_case_failed_ = 1;                                                                       \
    }                                                                                              \
  } while (0)

#define N 1003 /* not a multiple of any vector width: the tail runs too */
#define SENTINEL 12345.5f

static leakycl_context *ctx;
static float xs[N], dys[N];

/* Deterministic inputs with negatives, zeros (and -0) and positives. */
static void init_data(void) {
  for (int i = 0; i < N; i++) {
    xs[i] = (float)((i * 37) % 41 - 20) * 0.125f;
    dys[i] = (float)((i * 13) % 17 - 8) * 0.25f + 0.5f;
  }
  xs[5] = -0.0f;
}

static void fill(float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++)
    a[i] = v;
}

static int all_equal(const float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++)
    if (!(a[i] == v))
      return 0;
  return 1;
}

/* The float64 oracle of DESIGN.md's table (products of two floats are
 * exact in double, so rounding them once to float is float32 arithmetic). */
static float leaky_forward_ref(float x, float a) {
  return x > 0 ? x : (float)((double)a * (double)x);
}
static float leaky_backward_ref(float x, float dy, float a) {
  return x > 0 ? dy : (float)((double)a * (double)dy);
}

static leakycl_params params_of(leakycl_activation act, size_t count, const float *alpha) {
  leakycl_params p;
  leakycl_params_init(&p, act);
  p.alpha_count = count;
  p.alpha = alpha;
  return p;
}

/* ---- NULL context ---- */

static void test_null_context_everywhere(void) {
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_view v = leakycl_view_flat(4);
  float x[4] = {0}, y[4];
  float dalpha[1];
  leakycl_grads g = {dalpha, NULL, NULL};
  leakycl_variant var = {LEAKYCL_STRATEGY_CPU, 4, 16, 4, 1024, 0};
  leakycl_device_info info;
  cl_context clc;
  CHECK_INT_EQ(leakycl_forward(NULL, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_backward(NULL, &p, v, LEAKYCL_FROM_X, x, x, y, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_reduce(NULL, &p, v, x, x, &g), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_reduce(NULL, &p, v, x, x, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_forward_buffers(NULL, &p, v, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_backward_buffers(NULL, &p, v, LEAKYCL_FROM_X, NULL, NULL, NULL, NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_reduce_buffers(NULL, &p, v, NULL, NULL, &g), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_reduce_buffers(NULL, &p, v, NULL, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_get_variant(NULL, &var), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_set_variant(NULL, &var), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_finish(NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_context_device(NULL, &info), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_context_cl(NULL, &clc, NULL, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_STR_EQ(leakycl_last_error(NULL), "");
  leakycl_context_release(NULL); /* a no-op */
}

static void test_null_outputs_on_context_getters(void) {
  /* These take a const context, so the status is the whole report. */
  CHECK_INT_EQ(leakycl_get_variant(ctx, NULL), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_context_device(ctx, NULL), LEAKYCL_INVALID_ARGUMENT);
  /* Every output of leakycl_context_cl may be NULL. */
  CHECK_OK(leakycl_context_cl(ctx, NULL, NULL, NULL));
  cl_context c = NULL;
  cl_device_id d = NULL;
  cl_command_queue q = NULL;
  CHECK_OK(leakycl_context_cl(ctx, &c, &d, &q));
  CHECK(c != NULL && d != NULL && q != NULL);
  CHECK_OK(leakycl_finish(ctx));
}

/* ---- parameters ---- */

static void test_null_params(void) {
  float x[4] = {0}, y[4];
  leakycl_view v = leakycl_view_flat(4);
  CHECK_FAILS(leakycl_forward(ctx, NULL, v, x, y), LEAKYCL_INVALID_ARGUMENT, "params");
  CHECK_FAILS(leakycl_backward(ctx, NULL, v, LEAKYCL_FROM_X, x, x, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "params");
  float da[1];
  leakycl_grads g = {da, NULL, NULL};
  CHECK_FAILS(leakycl_reduce(ctx, NULL, v, x, x, &g), LEAKYCL_INVALID_ARGUMENT, "params");
  CHECK_FAILS(leakycl_forward_buffers(ctx, NULL, v, NULL, NULL), LEAKYCL_INVALID_ARGUMENT,
              "params");
}

static void test_unknown_activation(void) {
  float x[4] = {0}, y[4];
  leakycl_params p = params_of(LEAKYCL_RELU, 0, NULL);
  p.activation = (leakycl_activation)9;
  CHECK_FAILS(leakycl_forward(ctx, &p, leakycl_view_flat(4), x, y), LEAKYCL_INVALID_ARGUMENT,
              "activation");
  p.activation = (leakycl_activation)-1;
  CHECK_FAILS(leakycl_forward(ctx, &p, leakycl_view_flat(4), x, y), LEAKYCL_INVALID_ARGUMENT,
              "activation");
}

static void test_relu_with_alpha(void) {
  float x[4] = {0}, y[4];
  const float a = 0.1f;
  leakycl_params p = params_of(LEAKYCL_RELU, 1, &a);
  CHECK_FAILS(leakycl_forward(ctx, &p, leakycl_view_flat(4), x, y), LEAKYCL_INVALID_ARGUMENT,
              "relu");
  CHECK_FAILS(leakycl_backward(ctx, &p, leakycl_view_flat(4), LEAKYCL_FROM_X, x, x, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "relu");
}

static void test_alpha_count(void) {
  float x[24] = {0}, y[24];
  const float a[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  const leakycl_view v = {2, 3, 4}; /* 3 channels */
  const size_t bad[] = {2, 4, 5};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    leakycl_params p = params_of(LEAKYCL_PRELU, bad[i], a);
    char count[32];
    snprintf(count, sizeof count, "%zu", bad[i]);
    CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, count);
    CHECK_CONTAINS(leakycl_last_error(ctx), "3 channels");
  }
  /* Leaky ReLU per channel is the same check. */
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 2, a);
  CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "channels");
  /* alpha NULL with a count. */
  p = params_of(LEAKYCL_PRELU, 1, NULL);
  CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha is NULL");
  p = params_of(LEAKYCL_PRELU, 3, NULL);
  CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha is NULL");
}

static void test_non_finite_alpha_beta(void) {
  float x[24] = {0}, y[24];
  const leakycl_view v = {2, 3, 4};
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++) {
    leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 1, &bad[i]);
    CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha[0]");
    CHECK_CONTAINS(leakycl_last_error(ctx), "finite");
    const float per[3] = {0.1f, bad[i], 0.3f};
    p = params_of(LEAKYCL_PRELU, 3, per);
    CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha[1]");
    p = params_of(LEAKYCL_PHASED_RELU, 0, NULL);
    p.beta = bad[i];
    CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "beta");
    float da[1];
    leakycl_grads g = {da, NULL, NULL};
    CHECK_FAILS(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, x, x, y, &g), LEAKYCL_INVALID_ARGUMENT,
                "beta");
  }
}

static void test_view_overflow(void) {
  float x[4] = {0}, y[4];
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  const leakycl_view v = {SIZE_MAX, 2, 1};
  CHECK_FAILS(leakycl_forward(ctx, &p, v, x, y), LEAKYCL_INVALID_ARGUMENT, "size_t");
  CHECK_FAILS(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, x, x, y, NULL), LEAKYCL_INVALID_ARGUMENT,
              "size_t");
  CHECK_FAILS(leakycl_forward_buffers(ctx, &p, v, NULL, NULL), LEAKYCL_INVALID_ARGUMENT, "size_t");
  /* Counts that fit size_t but whose byte size does not: rejected before any
   * array is touched (x and y are only 4 floats long). */
  const leakycl_view big = leakycl_view_flat(SIZE_MAX / 2);
  leakycl_status st = leakycl_forward(ctx, &p, big, x, x);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK(leakycl_last_error(ctx)[0] != '\0');
  st = leakycl_forward(ctx, &p, big, x, y);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK(leakycl_last_error(ctx)[0] != '\0');
}

/* ---- arrays ---- */

static void test_null_arrays(void) {
  float x[8] = {0}, y[8], dx[8];
  float da[1];
  leakycl_grads g = {da, NULL, NULL};
  leakycl_params lp = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params pp = params_of(LEAKYCL_PRELU, 0, NULL);
  const leakycl_view v = leakycl_view_flat(8);
  CHECK_FAILS(leakycl_forward(ctx, &lp, v, NULL, y), LEAKYCL_INVALID_ARGUMENT, "x is NULL");
  CHECK_FAILS(leakycl_forward(ctx, &lp, v, x, NULL), LEAKYCL_INVALID_ARGUMENT, "y is NULL");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, NULL, x, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "x is NULL");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_Y, NULL, x, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "y is NULL");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, x, NULL, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "dy is NULL");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, x, x, NULL, NULL),
              LEAKYCL_INVALID_ARGUMENT, "dx is NULL");
  CHECK_FAILS(leakycl_backward(ctx, &pp, v, LEAKYCL_FROM_X, x, x, NULL, &g),
              LEAKYCL_INVALID_ARGUMENT, "dx is NULL");
  CHECK_FAILS(leakycl_reduce(ctx, &pp, v, NULL, x, &g), LEAKYCL_INVALID_ARGUMENT, "x is NULL");
  CHECK_FAILS(leakycl_reduce(ctx, &pp, v, x, NULL, &g), LEAKYCL_INVALID_ARGUMENT, "dy is NULL");
}

static void test_empty_with_null_arrays(void) {
  /* n == 0: NULL arrays are fine, nothing is launched. */
  leakycl_params lp = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params pp = params_of(LEAKYCL_PRELU, 0, NULL);
  CHECK_OK(leakycl_forward(ctx, &lp, leakycl_view_flat(0), NULL, NULL));
  const leakycl_view empty = {3, 0, 5};
  CHECK_OK(leakycl_forward(ctx, &lp, empty, NULL, NULL));
  CHECK_OK(leakycl_backward(ctx, &lp, empty, LEAKYCL_FROM_X, NULL, NULL, NULL, NULL));
  CHECK_OK(leakycl_backward(ctx, &lp, empty, LEAKYCL_FROM_Y, NULL, NULL, NULL, NULL));
  /* The gradient of nothing: dalpha 0, diagnostics NaN (N_c = 0). */
  float da = SENTINEL, nf = SENTINEL, mag = SENTINEL;
  leakycl_grads g = {&da, &nf, &mag};
  CHECK_OK(leakycl_reduce(ctx, &pp, leakycl_view_flat(0), NULL, NULL, &g));
  CHECK_FLOAT_EQ(da, 0.0f);
  CHECK(isnan(nf));
  CHECK(isnan(mag));
  da = SENTINEL;
  CHECK_OK(leakycl_backward(ctx, &pp, leakycl_view_flat(0), LEAKYCL_FROM_X, NULL, NULL, NULL, &g));
  CHECK_FLOAT_EQ(da, 0.0f);
  /* Per-channel alpha over an empty tensor: one result per channel. */
  const float a3[3] = {0.1f, 0.2f, 0.3f};
  leakycl_params p3 = params_of(LEAKYCL_PRELU, 3, a3);
  float d3[3] = {SENTINEL, SENTINEL, SENTINEL};
  leakycl_grads g3 = {d3, NULL, NULL};
  const leakycl_view v3 = {0, 3, 4};
  CHECK_OK(leakycl_reduce(ctx, &p3, v3, NULL, NULL, &g3));
  CHECK(all_equal(d3, 3, 0.0f));
}

static void test_partial_overlap_rejected(void) {
  float buf[2 * N];
  memcpy(buf, xs, sizeof xs);
  float dx[N];
  float da[1];
  leakycl_grads g = {da, NULL, NULL};
  leakycl_params lp = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params pp = params_of(LEAKYCL_PRELU, 0, NULL);
  const leakycl_view v = leakycl_view_flat(N);
  CHECK_FAILS(leakycl_forward(ctx, &lp, v, buf, buf + 1), LEAKYCL_INVALID_ARGUMENT, "overlap");
  CHECK_FAILS(leakycl_forward(ctx, &lp, v, buf + N - 1, buf), LEAKYCL_INVALID_ARGUMENT, "overlap");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, buf, buf + 3, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "overlap");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, xs, buf, buf + 5, NULL),
              LEAKYCL_INVALID_ARGUMENT, "overlap");
  CHECK_FAILS(leakycl_backward(ctx, &lp, v, LEAKYCL_FROM_X, buf + 7, dys, buf, NULL),
              LEAKYCL_INVALID_ARGUMENT, "overlap");
  CHECK_FAILS(leakycl_reduce(ctx, &pp, v, buf, buf + 2, &g), LEAKYCL_INVALID_ARGUMENT, "overlap");
  /* Adjacent but disjoint is fine. */
  CHECK_OK(leakycl_forward(ctx, &lp, v, buf, buf + N));
  for (int i = 0; i < N; i++)
    CHECK_FLOAT_EQ(buf[N + i], leaky_forward_ref(xs[i], 0.01f));
}

/* Exact in-place calls give the same values as separate arrays, with
 * zero-copy buffers and with explicit copies. */
static void test_in_place(void) {
  const float a = 0.2f;
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 1, &a);
  const leakycl_view v = leakycl_view_flat(N);
  for (int zc = 1; zc >= 0; zc--) {
    lk_context_set_zero_copy(ctx, zc != 0);
    float buf[N];
    memcpy(buf, xs, sizeof xs);
    CHECK_OK(leakycl_forward(ctx, &p, v, buf, buf));
    int bad = 0;
    for (int i = 0; i < N; i++)
      bad += !(buf[i] == leaky_forward_ref(xs[i], a));
    if (bad)
      fprintf(stderr, "  zero_copy %d: forward in place: %d wrong values\n", zc, bad);
    CHECK_INT_EQ(bad, 0);
    /* -0 in x: y = a * -0 = -0. */
    CHECK(signbit(buf[5]));

    float d[N];
    memcpy(d, dys, sizeof dys);
    CHECK_OK(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, xs, d, d, NULL));
    bad = 0;
    for (int i = 0; i < N; i++)
      bad += !(d[i] == leaky_backward_ref(xs[i], dys[i], a));
    if (bad)
      fprintf(stderr, "  zero_copy %d: backward in place: %d wrong values\n", zc, bad);
    CHECK_INT_EQ(bad, 0);

    /* dx over x (the sign source) is exact aliasing too, so accepted. */
    memcpy(buf, xs, sizeof xs);
    CHECK_OK(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, buf, dys, buf, NULL));
    bad = 0;
    for (int i = 0; i < N; i++)
      bad += !(buf[i] == leaky_backward_ref(xs[i], dys[i], a));
    if (bad)
      fprintf(stderr, "  zero_copy %d: backward dx over x: %d wrong values\n", zc, bad);
    CHECK_INT_EQ(bad, 0);
  }
  lk_context_set_zero_copy(ctx, true);
}

/* backward in place with the parameter gradient in the same pass. */
static void test_in_place_with_grads(void) {
  const float a = 0.25f;
  leakycl_params p = params_of(LEAKYCL_PRELU, 1, &a);
  const leakycl_view v = leakycl_view_flat(N);
  double exact = 0, scale = 0, abs_neg = 0;
  size_t neg = 0;
  for (int i = 0; i < N; i++) {
    if (!(xs[i] > 0)) {
      exact += (double)dys[i] * xs[i];
      scale += fabs((double)dys[i] * xs[i]);
    }
    if (xs[i] < 0) {
      neg++;
      abs_neg += fabs((double)dys[i] * xs[i]);
    }
  }
  for (int zc = 1; zc >= 0; zc--) {
    lk_context_set_zero_copy(ctx, zc != 0);
    float d[N];
    memcpy(d, dys, sizeof dys);
    float da = SENTINEL, nf = SENTINEL, mag = SENTINEL;
    leakycl_grads g = {&da, &nf, &mag};
    CHECK_OK(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_X, xs, d, d, &g));
    int bad = 0;
    for (int i = 0; i < N; i++)
      bad += !(d[i] == leaky_backward_ref(xs[i], dys[i], a));
    CHECK_INT_EQ(bad, 0);
    CHECK_DBL_NEAR(da, exact, 1e-6 * scale + 1e-30);
    CHECK_DBL_NEAR(nf, (double)neg / N, 1e-6);
    CHECK_DBL_NEAR(mag, abs_neg / N, 1e-6 * abs_neg / N);
  }
  lk_context_set_zero_copy(ctx, true);
}

/* ---- gradients and sources ---- */

static void test_grads_rules(void) {
  float x[8] = {1, -1, 2, -2, 0, 3, -3, 4}, dx[8];
  float da[1];
  leakycl_grads g = {da, NULL, NULL};
  const leakycl_view v = leakycl_view_flat(8);
  leakycl_params relu = params_of(LEAKYCL_RELU, 0, NULL);
  leakycl_params leaky = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params prelu = params_of(LEAKYCL_PRELU, 0, NULL);
  CHECK_FAILS(leakycl_backward(ctx, &relu, v, LEAKYCL_FROM_X, x, x, dx, &g),
              LEAKYCL_INVALID_ARGUMENT, "relu");
  CHECK_CONTAINS(leakycl_last_error(ctx), "gradient");
  CHECK_FAILS(leakycl_backward(ctx, &leaky, v, LEAKYCL_FROM_X, x, x, dx, &g),
              LEAKYCL_INVALID_ARGUMENT, "leaky_relu");
  CHECK_FAILS(leakycl_reduce(ctx, &relu, v, x, x, &g), LEAKYCL_INVALID_ARGUMENT, "relu");
  CHECK_FAILS(leakycl_reduce(ctx, &leaky, v, x, x, &g), LEAKYCL_INVALID_ARGUMENT, "leaky_relu");
  leakycl_grads nodalpha = {NULL, da, da};
  CHECK_FAILS(leakycl_backward(ctx, &prelu, v, LEAKYCL_FROM_X, x, x, dx, &nodalpha),
              LEAKYCL_INVALID_ARGUMENT, "dalpha");
  CHECK_FAILS(leakycl_reduce(ctx, &prelu, v, x, x, &nodalpha), LEAKYCL_INVALID_ARGUMENT, "dalpha");
  CHECK_FAILS(leakycl_reduce(ctx, &prelu, v, x, x, NULL), LEAKYCL_INVALID_ARGUMENT, "grads");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &prelu, v, NULL, NULL, NULL), LEAKYCL_INVALID_ARGUMENT,
              "grads");
}

static void test_from_y_rules(void) {
  float y[8] = {1, -1, 2, -2, 0, 3, -3, 4}, dy[8] = {1, 1, 1, 1, 1, 1, 1, 1}, dx[8];
  float da[2];
  leakycl_grads g = {da, NULL, NULL};
  const leakycl_view v = leakycl_view_flat(8);
  leakycl_params phased = params_of(LEAKYCL_PHASED_RELU, 0, NULL);
  CHECK_FAILS(leakycl_backward(ctx, &phased, v, LEAKYCL_FROM_Y, y, dy, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "phased_relu");
  leakycl_params prelu = params_of(LEAKYCL_PRELU, 0, NULL);
  CHECK_FAILS(leakycl_backward(ctx, &prelu, v, LEAKYCL_FROM_Y, y, dy, dx, &g),
              LEAKYCL_INVALID_ARGUMENT, "needs x");
  const float bad_alphas[] = {0.0f, -0.0f, -0.5f, -1e-30f};
  for (size_t i = 0; i < sizeof bad_alphas / sizeof bad_alphas[0]; i++) {
    leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 1, &bad_alphas[i]);
    CHECK_FAILS(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_Y, y, dy, dx, NULL),
                LEAKYCL_INVALID_ARGUMENT, "alpha > 0");
    p.activation = LEAKYCL_PRELU;
    CHECK_FAILS(leakycl_backward(ctx, &p, v, LEAKYCL_FROM_Y, y, dy, dx, NULL),
                LEAKYCL_INVALID_ARGUMENT, "alpha > 0");
  }
  /* Per channel: one alpha <= 0 among positive ones is named. */
  const float per[2] = {0.3f, -0.1f};
  leakycl_params pc = params_of(LEAKYCL_PRELU, 2, per);
  const leakycl_view v2 = {1, 2, 4};
  CHECK_FAILS(leakycl_backward(ctx, &pc, v2, LEAKYCL_FROM_Y, y, dy, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "alpha[1]");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &pc, v2, LEAKYCL_FROM_Y, NULL, NULL, NULL, NULL),
              LEAKYCL_INVALID_ARGUMENT, "alpha[1]");
}

static void test_source_out_of_range(void) {
  float x[4] = {0}, dx[4];
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  const leakycl_view v = leakycl_view_flat(4);
  CHECK_FAILS(leakycl_backward(ctx, &p, v, (leakycl_source)2, x, x, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "source 2");
  CHECK_FAILS(leakycl_backward(ctx, &p, v, (leakycl_source)-1, x, x, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "source -1");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &p, v, (leakycl_source)5, NULL, NULL, NULL, NULL),
              LEAKYCL_INVALID_ARGUMENT, "source 5");
}

/* relu and leaky_relu (alpha > 0) backward from y equal backward from x. */
static void test_from_y_valid(void) {
  const leakycl_view v = leakycl_view_flat(N);
  const float a = 0.2f;
  leakycl_params ps[2] = {params_of(LEAKYCL_RELU, 0, NULL), params_of(LEAKYCL_LEAKY_RELU, 1, &a)};
  for (int k = 0; k < 2; k++) {
    float y[N], dx[N];
    CHECK_OK(leakycl_forward(ctx, &ps[k], v, xs, y));
    CHECK_OK(leakycl_backward(ctx, &ps[k], v, LEAKYCL_FROM_Y, y, dys, dx, NULL));
    const float slope = k == 0 ? 0.0f : a;
    int bad = 0;
    for (int i = 0; i < N; i++) {
      const float want = xs[i] > 0 ? dys[i] : (float)((double)slope * dys[i]);
      bad += !(dx[i] == want);
    }
    if (bad)
      fprintf(stderr, "  %s from y: %d wrong values\n", leakycl_activation_name(ps[k].activation),
              bad);
    CHECK_INT_EQ(bad, 0);
  }
}

/* ---- outputs untouched by a failed call ---- */

static void test_outputs_untouched_on_failure(void) {
  float y[N], dx[N];
  const leakycl_view v = leakycl_view_flat(N);
  const float nan_alpha = NAN;
  leakycl_params bad = params_of(LEAKYCL_PRELU, 1, &nan_alpha);
  fill(y, N, SENTINEL);
  CHECK_FAILS(leakycl_forward(ctx, &bad, v, xs, y), LEAKYCL_INVALID_ARGUMENT, "alpha");
  CHECK(all_equal(y, N, SENTINEL));
  float da = SENTINEL, nf = SENTINEL, mag = SENTINEL;
  leakycl_grads g = {&da, &nf, &mag};
  fill(dx, N, SENTINEL);
  CHECK_FAILS(leakycl_backward(ctx, &bad, v, LEAKYCL_FROM_X, xs, dys, dx, &g),
              LEAKYCL_INVALID_ARGUMENT, "alpha");
  CHECK(all_equal(dx, N, SENTINEL));
  CHECK(da == SENTINEL && nf == SENTINEL && mag == SENTINEL);
  CHECK_FAILS(leakycl_reduce(ctx, &bad, v, xs, dys, &g), LEAKYCL_INVALID_ARGUMENT, "alpha");
  CHECK(da == SENTINEL && nf == SENTINEL && mag == SENTINEL);
  /* A failure found after the parameters (overlap) leaves y alone too. */
  leakycl_params ok = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  float buf[N + 1];
  fill(buf, N + 1, SENTINEL);
  memcpy(buf, xs, 4 * sizeof(float));
  CHECK_FAILS(leakycl_forward(ctx, &ok, leakycl_view_flat(4), buf, buf + 2),
              LEAKYCL_INVALID_ARGUMENT, "overlap");
  for (int i = 0; i < 4; i++)
    CHECK_FLOAT_EQ(buf[i], xs[i]);
  /* A later success clears the error detail. */
  CHECK_OK(leakycl_forward(ctx, &ok, leakycl_view_flat(4), xs, y));
  CHECK_STR_EQ(leakycl_last_error(ctx), "");
}

/* ---- device-resident buffers ---- */

static cl_mem make_buffer(cl_context c, size_t floats) {
  cl_int rc;
  cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  return m;
}

static void read_buffer(cl_mem m, float *out, size_t floats) {
  cl_command_queue q;
  leakycl_context_cl(ctx, NULL, NULL, &q);
  CHECK_INT_EQ(clEnqueueReadBuffer(q, m, CL_TRUE, 0, floats * sizeof(float), out, 0, NULL, NULL),
               CL_SUCCESS);
}

static void write_buffer(cl_mem m, const float *in, size_t floats) {
  cl_command_queue q;
  leakycl_context_cl(ctx, NULL, NULL, &q);
  CHECK_INT_EQ(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, floats * sizeof(float), in, 0, NULL, NULL),
               CL_SUCCESS);
}

static cl_context other_cl;      /* a second cl_context on the same device */
static cl_command_queue other_q; /* its in-order queue */

static void test_buffers_bad(void) {
  cl_context c;
  leakycl_context_cl(ctx, &c, NULL, NULL);
  cl_mem x = make_buffer(c, N), y = make_buffer(c, N), dy = make_buffer(c, N);
  cl_mem small = make_buffer(c, N - 1);
  cl_mem foreign = other_cl ? make_buffer(other_cl, N) : NULL;
  const leakycl_view v = leakycl_view_flat(N);
  leakycl_params lp = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_params pp = params_of(LEAKYCL_PRELU, 0, NULL);
  float da[1];
  leakycl_grads g = {da, NULL, NULL};

  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, NULL, y), LEAKYCL_INVALID_ARGUMENT,
              "buffer x is NULL");
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, NULL), LEAKYCL_INVALID_ARGUMENT,
              "buffer y is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, NULL, dy, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer x is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, NULL, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dy is NULL");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, dy, NULL, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dx is NULL");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, NULL, dy, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer x is NULL");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, x, NULL, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer dy is NULL");

  /* Too small by one float: the message gives the sizes. */
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, small, y), LEAKYCL_INVALID_ARGUMENT, "buffer x");
  CHECK_CONTAINS(leakycl_last_error(ctx), "4008 bytes");
  CHECK_CONTAINS(leakycl_last_error(ctx), "1003 floats");
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, small), LEAKYCL_INVALID_ARGUMENT, "buffer y");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, small, y, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dy");
  CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, dy, small, NULL),
              LEAKYCL_INVALID_ARGUMENT, "buffer dx");
  CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, x, small, &g), LEAKYCL_INVALID_ARGUMENT,
              "buffer dy");
  /* A view that overflows the byte count of any buffer. */
  CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, leakycl_view_flat(SIZE_MAX / 2), x, y),
              LEAKYCL_INVALID_ARGUMENT, "buffer x");

  /* A buffer of another cl_context. */
  if (foreign) {
    CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, foreign, y), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
    CHECK_FAILS(leakycl_forward_buffers(ctx, &lp, v, x, foreign), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
    CHECK_FAILS(leakycl_backward_buffers(ctx, &lp, v, LEAKYCL_FROM_X, x, foreign, y, NULL),
                LEAKYCL_INVALID_ARGUMENT, "another cl_context");
    CHECK_FAILS(leakycl_reduce_buffers(ctx, &pp, v, foreign, dy, &g), LEAKYCL_INVALID_ARGUMENT,
                "another cl_context");
  }

  /* The output buffer is untouched by a rejected call. */
  float host[N];
  fill(host, N, SENTINEL);
  write_buffer(y, host, N);
  write_buffer(x, xs, N);
  const float nan_alpha = NAN;
  leakycl_params bad = params_of(LEAKYCL_LEAKY_RELU, 1, &nan_alpha);
  CHECK_FAILS(leakycl_forward_buffers(ctx, &bad, v, x, y), LEAKYCL_INVALID_ARGUMENT, "alpha");
  CHECK_OK(leakycl_finish(ctx));
  read_buffer(y, host, N);
  CHECK(all_equal(host, N, SENTINEL));

  /* And a valid call on the same buffers works, in place too. */
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, v, x, y));
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, v, x, x));
  CHECK_OK(leakycl_finish(ctx));
  float hy[N], hx[N];
  read_buffer(y, hy, N);
  read_buffer(x, hx, N);
  int bad_y = 0, bad_x = 0;
  for (int i = 0; i < N; i++) {
    bad_y += !(hy[i] == leaky_forward_ref(xs[i], 0.01f));
    bad_x += !(hx[i] == leaky_forward_ref(xs[i], 0.01f));
  }
  CHECK_INT_EQ(bad_y, 0);
  CHECK_INT_EQ(bad_x, 0);
  /* An empty view with real buffers is a no-op. */
  CHECK_OK(leakycl_forward_buffers(ctx, &lp, leakycl_view_flat(0), x, y));

  clReleaseMemObject(x);
  clReleaseMemObject(y);
  clReleaseMemObject(dy);
  clReleaseMemObject(small);
  if (foreign)
    clReleaseMemObject(foreign);
}

/* ---- variants ---- */

static int variant_equal(const leakycl_variant *a, const leakycl_variant *b) {
  return a->strategy == b->strategy && a->vector_width == b->vector_width &&
         a->work_group_size == b->work_group_size && a->vectors_per_item == b->vectors_per_item &&
         a->reduce_block == b->reduce_block;
}

static void expect_variant_rejected(const leakycl_variant *bad, const char *needle) {
  leakycl_variant before, after;
  CHECK_OK(leakycl_get_variant(ctx, &before));
  CHECK_FAILS(leakycl_set_variant(ctx, bad), LEAKYCL_INVALID_ARGUMENT, needle);
  CHECK_OK(leakycl_get_variant(ctx, &after));
  if (!variant_equal(&before, &after)) {
    char b[128], a[128];
    leakycl_variant_describe(&before, b, sizeof b);
    leakycl_variant_describe(&after, a, sizeof a);
    fprintf(stderr, "  variant changed by a rejected set: %s -> %s\n", b, a);
  }
  CHECK(variant_equal(&before, &after));
}

static void test_set_variant_bad_fields(void) {
  leakycl_variant base;
  CHECK_OK(leakycl_get_variant(ctx, &base));
  leakycl_device_info info;
  CHECK_OK(leakycl_context_device(ctx, &info));
  leakycl_variant v;

  CHECK_FAILS(leakycl_set_variant(ctx, NULL), LEAKYCL_INVALID_ARGUMENT, "variant");
  const unsigned bad_vw[] = {0, 3, 5, 32};
  for (size_t i = 0; i < sizeof bad_vw / sizeof bad_vw[0]; i++) {
    v = base;
    v.vector_width = bad_vw[i];
    expect_variant_rejected(&v, "vector_width");
  }
  v = base;
  v.strategy = (leakycl_strategy)7;
  expect_variant_rejected(&v, "strategy");

  v = base;
  v.work_group_size = 0;
  expect_variant_rejected(&v, "work_group_size");
  CHECK_CONTAINS(leakycl_last_error(ctx), "[1, ");
  v.work_group_size = info.max_work_group_size + 1;
  expect_variant_rejected(&v, "work_group_size");
  char max[64];
  snprintf(max, sizeof max, "%zu", info.max_work_group_size);
  CHECK_CONTAINS(leakycl_last_error(ctx), max);

  v = base;
  v.strategy = LEAKYCL_STRATEGY_GPU;
  v.work_group_size = 48;
  expect_variant_rejected(&v, "power of two");
  /* Not a power of two is fine for the CPU strategy. */
  v.strategy = LEAKYCL_STRATEGY_CPU;
  CHECK_OK(leakycl_set_variant(ctx, &v));

  v = base;
  v.vectors_per_item = 0;
  expect_variant_rejected(&v, "vectors_per_item");
  v = base;
  v.reduce_block = 0;
  expect_variant_rejected(&v, "reduce_block");
  v.reduce_block = ((size_t)1 << 24) + 1;
  expect_variant_rejected(&v, "reduce_block");
  CHECK_CONTAINS(leakycl_last_error(ctx), "16777216");
  v.reduce_block = (size_t)1 << 24; /* the top of the range */
  CHECK_OK(leakycl_set_variant(ctx, &v));
  leakycl_variant got;
  CHECK_OK(leakycl_get_variant(ctx, &got));
  CHECK(variant_equal(&got, &v));
  CHECK_STR_EQ(leakycl_last_error(ctx), "");

  CHECK_OK(leakycl_set_variant(ctx, &base));
}

/* ---- devices ---- */

static void test_list_devices(void) {
  char err[256] = "";
  leakycl_device_info one;
  CHECK_INT_EQ(leakycl_list_devices(&one, 1, NULL, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  size_t count = 0;
  err[0] = '\0';
  CHECK_INT_EQ(leakycl_list_devices(NULL, 1, &count, err, sizeof err), LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  CHECK_INT_EQ(leakycl_list_devices(NULL, 1, &count, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  /* Counting only. */
  CHECK_INT_EQ(leakycl_list_devices(NULL, 0, &count, err, sizeof err), LEAKYCL_OK);
  CHECK(count >= 1);
  /* A normal listing; a capacity above the count leaves the rest alone. */
  leakycl_device_info devs[8];
  memset(devs, 0x7f, sizeof devs);
  size_t n2 = 0;
  CHECK_INT_EQ(leakycl_list_devices(devs, 8, &n2, err, sizeof err), LEAKYCL_OK);
  CHECK_INT_EQ(n2, count);
  for (size_t i = 0; i < n2 && i < 8; i++) {
    CHECK(devs[i].name[0] != '\0');
    CHECK(devs[i].platform_name[0] != '\0');
    CHECK(devs[i].vendor[0] != '\0');
    CHECK(devs[i].version[0] != '\0');
    CHECK(strncmp(devs[i].version, "OpenCL ", 7) == 0);
    CHECK(devs[i].driver_version[0] != '\0');
    CHECK(devs[i].compute_units >= 1);
    CHECK(devs[i].global_mem_bytes > 0);
    CHECK(devs[i].local_mem_bytes > 0);
    CHECK(devs[i].max_alloc_bytes > 0);
    CHECK(devs[i].max_work_group_size >= 1);
    CHECK(devs[i].unified_memory == 0 || devs[i].unified_memory == 1);
    CHECK(devs[i].type == LEAKYCL_DEVICE_CPU || devs[i].type == LEAKYCL_DEVICE_GPU ||
          devs[i].type == LEAKYCL_DEVICE_ACCELERATOR || devs[i].type == LEAKYCL_DEVICE_OTHER);
    CHECK(memchr(devs[i].name, '\0', sizeof devs[i].name) != NULL);
  }
  if (n2 < 8) {
    const unsigned char *rest = (const unsigned char *)&devs[n2];
    CHECK(rest[0] == 0x7f);
  }
  /* Capacity below the count: the first entries and the full count. */
  size_t n3 = 0;
  CHECK_INT_EQ(leakycl_list_devices(&one, 1, &n3, NULL, 0), LEAKYCL_OK);
  CHECK_INT_EQ(n3, count);
  CHECK_STR_EQ(one.name, devs[0].name);
  /* The context's device is one of the listed ones. */
  leakycl_device_info mine;
  CHECK_OK(leakycl_context_device(ctx, &mine));
  int found = 0;
  for (size_t i = 0; i < n2 && i < 8; i++)
    found |= strcmp(devs[i].name, mine.name) == 0 &&
             devs[i].platform_index == mine.platform_index &&
             devs[i].device_index == mine.device_index;
  CHECK(found);
}

/* ---- bring your own queue ---- */

static void test_create_from_queue_bad(void) {
  char err[256] = "";
  leakycl_context *c = (leakycl_context *)&c;
  CHECK_INT_EQ(leakycl_context_create_from_queue(NULL, &c, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK(err[0] != '\0');
  CHECK(c == NULL || c == (leakycl_context *)&c);
  if (other_q) {
    err[0] = '\0';
    CHECK_INT_EQ(leakycl_context_create_from_queue(other_q, NULL, err, sizeof err),
                 LEAKYCL_INVALID_ARGUMENT);
    CHECK(err[0] != '\0');
  }
  CHECK_INT_EQ(leakycl_context_create(NULL, NULL, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  /* An out-of-order queue is refused (leakycl relies on in-order). */
  cl_device_id dev;
  leakycl_context_cl(ctx, NULL, &dev, NULL);
  if (other_cl) {
    cl_int rc;
    cl_command_queue ooo =
        clCreateCommandQueue(other_cl, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &rc);
    if (rc == CL_SUCCESS) {
      c = NULL;
      err[0] = '\0';
      CHECK_INT_EQ(leakycl_context_create_from_queue(ooo, &c, err, sizeof err),
                   LEAKYCL_UNSUPPORTED);
      CHECK(c == NULL);
      CHECK_CONTAINS(err, "order");
      clReleaseCommandQueue(ooo);
    }
  }
}

static void test_create_from_queue_runs(void) {
  if (!other_q) {
    fprintf(stderr, "  could not create a raw OpenCL queue\n");
    CHECK(other_q != NULL);
    return;
  }
  leakycl_context *c = NULL;
  char err[512] = "";
  leakycl_status st = leakycl_context_create_from_queue(other_q, &c, err, sizeof err);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  create_from_queue: %s\n", err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (!c)
    return;
  /* The context hands back the caller's objects. */
  cl_context cc;
  cl_command_queue cq;
  CHECK_INT_EQ(leakycl_context_cl(c, &cc, NULL, &cq), LEAKYCL_OK);
  CHECK(cc == other_cl);
  CHECK(cq == other_q);
  leakycl_device_info info;
  CHECK_INT_EQ(leakycl_context_device(c, &info), LEAKYCL_OK);
  CHECK(info.name[0] != '\0');

  const float a = 0.3f;
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 1, &a);
  float y[N];
  fill(y, N, SENTINEL);
  st = leakycl_forward(c, &p, leakycl_view_flat(N), xs, y);
  if (st != LEAKYCL_OK)
    fprintf(stderr, "  forward through the caller's queue: %s\n", leakycl_last_error(c));
  CHECK_INT_EQ(st, LEAKYCL_OK);
  int bad = 0;
  for (int i = 0; i < N; i++)
    bad += !(y[i] == leaky_forward_ref(xs[i], a));
  CHECK_INT_EQ(bad, 0);

  /* Buffers of the caller's cl_context are this context's buffers. */
  cl_int rc;
  cl_mem xb =
      clCreateBuffer(other_cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof xs, xs, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  cl_mem yb = clCreateBuffer(other_cl, CL_MEM_READ_WRITE, sizeof xs, NULL, &rc);
  CHECK_INT_EQ(rc, CL_SUCCESS);
  CHECK_INT_EQ(leakycl_forward_buffers(c, &p, leakycl_view_flat(N), xb, yb), LEAKYCL_OK);
  /* The work is on the caller's queue: wait on it directly. */
  CHECK_INT_EQ(clEnqueueReadBuffer(other_q, yb, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
               CL_SUCCESS);
  bad = 0;
  for (int i = 0; i < N; i++)
    bad += !(y[i] == leaky_forward_ref(xs[i], a));
  CHECK_INT_EQ(bad, 0);
  /* And a buffer of our main context is foreign to it. */
  cl_context mainc;
  leakycl_context_cl(ctx, &mainc, NULL, NULL);
  cl_mem mb = make_buffer(mainc, N);
  CHECK_INT_EQ(leakycl_forward_buffers(c, &p, leakycl_view_flat(N), mb, yb),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(c), "another cl_context");
  clReleaseMemObject(mb);
  clReleaseMemObject(xb);
  clReleaseMemObject(yb);
  leakycl_context_release(c);
  /* The queue was retained, not taken: it still works after the release. */
  CHECK_INT_EQ(clFinish(other_q), CL_SUCCESS);
}

static void open_other_cl(void) {
  cl_device_id dev;
  leakycl_context_cl(ctx, NULL, &dev, NULL);
  cl_int rc;
  other_cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    other_cl = NULL;
    return;
  }
  other_q = clCreateCommandQueue(other_cl, dev, 0, &rc);
  if (rc != CL_SUCCESS)
    other_q = NULL;
}

int main(void) {
  init_data();
  char err[1024] = "";
  leakycl_status st = leakycl_context_create("auto", &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create: %s: %s\n", leakycl_status_name(st), err);
    printf("# 0 passed, 1 failed\n");
    return 1;
  }
  open_other_cl();
  RUN_TEST(test_null_context_everywhere);
  RUN_TEST(test_null_outputs_on_context_getters);
  RUN_TEST(test_null_params);
  RUN_TEST(test_unknown_activation);
  RUN_TEST(test_relu_with_alpha);
  RUN_TEST(test_alpha_count);
  RUN_TEST(test_non_finite_alpha_beta);
  RUN_TEST(test_view_overflow);
  RUN_TEST(test_null_arrays);
  RUN_TEST(test_empty_with_null_arrays);
  RUN_TEST(test_partial_overlap_rejected);
  RUN_TEST(test_in_place);
  RUN_TEST(test_in_place_with_grads);
  RUN_TEST(test_grads_rules);
  RUN_TEST(test_from_y_rules);
  RUN_TEST(test_source_out_of_range);
  RUN_TEST(test_from_y_valid);
  RUN_TEST(test_outputs_untouched_on_failure);
  RUN_TEST(test_buffers_bad);
  RUN_TEST(test_set_variant_bad_fields);
  RUN_TEST(test_list_devices);
  RUN_TEST(test_create_from_queue_bad);
  RUN_TEST(test_create_from_queue_runs);
  if (other_q)
    clReleaseCommandQueue(other_q);
  if (other_cl)
    clReleaseContext(other_cl);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
