/* ops.c - the public operations: validate everything first (call.c), then
 * move host data to the device (zero-copy where memory is shared, pooled
 * buffers and copies otherwise), launch, and bring results back. Outputs are
 * touched only once every check has passed. */
#include "ops/ops.h"
#include "core/core.h"
#include "device/device.h"
#include "program/program.h"

/* Locks the context and runs lk_check_call(); on failure unlocks. */
static leakycl_status begin(leakycl_context *ctx, lk_call_op op, const leakycl_params *params,
                            leakycl_view view, leakycl_source source, const leakycl_grads *grads,
                            leakycl_dtype dtype, lk_resolved *r) {
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  leakycl_status st = lk_check_call(ctx, op, params, view, source, grads, dtype, r);
  if (st != LEAKYCL_OK)
    pthread_mutex_unlock(&ctx->lock);
  return st;
}

static leakycl_status end(leakycl_context *ctx, lk_resolved *r, leakycl_status st) {
  lk_resolved_free(r);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

/* ---- host pointers ---- */

/* The device buffers behind up to four host arrays of one call. Equal host
 * pointers share one buffer (in-place calls). */
typedef struct staging {
  const void *host[4];
  cl_mem mem[4];
  bool owned[4]; /* zero-copy wrappers are released after the call */
  int count;
} staging;

static void staging_release(staging *s) {
  for (int i = 0; i < s->count; i++) {
    if (s->owned[i])
      clReleaseMemObject(s->mem[i]);
  }
}

/* The buffer for host array p (input when `upload`), in pool slot `slot`. */
static leakycl_status stage(leakycl_context *ctx, staging *s, const void *p, size_t bytes, int slot,
                            bool upload, cl_mem *out) {
  for (int i = 0; i < s->count; i++) {
    if (s->host[i] == p) {
      *out = s->mem[i];
      return LEAKYCL_OK;
    }
  }
  const int i = s->count;
  cl_int rc;
  if (ctx->zero_copy) {
    /* The device reads and writes the caller's memory directly. */
    s->mem[i] =
        lk_create_buffer(ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, (void *)p, &rc);
    if (rc != CL_SUCCESS)
      return lk_fail_cl(&ctx->error, rc, "clCreateBuffer(CL_MEM_USE_HOST_PTR)");
    s->owned[i] = true;
  } else {
    leakycl_status st = lk_pool_get(ctx, slot, bytes, &s->mem[i]);
    if (st != LEAKYCL_OK)
      return st;
    if (upload) {
      rc = clEnqueueWriteBuffer(ctx->queue, s->mem[i], CL_FALSE, 0, bytes, p, 0, NULL, NULL);
      if (rc != CL_SUCCESS)
        return lk_fail_cl(&ctx->error, rc, "clEnqueueWriteBuffer");
    }
  }
  s->host[i] = p;
  s->count++;
  *out = s->mem[i];
  return LEAKYCL_OK;
}

/* Brings the result in buffer `mem` back to host array p and waits. */
static leakycl_status fetch(leakycl_context *ctx, cl_mem mem, void *p, size_t bytes) {
  cl_int rc;
  if (ctx->zero_copy) {
    /* Mapping makes the device's writes visible in the host memory. */
    void *mapped =
        clEnqueueMapBuffer(ctx->queue, mem, CL_TRUE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &rc);
    if (rc != CL_SUCCESS)
      return lk_fail_cl(&ctx->error, rc, "clEnqueueMapBuffer");
    rc = clEnqueueUnmapMemObject(ctx->queue, mem, mapped, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clFinish(ctx->queue);
  } else {
    rc = clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, bytes, p, 0, NULL, NULL);
  }
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "reading the result");
}

/* The data of a validated forward call: staged (zero-copy or pooled
 * copies, or the pipeline for big calls on discrete devices), launched,
 * fetched. */
