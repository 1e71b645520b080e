/* context.c - opening a device (from a SPEC or a caller's queue), choosing
 * its variant, the context's getters, and release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "device/device.h"
#include "program/program.h"
#include "tune/tune.h"

/* The variant a context starts with: LEAKYCL_VARIANT when set, else the
 * device's line in the tune table, else its vendor's default for its type,
 * else the default for its type. A bad
 * LEAKYCL_VARIANT or table line fails the open: running with a variant the
 * user did not ask for would be a silent fallback. */
static leakycl_status context_choose_variant(leakycl_context *ctx, char *err, size_t errlen) {
  ctx->variant_origin =
      lk_variant_default(&ctx->info, lk_strategy_of_type(ctx->info.type), &ctx->variant);
  const char *env = getenv("LEAKYCL_VARIANT");
  if (env && *env) {
    char why[512];
    leakycl_status st = leakycl_variant_parse(env, &ctx->info, &ctx->variant, why, sizeof why);
    if (st != LEAKYCL_OK)
      return lk_fail_buf(err, errlen, st, "LEAKYCL_VARIANT: %s", why);
    ctx->variant_origin = "env";
    return LEAKYCL_OK;
  }
  leakycl_variant tuned;
  int found = 0;
  leakycl_status st = leakycl_tune_table_lookup(&ctx->info, &tuned, &found, err, errlen);
  if (st == LEAKYCL_OK && found) {
    ctx->variant = tuned;
    ctx->variant_origin = "tuned";
  }
  return st;
}

/* LEAKYCL_POOL_MIN_BYTES: every pooled buffer is created at least this
 * large, so a run whose calls stay under it never re-creates one. Oclgrind's
 * --uninitialized check reports reads of a buffer released and created
 * again larger (its shadow state does not follow the new buffer), so
 * tests/implementations.sh pre-sizes the pools with it; a daemon may use it
 * to avoid growth on its first big requests. A bad value fails the open. */
static leakycl_status context_pool_floor(leakycl_context *ctx, char *err, size_t errlen) {
  const char *env = getenv("LEAKYCL_POOL_MIN_BYTES");
  if (!env || !*env)
    return LEAKYCL_OK;
  char *end = NULL;
  errno = 0;
  const unsigned long long v = strtoull(env, &end, 10);
  if (errno || end == env || *end || *env == '-' || v > ctx->info.max_alloc_bytes)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT,
                       "LEAKYCL_POOL_MIN_BYTES \"%s\" is not a byte count from 0 to the "
                       "device's largest allocation (%llu)",
                       env, (unsigned long long)ctx->info.max_alloc_bytes);
  ctx->pool_min_bytes = (size_t)v;
  return LEAKYCL_OK;
}

/* Queue and device known: fills the rest. */
static leakycl_status context_fill(leakycl_context *ctx, unsigned platform_index,
                                   unsigned device_index, char *err, size_t errlen) {
  leakycl_status st =
      lk_device_info_of(ctx->device, platform_index, device_index, &ctx->info, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  st = lk_fault_init(ctx, err, errlen);
  if (st == LEAKYCL_OK)
    st = context_pool_floor(ctx, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  ctx->zero_copy = ctx->info.unified_memory != 0;
  st = context_choose_variant(ctx, err, errlen);
  /* Last: a bundle's variant wins over the table and LEAKYCL_VARIANT, its
   * programs being compiled for that variant only. */
  const char *bundle = getenv("LEAKYCL_PROGRAM_BINARY");
  if (st == LEAKYCL_OK && bundle && *bundle) {
    st = leakycl_load_program_bundle(ctx, bundle);
    if (st != LEAKYCL_OK)
      lk_fail_buf(err, errlen, st, "LEAKYCL_PROGRAM_BINARY: %s", ctx->error.text);
  }
  return st;
}

/* Common tail of both constructors: fills the rest, then hands the context
 * to *out, or releases it when that failed. */
static leakycl_status context_finish_open(leakycl_context *ctx, unsigned platform_index,
                                          unsigned device_index, leakycl_context **out, char *err,
                                          size_t errlen) {
  const leakycl_status st = context_fill(ctx, platform_index, device_index, err, errlen);
  if (st == LEAKYCL_OK)
    *out = ctx;
  else
    leakycl_context_release(ctx);
  return st;
}

static leakycl_context *context_alloc(void) {
  leakycl_context *ctx = calloc(1, sizeof *ctx);
  if (ctx && pthread_mutex_init(&ctx->lock, NULL) != 0) {
    free(ctx);
    return NULL;
  }
  return ctx;
}

/* PoCL offers no device at all when it cannot make its kernel cache
 * directory: say so, in place of the guess that no OpenCL runtime is
 * installed when no device was seen, else after the devices seen. */
static void explain_no_device(const lk_spec *spec, size_t count, char *err, size_t errlen) {
  char why[1400];
  if (!err || lk_runtime_cache_problem(why, sizeof why) != 0)
    return;
  const size_t used = strlen(err);
  if (count == 0)
    snprintf(err, errlen, "no OpenCL device matches \"%s\"; seen: none: %s", spec->text, why);
  else if (used < errlen)
    snprintf(err + used, errlen - used, "; %s", why);
}

leakycl_status leakycl_context_create(const char *spec, leakycl_context **out, char *err,
                                      size_t errlen) {
  if (!out)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!spec || !*spec)
    spec = getenv("LEAKYCL_DEVICE");
  lk_spec parsed;
  leakycl_status st = lk_spec_parse(spec, &parsed, err, errlen);
  if (st != LEAKYCL_OK)
    return st;
  leakycl_device_info *infos = NULL;
  cl_device_id *ids = NULL;
  size_t count = 0, index = 0;
  st = lk_enumerate(&infos, &ids, &count, err, errlen);
  if (st == LEAKYCL_OK)
    st = lk_spec_match(&parsed, infos, count, &index, err, errlen);
  if (st == LEAKYCL_NO_DEVICE)
    explain_no_device(&parsed, count, err, errlen);
  if (st != LEAKYCL_OK) {
    free(infos);
    free(ids);
    return st;
  }
  leakycl_context *ctx = context_alloc();
  if (!ctx) {
    free(infos);
    free(ids);
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for a context");
  }
  ctx->device = ids[index];
  const unsigned pi = infos[index].platform_index, di = infos[index].device_index;
  free(infos);
  free(ids);

  cl_int rc;
  ctx->cl_ctx = clCreateContext(NULL, 1, &ctx->device, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) {
    st = lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clCreateContext: %s (%d)",
                     leakycl_cl_error_name(rc), rc);
    goto fail;
  }
  ctx->queue = clCreateCommandQueue(ctx->cl_ctx, ctx->device, 0, &rc);
  if (rc != CL_SUCCESS) {
    st = lk_fail_buf(err, errlen, LEAKYCL_OPENCL_ERROR, "clCreateCommandQueue: %s (%d)",
                     leakycl_cl_error_name(rc), rc);
    goto fail;
  }
  return context_finish_open(ctx, pi, di, out, err, errlen);
fail:
  leakycl_context_release(ctx);
  return st;
}

