/* test_fault.c - LEAKYCL_FAULT: each kind fails the first such call of a new
 * context once, with the OpenCL error name and a mark in the message, leaves
 * the output untouched, and the next call works; bad values are refused. */
#include <stdlib.h>

#include "device/device.h"
#include "test.h"

/* Opens a CPU context with LEAKYCL_FAULT set to `fault` (NULL: unset). */
static leakycl_context *open_with_fault(const char *fault, leakycl_status *st, char *err,
                                        size_t errlen) {
  if (fault)
    setenv("LEAKYCL_FAULT", fault, 1);
  else
    unsetenv("LEAKYCL_FAULT");
  leakycl_context *ctx = NULL;
  *st = leakycl_context_create(test_device_spec(), &ctx, err, errlen);
  unsetenv("LEAKYCL_FAULT");
  return ctx;
}

/* One forward fails as the fault says, the next one gives leaky_relu's values. */
static void expect_fault_then_recovery(const char *fault, bool zero_copy, leakycl_status want,
                                       const char *cl_name) {
  char err[512];
  leakycl_status st;
  leakycl_context *ctx = open_with_fault(fault, &st, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (!ctx)
    return;
  lk_context_set_zero_copy(ctx, zero_copy);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  const float x[3] = {-1, 0, 2};
  float y[3] = {7, 7, 7};
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(3), x, y), want);
  CHECK_CONTAINS(leakycl_last_error(ctx), cl_name);
  CHECK_CONTAINS(leakycl_last_error(ctx), "(injected by LEAKYCL_FAULT)");
  CHECK(y[0] == 7 && y[1] == 7 && y[2] == 7);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(3), x, y), LEAKYCL_OK);
  CHECK(y[0] == -0.01f && y[1] == 0 && y[2] == 2);
  CHECK_STR_EQ(leakycl_last_error(ctx), "");
  leakycl_context_release(ctx);
}

static void test_fault_build(void) {
  expect_fault_then_recovery("build", true, LEAKYCL_BUILD_FAILED, "CL_BUILD_PROGRAM_FAILURE");
}
static void test_fault_alloc_zero_copy(void) {
  expect_fault_then_recovery("alloc", true, LEAKYCL_OUT_OF_MEMORY,
                             "CL_MEM_OBJECT_ALLOCATION_FAILURE");
}
static void test_fault_alloc_pooled(void) {
  expect_fault_then_recovery("alloc", false, LEAKYCL_OUT_OF_MEMORY,
                             "CL_MEM_OBJECT_ALLOCATION_FAILURE");
}
static void test_fault_enqueue(void) {
  expect_fault_then_recovery("enqueue", true, LEAKYCL_OPENCL_ERROR, "CL_OUT_OF_RESOURCES");
}

/* The reduction's launches are covered too: its first enqueue fails. */
static void test_fault_enqueue_in_reduce(void) {
  char err[512];
  leakycl_status st;
  leakycl_context *ctx = open_with_fault("enqueue", &st, err, sizeof err);
  if (!ctx) {
    CHECK_INT_EQ(st, LEAKYCL_OK);
    return;
  }
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_PRELU);
  const float x[2] = {-2, 3}, dy[2] = {1, 1};
  float da = 5, dx[2];
  leakycl_grads g = {&da, NULL, NULL, NULL, 0};
  CHECK_INT_EQ(leakycl_reduce(ctx, &p, leakycl_view_flat(2), x, dy, &g), LEAKYCL_OPENCL_ERROR);
  CHECK(da == 5);
  CHECK_INT_EQ(leakycl_backward(ctx, &p, leakycl_view_flat(2), LEAKYCL_FROM_X, x, dy, dx, &g),
               LEAKYCL_OK);
  CHECK(da == -2 && dx[0] == 0.25f && dx[1] == 1);
  leakycl_context_release(ctx);
}

static void test_fault_bad_value_refused(void) {
  char err[512] = "";
  leakycl_status st;
  leakycl_context *ctx = open_with_fault("sometimes", &st, err, sizeof err);
  CHECK(ctx == NULL);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(err, "LEAKYCL_FAULT=\"sometimes\"");
}

static void test_no_fault_when_unset(void) {
  char err[512];
  leakycl_status st;
  leakycl_context *ctx = open_with_fault(NULL, &st, err, sizeof err);
  CHECK_INT_EQ(st, LEAKYCL_OK);
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_RELU);
  const float x[1] = {-3};
  float y[1] = {9};
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(1), x, y), LEAKYCL_OK);
  CHECK(y[0] == 0);
  leakycl_context_release(ctx);
}

/* LEAKYCL_POOL_MIN_BYTES pre-sizes the pooled buffers (a bad value fails the
 * open); calls under it never re-create one. */
static void test_pool_min_bytes(void) {
  char err[512] = "";
  leakycl_context *ctx = NULL;
  setenv("LEAKYCL_POOL_MIN_BYTES", "12x", 1);
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK(ctx == NULL);
  CHECK_CONTAINS(err, "LEAKYCL_POOL_MIN_BYTES \"12x\"");
  setenv("LEAKYCL_POOL_MIN_BYTES", "65536", 1);
  CHECK_INT_EQ(leakycl_context_create(test_device_spec(), &ctx, err, sizeof err), LEAKYCL_OK);
  unsetenv("LEAKYCL_POOL_MIN_BYTES");
  if (!ctx)
    return;
  lk_context_set_zero_copy(ctx, false); /* host data through the pools */
  leakycl_params p;
  leakycl_params_init(&p, LEAKYCL_LEAKY_RELU);
  float x[3000], y[3000];
  for (int i = 0; i < 3000; i++)
    x[i] = (float)(i - 1500);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(3), x, y), LEAKYCL_OK);
  const cl_mem first = ctx->pool[LK_POOL_IN].mem;
  CHECK(ctx->pool[LK_POOL_IN].bytes == 65536);
  CHECK_INT_EQ(leakycl_forward(ctx, &p, leakycl_view_flat(3000), x, y), LEAKYCL_OK);
  CHECK(ctx->pool[LK_POOL_IN].mem == first); /* 12000 bytes: not re-created */
  CHECK(y[0] == -1500.0f * 0.01f && y[2999] == 1499.0f);
  leakycl_context_release(ctx);
}

int main(void) {
  RUN_TEST(test_fault_build);
  RUN_TEST(test_fault_alloc_zero_copy);
  RUN_TEST(test_fault_alloc_pooled);
  RUN_TEST(test_fault_enqueue);
  RUN_TEST(test_fault_enqueue_in_reduce);
  RUN_TEST(test_fault_bad_value_refused);
  RUN_TEST(test_no_fault_when_unset);
  RUN_TEST(test_pool_min_bytes);
  return TEST_SUMMARY();
}