static leakycl_status forward_host(leakycl_context *ctx, const lk_resolved *r, const void *x,
                                   void *y, uint32_t *mask) {
  if (r->n == 0)
    return LEAKYCL_OK;
  if (!mask && lk_pipeline_applies(ctx, r, false)) /* big, on a discrete device */
    return lk_pipeline_elementwise(ctx, r, LK_KERNEL_FORWARD, x, NULL, y);
  const size_t bytes = r->n * r->elem_size;
  staging s = {0};
  cl_mem xm, ym, mm = NULL;
  leakycl_status st = stage(ctx, &s, x, bytes, LK_POOL_IN, true, &xm);
  if (st == LEAKYCL_OK)
    st = stage(ctx, &s, y, bytes, LK_POOL_OUT, false, &ym);
  if (st == LEAKYCL_OK && mask) /* the dy slot: forward has no dy */
    st = stage(ctx, &s, mask, lk_mask_bytes(r), LK_POOL_DY, false, &mm);
  if (st == LEAKYCL_OK)
    st = mask ? lk_launch_forward_mask(ctx, r, xm, ym, mm) : lk_launch_forward(ctx, r, xm, ym);
  if (st == LEAKYCL_OK)
    st = fetch(ctx, ym, y, bytes);
  if (st == LEAKYCL_OK && mask)
    st = fetch(ctx, mm, mask, lk_mask_bytes(r));
  if (st != LEAKYCL_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  staging_release(&s);
  return st;
}

/* The same for backward and reduce: dx NULL means reduce only; src is the
 * packed mask when from_mask. */
static leakycl_status backward_host(leakycl_context *ctx, const lk_resolved *r, bool from_mask,
                                    const void *src, const void *dy, void *dx,
                                    const leakycl_grads *grads) {
  if (dx && !from_mask && lk_pipeline_applies(ctx, r, grads != NULL))
    return lk_pipeline_elementwise(ctx, r, LK_KERNEL_BACKWARD, src, dy, dx);
  const size_t bytes = r->n * r->elem_size;
  staging s = {0};
  cl_mem sm = NULL, dym = NULL, dxm = NULL;
  leakycl_status st = LEAKYCL_OK;
  if (r->n > 0) {
    st = stage(ctx, &s, src, from_mask ? lk_mask_bytes(r) : bytes, LK_POOL_IN, true, &sm);
    if (st == LEAKYCL_OK)
      st = stage(ctx, &s, dy, bytes, LK_POOL_DY, true, &dym);
    if (st == LEAKYCL_OK && dx)
      st = stage(ctx, &s, dx, bytes, LK_POOL_OUT, false, &dxm);
  }
  if (st == LEAKYCL_OK) {
    if (grads) {
      /* One pass writes dx and reduces; grads arrive when it is done. */
      st = lk_launch_reduce(ctx, r, sm, dym, dxm, grads);
    } else if (r->n > 0) {
      st = from_mask ? lk_launch_backward_mask(ctx, r, sm, dym, dxm)
                     : lk_launch_backward(ctx, r, sm, dym, dxm);
    }
  }
  if (st == LEAKYCL_OK && dx && r->n > 0)
    st = fetch(ctx, dxm, dx, bytes);
  if (st != LEAKYCL_OK)
    clFinish(ctx->queue);
  staging_release(&s);
  return st;
}

leakycl_status lk_run_host_call(leakycl_context *ctx, const lk_host_call *call) {
  lk_resolved r;
  leakycl_status st = lk_check_host_call(ctx, call, &r);
  if (st != LEAKYCL_OK)
    return st;
  if (call->op == LK_CALL_FORWARD)
    st = forward_host(ctx, &r, call->src, (void *)call->out, call->mask);
  else
    st = backward_host(ctx, &r, call->source == LEAKYCL_FROM_MASK, call->src, call->dy,
                       (void *)call->out, call->grads);
  lk_resolved_free(&r);
  return st;
}

/* A public host-pointer call: lock, run, unlock. */
static leakycl_status host_call(leakycl_context *ctx, const lk_host_call *call) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  ctx->error.text[0] = '\0';
  const leakycl_status st = lk_run_host_call(ctx, call);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

leakycl_status leakycl_forward(leakycl_context *ctx, const leakycl_params *params,
                               leakycl_view view, const float *x, float *y) {
  const lk_host_call call = {LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, x, NULL, y, NULL,
                             LEAKYCL_FLOAT32, NULL};
  return host_call(ctx, &call);
}

leakycl_status leakycl_backward(leakycl_context *ctx, const leakycl_params *params,
                                leakycl_view view, leakycl_source source, const float *src,
                                const float *dy, float *dx, const leakycl_grads *grads) {
  const lk_host_call call = {LK_CALL_BACKWARD, params, view, source, src, dy, dx, grads,
                             LEAKYCL_FLOAT32,  NULL};
  return host_call(ctx, &call);
}

leakycl_status leakycl_reduce(leakycl_context *ctx, const leakycl_params *params, leakycl_view view,
                              const float *x, const float *dy, const leakycl_grads *grads) {
  const lk_host_call call = {LK_CALL_REDUCE, params,          view, LEAKYCL_FROM_X, x, dy, NULL,
                             grads,          LEAKYCL_FLOAT32, NULL};
  return host_call(ctx, &call);
}

/* ---- device-resident buffers ---- */

/* mask NULL: the plain forward. */
static leakycl_status forward_buffers(leakycl_context *ctx, const leakycl_params *params,
                                      leakycl_view view, leakycl_dtype dtype, cl_mem x, cl_mem y,
                                      cl_mem mask, bool want_mask) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  lk_resolved r;
  leakycl_status st = begin(ctx, LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, NULL, dtype, &r);
  if (st != LEAKYCL_OK)
    return st;
  st = lk_check_buffer(ctx, x, "x", &r);
  if (st == LEAKYCL_OK)
    st = lk_check_buffer(ctx, y, "y", &r);
  if (st == LEAKYCL_OK && want_mask)
    st = lk_check_mask_buffer(ctx, mask, &r);
  if (st == LEAKYCL_OK)
    st = want_mask ? lk_launch_forward_mask(ctx, &r, x, y, mask) : lk_launch_forward(ctx, &r, x, y);
  return end(ctx, &r, st);
}

