/* ops.c - the public operations: validate everything first, then move host
 * data to the device (zero-copy where memory is shared, pooled buffers and
 * copies otherwise), launch, and bring results back. Outputs are touched only
 * once every check has passed. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- validation shared by host-pointer and buffer calls ---- */

/* backward from y is valid where the sign of y is the sign of x. */
static leakycl_status check_source(leakycl_context *ctx, const lk_resolved *r,
                                   leakycl_source source, const leakycl_grads *grads) {
  if (source == LEAKYCL_FROM_X)
    return LEAKYCL_OK;
  if (source != LEAKYCL_FROM_Y)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "source %d is neither x (0) nor y (1)",
                   (int)source);
  if (grads)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "the parameter gradient needs x: backward from y cannot compute dalpha");
  if (r->activation == LEAKYCL_PHASED_RELU)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "phased_relu cannot run backward from y (its band is lost in y)");
  if (r->activation == LEAKYCL_RELU)
    return LEAKYCL_OK;
  for (size_t c = 0; c < r->alpha_count; c++) {
    const float a = r->per_channel ? r->alpha_c[c] : r->alpha;
    if (!(a > 0.0f))
      return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                     "backward from y needs every alpha > 0 (alpha[%zu] = %g)", c, (double)a);
  }
  return LEAKYCL_OK;
}

static leakycl_status check_grads(leakycl_context *ctx, const lk_resolved *r,
                                  const leakycl_grads *grads, bool required) {
  if (!grads)
    return required ? lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "grads is NULL") : LEAKYCL_OK;
  if (!leakycl_activation_has_gradient(r->activation))
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "%s has no learnable alpha, so no parameter gradient",
                   leakycl_activation_name(r->activation));
  if (!grads->dalpha)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "grads->dalpha is NULL");
  return LEAKYCL_OK;
}

/* Resolves the parameters and makes the checks of every call of `op`, host
 * pointers or buffers alike (context locked). On failure r holds nothing. */
static leakycl_status check_call(leakycl_context *ctx, lk_call_op op, const leakycl_params *params,
                                 leakycl_view view, leakycl_source source,
                                 const leakycl_grads *grads, leakycl_dtype dtype, lk_resolved *r) {
  memset(r, 0, sizeof *r);
  if (leakycl_dtype_size(dtype) == 0)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "dtype %d is not float32 (0), float16 (1) or bfloat16 (2)", (int)dtype);
  leakycl_status st = lk_resolve(ctx, params, view, r);
  if (st != LEAKYCL_OK)
    return st;
  r->dtype = dtype;
  r->elem_size = leakycl_dtype_size(dtype);
  if (r->channels > UINT32_MAX)
    st = lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "%zu channels is over the limit of %u", r->channels,
                 (unsigned)UINT32_MAX);
  if (st == LEAKYCL_OK && op != LK_CALL_FORWARD) {
    st = check_source(ctx, r, source, grads);
    /* Reduce-only calls exist for the gradient, so they need grads. */
    if (st == LEAKYCL_OK)
      st = check_grads(ctx, r, grads, op == LK_CALL_REDUCE);
  }
  if (st != LEAKYCL_OK)
    lk_resolved_free(r);
  return st;
}

/* Locks the context and runs check_call(); on failure unlocks. */
static leakycl_status begin(leakycl_context *ctx, lk_call_op op, const leakycl_params *params,
                            leakycl_view view, leakycl_source source, const leakycl_grads *grads,
                            leakycl_dtype dtype, lk_resolved *r) {
  pthread_mutex_lock(&ctx->lock);
  ctx->error[0] = '\0';
  leakycl_status st = check_call(ctx, op, params, view, source, grads, dtype, r);
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

/* Two host arrays of `bytes` either are the same array or do not overlap. */
static bool partial_overlap(const void *a, const void *b, size_t bytes) {
  const char *pa = a, *pb = b;
  if (!a || !b || pa == pb)
    return false;
  return pa < pb + bytes && pb < pa + bytes;
}

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
      return lk_fail_cl(ctx, rc, "clCreateBuffer(CL_MEM_USE_HOST_PTR)");
    s->owned[i] = true;
  } else {
    leakycl_status st = lk_pool_get(ctx, slot, bytes, &s->mem[i]);
    if (st != LEAKYCL_OK)
      return st;
    if (upload) {
      rc = clEnqueueWriteBuffer(ctx->queue, s->mem[i], CL_FALSE, 0, bytes, p, 0, NULL, NULL);
      if (rc != CL_SUCCESS)
        return lk_fail_cl(ctx, rc, "clEnqueueWriteBuffer");
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
      return lk_fail_cl(ctx, rc, "clEnqueueMapBuffer");
    rc = clEnqueueUnmapMemObject(ctx->queue, mem, mapped, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
      rc = clFinish(ctx->queue);
  } else {
    rc = clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, bytes, p, 0, NULL, NULL);
  }
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(ctx, rc, "reading the result");
}

