/* test_pipeline.c - the chunked, overlapped copy path that discrete devices
 * take for big shared-alpha calls (host/ops/pipeline.c), forced on PoCL by
 * turning zero-copy off: results are bit-identical to the zero-copy path
 * and to a float64 oracle, in place too, over a partial last chunk; a
 * device failure midway is reported and the next call works. */
#include "core/core.h"
#include "device/device.h"
#include "float_bits.h"
#include "test.h"

/* Two and a half 4 Mi-element chunks. */
#define N (((size_t)5 << 22) / 2 + 3)

static leakycl_context *ctx;
static float *x, *dy, *a, *b;

static uint32_t rng_state = 777u;
static float rng_value(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  const int k = (int)(rng_state >> 20) % 4096 - 2048;
  if (k == 2047)
    return NAN;
  if (k == 2046)
    return INFINITY;
  if (k == 2045)
    return -0.0f;
  return (float)k / 64.0f;
}

/* The float64 oracle of leaky_relu (alpha 0.01) forward and backward. */
static float oracle_forward(float v) {
  if (isnan(v))
    return v;
  return v > 0 ? v : (float)((double)0.01f * (double)v);
}
/* The default profile (pytorch): NaN in x passes 0.01*dy. */
static float oracle_backward(float v, float g) {
  return v > 0 ? g : (float)((double)0.01f * (double)g);
}

static void forward_both_ways(leakycl_activation act) {
  leakycl_params p;
  leakycl_params_init(&p, act);
  lk_context_set_zero_copy(ctx, true);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(N), x, a), LEAKYCL_OK);
  lk_context_set_zero_copy(ctx, false);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(N), x, b), LEAKYCL_OK);
  CHECK(memcmp(a, b, N * sizeof(float)) == 0);
  CHECK(ctx->upload_queue && ctx->download_queue); /* the pipeline ran */
}

static void test_forward_matches_zero_copy_and_oracle(void) {
  for (int act = 0; act < LEAKYCL_ACTIVATION_COUNT; act++)
    forward_both_ways((leakycl_activation)act);
  /* b holds phased_relu; redo leaky_relu for the oracle. */
  forward_both_ways(LEAKYCL_LEAKY_RELU);
  size_t bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += bits_of(b[i]) != bits_of(oracle_forward(x[i]));
  CHECK_INT_EQ(bad, 0);
}

static void test_backward_matches_oracle(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  lk_context_set_zero_copy(ctx, false);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(N), LEAKYCL_FROM_X, x, dy, b, NULL),
               LEAKYCL_OK);
  size_t bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += bits_of(b[i]) != bits_of(oracle_backward(x[i], dy[i]));
  CHECK_INT_EQ(bad, 0);
}

static void test_in_place(void) {
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  lk_context_set_zero_copy(ctx, false);
  memcpy(a, x, N * sizeof(float));
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(N), a, a), LEAKYCL_OK);
  size_t bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += bits_of(a[i]) != bits_of(oracle_forward(x[i]));
  CHECK_INT_EQ(bad, 0);
  memcpy(a, dy, N * sizeof(float)); /* dx == dy */
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(N), LEAKYCL_FROM_X, x, a, a, NULL),
               LEAKYCL_OK);
  bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += bits_of(a[i]) != bits_of(oracle_backward(x[i], dy[i]));
  CHECK_INT_EQ(bad, 0);
}

/* LEAKYCL_FAULT=enqueue fails the first kernel launch of a new context:
 * here the first chunk's, with later chunks never enqueued. */
static void test_failure_midway_then_recovery(void) {
  setenv("LEAKYCL_FAULT", "enqueue", 1);
  leakycl_context *faulty = NULL;
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &faulty, err, sizeof err);
  unsetenv("LEAKYCL_FAULT");
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (st != LEAKYCL_OK)
    return;
  lk_context_set_zero_copy(faulty, false);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  CHECK_INT_EQ(leakycl_forward(faulty, &p, leakycl_view_flat(N), x, b), LEAKYCL_OPENCL_ERROR);
  CHECK_CONTAINS(leakycl_last_error(faulty), "LEAKYCL_FAULT");
  CHECK_INT_EQ(leakycl_forward(faulty, &p, leakycl_view_flat(N), x, b), LEAKYCL_OK);
  size_t bad = 0;
  for (size_t i = 0; i < N; i++)
    bad += !(b[i] == (x[i] > 0 || isnan(x[i]) ? x[i] : 0.0f) || (isnan(b[i]) && isnan(x[i])));
  CHECK_INT_EQ(bad, 0);
  leakycl_context_release(faulty);
}

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  x = malloc(N * sizeof(float));
  dy = malloc(N * sizeof(float));
  a = malloc(N * sizeof(float));
  b = malloc(N * sizeof(float));
  if (!x || !dy || !a || !b) {
    printf("FAIL no memory\n");
    return 1;
  }
  for (size_t i = 0; i < N; i++) {
    x[i] = rng_value();
    dy[i] = rng_value();
  }
  RUN_TEST(test_forward_matches_zero_copy_and_oracle);
  RUN_TEST(test_backward_matches_oracle);
  RUN_TEST(test_in_place);
  RUN_TEST(test_failure_midway_then_recovery);
  free(x), free(dy), free(a), free(b);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