static leakycl_status backward_buffers(leakycl_context *ctx, const leakycl_params *params,
                                       leakycl_view view, leakycl_dtype dtype,
                                       leakycl_source source, cl_mem src, cl_mem dy, cl_mem dx,
                                       const leakycl_grads *grads, bool want_dx) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  lk_resolved r;
  leakycl_status st = begin(ctx, want_dx ? LK_CALL_BACKWARD : LK_CALL_REDUCE, params, view, source,
                            grads, dtype, &r);
  if (st != LEAKYCL_OK)
    return st;
  const bool from_mask = source == LEAKYCL_FROM_MASK;
  st = from_mask ? lk_check_mask_buffer(ctx, src, &r)
                 : lk_check_buffer(ctx, src, source == LEAKYCL_FROM_Y ? "y" : "x", &r);
  if (st == LEAKYCL_OK)
    st = lk_check_buffer(ctx, dy, "dy", &r);
  if (st == LEAKYCL_OK && want_dx)
    st = lk_check_buffer(ctx, dx, "dx", &r);
  if (st == LEAKYCL_OK && grads)
    st = lk_launch_reduce(ctx, &r, src, dy, want_dx ? dx : NULL, grads);
  else if (st == LEAKYCL_OK)
    st = from_mask ? lk_launch_backward_mask(ctx, &r, src, dy, dx)
                   : lk_launch_backward(ctx, &r, src, dy, dx);
  return end(ctx, &r, st);
}