/* Non-NULL arrays of n elements of r's dtype (b and c only when named),
 * exactly equal or disjoint. */
static leakycl_status check_pointers(leakycl_context *ctx, const lk_resolved *r, const void *a,
                                     const char *an, const void *b, const char *bn, const void *c,
                                     const char *cn) {
  const size_t n = r->n;
  if (n == 0)
    return LEAKYCL_OK;
  if (!a || (bn && !b) || (cn && !c))
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "%s is NULL for %zu elements",
                   !a           ? an
                   : (bn && !b) ? bn
                                : cn,
                   n);
  if (n > SIZE_MAX / r->elem_size)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "%zu %s values do not fit in memory", n,
                   leakycl_dtype_name(r->dtype));
  const size_t bytes = n * r->elem_size;
  if (partial_overlap(a, b, bytes) || partial_overlap(a, c, bytes) || partial_overlap(b, c, bytes))
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "arrays overlap without being the same array (only exact in-place is allowed)");
  return LEAKYCL_OK;
}

leakycl_status lk_check_host_call(leakycl_context *ctx, const lk_host_call *call, lk_resolved *r) {
  leakycl_status st = check_call(ctx, call->op, call->params, call->view, call->source, call->grads,
                                 call->dtype, r);
  if (st != LEAKYCL_OK)
    return st;
  if (call->op == LK_CALL_FORWARD)
    st = check_pointers(ctx, r, call->src, "x", call->out, "y", NULL, NULL);
  else
    st = check_pointers(ctx, r, call->src, call->source == LEAKYCL_FROM_Y ? "y" : "x", call->dy,
                        "dy", call->op == LK_CALL_BACKWARD ? call->out : NULL,
                        call->op == LK_CALL_BACKWARD ? "dx" : NULL);
  if (st != LEAKYCL_OK)
    lk_resolved_free(r);
  return st;
}

/* The data of a validated forward call: staged (zero-copy or pooled
 * copies, or the pipeline for big calls on discrete devices), launched,
 * fetched. */
static leakycl_status forward_host(leakycl_context *ctx, const lk_resolved *r, const void *x,
                                   void *y) {
  if (r->n == 0)
    return LEAKYCL_OK;
  if (lk_pipeline_applies(ctx, r, false)) /* big, on a discrete device */
    return lk_pipeline_elementwise(ctx, r, LK_KERNEL_FORWARD, x, NULL, y);
  const size_t bytes = r->n * r->elem_size;
  staging s = {0};
  cl_mem xm, ym;
  leakycl_status st = stage(ctx, &s, x, bytes, LK_POOL_IN, true, &xm);
  if (st == LEAKYCL_OK)
    st = stage(ctx, &s, y, bytes, LK_POOL_OUT, false, &ym);
  if (st == LEAKYCL_OK)
    st = lk_launch_forward(ctx, r, xm, ym);
  if (st == LEAKYCL_OK)
    st = fetch(ctx, ym, y, bytes);
  if (st != LEAKYCL_OK)
    clFinish(ctx->queue); /* nothing may still use the caller's memory */
  staging_release(&s);
  return st;
}

/* The same for backward and reduce: dx NULL means reduce only. */
static leakycl_status backward_host(leakycl_context *ctx, const lk_resolved *r, const void *src,
                                    const void *dy, void *dx, const leakycl_grads *grads) {
  if (dx && lk_pipeline_applies(ctx, r, grads != NULL))
    return lk_pipeline_elementwise(ctx, r, LK_KERNEL_BACKWARD, src, dy, dx);
  const size_t bytes = r->n * r->elem_size;
  staging s = {0};
  cl_mem sm = NULL, dym = NULL, dxm = NULL;
  leakycl_status st = LEAKYCL_OK;
  if (r->n > 0) {
    st = stage(ctx, &s, src, bytes, LK_POOL_IN, true, &sm);
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
      st = lk_launch_backward(ctx, r, sm, dym, dxm);
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
    st = forward_host(ctx, &r, call->src, (void *)call->out);
  else
    st = backward_host(ctx, &r, call->src, call->dy, (void *)call->out, call->grads);
  lk_resolved_free(&r);
  return st;
}

/* A public host-pointer call: lock, run, unlock. */
static leakycl_status host_call(leakycl_context *ctx, const lk_host_call *call) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  ctx->error[0] = '\0';
  const leakycl_status st = lk_run_host_call(ctx, call);
  pthread_mutex_unlock(&ctx->lock);
  return st;
}

