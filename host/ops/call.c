/* call.c - every check a call makes before it touches the device, made
 * once and in one order for host-pointer calls, buffer calls and packed
 * jobs: parameters resolved, source and gradient requests, host arrays
 * (non-NULL, exactly equal or disjoint) and device buffers (this context's,
 * large enough). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"

size_t leakycl_mask_words(leakycl_activation activation, size_t n) {
  if (!leakycl_activation_name(activation))
    return 0;
  const size_t plane = n / 32 + (n % 32 != 0);
  return activation == LEAKYCL_PHASED_RELU ? 2 * plane : plane;
}

size_t lk_mask_bytes(const lk_resolved *r) {
  return leakycl_mask_words(r->activation, r->n) * sizeof(uint32_t);
}

/* backward from y is valid where the sign of y is the sign of x; from the
 * mask always, without the gradient. */
static leakycl_status check_source(leakycl_context *ctx, const lk_resolved *r,
                                   leakycl_source source, const leakycl_grads *grads) {
  if (source == LEAKYCL_FROM_X)
    return LEAKYCL_OK;
  if (source != LEAKYCL_FROM_Y && source != LEAKYCL_FROM_MASK)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "source %d is not x (0), y (1) or mask (2)", (int)source);
  if (grads)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "the parameter gradient needs x: backward from %s cannot compute dalpha",
                   source == LEAKYCL_FROM_Y ? "y" : "the mask");
  if (source == LEAKYCL_FROM_MASK)
    return LEAKYCL_OK;
  if (r->activation == LEAKYCL_PHASED_RELU)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "phased_relu cannot run backward from y (its band is lost in y)");
  if (r->activation == LEAKYCL_RELU)
    return LEAKYCL_OK;
  for (size_t c = 0; c < r->alpha_count; c++) {
    const float a = r->per_channel ? r->alpha_c[c] : r->alpha;
    if (!(a > 0.0f))
      return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                     "backward from y needs every alpha > 0 (alpha[%zu] = %g)", c, (double)a);
  }
  return LEAKYCL_OK;
}

static leakycl_status check_grads(leakycl_context *ctx, const lk_resolved *r,
                                  const leakycl_grads *grads, bool required) {
  if (!grads)
    return required ? lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "grads is NULL") : LEAKYCL_OK;
  if (!leakycl_activation_has_gradient(r->activation))
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "%s has no learnable alpha, so no parameter gradient",
                   leakycl_activation_name(r->activation));
  if (!grads->dalpha)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "grads->dalpha is NULL");
  if (!grads->dbeta)
    return LEAKYCL_OK;
  if (r->activation != LEAKYCL_PHASED_RELU)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "grads->dbeta is phased_relu's boundary estimate; %s has no beta",
                   leakycl_activation_name(r->activation));
  const float h = grads->dbeta_window;
  if (!(isfinite(h) && h > 0.0f))
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "grads->dbeta_window must be finite and > 0 (the window's width), not %g",
                   (double)h);
  return LEAKYCL_OK;
}

leakycl_status lk_check_call(leakycl_context *ctx, lk_call_op op, const leakycl_params *params,
                             leakycl_view view, leakycl_source source, const leakycl_grads *grads,
                             leakycl_dtype dtype, lk_resolved *r) {
  memset(r, 0, sizeof *r);
  if (leakycl_dtype_size(dtype) == 0)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "dtype %d is not float32 (0), float16 (1) or bfloat16 (2)", (int)dtype);
  leakycl_status st = lk_resolve(&ctx->error, params, view, r);
  if (st != LEAKYCL_OK)
    return st;
  r->dtype = dtype;
  r->elem_size = leakycl_dtype_size(dtype);
  if (r->channels > UINT32_MAX)
    st = lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "%zu channels is over the limit of %u",
                 r->channels, (unsigned)UINT32_MAX);
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

/* Whether host ranges [a, a + an) and [b, b + bn) share a byte. */
static bool ranges_overlap(const void *a, size_t an, const void *b, size_t bn) {
  const char *pa = a, *pb = b;
  return a && b && pa < pb + bn && pb < pa + an;
}

