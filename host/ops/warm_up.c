/* warm_up.c - pays every program build and first launch up front (the
 * single-call kernels and the packed-job ones), so that a
 * server's first request runs as fast as its hundredth (cold build ~0.7 s a
 * program on PoCL, first launch of a kernel 30-120 ms). */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"
#include "program/program.h"

/* Big enough that every kernel runs its vector loop with the variant's
 * work-group size; small enough to cost nothing. */
#define LK_WARM_N 16384u
#define LK_WARM_CHANNELS 4u

/* Forward, backward and (with a learnable alpha) the fused and the
 * reduce-only gradient of one activation, on pooled device buffers. */
static leakycl_status warm_activation(leakycl_context *ctx, leakycl_activation act,
                                      bool per_channel, cl_mem x, cl_mem dy, cl_mem out) {
  float alpha[LK_WARM_CHANNELS] = {0.25f, 0.5f, 0.125f, 0.75f};
  leakycl_params params;
  leakycl_params_init(&params, act);
  leakycl_view view = leakycl_view_flat(LK_WARM_N);
  if (per_channel) {
    params.alpha = alpha;
    params.alpha_count = LK_WARM_CHANNELS;
    view = (leakycl_view){1, LK_WARM_CHANNELS, LK_WARM_N / LK_WARM_CHANNELS};
  }
  lk_resolved r;
  leakycl_status st = lk_resolve(&ctx->error, &params, view, &r);
  if (st != LEAKYCL_OK)
    return st;
  float dalpha[LK_WARM_CHANNELS], neg[LK_WARM_CHANNELS], mag[LK_WARM_CHANNELS];
  const leakycl_grads grads = {dalpha, neg, mag, NULL, 0};
  st = lk_launch_forward(ctx, &r, x, out);
  if (st == LEAKYCL_OK)
    st = lk_launch_backward(ctx, &r, x, dy, out);
  if (st == LEAKYCL_OK && leakycl_activation_has_gradient(act))
    st = lk_launch_reduce(ctx, &r, x, dy, out, &grads);
  if (st == LEAKYCL_OK && leakycl_activation_has_gradient(act))
    st = lk_launch_reduce(ctx, &r, x, dy, NULL, &grads);
  lk_resolved_free(&r);
  return st;
}

static leakycl_status warm_all(leakycl_context *ctx, cl_mem x, cl_mem dy, cl_mem out) {
  leakycl_status st = LEAKYCL_OK;
  for (int a = 0; a < LEAKYCL_ACTIVATION_COUNT && st == LEAKYCL_OK; a++) {
    st = warm_activation(ctx, (leakycl_activation)a, false, x, dy, out);
    if (st == LEAKYCL_OK && leakycl_activation_has_gradient((leakycl_activation)a))
      st = warm_activation(ctx, (leakycl_activation)a, true, x, dy, out);
  }
  return st;
}

/* The packed-job kernels (batch.c): one element-wise job and one with a
 * per-channel gradient launch both of them. */
static leakycl_status warm_batch(leakycl_context *ctx, float *data) {
  float alpha[LK_WARM_CHANNELS] = {0.25f, 0.5f, 0.125f, 0.75f};
  float dalpha[LK_WARM_CHANNELS];
  const leakycl_grads grads = {dalpha, NULL, NULL, NULL, 0};
  float *y = malloc(2 * LK_WARM_N * sizeof(float));
  if (!y)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for the warm-up");
  float *dx = y + LK_WARM_N;
  leakycl_job jobs[2];
  memset(jobs, 0, sizeof jobs);
  jobs[0].op = LEAKYCL_OP_FORWARD;
  leakycl_params_init(&jobs[0].params, LEAKYCL_RELU);
  jobs[0].view = leakycl_view_flat(LK_WARM_N);
  jobs[0].x = data;
  jobs[0].out = y;
  jobs[1].op = LEAKYCL_OP_BACKWARD;
  leakycl_params_init(&jobs[1].params, LEAKYCL_PRELU);
  jobs[1].params.alpha = alpha;
  jobs[1].params.alpha_count = LK_WARM_CHANNELS;
  jobs[1].view = (leakycl_view){1, LK_WARM_CHANNELS, LK_WARM_N / LK_WARM_CHANNELS};
  jobs[1].x = jobs[1].dy = data;
  jobs[1].out = dx;
  jobs[1].grads = &grads;
  const leakycl_status st = leakycl_run_jobs(ctx, jobs, 2);
  free(y);
  return st;
}

leakycl_status leakycl_warm_up(leakycl_context *ctx) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  const size_t bytes = LK_WARM_N * sizeof(float);
  float *host = malloc(bytes);
  cl_mem x = NULL, dy = NULL, out = NULL;
  leakycl_status st =
      host ? LEAKYCL_OK : lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for the warm-up");
  if (st == LEAKYCL_OK) {
    for (size_t i = 0; i < LK_WARM_N; i++)
      host[i] = (float)((int)(i % 64) - 32) * 0.125f;
    st = lk_pool_get(ctx, LK_POOL_IN, bytes, &x);
  }
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_DY, bytes, &dy);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_OUT, bytes, &out);
  if (st == LEAKYCL_OK) {
    cl_int rc = clEnqueueWriteBuffer(ctx->queue, x, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clEnqueueWriteBuffer(ctx->queue, dy, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
      st = lk_fail_cl(&ctx->error, rc, "clEnqueueWriteBuffer(warm-up)");
  }
  /* Both store flavours: plain, and streaming when the variant uses it
   * (forced on here through a threshold of 1, then restored). */
  const size_t threshold = ctx->variant.streaming_threshold;
  if (st == LEAKYCL_OK) {
    ctx->variant.streaming_threshold = 0;
    st = warm_all(ctx, x, dy, out);
  }
  if (st == LEAKYCL_OK && threshold > 0) {
    ctx->variant.streaming_threshold = 1;
    st = warm_all(ctx, x, dy, out);
  }
  ctx->variant.streaming_threshold = threshold;
  const cl_int rc = clFinish(ctx->queue);
  if (st == LEAKYCL_OK && rc != CL_SUCCESS)
    st = lk_fail_cl(&ctx->error, rc, "clFinish(warm-up)");
  pthread_mutex_unlock(&ctx->lock);
  if (st == LEAKYCL_OK)
    st = warm_batch(ctx, host);
  free(host);
  return st;
}
