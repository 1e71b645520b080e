/* launch.c - sets kernel arguments and enqueues forward, backward and the
 * two-stage reduction on device buffers; sizes of the launch come from the
 * context's variant. Callers hold the context lock and validated the call. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "device/device.h"
#include "ops/ops.h"
#include "program/program.h"

unsigned lk_call_vector_width(const leakycl_context *ctx, const lk_resolved *r) {
  unsigned vw = ctx->variant.vector_width;
  while (r->per_channel && vw > 1 && r->inner % vw != 0)
    vw /= 2;
  return vw;
}

/* Streaming stores for this call's output (float32 tensors only: the
 * kernels have no half streaming store): the variant asks for them from
 * this size on and the output is aligned to the vector. A buffer over host
 * memory (zero-copy, or the caller's own USE_HOST_PTR buffer) may not be;
 * device allocations are aligned far beyond a vector. */
static bool use_streaming(const leakycl_context *ctx, size_t n, unsigned vw, cl_mem out) {
  const size_t threshold = ctx->variant.streaming_threshold;
  if (threshold == 0 || n < threshold || !out)
    return false;
  void *host = NULL;
  if (clGetMemObjectInfo(out, CL_MEM_HOST_PTR, sizeof host, &host, NULL) != CL_SUCCESS)
    return false;
  return host == NULL || (uintptr_t)host % (vw * sizeof(float)) == 0;
}

/* alpha, thresh, alpha_c, thresh_c: the same four in every kernel. */
static void arg_params(lk_args *a, const lk_resolved *r, cl_mem alpha_c, cl_mem thresh_c) {
  lk_arg_float(a, r->alpha);
  lk_arg_float(a, r->thresh);
  lk_arg_mem(a, alpha_c);
  lk_arg_mem(a, thresh_c);
}

/* Per-channel alphas and thresholds into pooled device buffers. */
static leakycl_status upload_params(leakycl_context *ctx, const lk_resolved *r, cl_mem *alpha,
                                    cl_mem *thresh) {
  *alpha = *thresh = NULL;
  if (!r->per_channel)
    return LEAKYCL_OK;
  const size_t bytes = r->alpha_count * sizeof(float);
  leakycl_status st = lk_pool_get(ctx, LK_POOL_ALPHA, bytes, alpha);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_THRESH, bytes, thresh);
  if (st != LEAKYCL_OK)
    return st;
  /* Blocking: the host arrays are freed when the call returns. */
  cl_int rc =
      clEnqueueWriteBuffer(ctx->queue, *alpha, CL_TRUE, 0, bytes, r->alpha_c, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    rc = clEnqueueWriteBuffer(ctx->queue, *thresh, CL_TRUE, 0, bytes, r->thresh_c, 0, NULL, NULL);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clEnqueueWriteBuffer(alpha)");
}

/* Shared body of the element-wise kernels: `bufs` are their buffer
 * arguments in order (x, y; src, dy, dx; x, y, mask; mask, dy, dx) and `out`
 * the big output among them. The mask kernels walk 32-element words
 * (mask.cl) rather than vectors. */
static leakycl_status launch_elementwise(leakycl_context *ctx, const lk_resolved *r, int which,
                                         const cl_mem *bufs, int nbufs, cl_mem out) {
  if (r->n == 0)
    return LEAKYCL_OK;
  const bool mask = which == LK_KERNEL_FORWARD_MASK || which == LK_KERNEL_BACKWARD_MASK;
  const unsigned vw = lk_call_vector_width(ctx, r);
  const bool wide = lk_needs_wide_index(ctx, r->n);
  const bool streaming = r->dtype == LEAKYCL_FLOAT32 && use_streaming(ctx, r->n, vw, out);
  lk_program *prog;
  const lk_program_key key = {mask ? LK_FAMILY_MASK : LK_FAMILY_ELEMENTWISE,
                              r->activation,
                              vw,
                              r->per_channel,
                              wide,
                              streaming,
                              r->dtype,
                              r->conventions,
                              false};
  leakycl_status st = lk_program_get(ctx, &key, &prog);
  if (st != LEAKYCL_OK)
    return st;
  cl_mem alpha_c, thresh_c;
  st = upload_params(ctx, r, &alpha_c, &thresh_c);
  if (st != LEAKYCL_OK)
    return st;
  const leakycl_variant *v = &ctx->variant;
  /* What a work-item walks: vectors, or whole 32-element words. */
  const size_t units = mask ? r->n / 32 : r->n / vw;
  size_t per_item = v->vectors_per_item;
  if (mask)
    per_item = per_item * vw / 32 > 0 ? per_item * vw / 32 : 1;
  lk_args a = {prog->kernels[which], 0, CL_SUCCESS};
  lk_arg_idx(&a, wide, r->n);
  for (int i = 0; i < nbufs; i++)
    lk_arg_mem(&a, bufs[i]);
  arg_params(&a, r, alpha_c, thresh_c);
  lk_arg_idx(&a, wide, r->inner);
  lk_arg_uint(&a, (cl_uint)r->channels);
  lk_arg_idx(&a, wide, per_item);
  const size_t wg = lk_kernel_wg(ctx, prog, which);
  size_t items;
  if (v->strategy == LEAKYCL_STRATEGY_CPU) {
    items = (units + per_item - 1) / per_item;
  } else {
    /* Enough work-groups to fill the device several times over; the grid
     * stride covers the rest. */
    const size_t cap = (size_t)(ctx->info.compute_units ? ctx->info.compute_units : 1) * wg * 16;
    items = units < cap ? units : cap;
  }
  const size_t global = lk_round_up(items > 0 ? items : 1, wg);
  return lk_enqueue_args(ctx, &a, global, wg, lk_kernel_name(which));
}