/* Two host arrays of `bytes` either are the same array or do not overlap. */
static bool partial_overlap(const void *a, const void *b, size_t bytes) {
  return a != b && ranges_overlap(a, bytes, b, bytes);
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
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "%s is NULL for %zu elements",
                   !a           ? an
                   : (bn && !b) ? bn
                                : cn,
                   n);
  if (n > SIZE_MAX / r->elem_size)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "%zu %s values do not fit in memory", n,
                   leakycl_dtype_name(r->dtype));
  const size_t bytes = n * r->elem_size;
  if (partial_overlap(a, b, bytes) || partial_overlap(a, c, bytes) || partial_overlap(b, c, bytes))
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "arrays overlap without being the same array (only exact in-place is allowed)");
  return LEAKYCL_OK;
}

/* The mask of a call: non-NULL, and apart from the call's arrays a and b
 * (n elements each). */
static leakycl_status check_mask_pointer(leakycl_context *ctx, const lk_resolved *r,
                                         const void *mask, const void *a, const void *b) {
  if (r->n == 0)
    return LEAKYCL_OK;
  if (!mask)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "mask is NULL for %zu elements", r->n);
  const size_t mbytes = lk_mask_bytes(r), bytes = r->n * r->elem_size;
  if (ranges_overlap(mask, mbytes, a, bytes) || ranges_overlap(mask, mbytes, b, bytes))
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "the mask overlaps another array");
  return LEAKYCL_OK;
}

leakycl_status lk_check_host_call(leakycl_context *ctx, const lk_host_call *call, lk_resolved *r) {
  leakycl_status st = lk_check_call(ctx, call->op, call->params, call->view, call->source,
                                    call->grads, call->dtype, r);
  if (st != LEAKYCL_OK)
    return st;
  const bool from_mask = call->op != LK_CALL_FORWARD && call->source == LEAKYCL_FROM_MASK;
  if (call->op == LK_CALL_FORWARD) {
    st = check_pointers(ctx, r, call->src, "x", call->out, "y", NULL, NULL);
    if (st == LEAKYCL_OK && call->mask)
      st = check_mask_pointer(ctx, r, call->mask, call->src, call->out);
  } else if (from_mask) {
    st = check_pointers(ctx, r, call->dy, "dy", call->out, "dx", NULL, NULL);
    if (st == LEAKYCL_OK)
      st = check_mask_pointer(ctx, r, call->src, call->dy, call->out);
  } else {
    st = check_pointers(ctx, r, call->src, call->source == LEAKYCL_FROM_Y ? "y" : "x", call->dy,
                        "dy", call->op == LK_CALL_BACKWARD ? call->out : NULL,
                        call->op == LK_CALL_BACKWARD ? "dx" : NULL);
  }
  if (st != LEAKYCL_OK)
    lk_resolved_free(r);
  return st;
}

/* A buffer of this context holding `need` bytes; `what` says what they are. */
static leakycl_status check_mem(leakycl_context *ctx, cl_mem m, const char *name, size_t need,
                                const char *what) {
  if (!m)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "buffer %s is NULL", name);
  size_t size = 0;
  cl_context owner = NULL;
  cl_int rc = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL);
  if (rc == CL_SUCCESS)
    rc = clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
  if (rc != CL_SUCCESS)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT, "buffer %s is not a valid cl_mem: %s",
                   name, leakycl_cl_error_name(rc));
  if (owner != ctx->cl_ctx)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "buffer %s belongs to another cl_context than this leakycl context", name);
  if (size < need)
    return lk_fail(&ctx->error, LEAKYCL_INVALID_ARGUMENT,
                   "buffer %s holds %zu bytes; the view needs %s", name, size, what);
  return LEAKYCL_OK;
}

leakycl_status lk_check_buffer(leakycl_context *ctx, cl_mem m, const char *name,
                               const lk_resolved *r) {
  char what[96];
  snprintf(what, sizeof what, "%zu %s", r->n,
           r->dtype == LEAKYCL_FLOAT32 ? "floats" : "half values");
  /* n * elem_size cannot overflow for a buffer that exists; compare counts. */
  const size_t need = r->n <= SIZE_MAX / r->elem_size ? r->n * r->elem_size : SIZE_MAX;
  return check_mem(ctx, m, name, need, what);
}

leakycl_status lk_check_mask_buffer(leakycl_context *ctx, cl_mem m, const lk_resolved *r) {
  char what[96];
  const size_t bytes = lk_mask_bytes(r);
  snprintf(what, sizeof what, "%zu (%zu words)", bytes, bytes / sizeof(uint32_t));
  return check_mem(ctx, m, "mask", bytes, what);
}