leakycl_status leakycl_context_create_from_queue(cl_command_queue queue, leakycl_context **out,
                                                 char *err, size_t errlen) {
  if (!out || !queue)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "queue or out is NULL");
  *out = NULL;
  cl_command_queue_properties props = 0;
  cl_context cl_ctx;
  cl_device_id device;
  cl_int rc = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof cl_ctx, &cl_ctx, NULL);
  if (rc == CL_SUCCESS)
    rc = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
  if (rc == CL_SUCCESS)
    rc = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
  if (rc != CL_SUCCESS)
    return lk_fail_buf(err, errlen, LEAKYCL_INVALID_ARGUMENT, "not a valid queue: %s (%d)",
                       leakycl_cl_error_name(rc), rc);
  if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
    return lk_fail_buf(err, errlen, LEAKYCL_UNSUPPORTED,
                       "the queue is out-of-order; leakycl needs an in-order queue");
  leakycl_context *ctx = context_alloc();
  if (!ctx)
    return lk_fail_buf(err, errlen, LEAKYCL_OUT_OF_MEMORY, "no memory for a context");
  clRetainCommandQueue(queue);
  clRetainContext(cl_ctx);
  ctx->queue = queue;
  ctx->cl_ctx = cl_ctx;
  ctx->device = device;
  /* Indices are unknown for a foreign queue; report them as the maximum. */
  return context_finish_open(ctx, (unsigned)-1, (unsigned)-1, out, err, errlen);
}

void leakycl_context_release(leakycl_context *ctx) {
  if (!ctx)
    return;
  if (ctx->queue)
    clFinish(ctx->queue);
  lk_programs_release(ctx);
  lk_bundle_free(ctx->bundle);
  lk_pool_release(ctx);
  const cl_command_queue queues[] = {ctx->queue, ctx->upload_queue, ctx->download_queue};
  for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++) {
    if (queues[i])
      clReleaseCommandQueue(queues[i]);
  }
  if (ctx->cl_ctx)
    clReleaseContext(ctx->cl_ctx);
  pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

const char *leakycl_last_error(const leakycl_context *ctx) { return ctx ? ctx->error.text : ""; }

leakycl_status leakycl_context_device(const leakycl_context *ctx, leakycl_device_info *out) {
  if (!ctx || !out)
    return LEAKYCL_INVALID_ARGUMENT;
  *out = ctx->info;
  return LEAKYCL_OK;
}

leakycl_status leakycl_context_cl(const leakycl_context *ctx, cl_context *context,
                                  cl_device_id *device, cl_command_queue *queue) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  if (context)
    *context = ctx->cl_ctx;
  if (device)
    *device = ctx->device;
  if (queue)
    *queue = ctx->queue;
  return LEAKYCL_OK;
}

leakycl_status leakycl_finish(leakycl_context *ctx) {
  if (!ctx)
    return LEAKYCL_INVALID_ARGUMENT;
  pthread_mutex_lock(&ctx->lock);
  cl_int rc = clFinish(ctx->queue);
  leakycl_status st = rc == CL_SUCCESS ? LEAKYCL_OK : lk_fail_cl(&ctx->error, rc, "clFinish");
  pthread_mutex_unlock(&ctx->lock);
  return st;
}