leakycl_status lk_launch_forward(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem y) {
  const cl_mem bufs[2] = {x, y};
  return launch_elementwise(ctx, r, LK_KERNEL_FORWARD, bufs, 2, y);
}

leakycl_status lk_launch_backward(leakycl_context *ctx, const lk_resolved *r, cl_mem src, cl_mem dy,
                                  cl_mem dx) {
  const cl_mem bufs[3] = {src, dy, dx};
  return launch_elementwise(ctx, r, LK_KERNEL_BACKWARD, bufs, 3, dx);
}

leakycl_status lk_launch_forward_mask(leakycl_context *ctx, const lk_resolved *r, cl_mem x,
                                      cl_mem y, cl_mem mask) {
  const cl_mem bufs[3] = {x, y, mask};
  return launch_elementwise(ctx, r, LK_KERNEL_FORWARD_MASK, bufs, 3, y);
}

leakycl_status lk_launch_backward_mask(leakycl_context *ctx, const lk_resolved *r, cl_mem mask,
                                       cl_mem dy, cl_mem dx) {
  const cl_mem bufs[3] = {mask, dy, dx};
  return launch_elementwise(ctx, r, LK_KERNEL_BACKWARD_MASK, bufs, 3, dx);
}

size_t lk_finals_width(const leakycl_grads *g) { return g->dbeta ? 5 : 4; }

void lk_write_grads(const lk_resolved *r, const float *finals, size_t count_per_channel,
                    const leakycl_grads *g) {
  const size_t width = lk_finals_width(g);
  /* dbeta: each channel's sum of dy*x over its window, times |alpha_c|,
   * added in channel order in double, then divided by h: one rounding to
   * float32 at the end. */
  double dbeta = 0.0;
  for (size_t c = 0; c < r->alpha_count; c++) {
    const float *f = finals ? finals + width * c : NULL;
    g->dalpha[c] = f ? f[0] : 0.0f;
    const double nc = (double)count_per_channel;
    if (g->neg_fraction)
      g->neg_fraction[c] = f ? (float)(((double)f[1] + (double)f[2]) / nc) : NAN;
    if (g->mean_abs_grad)
      g->mean_abs_grad[c] = f ? (float)((double)f[3] / nc) : NAN;
    if (f && g->dbeta)
      dbeta += fabs((double)(r->per_channel ? r->alpha_c[c] : r->alpha)) * (double)f[4];
  }
  if (g->dbeta)
    *g->dbeta = (float)(dbeta / (double)g->dbeta_window);
}

/* The reduction's work-group size: the kernel's, halved while the tree's
 * floats a work-item (5, or 7 with dbeta) overflow local memory. The
 * variant is checked for 5, so only dbeta's programs can halve it here;
 * the CPU strategy keeps no tree. */
static size_t reduce_wg(const leakycl_context *ctx, const lk_program *prog, size_t floats) {
  size_t wg = lk_kernel_wg(ctx, prog, LK_KERNEL_PARTIALS);
  while (ctx->variant.strategy == LEAKYCL_STRATEGY_GPU && wg > 1 &&
         floats * wg * sizeof(float) > ctx->info.local_mem_bytes)
    wg /= 2;
  return wg;
}