leakycl_status leakycl_forward(leakycl_context *ctx, const leakycl_params *params,
                               leakycl_view view, const float *x, float *y) {
  const lk_host_call call = {LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, x, NULL, y, NULL,
                             LEAKYCL_FLOAT32};
  return host_call(ctx, &call);
}

leakycl_status leakycl_backward(leakycl_context *ctx, const leakycl_params *params,
                                leakycl_view view, leakycl_source source, const float *src,
                                const float *dy, float *dx, const leakycl_grads *grads) {
  const lk_host_call call = {LK_CALL_BACKWARD, params, view, source, src, dy, dx, grads,
                             LEAKYCL_FLOAT32};
  return host_call(ctx, &call);
}

leakycl_status leakycl_reduce(leakycl_context *ctx, const leakycl_params *params, leakycl_view view,
                              const float *x, const float *dy, const leakycl_grads *grads) {
  const lk_host_call call = {LK_CALL_REDUCE, params, view,           LEAKYCL_FROM_X, x, dy,
                             NULL,           grads,  LEAKYCL_FLOAT32};
  return host_call(ctx, &call);
}

/* ---- device-resident buffers ---- */

/* A buffer of this context holding at least r->n elements of r's dtype. */
static leakycl_status check_buffer(leakycl_context *ctx, cl_mem m, const char *name,
                                   const lk_resolved *r) {
  const size_t n = r->n;
  if (!m)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "buffer %s is NULL", name);
  size_t size = 0;
  cl_context owner = NULL;
  cl_int rc = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL);
  if (rc == CL_SUCCESS)
    rc = clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
  if (rc != CL_SUCCESS)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT, "buffer %s is not a valid cl_mem: %s", name,
                   leakycl_cl_error_name(rc));
  if (owner != ctx->cl_ctx)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "buffer %s belongs to another cl_context than this leakycl context", name);
  if (size / r->elem_size < n)
    return lk_fail(ctx, LEAKYCL_INVALID_ARGUMENT,
                   "buffer %s holds %zu bytes; the view needs %zu %s", name, size, n,
                   r->dtype == LEAKYCL_FLOAT32 ? "floats" : "half values");
  return LEAKYCL_OK;
}

static leakycl_status forward_buffers(leakycl_context *ctx, const leakycl_params *params,
                                      leakycl_view view, leakycl_dtype dtype, cl_mem x, cl_mem y) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  lk_resolved r;
  leakycl_status st = begin(ctx, LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, NULL, dtype, &r);
  if (st != LEAKYCL_OK)
    return st;
  st = check_buffer(ctx, x, "x", &r);
  if (st == LEAKYCL_OK)
    st = check_buffer(ctx, y, "y", &r);
  if (st == LEAKYCL_OK)
    st = lk_launch_forward(ctx, &r, x, y);
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
  st = check_buffer(ctx, src, source == LEAKYCL_FROM_Y ? "y" : "x", &r);
  if (st == LEAKYCL_OK)
    st = check_buffer(ctx, dy, "dy", &r);
  if (st == LEAKYCL_OK && want_dx)
    st = check_buffer(ctx, dx, "dx", &r);
  if (st == LEAKYCL_OK)
    st = grads ? lk_launch_reduce(ctx, &r, src, dy, want_dx ? dx : NULL, grads)
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
  return forward_buffers(ctx, params, view, LEAKYCL_FLOAT32, x, y);
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
  const lk_host_call call = {
      LK_CALL_FORWARD, params, view, LEAKYCL_FROM_X, x, NULL, y, NULL, dtype};
  return host_call(ctx, &call);
}

leakycl_status leakycl_backward_typed(leakycl_context *ctx, const leakycl_params *params,
                                      leakycl_view view, leakycl_dtype dtype, leakycl_source source,
                                      const void *src, const void *dy, void *dx,
                                      const leakycl_grads *grads) {
  if (dtype == LEAKYCL_FLOAT32)
    return leakycl_backward(ctx, params, view, source, src, dy, dx, grads);
  const lk_host_call call = {LK_CALL_BACKWARD, params, view, source, src, dy, dx, grads, dtype};
  return host_call(ctx, &call);
}

leakycl_status leakycl_forward_buffers_typed(leakycl_context *ctx, const leakycl_params *params,
                                             leakycl_view view, leakycl_dtype dtype, cl_mem x,
                                             cl_mem y) {
  return forward_buffers(ctx, params, view, dtype, x, y);
}

leakycl_status leakycl_backward_buffers_typed(leakycl_context *ctx, const leakycl_params *params,
                                              leakycl_view view, leakycl_dtype dtype,
                                              leakycl_source source, cl_mem src, cl_mem dy,
                                              cl_mem dx, const leakycl_grads *grads) {
  return backward_buffers(ctx, params, view, dtype, source, src, dy, dx, grads, true);
}
