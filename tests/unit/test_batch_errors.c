/* test_batch_errors.c - leakycl_run_jobs on bad input and failures: count 0
 * and NULL jobs, invalid jobs inside a batch (each with its single call's
 * status and message, its output untouched, the good jobs run) and a device
 * failure marking every job of its launch. */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "device/device.h"
#include "op_cases.h"
#include "oracle.h"
#include "test.h"

static leakycl_context *ctx;

/* ---- count 0, invalid jobs, a device failure ---- */

static void test_count_zero_and_null(void) {
  CHECK_INT_EQ(leakycl_run_jobs(ctx, NULL, 0), LEAKYCL_OK);
  CHECK_INT_EQ(leakycl_run_jobs(NULL, NULL, 0), LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(leakycl_run_jobs(ctx, NULL, 3), LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "jobs is NULL");
}

/* A batch with bad jobs among good ones: each bad job gets the status and
 * message its single call gives, its output stays untouched, the good jobs
 * run, and the call returns the first failure. */
static void test_invalid_jobs_isolated(void) {
  use_variant(ctx, LEAKYCL_STRATEGY_CPU, 8, 16, 64, 16384);
  enum { N = 64, C = 4 };
  float x[N], dy[N], y_good[N], y_single[N], outs[8][N];
  for (int i = 0; i < N; i++) {
    x[i] = (float)(i - 32) * 0.25f;
    dy[i] = 1.0f + (float)i;
  }
  for (int k = 0; k < 8; k++)
    for (int i = 0; i < N; i++)
      outs[k][i] = 42.0f;
  float alphas[3] = {0.1f, 0.2f, 0.3f}, da[C], nf[C], ma[C];
  leakycl_grads g = {da, nf, ma, NULL, 0};
  leakycl_job jobs[9];
  memset(jobs, 0, sizeof jobs);
  for (int k = 0; k < 9; k++) {
    leakycl_params_init(&jobs[k].params, LEAKYCL_PRELU);
    jobs[k].view = (leakycl_view){4, C, N / 16};
    jobs[k].op = LEAKYCL_OP_BACKWARD;
    jobs[k].x = x;
    jobs[k].dy = dy;
    jobs[k].out = k < 8 ? outs[k] : y_good;
  }
  jobs[0].op = LEAKYCL_OP_FORWARD; /* good */
  jobs[0].dy = NULL;
  jobs[1].x = NULL;              /* NULL x */
  jobs[2].params.alpha = alphas; /* 3 alphas for 4 channels */
  jobs[2].params.alpha_count = 3;
  jobs[3].source = LEAKYCL_FROM_Y; /* from y with grads */
  jobs[3].grads = &g;
  jobs[4].op = (leakycl_op)7;      /* no such op */
  jobs[5].op = LEAKYCL_OP_FORWARD; /* forward with grads */
  jobs[5].grads = &g;
  jobs[6].params.activation = LEAKYCL_RELU; /* relu has no gradient */
  jobs[6].grads = &g;
  jobs[7].out = outs[7] + 1; /* dx overlaps dy without being it */
  jobs[7].dy = outs[7];
  jobs[8].grads = &g; /* good, with grads */
  leakycl_status st = leakycl_run_jobs(ctx, jobs, 9);
  CHECK_INT_EQ(st, LEAKYCL_INVALID_ARGUMENT);
  CHECK_CONTAINS(leakycl_last_error(ctx), "job 1: x is NULL");
  CHECK_INT_EQ(jobs[0].status, LEAKYCL_OK);
  CHECK_STR_EQ(jobs[0].error, "");
  CHECK_INT_EQ(jobs[8].status, LEAKYCL_OK);
  for (int k = 1; k < 8; k++) {
    CHECK_INT_EQ(jobs[k].status, LEAKYCL_INVALID_ARGUMENT);
    CHECK(jobs[k].error[0] != '\0');
    for (int i = 0; i < N; i++) {
      if (k != 7 && outs[k][i] != 42.0f) {
        fprintf(stderr, "  job %d wrote its output\n", k);
        test_case_failed_ = 1;
        break;
      }
    }
  }
  CHECK_CONTAINS(jobs[1].error, "x is NULL");
  CHECK_CONTAINS(jobs[2].error, "alpha has 3 values but the tensor has 4 channels");
  CHECK_CONTAINS(jobs[3].error, "backward from y cannot compute dalpha");
  CHECK_CONTAINS(jobs[4].error, "op 7");
  CHECK_CONTAINS(jobs[5].error, "forward job takes no grads");
  CHECK_CONTAINS(jobs[6].error, "relu has no learnable alpha");
  CHECK_CONTAINS(jobs[7].error, "overlap");
  /* The same messages as the single calls. */
  leakycl_params bad = jobs[2].params;
  CHECK_INT_EQ(leakycl_backward(ctx, &bad, jobs[2].view, LEAKYCL_FROM_X, x, dy, outs[2], NULL),
               LEAKYCL_INVALID_ARGUMENT);
  CHECK_STR_EQ(jobs[2].error, leakycl_last_error(ctx));
  CHECK_INT_EQ(
      leakycl_backward(ctx, &jobs[3].params, jobs[3].view, LEAKYCL_FROM_Y, x, dy, outs[3], &g),
      LEAKYCL_INVALID_ARGUMENT);
  CHECK_STR_EQ(jobs[3].error, leakycl_last_error(ctx));
  /* The good jobs' answers are the single calls'. */
  CHECK_INT_EQ(leakycl_forward(ctx, &jobs[0].params, jobs[0].view, x, y_single), LEAKYCL_OK);
  CHECK(memcmp(outs[0], y_single, sizeof y_single) == 0);
  float sda[C], snf[C], sma[C];
  leakycl_grads sg = {sda, snf, sma, NULL, 0};
  CHECK_INT_EQ(
      leakycl_backward(ctx, &jobs[8].params, jobs[8].view, LEAKYCL_FROM_X, x, dy, y_single, &sg),
      LEAKYCL_OK);
  CHECK(memcmp(y_good, y_single, sizeof y_single) == 0);
  CHECK(da[0] == sda[0] && nf[0] == snf[0] && ma[0] == sma[0]);
  /* A batch of only bad jobs launches nothing and fails. */
  CHECK_INT_EQ(leakycl_run_jobs(ctx, jobs + 1, 2), LEAKYCL_INVALID_ARGUMENT);
  /* Empty jobs succeed: dalpha 0 and NaN diagnostics. */
  leakycl_job empty;
  memset(&empty, 0, sizeof empty);
  leakycl_params_init(&empty.params, LEAKYCL_PHASED_RELU);
  empty.op = LEAKYCL_OP_BACKWARD;
  empty.view = leakycl_view_flat(0);
  empty.grads = &g;
  da[0] = 5.0f;
  CHECK_INT_EQ(leakycl_run_jobs(ctx, &empty, 1), LEAKYCL_OK);
  CHECK(da[0] == 0.0f && isnan(nf[0]) && isnan(ma[0]));
}

/* LEAKYCL_FAULT=enqueue: the launch fails, every job in it reports the
 * OpenCL error with nothing written, a bad job keeps its own error, and
 * the next batch works; sent staged (this small batch's way) or mapped. */
static void device_failure_marks_launch(bool mapped) {
  setenv("LEAKYCL_FAULT", "enqueue", 1);
  leakycl_context *fctx;
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &fctx, err, sizeof err);
  unsetenv("LEAKYCL_FAULT");
  CHECK_INT_EQ(st, LEAKYCL_OK);
  if (st != LEAKYCL_OK)
    return;
  lk_context_force_mapped(fctx, mapped);
  float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8}, y[3][8];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 8; i++)
      y[k][i] = 42.0f;
  leakycl_job jobs[3];
  memset(jobs, 0, sizeof jobs);
  for (int k = 0; k < 3; k++) {
    leakycl_params_init(&jobs[k].params, LEAKYCL_LEAKY_RELU);
    jobs[k].view = leakycl_view_flat(8);
    jobs[k].x = x;
    jobs[k].out = y[k];
  }
  jobs[1].x = NULL;
  CHECK_INT_EQ(leakycl_run_jobs(fctx, jobs, 3), LEAKYCL_OPENCL_ERROR);
  CHECK_INT_EQ(jobs[0].status, LEAKYCL_OPENCL_ERROR);
  CHECK_INT_EQ(jobs[1].status, LEAKYCL_INVALID_ARGUMENT);
  CHECK_INT_EQ(jobs[2].status, LEAKYCL_OPENCL_ERROR);
  CHECK_CONTAINS(jobs[0].error, "lk_batch_tiles");
  CHECK_CONTAINS(jobs[2].error, "injected by LEAKYCL_FAULT");
  CHECK_CONTAINS(leakycl_last_error(fctx), "job 0:");
  CHECK(y[0][0] == 42.0f && y[2][7] == 42.0f);
  jobs[1].x = x;
  CHECK_INT_EQ(leakycl_run_jobs(fctx, jobs, 3), LEAKYCL_OK);
  CHECK(y[0][0] == -0.01f && y[1][1] == 2.0f && y[2][6] == -0.07f);
  CHECK_INT_EQ(mapped ? fctx->test.mapped_segments : fctx->test.staged_segments, 2);
  leakycl_context_release(fctx);
}

static void test_device_failure_marks_launch_staged(void) { device_failure_marks_launch(false); }
static void test_device_failure_marks_launch_mapped(void) { device_failure_marks_launch(true); }

int main(void) {
  char err[LK_ERROR_MAX];
  leakycl_status st = leakycl_context_create(test_device_spec(), &ctx, err, sizeof err);
  if (st != LEAKYCL_OK) {
    printf("FAIL context_create %s: %s\n", leakycl_status_name(st), err);
    return 1;
  }
  RUN_TEST(test_count_zero_and_null);
  RUN_TEST(test_invalid_jobs_isolated);
  RUN_TEST(test_device_failure_marks_launch_staged);
  RUN_TEST(test_device_failure_marks_launch_mapped);
  leakycl_context_release(ctx);
  return TEST_SUMMARY();
}
