/* pipeline.c - element-wise calls on host arrays for devices without shared
 * host memory (discrete GPUs): the data moves in chunks, and while chunk k
 * computes, chunk k+1 uploads and chunk k-1 downloads, each on its own
 * queue (copy engines and compute run at once), instead of upload all,
 * compute all, download all. Events order each chunk's three steps.
 *
 * It covers forward and backward (dx) with a shared alpha: a chunk is then a
 * flat run of elements that needs no channel arithmetic. Per-channel and
 * gradient calls take the one-shot path in ops.c. If the device fails
 * midway, earlier chunks of the output are already written (as with
 * zero-copy); inputs that are not also outputs are never written. */
#include <stdlib.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"
#include "program/program.h"

/* 4 Mi elements (16 MiB) a chunk: big enough that per-chunk overhead is
 * small (~60 us for three commands), small enough to overlap. */
#define LK_PIPELINE_CHUNK ((size_t)1 << 22)

bool lk_pipeline_applies(const leakycl_context *ctx, const lk_resolved *r, bool has_grads) {
  /* float32 only: chunks are cut in floats; half arrays take the one-shot
   * path (half the bytes to move already). */
  return !ctx->zero_copy && !r->per_channel && !has_grads && r->dtype == LEAKYCL_FLOAT32 &&
         r->n >= 2 * LK_PIPELINE_CHUNK;
}

/* The second and third queues, made on first use and kept. */
static leakycl_status transfer_queues(leakycl_context *ctx) {
  cl_int rc = CL_SUCCESS;
  if (!ctx->upload_queue)
    ctx->upload_queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, 0, &rc);
  if (rc == CL_SUCCESS && !ctx->download_queue)
    ctx->download_queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, 0, &rc);
  return rc == CL_SUCCESS ? LEAKYCL_OK
                          : lk_fail_cl(&ctx->error, rc, "clCreateCommandQueue(transfers)");
}

typedef struct chunk {
  size_t first, count;
  cl_mem in[2], out;
  cl_event uploaded[2], computed, downloaded;
} chunk;

static void chunk_release(chunk *c) {
  cl_mem mems[3] = {c->in[0], c->in[1], c->out};
  cl_event events[4] = {c->uploaded[0], c->uploaded[1], c->computed, c->downloaded};
  for (int i = 0; i < 4; i++) {
    if (i < 3 && mems[i])
      clReleaseMemObject(mems[i]);
    if (events[i])
      clReleaseEvent(events[i]);
  }
}

/* The region of pooled buffer `whole` for chunk c. */
static cl_mem region(leakycl_context *ctx, cl_mem whole, const chunk *c, cl_int *rc) {
  const cl_buffer_region reg = {c->first * sizeof(float), c->count * sizeof(float)};
  return clCreateSubBuffer(whole, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &reg, rc);
}

/* Enqueues chunk c's upload, kernel and download. */
static leakycl_status enqueue_chunk(leakycl_context *ctx, const lk_resolved *r, int which,
                                    const float *const inputs[2], int ninputs, float *out,
                                    const cl_mem whole_in[2], cl_mem whole_out, chunk *c) {
  cl_int rc = CL_SUCCESS;
  for (int i = 0; i < ninputs && rc == CL_SUCCESS; i++) {
    c->in[i] = region(ctx, whole_in[i], c, &rc);
    if (rc == CL_SUCCESS)
      rc = clEnqueueWriteBuffer(ctx->upload_queue, c->in[i], CL_FALSE, 0, c->count * sizeof(float),
                                inputs[i] + c->first, 0, NULL, &c->uploaded[i]);
  }
  if (rc == CL_SUCCESS)
    c->out = region(ctx, whole_out, c, &rc);
  /* The kernel waits for its chunk's uploads. */
  if (rc == CL_SUCCESS)
    rc = clEnqueueBarrierWithWaitList(ctx->queue, (cl_uint)ninputs, c->uploaded, NULL);
  if (rc != CL_SUCCESS)
    return lk_fail_cl(&ctx->error, rc, "pipeline upload");
  lk_resolved part = *r;
  part.n = part.inner = c->count;
  leakycl_status st = which == LK_KERNEL_FORWARD
                          ? lk_launch_forward(ctx, &part, c->in[0], c->out)
                          : lk_launch_backward(ctx, &part, c->in[0], c->in[1], c->out);
  if (st != LEAKYCL_OK)
    return st;
  rc = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &c->computed);
  if (rc == CL_SUCCESS)
    rc = clEnqueueReadBuffer(ctx->download_queue, c->out, CL_FALSE, 0, c->count * sizeof(float),
                             out + c->first, 1, &c->computed, &c->downloaded);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "pipeline download");
}

leakycl_status lk_pipeline_elementwise(leakycl_context *ctx, const lk_resolved *r, int which,
                                       const float *x, const float *dy, float *out) {
  leakycl_status st = transfer_queues(ctx);
  const int ninputs = which == LK_KERNEL_FORWARD ? 1 : 2;
  const float *const inputs[2] = {x, dy};
  const size_t bytes = r->n * sizeof(float);
  /* In place (out == an input) shares the input's device buffer, as the
   * one-shot path does: chunk k is downloaded only after it was computed. */
  cl_mem whole_in[2] = {NULL, NULL}, whole_out = NULL;
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_IN, bytes, &whole_in[0]);
  if (st == LEAKYCL_OK && ninputs == 2)
    st = lk_pool_get(ctx, LK_POOL_DY, bytes, &whole_in[1]);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_OUT, bytes, &whole_out);
  if (st != LEAKYCL_OK)
    return st;
  const size_t nchunks = (r->n + LK_PIPELINE_CHUNK - 1) / LK_PIPELINE_CHUNK;
  chunk *chunks = calloc(nchunks, sizeof *chunks);
  if (!chunks)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu pipeline chunks",
                   nchunks);
  for (size_t k = 0; k < nchunks && st == LEAKYCL_OK; k++) {
    chunks[k].first = k * LK_PIPELINE_CHUNK;
    chunks[k].count = k + 1 < nchunks ? LK_PIPELINE_CHUNK : r->n - chunks[k].first;
    st = enqueue_chunk(ctx, r, which, inputs, ninputs, out, whole_in, whole_out, &chunks[k]);
  }
  /* Everything enqueued (or not) has finished before the caller's memory
   * and the sub-buffers are let go. */
  const cl_int rc_up = clFinish(ctx->upload_queue);
  const cl_int rc_run = clFinish(ctx->queue);
  const cl_int rc_down = clFinish(ctx->download_queue);
  for (size_t k = 0; k < nchunks; k++) {
    cl_int status = CL_COMPLETE;
    if (st == LEAKYCL_OK && chunks[k].downloaded &&
        (clGetEventInfo(chunks[k].downloaded, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                        &status, NULL) != CL_SUCCESS ||
         status < 0))
      st = lk_fail_cl(&ctx->error, status < 0 ? status : CL_INVALID_EVENT, "pipeline chunk");
    chunk_release(&chunks[k]);
  }
  free(chunks);
  if (st == LEAKYCL_OK && (rc_up != CL_SUCCESS || rc_run != CL_SUCCESS || rc_down != CL_SUCCESS))
    st = lk_fail_cl(&ctx->error,
                    rc_up != CL_SUCCESS    ? rc_up
                    : rc_run != CL_SUCCESS ? rc_run
                                           : rc_down,
                    "clFinish(pipeline)");
  return st;
}
