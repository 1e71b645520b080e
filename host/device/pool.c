/* pool.c - the device buffers a context keeps and grows, one per use
 * (inputs, outputs, parameters, partial sums, batch tables), and its host
 * staging memory, so that calls reuse them instead of allocating each
 * time. */
#include <stdlib.h>

#include "core/core.h"
#include "device/device.h"

leakycl_status lk_pool_get(leakycl_context *ctx, int slot, size_t bytes, cl_mem *out) {
  lk_pooled *p = &ctx->pool[slot];
  if (bytes == 0)
    bytes = sizeof(float);
  if (bytes < ctx->pool_min_bytes)
    bytes = ctx->pool_min_bytes;
  if (p->mem && p->bytes >= bytes) {
    *out = p->mem;
    return LEAKYCL_OK;
  }
  if (bytes > ctx->info.max_alloc_bytes)
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY,
                   "a buffer of %zu bytes is over the device's largest allocation (%llu bytes)",
                   bytes, (unsigned long long)ctx->info.max_alloc_bytes);
  if (p->mem) {
    clReleaseMemObject(p->mem);
    p->mem = NULL;
    p->bytes = 0;
  }
  cl_int rc;
  cl_mem mem = lk_create_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
  if (rc != CL_SUCCESS)
    return lk_fail_cl(&ctx->error, rc, "clCreateBuffer");
  p->mem = mem;
  p->bytes = bytes;
  *out = mem;
  return LEAKYCL_OK;
}

leakycl_status lk_pool_host(leakycl_context *ctx, size_t bytes, void **out) {
  if (ctx->host_stage && ctx->host_stage_bytes >= bytes) {
    *out = ctx->host_stage;
    return LEAKYCL_OK;
  }
  free(ctx->host_stage);
  ctx->host_stage = NULL;
  ctx->host_stage_bytes = 0;
  const size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded < bytes || !(ctx->host_stage = aligned_alloc(64, rounded ? rounded : 64)))
    return lk_fail(&ctx->error, LEAKYCL_OUT_OF_MEMORY, "no host memory to stage %zu bytes", bytes);
  ctx->host_stage_bytes = rounded;
  *out = ctx->host_stage;
  return LEAKYCL_OK;
}

void lk_pool_release(leakycl_context *ctx) {
  free(ctx->host_stage);
  ctx->host_stage = NULL;
  ctx->host_stage_bytes = 0;
  for (int i = 0; i < LK_POOL_COUNT; i++) {
    if (ctx->pool[i].mem)
      clReleaseMemObject(ctx->pool[i].mem);
    ctx->pool[i].mem = NULL;
    ctx->pool[i].bytes = 0;
  }
}
