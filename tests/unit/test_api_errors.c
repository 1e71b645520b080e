/* test_api_errors.c - bad input to the calls on host arrays (forward,
 * backward, reduce) and to every public function with a NULL context: a
 * status, never a crash, a last_error naming the problem where a context
 * exists, outputs untouched on failure; and the cases that must be accepted
 * (n == 0 with NULL arrays, exact in-place aliasing, from-y where valid),
 * checked against the float64 formulas of api_errors.h. The device side
 * (buffers, variants, devices, a caller's own queue) is
 * test_api_errors_device.c. */
#include <math.h>
#include <stdint.h>

#include "api_errors.h"
#include "device/device.h"
#include "test.h"

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

/* ---- NULL context ---- */

static void test_null_context_everywhere(void) {
  leakycl_params p = params_of(LEAKYCL_LEAKY_RELU, 0, NULL);
  leakycl_view v = leakycl_view_flat(4);
  float x[4] = {0}, y[4];
  float dalpha[1];
  leakycl_grads g = {dalpha, NULL, NULL, NULL, 0};
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
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
    leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
  leakycl_grads g = {&da, &nf, &mag, NULL, 0};
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
  leakycl_grads g3 = {d3, NULL, NULL, NULL, 0};
  const leakycl_view v3 = {0, 3, 4};
  CHECK_OK(leakycl_reduce(ctx, &p3, v3, NULL, NULL, &g3));
  CHECK(all_equal(d3, 3, 0.0f));
}

static void test_partial_overlap_rejected(void) {
  float buf[2 * N];
  memcpy(buf, xs, sizeof xs);
  float dx[N];
  float da[1];
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
    leakycl_grads g = {&da, &nf, &mag, NULL, 0};
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
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
  leakycl_grads nodalpha = {NULL, da, da, NULL, 0};
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
  leakycl_grads g = {da, NULL, NULL, NULL, 0};
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
  CHECK_FAILS(leakycl_backward(ctx, &p, v, (leakycl_source)3, x, x, dx, NULL),
              LEAKYCL_INVALID_ARGUMENT, "source 3");
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
  leakycl_grads g = {&da, &nf, &mag, NULL, 0};
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

int main(void) {
  if (!api_errors_open())
    return 1;
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
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