leakycl_status leakycl_backward_buffers(leakycl_context *ctx, const leakycl_params *params,
                                        leakycl_view view, leakycl_source source, cl_mem src,
                                        cl_mem dy, cl_mem dx, const leakycl_grads *grads) {
  return backward_buffers(ctx, params, view, LEAKYCL_FLOAT32, source, src, dy, dx, grads, true);
}

leakycl_status leakycl_reduce_buffers(leakycl_context *ctx, const leakycl_params *params,
                                      leakycl_view view, cl_mem x, cl_mem dy,
                                      const leakycl_grads *grads) {
  return backward_buffers(ctx, params, view, LEAKYCL_FLOAT32, LEAKYCL_FROM_X, x, dy, NULL, grads,
                          false);
}

leakycl_status leakycl_forward_buffers(leakycl_context *ctx, const leakycl_params *params,
                                       leakycl_view view, cl_mem x, cl_mem y) {
  return forward_buffers(ctx, params, view, LEAKYCL_FLOAT32, x, y, NULL, false);
}

/* ---- half-precision storage (float32 arithmetic) ---- */
/* The typed calls go through the very same checks and paths as the float32
 * ones with the element size of their dtype; FLOAT32 is the float32 call
 * itself, so its behaviour cannot drift from it. */

leakycl_status leakycl_forward_typed(leakycl_context *ctx, const leakycl_params *params,
                                     leakycl_view view, leakycl_dtype dtype, const void *x,
                                     void *y) {
  if (dtype == LEAKYCL_FLOAT32)
    return leakycl_forward(ctx, params, view, x, y);
  const lk_host_call call = {LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, x, NULL, y, NULL,
                             dtype,           NULL};
  return host_call(ctx, &call);
}

leakycl_status leakycl_backward_typed(leakycl_context *ctx, const leakycl_params *params,
                                      leakycl_view view, leakycl_dtype dtype, leakycl_source source,
                                      const void *src, const void *dy, void *dx,
                                      const leakycl_grads *grads) {
  if (dtype == LEAKYCL_FLOAT32)
    return leakycl_backward(ctx, params, view, source, src, dy, dx, grads);
  const lk_host_call call = {
      LK_CALL_BACKWARD, params, view, source, src, dy, dx, grads, dtype, NULL};
  return host_call(ctx, &call);
}

leakycl_status leakycl_forward_buffers_typed(leakycl_context *ctx, const leakycl_params *params,
                                             leakycl_view view, leakycl_dtype dtype, cl_mem x,
                                             cl_mem y) {
  return forward_buffers(ctx, params, view, dtype, x, y, NULL, false);
}

/* ---- forward with a packed mask ---- */

leakycl_status leakycl_forward_mask(leakycl_context *ctx, const leakycl_params *params,
                                    leakycl_view view, leakycl_dtype dtype, const void *x, void *y,
                                    uint32_t *mask) {
  if (!mask && ctx) {
    pthread_mutex_lock(&ctx->lock);
    const leakycl_status st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "mask is NULL");
    pthread_mutex_unlock(&ctx->lock);
    return st;
  }
  const lk_host_call call = {LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, x, NULL, y, NULL,
                             dtype,           mask};
  return host_call(ctx, &call);
}

leakycl_status leakycl_forward_mask_buffers(leakycl_context *ctx, const leakycl_params *params,
                                            leakycl_view view, leakycl_dtype dtype, cl_mem x,
                                            cl_mem y, cl_mem mask) {
  return forward_buffers(ctx, params, view, dtype, x, y, mask, true);
}

leakycl_status leakycl_backward_buffers_typed(leakycl_context *ctx, const leakycl_params *params,
                                              leakycl_view view, leakycl_dtype dtype,
                                              leakycl_source source, cl_mem src, cl_mem dy,
                                              cl_mem dx, const leakycl_grads *grads) {
  return backward_buffers(ctx, params, view, dtype, source, src, dy, dx, grads, true);
}