leakycl_status lk_launch_reduce(leakycl_context *ctx, const lk_resolved *r, cl_mem x, cl_mem dy,
                                cl_mem dx, const leakycl_grads *grads) {
  const size_t count_per_channel = r->n / r->channels;
  if (r->n == 0) {
    lk_write_grads(r, NULL, 0, grads);
    return LEAKYCL_OK;
  }
  const unsigned vw = lk_call_vector_width(ctx, r);
  const bool wide = lk_needs_wide_index(ctx, r->n);
  /* The CPU strategy stores dx vectors from each block's start: aligned
   * only when blocks are whole vectors. */
  const bool streaming = dx && r->dtype == LEAKYCL_FLOAT32 && ctx->variant.reduce_block % vw == 0 &&
                         use_streaming(ctx, r->n, vw, dx);
  /* dbeta rides in the same pass, in a program of its own. */
  const bool dbeta = grads->dbeta != NULL;
  const size_t parts = dbeta ? 4 : 3, width = lk_finals_width(grads);
  lk_program *prog;
  const lk_program_key key = {LK_FAMILY_REDUCE, r->activation,  vw,
                              r->per_channel,   wide,           streaming,
                              r->dtype,         r->conventions, dbeta};
  leakycl_status st = lk_program_get(ctx, &key, &prog);
  if (st != LEAKYCL_OK)
    return st;
  cl_mem alpha_c, thresh_c, partials, finals;
  st = upload_params(ctx, r, &alpha_c, &thresh_c);
  const leakycl_variant *v = &ctx->variant;
  const size_t block = v->reduce_block;
  const size_t blocks_per_channel = (count_per_channel + block - 1) / block;
  const size_t nblocks = r->channels * blocks_per_channel;
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_PARTIALS, parts * nblocks * sizeof(float), &partials);
  if (st == LEAKYCL_OK)
    st = lk_pool_get(ctx, LK_POOL_FINALS, width * r->channels * sizeof(float), &finals);
  if (st != LEAKYCL_OK)
    return st;

  lk_args a = {prog->kernels[LK_KERNEL_PARTIALS], 0, CL_SUCCESS};
  const size_t tree_floats = dbeta ? 7 : 5;
  const size_t wg = reduce_wg(ctx, prog, tree_floats);
  const cl_int write_dx = dx != NULL;
  lk_arg_idx(&a, wide, count_per_channel);
  lk_arg_idx(&a, wide, r->inner);
  lk_arg_uint(&a, (cl_uint)r->channels);
  lk_arg_idx(&a, wide, block);
  lk_arg_idx(&a, wide, blocks_per_channel);
  lk_arg_mem(&a, x);
  lk_arg_mem(&a, dy);
  lk_arg_mem(&a, dx ? dx : dy); /* never written when write_dx is 0 */
  lk_arg(&a, sizeof write_dx, &write_dx);
  arg_params(&a, r, alpha_c, thresh_c);
  lk_arg_mem(&a, partials);
  lk_arg(&a, (v->strategy == LEAKYCL_STRATEGY_GPU ? tree_floats * wg : 1) * sizeof(float), NULL);
  if (dbeta) { /* the window test's beta and h (LK_IN_WINDOW) */
    lk_arg_float(&a, r->beta);
    lk_arg_float(&a, grads->dbeta_window);
  }
  /* CPU: a work-item per block; GPU: a work-group per block. */
  const size_t global =
      v->strategy == LEAKYCL_STRATEGY_CPU ? lk_round_up(nblocks, wg) : nblocks * wg;
  st = lk_enqueue_args(ctx, &a, global, wg, "lk_reduce_partials");
  if (st != LEAKYCL_OK)
    return st;

  lk_args f = {prog->kernels[LK_KERNEL_FINISH], 0, CL_SUCCESS};
  const size_t fwg = lk_kernel_wg(ctx, prog, LK_KERNEL_FINISH);
  lk_arg_uint(&f, (cl_uint)r->channels);
  lk_arg_idx(&f, wide, blocks_per_channel);
  lk_arg_mem(&f, partials);
  lk_arg_mem(&f, finals);
  st = lk_enqueue_args(ctx, &f, lk_round_up(r->channels, fwg), fwg, "lk_reduce_finish");
  if (st != LEAKYCL_OK)
    return st;

  float *host = malloc(width * r->channels * sizeof(float));
  if (!host)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no memory for %zu channel results",
                   r->channels);
  const cl_int rc = clEnqueueReadBuffer(ctx->queue, finals, CL_TRUE, 0,
                                        width * r->channels * sizeof(float), host, 0, NULL, NULL);
  if (rc == CL_SUCCESS)
    lk_write_grads(r, host, count_per_channel, grads);
  free(host);
  return rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clEnqueueReadBuffer(dalpha)");
}
